"""``scim-console sandbox …``: run the sandbox platform from the command line.

``serve`` prints one JSON line (``--json``) or a short human summary with the admin URL, SCIM base
URL, a fresh operator token and the database path, then serves until SIGINT/SIGTERM. The operator
token exists only in this process and that line (it is a throwaway credential of a local sandbox).
An existing database file is reused as is (never reseeded). ``--faults SPEC`` makes it misbehave on
purpose (latency, 429, 5xx, connection resets, slow reads; grammar in ``console.sandbox.faults``).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

# Mirrors console.sandbox.seed.SEED_KINDS (a test keeps them equal); importing seed here would
# load SQLAlchemy and cost every CLI command ~0.7 s of start-up.
SEED_KINDS = ("demo", "small", "empty", "large")


def default_db_path() -> Path:
    """``$SCIM_CONSOLE_HOME/cache/sandbox/platform.db`` when set, else the user cache dir."""
    home = os.environ.get("SCIM_CONSOLE_HOME")
    if home:
        return Path(home) / "cache" / "sandbox" / "platform.db"
    import platformdirs

    from console import APP_AUTHOR, APP_ID

    return Path(platformdirs.user_cache_dir(APP_ID, APP_AUTHOR)) / "sandbox" / "platform.db"


def register(parser: argparse.ArgumentParser, embedded_db: Callable[[], Path] | None = None) -> None:
    """``embedded_db``: where the console's embedded sandbox keeps its database (the entry layer knows;
    the sandbox may not import the console's services), the default of ``reset``."""
    sub = parser.add_subparsers(dest="sandbox_command", metavar="SUBCOMMAND")
    serve = sub.add_parser("serve", help="run the sandbox platform (admin API + SCIM 2.0) until Ctrl+C")
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8765, help="port (0 = any free port; default 8765)")
    serve.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file (reused if it exists; default: the console's cache directory)",
    )
    serve.add_argument(
        "--seed", choices=SEED_KINDS, default="demo", help="seed data for a new database (default demo)"
    )
    serve.add_argument(
        "--faults",
        metavar="SPEC",
        default=None,
        help="inject faults, e.g. 'POST admin/orgs/*/scim/enable:reset-after-commit@1; "
        "scim/*/Users:429,retry-after=2@every3' (grammar: console/sandbox/faults.py)",
    )
    serve.add_argument(
        "--rotate-operator-token",
        action="store_true",
        help="revoke every operator token of this database, not only the one the previous start minted "
        "(each start revokes that one and mints a new token valid for 30 days)",
    )
    serve.add_argument("--json", action="store_true", help="print the start-up line as JSON")
    serve.set_defaults(handler=run_serve)
    reset = sub.add_parser(
        "reset",
        help="restore a sandbox database to its seed (default: the console's embedded sandbox)",
        description="Replace a sandbox database with a freshly seeded one: everything trained or "
        "changed in it is gone. Refused while a sandbox (the console, or `sandbox serve`) has it open.",
    )
    reset.add_argument(
        "--db",
        type=Path,
        default=None,
        help="SQLite file to reset (default: the embedded sandbox the console starts, "
        "<data dir>/sandbox.db; `sandbox serve` prints its own file as db_path)",
    )
    reset.add_argument("--seed", choices=SEED_KINDS, default="demo", help="seed to restore (default demo)")
    reset.add_argument("--json", action="store_true", help="print the result as JSON")
    reset.set_defaults(handler=run_reset, embedded_db=embedded_db)
    from console.sandbox.simulate_cli import register_simulate  # lazily: keeps CLI start-up light

    register_simulate(sub)
    parser.set_defaults(handler=lambda _args: (parser.print_help(), 2)[1])


def _exposure_warnings(host: str) -> list[str]:
    """A non-loopback bind makes the sandbox reachable from the network: say so (README §Security)."""
    from console.core.platform_identity import is_loopback_host

    if is_loopback_host(host):
        return []
    return [f"the sandbox listens on {host}, so other machines can reach it; it is a training tool, not "
            "hardened for a network (bind 127.0.0.1 and let a tunnel you control be the only way in)"]


def run_serve(args: argparse.Namespace) -> int:
    from console.sandbox.server import SandboxServer

    db_path = (args.db or default_db_path()).expanduser().resolve()
    stop = threading.Event()

    def _on_signal(_signum: int, _frame: object) -> None:
        stop.set()

    started = time.perf_counter()
    # Before the signal handlers: a bad --faults spec fails here with a one-line FaultSpecError.
    server = SandboxServer(db_path, seed=args.seed, host=args.host, port=args.port, faults=args.faults,
                           rotate_operator_token=args.rotate_operator_token)
    previous = {sig: signal.signal(sig, _on_signal) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        server.start()
        info = {
            "ok": True,
            "admin_url": server.admin_url,
            "scim_base_url": server.scim_base_url,
            "operator_token": server.operator_token,
            "db_path": str(db_path),
            "seeded": server.seed if server.seeded else None,
            "default_db": args.db is None,
            "startup_s": round(time.perf_counter() - started, 2),
            "faults": server.faults.spec,
        }
        warnings = _exposure_warnings(args.host)
        info["warnings"] = warnings
        for warning in warnings:
            sys.stderr.write(f"warning: {warning}\n")
        if args.json:
            print(json.dumps(info), flush=True)
        else:
            reused = "new database, seeded " + args.seed if server.seeded else "existing database reused"
            print(
                f"Sandbox platform running ({reused})\n"
                f"  admin API:      {server.admin_url}\n"
                f"  SCIM base URL:  {server.scim_base_url}/<org_id>\n"
                f"  operator token: {server.operator_token}\n"
                f"  database:       {db_path}\n"
                + (f"  faults:         {server.faults.spec}\n" if server.faults.spec else "")
                + "Press Ctrl+C to stop.",
                flush=True,
            )
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def run_reset(args: argparse.Namespace) -> int:
    from console.sandbox.reset import DatabaseInUseError, reset_database

    if args.db is None and args.embedded_db is None:
        print("scim-console: error: --db is required here", file=sys.stderr)
        return 2
    db_path = (args.db or args.embedded_db()).expanduser().resolve()
    started = time.perf_counter()
    try:
        counts = reset_database(db_path, args.seed)
    except DatabaseInUseError as exc:
        hint = "Quit the console (or use File → Reset training data… in it) or stop `sandbox serve` first."
        if args.json:
            print(json.dumps({"ok": False, "error": str(exc), "hint": hint}))
        else:
            print(f"scim-console: error: {exc} {hint}", file=sys.stderr)
        return 1
    info = {"ok": True, "db_path": str(db_path), "seed": args.seed, **counts,
            "seconds": round(time.perf_counter() - started, 2)}
    if args.json:
        print(json.dumps(info))
    else:
        print(f"Sandbox reset to seed {args.seed}: {counts['orgs']} orgs, {counts['users']:,} users, "
              f"{counts['events']:,} log events ({db_path}).")
    return 0
