"""``scim-console selfcheck``: what works on this machine and what does not.

Each check is independent, timed, and never raises: a failure becomes ``ok=False`` with the
reason. The Qt check runs in a *subprocess* so this module (services layer) stays Qt-free and a
crashing platform plugin cannot take the self-check down with it. ``required=False`` marks
checks the console can live without (no persistent keyring: credentials are kept for the run).
"""

from __future__ import annotations

import logging
import os
import ssl
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from console.core.redact import redact

log = logging.getLogger(__name__)

QT_TIMEOUT_S = 60


@dataclass(frozen=True, slots=True)
class CheckResult:
    name: str
    ok: bool
    detail: str
    seconds: float
    required: bool = True

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def qt_probe_command() -> list[str]:
    """The child process that runs ``console.ui.qt_probe`` (the bundle's own executable when frozen)."""
    if getattr(sys, "frozen", False):
        return [sys.executable, "selfcheck", "--qt-probe"]
    return [sys.executable, "-m", "console", "selfcheck", "--qt-probe"]


def check_qt() -> tuple[bool, str]:
    env = {**os.environ, "QT_QPA_PLATFORM": os.environ.get("QT_QPA_PLATFORM", "offscreen")}
    proc = subprocess.run(qt_probe_command(), capture_output=True, text=True,
                          timeout=QT_TIMEOUT_S, env=env, check=False)
    if proc.returncode == 0 and proc.stdout.strip():
        return True, proc.stdout.strip().splitlines()[-1]
    last = (proc.stderr.strip().splitlines() or [f"exit code {proc.returncode}"])[-1]
    return False, f"Qt platform plugin failed to load: {last}"


def check_keyring() -> tuple[bool, str]:
    import keyring

    from console.services.secrets import backend_label, insecure_reason

    backend = keyring.get_keyring()
    reason = insecure_reason(backend)
    if reason is None:
        return True, f"{backend_label(backend)} (persistent)"
    return False, f"{backend_label(backend)}: {reason}; credentials would be kept in memory for this run only"


def check_store() -> tuple[bool, str]:
    from console.services.store import Store
    from console.services.store.engine import sqlite_pragmas

    with tempfile.TemporaryDirectory(prefix="scim-console-selfcheck-") as tmp:
        store = Store.open(f"sqlite:///{Path(tmp) / 'selfcheck.db'}")
        try:
            store.audit.record("selfcheck", actor="selfcheck")
            pragmas = sqlite_pragmas(store.engine)
            version = store.schema_version
        finally:
            store.close()
    ok = pragmas["journal_mode"] == "wal" and pragmas["synchronous"] == 2 and pragmas["foreign_keys"] == 1
    return ok, f"schema v{version}, journal={pragmas['journal_mode']} synchronous={pragmas['synchronous']}"


def check_tls() -> tuple[bool, str]:
    from console.services.tls import ssl_context

    ctx = ssl_context()
    # truststore configures the OS trust store when a connection starts; a BIO-only handshake
    # object is enough to trigger that without touching the network.
    ctx.wrap_bio(ssl.MemoryBIO(), ssl.MemoryBIO(), server_hostname="selfcheck.invalid")
    inner = getattr(ctx, "_ctx", None)
    if sys.platform.startswith("linux") and inner is not None:
        count = inner.cert_store_stats().get("x509_ca", 0)
        return count > 0, f"truststore, {count} OS CA certificates loaded"
    return True, "truststore, OS certificate verifier"


def check_sandbox() -> tuple[bool, str]:
    # Imported here, not at module level: services must not depend on the sandbox package.
    from console.sandbox.server import SandboxServer
    from console.services.api_client import AdminApiClient

    with (
        tempfile.TemporaryDirectory(prefix="scim-console-selfcheck-") as tmp,
        SandboxServer(Path(tmp) / "platform.db", seed="empty") as server,
        AdminApiClient(server.admin_url, server.operator_token) as client,
    ):
        health = client.health()
        orgs = client.list_orgs()
    status = health.get("status")
    return status == "ok", f"health {status}, {len(orgs)} org(s) at {server.base_url}"


CHECKS: tuple[tuple[str, Callable[[], tuple[bool, str]], bool], ...] = (
    ("qt-offscreen", check_qt, True),
    ("keyring", check_keyring, False),
    ("local-store", check_store, True),
    ("tls-truststore", check_tls, True),
    ("sandbox", check_sandbox, True),
)


def run_selfcheck(only: list[str] | None = None, *, require_keyring: bool = False) -> list[CheckResult]:
    """Run the checks; ``require_keyring`` makes a missing persistent keyring a failure (bundle CI)."""
    results = []
    for name, fn, required in CHECKS:
        if only and name not in only:
            continue
        required = required or (require_keyring and name == "keyring")
        started = time.perf_counter()
        try:
            ok, detail = fn()
        except Exception as exc:  # noqa: BLE001 - a self-check reports failures, it never raises
            ok, detail = False, f"{type(exc).__name__}: {exc}"
        seconds = round(time.perf_counter() - started, 3)
        results.append(CheckResult(name, ok, redact(" ".join(detail.split())), seconds, required))
        log.info("selfcheck %s: %s (%s)", name, "ok" if ok else "FAILED", detail)
    return results
