"""Done: the summary and the customer's setup guide (HTML + PDF, never the token)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QBuffer, QIODevice
from PySide6.QtGui import QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QPushButton,
)

from console.ui.pages.wizard.base import WizardPage
from console.ui.tasks import CancelToken
from console.ui.widgets.common import plain_label

if TYPE_CHECKING:
    from console.ui.pages.enable_wizard import EnableWizard


def render_pdf(html: str, *, title: str) -> bytes:
    """A4 PDF of ``html`` (Qt's rich-text subset), rendered into memory."""
    doc = QTextDocument()
    doc.setHtml(html)
    buffer = QBuffer()
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setTitle(title)
    writer.setCreator("SCIM Support Console")
    doc.print_(writer)
    del writer  # finishes the PDF
    data = bytes(buffer.data().data())
    buffer.close()
    return data



class DonePage(WizardPage):
    def __init__(self, wizard: EnableWizard) -> None:
        super().__init__(wizard, "Done", "What happened, and what the customer does next.")
        self.summary = plain_label("", wrap=True, selectable=True)
        self.layout_.addWidget(self.summary)
        row = QHBoxLayout()
        self.guide_button = QPushButton("Save customer setup guide (HTML + PDF)…")
        self.guide_button.clicked.connect(self.choose_guide_path)
        row.addWidget(self.guide_button)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.layout_.addWidget(self.status)
        self.layout_.addStretch(1)
        self.saved: list[str] = []

    def choose_guide_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Save setup guide", f"scim-setup-{self.w.org_id}.html",
                                              "HTML (*.html)")
        if path:
            self.save_guide(path)

    def save_guide(self, html_path: str) -> None:
        """Render the guide (GUI thread: QTextDocument → PDF bytes in memory), write both files on a
        worker."""
        import datetime as dt
        from pathlib import Path

        from console.core.customer_guide import build_guide_html

        r = self.w.result
        html = build_guide_html(org_name=self.w.org_name, scim_url=r.scim_base_url,
                                generated_at=dt.datetime.now(dt.UTC), token=r.token)
        pdf = render_pdf(html, title=f"SCIM setup guide — {self.w.org_name}")
        target = Path(html_path)
        pdf_path = target.with_suffix(".pdf")

        def _write(_t: CancelToken) -> list[str]:
            target.write_text(html, encoding="utf-8")
            pdf_path.write_bytes(pdf)
            return [str(target), str(pdf_path)]

        def _done(paths: list[str]) -> None:
            self.saved = paths
            self.set_status("Saved " + " and ".join(paths))

        self.w.runner.run(_write, _done, on_failure=lambda exc: self.set_status(str(exc), error=True),
                          label="Saving the setup guide", parent=self)

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        r, deliver = self.w.result, self.w.deliver_page
        how = {"link": "one-time link (the keyring copy is removed once the customer opens it, or after "
                       "72 h)",
               "copy": "copied once",
               "age-file": "age-encrypted file to the customer's public key",
               "age-passphrase": "age-encrypted file + passphrase by a second channel",
               }.get(deliver.method or "", "not yet delivered")
        test = self.w.test_page.outcome
        self.summary.setText(
            f"SCIM is enabled for {self.w.org_name}.\n\n"
            f"Endpoint: {r.scim_base_url}\n"
            f"Token: …{r.token_info.last_four} (id {r.token_info.id}, "
            f"fingerprint {r.token_info.fingerprint})\n"
            f"Test connection: {'passed' if test and test.ok else 'not passed'}\n"
            f"Delivery: {how}\n\n"
            "Next, the customer follows steps 5–15 of the setup guide in Entra (Provisioning → Automatic, "
            "paste the Tenant URL and Secret Token, Test Connection, Save, Provisioning Status On). "
            "The audit trail has the token id, last four and fingerprint — never the token.")


