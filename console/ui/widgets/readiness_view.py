"""The SCIM readiness checks as rows of "mark + text", shared by the org page and the wizard."""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QGridLayout, QLabel, QWidget

from console.core.readiness import AMBER, GREEN, RED, Check
from console.ui.widgets.common import ERROR_COLOR, plain_label, plain_tip

LEVEL_MARK = {GREEN: "✔ Ready", AMBER: "▲ Review", RED: "✖ Blocking"}
LEVEL_COLOR = {GREEN: "#2e7d32", AMBER: "#b26a00", RED: ERROR_COLOR}


def check_row(check: Check) -> tuple[QLabel, QLabel]:
    """The coloured mark and the plain-text body (examples are user data: never rich text)."""
    mark = plain_label(LEVEL_MARK[check.level])
    mark.setStyleSheet(f"color: {LEVEL_COLOR[check.level]}; font-weight: bold;")
    text = check.summary
    if check.fix_hint and check.level == RED:
        text += "\n" + check.fix_hint
    if check.examples:
        text += "\ne.g. " + "; ".join(check.examples[:3])
    body = plain_label(f"{check.name}: {text}", wrap=True)
    if check.fix_hint:
        body.setToolTip(plain_tip(check.fix_hint) or "")
    return mark, body


class ReadinessView(QWidget):
    """Rows packed at the top; ``set_checks(None)`` empties it."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.grid = QGridLayout(self)
        self.grid.setColumnStretch(1, 1)
        self.grid.setContentsMargins(0, 0, 0, 0)

    def set_checks(self, checks: Sequence[Check] | None) -> None:
        while self.grid.count():
            item = self.grid.takeAt(0)
            if item.widget() is not None:
                item.widget().deleteLater()
        for row in range(self.grid.rowCount()):
            self.grid.setRowStretch(row, 0)
        for row, check in enumerate(checks or ()):
            mark, body = check_row(check)
            self.grid.addWidget(mark, row, 0, Qt.AlignmentFlag.AlignTop)
            self.grid.addWidget(body, row, 1, Qt.AlignmentFlag.AlignTop)
        self.grid.setRowStretch(len(checks or ()), 1)
