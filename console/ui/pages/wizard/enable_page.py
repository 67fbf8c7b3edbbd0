"""Enable (seed step 1): one Idempotency-Key per intention; the token is shown once, masked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QHBoxLayout,
    QPushButton,
)

from console.core.errors import UserFacingError
from console.ui.pages.wizard.base import WizardPage
from console.ui.tasks import CancelToken
from console.ui.widgets.common import plain_label
from console.ui.widgets.secret_field import SecretField

if TYPE_CHECKING:
    from console.ui.pages.enable_wizard import EnableWizard


class EnablePage(WizardPage):
    def __init__(self, wizard: EnableWizard) -> None:
        super().__init__(wizard, "Enable SCIM", "Turns SCIM on and creates the first token. The token is "
                                                 f"shown once and kept in {wizard.services.token_location} "
                                                 "until delivered.")
        row = QHBoxLayout()
        self.enable_button = QPushButton("Enable SCIM")
        self.enable_button.clicked.connect(self.enable)
        row.addWidget(self.enable_button)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.layout_.addWidget(self.status)
        self.url_label = plain_label("SCIM endpoint (Tenant URL):")
        self.url = plain_label("", selectable=True, wrap=True)
        self.token_label = plain_label("Secret token:")
        self.token = SecretField(clipboard=wizard.clipboard)
        for widget in (self.url_label, self.url, self.token_label, self.token):
            widget.setVisible(False)
            self.layout_.addWidget(widget)
        self.layout_.addStretch(1)
        self.retry_key: str | None = None
        self.setCommitPage(True)  # once enabled there is no going back to "before"

    def enable(self) -> None:
        from console.services.scim_setup import EnableInterruptedError, enable_scim

        s, org_id, key = self.w.services, self.w.org_id, self.retry_key

        def _enable(_t: CancelToken) -> Any:
            with_client = s.api()
            return enable_scim(with_client, org_id, s.secrets, s.store.audit, operator=s.operator,
                               deliveries=s.deliveries, profile_id=s.profile_id, idempotency_key=key)

        def _failed(exc: BaseException) -> None:
            self.enable_button.setEnabled(True)
            if isinstance(exc, EnableInterruptedError):
                self.retry_key = exc.idempotency_key
                self.enable_button.setText("Try again")
            text = str(exc) if isinstance(exc, UserFacingError) else "Unexpected error; see the log."
            hint = getattr(exc, "hint", None)
            self.set_status(text + (f"\n{hint}" if hint else ""), error=True)

        self.enable_button.setEnabled(False)
        self.set_status("Enabling…")
        self.w.runner.run(_enable, self._on_enabled, on_failure=_failed, lane=org_id,
                          label=f"Enabling SCIM for {org_id}", parent=self)

    def _on_enabled(self, result: Any) -> None:
        self.w.result = result
        self.enable_button.setVisible(False)
        info = result.token_info
        stored = f"kept in {result.kept_in} until delivered" if result.pending else \
            "NOT kept (the keyring failed): copy it now"
        self.set_status(f"SCIM is enabled. Token …{info.last_four} (fingerprint {info.fingerprint}), "
                        f"{stored}.")
        self.url.setText(result.scim_base_url)
        self.token.set_value(result.token)
        for widget in (self.url_label, self.url, self.token_label, self.token):
            widget.setVisible(True)
        self.completeChanged.emit()
        self.w.sig_enabled.emit(result)

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.w.result is not None


