"""The one confirmation question for destructive actions (revoke, delete a dataset, apply a plan)."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QMessageBox, QWidget


class ConfirmDialog:
    """A yes/no question whose default is *No*; the text is plain (it may quote platform data).

    Tests replace ``ConfirmDialog.ask`` to answer without a modal loop."""

    @classmethod
    def ask(cls, parent: QWidget | None, title: str, text: str, *, yes: str = "Revoke") -> bool:
        box = QMessageBox(QMessageBox.Icon.Warning, title, text, QMessageBox.StandardButton.NoButton, parent)
        box.setTextFormat(Qt.TextFormat.PlainText)
        yes_button = box.addButton(yes, QMessageBox.ButtonRole.DestructiveRole)
        no_button = box.addButton(QMessageBox.StandardButton.Cancel)
        box.setDefaultButton(no_button)
        try:
            box.exec()
            return box.clickedButton() is yes_button
        finally:
            box.deleteLater()
