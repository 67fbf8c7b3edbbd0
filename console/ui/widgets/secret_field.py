"""A read-only, masked secret with Reveal and Copy (desktop-stack §5.3).

The value is shown masked by default; Reveal toggles it; Copy goes through the sensitive
clipboard (privacy MIME hints, auto-clear after 45 s and on quit). ``clear()`` forgets the value
(the wizard calls it when the token has been delivered or the wizard closes).
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLineEdit, QPushButton, QWidget

from console.ui.clipboard import SensitiveClipboard


class SecretField(QWidget):
    """Signals: sig_copied(): the value was put on the clipboard."""

    sig_copied = Signal()

    def __init__(self, parent: QWidget | None = None, *, clipboard: SensitiveClipboard | None = None) -> None:
        super().__init__(parent)
        self._clipboard = clipboard
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        self.edit = QLineEdit()
        self.edit.setReadOnly(True)
        self.edit.setEchoMode(QLineEdit.EchoMode.Password)
        self.edit.setAccessibleName("Secret value (masked)")
        self.reveal_button = QPushButton("Reveal")
        self.reveal_button.setCheckable(True)
        self.reveal_button.toggled.connect(self._on_reveal)
        self.copy_button = QPushButton("Copy")
        self.copy_button.clicked.connect(self.copy)
        layout.addWidget(self.edit, 1)
        layout.addWidget(self.reveal_button)
        layout.addWidget(self.copy_button)
        self._set_enabled(False)

    @property
    def clipboard(self) -> SensitiveClipboard:
        return self._clipboard or SensitiveClipboard.instance()

    def set_value(self, value: str) -> None:
        self.edit.setText(value)
        self.reveal_button.setChecked(False)
        self._set_enabled(bool(value))

    def value(self) -> str:
        return self.edit.text()

    @property
    def masked(self) -> bool:
        return self.edit.echoMode() == QLineEdit.EchoMode.Password

    def copy(self) -> None:
        if self.edit.text():
            self.clipboard.copy(self.edit.text())
            self.sig_copied.emit()

    def clear(self) -> None:
        self.edit.clear()
        self.reveal_button.setChecked(False)
        self._set_enabled(False)

    def _on_reveal(self, shown: bool) -> None:
        self.edit.setEchoMode(QLineEdit.EchoMode.Normal if shown else QLineEdit.EchoMode.Password)
        self.reveal_button.setText("Hide" if shown else "Reveal")

    def _set_enabled(self, enabled: bool) -> None:
        self.reveal_button.setEnabled(enabled)
        self.copy_button.setEnabled(enabled)
