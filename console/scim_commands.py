"""``scim-console scim status|enable|test|rotate|revoke --org ID`` (issue 4 §8).

Same rules as the wizard: the keyring is checked before anything is minted, enable/rotate keep
the new token only in the OS keyring (pending delivery) and print it only with ``--show-token``;
revoke asks for confirmation unless ``--yes``. Registered from ``console.commands``.
"""

from __future__ import annotations

import argparse
import getpass
import json
import os
import sys
from typing import Any

from console.commands import _confirm, _emit_json, _guarded, _json_flag, _out, _secrets, _store, _table
from console.core.errors import UserFacingError


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="scim_command", metavar="ACTION", required=True)
    specs = (
        ("status", "SCIM state, tokens (metadata only) and pending deliveries", _run_status),
        ("enable", "enable SCIM and mint the first token (kept in the OS keyring until delivered)",
         _run_enable),
        ("test", "Entra's Test Connection against the org's endpoint with its undelivered token", _run_test),
        ("rotate", "mint a second token; the current one stays active until revoked", _run_rotate),
        ("revoke", "revoke a token (asks for confirmation unless --yes)", _run_revoke),
    )
    for name, help_text, handler in specs:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--org", required=True, metavar="ID")
        _json_flag(p)
        if name in ("enable", "rotate"):
            p.add_argument("--show-token", action="store_true",
                           help="print the new token once (otherwise it stays only in the OS keyring)")
        if name == "test":
            p.add_argument("--token-stdin", action="store_true",
                           help="read the token to test from stdin instead of the keyring")
            p.add_argument("--deep", action="store_true",
                           help="also run the deep conformance check (creates and deletes test users and a "
                                "group named scim-console-check-…)")
            p.add_argument("--no-rfc", action="store_true",
                           help="with --deep: skip scim2-tester's RFC checks (Entra-profile checks only)")
        if name == "revoke":
            p.add_argument("--token", required=True, metavar="TOKEN_ID",
                           help="the token id (see 'scim status')")
            p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
        p.set_defaults(handler=_guarded(handler))


def _client() -> Any:
    from console.services.api_client import AdminApiClient
    from console.services.profiles import ProfileService

    if os.environ.get("SCIM_CONSOLE_URL") or os.environ.get("SCIM_CONSOLE_TOKEN"):
        return AdminApiClient.from_env(retries=2)
    store = _store()
    try:
        return ProfileService(store, _secrets(strict=False)).client_for_cli(retries=2)
    finally:
        store.close()


def _operator(store: Any) -> tuple[str, str | None]:
    profile = None if os.environ.get("SCIM_CONSOLE_URL") else store.profiles.active()
    try:
        fallback = getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name: still attribute the action
        fallback = "unknown"
    return ((profile.operator if profile else "") or fallback), (profile.id if profile else None)


def _token_rows(tokens: Any) -> list[list[str]]:
    def d(x: Any) -> str:
        return x.strftime("%Y-%m-%d") if x else "—"
    return [[t.id, "…" + t.last_four, t.fingerprint, d(t.created_at), d(t.expires_at), d(t.last_used_at),
             "active" if t.active else ("revoked" if t.revoked_at else "expired")] for t in tokens]


def _run_status(args: argparse.Namespace) -> int:
    from console.services.pending_deliveries import PendingDeliveries

    with _client() as client:
        settings = client.get_scim(args.org)
        here = client.platform()
    store = _store()
    try:  # only this platform's: the same org id elsewhere has its own tokens (docs/platform-identity.md)
        pending = [p for p in PendingDeliveries(store.engine).list(args.org)
                   if p.platform_id in (here.id, None)]
    finally:
        store.close()
    if args.json:
        _emit_json({"org_id": args.org, "scim": settings, "pending_deliveries": pending})
        return 0
    state = "enabled" if settings.enabled else "not enabled"
    _out(f"SCIM {state} · endpoint {settings.scim_base_url or '—'}")
    if settings.tokens:
        _table(_token_rows(settings.tokens), ["ID", "TOKEN", "FINGERPRINT", "CREATED", "EXPIRES", "LAST USED",
                                              "STATE"])
    for p in pending:
        _out(f"delivery of …{p.last_four}: {p.state} (until {p.expires_at:%Y-%m-%d %H:%M} UTC)")
    return 0


