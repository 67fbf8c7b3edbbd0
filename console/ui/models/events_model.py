"""The provisioning-log table: a PagedTableModel over a query result of the log engine.

Pages of rows come from the engine through the TaskRunner when the view first paints them; nothing
here sorts or filters (a change re-runs SQL and resets the model once, performance-notes §6).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from console.services.logstore.dataset import DISPLAY_COLUMNS
from console.ui.models.paged_model import PAGE, PagedTableModel

__all__ = ["HEADERS", "PAGE", "SEQ_ROLE", "SORT_KEYS", "EventsModel"]
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
_TIP = Qt.ItemDataRole.ToolTipRole


def _fmt(value: Any, col: int) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, float):
        return f"{value:.0f}"
    return " ".join(str(value).split())[:300]


class EventsModel(PagedTableModel):
    """Rows are the engine's page tuples: ``(seq, time, action, status, …)`` in DISPLAY_COLUMNS order."""

    headers: ClassVar[tuple[str, ...]] = HEADERS

    @property
    def view(self) -> str:
        """The engine's name for the current result (the model's generation)."""
        return str(self.generation or "")

    def display(self, row: Any) -> tuple[str, ...]:
        return tuple(_fmt(v, i) for i, v in enumerate(row[1:]))

    def role_data(self, row: Any, column: int, role: int) -> Any:
        if role == SEQ_ROLE:
            return int(row[0])
        if role == _TIP:  # the whole value of a cut-off cell (escaped by PagedTableModel.data)
            text = _fmt(row[column + 1], column)
            return text if len(text) > 12 else None
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            return _STATUS_COLOURS.get(str(row[3] or ""))
        return None

    def seq_at(self, row: int) -> int | None:
        found = self.row_at(row)
        return int(found[0]) if found is not None else None
