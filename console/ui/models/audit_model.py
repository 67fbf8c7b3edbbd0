"""Table model of the console's local audit trail (one page of ``AuditRecord`` rows)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt

from console.core.models import AuditRecord

COLUMNS = ("Time (UTC)", "Actor", "Action", "Org", "Outcome", "Details")

Index = QModelIndex | QPersistentModelIndex
RECORD_ROLE = Qt.ItemDataRole.UserRole + 1


@dataclass(frozen=True, slots=True)
class AuditRow:
    record: AuditRecord
    display: tuple[str, ...]

    @classmethod
    def of(cls, record: AuditRecord) -> AuditRow:
        params = json.dumps(dict(record.params), sort_keys=True, default=str) if record.params else ""
        details = " · ".join(x for x in (record.detail or "", params) if x)
        return cls(record, (
            record.ts.strftime("%Y-%m-%d %H:%M:%S"),
            record.actor,
            record.action,
            record.org_id or "",
            record.outcome,
            " ".join(details.split()),  # one line in the table; the tooltip has it too
        ))


class AuditModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[AuditRow, ...] = ()

    def set_records(self, records: Iterable[AuditRecord]) -> None:
        assert threading.current_thread() is threading.main_thread(), "models change on the GUI thread only"
        self.beginResetModel()
        self._rows = tuple(AuditRow.of(r) for r in records)
        self.endResetModel()

    def record_at(self, row: int) -> AuditRecord | None:
        return self._rows[row].record if 0 <= row < len(self._rows) else None

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        if role == Qt.ItemDataRole.DisplayRole or role == Qt.ItemDataRole.ToolTipRole:
            return row.display[index.column()]
        if role == RECORD_ROLE:
            return row.record
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None
