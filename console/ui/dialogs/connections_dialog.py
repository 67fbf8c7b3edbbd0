"""Connections: add, edit, remove and switch platform profiles.

The operator token is typed into a masked field and handed straight to ``ProfileService`` which
keeps it only in the SecretStore (OS keyring). It is never shown back: editing a profile leaves
the field empty ("leave empty to keep the saved token"). All profile reads/writes run through the
task runner (they touch the database and the keyring).
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.core.errors import UserFacingError
from console.core.models import Profile
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import plain_label, plain_tip

PROFILE_ROLE = Qt.ItemDataRole.UserRole + 1


class ConnectionsDialog(QDialog):
    """Signals:
    sig_profiles_loaded(list): the list shows these profiles.
    sig_profile_saved(Profile): a profile was added or edited.
    sig_profile_removed(str): this profile id was removed.
    sig_failed(str): an operation failed; the message is shown in the dialog.
    """

    sig_profiles_loaded = Signal(list)
    sig_profile_saved = Signal(object)
    sig_profile_removed = Signal(str)
    sig_failed = Signal(str)

    def __init__(self, profiles: Any, runner: TaskRunner, parent: QWidget | None = None,
                 *, active_id: str | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Connections")
        self.setMinimumWidth(640)
        self._profiles = profiles
        self._runner = runner
        self.active_id = active_id
        self.chosen: Profile | None = None
        self._build()
        self.reload()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        body = QHBoxLayout()
        left = QVBoxLayout()
        self.list = QListWidget()
        self.list.currentItemChanged.connect(self._on_selected)
        self.list.itemDoubleClicked.connect(lambda _item: self.use_selected())
        left.addWidget(self.list, 1)
        buttons = QHBoxLayout()
        self.new_button = QPushButton("&New")
        self.new_button.clicked.connect(self.new_profile)
        self.remove_button = QPushButton("&Remove")
        self.remove_button.clicked.connect(self.remove_selected)
        buttons.addWidget(self.new_button)
        buttons.addWidget(self.remove_button)
        left.addLayout(buttons)
        body.addLayout(left, 2)

        right = QVBoxLayout()
        form = QFormLayout()
        self.name = QLineEdit()
        self.url = QLineEdit()
        self.url.setPlaceholderText("https://platform.example.com/admin/v1")
        self.operator = QLineEdit()
        self.operator.setPlaceholderText("your name or e-mail (recorded in the audit trail)")
        self.token = QLineEdit()
        self.token.setEchoMode(QLineEdit.EchoMode.Password)
        self.token.setAttribute(Qt.WidgetAttribute.WA_InputMethodEnabled, False)
        form.addRow("&Name:", self.name)
        form.addRow("Admin API &URL:", self.url)
        form.addRow("&Operator:", self.operator)
        form.addRow("Operator &token:", self.token)
        right.addLayout(form)
        self.token_hint = plain_label("", role="muted", wrap=True)
        right.addWidget(self.token_hint)
        self.status = plain_label("", wrap=True)
        right.addWidget(self.status)
        right.addStretch(1)
        self.save_button = QPushButton("&Save")
        self.save_button.clicked.connect(self.save)
        right.addWidget(self.save_button, 0, Qt.AlignmentFlag.AlignRight)
        body.addLayout(right, 3)
        outer.addLayout(body)

        self.button_box = QDialogButtonBox()
        self.use_button = self.button_box.addButton("&Use this connection",
                                                    QDialogButtonBox.ButtonRole.AcceptRole)
        self.button_box.addButton(QDialogButtonBox.StandardButton.Close)
        self.button_box.accepted.connect(self.use_selected)
        self.button_box.rejected.connect(self.reject)
        outer.addWidget(self.button_box)
        self.new_profile()

    # ---- Public API

    @classmethod
    def ask(cls, profiles: Any, runner: TaskRunner, parent: QWidget | None = None,
            *, active_id: str | None = None) -> Profile | None:
        """Show the dialog; returns the profile to switch to, or ``None``."""
        dialog = cls(profiles, runner, parent, active_id=active_id)
        try:
            return dialog.chosen if dialog.exec() == QDialog.DialogCode.Accepted else None
        finally:
            dialog.deleteLater()

    def selected(self) -> Profile | None:
        item = self.list.currentItem()
        return item.data(PROFILE_ROLE) if item is not None else None

    def reload(self, select_id: str | None = None) -> None:
        profiles = self._profiles
        self._runner.run(lambda _t: profiles.list(), lambda items: self._on_loaded(items, select_id),
                         on_failure=self._on_failed, purpose="connections.list", parent=self)

    def new_profile(self) -> None:
        self.list.setCurrentItem(None)
        self.list.clearSelection()
        for edit in (self.name, self.url, self.operator, self.token):
            edit.clear()
        self.token.setPlaceholderText("paste the operator token")
        self.token_hint.setText("Stored only in the system keyring; never shown again.")
        self.remove_button.setEnabled(False)
        self.use_button.setEnabled(False)
        self.name.setFocus()

    def save(self) -> None:
        name, url = self.name.text().strip(), self.url.text().strip()
        operator, token = self.operator.text().strip(), self.token.text()
        current = self.selected()
        if not name or not url:
            self._show_status("Name and admin API URL are required.")
            return
        if current is None and not token.strip():
            self._show_status("Paste the operator token for this connection.")
            return
        profiles = self._profiles

        def _save(_t: CancelToken) -> Profile:
            if current is None:
                return profiles.add(name, url, token, operator=operator, make_active=False)
            return profiles.edit(current.id, operator_token=token or None, name=name, admin_url=url,
                                 operator=operator)

        self.token.clear()  # the widget does not keep it a moment longer than needed
        self.save_button.setEnabled(False)
        self._runner.run(_save, self._on_saved, on_failure=self._on_failed, label="Saving the connection",
                         parent=self)

    def remove_selected(self) -> None:
        profile = self.selected()
        if profile is None:
            return
        answer = QMessageBox.question(self, "Remove connection",
                                      f"Remove “{profile.name}” and its saved operator token?")
        if answer != QMessageBox.StandardButton.Yes:
            return
        self.remove_profile(profile)

    def remove_profile(self, profile: Profile) -> None:
        profiles = self._profiles
        self._runner.run(lambda _t: profiles.remove(profile.id), lambda _r: self._on_removed(profile.id),
                         on_failure=self._on_failed, parent=self)

    def use_selected(self) -> None:
        profile = self.selected()
        if profile is None:
            self._show_status("Select a saved connection first.")
            return
        self.chosen = profile
        self.accept()

    # ---- Slots

    def _on_loaded(self, items: list[Profile], select_id: str | None) -> None:
        self.list.clear()
        select = select_id or (self.selected().id if self.selected() else None)
        for profile in items:
            label = profile.name + ("  (active)" if profile.id == self.active_id else "")
            item = QListWidgetItem(label)
            item.setData(PROFILE_ROLE, profile)
            item.setToolTip(plain_tip(profile.admin_url) or "")
            self.list.addItem(item)
            if profile.id == select:
                self.list.setCurrentItem(item)
        self.sig_profiles_loaded.emit(items)

    def _on_selected(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        profile: Profile | None = current.data(PROFILE_ROLE) if current is not None else None
        if profile is None:
            return
        self.name.setText(profile.name)
        self.url.setText(profile.admin_url)
        self.operator.setText(profile.operator)
        self.token.clear()
        self.token.setPlaceholderText("saved — leave empty to keep it")
        self.token_hint.setText("The saved token is never shown. Paste a new one to replace it.")
        self.remove_button.setEnabled(True)
        self.use_button.setEnabled(True)
        self._show_status("")

    def _on_saved(self, profile: Profile) -> None:
        self.save_button.setEnabled(True)
        self._show_status(f"Saved “{profile.name}”.")
        self.sig_profile_saved.emit(profile)
        self.reload(select_id=profile.id)

    def _on_removed(self, profile_id: str) -> None:
        self._show_status("Connection removed.")
        self.sig_profile_removed.emit(profile_id)
        self.new_profile()
        self.reload()

    def _on_failed(self, exc: BaseException) -> None:
        self.save_button.setEnabled(True)
        if isinstance(exc, UserFacingError):
            hint = getattr(exc, "hint", None)
            text = f"{exc}\n{hint}" if hint else str(exc)
            self._show_status(text)
            self.sig_failed.emit(text)
            return
        from console.ui import errors

        self._show_status("Unexpected error; details are in the log.")
        self.sig_failed.emit("unexpected")
        errors.show_error(self, exc)

    def _show_status(self, text: str) -> None:
        self.status.setText(text)
