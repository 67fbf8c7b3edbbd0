"""Preview a reconciliation plan, apply it in the background, resume it (issue 6 "Actions").

The dialog shows the exact steps the operator confirms (a dry run until *Apply*): what each does,
to which account, and the Entra-side advice that goes with them. Apply asks once more, then runs
on the TaskRunner with progress and cancel; every step is audited before it is reported done and
its state lands in the table (done, already done, changed since the preview, failed, not started).
A run that stopped — cancel, network, a crash — is resumed from the same dialog or the page.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.errors import UserFacingError
from console.ui.dialogs.confirm import ConfirmDialog
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import plain_label, plain_tip

COLUMNS = ("#", "Action", "What it does", "State")
ACTION_LABELS = {"clear_idp_link": "Clear IdP link", "set_primary_email": "Set primary email",
                 "release_email": "Release email", "merge": "Merge twin", "advice": "Entra advice"}
STATE_COLOURS = {"conflict": QColor("#b26a00"), "failed": QColor("#c62828"), "blocked": QColor("#6b6b6b"),
                 "done": QColor("#2e7d32"), "already_done": QColor("#2e7d32")}


def confirm_apply(parent: QWidget | None, org_id: str, api_steps: int) -> bool:
    return ConfirmDialog.ask(
        parent, "Apply reconciliation plan",
        f"Apply {api_steps} change(s) to accounts of {org_id}? Each step is checked against the account "
        "version you previewed and written to the audit trail. Accounts are never deleted; merged twins "
        "are deactivated.", yes="Apply")


class PlanDialog(QDialog):
    """Signals: sig_applied(RunReport): a run ended (finished, stopped or cancelled)."""

    sig_applied = Signal(object)
    #: replaced in tests; asks the operator before anything changes on the platform
    confirm: Callable[[QWidget | None, str, int], bool] = staticmethod(confirm_apply)

    def __init__(self, plan: Any, services: Any, runner: TaskRunner, parent: QWidget | None = None, *,
                 run: Any = None) -> None:
        super().__init__(parent)
        self.plan, self.services, self.runner = plan, services, runner
        self.run_id: str | None = run.id if run is not None else None
        self.report: Any = None
        self._job: Any = None
        self._started: list[str] = []  # the id of the run the current job applies, once it exists
        self.setWindowTitle(f"Reconciliation plan — {plan.org_id}")
        layout = QVBoxLayout(self)
        api = len(plan.api_steps)
        self.summary = plain_label(
            f"{api} change(s) on the platform and {len(plan.steps) - api} advice item(s) for "
            f"{plan.findings} finding(s). Nothing has changed yet: this is a preview.", wrap=True)
        layout.addWidget(self.summary)
        if plan.skipped:
            reasons = "; ".join(why for _fid, why in plan.skipped[:3])
            layout.addWidget(plain_label(f"{len(plan.skipped)} finding(s) need no step or a person's "
                                         f"decision: {reasons}", wrap=True, role="muted"))
        self.table = QTableWidget(len(plan.steps), len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(2, QHeaderView.ResizeMode.Stretch)
        self.table.setColumnWidth(0, 40)
        self.table.setColumnWidth(1, 130)
        self.table.setColumnWidth(3, 130)
        for r, step in enumerate(plan.steps):
            for c, value in enumerate((str(r + 1), ACTION_LABELS.get(step.action, step.action), step.text,
                                       "preview")):
                item = QTableWidgetItem(value)  # platform values: plain text
                if c == 2:
                    item.setToolTip(plain_tip(value) or "")
                self.table.setItem(r, c, item)
        layout.addWidget(self.table, 1)
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        layout.addWidget(self.progress)
        self.status = plain_label("", wrap=True)
        layout.addWidget(self.status)
        self.lines = QPlainTextEdit()
        self.lines.setReadOnly(True)
        self.lines.setMaximumHeight(110)
        self.lines.setVisible(False)
        layout.addWidget(self.lines)
        row = QHBoxLayout()
        self.export_button = QPushButton("Export plan…")
        self.export_button.clicked.connect(self.choose_export_path)
        self.apply_button = QPushButton("Resume…" if run is not None else "Apply…")
        self.apply_button.setEnabled(bool(plan.api_steps) or run is not None)
        self.apply_button.clicked.connect(self.apply)
        self.cancel_button = QPushButton("Cancel run")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_run)
        close = QPushButton("Close")
        close.clicked.connect(self.reject)
        row.addWidget(self.export_button)
        row.addStretch(1)
        row.addWidget(self.cancel_button)
        row.addWidget(self.apply_button)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(900, 560)
        if run is not None:
            self._show_states(run)

    # ---- export
    def choose_export_path(self) -> None:
        path, _ = QFileDialog.getSaveFileName(self, "Export plan", f"reconcile-plan-{self.plan.org_id}.xlsx",
                                              "Excel (*.xlsx);;CSV (*.csv)")
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        from console.services.reconcile import export_plan

        plan = self.plan
        self.runner.run(lambda _t: export_plan(plan, path),
                        lambda n: self.status.setText(f"Exported {n} step(s) to {path}."),
                        on_failure=self._on_failed, label="Exporting the plan", parent=self)

    # ---- apply / resume
    def apply(self) -> None:
        if not self.confirm(self, self.plan.org_id, len(self.plan.api_steps)):
            return
        from console.services.reconcile import RunStore, apply_run

        s, plan, run_id = self.services, self.plan, self.run_id
        started: list[str] = []
        self._started = started

        def _apply(t: CancelToken) -> Any:
            runs = RunStore(s.store.engine)
            rid = run_id or runs.create(plan, actor=s.operator, profile_id=s.profile_id).id
            started.append(rid)  # read by the dialog only after this job has ended
            return apply_run(s.api(), runs, s.store.audit, rid, t, operator=s.operator,
                             profile_id=s.profile_id)

        self.apply_button.setEnabled(False)
        self.export_button.setEnabled(False)
        self.progress.setRange(0, max(1, len(plan.steps)))
        self.progress.setValue(0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setEnabled(True)
        self.status.setText("Applying…")
        self._job = self.runner.run(_apply, self._on_applied, on_failure=self._on_failed,
                                    on_progress=self._on_progress, on_dropped=self._on_dropped,
                                    lane=plan.org_id, label=f"Reconciling {plan.org_id}", parent=self)

    def cancel_run(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling after the current step…")

    def _on_progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        self.status.setText(text)

    def _finish_job(self) -> None:
        if self._job is None:
            return
        self._job = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self.export_button.setEnabled(True)

    def _on_dropped(self, job: Any) -> None:
        """A cancelled run: its report when apply_run returned one, else what this run recorded."""
        if job is not self._job:
            return
        self._finish_job()
        if job.dropped_result is not None:
            self._on_cancelled(job.dropped_result.run)
            return
        if not self._started:  # cancelled before the run was created: nothing was done
            self._on_cancelled(None)
            return
        from console.services.reconcile import RunStore

        s, rid = self.services, self._started[0]
        self.runner.run(lambda _t: RunStore(s.store.engine).get(rid), self._on_cancelled,
                        on_failure=self._on_failed, lane=self.plan.org_id, label="Reading the run",
                        parent=self)

    def _on_cancelled(self, run: Any) -> None:
        if run is not None:
            self.run_id = run.id
            self._show_states(run)
        self.status.setText("Cancelled. Steps already applied stay applied and audited; Resume continues "
                            "with the rest.")
        self.apply_button.setText("Resume…")
        self.apply_button.setEnabled(True)

    def _on_applied(self, report: Any) -> None:
        self._finish_job()
        self.report = report
        self.run_id = report.run.id
        self._show_states(report.run)
        lines = list(report.lines())
        self.lines.setPlainText("\n".join(lines))
        self.lines.setVisible(True)
        self.status.setText(lines[-1] if lines else report.status)
        unfinished = report.status != "finished"
        self.apply_button.setText("Resume…" if unfinished else "Apply…")
        self.apply_button.setEnabled(unfinished)
        self.sig_applied.emit(report)

    def _show_states(self, run: Any) -> None:
        for s in run.steps:
            row = s.seq - 1 if 0 < s.seq <= self.table.rowCount() else None
            if row is None:
                continue
            item = QTableWidgetItem(s.state.replace("_", " "))
            item.setToolTip(plain_tip(s.detail) or "")
            colour = STATE_COLOURS.get(s.state)
            if colour is not None:
                item.setForeground(colour)
            self.table.setItem(row, 3, item)

    def _on_failed(self, exc: BaseException) -> None:
        self._finish_job()
        if self.run_id is None and self._started:  # created, then failed: resume it, not a new run
            self.run_id = self._started[0]
        self.apply_button.setEnabled(self.run_id is not None or bool(self.plan.api_steps))
        if self.run_id is not None:
            self.apply_button.setText("Resume…")
        self.status.setText(str(exc) if isinstance(exc, UserFacingError)
                            else f"Stopped by an unexpected error ({type(exc).__name__}); the run can be "
                                 "resumed. Details are in the log.")
