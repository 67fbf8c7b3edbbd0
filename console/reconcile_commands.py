"""``scim-console reconcile analyze|plan|apply --org ID`` (issue 6).

``analyze`` lists the findings, ``plan`` the exact steps that would fix them (a dry run, nothing is
sent), ``apply`` runs them: it asks for confirmation on a terminal and refuses without ``--yes``
otherwise, audits every step, and resumes the org's interrupted run instead of planning anew (the
operator confirmed *those* steps; ``--fresh`` abandons it). Registered from ``console.commands``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from console.commands import _confirm, _emit_json, _guarded, _json_flag, _log_catalog, _out, _store, _table
from console.core.reconcile.findings import CONFIDENCES
from console.scim_commands import _client, _operator

SHOWN = 50  # findings / steps listed in text mode (all of them go to --json and --export)


def register(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="reconcile_command", metavar="ACTION", required=True)
    specs = (
        ("analyze", "find duplicate and mismatched accounts of an org", _run_analyze),
        ("plan", "show the exact steps that would fix them (dry run: nothing is changed)", _run_plan),
        ("apply", "apply the plan (confirm, or --yes); resumes the org's interrupted run", _run_apply),
    )
    for name, help_text, handler in specs:
        p = sub.add_parser(name, help=help_text)
        p.add_argument("--org", required=True, metavar="ID")
        p.add_argument("--entra-users", metavar="FILE", type=Path,
                       help="the customer's Entra “Download users” CSV (optional)")
        p.add_argument("--logs", metavar="DATASET_ID",
                       help="an imported provisioning-log dataset as evidence ('latest' for the newest)")
        p.add_argument("--class", dest="cls", metavar="CLASS", action="append",
                       help="only findings of this class (repeatable): manual_twin, scim_twins, "
                            "email_collision, case_only, stale_email, username_not_email, no_email")
        p.add_argument("--confidence", metavar="LEVEL", action="append", choices=CONFIDENCES,
                       help="only findings of this confidence (repeatable): certain, likely, possible "
                            "(likely twins found from names alone are graded; the rest are certain)")
        _json_flag(p)
        if name in ("analyze", "plan"):
            p.add_argument("--export", metavar="FILE", type=Path,
                           help="also write the findings (analyze) or steps (plan) to a .csv or .xlsx file")
        if name == "apply":
            p.add_argument("--yes", action="store_true", help="do not ask for confirmation")
            p.add_argument("--fresh", action="store_true",
                           help="abandon the org's interrupted run and plan anew")
        p.set_defaults(handler=_guarded(handler))


class _CliToken:
    """Progress on stderr when it is a terminal; Ctrl+C is handled by the run (it stays resumable)."""

    def __init__(self) -> None:
        self.tty = sys.stderr.isatty()

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        if self.tty:
            counter = f"[{done}/{total}] " if total else ""
            sys.stderr.write(f"\r\033[K{counter}{text[:100]}")
            sys.stderr.flush()

    def cancelled(self) -> bool:
        return False

    def close(self) -> None:
        if self.tty:
            sys.stderr.write("\r\033[K")
            sys.stderr.flush()


def _dataset(dataset_id: str | None) -> Any:
    return _log_catalog().open_ref(dataset_id) if dataset_id else None


def _analyse(args: argparse.Namespace, client: Any, token: _CliToken) -> Any:
    from console.services.reconcile import analyze_org

    dataset = _dataset(args.logs)
    try:
        return analyze_org(client, args.org, token, entra_users=args.entra_users, logs=dataset)
    finally:
        token.close()
        if dataset is not None:
            dataset.close()


def _finding_json(f: Any) -> dict[str, Any]:
    return {"id": f.id, "class": str(f.cls), "roman": f.info.roman, "label": f.info.label,
            "severity": f.severity, "confidence": f.confidence, "key": f.key, "value": f.value,
            "detail": f.detail,
            "summary": f.summary, "recommendation": f.recommendation,
            "accounts": [{"id": a.id, "user_name": a.user_name, "emails": list(a.emails), "active": a.active,
                          "created_via": a.created_via, "version": a.version, "external_id": a.external_id}
                         for a in f.accounts],
            "entra": None if f.entra is None else {"object_id": f.entra.object_id, "upn": f.entra.upn,
                                                   "mail": f.entra.mail},
            "evidence": [{"kind": e.kind, "key": e.key, "value": e.value, "user_id": e.user_id,
                          "event": e.event_seq} for e in f.evidence],
            "log_events": f.log_events}


def _print_summary(engine: Any) -> None:
    from console.core.reconcile import CLASS_INFO, FindingClass

    s = engine.summary
    inputs = f"{s.users:,} users"
    if s.entra_rows:
        inputs += f", {s.entra_rows:,} Entra users"
    if s.log_events:
        inputs += f", {s.log_events:,} conflict events"
    _out(f"{s.org_id}: {inputs} → {s.findings:,} findings ({s.seconds:.2f} s)")
    for cls in FindingClass:
        info = CLASS_INFO[cls]
        _out(f"  {'(' + info.roman + ')':<6}{info.label:<45} {s.counts[str(cls)]:>9,}")
    for w in s.warnings:
        _out(f"  warning: {w}")


def _run_analyze(args: argparse.Namespace) -> int:
    from console.services.reconcile import export_findings

    with _client() as client:
        engine = _analyse(args, client, _CliToken())
    try:
        if args.export:
            n = export_findings(engine, args.export, cls=args.cls, confidence=args.confidence)
        if args.json:
            found = engine.findings(cls=args.cls, confidence=args.confidence)
            _emit_json({"summary": engine.summary.as_dict(), "findings": [_finding_json(f) for f in found]})
            return 0
        _print_summary(engine)
        engine.table.filter(cls=args.cls, confidence=args.confidence)
        rows = engine.table.page(0, SHOWN)
        if rows:
            _table([[r.fid, r.label.split(")")[0] + ")", r.severity, r.confidence, r.summary[:100]]
                    for r in rows], ["FINDING", "CLASS", "SEVERITY", "CONFIDENCE", "SUMMARY"])
        if engine.table.count() > SHOWN:
            _out(f"… {engine.table.count() - SHOWN:,} more (use --json or --export)")
        if args.export:
            _out(f"exported {n:,} findings to {args.export}")
    finally:
        engine.close()
    return 0


def _print_plan(plan: Any, limit: int = SHOWN) -> None:
    counts = plan.counts()
    api = len(plan.api_steps)
    _out(f"plan {plan.id} for {plan.org_id}: {api} platform change(s), {counts['advice']} advice step(s), "
         f"{len(plan.skipped)} finding(s) without a platform change")
    for i, s in enumerate(plan.steps[:limit], start=1):
        _out(f"  {i:>3}. [{s.action}] {s.text}")
    if len(plan.steps) > limit:
        _out(f"  … {len(plan.steps) - limit:,} more steps (use --json or --export)")


def _plan_json(plan: Any) -> dict[str, Any]:
    return {"id": plan.id, "org_id": plan.org_id, "findings": plan.findings, "counts": plan.counts(),
            "steps": [s.as_dict() for s in plan.steps],
            "skipped": [{"finding": f, "reason": r} for f, r in plan.skipped]}


def _run_plan(args: argparse.Namespace) -> int:
    from console.services.reconcile import export_plan

    with _client() as client:
        engine = _analyse(args, client, _CliToken())
    try:
        plan = engine.plan(cls=args.cls, confidence=args.confidence)
    finally:
        engine.close()
    if args.export:
        export_plan(plan, args.export)
    if args.json:
        _emit_json({"plan": _plan_json(plan)})
        return 0
    _print_plan(plan)
    _out(f"dry run: nothing was changed. Apply with 'scim-console reconcile apply --org {plan.org_id}'.")
    if args.export:
        _out(f"exported {len(plan.steps):,} steps to {args.export}")
    return 0


def _run_apply(args: argparse.Namespace) -> int:
    from console.services.reconcile import RunStore, apply_run
    from console.services.reconcile.runs import RUN_ABANDONED

    store = _store()
    try:
        runs = RunStore(store.engine)
        operator, profile_id = _operator(store)
        with _client() as client:
            run = runs.unfinished(args.org)
            if run is not None and args.fresh:
                runs.set_status(run.id, RUN_ABANDONED)
                store.audit.record("reconcile.run", org_id=args.org, profile_id=profile_id, actor=operator,
                                   outcome="abandoned", params={"run_id": run.id, "plan_id": run.plan_id})
                run = None
            if run is not None:
                c = run.counts()
                left = c["pending"] + c["running"]
                if not args.json:
                    _out(f"resuming run {run.id} (plan {run.plan_id}, started "
                         f"{run.created_at:%Y-%m-%d %H:%M} UTC): {len(run.steps) - left} of "
                         f"{len(run.steps)} steps finished, {left} to go")
                question = f"Resume the run on {args.org} ({left} steps left)?"
            else:
                engine = _analyse(args, client, _CliToken())
                try:
                    plan = engine.plan(cls=args.cls, confidence=args.confidence)
                finally:
                    engine.close()
                if not plan.api_steps:
                    if args.json:
                        _emit_json({"plan": _plan_json(plan), "run": None})
                    else:
                        _print_plan(plan)
                        _out("nothing to apply")
                    return 0
                if not args.json:
                    _print_plan(plan)
                question = f"Apply {len(plan.api_steps)} platform change(s) to {args.org}?"
            if not _confirm(question, args.yes, "apply"):
                _out("cancelled: nothing was changed")
                return 1
            if run is None:
                run = runs.create(plan, actor=operator, profile_id=profile_id)
            token = _CliToken()
            try:
                report = apply_run(client, runs, store.audit, run.id, token, operator=operator,
                                   profile_id=profile_id)
            finally:
                token.close()
    finally:
        store.close()
    if args.json:
        _emit_json({"run": {"id": report.run.id, "status": report.status, "plan_id": report.run.plan_id,
                            "counts": report.counts(), "stopped_reason": report.stopped_reason,
                            "steps": [{"seq": s.seq, "state": s.state, "detail": s.detail, **s.step.as_dict()}
                                      for s in report.run.steps]}})
    else:
        for line in report.lines():
            _out(line)
    return 0 if report.ok else 1
