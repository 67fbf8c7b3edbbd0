"""Registry of CLI subcommands beyond ``gui``; each feature adds its own ``register`` here.

Commands resolve their connection from ``SCIM_CONSOLE_URL`` + ``SCIM_CONSOLE_TOKEN`` when set,
else from the active profile (its token from the OS keyring). Tokens are never accepted as
arguments: ``profiles add`` reads it from ``SCIM_CONSOLE_TOKEN`` or stdin.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import json
import os
import sys
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

from console.cli import fail
from console.sandbox.cli import register as register_sandbox

Handler = Callable[[argparse.Namespace], int]


# ---- output helpers
def _out(text: str) -> None:
    """The command's output on stdout (errors go through ``console.cli.fail``)."""
    sys.stdout.write(text + "\n")


def _plain(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _plain(getattr(value, f.name)) for f in dataclasses.fields(value)
                if f.repr}  # repr=False fields (tokens, link URLs) never reach output
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def _emit_json(payload: dict[str, Any]) -> None:
    _out(json.dumps({"ok": True, **_plain(payload)}, ensure_ascii=False, indent=None))


def _confirm(question: str, yes: bool, action: str) -> bool:
    """``--yes``, or a ``[y/N]`` answer on a terminal; without a terminal, refuse to ``action``."""
    from console.core.errors import UserFacingError

    if yes:
        return True
    if not sys.stdin.isatty():
        raise UserFacingError(f"Refusing to {action} without confirmation.", hint="Add --yes.")
    return input(f"{question} [y/N] ").strip().lower() in ("y", "yes")


def _table(rows: list[list[str]], headers: list[str]) -> None:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=False)]
    for line in [headers, *rows]:
        _out("  ".join(str(cell).ljust(w) for cell, w in zip(line, widths, strict=False)).rstrip())


def _json_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print machine-readable JSON")


def _guarded(handler: Handler) -> Handler:
    """Turn the console's own errors into one-line failures (exit 1), JSON-aware."""

    def run(args: argparse.Namespace) -> int:
        from console.core.errors import UserFacingError
        from console.core.redact import redact

        _setup_cli_logging()
        try:
            return handler(args)
        except UserFacingError as exc:
            text = str(exc) + (f" Hint: {exc.hint}" if exc.hint else "")
            return fail(redact(text), as_json=getattr(args, "json", False))

    return run


