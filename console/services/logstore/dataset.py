"""One dataset of events and the query engine over it (Tad's pattern, performance-notes §3.4/§6).

Every filter/sort change runs one SQL statement that materialises the matching rows with
``row_number() OVER (ORDER BY …)`` into a temp table; pages are then ``WHERE rn BETWEEN`` lookups
(~10 ms at 1 M). One connection per dataset guarded by a lock: worker threads from the GUI's
TaskRunner take turns, and the temp tables stay visible to every call.
"""

from __future__ import annotations

import itertools
import json
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from console.core.entra_log_schema import EVENT_COLUMNS
from console.services.logstore.importer import ensure_schema

DISPLAY_COLUMNS = (
    "time",
    "action",
    "status",
    "error_code",
    "source_upn",
    "target_id",
    "job_id",
    "cycle_id",
    "duration_ms",
)
SORTABLE = frozenset(
    (*DISPLAY_COLUMNS, "seq", "source_name", "source_id", "event_id", "change_id", "http_status")
)
DETAIL_COLUMNS = (*EVENT_COLUMNS, "source_file")


@dataclass(frozen=True)
class LogFilter:
    """All set fields combine with AND. ``text`` is a case-insensitive substring over identities,
    error codes/reasons and modified properties."""

    status: str | None = None
    action: str | None = None
    error_code: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    job: str | None = None
    cycle: str | None = None
    text: str | None = None

    def where(self, *, skip_status: bool = False) -> tuple[str, list[Any]]:
        parts: list[str] = []
        params: list[Any] = []
        for col, value in (
            ("status", None if skip_status else self.status),
            ("action", self.action),
            ("error_code", self.error_code),
            ("job_id", self.job),
            ("cycle_id", self.cycle),
        ):
            if value:
                parts.append(f"{col} = ?")
                params.append(value)
        if self.since is not None:
            parts.append("time >= ?")
            params.append(self.since)
        if self.until is not None:
            parts.append("time < ?")
            params.append(self.until)
        if self.text and self.text.strip():
            parts.append("contains(search, ?)")
            params.append(self.text.strip().lower())
        return (" WHERE " + " AND ".join(parts)) if parts else "", params


@dataclass(frozen=True)
class QueryResult:
    """A materialised view: ``total`` rows; ``counts`` per status under the other filters."""

    view: str
    total: int
    counts: dict[str, int]
    first_page: list[tuple[Any, ...]] = field(default_factory=list)