def _mint(args: argparse.Namespace, rotate: bool) -> int:
    from console.services.pending_deliveries import PendingDeliveries
    from console.services.scim_setup import enable_scim, rotate_token

    secrets = _secrets(strict=True)  # refuses a keyring that cannot keep the token: nothing minted
    store = _store()
    try:
        operator, profile_id = _operator(store)
        with _client() as client:
            fn = rotate_token if rotate else enable_scim
            result = fn(client, args.org, secrets, store.audit, operator=operator,
                        deliveries=PendingDeliveries(store.engine), profile_id=profile_id)
    finally:
        store.close()
    info = result.token_info
    payload: dict[str, Any] = {"org_id": args.org, "scim_base_url": result.scim_base_url, "token_info": info,
                               "stored_in_keyring": result.pending is not None,
                               "delivery_expires_at": result.pending.expires_at if result.pending else None}
    if args.show_token:
        payload["token"] = result.token
    if args.json:
        _emit_json(payload)
        return 0
    _out(f"SCIM {'token rotated' if rotate else 'enabled'} for {args.org}")
    _out(f"endpoint: {result.scim_base_url}")
    _out(f"token: …{info.last_four} (id {info.id}, fingerprint {info.fingerprint})")
    if args.show_token:
        _out(f"token value (shown once): {result.token}")
    else:
        _out("the token is kept in the OS keyring until delivered (use --show-token to print it once)")
    return 0


def _run_enable(args: argparse.Namespace) -> int:
    return _mint(args, rotate=False)


def _run_rotate(args: argparse.Namespace) -> int:
    return _mint(args, rotate=True)


def _run_test(args: argparse.Namespace) -> int:
    from console.services.connection_test import run_connection_test

    with _client() as client:
        settings = client.get_scim(args.org)
    if not settings.scim_base_url:
        raise UserFacingError(f"{args.org} has no SCIM endpoint.")
    if args.token_stdin:
        token = sys.stdin.readline().strip()
    else:
        with _client() as client:
            token = _pending_token_here(client, args.org)
    result = run_connection_test(settings.scim_base_url, token)
    report = None
    if args.deep and result.ok:
        from console.services.conformance import run_conformance

        report = run_conformance(settings.scim_base_url, token, with_scim2_tester=not args.no_rfc)
    if args.json:
        payload: dict[str, Any] = result.as_dict()
        if report is not None:
            payload["conformance"] = report.as_dict()
        _out(json.dumps(payload))
    else:
        for p in result.probes:
            _out(f"{'ok  ' if p.ok else 'FAIL'} GET {p.path} → {p.status or 'no answer'}")
        _out(result.message)
        if report is not None:
            for c in report.checks:
                if c.status != "pass" or c.group != "RFC (scim2-tester)":
                    _out(f"{c.status.upper():4} {c.group}: {c.name}" + (f" — {c.detail}" if c.detail else ""))
            _out(report.summary())
    return 0 if result.ok and (report is None or report.ok) else 1


def _pending_token_here(client: Any, org_id: str) -> str:
    """The org's undelivered token minted on the platform ``client`` talks to (never one minted
    elsewhere under the same org id: docs/platform-identity.md)."""
    from console.core.platform_identity import refuse_other_platform
    from console.services.pending_deliveries import PendingDeliveries
    from console.services.scim_setup import pending_token

    store = _store()
    try:
        deliveries = PendingDeliveries(store.engine)
        live = [p for p in deliveries.list(org_id) if p.state in ("pending", "link sent")]
        if not live:
            raise UserFacingError(f"No undelivered token of {org_id} is waiting in this console.",
                                  hint="Pipe the token in with --token-stdin.")
        here = client.platform()
        mine = [p for p in live if p.platform_id in (here.id, None)]
        if not mine:
            other = live[0].platform
            assert other is not None
            refuse_other_platform(f"The undelivered token …{live[0].last_four} of {org_id}", other, here)
        return pending_token(_secrets(strict=False), org_id, mine[0].token_id, client=client,
                             deliveries=deliveries)
    finally:
        store.close()


def _run_revoke(args: argparse.Namespace) -> int:
    from console.services.pending_deliveries import PendingDeliveries
    from console.services.scim_setup import revoke_token

    if not _confirm(f"Revoke token {args.token} of {args.org}? Entra stops provisioning at once.", args.yes,
                    "revoke"):
        _out("cancelled")
        return 1
    store = _store()
    try:
        operator, profile_id = _operator(store)
        with _client() as client:
            info = revoke_token(client, args.org, args.token, _secrets(strict=False), store.audit,
                                operator=operator, deliveries=PendingDeliveries(store.engine),
                                profile_id=profile_id)
    finally:
        store.close()
    if args.json:
        _emit_json({"org_id": args.org, "token_info": info})
    else:
        _out(f"revoked token …{info.last_four} ({info.id})")
    return 0
