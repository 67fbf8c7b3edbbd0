"""Table model over a query result of the log engine: a page cache, O(1) ``data()``.

``rowCount`` is the view's total; rows come in pages (``PAGE`` rows) fetched by the page through the
TaskRunner when the view first asks for them; until a page arrives its cells are empty. Nothing here
sorts or filters: sort/filter changes re-run SQL and reset the model once (performance-notes §6).
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt
from PySide6.QtGui import QColor

from console.services.logstore.dataset import DISPLAY_COLUMNS

PAGE = 256
HEADERS = (
    "Time (UTC)",
    "Action",
    "Status",
    "Error code",
    "Source identity",
    "Target id",
    "Job",
    "Cycle",
    "Duration ms",
)
SORT_KEYS = DISPLAY_COLUMNS  # the column each header sorts by, in column order
SEQ_ROLE = Qt.ItemDataRole.UserRole + 1
_STATUS_COLOURS = {"failure": QColor("#c62828"), "warning": QColor("#b26a00"), "skipped": QColor("#6b6b6b")}
_Index = QModelIndex | QPersistentModelIndex
_TIP = Qt.ItemDataRole.ToolTipRole


def _fmt(value: Any, col: int) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.0f}"
    return " ".join(str(value).split())[:300]


class EventsModel(QAbstractTableModel):
    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.view = ""
        self.total = 0
        self._pages: dict[int, list[tuple[str, ...]]] = {}
        self._seqs: dict[int, list[int]] = {}
        self._status: dict[int, list[str]] = {}
        self._requested: set[int] = set()
        self.fetch_page: Callable[[str, int], None] | None = None

    # ---- feeding
    def set_result(self, view: str, total: int, first_page: list[tuple[Any, ...]]) -> None:
        self.beginResetModel()
        self.view, self.total = view, total
        self._pages.clear()
        self._seqs.clear()
        self._status.clear()
        self._requested.clear()
        self._store(0, first_page)
        self.endResetModel()

    def add_page(self, view: str, page_no: int, rows: list[tuple[Any, ...]]) -> None:
        if view != self.view:
            return  # a page of a superseded query
        self._store(page_no, rows)
        first = page_no * PAGE
        last = min(self.total, first + len(rows)) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(HEADERS) - 1))

    def _store(self, page_no: int, rows: list[tuple[Any, ...]]) -> None:
        self._pages[page_no] = [tuple(_fmt(v, i) for i, v in enumerate(r[1:])) for r in rows]
        self._seqs[page_no] = [int(r[0]) for r in rows]
        self._status[page_no] = [str(r[3] or "") for r in rows]
        self._requested.add(page_no)

    def seq_at(self, row: int) -> int | None:
        page, off = divmod(row, PAGE)
        seqs = self._seqs.get(page)
        return seqs[off] if seqs is not None and off < len(seqs) else None

    # ---- Qt API
    def rowCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.total

    def columnCount(self, parent: _Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(HEADERS)

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return HEADERS[section]
        return None

    def data(self, index: _Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role not in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.ForegroundRole, SEQ_ROLE, _TIP):
            return None
        page, off = divmod(index.row(), PAGE)
        rows = self._pages.get(page)
        if rows is None:
            if page not in self._requested and self.fetch_page is not None:
                self._requested.add(page)
                self.fetch_page(self.view, page)
            return None
        if off >= len(rows):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return rows[off][index.column()]
        if role == _TIP:  # the whole value of a cut-off cell; tooltips render HTML, so escape it
            text = rows[off][index.column()]
            return html.escape(text) if len(text) > 12 else None
        if role == SEQ_ROLE:
            return self._seqs[page][off]
        if index.column() == 2:
            return _STATUS_COLOURS.get(self._status[page][off])
        return None
