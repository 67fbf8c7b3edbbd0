"""The guided "Enable SCIM" flow (issue 4): Readiness → Enable → Test connection → Deliver → Done.

Every platform call runs through ``TaskRunner`` on the org's lane; worker functions capture plain
values only (never widgets). The token lives in this wizard's memory while it is open (for the
masked field and the Test) and in the OS keyring until delivered; it is never logged, put in a
label, a ticket message or the audit trail. The one-time link URL is a secret too: shown once,
masked, never stored.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from PySide6.QtCore import QBuffer, QIODevice, Qt, Signal
from PySide6.QtGui import QGuiApplication, QPageSize, QPdfWriter, QTextDocument
from PySide6.QtWidgets import (
    QCheckBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
    QWizard,
    QWizardPage,
)

from console.core.delivery import build_ticket_message
from console.core.errors import UserFacingError
from console.core.readiness import AMBER, RED, Check, blocking
from console.services.org_setup import create_default_template, load_readiness
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import plain_label
from console.ui.widgets.readiness_view import LEVEL_COLOR, ReadinessView
from console.ui.widgets.secret_field import SecretField

CONFORMANCE_COLUMNS = ("Group", "Check", "Result", "Detail")
PREDICTION_COLUMNS = ("Entra userPrincipalName", "Prediction", "Existing account", "Fix")


@dataclass
class SetupServices:
    """What the flow needs besides the runner: plain collaborators, all usable from workers."""

    api: Callable[[], Any]      # -> AdminApiClient
    secrets: Any                # SecretStore
    store: Any                  # Store (audit trail + engine)
    operator: str
    profile_id: str | None = None

    @property
    def deliveries(self) -> Any:
        from console.services.pending_deliveries import PendingDeliveries

        return PendingDeliveries(self.store.engine)


def services_from_ctx(ctx: Any) -> SetupServices:
    """Build from the AppContext once the keyring/store have opened."""
    profiles = ctx.profiles
    if profiles is None:
        raise UserFacingError("The keyring and the local database are still opening.")
    profile = ctx.connection.profile
    return SetupServices(api=ctx.connection.api, secrets=profiles.secrets, store=profiles.store,
                         operator=(profile.operator if profile else "") or "unknown",
                         profile_id=profile.id if profile else None)


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


class _Page(QWizardPage):
    def __init__(self, wizard: EnableWizard, title: str, subtitle: str) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.layout_ = QVBoxLayout(self)
        self.status = plain_label("", wrap=True, role="muted")
        self.status.setObjectName("status")

    def set_status(self, text: str, *, error: bool = False) -> None:
        self.status.setText(text)
        self.status.setStyleSheet(f"color: {LEVEL_COLOR[RED]};" if error else "")


class ReadinessPage(_Page):
    def __init__(self, wizard: EnableWizard) -> None:
        super().__init__(wizard, "Readiness", "Checks before switching this organisation to SCIM "
                                               "(customer guide steps 2–4).")
        self.checks: list[Check] | None = None
        self.view = ReadinessView()
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setFrameShape(QScrollArea.Shape.NoFrame)
        scroll.setWidget(self.view)
        self.layout_.addWidget(scroll, 2)
        buttons = QHBoxLayout()
        self.fix_button = QPushButton("Create “All users” template")
        self.fix_button.setVisible(False)
        self.fix_button.clicked.connect(self.create_template)
        self.templates_button = QPushButton("Templates…")
        self.templates_button.setToolTip("List, create and edit this organisation's New User Templates")
        self.templates_button.clicked.connect(self.open_templates)
        self.recheck_button = QPushButton("Check again")
        self.recheck_button.clicked.connect(self.run_checks)
        self.export_button = QPushButton("Predict duplicates from Entra export…")
        self.export_button.setToolTip("Load the CSV from Entra admin centre → Users → Download users")
        self.export_button.clicked.connect(self.choose_export)
        buttons.addWidget(self.fix_button)
        buttons.addWidget(self.templates_button)
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.recheck_button)
        self.layout_.addLayout(buttons)
        self.layout_.addWidget(self.status)
        self.prediction_summary = plain_label("", wrap=True)
        self.prediction_table = QTableWidget(0, len(PREDICTION_COLUMNS))
        self.prediction_table.setHorizontalHeaderLabels(PREDICTION_COLUMNS)
        self.prediction_table.verticalHeader().setVisible(False)
        self.prediction_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.prediction_table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.prediction_table.horizontalHeader().setStretchLastSection(True)
        self.prediction_table.setVisible(False)
        self.layout_.addWidget(self.prediction_summary)
        self.layout_.addWidget(self.prediction_table, 1)
        self.predictions: list[Any] | None = None
        self.templates_dialog: Any = None

    def initializePage(self) -> None:  # noqa: N802 - Qt override
        if self.checks is None:
            self.run_checks()

    def run_checks(self) -> None:
        api, org_id = self.w.services.api, self.w.org_id
        self.recheck_button.setEnabled(False)
        self.set_status("Checking templates and users…")
        self.w.runner.run(lambda t: load_readiness(api(), org_id, progress=t.progress), self._on_checks,
                          on_failure=self._on_failed,
                          lane=org_id, purpose=f"enable.readiness.{org_id}", label="Checking readiness",
                          parent=self)

    def open_templates(self) -> None:
        from console.ui.dialogs.templates_dialog import TemplatesDialog

        self.templates_dialog = TemplatesDialog(self.w.org_id, self.w.services.api, self.w.runner, self)
        self.templates_dialog.sig_changed.connect(lambda _t: self.run_checks())
        self.templates_dialog.open()

    def create_template(self) -> None:
        api, org_id = self.w.services.api, self.w.org_id

        def _create(t: CancelToken) -> list[Check]:
            create_default_template(api(), org_id)
            return load_readiness(api(), org_id, progress=t.progress)

        self.fix_button.setEnabled(False)
        self.w.runner.run(_create, self._on_checks, on_failure=self._on_failed, lane=org_id,
                          label="Creating template", parent=self)

    def choose_export(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Entra users export", "",
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.load_export(path)

    def load_export(self, path: str) -> None:
        """Read and parse the export and list the org's users on a worker; predict."""
        from console.core.preflight import MAX_BYTES, parse_entra_users_csv, predict

        api, org_id = self.w.services.api, self.w.org_id

        def _predict(_t: CancelToken) -> tuple[list[Any], list[str]]:
            with open(path, "rb") as fh:
                data = fh.read(MAX_BYTES + 1)
            entra, warnings = parse_entra_users_csv(data)
            return predict(entra, list(api().iter_users(org_id))), warnings

        self.export_button.setEnabled(False)
        self.prediction_summary.setText("Predicting…")
        self.w.runner.run(_predict, self._on_predicted, on_failure=self._on_predict_failed, lane=org_id,
                          label="Predicting duplicates", parent=self)

    def _on_predicted(self, result: tuple[list[Any], list[str]]) -> None:
        from console.core.preflight import DUPLICATE, MATCH, NEW, counts

        predictions, warnings = result
        self.predictions = predictions
        self.export_button.setEnabled(True)
        c = counts(predictions)
        text = (f"Entra's default matching (userName ← userPrincipalName): {c[MATCH]} will match an existing "
                f"account, {c[NEW]} will be created new, {c[DUPLICATE]} will become duplicates.")
        if warnings:
            text += f" {len(warnings)} row(s) skipped ({warnings[0]}…)."
        self.prediction_summary.setText(text)
        order = {DUPLICATE: 0, NEW: 1, MATCH: 2}
        rows = sorted(predictions, key=lambda p: (order[p.outcome], p.user.upn.casefold()))
        self.prediction_table.setRowCount(len(rows))
        for r, p in enumerate(rows):
            for col, value in enumerate((p.user.upn, p.outcome, p.platform_user_name or "—", p.fix or "—")):
                item = QTableWidgetItem(value)  # plain text: imported data is never rendered as HTML
                item.setToolTip(value)
                self.prediction_table.setItem(r, col, item)
        self.prediction_table.setVisible(bool(rows))

    def _on_predict_failed(self, exc: BaseException) -> None:
        self.export_button.setEnabled(True)
        self.prediction_summary.setText(str(exc) if isinstance(exc, (UserFacingError, ValueError, OSError))
                                        else "Could not read the export (unexpected error; see the log).")

    def _on_checks(self, checks: list[Check]) -> None:
        self.checks = checks
        self.recheck_button.setEnabled(True)
        self.view.set_checks(checks)
        red = blocking(checks)
        self.fix_button.setVisible(any(c.fix_action in ("create_template", "edit_template") for c in red))
        self.fix_button.setEnabled(True)
        if red:
            self.set_status("Fix the blocking item before enabling SCIM.", error=True)
        elif any(c.level == AMBER for c in checks):
            self.set_status("Ready. Review the amber items with the customer, they can cause duplicate "
                            "accounts: fix the platform email, clear the IdP link or merge on the "
                            "Reconciliation page.")
        else:
            self.set_status("Ready for SCIM.")
        self.completeChanged.emit()

    def _on_failed(self, exc: BaseException) -> None:
        self.recheck_button.setEnabled(True)
        self.fix_button.setEnabled(True)
        self.set_status(f"Could not check: {exc}" if isinstance(exc, UserFacingError)
                        else "Could not check (unexpected error; see the log).", error=True)

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.checks is not None and not blocking(self.checks)


