"""``scim-console sandbox simulate-entra``: run the Entra simulator against an org of a platform.

Credentials come only from the environment (``SCIM_CONSOLE_URL`` = admin API URL,
``SCIM_CONSOLE_TOKEN`` = operator token), never from argv (visible in ``ps`` and shell history).
The SCIM token is obtained through the admin API: enabling SCIM when it is off, otherwise minting
a rotation token that is revoked after the run so the org never keeps two active tokens because
of us. The SCIM token is never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import uuid
from pathlib import Path
from typing import Any

import httpx

from console.sandbox.simulate import DIALECTS, MATCHING, SCENARIOS, entra_export_csv, simulate_entra


def register_simulate(subparsers: Any) -> None:
    parser = subparsers.add_parser(
        "simulate-entra", help="send Entra-shaped SCIM traffic to an org (env SCIM_CONSOLE_URL/TOKEN)")
    parser.add_argument("--org", required=True, help="organisation id")
    parser.add_argument("--dialect", choices=DIALECTS, default="default")
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--scenario", choices=SCENARIOS, default="clean")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--matching", choices=MATCHING, default="userName",
                        help="the attribute Entra queries before creating a user (default userName)")
    parser.add_argument("--entra-export", metavar="FILE",
                        help="also write Entra's “Download users” CSV of the simulated users to FILE")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(handler=run_simulate)


def _out(text: str) -> None:
    sys.stdout.write(text + "\n")


def _fail(message: str, as_json: bool) -> int:
    if as_json:
        _out(json.dumps({"ok": False, "error": message}))
    else:
        sys.stderr.write(f"scim-console: error: {message}\n")
    return 1


def _admin(client: httpx.Client, method: str, path: str, **kw: Any) -> httpx.Response:
    return client.request(method, path, **kw)


def run_simulate(args: argparse.Namespace) -> int:
    url = os.environ.get("SCIM_CONSOLE_URL", "").rstrip("/")
    operator = os.environ.get("SCIM_CONSOLE_TOKEN", "")
    if not url or not operator:
        return _fail("set SCIM_CONSOLE_URL (admin API URL) and SCIM_CONSOLE_TOKEN (operator token)",
                     args.json)
    if not url.endswith("/admin/v1"):
        url += "/admin/v1"
    headers = {"Authorization": f"Bearer {operator}"}
    with httpx.Client(base_url=url, headers=headers, timeout=30) as admin:
        state = admin.get(f"/orgs/{args.org}/scim")
        if state.status_code != 200:
            return _fail(f"cannot read SCIM state of org {args.org!r}: HTTP {state.status_code}", args.json)
        rotation_id: str | None = None
        key = {"Idempotency-Key": uuid.uuid4().hex}
        if not state.json()["enabled"]:
            r = admin.post(f"/orgs/{args.org}/scim/enable", headers=key)
        else:
            r = admin.post(f"/orgs/{args.org}/scim/tokens", headers=key)
        if r.status_code != 201:
            code = r.json().get("error", {}).get("code", "") if r.content else ""
            return _fail(f"cannot get a SCIM token for {args.org!r}: HTTP {r.status_code} {code}".strip(),
                         args.json)
        body = r.json()
        token = body["token"]
        if state.json()["enabled"]:
            rotation_id = body["token_info"]["id"]
        scim_url = body.get("scim_base_url") or state.json()["scim_base_url"]
        try:
            report = simulate_entra(scim_url, token, dialect=args.dialect, users=args.users,
                                    scenario=args.scenario, seed=args.seed, matching=args.matching)
        finally:
            if rotation_id is not None:
                admin.delete(f"/orgs/{args.org}/scim/tokens/{rotation_id}")
    if args.entra_export:
        Path(args.entra_export).write_bytes(  # bytes: CRLF stays CRLF on every OS, like Entra's file
            entra_export_csv(args.users, seed=args.seed, scenario=args.scenario).encode("utf-8"))
    if args.json:
        _out(json.dumps(report.to_dict()))
    else:
        _out(f"scenario={report.scenario} dialect={report.dialect} users={report.users} "
              f"requests={report.requests} in {report.seconds}s")
        _out(f"created={report.created} matched={report.matched} relinked={report.relinked} "
              f"updated={report.updated} disabled={report.disabled} group_members={report.group_members} "
              f"conflicts={report.conflicts}")
        _out(f"statuses={report.statuses} test_connection={'ok' if report.test_connection_ok else 'FAILED'}")
        for failure in report.failures[:10]:
            _out(f"  failed: {failure['method']} {failure['path']} -> {failure['status']} "
                 f"{failure['detail']}")
    return 0 if report.ok else 1
