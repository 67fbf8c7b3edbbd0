"""Table model of organisations (conventions §2.1, §4.2 item 9).

Rows are frozen and carry their display strings and sort keys, computed once when the row is
built, so ``data()`` is a tuple index (O(1)) however often the view repaints.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QObject, QPersistentModelIndex, Qt
from PySide6.QtGui import QFont

from console.core.models import OrgSummary

COLUMNS = ("Name", "ID", "Domains", "SCIM", "Template", "Users")
SCIM_COL, TEMPLATE_COL = 3, 4

_TEMPLATE_TEXT = {"ok": "Ready", "missing": "Missing", "no_work_areas": "No work areas"}
_TEMPLATE_TIP = {
    "ok": "A New User Template applies to all users and has work areas: ready for SCIM.",
    "missing": "No New User Template applies to all users: SCIM-created users would get no access.",
    "no_work_areas": "The all-users template has no work areas: SCIM-created users would see nothing.",
}

ORG_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2

Index = QModelIndex | QPersistentModelIndex



@cache
def _bold() -> QFont:  # built lazily: a QFont needs the QGuiApplication
    font = QFont()
    font.setBold(True)
    return font


def scim_text(org: OrgSummary) -> str:
    if not org.scim.enabled:
        return "Off"
    tokens = org.scim.active_tokens
    return f"On · {tokens} token{'s' if tokens != 1 else ''}"


def template_text(org: OrgSummary) -> str:
    return _TEMPLATE_TEXT.get(org.template.status, org.template.status)


def template_tip(org: OrgSummary) -> str:
    return _TEMPLATE_TIP.get(org.template.status, org.template.status)


@dataclass(frozen=True, slots=True)
class OrgRow:
    org: OrgSummary
    display: tuple[str, ...]
    tips: tuple[str, ...]
    sort_keys: tuple[Any, ...]
    needs_attention: bool  # template not ready: shown in the "warning" colour

    @classmethod
    def of(cls, org: OrgSummary) -> OrgRow:
        display = (
            org.name,
            org.id,
            ", ".join(org.domains),
            scim_text(org),
            template_text(org),
            f"{org.user_counts.total:,}".replace(",", " "),
        )
        keys = (org.name.casefold(), org.id, display[2], (org.scim.enabled, org.scim.active_tokens),
                org.template.status, org.user_counts.total)
        tips = (*display[:TEMPLATE_COL], template_tip(org), *display[TEMPLATE_COL + 1:])
        return cls(org, display, tips, keys, not org.template.ok)


class OrgsModel(QAbstractTableModel):
    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._rows: tuple[OrgRow, ...] = ()

    # ---- Public API

    def set_orgs(self, orgs: Iterable[OrgSummary]) -> None:
        assert threading.current_thread() is threading.main_thread(), "models change on the GUI thread only"
        self.beginResetModel()
        self._rows = tuple(OrgRow.of(o) for o in orgs)
        self.endResetModel()

    def append_orgs(self, orgs: Sequence[OrgSummary]) -> None:
        assert threading.current_thread() is threading.main_thread(), "models change on the GUI thread only"
        if not orgs:
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(orgs) - 1)
        self._rows = self._rows + tuple(OrgRow.of(o) for o in orgs)
        self.endInsertRows()

    def org_at(self, row: int) -> OrgSummary | None:
        return self._rows[row].org if 0 <= row < len(self._rows) else None

    def org_ids(self) -> list[str]:
        return [r.org.id for r in self._rows]

    # ---- Qt overrides

    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008 - Qt's signature
        return 0 if parent.isValid() else len(COLUMNS)

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid():
            return None
        row = self._rows[index.row()]
        col = index.column()
        if role == Qt.ItemDataRole.DisplayRole:
            return row.display[col]
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tips[col]
        if role == SORT_ROLE:
            return row.sort_keys[col]
        if role == ORG_ROLE:
            return row.org
        if role == Qt.ItemDataRole.FontRole and col == TEMPLATE_COL and row.needs_attention:
            return _bold()
        if role == Qt.ItemDataRole.TextAlignmentRole and col == len(COLUMNS) - 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None

    def headerData(self, section: int, orientation: Qt.Orientation,
                   role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if role == Qt.ItemDataRole.DisplayRole and orientation == Qt.Orientation.Horizontal:
            return COLUMNS[section]
        return None
