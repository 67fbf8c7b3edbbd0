"""The guided "Enable SCIM" flow (issue 4): Readiness → Enable → Test connection → Deliver → Done.

Every platform call runs through ``TaskRunner`` on the org's lane; worker functions capture plain
values only (never widgets). The token lives in this wizard's memory while it is open (for the
masked field and the Test) and in the OS keyring until delivered; it is never logged, put in a
label, a ticket message or the audit trail. The one-time link URL is a secret too: shown once,
masked, never stored.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QWidget, QWizard

from console.ui.pages.wizard.base import SetupServices, services_from_ctx
from console.ui.pages.wizard.deliver_page import DeliverPage
from console.ui.pages.wizard.done_page import DonePage, render_pdf
from console.ui.pages.wizard.enable_page import EnablePage
from console.ui.pages.wizard.readiness_page import ReadinessPage
from console.ui.pages.wizard.test_page import TestPage
from console.ui.tasks import TaskRunner

__all__ = ["EnableWizard", "SetupServices", "render_pdf", "services_from_ctx"]


class EnableWizard(QWizard):
    """Signals: sig_enabled(MintResult): SCIM was enabled (the org page refreshes)."""

    sig_enabled = Signal(object)

    def __init__(self, org_id: str, org_name: str, services: SetupServices, runner: TaskRunner,
                 parent: QWidget | None = None, *, clipboard: Any = None) -> None:
        super().__init__(parent)
        from console.ui.clipboard import SensitiveClipboard

        self.setWindowTitle(f"Enable SCIM — {org_name}")
        self.setWizardStyle(QWizard.WizardStyle.ClassicStyle)
        self.setOption(QWizard.WizardOption.NoBackButtonOnLastPage, True)
        self.setOption(QWizard.WizardOption.NoCancelButtonOnLastPage, True)
        self.org_id, self.org_name = org_id, org_name
        self.services, self.runner = services, runner
        self.clipboard = clipboard or SensitiveClipboard.instance()
        self.result: Any = None
        self.readiness_page = ReadinessPage(self)
        self.enable_page = EnablePage(self)
        self.test_page = TestPage(self)
        self.deliver_page = DeliverPage(self)
        self.done_page = DonePage(self)
        for page in (self.readiness_page, self.enable_page, self.test_page, self.deliver_page,
                     self.done_page):
            self.addPage(page)
        self.setButtonText(QWizard.WizardButton.CommitButton, "Next >")
        self.resize(820, 660)
        self.finished.connect(self._forget)

    def _forget(self, _code: int = 0) -> None:
        """Drop the secrets this window holds (the keyring keeps the undelivered token)."""
        self.enable_page.token.clear()
        self.deliver_page.panel.forget()
        self.clipboard.clear_if_ours()
