"""Base of the console's small table models: immutable rows built once, O(1) ``data()``.

Each row object is built off the paint path (display strings, tooltips and sort keys computed when
the row is made), so the view's thousands of ``data()`` calls are tuple lookups. Subclasses name
their ``columns`` and say how to build a row (``make_row``) and how to answer extra roles
(``role_data``). Mutators assert they run on the GUI thread (Electrum's guard): a model changed
from a worker corrupts the view silently.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, ClassVar, Generic, Protocol, TypeVar

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from console.ui.widgets.common import plain_tip

Index = QModelIndex | QPersistentModelIndex


class Row(Protocol):
    display: tuple[str, ...]


R = TypeVar("R", bound=Row)


def assert_gui_thread() -> None:
    assert threading.current_thread() is threading.main_thread(), "models change on the GUI thread only"


class RowsModel(QAbstractTableModel, Generic[R]):
    """A read-only table over a tuple of prebuilt rows."""

    columns: ClassVar[tuple[str, ...]] = ()

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[R, ...] = ()

    # ---- Public API

    def set_rows(self, rows: Iterable[R]) -> None:
        assert_gui_thread()
        self.beginResetModel()
        self._rows = tuple(rows)
        self.endResetModel()

    def append_rows(self, rows: Sequence[R]) -> None:
        assert_gui_thread()
        if not rows:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(rows) - 1)
        self._rows = self._rows + tuple(rows)
        self.endInsertRows()

    def replace_row(self, index: int, row: R) -> None:
        """Swap one row in place (its cells repaint; selection and scroll stay)."""
        assert_gui_thread()
        rows = list(self._rows)
        rows[index] = row
        self._rows = tuple(rows)
        self.dataChanged.emit(self.index(index, 0), self.index(index, self.columnCount() - 1))

    def row_at(self, row: int) -> R | None:
        return self._rows[row] if 0 <= row < len(self._rows) else None

    def rows(self) -> tuple[R, ...]:
        return self._rows

    def role_data(self, row: R, column: int, role: int) -> Any:
        """Roles beyond DisplayRole; ``None`` when the role has no value."""
        return None

    # ---- Qt overrides

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self.columns)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole:
            return row.display[index.column()]
        if role == Qt.ItemDataRole.ToolTipRole:  # platform/file text: never markup (plain_tip)
            return plain_tip(self.role_data(row, index.column(), role))
        return self.role_data(row, index.column(), role)

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return self.columns[section]
        return None
