"""Table model of organisations (conventions §2.1, §4.2 item 9).

Rows are frozen and carry their display strings and sort keys, computed once when the row is
built, so ``data()`` is a tuple index (O(1)) however often the view repaints.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QFont

from console.core.models import OrgSummary
from console.ui.models.rows_model import RowsModel

COLUMNS = ("Name", "ID", "Domains", "SCIM", "Template", "Users")
SCIM_COL, TEMPLATE_COL, USERS_COL = 3, 4, 5

_TEMPLATE_TEXT = {"ok": "Ready", "missing": "Missing", "no_work_areas": "No work areas"}
_TEMPLATE_TIP = {
    "ok": "A New User Template applies to all users and has work areas: ready for SCIM.",
    "missing": "No New User Template applies to all users: SCIM-created users would get no access.",
    "no_work_areas": "The all-users template has no work areas: SCIM-created users would see nothing.",
}

ORG_ROLE = Qt.ItemDataRole.UserRole + 1
SORT_ROLE = Qt.ItemDataRole.UserRole + 2




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
    def of(cls, org: OrgSummary, note: tuple[str, str] | None = None) -> OrgRow:
        """``note``: (text, tooltip) shown in the Users column instead of the count (a count still
        changing, e.g. the sandbox's background fill)."""
        users = f"{org.user_counts.total:,}".replace(",", " ")
        display = (
            org.name,
            org.id,
            ", ".join(org.domains),
            scim_text(org),
            template_text(org),
            note[0] if note else users,
        )
        keys = (org.name.casefold(), org.id, display[2], (org.scim.enabled, org.scim.active_tokens),
                org.template.status, org.user_counts.total)
        tips = (*display[:TEMPLATE_COL], template_tip(org), *display[TEMPLATE_COL + 1:USERS_COL],
                note[1] if note else users)
        return cls(org, display, tips, keys, not org.template.ok)


class OrgsModel(RowsModel[OrgRow]):
    columns = COLUMNS

    # ---- Public API

    def __init__(self, parent: Any = None) -> None:
        super().__init__(parent)
        self._notes: dict[str, tuple[str, str]] = {}

    def set_orgs(self, orgs: Iterable[OrgSummary]) -> None:
        self.set_rows(OrgRow.of(o, self._notes.get(o.id)) for o in orgs)

    def append_orgs(self, orgs: Sequence[OrgSummary]) -> None:
        self.append_rows([OrgRow.of(o, self._notes.get(o.id)) for o in orgs])

    def set_note(self, org_id: str, text: str | None, tip: str = "") -> None:
        """Show ``text`` in ``org_id``'s Users column (``None`` shows its count again); it survives
        reloads until cleared."""
        if text is None:
            self._notes.pop(org_id, None)
        else:
            self._notes[org_id] = (text, tip or text)
        rows = self.rows()
        for i, row in enumerate(rows):
            if row.org.id == org_id:
                self.replace_row(i, OrgRow.of(row.org, self._notes.get(org_id)))

    def note(self, org_id: str) -> str | None:
        found = self._notes.get(org_id)
        return found[0] if found else None

    def org_at(self, row: int) -> OrgSummary | None:
        found = self.row_at(row)
        return found.org if found is not None else None

    def org_ids(self) -> list[str]:
        return [r.org.id for r in self.rows()]

    def role_data(self, row: OrgRow, column: int, role: int) -> Any:
        if role == Qt.ItemDataRole.ToolTipRole:
            return row.tips[column]
        if role == SORT_ROLE:
            return row.sort_keys[column]
        if role == ORG_ROLE:
            return row.org
        if role == Qt.ItemDataRole.FontRole and column == TEMPLATE_COL and row.needs_attention:
            return _bold()
        if role == Qt.ItemDataRole.TextAlignmentRole and column == len(COLUMNS) - 1:
            return int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        return None
