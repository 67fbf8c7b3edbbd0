"""End to end: with logging configured the way the app does it, a token that travels through
httpx's own logging, a header dump, an exception message and a traceback is in NO log file line
and NOT on stderr."""

from __future__ import annotations

import faulthandler
import logging
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.core.redact import forget_secrets
from console.services.api_client import AdminApiClient
from console.services.logging_setup import LOG_FILE, SESSION_ID, configure_logging, shutdown_logging
from console.services.paths import AppPaths
from console.services.secrets import SecretStore
from tests.services.scripted_server import Reply, ScriptedServer, serve

TOKEN = "scop_LeakCanaryTokenValue0123456789abcdef"
SCIM_TOKEN = "scim_AnotherCanaryForTheTraceback_987654321"
SHAPELESS = "shapeless-operator-secret-77"  # no recognisable shape: caught only because it is registered


@pytest.fixture
def logging_configured() -> Iterator[AppPaths]:
    """Restores logging afterwards; tests call ``_configure`` in their body, so the stderr handler
    binds to the stream that ``capfd`` captures during the call phase."""
    root = logging.getLogger()
    before = (root.level, list(root.handlers), faulthandler.is_enabled())
    yield AppPaths.default()
    shutdown_logging()
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.NOTSET)
    root.setLevel(before[0])
    if before[2]:
        faulthandler.enable(file=sys.__stderr__)
    forget_secrets()


def _configure(paths: AppPaths) -> None:
    configure_logging(paths, level="DEBUG", stderr=True, stderr_level="DEBUG")
    # Someone turns wire logging on to debug something: the formatter must still protect us.
    for name in ("httpx", "httpcore"):
        logging.getLogger(name).setLevel(logging.DEBUG)


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    yield from serve()


def test_no_token_reaches_log_files_or_stderr(logging_configured: AppPaths, server: ScriptedServer,
                                              capfd: pytest.CaptureFixture[str]) -> None:
    _configure(logging_configured)
    log = logging.getLogger("console.test")
    server.script("GET", "orgs", Reply(200, {"items": [], "next_cursor": None}))
    server.script("GET", "orgs/leaky", Reply(500, {"error": {"code": "boom", "message": f"bad {TOKEN}"}}))

    # 1. httpx logs the full URL (query token) at INFO and httpcore the wire at DEBUG.
    with httpx.Client(headers={"Authorization": f"Bearer {TOKEN}"}) as raw:
        request = raw.build_request("GET", f"{server.admin_url}/orgs?access_token={TOKEN}&limit=1")
        raw.send(request)
        log.debug("request headers %s", dict(request.headers))  # the full Bearer value, unmasked by httpx

    # 2. A shapeless secret read from the keyring is registered and masked from then on.
    store = SecretStore.open()
    store.set("profile:p1:operator-token", SHAPELESS)
    assert store.get("profile:p1:operator-token") == SHAPELESS
    log.info("loaded %s for the profile", SHAPELESS)

    # 3. Errors: the client's own (server echoed the token), and a crash with the token in the
    #    message and in a local that the traceback shows.
    with AdminApiClient(server.admin_url, TOKEN, retries=0) as api:
        try:
            api.get_org("leaky")
        except Exception:
            log.exception("get_org failed")
    try:
        payload = {"token": SCIM_TOKEN}
        raise RuntimeError(f"enable SCIM failed: payload {payload} with Authorization: Bearer {TOKEN}")
    except RuntimeError:
        log.exception("unexpected error")
    log.warning("stack follows", stack_info=True)

    for handler in logging.getLogger().handlers:
        handler.flush()
    files = sorted(Path(logging_configured.log_dir).glob(f"{LOG_FILE}*"))
    text = "".join(p.read_text(encoding="utf-8") for p in files)
    captured = capfd.readouterr()

    assert "HTTP Request: GET" in text           # httpx really logged the request…
    assert "access_token=[REDACTED]" in text     # …with the query masked
    assert "Traceback (most recent call last)" in text
    assert f"[{SESSION_ID}]" in text
    assert "Z INFO" in text or "Z DEBUG" in text  # UTC timestamps
    for secret in (TOKEN, TOKEN[5:], SCIM_TOKEN, SCIM_TOKEN[5:], SHAPELESS):
        for line in text.splitlines():
            assert secret not in line
        assert secret not in captured.err
        assert secret not in captured.out
    assert "unexpected error" in captured.err     # stderr did get the records, redacted


def test_configure_logging_is_idempotent(logging_configured: AppPaths) -> None:
    _configure(logging_configured)
    root = logging.getLogger()
    count = len(root.handlers)
    configure_logging(logging_configured, level="INFO", stderr=True)
    configure_logging(logging_configured, level="INFO", stderr=False)
    assert len(root.handlers) == count - 1        # stderr handler dropped, file handler not duplicated
    assert logging.getLogger("httpx").level == logging.WARNING
    assert (logging_configured.log_dir / "faults.log").exists()
