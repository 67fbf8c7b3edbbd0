"""Readiness (seed steps 2–4): template and email checks, the Templates view, and the duplicate prediction
from the customer's Entra users export."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QScrollArea,
    QTableWidget,
    QTableWidgetItem,
)

from console.core.errors import UserFacingError
from console.core.readiness import AMBER, Check, blocking
from console.services.org_setup import create_default_template, load_readiness
from console.ui.pages.wizard.base import WizardPage
from console.ui.tasks import CancelToken
from console.ui.widgets.common import plain_label, plain_tip, set_status
from console.ui.widgets.readiness_view import ReadinessView

if TYPE_CHECKING:
    from console.ui.pages.enable_wizard import EnableWizard


PREDICTION_COLUMNS = ("Entra userPrincipalName", "Prediction", "Existing account", "Fix")


class ReadinessPage(WizardPage):
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
        self.prediction_table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.prediction_table.itemSelectionChanged.connect(self._update_align_button)
        self.align_button = QPushButton("Align selected accounts with Entra…")
        self.align_button.setToolTip("Rename each selected duplicate's existing account to its Entra "
                                     "userPrincipalName, so Entra matches it instead of creating a twin")
        self.align_button.setVisible(False)
        self.align_button.clicked.connect(self.align_selected)
        self.layout_.addWidget(self.prediction_summary)
        self.layout_.addWidget(self.prediction_table, 1)
        align_row = QHBoxLayout()
        self.align_status = plain_label("", wrap=True)
        align_row.addWidget(self.align_status, 1)
        align_row.addWidget(self.align_button, 0, Qt.AlignmentFlag.AlignTop)
        self.layout_.addLayout(align_row)
        self.predictions: list[Any] | None = None
        self.shown_predictions: list[Any] = []  # in table order
        self.export_path: str | None = None
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
                          on_progress=lambda _d, _t, text: self.set_status(f"Checking templates and users: "
                                                                           f"{text}…"),
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
        self.export_path = path

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
        skipped = [w for w in warnings if w.startswith("line ")]
        if skipped:
            text += f" {len(skipped)} row(s) skipped ({skipped[0]}…)."
        for note in (w for w in warnings if not w.startswith("line ")):  # e.g. the encoding it was read in
            text += f" Note: {note}"
        self.prediction_summary.setText(text)
        order = {DUPLICATE: 0, NEW: 1, MATCH: 2}
        rows = sorted(predictions, key=lambda p: (order[p.outcome], p.user.upn.casefold()))
        self.shown_predictions = rows
        self.prediction_table.clearSelection()
        self.prediction_table.setRowCount(len(rows))
        for r, p in enumerate(rows):
            for col, value in enumerate((p.user.upn, p.outcome, p.platform_user_name or "—", p.fix or "—")):
                item = QTableWidgetItem(value)  # plain text: imported data is never rendered as HTML
                item.setToolTip(plain_tip(value) or "")
                self.prediction_table.setItem(r, col, item)
        self.prediction_table.setVisible(bool(rows))
        self.align_button.setVisible(c[DUPLICATE] > 0)
        self._update_align_button()

    def selected_fixable(self) -> list[Any]:
        rows = sorted({i.row() for i in self.prediction_table.selectedIndexes()})
        return [self.shown_predictions[r] for r in rows
                if r < len(self.shown_predictions) and self.shown_predictions[r].fixable]

    def _update_align_button(self) -> None:
        self.align_button.setEnabled(bool(self.selected_fixable()))

    def align_selected(self) -> None:
        """Rename the selected duplicates' existing accounts to their UPN (confirmed, audited), then
        predict again from the same export."""
        from console.services.org_setup import align_user_names
        from console.ui.dialogs.confirm import ConfirmDialog

        chosen = self.selected_fixable()
        if not chosen:
            return
        lines = "\n".join(f"  {p.platform_user_name} → {p.user.upn}" for p in chosen[:10])
        more = f"\n  … and {len(chosen) - 10} more" if len(chosen) > 10 else ""
        if not ConfirmDialog.ask(self, "Align accounts with Entra",
                                 f"Change the userName of {len(chosen)} account(s) on the platform to their "
                                 f"Entra userPrincipalName?\n\n{lines}{more}\n\nTheir emails stay as they "
                                 "are. Tell the customer: these people sign in with the new name.",
                                 yes="Align"):
            return
        s, org_id, path = self.w.services, self.w.org_id, self.export_path

        def _align(t: CancelToken) -> list[Any]:
            return align_user_names(s.api(), org_id, chosen, s.store.audit, operator=s.operator,
                                    profile_id=s.profile_id, progress=t.progress)

        def _done(results: list[Any]) -> None:
            done = sum(1 for r in results if r.outcome == "done")
            problems = [f"{r.previous}: {r.detail}" for r in results if r.outcome != "done"]
            text = f"Aligned {done} of {len(results)} account(s) with Entra."
            if problems:
                text += f" Not changed: {'; '.join(problems[:3])}"
            set_status(self.align_status, text, error=bool(problems))
            self.run_checks()  # userNames changed: the email checks change too
            if path:
                self.load_export(path)  # the prediction again, from the platform as it is now

        self.align_button.setEnabled(False)
        self.w.runner.run(_align, _done, on_failure=self._on_align_failed, lane=org_id,
                          label="Aligning accounts with Entra", parent=self)

    def _on_align_failed(self, exc: BaseException) -> None:
        """Said next to the Align button (the prediction above stays), which can be tried again."""
        self._update_align_button()
        set_status(self.align_status, str(exc) if isinstance(exc, UserFacingError)
                   else "The accounts could not be aligned (unexpected error; see the log).", error=True)

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


