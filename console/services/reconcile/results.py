"""The findings as a query-backed table for the page (the house pattern of ``logstore.dataset``).

A filter or sort change materialises ``row_number() OVER (ORDER BY …)`` over the matching findings into
a temp table once; ``count()`` and ``page(offset, limit)`` are then an index-free ``rn BETWEEN``
lookup, so a Qt model can show 300 000 findings with O(page) work and no proxy model
(performance-notes §3.4, §6). Pages always come from the current view; the page's model drops
those that arrive for an older filter (its generation).
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import duckdb

from console.core.reconcile.findings import CERTAIN, CLASS_INFO, CONFIDENCES, FindingClass
from console.core.reconcile.texts import summary
from console.services.reconcile.analysis import SEARCH_DDL, SEARCH_WHERE

COLUMNS = ("fid", "cls", "severity", "key_kind", "value", "user_names", "accounts", "entra_upn", "entra_mail",
           "detail", "log_events", "confidence")
# sort name (what the page's headers offer) -> ORDER BY expression
SORTS = {
    "class": "rank", "severity": "sev_rank", "key": "value", "accounts": "user_names",
    "count": "accounts", "entra": "entra_upn", "logs": "log_events", "id": "fid", "confidence": "conf_rank",
}


@dataclass(frozen=True, slots=True)
class FindingRow:
    """One row of the table, as the page shows it (details: ``ReconcileEngine.finding(fid)``)."""

    fid: str
    cls: FindingClass
    severity: str
    key: str
    value: str
    user_names: str
    accounts: int
    entra_upn: str | None
    entra_mail: str | None
    detail: str
    log_events: int
    confidence: str = CERTAIN

    @property
    def label(self) -> str:
        info = CLASS_INFO[self.cls]
        return f"({info.roman}) {info.label}"

    @property
    def summary(self) -> str:
        names = self.user_names.split(", ") if self.user_names else []
        return summary(self.cls, self.detail, names, self.value, self.entra_upn, self.entra_mail)


def filter_sql(cls: str | Iterable[str] | None, text: str | None, alias: str = "",
               confidence: str | Iterable[str] | None = None) -> tuple[list[str], list[Any]]:
    """SQL conditions (and their parameters) for "these classes (None: all) at these confidences
    (None: all), containing ``text``".

    The text condition reads the search table: run ``SEARCH_DDL`` before using it."""
    classes = [cls] if isinstance(cls, str) else list(cls or ())
    known = {str(c) for c in FindingClass}
    for c in classes:
        if c not in known:
            raise ValueError(f"unknown finding class {c!r}")
    levels = [confidence] if isinstance(confidence, str) else list(confidence or ())
    for level in levels:
        if level not in CONFIDENCES:
            raise ValueError(f"unknown confidence {level!r}; choose from {', '.join(CONFIDENCES)}")
    parts: list[str] = []
    params: list[Any] = []
    if classes:
        parts.append(f"{alias}cls IN ({', '.join('?' for _ in classes)})")
        params.extend(classes)
    if levels:
        parts.append(f"{alias}confidence IN ({', '.join('?' for _ in levels)})")
        params.extend(levels)
    text = (text or "").strip().lower()
    if text:
        parts.append(alias + SEARCH_WHERE)
        params.append(text)
    return parts, params


class FindingsTable:
    _views = itertools.count(1)

    def __init__(self, con: duckdb.DuckDBPyConnection, lock: threading.RLock) -> None:
        self._con = con
        self._lock = lock
        self._cls: tuple[str, ...] = ()
        self._confidence: tuple[str, ...] = ()
        self._text = ""
        self._order = "rank ASC, sev_rank ASC, user_names ASC, fid ASC"
        self._view: str | None = None
        self._built: str | None = None  # the last view materialised (dropped when replaced)
        self._count = 0

    # ---- state
    def filter(self, cls: str | Iterable[str] | None = None, text: str | None = None,
               confidence: str | Iterable[str] | None = None) -> int:
        """Show only these classes (None: all) at these confidences (None: all) whose accounts/keys
        contain ``text``; returns the count."""
        classes = (cls,) if isinstance(cls, str) else tuple(cls or ())
        levels = (confidence,) if isinstance(confidence, str) else tuple(confidence or ())
        filter_sql(classes, None, confidence=levels)  # refuses an unknown value before anything changes
        with self._lock:
            self._cls = classes
            self._confidence = levels
            self._text = (text or "").strip().lower()
            self._view = None
            return self.count()

    def sort(self, column: str = "class", descending: bool = False) -> None:
        if column not in SORTS:
            raise ValueError(f"cannot sort by {column!r}; choose one of {', '.join(SORTS)}")
        direction = "DESC" if descending else "ASC"
        with self._lock:
            self._order = f"{SORTS[column]} {direction} NULLS LAST, rank ASC, user_names ASC, fid ASC"
            self._view = None

    @property
    def current_confidence(self) -> tuple[str, ...]:
        """The confidences shown (empty: all); plan with ``confidence=`` this next to ``current_filter``."""
        return self._confidence

    @property
    def current_filter(self) -> tuple[tuple[str, ...], str]:
        """(classes, text) of what is shown: ``ReconcileEngine.plan(cls=…, text=…)`` plans exactly it."""
        return self._cls, self._text

    def _where(self, *, with_class: bool = True) -> tuple[str, list[Any]]:
        if self._text:
            self._con.execute(SEARCH_DDL)  # the search text exists from the first text filter on
        parts, params = filter_sql(self._cls if with_class else None, self._text,
                                   confidence=self._confidence)
        return (" WHERE " + " AND ".join(parts)) if parts else "", params

    def _ensure(self) -> str:
        """The current view, materialised on first use (callers hold the lock)."""
        if self._view is not None:
            return self._view
        view = f"fview{next(self._views)}"
        where, params = self._where()
        self._con.execute(
            f"CREATE TEMP TABLE {view} AS SELECT row_number() OVER (ORDER BY {self._order}) AS rn, "
            f"{', '.join(COLUMNS)} FROM findings{where}", params)
        self._count = int(self._con.execute(f"SELECT count(*) FROM {view}").fetchone()[0])
        if self._built is not None:
            self._con.execute(f"DROP TABLE IF EXISTS {self._built}")
        self._view = self._built = view
        return view

    # ---- reads
    def count(self) -> int:
        with self._lock:
            self._ensure()
            return self._count

    def page(self, offset: int, limit: int) -> list[FindingRow]:
        with self._lock:
            view = self._ensure()
            rows = self._con.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {view} WHERE rn BETWEEN ? AND ? ORDER BY rn",
                [offset + 1, offset + max(0, limit)]).fetchall()
        return [FindingRow(r[0], FindingClass(r[1]), r[2], r[3], r[4] or "", r[5] or "", int(r[6]), r[7],
                           r[8], r[9] or "", int(r[10] or 0), r[11] or CERTAIN) for r in rows]

    def ids(self) -> list[str]:
        """Every finding id under the current filter, in the current order."""
        with self._lock:
            view = self._ensure()
            return [r[0] for r in self._con.execute(f"SELECT fid FROM {view} ORDER BY rn").fetchall()]

    def class_counts(self) -> dict[str, int]:
        """Findings per class under the text filter (so every class chip keeps its number)."""
        with self._lock:
            where, params = self._where(with_class=False)
            rows = self._con.execute(f"SELECT cls, count(*) FROM findings{where} GROUP BY cls",
                                     params).fetchall()
        got = dict(rows)
        return {str(c): int(got.get(str(c), 0)) for c in FindingClass}