class Dataset:
    """Events of one import (a ``.duckdb`` file) or of a live org (in memory)."""

    _views = itertools.count(1)

    def __init__(
        self, con: duckdb.DuckDBPyConnection, *, dataset_id: str, name: str, path: Path | None = None
    ) -> None:
        self.con = con
        self.id = dataset_id
        self.name = name
        self.path = path
        self.lock = threading.RLock()
        self._live_views: list[str] = []
        self._specs: dict[str, tuple[str, list[Any]]] = {}
        self._built: set[str] = set()
        self._temp: dict[str, str] = {}  # view -> its text-match table
        with self.lock:
            ensure_schema(con)

    @classmethod
    def open(cls, path: Path, *, read_only: bool = False) -> Dataset:
        con = duckdb.connect(str(path), read_only=read_only)
        con.execute("SET TimeZone='UTC'")
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall()) if _has_meta(con) else {}
        return cls(con, dataset_id=path.stem, name=meta.get("name", path.stem), path=path)

    @classmethod
    def in_memory(cls, dataset_id: str, name: str) -> Dataset:
        return cls(duckdb.connect(":memory:"), dataset_id=dataset_id, name=name)

    def close(self) -> None:
        with self.lock:
            self.con.close()

    # ---- queries
    def count(self) -> int:
        with self.lock:
            return int(self.con.execute("SELECT count(*) FROM events").fetchone()[0])

    def status_counts(self, flt: LogFilter | None = None, *, source: str = "events") -> dict[str, int]:
        """Counts per status under every filter except the status one (so all chips stay visible)."""
        where, params = (flt or LogFilter()).where(skip_status=True)
        with self.lock:
            rows = self.con.execute(
                f"SELECT coalesce(status, '(none)'), count(*) FROM {source}{where} "
                "GROUP BY 1 ORDER BY 2 DESC",
                params,
            ).fetchall()
        return {str(k): int(v) for k, v in rows}

    def query(
        self,
        flt: LogFilter | None = None,
        *,
        sort: str = "time",
        descending: bool = True,
        page_size: int = 256,
    ) -> QueryResult:
        """Size, status counts and the first page of a filtered, sorted view.

        Two scans: one ``GROUP BY status`` (gives the counts *and* the total, since the status filter is
        an equality) and one top-N ``ORDER BY … LIMIT`` for the first page. The numbered view that
        serves later pages is materialised on the first ``rows()`` call, so sorting shows its first
        page without paying for a full 1 M-row ``row_number()`` (performance-notes §3.4)."""
        if sort not in SORTABLE:
            raise ValueError(f"cannot sort by {sort!r}")
        flt = flt or LogFilter()
        where, params = flt.where()
        direction = "DESC" if descending else "ASC"
        order = f"{sort} {direction} NULLS LAST, seq {direction}"
        view = f"v{next(self._views)}"
        cols = ", ".join(DISPLAY_COLUMNS)
        with self.lock:
            source = "events"
            if flt.text and flt.text.strip():
                # Substring search is the expensive predicate: evaluate it once into a (small) match
                # table, then counts, first page and the view all read that instead of 1 M rows.
                source = f"m{view}"
                m_where, m_params = LogFilter(**{**flt.__dict__, "status": None}).where()
                self.con.execute(
                    f"CREATE TEMP TABLE {source} AS SELECT seq, {cols} FROM events{m_where}", m_params
                )
                self._temp[view] = source
                flt = LogFilter(status=flt.status)
                where, params = flt.where()
            self._specs[view] = (
                f"CREATE TEMP TABLE {view} AS SELECT row_number() OVER (ORDER BY {order}) AS rn, seq, {cols} "
                f"FROM {source}{where}",
                params,
            )
            self._live_views.append(view)
            while len(self._live_views) > 2:  # the previous view may still serve a page in flight
                old = self._live_views.pop(0)
                self._specs.pop(old, None)
                self._built.discard(old)
                self.con.execute(f"DROP TABLE IF EXISTS {old}")
                if old in self._temp:
                    self.con.execute(f"DROP TABLE IF EXISTS {self._temp.pop(old)}")
            counts = self.status_counts(flt, source=source)
            total = counts.get(flt.status, 0) if flt.status else sum(counts.values())
            first = self.con.execute(
                f"SELECT seq, {cols} FROM {source}{where} ORDER BY {order} LIMIT {int(page_size)}", params
            ).fetchall()
        return QueryResult(view=view, total=total, counts=counts, first_page=first)

    def rows(self, view: str, offset: int, limit: int) -> list[tuple[Any, ...]]:
        """Rows ``offset … offset+limit-1`` of a view: (seq, *DISPLAY_COLUMNS); [] for a dropped view."""
        with self.lock:
            if view not in self._live_views:
                return []
            if view not in self._built:
                sql, params = self._specs[view]
                self.con.execute(sql, params)
                self._built.add(view)
            cols = ", ".join(DISPLAY_COLUMNS)
            return self.con.execute(
                f"SELECT seq, {cols} FROM {view} WHERE rn BETWEEN ? AND ? ORDER BY rn",
                [offset + 1, offset + limit],
            ).fetchall()

    def event(self, seq: int) -> dict[str, Any] | None:
        """Everything stored about one event (for the details pane)."""
        with self.lock:
            row = self.con.execute(
                f"SELECT {', '.join(DETAIL_COLUMNS)} FROM events WHERE seq = ?", [seq]
            ).fetchone()
        if row is None:
            return None
        out = dict(zip(DETAIL_COLUMNS, row, strict=True))
        try:
            out["raw"] = json.loads(out["raw"]) if out["raw"] else {}
        except ValueError:
            out["raw"] = {}
        return out

    def distinct(self, column: str, limit: int = 200) -> list[str]:
        if column not in ("action", "status", "error_code", "job_id", "cycle_id"):
            raise ValueError(column)
        with self.lock:
            rows = self.con.execute(
                f"SELECT DISTINCT {column} FROM events WHERE {column} IS NOT NULL "
                f"ORDER BY 1 LIMIT {int(limit)}"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def max_event_number(self) -> int:
        with self.lock:
            v = self.con.execute("SELECT max(try_cast(event_id AS BIGINT)) FROM events").fetchone()[0]
        return int(v or 0)


def _has_meta(con: duckdb.DuckDBPyConnection) -> bool:
    return bool(
        con.execute("SELECT count(*) FROM information_schema.tables WHERE table_name='meta'").fetchone()[0]
    )