# ---- shared plumbing
def _positive_int(text: str) -> int:
    """``--limit``: a whole number from 1 (argparse reports anything else as a usage error)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {value}")
    return value


def _setup_cli_logging() -> None:
    """Log to the console's log file, not the terminal: the terminal gets results or one line.

    Skipped when the host process already configured logging (tests, the GUI)."""
    import logging

    if logging.getLogger().handlers:
        return
    from console.services.logging_setup import configure_logging
    from console.services.paths import AppPaths

    configure_logging(AppPaths.default(), stderr=False)


def _store():
    from console.services.store import Store

    return Store.open()


def _secrets(*, strict: bool):
    from console.services.secrets import SecretStore

    return SecretStore.open(allow_memory_fallback=not strict)


# ---- selfcheck
def _register_selfcheck(parser: argparse.ArgumentParser) -> None:
    _json_flag(parser)
    parser.add_argument("--only", action="append", metavar="CHECK",
                        help="run only this check (repeatable): qt-offscreen, keyring, local-store, "
                             "tls-truststore, sandbox")
    parser.add_argument("--require-keyring", action="store_true",
                        help="fail when no persistent OS keyring is available (CI of the bundle)")
    # Internal: the Qt check runs this in a child process (the bundle has no `python -c`).
    parser.add_argument("--qt-probe", action="store_true", help=argparse.SUPPRESS)
    # Internal: the installer's scripted walk through every GUI page (console/ui/gui_tour.py).
    parser.add_argument("--gui-tour", action="store_true", help=argparse.SUPPRESS)
    parser.set_defaults(handler=_guarded(_run_selfcheck))


def _run_selfcheck(args: argparse.Namespace) -> int:
    if args.qt_probe:
        from console.ui.qt_probe import probe

        _out(probe())
        return 0
    if args.gui_tour:
        from console.ui.gui_tour import run_tour

        return run_tour(log=_out)
    from console.services.selfcheck import run_selfcheck

    results = run_selfcheck(args.only, require_keyring=args.require_keyring)
    failed = [r for r in results if r.required and not r.ok]
    if args.json:
        _out(json.dumps({"ok": not failed, "checks": [r.as_dict() for r in results]}))
    else:
        for r in results:
            mark = "ok  " if r.ok else ("FAIL" if r.required else "warn")
            _out(f"[{mark}] {r.name:<15} {r.seconds:6.2f}s  {r.detail}")
    if failed and not args.json:
        return fail("self-check failed: " + ", ".join(r.name for r in failed))
    return 1 if failed else 0


# ---- orgs
def _register_orgs(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="orgs_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list customer organisations")
    ls.add_argument("--q", help="filter by name, id or domain")
    ls.add_argument("--limit", type=_positive_int, default=50)
    ls.add_argument("--cursor", help="continue from a previous page's next_cursor")
    _json_flag(ls)
    ls.set_defaults(handler=_guarded(_run_orgs_list))


def _run_orgs_list(args: argparse.Namespace) -> int:
    from console.services.api_client import AdminApiClient
    from console.services.profiles import ProfileService

    if os.environ.get("SCIM_CONSOLE_URL") or os.environ.get("SCIM_CONSOLE_TOKEN"):
        client = AdminApiClient.from_env(retries=2)
    else:
        store = _store()
        try:
            client = ProfileService(store, _secrets(strict=False)).client_for_cli(retries=2)
        finally:
            store.close()
    with client:
        page = client.list_orgs(q=args.q, limit=args.limit, cursor=args.cursor)
    if args.json:
        _emit_json({"items": list(page.items), "next_cursor": page.next_cursor})
        return 0
    _table([[o.id, o.name, "on" if o.scim.enabled else "off", o.template.status, str(o.user_counts.total)]
            for o in page.items], ["ID", "NAME", "SCIM", "TEMPLATE", "USERS"])
    if page.next_cursor:
        _out(f"(more: --cursor {page.next_cursor})")
    return 0


# ---- profiles
def _register_profiles(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="profiles_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="list connection profiles")
    _json_flag(ls)
    ls.set_defaults(handler=_guarded(_run_profiles_list))
    add = sub.add_parser("add", help="add a profile; the operator token is read from "
                                     "SCIM_CONSOLE_TOKEN or stdin, never from arguments")
    add.add_argument("--name", required=True)
    add.add_argument("--url", required=True, help="the platform's admin API URL")
    add.add_argument("--operator", default="", help="your name or login, shown in the audit trail")
    add.add_argument("--no-activate", action="store_true", help="do not make it the active profile")
    _json_flag(add)
    add.set_defaults(handler=_guarded(_run_profiles_add))
    for name, help_text, handler in (
        ("remove", "remove a profile and its stored token", _run_profiles_remove),
        ("use", "make a profile the active one", _run_profiles_use),
    ):
        p = sub.add_parser(name, help=help_text)
        p.add_argument("profile", help="profile name or id")
        _json_flag(p)
        p.set_defaults(handler=_guarded(handler))


def _read_token() -> str:
    token = os.environ.get("SCIM_CONSOLE_TOKEN", "").strip()
    if token:
        return token
    if sys.stdin is None:
        return ""
    if sys.stdin.isatty():
        return getpass.getpass("Operator token: ").strip()
    return sys.stdin.readline().strip()


def _run_profiles_list(args: argparse.Namespace) -> int:
    store = _store()
    try:
        profiles = store.profiles.list()
        active = store.profiles.active()
    finally:
        store.close()
    active_id = active.id if active else None
    if args.json:
        _emit_json({"items": [{**_plain(p), "active": p.id == active_id} for p in profiles]})
        return 0
    _table([["*" if p.id == active_id else "", p.id, p.name, p.admin_url, "yes" if p.is_sandbox else ""]
            for p in profiles], ["", "ID", "NAME", "URL", "SANDBOX"])
    return 0


def _run_profiles_add(args: argparse.Namespace) -> int:
    from console.services.profiles import ProfileService

    token = _read_token()
    if not token:
        return fail("no operator token: pipe it on stdin or set SCIM_CONSOLE_TOKEN", as_json=args.json)
    store = _store()
    try:
        service = ProfileService(store, _secrets(strict=True))
        profile = service.add(args.name, args.url, token, operator=args.operator,
                              make_active=not args.no_activate)
    finally:
        store.close()
    if args.json:
        _emit_json({"profile": profile})
    else:
        _out(f"added profile {profile.name} ({profile.id})")
    return 0


def _find(service: Any, ref: str) -> Any:
    from console.core.errors import UserFacingError

    profile = service.find(ref)
    if profile is None:
        raise UserFacingError(f"No profile named or with id '{ref}'.")
    return profile


def _run_profiles_remove(args: argparse.Namespace) -> int:
    from console.services.profiles import ProfileService

    store = _store()
    try:
        service = ProfileService(store, _secrets(strict=False))
        profile = _find(service, args.profile)
        service.remove(profile.id)
    finally:
        store.close()
    if args.json:
        _emit_json({"removed": profile.id})
    else:
        _out(f"removed profile {profile.name} ({profile.id})")
    return 0


def _run_profiles_use(args: argparse.Namespace) -> int:
    from console.services.profiles import ProfileService

    store = _store()
    try:
        service = ProfileService(store, _secrets(strict=False))
        profile = service.switch(_find(service, args.profile).id)
    finally:
        store.close()
    if args.json:
        _emit_json({"active": profile})
    else:
        _out(f"active profile: {profile.name} ({profile.id})")
    return 0


# ---- audit
def _register_audit(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="audit_command", metavar="ACTION", required=True)
    ls = sub.add_parser("list", help="show the console's local audit trail, newest first")
    ls.add_argument("--org", help="only this org id")
    ls.add_argument("--action")
    ls.add_argument("--outcome")
    ls.add_argument("--text", help="substring of action, org, actor, params or detail")
    ls.add_argument("--limit", type=_positive_int, default=50)
    _json_flag(ls)
    ls.set_defaults(handler=_guarded(_run_audit_list))


def _run_audit_list(args: argparse.Namespace) -> int:
    from console.core.models import AuditFilter

    store = _store()
    try:
        records = store.audit.query(AuditFilter(org_id=args.org, action=args.action, outcome=args.outcome,
                                                text=args.text, limit=args.limit))
    finally:
        store.close()
    if args.json:
        _emit_json({"items": records})
        return 0
    rows = [[r.ts.strftime("%Y-%m-%d %H:%M:%SZ"), r.actor, r.org_id or "", r.action, r.outcome,
             r.detail or ""] for r in records]
    _table(rows, ["TIME (UTC)", "ACTOR", "ORG", "ACTION", "OUTCOME", "DETAIL"])
    return 0


# ---- logs (offline Entra exports in DuckDB datasets; see console/services/logstore)
def _log_filters(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--status", help="success, failure, skipped or warning")
    parser.add_argument("--action", help="create, update, delete, disable, stageddelete or other")
    parser.add_argument("--error-code")
    parser.add_argument("--job", help="job id")
    parser.add_argument("--cycle", help="cycle id")
    parser.add_argument("--since", help="ISO 8601 time (UTC if no offset): events at or after")
    parser.add_argument("--until", help="ISO 8601 time (UTC if no offset): events before")
    parser.add_argument("--text", help="substring of identities, error reasons, modified properties")
    parser.add_argument("--sort", default="time", help="column to sort by (default: time, newest first)")
    parser.add_argument("--asc", action="store_true", help="ascending order")


def _register_logs(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="logs_command", metavar="ACTION", required=True)
    op = sub.add_parser("open", help="import Entra/platform log exports: JSON, NDJSON, Graph pages, a zip, "
                                     "a folder, or the three CSV files of an Entra CSV download")
    op.add_argument("file", nargs="+", help="files chosen together are one dataset (e.g. the CSV download)")
    op.add_argument("--date-order", choices=("dmy", "mdy"),
                    help="day/month order of numeric dates in CSV files (default: decided from each "
                         "column's values; when none settles it, day first for zero-padded 24-hour "
                         "dates, else month first, with a warning)")
    op.add_argument("--again", action="store_true",
                    help="import a new copy even if the same content was imported before (implied by "
                         "--date-order: the same bytes read another way)")
    _json_flag(op)
    op.set_defaults(handler=_guarded(_run_logs_open))
    fin = sub.add_parser("finish", help="finish a dataset whose import was interrupted after its first read")
    fin.add_argument("dataset", help="dataset id (or 'all', or 'latest')")
    _json_flag(fin)
    fin.set_defaults(handler=_guarded(_run_logs_finish))
    ls = sub.add_parser("list", help="the imported datasets, newest first")
    _json_flag(ls)
    ls.set_defaults(handler=_guarded(_run_logs_list))
    q = sub.add_parser("query", help="query an imported dataset (newest first)")
    q.add_argument("dataset", help="dataset id from 'logs open' (or 'latest')")
    _log_filters(q)
    q.add_argument("--limit", type=_positive_int, default=50)
    _json_flag(q)
    q.set_defaults(handler=_guarded(_run_logs_query))
    ex = sub.add_parser("export", help="export a dataset's filtered view to CSV or XLSX (by the extension)")
    ex.add_argument("dataset", help="dataset id from 'logs open' (or 'latest')")
    ex.add_argument("out", help="the file to write: *.csv or *.xlsx")
    _log_filters(ex)
    _json_flag(ex)
    ex.set_defaults(handler=_guarded(_run_logs_export))


def _log_catalog():
    from console.services.logstore import LogCatalog
    from console.services.paths import AppPaths

    return LogCatalog.for_paths(AppPaths.default().ensure())


def _filter_of(args: argparse.Namespace) -> Any:
    from console.core.errors import UserFacingError
    from console.services.logstore import LogFilter

    def when(value: str | None, name: str) -> datetime | None:
        from console.core.models import parse_ts

        try:
            return parse_ts(value)  # naive means UTC
        except ValueError:
            raise UserFacingError(f"--{name} is not an ISO 8601 time: {value!r}.") from None

    return LogFilter(status=args.status, action=args.action, error_code=args.error_code, job=args.job,
                     cycle=args.cycle, text=args.text, since=when(args.since, "since"),
                     until=when(args.until, "until"))


def _housekept(catalog: Any) -> Any:
    """Start-up housekeeping of the dataset folder (leftovers of killed imports), said on stderr."""
    for message in catalog.housekeep().messages():
        sys.stderr.write(f"note: {message}\n")
    return catalog


def _run_logs_open(args: argparse.Namespace) -> int:
    from pathlib import Path

    catalog = _housekept(_log_catalog())
    paths = [Path(f) for f in args.file]
    same = None if args.again or args.date_order else catalog.find_same(paths)
    if same is not None:
        if args.json:
            _emit_json({"dataset": same.as_dict(), "import": None, "already_imported": True})
        else:
            _out(f"already imported as dataset {same.id} ({same.records:,} events, {same.created_at[:19]}); "
                 "use --again for a new copy")
        return 0
    info, report = catalog.import_file(paths, date_order=args.date_order)
    if args.json:
        _emit_json({"dataset": info.as_dict(), "import": report.as_dict()})
        return 0
    files = ", ".join(report.files)
    _out(f"dataset {info.id}: {info.records:,} events from {files} ({report.seconds:.1f} s)")
    _out("  " + ", ".join(f"{k}: {v:,}" for k, v in sorted(info.counts.items())))
    for w in report.warnings:
        _out(f"  warning: {w}")
    return 0


def _run_logs_finish(args: argparse.Namespace) -> int:
    catalog = _log_catalog()
    ids = [i.id for i in catalog.list() if not i.complete] if args.dataset == "all" else [args.dataset]
    done = []
    for dataset_id in ids:
        ds = catalog.open_ref(dataset_id)
        try:
            warnings = catalog.finish(ds) if ds.pending else []
        finally:
            ds.close()
        done.append({"dataset": ds.id, "warnings": warnings})
        if not args.json:
            _out(f"dataset {ds.id}: complete" + "".join(f"\n  warning: {w}" for w in warnings))
    if args.json:
        _emit_json({"finished": done})
    elif not done:
        _out("every dataset is complete")
    return 0


def _run_logs_list(args: argparse.Namespace) -> int:
    infos = _housekept(_log_catalog()).list()
    if args.json:
        _emit_json({"items": [i.as_dict() for i in infos]})
        return 0
    _table([[i.id, i.name, f"{i.records:,}", i.created_at[:19], "" if i.complete else "details pending"]
            for i in infos], ["ID", "NAME", "EVENTS", "IMPORTED (UTC)", ""])
    return 0


def _run_logs_query(args: argparse.Namespace) -> int:
    from console.core.errors import UserFacingError
    from console.services.logstore import DISPLAY_COLUMNS

    ds = _log_catalog().open_ref(args.dataset)
    try:
        res = ds.query(_filter_of(args), sort=args.sort, descending=not args.asc,
                       page_size=max(1, min(args.limit, 10_000)))
    except ValueError as exc:  # an unknown sort column
        raise UserFacingError(f"Cannot sort by {args.sort!r}.") from exc
    finally:
        ds.close()
    rows = [dict(zip(("seq", *DISPLAY_COLUMNS), r, strict=True)) for r in res.first_page]
    if args.json:
        _emit_json({"dataset": ds.id, "total": res.total, "counts": res.counts, "items": rows})
        return 0
    _table([[str(r["time"])[:19], r["action"] or "", r["status"] or "", r["error_code"] or "",
             r["source_upn"] or "", r["target_id"] or ""] for r in rows],
           ["TIME (UTC)", "ACTION", "STATUS", "ERROR", "SOURCE", "TARGET"])
    _out(f"{res.total:,} matching; " + ", ".join(f"{k}: {v:,}" for k, v in res.counts.items()))
    return 0


def _run_logs_export(args: argparse.Namespace) -> int:
    from console.core.errors import UserFacingError
    from console.services.logstore.export_view import export_view

    ds = _log_catalog().open_ref(args.dataset)
    warnings: list[str] = []
    try:
        rows = export_view(ds, args.out, _filter_of(args), sort=args.sort, descending=not args.asc,
                           warnings=warnings)
    except ValueError as exc:
        raise UserFacingError(f"Cannot sort by {args.sort!r}.") from exc
    finally:
        ds.close()
    if args.json:
        _emit_json({"dataset": ds.id, "path": str(args.out), "rows": rows, "warnings": warnings})
    else:
        _out(f"exported {rows:,} rows to {args.out}")
        for warning in warnings:
            _out(f"warning: {warning}")
    return 0


def _embedded_sandbox_db() -> Path:
    from console.services.paths import AppPaths  # lazily: keeps CLI start-up light

    return AppPaths.default().sandbox_db


COMMANDS = [
    ("sandbox", "run, reset or simulate Entra against the sandbox platform (admin API + SCIM 2.0)",
     lambda parser: register_sandbox(parser, embedded_db=_embedded_sandbox_db)),
    ("selfcheck", "check what works on this machine (Qt, keyring, store, TLS, sandbox)", _register_selfcheck),
    ("orgs", "customer organisations on the platform", _register_orgs),
    ("profiles", "connection profiles (platform URL + operator token in the OS keyring)", _register_profiles),
    ("audit", "the console's local audit trail", _register_audit),
    ("logs", "provisioning logs: import Entra exports and query them offline", _register_logs),
    ("scim", "enable SCIM for an org, test it, rotate and revoke its tokens",
     lambda parser: __import__("console.scim_commands", fromlist=["register"]).register(parser)),
    ("reconcile", "find duplicate and mismatched accounts, plan and apply the fixes",
     lambda parser: __import__("console.reconcile_commands", fromlist=["register"]).register(parser)),
]
