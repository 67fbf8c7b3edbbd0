"""Hand one SCIM token to the customer securely (issue 4 §4; desktop-stack §5.3).

Used by the wizard's Deliver page and, for a rotated token or one whose wizard was closed before
delivery, by the org page's Deliver dialog. Three ways, none through the ticket:

* a **one-time link** on the platform (single view, expiry); the link is itself a secret: shown
  once, masked, never stored — the token leaves the keyring when the customer opens it;
* an **age-encrypted file** to the customer's public key, or to a generated passphrase given by
  phone or text message;
* **copy once** (sensitive clipboard, cleared after 45 s).

The ticket message next to them carries the endpoint URL and instructions, never the token.
Platform and disk work runs on the TaskRunner; the panel only shows and dispatches.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import Qt, Signal
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
    QWidget,
)

from console.core.delivery import build_ticket_message
from console.core.errors import UserFacingError
from console.core.models import TokenInfo
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import plain_label, set_status
from console.ui.widgets.secret_field import SecretField


@dataclass(frozen=True)
class DeliveryTarget:
    """The token to deliver and where it is used; ``token`` is held in memory only while shown."""

    org_id: str
    org_name: str
    scim_base_url: str
    token_info: TokenInfo
    token: str = field(repr=False)


class DeliveryPanel(QWidget):
    """Signals: sig_method_chosen(str): a delivery was made ("link", "copy", "age-file", …);
    sig_confirmed(): the operator confirmed receipt and the keyring copy was removed."""

    sig_method_chosen = Signal(str)
    sig_confirmed = Signal()

    def __init__(self, services: Any, runner: TaskRunner, clipboard: Any,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services, self.runner, self.clipboard = services, runner, clipboard
        self.target: DeliveryTarget | None = None
        self.method: str | None = None
        self.link_info: Any = None
        self.age_delivery: Any = None
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        row = QHBoxLayout()
        self.link_button = QPushButton("Create one-time link")
        self.link_button.clicked.connect(self.create_link)
        self.copy_button = QPushButton("Copy token once")
        self.copy_button.clicked.connect(self.copy_once)
        self.age_button = QPushButton("Encrypted file (age)…")
        self.age_button.setCheckable(True)
        self.age_button.toggled.connect(lambda on: self.age_box.setVisible(on))
        for button in (self.link_button, self.copy_button, self.age_button):
            row.addWidget(button)
        row.addStretch(1)
        layout.addLayout(row)
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
        self.passphrase = SecretField(clipboard=clipboard)
        for widget in (self.passphrase_label, self.passphrase):
            widget.setVisible(False)
            age.addWidget(widget)
        self.age_box.setVisible(False)
        layout.addWidget(self.age_box)
        self.status = plain_label("", wrap=True, role="muted")
        layout.addWidget(self.status)
        self.link_label = plain_label("One-time link (send it through a different channel than the ticket):")
        self.link = SecretField(clipboard=clipboard)
        for widget in (self.link_label, self.link):
            widget.setVisible(False)
            layout.addWidget(widget)
        self.confirm = QCheckBox("The customer has received the token (remove it from this computer)")
        self.confirm.setVisible(False)
        self.confirm.toggled.connect(self._on_confirm)
        layout.addWidget(self.confirm)
        layout.addWidget(plain_label("Ticket message:"))
        self.message = QPlainTextEdit()
        self.message.setReadOnly(True)
        self.message.setMinimumHeight(140)
        layout.addWidget(self.message, 1)
        self.copy_message_button = QPushButton("Copy message")
        self.copy_message_button.clicked.connect(
            lambda: QGuiApplication.clipboard().setText(self.message.toPlainText()))
        layout.addWidget(self.copy_message_button, 0, Qt.AlignmentFlag.AlignRight)

    # ---- public
    def set_target(self, target: DeliveryTarget) -> None:
        self.target = target
        self._update_message(self.method or "link")

    def forget(self) -> None:
        """Drop the secrets shown here (the keyring keeps an undelivered token)."""
        self.link.clear()
        self.passphrase.clear()
        self.target = None

    def set_status(self, text: str, *, error: bool = False) -> None:
        set_status(self.status, text, error=error)

    # ---- the three ways
    def _ids(self) -> tuple[Any, str, str]:
        assert self.target is not None
        return self.services, self.target.org_id, self.target.token_info.id

    def _update_message(self, method: str) -> None:
        t = self.target
        if t is None:
            return
        self.message.setPlainText(build_ticket_message(
            org_name=t.org_name, scim_url=t.scim_base_url, method=method,
            token_last_four=t.token_info.last_four,
            link_expires_at=self.link_info.expires_at if self.link_info else None, token=t.token))

    def create_link(self) -> None:
        from console.services.scim_setup import create_delivery_link

        s, org_id, token_id = self._ids()

        def _link(_t: CancelToken) -> Any:
            return create_delivery_link(s.api(), org_id, token_id, s.secrets, s.store.audit,
                                        operator=s.operator, deliveries=s.deliveries, profile_id=s.profile_id)

        self.link_button.setEnabled(False)
        self.runner.run(_link, self._on_link, on_failure=self._on_failed, lane=org_id,
                        label="Creating a one-time link", parent=self)

    def _on_link(self, link: Any) -> None:
        self.link_info = link
        self._chosen("link")
        self.link.set_value(link.url or "")
        self.link_label.setVisible(True)
        self.link.setVisible(True)
        when = link.expires_at.strftime("%Y-%m-%d %H:%M UTC") if link.expires_at else "in 72 h"
        self.set_status(f"Link created; it works once and expires {when}. It is shown only now. The token "
                        "leaves this computer's keyring when the customer opens the link.")

    def copy_once(self) -> None:
        assert self.target is not None
        self.clipboard.copy(self.target.token)
        self.copy_button.setEnabled(False)
        self.confirm.setVisible(True)
        self.set_status("Token copied (the clipboard clears itself in 45 s). Tick the box once the customer "
                        "has it.")
        self._chosen(self.method or "copy")

    def choose_age_path(self) -> None:
        from console.services.token_files import DEFAULT_FILE_NAME

        path, _ = QFileDialog.getSaveFileName(self, "Save encrypted token", DEFAULT_FILE_NAME,
                                              "age files (*.age)")
        if path:
            self.save_age_file(path)

    def save_age_file(self, path: str) -> None:
        """Encrypt on a worker (a passphrase costs ~1 s of scrypt) and show the passphrase once."""
        from console.services.token_files import write_age_file

        s, org_id, token_id = self._ids()
        recipient = self.recipient.text().strip() or None

        def _write(_t: CancelToken) -> Any:
            return write_age_file(org_id, token_id, path, s.secrets, s.store.audit, operator=s.operator,
                                  deliveries=s.deliveries, client=s.api(), recipient=recipient,
                                  profile_id=s.profile_id)

        self.save_age_button.setEnabled(False)
        self.set_status("Encrypting…")
        self.runner.run(_write, self._on_age_file, on_failure=self._on_failed, lane=org_id,
                        label="Encrypting the token", parent=self)

    def _on_age_file(self, delivery: Any) -> None:
        self.age_delivery = delivery
        self.save_age_button.setEnabled(True)
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
        self._chosen(delivery.method)

    def _chosen(self, method: str) -> None:
        self.method = method
        self._update_message(method)
        self.sig_method_chosen.emit(method)

    def _on_confirm(self, checked: bool) -> None:
        if not checked:
            return
        from console.services.scim_setup import confirm_delivered

        s, org_id, token_id = self._ids()
        self.confirm.setEnabled(False)
        method = self.method or "copy"

        def _done(_ids: Any) -> None:
            self.set_status("Delivery confirmed; the token was removed from the keyring.")
            self.sig_confirmed.emit()

        self.runner.run(lambda _t: confirm_delivered(org_id, token_id, method, s.secrets, s.store.audit,
                                                     operator=s.operator, deliveries=s.deliveries,
                                                     profile_id=s.profile_id),
                        _done, on_failure=self._on_failed, lane=org_id, label="Confirming delivery",
                        parent=self)

    def _on_failed(self, exc: BaseException) -> None:
        self.link_button.setEnabled(self.link_info is None)
        self.save_age_button.setEnabled(True)
        self.confirm.setEnabled(True)
        self.set_status(str(exc) if isinstance(exc, UserFacingError) else "Unexpected error; see the log.",
                        error=True)
