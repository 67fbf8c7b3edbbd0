"""Deliver the token securely: one-time link, age-encrypted file, or copy once — never in the ticket."""

from __future__ import annotations

from typing import TYPE_CHECKING

from console.ui.pages.wizard.base import WizardPage
from console.ui.widgets.delivery_panel import DeliveryPanel, DeliveryTarget

if TYPE_CHECKING:
    from console.ui.pages.enable_wizard import EnableWizard


class DeliverPage(WizardPage):
    """The wizard's page around a DeliveryPanel; complete once a delivery was made."""

    def __init__(self, wizard: EnableWizard) -> None:
        super().__init__(wizard, "Deliver", "Hand the token to the customer securely. The endpoint URL may "
                                             "go in the ticket; the token never does.")
        self.panel = DeliveryPanel(wizard.services, wizard.runner, wizard.clipboard)
        self.panel.sig_method_chosen.connect(lambda _m: self.completeChanged.emit())
        self.layout_.addWidget(self.panel, 1)

    @property
    def method(self) -> str | None:
        return self.panel.method

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        r = self.w.result
        self.panel.set_target(DeliveryTarget(self.w.org_id, self.w.org_name, r.scim_base_url, r.token_info,
                                             r.token))

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.panel.method is not None