class EnablePage(_Page):
    def __init__(self, wizard: EnableWizard) -> None:
        super().__init__(wizard, "Enable SCIM", "Turns SCIM on and creates the first token. The token is "
                                                 "shown once and kept in the OS keyring until delivered.")
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
        stored = "kept in the OS keyring until delivered" if result.pending else \
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


class TestPage(_Page):
    def __init__(self, wizard: EnableWizard) -> None:
        super().__init__(wizard, "Test connection", "Sends the requests Microsoft Entra sends for “Test "
                                                     "Connection” (customer guide step 12).")
        row = QHBoxLayout()
        self.test_button = QPushButton("Test connection")
        self.test_button.clicked.connect(self.run_test)
        row.addWidget(self.test_button)
        row.addStretch(1)
        self.layout_.addLayout(row)
        self.layout_.addWidget(self.status)
        self.details = plain_label("", wrap=True, selectable=True)
        self.layout_.addWidget(self.details)
        deep = QGroupBox("Deep conformance check (optional)")
        deep_layout = QVBoxLayout(deep)
        deep_layout.addWidget(plain_label(
            "Sends the requests of a first Entra provisioning cycle (both PATCH dialects, the filters Entra "
            "uses, groups, manager, a user without mail …) and checks their effect. It creates and then "
            "deletes test users and a group named scim-console-check-… in this organisation.", wrap=True,
            role="muted"))
        deep_row = QHBoxLayout()
        self.deep_button = QPushButton("Run deep check")
        self.deep_button.clicked.connect(self.run_deep_check)
        self.rfc_box = QCheckBox("Include RFC checks (scim2-tester)")
        self.rfc_box.setChecked(True)
        self.deep_progress = QProgressBar()
        self.deep_progress.setVisible(False)
        self.deep_cancel = QPushButton("Cancel")
        self.deep_cancel.setVisible(False)
        self.deep_cancel.clicked.connect(self.cancel_deep_check)
        deep_row.addWidget(self.deep_button)
        deep_row.addWidget(self.rfc_box)
        deep_row.addWidget(self.deep_progress, 3)
        deep_row.addStretch(1)
        deep_row.addWidget(self.deep_cancel)
        deep_layout.addLayout(deep_row)
        self.deep_summary = plain_label("", wrap=True)
        deep_layout.addWidget(self.deep_summary)
        self.deep_table = QTableWidget(0, len(CONFORMANCE_COLUMNS))
        self.deep_table.setHorizontalHeaderLabels(CONFORMANCE_COLUMNS)
        self.deep_table.verticalHeader().setVisible(False)
        self.deep_table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.deep_table.horizontalHeader().setStretchLastSection(True)
        self.deep_table.setColumnWidth(0, 130)
        self.deep_table.setColumnWidth(1, 220)
        self.deep_table.setColumnWidth(2, 70)
        self.deep_table.setVisible(False)
        deep_layout.addWidget(self.deep_table, 1)
        self.layout_.addWidget(deep, 1)
        self.outcome: Any = None
        self.report: Any = None
        self._deep_job: Any = None

    def run_test(self, *, token: str | None = None) -> None:
        from console.services.connection_test import run_connection_test

        result = self.w.result
        url, value = result.scim_base_url, token or result.token
        self.test_button.setEnabled(False)
        self.set_status("Testing…")
        self.w.runner.run(lambda _t: run_connection_test(url, value), self._on_tested,
                          on_failure=self._on_failed, label="Testing the SCIM endpoint", parent=self)

    def _on_tested(self, outcome: Any) -> None:
        self.outcome = outcome
        self.test_button.setEnabled(True)
        self.set_status(outcome.message, error=not outcome.ok)
        self.details.setText("\n".join(
            f"{'✔' if p.ok else '✖'} GET {p.path} → {p.status or 'no answer'}" for p in outcome.probes))
        self.completeChanged.emit()

    def _on_failed(self, exc: BaseException) -> None:
        self.test_button.setEnabled(True)
        self.set_status(str(exc), error=True)

    def run_deep_check(self) -> None:
        from console.services.conformance import run_conformance

        result, rfc = self.w.result, self.rfc_box.isChecked()
        url, value = result.scim_base_url, result.token

        def _check(t: CancelToken) -> Any:
            return run_conformance(url, value, with_scim2_tester=rfc, progress=t.progress,
                                   cancelled=t.cancelled)

        self.deep_button.setEnabled(False)
        self.deep_progress.setRange(0, 0)
        self.deep_progress.setVisible(True)
        self.deep_cancel.setVisible(True)
        self.deep_cancel.setEnabled(True)
        self.deep_summary.setText("Checking…")
        self.w.runner.sig_progress_changed.connect(self._on_deep_progress)
        self.w.runner.sig_task_dropped.connect(self._on_dropped)
        self._deep_job = self.w.runner.run(_check, self._on_deep_done, on_failure=self._on_deep_failed,
                                           label="Deep conformance check", parent=self)

    def cancel_deep_check(self) -> None:
        if self._deep_job is not None:
            self._deep_job.cancel()
            self.deep_cancel.setEnabled(False)
            self.deep_summary.setText("Cancelling after the current check (test resources are deleted)…")

    def _on_dropped(self, job: Any) -> None:
        """The runner drops a cancelled op's outcome; the check cleaned up before it stopped."""
        if job is self._deep_job:
            self._deep_finished()
            self.deep_summary.setText("Cancelled. The test resources created so far were deleted.")

    def _on_deep_progress(self, text: str, done: int, total: int) -> None:
        if total:
            self.deep_progress.setRange(0, total)
            self.deep_progress.setValue(done)
        self.deep_summary.setText(f"{text}…")

    def _deep_finished(self) -> None:
        self._deep_job = None
        self.w.runner.sig_progress_changed.disconnect(self._on_deep_progress)
        self.w.runner.sig_task_dropped.disconnect(self._on_dropped)
        self.deep_button.setEnabled(True)
        self.deep_progress.setVisible(False)
        self.deep_cancel.setVisible(False)

    def _on_deep_done(self, report: Any) -> None:
        self._deep_finished()
        self.report = report
        self.deep_summary.setText(("✔ " if report.ok else "✖ ") + report.summary())
        self.deep_summary.setStyleSheet("" if report.ok else f"color: {LEVEL_COLOR[RED]};")
        order = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}
        rows = sorted(report.checks, key=lambda c: order.get(c.status, 9))
        self.deep_table.setRowCount(len(rows))
        for r, check in enumerate(rows):
            mark = {"pass": "✔ pass", "fail": "✖ fail", "warn": "▲ warn"}.get(check.status, check.status)
            for c, value in enumerate((check.group, check.name, mark, check.detail)):
                item = QTableWidgetItem(value)  # endpoint answers are plain text, never rich text
                item.setToolTip(html.escape(value))
                self.deep_table.setItem(r, c, item)
        self.deep_table.setVisible(True)

    def _on_deep_failed(self, exc: BaseException) -> None:
        self._deep_finished()
        self.deep_summary.setText(str(exc) if isinstance(exc, UserFacingError)
                                  else "The check failed unexpectedly; see the log.")

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.outcome is not None


class DeliverPage(_Page):
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


class DonePage(_Page):
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
        self.deliver_page.link.clear()
        self.deliver_page.passphrase.clear()
        self.clipboard.clear_if_ours()
