"""One dataset of events and the query engine over it (Tad's pattern, performance-notes §3.4/§6).

Every filter/sort change runs SQL over ``log_events`` (see ``logstore.sql``): counts per status and
a top-N first page at once, and a ``row_number() OVER (ORDER BY …)`` temp table that serves later
pages as ``WHERE rn BETWEEN`` lookups (~10 ms at 1 M) — built by ``prepare`` right after the first
page, so scrolling or jumping to the end finds it ready. One connection per dataset guarded by a
lock: worker threads from the GUI's TaskRunner take turns, and the temp tables stay visible to every
call. Background work that takes seconds (``complete``, exports) uses its own cursor so it never
holds the lock.
"""

from __future__ import annotations

import itertools
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb

from console.core.errors import Cancelled
from console.services.logstore import importer, sql
from console.services.logstore.importer import CancelCheck, Progress

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
# What an export writes: the table's columns plus what support pastes into tickets (never steps/raw).
EXPORT_COLUMNS = (
    "time",
    "action",
    "status",
    "error_code",
    "error_reason",
    "http_status",
    "source_upn",
    "source_name",
    "source_id",
    "target_id",
    "job_id",
    "cycle_id",
    "change_id",
    "duration_ms",
    "event_id",
    "modified_properties",
    "source_file",
)
EXPORT_HEADERS = (
    "Time (UTC)",
    "Action",
    "Status",
    "Error code",
    "Error reason",
    "HTTP status",
    "Source UPN",
    "Source name",
    "Source id",
    "Target id",
    "Job",
    "Cycle",
    "Change id",
    "Duration ms",
    "Event id",
    "Modified properties",
    "File",
)


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

    def where(self, *, skip_status: bool = False, search_ready: bool = True) -> tuple[str, list[Any]]:
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
            needle = self.text.strip().lower()
            if search_ready:
                parts.append("seq IN (SELECT seq FROM log_search WHERE contains(s, ?))")
            else:  # the search table is still being built: same text, evaluated per row (slower)
                parts.append(f"contains({sql.SEARCH_EXPR}, ?)")
            params.append(needle)
        return (" WHERE " + " AND ".join(parts)) if parts else "", params

    def without_status(self) -> LogFilter:
        return LogFilter(**{**self.__dict__, "status": None})


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
        self._by_order: set[str] = set()  # views served by log_order (every event, newest first)
        self._temp: dict[str, str] = {}  # view -> its text-match table
        self.closed = False
        with self.lock:
            _migrate_v1(con)
            importer.ensure_schema(con)

    @classmethod
    def open(cls, path: Path) -> Dataset:
        con = duckdb.connect(str(path))
        con.execute("SET TimeZone='UTC'")
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall()) if _has_table(con, "meta") else {}
        return cls(con, dataset_id=path.stem, name=meta.get("name", path.stem), path=path)

    @classmethod
    def in_memory(cls, dataset_id: str, name: str) -> Dataset:
        return cls(duckdb.connect(":memory:"), dataset_id=dataset_id, name=name)

    def close(self) -> None:
        with self.lock:
            self.closed = True
            self.con.close()

    def _check_open(self) -> None:
        """A page may still ask a dataset it just replaced: that work is obsolete, never an error."""
        if self.closed:
            raise Cancelled()

    # ---- completion of a staged import (search text, then details)
    @property
    def pending(self) -> list[dict[str, Any]]:
        with self.lock:
            row = self.con.execute("SELECT value FROM meta WHERE key = 'pending'").fetchone()
        return list(json.loads(row[0])) if row and row[0] else []

    @property
    def search_ready(self) -> bool:
        with self.lock:
            return self._search_ready()

    def _search_ready(self) -> bool:
        n_search = self.con.execute("SELECT count(*) FROM log_search").fetchone()[0]
        return int(n_search) >= int(self.con.execute("SELECT count(*) FROM log_events").fetchone()[0])

    def complete(
        self, progress: Progress = lambda f, t: None, cancelled: CancelCheck = lambda: False
    ) -> list[str]:
        """Finish a staged import: search text, then steps and details (seconds at 1 M; cancellable).

        Runs on its own cursor (queries continue meanwhile) and records progress in ``meta`` after
        every file, so a cancelled or interrupted completion resumes where it stopped."""
        pending = self.pending
        if not pending:
            return []
        cur = self.con.cursor()
        try:
            cur.execute("SET TimeZone='UTC'")
            cur.execute(f"SET memory_limit='{importer.IMPORT_MEMORY_LIMIT}'")  # per instance: RSS < 1 GB
            warnings: list[str] = []
            for item in list(pending):
                warnings += importer.complete(cur, [item], progress, cancelled)
                pending.remove(item)
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('pending', ?)", [json.dumps(pending)])
            importer.run_watched(cur, sql.ORDER_BUILD, [], progress, cancelled, "Numbering the events")
            if warnings:
                old = cur.execute("SELECT value FROM meta WHERE key = 'warnings'").fetchone()
                merged = (json.loads(old[0]) if old and old[0] else []) + warnings
                cur.execute("INSERT OR REPLACE INTO meta VALUES ('warnings', ?)", [json.dumps(merged)])
            return warnings
        finally:
            cur.close()

    # ---- queries
    def count(self) -> int:
        with self.lock:
            return int(self.con.execute("SELECT count(*) FROM log_events").fetchone()[0])

    def status_counts(self, flt: LogFilter | None = None, *, source: str = "log_events") -> dict[str, int]:
        """Counts per status under every filter except the status one (so all chips stay visible)."""
        with self.lock:
            where, params = (flt or LogFilter()).where(skip_status=True, search_ready=self._search_ready())
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
        serves later pages is built by ``prepare`` (or the first ``rows()`` call), so sorting shows its
        first page without paying for a full 1 M-row ``row_number()`` (performance-notes §3.4)."""
        if sort not in SORTABLE:
            raise ValueError(f"cannot sort by {sort!r}")
        flt = flt or LogFilter()
        direction = "DESC" if descending else "ASC"
        order = f"{sort} {direction} NULLS LAST, seq {direction}"
        view = f"v{next(self._views)}"
        cols = ", ".join(DISPLAY_COLUMNS)
        with self.lock:
            self._check_open()
            ready = self._search_ready()
            where, params = flt.where(search_ready=ready)
            source = "log_events"
            if flt.text and flt.text.strip():
                # Substring search is the expensive predicate: evaluate it once into a (small) match
                # table, then counts, first page and the view all read that instead of 1 M rows.
                source = f"m{view}"
                m_where, m_params = flt.without_status().where(search_ready=ready)
                self.con.execute(
                    f"CREATE TEMP TABLE {source} AS SELECT seq, {cols} FROM log_events{m_where}", m_params
                )
                self._temp[view] = source
                flt = LogFilter(status=flt.status)
                where, params = flt.where()
            self._specs[view] = (
                f"CREATE TEMP TABLE {view} AS SELECT row_number() OVER (ORDER BY {order}) AS rn, seq, {cols} "
                f"FROM {source}{where}",
                params,
            )
            if not where and sort == "time" and descending and self._order_ready():
                self._by_order.add(view)  # every event newest first: numbered when the import completed
                self._built.add(view)
            self._live_views.append(view)
            while len(self._live_views) > 2:  # the previous view may still serve a page in flight
                old = self._live_views.pop(0)
                self._specs.pop(old, None)
                self._built.discard(old)
                self._by_order.discard(old)
                self.con.execute(f"DROP TABLE IF EXISTS {old}")
                if old in self._temp:
                    self.con.execute(f"DROP TABLE IF EXISTS {self._temp.pop(old)}")
            counts = self.status_counts(flt, source=source)
            total = counts.get(flt.status, 0) if flt.status else sum(counts.values())
            first = self.con.execute(
                f"SELECT seq, {cols} FROM {source}{where} ORDER BY {order} LIMIT {int(page_size)}", params
            ).fetchall()
        return QueryResult(view=view, total=total, counts=counts, first_page=first)

    def prepare(self, view: str) -> bool:
        """Build the numbered view now (the page calls this right after showing the first page)."""
        with self.lock:
            self._check_open()
            if view not in self._live_views:
                return False
            if view not in self._built:
                statement, params = self._specs[view]
                self.con.execute(statement, params)
                self._built.add(view)
            return True

    def rows(self, view: str, offset: int, limit: int) -> list[tuple[Any, ...]]:
        """Rows ``offset … offset+limit-1`` of a view: (seq, *DISPLAY_COLUMNS); [] for a dropped view."""
        with self.lock:
            if not self.prepare(view):
                return []
            cols = ", ".join(DISPLAY_COLUMNS)
            if view in self._by_order:
                return self._order_rows(offset, limit)
            return self.con.execute(
                f"SELECT seq, {cols} FROM {view} WHERE rn BETWEEN ? AND ? ORDER BY rn",
                [offset + 1, offset + limit],
            ).fetchall()

    def _order_ready(self) -> bool:
        """``log_order`` numbers every event newest first (built when an import is complete)."""
        n = self.con.execute("SELECT count(*) FROM log_order").fetchone()[0]
        return int(n) > 0 and int(n) == int(self.con.execute("SELECT count(*) FROM log_events").fetchone()[0])

    def _order_rows(self, offset: int, limit: int) -> list[tuple[Any, ...]]:
        """A page of the unfiltered time order from ``log_order``: the page's seqs bound the scan of
        ``log_events`` (DuckDB pushes the join's min/max into the zone maps), ~5 ms at 1 M."""
        cols = ", ".join(f"e.{c}" for c in DISPLAY_COLUMNS)
        return self.con.execute(
            f"SELECT e.seq, {cols} FROM (SELECT rn, seq FROM log_order WHERE rn BETWEEN ? AND ?) o "
            "JOIN log_events e ON e.seq = o.seq ORDER BY o.rn",
            [offset + 1, offset + limit],
        ).fetchall()

    def event(self, seq: int) -> dict[str, Any] | None:
        """Everything stored about one event (for the details pane); ``details_pending`` until the
        staged import's second scan has read its steps."""
        with self.lock:
            self._check_open()
            row = self.con.execute(
                f"SELECT {', '.join(sql.TABLE_COLUMNS)} FROM log_events WHERE seq = ?", [seq]
            ).fetchone()
            if row is None:
                return None
            out: dict[str, Any] = dict(zip(sql.TABLE_COLUMNS, row, strict=True))
            details = None
            if out["raw"] is None:  # a staged import keeps these in log_details (once its second scan ran)
                details = self.con.execute(
                    f"SELECT {', '.join(sql.DETAIL_FIELDS)} FROM log_details WHERE seq = ?", [seq]
                ).fetchone()
                out.update(
                    dict(zip(sql.DETAIL_FIELDS, details or (None,) * len(sql.DETAIL_FIELDS), strict=True))
                )
        missing = out["raw"] is None and details is None
        out["details_pending"] = missing and bool(self.pending)  # the second scan is still to come
        out["details_missing"] = missing and not out["details_pending"]  # e.g. the source file was moved
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
                f"SELECT DISTINCT {column} FROM log_events WHERE {column} IS NOT NULL "
                f"ORDER BY 1 LIMIT {int(limit)}"
            ).fetchall()
        return [str(r[0]) for r in rows]

    def max_event_number(self) -> int:
        with self.lock:
            v = self.con.execute("SELECT max(try_cast(event_id AS BIGINT)) FROM log_events").fetchone()[0]
        return int(v or 0)

    # ---- charts (aggregates of the filtered events; drawn by the page)
    def _filtered(self, flt: LogFilter | None) -> tuple[str, list[Any]]:
        self._check_open()
        where, params = (flt or LogFilter()).where(search_ready=self._search_ready())
        return f"(SELECT * FROM log_events{where})", params

    def timeline(
        self, flt: LogFilter | None = None, bucket: str = "auto"
    ) -> tuple[str, list[tuple[Any, ...]]]:
        """(bucket, [(bucket start, status, count)…]) — ``auto`` picks hours for ≤ 3 days, else days."""
        with self.lock:
            src, params = self._filtered(flt)
            if bucket == "auto":
                span = self.con.execute(f"SELECT max(time) - min(time) FROM {src}", params).fetchone()[0]
                bucket = "hour" if span is not None and span.total_seconds() <= 3 * 86400 else "day"
            if bucket not in ("hour", "day"):
                raise ValueError(bucket)
            rows = self.con.execute(
                f"SELECT date_trunc('{bucket}', time) AS b, coalesce(status, '(none)'), count(*) FROM {src} "
                "WHERE time IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2",
                params,
            ).fetchall()
        return bucket, rows

    def top_errors(self, flt: LogFilter | None = None, n: int = 10) -> list[tuple[str, int]]:
        with self.lock:
            src, params = self._filtered(flt)
            rows = self.con.execute(
                f"SELECT error_code, count(*) FROM {src} WHERE error_code IS NOT NULL "
                f"GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT {int(n)}",
                params,
            ).fetchall()
        return [(str(c), int(k)) for c, k in rows]

    def per_cycle(self, flt: LogFilter | None = None, n: int = 30) -> list[tuple[str, Any, dict[str, int]]]:
        """The newest ``n`` cycles, oldest first: (cycle id, first event time, counts per status)."""
        with self.lock:
            src, params = self._filtered(flt)
            rows = self.con.execute(
                f"""WITH f AS {src},
                    top AS (SELECT cycle_id, min(time) AS t FROM f WHERE cycle_id IS NOT NULL GROUP BY 1
                            ORDER BY t DESC NULLS LAST, 1 LIMIT {int(n)})
                    SELECT top.cycle_id, top.t, coalesce(f.status, '(none)'), count(*)
                    FROM f JOIN top USING (cycle_id) GROUP BY 1, 2, 3 ORDER BY 2 NULLS FIRST, 1, 3""",
                params,
            ).fetchall()
        out: dict[str, tuple[Any, dict[str, int]]] = {}
        for cycle, t, status, k in rows:
            out.setdefault(str(cycle), (t, {}))[1][str(status)] = int(k)
        return [(c, t, counts) for c, (t, counts) in out.items()]

    # ---- export (own cursor: a million rows never hold the lock)
    def export_rows(
        self, flt: LogFilter | None = None, *, sort: str = "time", descending: bool = True, batch: int = 5000
    ) -> tuple[int, RowStream]:
        """(row count, rows in ``EXPORT_COLUMNS`` order) of the filtered view in the table's order."""
        if sort not in SORTABLE:
            raise ValueError(f"cannot sort by {sort!r}")
        direction = "DESC" if descending else "ASC"
        cur = self.con.cursor()
        cur.execute("SET TimeZone='UTC'")
        where, params = (flt or LogFilter()).where(search_ready=self.search_ready)
        total = int(cur.execute(f"SELECT count(*) FROM log_events{where}", params).fetchone()[0])
        cur.execute(
            f"SELECT {', '.join(EXPORT_COLUMNS)} FROM log_events{where} "
            f"ORDER BY {sort} {direction} NULLS LAST, seq {direction}",
            params,
        )
        return total, RowStream(cur, batch)


