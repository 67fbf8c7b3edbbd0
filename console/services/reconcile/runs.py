"""Applied plans and the state of each step, in the local store (schema v4), so a run survives a crash.

A run is created from a confirmed :class:`~console.core.reconcile.plan.Plan` *before* anything is sent;
each step's state is committed as it changes (``running`` before the call, its outcome after the
local audit record). Whatever stops the run — cancel, a lost connection, a killed process — the rows
say which steps were done, which stopped and why, and which were never started; resuming continues
the same steps (the operator confirmed those, not a plan recomputed after half of it happened).
"""

from __future__ import annotations

import secrets
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from console.core.reconcile.plan import Plan, PlannedStep
from console.services.store.schema import reconcile_runs as runs_t
from console.services.store.schema import reconcile_steps as steps_t

# step states
PENDING, RUNNING = "pending", "running"
DONE, ALREADY_DONE, ADVICE_SHOWN = "done", "already_done", "advice"
CONFLICT, FAILED, BLOCKED = "conflict", "failed", "blocked"
FINAL = frozenset({DONE, ALREADY_DONE, ADVICE_SHOWN, CONFLICT, FAILED, BLOCKED})
SUCCEEDED = frozenset({DONE, ALREADY_DONE, ADVICE_SHOWN})
STOPPED = frozenset({CONFLICT, FAILED, BLOCKED})
# run statuses
RUN_RUNNING, RUN_INTERRUPTED, RUN_CANCELLED = "running", "interrupted", "cancelled"
RUN_FINISHED, RUN_ABANDONED = "finished", "abandoned"
UNFINISHED = (RUN_RUNNING, RUN_INTERRUPTED, RUN_CANCELLED)


@dataclass(frozen=True, slots=True)
class StepRecord:
    seq: int
    step: PlannedStep
    state: str
    detail: str | None = None
    result_version: int | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class RunRecord:
    id: str
    org_id: str
    plan_id: str
    actor: str
    status: str
    created_at: datetime
    updated_at: datetime
    steps: tuple[StepRecord, ...]
    profile_id: str | None = None

    def counts(self) -> dict[str, int]:
        c = Counter(s.state for s in self.steps)
        return {k: c.get(k, 0) for k in (DONE, ALREADY_DONE, ADVICE_SHOWN, CONFLICT, FAILED, BLOCKED, RUNNING,
                                          PENDING)}

    @property
    def finished(self) -> bool:
        return all(s.state in FINAL for s in self.steps)

    def in_state(self, *states: str) -> list[StepRecord]:
        return [s for s in self.steps if s.state in states]


def _now() -> datetime:
    return datetime.now(UTC)


class RunStore:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(self, plan: Plan, *, actor: str, profile_id: str | None = None) -> RunRecord:
        run_id = "rr_" + secrets.token_hex(8)
        now = _now()
        with self._engine.begin() as conn:
            conn.execute(insert(runs_t).values(
                id=run_id, org_id=plan.org_id, profile_id=profile_id, plan_id=plan.id, actor=actor,
                status=RUN_RUNNING, created_at=now, updated_at=now, summary={"steps": len(plan.steps)}))
            if plan.steps:
                conn.execute(insert(steps_t), [
                    {"run_id": run_id, "seq": i, "item": s.item, "action": s.action, "step": s.as_dict(),
                     "state": PENDING, "detail": None, "result_version": None, "updated_at": now}
                    for i, s in enumerate(plan.steps, start=1)])
        return self.get(run_id)

    def get(self, run_id: str) -> RunRecord:
        with self._engine.connect() as conn:
            r = conn.execute(select(runs_t).where(runs_t.c.id == run_id)).first()
            if r is None:
                raise KeyError(run_id)
            rows = conn.execute(select(steps_t).where(steps_t.c.run_id == run_id)
                                .order_by(steps_t.c.seq)).all()
        steps = tuple(StepRecord(seq=s.seq, step=PlannedStep(**s.step), state=s.state, detail=s.detail,
                                 result_version=s.result_version, updated_at=s.updated_at) for s in rows)
        return RunRecord(id=r.id, org_id=r.org_id, plan_id=r.plan_id, actor=r.actor, status=r.status,
                         created_at=r.created_at, updated_at=r.updated_at, steps=steps,
                         profile_id=r.profile_id)

    def unfinished(self, org_id: str) -> RunRecord | None:
        """The newest run of this org that stopped before its end (the one ``apply`` resumes)."""
        with self._engine.connect() as conn:
            r = conn.execute(select(runs_t.c.id).where(runs_t.c.org_id == org_id,
                                                       runs_t.c.status.in_(UNFINISHED))
                             .order_by(runs_t.c.created_at.desc()).limit(1)).first()
        return self.get(r.id) if r is not None else None

    def list(self, org_id: str | None = None, limit: int = 20) -> list[RunRecord]:
        stmt = select(runs_t.c.id).order_by(runs_t.c.created_at.desc()).limit(limit)
        if org_id is not None:
            stmt = stmt.where(runs_t.c.org_id == org_id)
        with self._engine.connect() as conn:
            ids = [r.id for r in conn.execute(stmt)]
        return [self.get(i) for i in ids]

    def set_step(self, run_id: str, seq: int, state: str, detail: str | None = None,
                 result_version: int | None = None) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(steps_t).where(steps_t.c.run_id == run_id, steps_t.c.seq == seq).values(
                state=state, detail=detail, result_version=result_version, updated_at=_now()))

    def set_status(self, run_id: str, status: str, summary: dict[str, Any] | None = None) -> None:
        values: dict[str, Any] = {"status": status, "updated_at": _now()}
        if summary is not None:
            values["summary"] = summary
        with self._engine.begin() as conn:
            conn.execute(update(runs_t).where(runs_t.c.id == run_id).values(**values))
