"""Test connection (seed step 12) the way Entra does, plus the optional deep conformance check."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QCheckBox,
    QGroupBox,
    QHBoxLayout,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from console.core.errors import UserFacingError
from console.ui.pages.wizard.base import WizardPage
from console.ui.tasks import CancelToken
from console.ui.widgets.common import plain_label, plain_tip, set_status

if TYPE_CHECKING:
    from console.ui.pages.enable_wizard import EnableWizard


CONFORMANCE_COLUMNS = ("Group", "Check", "Result", "Detail")


class TestPage(WizardPage):
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
        self._deep_job = self.w.runner.run(_check, self._on_deep_done, on_failure=self._on_deep_failed,
                                           on_progress=self._on_deep_progress, on_dropped=self._on_dropped,
                                           label="Deep conformance check", parent=self)

    def cancel_deep_check(self) -> None:
        if self._deep_job is not None:
            self._deep_job.cancel()
            self.deep_cancel.setEnabled(False)
            self.deep_summary.setText("Cancelling after the current check (test resources are deleted)…")

    def _on_dropped(self, job: Any) -> None:
        """The runner drops a cancelled op's outcome; the check cleaned up before it stopped."""
        if job is not self._deep_job:
            return
        self._deep_finished()
        self.deep_summary.setText("Cancelled. The test resources created so far were deleted.")

    def _on_deep_progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.deep_progress.setRange(0, total)
            self.deep_progress.setValue(done)
        self.deep_summary.setText(f"{text}…")

    def _deep_finished(self) -> None:
        self._deep_job = None
        self.deep_button.setEnabled(True)
        self.deep_progress.setVisible(False)
        self.deep_cancel.setVisible(False)

    def _on_deep_done(self, report: Any) -> None:
        self._deep_finished()
        self.report = report
        set_status(self.deep_summary, ("✔ " if report.ok else "✖ ") + report.summary(), error=not report.ok)
        order = {"fail": 0, "warn": 1, "skip": 2, "pass": 3}
        rows = sorted(report.checks, key=lambda c: order.get(c.status, 9))
        self.deep_table.setRowCount(len(rows))
        for r, check in enumerate(rows):
            mark = {"pass": "✔ pass", "fail": "✖ fail", "warn": "▲ warn"}.get(check.status, check.status)
            for c, value in enumerate((check.group, check.name, mark, check.detail)):
                item = QTableWidgetItem(value)  # endpoint answers are plain text, never rich text
                item.setToolTip(plain_tip(value) or "")
                self.deep_table.setItem(r, c, item)
        self.deep_table.setVisible(True)

    def _on_deep_failed(self, exc: BaseException) -> None:
        self._deep_finished()
        self.deep_summary.setText(str(exc) if isinstance(exc, UserFacingError)
                                  else "The check failed unexpectedly; see the log.")

    def isComplete(self) -> bool:  # noqa: N802 - Qt override
        return self.outcome is not None


