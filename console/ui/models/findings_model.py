"""The reconciliation findings table: a paged view over the engine's DuckDB result (issue 6)."""

from __future__ import annotations

from typing import Any, ClassVar

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor

from console.ui.models.paged_model import PagedTableModel

HEADERS = ("Class", "Severity", "Confidence", "Matched on", "Value", "Accounts", "#", "Entra UPN",
           "Log events", "Summary")
# FindingsTable.sort() key behind each column (None: not sortable)
SORT_KEYS: tuple[str | None, ...] = ("class", "severity", "confidence", "key", "key", "accounts", "count",
                                     "entra", "logs", None)
FID_ROLE = Qt.ItemDataRole.UserRole + 1
_SEVERITY_COLOURS = {"high": QColor("#c62828"), "medium": QColor("#b26a00"), "low": QColor("#6b6b6b")}
_CONFIDENCE_COLOURS = {"likely": QColor("#b26a00"), "possible": QColor("#6b6b6b")}


def _one_line(text: Any, limit: int = 300) -> str:
    return " ".join(str(text or "").split())[:limit]


class FindingsModel(PagedTableModel):
    headers: ClassVar[tuple[str, ...]] = HEADERS

    def display(self, row: Any) -> tuple[str, ...]:
        return (row.label, row.severity, row.confidence, row.key, _one_line(row.value),
                _one_line(row.user_names), str(row.accounts), _one_line(row.entra_upn),
                str(row.log_events or ""), _one_line(row.summary))

    def role_data(self, row: Any, column: int, role: int) -> Any:
        if role == FID_ROLE:
            return row.fid
        if role == Qt.ItemDataRole.ForegroundRole and column == 1:
            return _SEVERITY_COLOURS.get(row.severity)
        if role == Qt.ItemDataRole.ForegroundRole and column == 2:
            return _CONFIDENCE_COLOURS.get(row.confidence)
        return None

    def fid_at(self, row: int) -> str | None:
        found = self.row_at(row)
        return found.fid if found is not None else None
