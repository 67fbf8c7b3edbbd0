"""``scim-console sandbox simulate-entra``: run the Entra simulator against an org of a platform.

Credentials come only from the environment (``SCIM_CONSOLE_URL`` = admin API URL,
``SCIM_CONSOLE_TOKEN`` = operator token), never from argv (visible in ``ps`` and shell history).
Scenarios that start from a "before SCIM" state (``email-mismatch``, ``case-only``) create the
customer's manual accounts first (``simulate_org``), so the incident reproduces on any org. The SCIM
token is obtained through the admin API and never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from console.sandbox.simulate import DIALECTS, MATCHING, SCENARIOS, entra_export_csv
from console.sandbox.simulate_org import PRE_SCIM_SCENARIOS, SimulationSetupError, simulate_org


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
    parser.add_argument("--domain", default="contoso.com",
                        help="the mail domain of the simulated people (default contoso.com)")
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


def run_simulate(args: argparse.Namespace) -> int:
    url = os.environ.get("SCIM_CONSOLE_URL", "").rstrip("/")
    operator = os.environ.get("SCIM_CONSOLE_TOKEN", "")
    if not url or not operator:
        return _fail("set SCIM_CONSOLE_URL (admin API URL) and SCIM_CONSOLE_TOKEN (operator token)",
                     args.json)
    try:
        run = simulate_org(url, operator, args.org, scenario=args.scenario, users=args.users, seed=args.seed,
                           dialect=args.dialect, matching=args.matching, domain=args.domain)
    except SimulationSetupError as exc:
        return _fail(str(exc), args.json)
    except httpx.HTTPError as exc:
        return _fail(f"cannot reach the platform at {url}: {type(exc).__name__}", args.json)
    report = run.report
    if args.entra_export:
        Path(args.entra_export).write_bytes(  # bytes: CRLF stays CRLF on every OS, like Entra's file
            entra_export_csv(args.users, seed=args.seed, scenario=args.scenario, domain=args.domain)
            .encode("utf-8"))
    if args.json:
        _out(json.dumps(run.to_dict()))
    else:
        _out(f"scenario={report.scenario} dialect={report.dialect} users={report.users} "
              f"requests={report.requests} in {report.seconds}s")
        if args.scenario in PRE_SCIM_SCENARIOS:
            _out(f"before SCIM: manual accounts created={run.manual_created} "
                 f"already there={run.manual_existing}")
        _out(f"created={report.created} matched={report.matched} relinked={report.relinked} "
              f"updated={report.updated} disabled={report.disabled} group_members={report.group_members} "
              f"conflicts={report.conflicts}")
        _out(f"statuses={report.statuses} test_connection={'ok' if report.test_connection_ok else 'FAILED'}")
        for failure in report.failures[:10]:
            _out(f"  failed: {failure['method']} {failure['path']} -> {failure['status']} "
                 f"{failure['detail']}")
    return 0 if report.ok else 1
