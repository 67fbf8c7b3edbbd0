"""Deliver the token securely: one-time link, age-encrypted file, or copy once — never in the ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLineEdit,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
)

from console.core.delivery import build_ticket_message
from console.core.errors import UserFacingError
from console.ui.pages.wizard.base import WizardPage
from console.ui.tasks import CancelToken
from console.ui.widgets.common import plain_label
from console.ui.widgets.secret_field import SecretField

if TYPE_CHECKING:
    from console.ui.pages.enable_wizard import EnableWizard


class DeliverPage(WizardPage):
    def __init__(self, wizard: EnableWizard) -> None:
        super().__init__(wizard, "Deliver", "Hand the token to the customer securely. The endpoint URL may "
                                             "go in the ticket; the token never does.")
        row = QHBoxLayout()
        self.link_button = QPushButton("Create one-time link")
        self.link_button.clicked.connect(self.create_link)
        self.copy_button = QPushButton("Copy token once")
        self.copy_button.clicked.connect(self.copy_once)
        self.age_button = QPushButton("Encrypted file (age)…")
        self.age_button.setCheckable(True)
        self.age_button.toggled.connect(lambda on: self.age_box.setVisible(on))
        row.addWidget(self.link_button)
        row.addWidget(self.copy_button)
        row.addWidget(self.age_button)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.age_box = QGroupBox("age-encrypted file")
        age = QVBoxLayout(self.age_box)
        age.addWidget(plain_label("The customer's age public key (age1…) or SSH public key. Leave it empty "
                                  "to encrypt to a generated passphrase that you give them by phone or "
                                  "text message.", wrap=True))
        age_row = QHBoxLayout()
        self.recipient = QLineEdit()
        self.recipient.setPlaceholderText("age1…  (empty: generated passphrase)")
        self.save_age_button = QPushButton("Save encrypted file…")
        self.save_age_button.clicked.connect(self.choose_age_path)
        age_row.addWidget(self.recipient, 1)
        age_row.addWidget(self.save_age_button)
        age.addLayout(age_row)
        self.passphrase_label = plain_label("Passphrase (say it by phone or text message; never in the "
                                            "ticket):")
        self.passphrase = SecretField(clipboard=wizard.clipboard)
        for widget in (self.passphrase_label, self.passphrase):
            widget.setVisible(False)
            age.addWidget(widget)
        self.age_box.setVisible(False)
        self.layout_.addWidget(self.age_box)
        self.layout_.addWidget(self.status)
        self.link_label = plain_label("One-time link (send it through a different channel than the ticket):")
        self.link = SecretField(clipboard=wizard.clipboard)
        self.link_label.setVisible(False)
        self.link.setVisible(False)
        self.layout_.addWidget(self.link_label)
        self.layout_.addWidget(self.link)
        self.confirm = QCheckBox("The customer has received the token (remove it from this computer)")
        self.confirm.setVisible(False)
        self.confirm.toggled.connect(self._on_confirm)
        self.layout_.addWidget(self.confirm)
        self.layout_.addWidget(plain_label("Ticket message:"))
        self.message = QPlainTextEdit()
        self.message.setReadOnly(True)
        self.message.setMinimumHeight(140)
        self.layout_.addWidget(self.message, 1)
        self.copy_message_button = QPushButton("Copy message")
        self.copy_message_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.message.toPlainText()))
        self.layout_.addWidget(self.copy_message_button, 0, Qt.AlignmentFlag.AlignRight)
        self.method: str | None = None
        self.link_info: Any = None
        self.age_delivery: Any = None

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        self._update_message("link")

    def _update_message(self, method: str) -> None:
        r = self.w.result
        self.message.setPlainText(build_ticket_message(
            org_name=self.w.org_name, scim_url=r.scim_base_url, method=method,
            token_last_four=r.token_info.last_four,
            link_expires_at=self.link_info.expires_at if self.link_info else None, token=r.token))

    def create_link(self) -> None:
        from console.services.scim_setup import create_delivery_link

        s, org_id, token_id = self.w.services, self.w.org_id, self.w.result.token_info.id

        def _link(_t: CancelToken) -> Any:
            return create_delivery_link(s.api(), org_id, token_id, s.secrets, s.store.audit,
                                        operator=s.operator, deliveries=s.deliveries, profile_id=s.profile_id)

        self.link_button.setEnabled(False)
        self.w.runner.run(_link, self._on_link, on_failure=self._on_failed, lane=org_id,
                          label="Creating a one-time link", parent=self)

    def _on_link(self, link: Any) -> None:
        self.link_info, self.method = link, "link"
        self.link.set_value(link.url or "")
        self.link_label.setVisible(True)
        self.link.setVisible(True)
        when = link.expires_at.strftime("%Y-%m-%d %H:%M UTC") if link.expires_at else "in 72 h"
        self.set_status(f"Link created; it works once and expires {when}. It is shown only now. The token "
                        "leaves this computer's keyring when the customer opens the link.")
        self._update_message("link")
        self.completeChanged.emit()

    def copy_once(self) -> None:
        self.w.clipboard.copy(self.w.result.token)
        self.copy_button.setEnabled(False)
        self.method = self.method or "copy"
        self.confirm.setVisible(True)
        self.set_status("Token copied (the clipboard clears itself in 45 s). Tick the box once the customer "
                        "has it.")
        if self.link_info is None:
            self._update_message("copy")
        self.completeChanged.emit()

    def choose_age_path(self) -> None:
        from console.services.token_files import DEFAULT_FILE_NAME

        path, _ = QFileDialog.getSaveFileName(self, "Save encrypted token", DEFAULT_FILE_NAME,
                                              "age files (*.age)")
        if path:
            self.save_age_file(path)

    def save_age_file(self, path: str) -> None:
        """Encrypt on a worker (a passphrase costs ~1 s of scrypt) and show the passphrase once."""
        from console.services.token_files import write_age_file

        s, org_id, token_id = self.w.services, self.w.org_id, self.w.result.token_info.id
        recipient = self.recipient.text().strip() or None

        def _write(_t: CancelToken) -> Any:
            return write_age_file(org_id, token_id, path, s.secrets, s.store.audit, operator=s.operator,
                                  deliveries=s.deliveries, recipient=recipient, profile_id=s.profile_id)

        self.save_age_button.setEnabled(False)
        self.set_status("Encrypting…")
        self.w.runner.run(_write, self._on_age_file, on_failure=self._on_failed, lane=org_id,
                          label="Encrypting the token", parent=self)

    def _on_age_file(self, delivery: Any) -> None:
        self.age_delivery = delivery
        self.save_age_button.setEnabled(True)
        self.method = delivery.method
        self.passphrase.set_value(delivery.passphrase or "")
        for widget in (self.passphrase_label, self.passphrase):
            widget.setVisible(delivery.passphrase is not None)
        self.confirm.setVisible(True)
        if delivery.passphrase:
            self.set_status(f"Saved {delivery.path.name}. Attach it to the ticket and give the passphrase by "
                            "phone or text message. Tick the box once the customer has opened it.")
        else:
            self.set_status(f"Saved {delivery.path.name}, encrypted to the customer's key. Attach it to the "
                            "ticket; tick the box once the customer has opened it.")
        self._update_message(delivery.method)
        self.completeChanged.emit()

    def _on_confirm(self, checked: bool) -> None:
        if not checked:
            return
        from console.services.scim_setup import confirm_delivered

        s, org_id, token_id = self.w.services, self.w.org_id, self.w.result.token_info.id
        self.confirm.setEnabled(False)
        method = self.method or "copy"
        self.w.runner.run(lambda _t: confirm_delivered(org_id, token_id, method, s.secrets, s.store.audit,
                                                       operator=s.operator, deliveries=s.deliveries,
                                                       profile_id=s.profile_id),
                          lambda _ids: self.set_status("Delivery confirmed; the token was removed from the "
                                                       "keyring."),
                          on_failure=self._on_failed, lane=org_id, label="Confirming delivery", parent=self)

    def _on_failed(self, exc: BaseException) -> None:
        self.link_button.setEnabled(self.link_info is None)
        self.save_age_button.setEnabled(True)
        self.set_status(str(exc) if isinstance(exc, UserFacingError) else "Unexpected error; see the log.",
                        error=True)

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.method is not None


