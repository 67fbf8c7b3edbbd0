"""Findings, plans and run reports to CSV/XLSX through THE exporter (``console.services.export``).

The exporter makes every cell formula-safe and redacted; this module only decides the columns, in the
words the page uses, and streams the findings straight from the engine's table (a cursor, not a list
of a million objects).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from console.core.reconcile.findings import CLASS_INFO, FindingClass
from console.core.reconcile.plan import Plan
from console.core.reconcile.texts import recommendation_for
from console.services.export import write_table
from console.services.reconcile.apply import RunReport
from console.services.reconcile.results import FindingsTable

FINDING_HEADER = ("finding", "class", "class name", "severity", "accounts", "matched key", "value",
                  "Entra UPN", "Entra mail", "summary", "recommendation", "log events", "confidence")
PLAN_HEADER = ("step", "item", "class", "action", "user id", "email", "into user id", "expected version",
               "expected target version", "what it does")
RUN_HEADER = ("step", "item", "action", "state", "user id", "email", "into user id", "detail")


def _finding_rows(table: FindingsTable) -> Iterator[list[Any]]:
    offset, size = 0, 5000
    while True:
        rows = table.page(offset, size)
        if not rows:
            return
        for r in rows:
            info = CLASS_INFO[r.cls]
            yield [r.fid, info.roman, info.label, info.severity, r.user_names, r.key, r.value,
                   r.entra_upn or "", r.entra_mail or "", r.summary,
                   recommendation_for(FindingClass(r.cls), r.detail, r.entra_mail), r.log_events,
                   r.confidence]
        offset += size


def export_findings(engine: Any, path: str | Path, *, cls: str | Iterable[str] | None = None,
                    text: str | None = None, confidence: str | Iterable[str] | None = None,
                    progress: Callable[[int], None] | None = None) -> int:
    """Every finding under the filter (all by default) to ``path`` (.csv or .xlsx); returns the rows."""
    table = FindingsTable(engine.con, engine.lock)  # its own view: the page's filter and sort stay
    total = table.filter(cls=cls, text=text, confidence=confidence)
    return write_table(path, FINDING_HEADER, _finding_rows(table), total=total, progress=progress,
                       sheet="Findings")


def export_plan(plan: Plan, path: str | Path) -> int:
    def roman(item: str) -> str:
        return CLASS_INFO[FindingClass(plan.classes[item])].roman if item in plan.classes else ""

    rows = ([i, s.item, roman(s.item), s.action, s.user_id or "", s.email or "", s.into_user_id or "",
             s.expected_version, s.expected_target_version, s.text]
            for i, s in enumerate(plan.steps, start=1))
    return write_table(path, PLAN_HEADER, rows, total=len(plan.steps), sheet="Plan")


def export_run(report: RunReport, path: str | Path) -> int:
    rows = ([s.seq, s.step.item, s.step.action, s.state, s.step.user_id or "", s.step.email or "",
             s.step.into_user_id or "", s.detail or ""] for s in report.run.steps)
    return write_table(path, RUN_HEADER, rows, total=len(report.run.steps), sheet="Run")
