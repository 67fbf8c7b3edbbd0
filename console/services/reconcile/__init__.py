"""Email reconciliation for one org (issue 6): load, analyse, page the findings, plan, apply, resume.

The API a page or a script drives, every call a plain function for a worker thread::

    engine = analyze_org(client, "contoso", token, entra_users=Path("users.csv"), logs=dataset)
    engine.summary                       # AnalysisSummary: counts per class, seconds, warnings
    engine.table.filter(cls="manual_twin", text="doe"); engine.table.sort("severity")
    engine.table.count(); engine.table.page(0, 200)      # FindingRow list
    engine.finding(fid)                  # Finding with accounts, evidence, log events
    plan = engine.plan(ids=[...])        # Plan: the dry run (all findings when no filter)
    run = RunStore(store.engine).create(plan, actor=operator, profile_id=pid)
    report = apply_run(client, RunStore(store.engine), store.audit, run.id, token, operator=operator)
    RunStore(store.engine).unfinished("contoso")          # the run to resume, if any
    export_findings(engine, "f.xlsx"); export_plan(plan, "p.csv"); export_run(report, "r.csv")
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console.services.reconcile.apply import RunReport, apply_run
from console.services.reconcile.engine import AnalysisSummary, EntraLoad, ReconcileEngine
from console.services.reconcile.exports import export_findings, export_plan, export_run
from console.services.reconcile.results import FindingRow, FindingsTable
from console.services.reconcile.runs import RunRecord, RunStore, StepRecord
from console.services.reconcile.sources import InputError, NoProgress, ProgressToken


def analyze_org(client: Any, org_id: str, token: ProgressToken | None = None, *,
                entra_users: Path | str | None = None, logs: Any = None,
                workdir: Path | str | None = None) -> ReconcileEngine:
    """Fetch the org's users, load the optional inputs and analyse; the caller closes the engine."""
    token = token or NoProgress()
    engine = ReconcileEngine(org_id, workdir=workdir)
    try:
        engine.fetch_platform(client, token)
        if entra_users is not None:
            engine.load_entra_export(entra_users, token)
        if logs is not None:
            engine.load_log_evidence(logs, token)
        engine.analyze(token)
    except BaseException:
        engine.close()
        raise
    return engine


__all__ = [
    "AnalysisSummary",
    "EntraLoad",
    "FindingRow",
    "FindingsTable",
    "InputError",
    "NoProgress",
    "ProgressToken",
    "ReconcileEngine",
    "RunRecord",
    "RunReport",
    "RunStore",
    "StepRecord",
    "analyze_org",
    "apply_run",
    "export_findings",
    "export_plan",
    "export_run",
]
