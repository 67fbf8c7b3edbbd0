"""A table model over a query engine's result: rows arrive in pages, ``data()`` is O(1).

For views too big to hold as Python rows (performance-notes §3.6, §6): ``rowCount`` is the query's
total; the first page comes with the result and the others are requested through ``fetch_page``
(the page runs that on the TaskRunner) the first time the view paints them; until a page arrives
its cells are empty. Nothing here sorts or filters: a sort/filter change re-runs SQL and resets
the model once. ``generation`` names a result so a page of a superseded query is ignored. Like
``RowsModel``, it is fed on the GUI thread only (asserted).

Subclasses say how a row object becomes display strings (``display``, computed once per page, off
the paint path) and may answer extra roles (``role_data``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, ClassVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, Qt

from console.ui.models.rows_model import Index, assert_gui_thread
from console.ui.widgets.common import plain_tip

PAGE = 256


class PagedTableModel(QAbstractTableModel):
    headers: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self.generation: object = None
        self.total = 0
        self._rows: dict[int, list[Any]] = {}
        self._shown: dict[int, list[tuple[str, ...]]] = {}
        self._requested: set[int] = set()
        #: called as fetch_page(generation, page_no) for a page the view needs
        self.fetch_page: Callable[[object, int], None] | None = None

    # ---- for subclasses
    def display(self, row: Any) -> tuple[str, ...]:
        raise NotImplementedError

    def role_data(self, row: Any, column: int, role: int) -> Any:
        return None

    # ---- feeding (GUI thread)
    def set_result(self, generation: object, total: int, first_page: Sequence[Any]) -> None:
        assert_gui_thread()
        self.beginResetModel()
        self.generation, self.total = generation, total
        self._rows.clear()
        self._shown.clear()
        self._requested.clear()
        self._store(0, first_page)
        self.endResetModel()

    def add_page(self, generation: object, page_no: int, rows: Sequence[Any]) -> None:
        assert_gui_thread()
        if generation != self.generation:
            return  # a page of a superseded query
        self._store(page_no, rows)
        first = page_no * PAGE
        last = min(self.total, first + len(rows)) - 1
        if last >= first:
            self.dataChanged.emit(self.index(first, 0), self.index(last, len(self.headers) - 1))

    def _store(self, page_no: int, rows: Sequence[Any]) -> None:
        self._rows[page_no] = list(rows)
        self._shown[page_no] = [self.display(r) for r in rows]
        self._requested.add(page_no)

    def row_at(self, row: int) -> Any:
        """The row object at ``row``, or None when its page has not arrived."""
        page, off = divmod(row, PAGE)
        rows = self._rows.get(page)
        return rows[off] if rows is not None and off < len(rows) else None

    def loaded_rows(self) -> list[Any]:
        return [r for page in sorted(self._rows) for r in self._rows[page]]

    # ---- Qt API
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else self.total

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self.headers)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return self.headers[section]
        return None

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        page, off = divmod(index.row(), PAGE)
        shown = self._shown.get(page)
        if shown is None:
            if role == Qt.ItemDataRole.DisplayRole and page not in self._requested \
                    and self.fetch_page is not None:
                self._requested.add(page)
                self.fetch_page(self.generation, page)
            return None
        if off >= len(shown):
            return None
        if role == Qt.ItemDataRole.DisplayRole:
            return shown[off][index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:  # platform/file text: never markup (plain_tip)
            return plain_tip(self.role_data(self._rows[page][off], index.column(), role))
        return self.role_data(self._rows[page][off], index.column(), role)
