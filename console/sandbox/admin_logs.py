"""Admin API: the provisioning log (every SCIM request the platform saw), paged, filtered, tailed
and exported.

Paging is keyset on the autoincrement id, newest first (``cursor`` = last id seen), so any page of
200 k events costs about the same. ``after_id`` switches to follow mode: only events newer than
``after_id``, oldest first, for a live tail. The NDJSON export streams in chunks of 1 000 rows with a
short-lived session per chunk, so it never holds the whole log in memory.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import StreamingResponse
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import sessionmaker

from console.sandbox import admin_models as m
from console.sandbox.admin_common import DEFAULT_PAGE, CursorQ, LimitQ, get_org
from console.sandbox.admin_views import EVENT_FIELDS, decode_int_cursor, encode_cursor, event_view
from console.sandbox.auth import OperatorDep, SessionDep
from console.sandbox.db import MAX_INT64
from console.sandbox.db import ProvisioningEvent as Ev

router = APIRouter()

EXPORT_CHUNK = 1000


class LogFilters:
    """The query parameters shared by the page and the export endpoints."""

    def __init__(
        self,
        since: Annotated[datetime | None, Query(description="ISO 8601; events at or after")] = None,
        until: Annotated[datetime | None, Query(description="ISO 8601; events before")] = None,
        status: Annotated[int | None, Query(ge=100, le=599)] = None,
        outcome: Annotated[Literal["success", "failure", "skipped"] | None, Query()] = None,
        method: Annotated[str | None, Query(max_length=8)] = None,
        op: Annotated[str | None, Query(max_length=32)] = None,
        user: Annotated[str | None, Query(max_length=320, description="user id or userName")] = None,
        q: Annotated[
            str | None, Query(max_length=200, description="substring of userName, error or path")
        ] = None,
    ) -> None:
        self.since, self.until, self.status, self.outcome = since, until, status, outcome
        self.method, self.op, self.user, self.q = method, op, user, q

    def apply(self, stmt: Select[Any], org_id: str) -> Select[Any]:
        stmt = stmt.where(Ev.org_id == org_id)
        if self.since is not None:
            stmt = stmt.where(Ev.ts >= self.since)
        if self.until is not None:
            stmt = stmt.where(Ev.ts < self.until)
        if self.status is not None:
            stmt = stmt.where(Ev.status == self.status)
        if self.outcome is not None:
            stmt = stmt.where(Ev.outcome == self.outcome)
        if self.method:
            stmt = stmt.where(Ev.method == self.method.upper())
        if self.op:
            stmt = stmt.where(Ev.op == self.op)
        if self.user:
            stmt = stmt.where(or_(Ev.user_id == self.user, func.lower(Ev.user_name) == self.user.lower()))
        if self.q:
            needle = self.q.lower()
            stmt = stmt.where(
                or_(
                    func.instr(func.lower(Ev.user_name), needle) > 0,
                    func.instr(func.lower(Ev.error_detail), needle) > 0,
                    func.instr(func.lower(Ev.path), needle) > 0,
                )
            )
        return stmt


def _newest_first(stmt: Select[Any]) -> Select[Any]:
    # Walks the (org_id, id) index backwards and stops after one page. Needs statistics: without
    # ANALYZE, SQLite picks the ts index for a time range and sorts the whole range (admin_indexes).
    return stmt.order_by(Ev.id.desc())


@router.get(
    "/orgs/{org_id}/provisioning-log",
    response_model=m.LogPage,
    summary="Provisioning log, newest first (or after_id for tail mode, oldest first)",
)
def list_events(
    org_id: str,
    session: SessionDep,
    _op: OperatorDep,
    filters: Annotated[LogFilters, Depends()],
    after_id: Annotated[
        int | None, Query(ge=0, le=MAX_INT64, description="tail mode: only events with id > after_id")
    ] = None,
    limit: LimitQ = DEFAULT_PAGE,
    cursor: CursorQ = None,
) -> dict[str, object]:
    get_org(session, org_id)
    if after_id is not None:
        stmt = filters.apply(select(Ev), org_id).where(Ev.id > after_id).order_by(Ev.id.asc())
        rows = session.scalars(stmt.limit(limit)).all()
        return {"items": [event_view(e) for e in rows], "next_cursor": None}
    before = decode_int_cursor("plog", cursor)
    stmt = filters.apply(select(Ev), org_id)
    if before is not None:
        stmt = stmt.where(Ev.id < before)
    rows = session.scalars(_newest_first(stmt).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [event_view(e) for e in rows],
        "next_cursor": encode_cursor("plog", rows[-1].id) if more else None,
    }


def _json_value(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat().replace("+00:00", "Z")
    return value


def _stream(factory: sessionmaker, org_id: str, filters: LogFilters) -> Iterator[bytes]:
    before: int | None = None
    while True:
        with factory() as session:
            stmt = filters.apply(select(*[getattr(Ev, f) for f in EVENT_FIELDS]), org_id)
            if before is not None:
                stmt = stmt.where(Ev.id < before)
            rows = session.execute(_newest_first(stmt).limit(EXPORT_CHUNK)).all()
        if not rows:
            return
        yield "".join(
            json.dumps({f: _json_value(v) for f, v in zip(EVENT_FIELDS, row, strict=True)}) + "\n"
            for row in rows
        ).encode()
        if len(rows) < EXPORT_CHUNK:
            return
        before = rows[-1][0]


@router.get(
    "/orgs/{org_id}/provisioning-log/export",
    summary="Provisioning log as NDJSON (same filters)",
    response_class=StreamingResponse,
    responses={200: {"content": {"application/x-ndjson": {}}, "description": "one event per line"}},
)
def export_events(
    org_id: str,
    request: Request,
    session: SessionDep,
    _op: OperatorDep,
    filters: Annotated[LogFilters, Depends()],
) -> StreamingResponse:
    get_org(session, org_id)
    session.close()
    return StreamingResponse(
        _stream(request.app.state.session_factory, org_id, filters),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="provisioning-log-{org_id}.ndjson"'},
    )