class RowStream:
    """Rows of a query on its own cursor, fetched in batches; ``close`` (or the end) frees the cursor."""

    def __init__(self, cur: duckdb.DuckDBPyConnection, batch: int) -> None:
        self._cur: duckdb.DuckDBPyConnection | None = cur
        self._batch = batch

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        try:
            while self._cur is not None and (chunk := self._cur.fetchmany(self._batch)):
                yield from chunk
        finally:
            self.close()

    def close(self) -> None:
        if self._cur is not None:
            self._cur.close()
            self._cur = None


def _has_table(con: duckdb.DuckDBPyConnection, name: str, kind: str = "BASE TABLE") -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ? AND table_type = ?",
            [name, kind],
        ).fetchone()[0]
    )


def _migrate_v1(con: duckdb.DuckDBPyConnection) -> None:
    """Datasets of the first slice kept everything in one ``events`` table: split it (lossless)."""
    if not _has_table(con, "events"):
        return
    def split() -> None:
        con.execute(sql.DDL.split("CREATE OR REPLACE VIEW")[0])
        cols = ", ".join(sql.TABLE_COLUMNS)
        con.execute(f"INSERT INTO log_events ({cols}) SELECT {cols} FROM events")
        con.execute("INSERT INTO log_search SELECT seq, search FROM events")
        con.execute("DROP TABLE events")
        con.execute(sql.ORDER_BUILD)

    importer.transaction(con, split)
