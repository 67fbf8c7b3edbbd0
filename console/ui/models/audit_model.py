"""Table model of the console's local audit trail (one page of ``AuditRecord`` rows)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import Qt

from console.core.models import AuditRecord
from console.ui.models.rows_model import RowsModel

COLUMNS = ("Time (UTC)", "Actor", "Action", "Org", "Outcome", "Details")

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


class AuditModel(RowsModel[AuditRow]):
    columns = COLUMNS

    def set_records(self, records: Iterable[AuditRecord]) -> None:
        self.set_rows(AuditRow.of(r) for r in records)

    def record_at(self, row: int) -> AuditRecord | None:
        found = self.row_at(row)
        return found.record if found is not None else None

    def role_data(self, row: AuditRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.display[column]
        if role == RECORD_ROLE:
            return row.record
        return None
