"""Reconciliation: find duplicate and mismatched accounts of one org and fix them safely (issue 6).

Inputs: the org's platform users (read through the admin API with progress), optionally the
customer's Entra users export and an imported provisioning-log dataset for evidence. The analysis
is DuckDB SQL in ``console.services.reconcile``; this page only shows and dispatches:

* the findings table is paged from the engine's query result (no proxy model, O(1) ``data()``);
  class chips and the search box re-run the query, header clicks sort in SQL;
* the details pane shows the finding's accounts, evidence and log events as plain text;
* *Plan* builds the dry run for the selected (or all shown) findings and opens the plan dialog,
  which applies, cancels and resumes; an unfinished run of this org is offered on opening it.

Every engine call runs on the TaskRunner: analysis on the org's lane with progress and cancel,
table queries latest-wins (typing in the search box never queues stale queries).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from console.core.errors import UserFacingError
from console.core.reconcile.findings import CLASS_INFO, FindingClass
from console.ui.dialogs.plan_dialog import PlanDialog
from console.ui.models.findings_model import SORT_KEYS, FindingsModel
from console.ui.models.paged_model import PAGE
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import plain_label
from console.ui.widgets.flow_layout import flow_row

# Chip captions: short enough for one row at the main window's default width (tooltip: the full label).
SHORT_LABELS = {
    FindingClass.MANUAL_TWIN: "Manual + SCIM twin", FindingClass.SCIM_TWINS: "SCIM twins",
    FindingClass.EMAIL_COLLISION: "Email collision", FindingClass.CASE_ONLY: "Case only",
    FindingClass.STALE_EMAIL: "Stale email", FindingClass.USERNAME_NOT_EMAIL: "userName ≠ email",
    FindingClass.NO_EMAIL: "No email", FindingClass.LOOKALIKE: "Lookalike",
}


TWIN_SIGNALS = {"name": "name", "localPart": "address", "created": "created", "domain": "domain",
                "lastLogin": "last login"}
# The confidence filter: (label, the confidences shown; empty = all).
CONFIDENCE_CHOICES: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("Any confidence", ()), ("Certain", ("certain",)), ("Certain or likely", ("certain", "likely")),
    ("Likely", ("likely",)), ("Possible", ("possible",)),
)


def chip_text(cls: FindingClass, count: int | None = None) -> str:
    text = f"({CLASS_INFO[cls].roman}) {SHORT_LABELS[cls]}"
    return text if count is None else f"{text}: {count:,}"


def finding_text(f: Any) -> str:
    """The details pane: a plain-text rendering of one finding (its data is never rendered as HTML)."""
    info = f.info
    lines = [f"({info.roman}) {info.label} — {f.severity} severity, {f.confidence}", "", f.summary, "",
             info.why, "", f"Matched on {f.key}: {f.value}", "", "Accounts:"]
    for a in f.accounts:
        state = "active" if a.active else "inactive"
        lines.append(f"  • {a.user_name} — {a.created_via}, {state}, version {a.version}, id {a.id}")
        if a.emails:
            lines.append(f"      emails: {', '.join(a.emails)}")
        link = ", ".join(x for x in (f"externalId {a.external_id}" if a.external_id else "",
                                     f"IdP link {a.idp_link}" if a.idp_link else "",
                                     f"SCIM id {a.scim_id}" if a.scim_id else "") if x)
        if link:
            lines.append(f"      {link}")
        lines.append(f"      {a.work_areas} work area(s), last login {a.last_login_at or 'never'}")
    if f.entra is not None:
        e = f.entra
        lines += ["", f"Entra export: {e.upn} (mail {e.mail or 'none'}, objectId {e.object_id}, "
                      f"{'enabled' if e.enabled else 'disabled'})"]
    signals = [ev for ev in f.evidence if ev.kind == "twin"]
    if signals:
        lines += ["", f"Why it is {f.confidence} (no shared address; names, addresses and dates):"]
        lines += [f"  • {TWIN_SIGNALS.get(ev.key, ev.key)}: {ev.value}" for ev in signals]
    evidence = [ev for ev in f.evidence if ev.kind not in ("log", "twin")]
    if evidence:
        lines += ["", "Evidence:"]
        lines += [f"  • {ev.kind} {ev.key} = {ev.value}" + (f" — {ev.detail}" if ev.detail else "")
                  for ev in evidence]
    logs = [ev for ev in f.evidence if ev.kind == "log"]
    if logs:
        lines += ["", f"Provisioning-log events ({len(logs)}):"]
        lines += [f"  • {ev.time or ''} {ev.key}: {ev.detail}" for ev in logs[:20]]
    lines += ["", "Recommended:", f"  {f.recommendation}"]
    return "\n".join(" ".join(line.split("\r")) for line in lines)


class ReconcilePage(QWidget):
    """Signals: sig_analysed(AnalysisSummary), sig_query_done(int total), sig_finding_shown(str fid)."""

    sig_analysed = Signal(object)
    sig_query_done = Signal(int)
    sig_finding_shown = Signal(str)

    def __init__(self, api_provider: Callable[[], Any], runner: TaskRunner, paths: Any,
                 services_provider: Callable[[], Any] | None = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._api, self._runner, self._paths = api_provider, runner, paths
        self.services_provider = services_provider
        self.title = "Reconciliation"
        self.engine: Any = None
        self.summary: Any = None
        self.entra_path: str | None = None
        self.plan_dialog: PlanDialog | None = None
        self.unfinished: Any = None
        self._job: Any = None
        self._generations = itertools.count(1)
        self._sort: tuple[str, bool] = ("class", False)
        self._pending_text: str | None = None
        self._build()

    # ---- layout
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.addWidget(plain_label("Reconciliation", role="page-title"))
        self.org = QComboBox()
        self.org.setEditable(True)
        self.org.setMinimumWidth(180)
        self.org.lineEdit().setPlaceholderText("organisation id")
        self.entra_label = plain_label("No Entra export", role="muted")
        self.entra_button = QPushButton("Entra users export…")
        self.entra_button.setToolTip("The CSV from Entra admin centre → Users → Download users (optional)")
        self.entra_button.clicked.connect(self.choose_entra_export)
        self.entra_clear = QToolButton()
        self.entra_clear.setText("✕")
        self.entra_clear.setToolTip("Do not use an Entra export")
        self.entra_clear.clicked.connect(lambda: self.set_entra_export(None))
        self.entra_clear.setVisible(False)
        self.logs = QComboBox()
        self.logs.setToolTip("An imported provisioning-log dataset adds evidence (EntryConflict, "
                             "InvalidAnchor …)")
        self.logs.addItem("No log evidence", None)
        self.analyse_button = QPushButton("Analyse")
        self.analyse_button.setDefault(True)
        self.analyse_button.clicked.connect(self.analyse)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_analysis)
        org_label = plain_label("Organisation:")
        for label in (org_label, self.entra_label):  # centred on the line of the combo boxes
            label.setMinimumHeight(self.org.sizeHint().height())
            label.setAlignment(Qt.AlignmentFlag.AlignVCenter)
        outer.addWidget(flow_row(org_label, self.org, self.entra_button, self.entra_label,
                                 self.entra_clear, self.logs, self.analyse_button, self.cancel_button))
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        outer.addWidget(self.progress)
        self.status = plain_label("Choose an organisation and select Analyse.", role="muted", wrap=True)
        outer.addWidget(self.status)

        self.chips: dict[str, QToolButton] = {}
        for cls in FindingClass:
            info = CLASS_INFO[cls]
            chip = QToolButton()
            chip.setCheckable(True)
            chip.setText(chip_text(cls))
            chip.setToolTip(f"{info.label}: {info.why}")
            chip.toggled.connect(lambda _on: self.requery())
            chip.setEnabled(False)
            self.chips[str(cls)] = chip
        outer.addWidget(flow_row(*self.chips.values()))
        tools = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Filter by name, email, UPN, externalId…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(lambda _t: self.requery())
        self.confidence = QComboBox()
        self.confidence.setToolTip("Findings tied by an address, externalId or the Entra export are certain; "
                                   "likely twins found from names alone are graded by their evidence")
        for label, levels in CONFIDENCE_CHOICES:
            self.confidence.addItem(label, levels)
        self.confidence.currentIndexChanged.connect(lambda _i: self.requery())
        self.count_label = plain_label("", role="muted")
        self.export_button = QPushButton("Export findings…")
        self.export_button.clicked.connect(self.choose_export_path)
        self.plan_selected_button = QPushButton("Plan selected…")
        self.plan_selected_button.clicked.connect(lambda: self.make_plan(selected_only=True))
        self.plan_all_button = QPushButton("Plan all shown…")
        self.plan_all_button.clicked.connect(lambda: self.make_plan(selected_only=False))
        self.resume_button = QPushButton("Resume unfinished run…")
        self.resume_button.setVisible(False)
        self.resume_button.clicked.connect(self.resume_run)
        tools.addWidget(self.search, 1)
        tools.addWidget(self.confidence)
        tools.addWidget(self.count_label)
        outer.addLayout(tools)

        split = QSplitter(Qt.Orientation.Horizontal)
        self.model = FindingsModel(self)
        self.model.fetch_page = self._fetch_page
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setSortingEnabled(False)  # sorting is SQL: header clicks re-query
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        header = self.table.horizontalHeader()
        header.setSectionsClickable(True)
        header.setSortIndicatorShown(True)
        header.setStretchLastSection(True)
        header.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        header.sectionClicked.connect(self._on_header_clicked)
        for col, width in enumerate((230, 70, 75, 90, 200, 240, 30, 200, 70)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(lambda cur, _prev: self.show_finding(cur.row()))
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_buttons())
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setPlaceholderText("Select a finding to see its accounts, evidence and the recommended "
                                        "fix.")
        split.addWidget(self.table)
        split.addWidget(self.details)
        split.setStretchFactor(0, 3)
        split.setStretchFactor(1, 2)
        outer.addWidget(split, 1)
        outer.addWidget(flow_row(self.export_button, self.plan_selected_button, self.plan_all_button,
                                 self.resume_button))
        self._update_buttons()

    # ---- public API
    def on_shown(self) -> None:
        """Fill the org and dataset lists the first time the page is shown (main window calls it)."""
        if self.org.count() == 0:
            self.refresh_inputs()

    def open_org(self, org_id: str, *, text: str | None = None) -> None:
        """Show ``org_id`` (analysing it if needed), filtered to ``text`` (a person from the logs page)."""
        self.org.setCurrentText(org_id)
        if self.engine is not None and self.engine.org_id == org_id:
            self.search.setText(text or "")
            return
        self._pending_text = text
        self.analyse()

    def open_person(self, org_id: str | None, text: str | None) -> None:
        """From a provisioning-log event: ``org_id`` is None for an offline export (no org in it)."""
        if org_id:
            self.open_org(org_id, text=text)
            return
        if self.engine is not None:
            self.search.setText(text or "")
            return
        self._pending_text = text
        self.status.setText(f"Choose the customer's organisation and select Analyse to find “{text or ''}”.")

    def reload(self) -> None:
        """F5: refresh the org and dataset lists (the analysis itself reruns with Analyse)."""
        self.refresh_inputs()

    def focus_search(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    def refresh_inputs(self) -> None:
        api, paths = self._api, self._paths

        def _load(_t: CancelToken) -> tuple[list[str], list[Any]]:
            from console.services.logstore.catalog import LogCatalog

            orgs = [o.id for o in api().iter_orgs()]
            datasets = LogCatalog.for_paths(paths).list() if paths is not None else []
            return orgs, datasets

        self._runner.run(_load, self._on_inputs, on_failure=lambda _e: None, purpose="reconcile.inputs",
                         label="Loading organisations", parent=self)

    def _on_inputs(self, result: tuple[list[str], list[Any]]) -> None:
        orgs, datasets = result
        current = self.org.currentText()
        self.org.clear()
        self.org.addItems(orgs)
        self.org.setCurrentText(current or (orgs[0] if orgs else ""))
        chosen = self.logs.currentData()
        self.logs.clear()
        self.logs.addItem("No log evidence", None)
        for d in datasets:
            self.logs.addItem(f"Logs: {d.name} ({d.records:,} events)", d.id)
        index = self.logs.findData(chosen)
        self.logs.setCurrentIndex(max(0, index))

    def choose_entra_export(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Entra users export", "",
                                              "CSV files (*.csv);;All files (*)")
        if path:
            self.set_entra_export(path)

    def set_entra_export(self, path: str | None) -> None:
        self.entra_path = path
        self.entra_label.setText(Path(path).name if path else "No Entra export")
        self.entra_clear.setVisible(path is not None)

    # ---- analysis
    def analyse(self) -> None:
        org_id = self.org.currentText().strip()
        if not org_id:
            self.status.setText("Choose an organisation first.")
            return
        from console.services.reconcile import analyze_org

        api, entra, dataset_id = self._api, self.entra_path, self.logs.currentData()
        paths, old = self._paths, self.engine
        services = self._services()  # read here: workers never touch the page
        self.engine = None
        self.model.set_result(None, 0, [])
        self.details.clear()

        if old is not None:  # in a job of its own: cancelling the analysis must not skip it
            self._close_later(old)

        def _analyse(t: CancelToken) -> Any:
            dataset = None
            if dataset_id is not None:
                from console.services.logstore.catalog import LogCatalog

                dataset = LogCatalog.for_paths(paths).open(dataset_id)
            try:
                engine = analyze_org(api(), org_id, t, entra_users=entra, logs=dataset,
                                     workdir=paths.cache_dir if paths is not None else None)
            finally:
                if dataset is not None:
                    dataset.close()
            from console.services.reconcile import RunStore

            unfinished = RunStore(services.store.engine).unfinished(org_id) if services is not None else None
            return engine, unfinished

        self._set_busy(True)
        self.status.setText(f"Reading the users of {org_id}…")
        self._job = self._runner.run(_analyse, self._on_analysed, on_failure=self._on_analysis_failed,
                                     on_progress=self._on_progress, on_dropped=self._on_dropped,
                                     lane=f"reconcile.{org_id}", purpose="reconcile.analyse",
                                     label=f"Analysing {org_id}", parent=self)

    def cancel_analysis(self) -> None:
        if self._job is not None:
            self._job.cancel()
            self.cancel_button.setEnabled(False)
            self.status.setText("Cancelling…")

    def _set_busy(self, busy: bool) -> None:
        self.analyse_button.setEnabled(not busy)
        self.cancel_button.setVisible(busy)
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)
        if busy:
            self.progress.setRange(0, 0)

    def _end_job(self) -> None:
        if self._job is None:
            return
        self._job = None
        self._set_busy(False)

    def _on_progress(self, done: int, total: int, text: str) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        if text:
            self.status.setText(text)

    def _close_later(self, engine: Any) -> None:
        """Close an engine nobody shows any more (its temp folder holds personal data)."""
        self._runner.run(lambda _t: engine.close(), on_failure=lambda _e: None,
                         label="Closing the previous analysis")

    def _on_dropped(self, job: Any) -> None:
        if job.dropped_result is not None:  # it finished as it was cancelled: its engine is unused
            self._close_later(job.dropped_result[0])
        if job is not self._job:
            return  # an analysis superseded by a newer one: the newer one owns the busy state
        self._end_job()
        self.status.setText("Analysis cancelled.")

    def _on_analysed(self, result: tuple[Any, Any]) -> None:
        self._end_job()
        engine, unfinished = result
        self.engine, self.summary, self.unfinished = engine, engine.summary, unfinished
        s = engine.summary
        extra = []
        if s.entra_rows:
            extra.append(f"{s.entra_rows:,} Entra rows")
        if s.log_events:
            extra.append(f"{s.log_events:,} conflict events")
        self.status.setText(f"{s.org_id}: {s.users:,} users" + (f", {', '.join(extra)}" if extra else "")
                            + f" → {s.findings:,} finding(s) in {s.seconds:.2f} s."
                            + (f" {'; '.join(s.warnings[:2])}" if s.warnings else ""))
        for chip in self.chips.values():
            chip.setEnabled(True)
        self.resume_button.setVisible(unfinished is not None)
        if self._pending_text is not None:
            text, self._pending_text = self._pending_text, None
            self.search.blockSignals(True)
            self.search.setText(text)
            self.search.blockSignals(False)
        self.sig_analysed.emit(s)
        self.requery()

    def _on_analysis_failed(self, exc: BaseException) -> None:
        self._end_job()
        self.status.setText(str(exc) if isinstance(exc, UserFacingError)
                            else f"The analysis failed ({type(exc).__name__}); details are in the log.")

    # ---- the table
    def _filters(self) -> tuple[list[str], str]:
        return [c for c, chip in self.chips.items() if chip.isChecked()], self.search.text().strip()

    def _confidence(self) -> tuple[str, ...]:
        return tuple(self.confidence.currentData() or ())

    def requery(self) -> None:
        engine = self.engine
        if engine is None:
            return
        classes, text = self._filters()
        levels = self._confidence()
        column, descending = self._sort
        generation = next(self._generations)

        def _query(_t: CancelToken) -> tuple[int, int, list[Any], dict[str, int]]:
            table = engine.table
            with engine.lock:
                table.sort(column, descending)
                total = table.filter(classes or None, text or None, levels or None)
                rows = table.page(0, PAGE)
                counts = table.class_counts()
            return generation, total, rows, counts

        self._runner.run(_query, self._on_query, on_failure=self._on_query_failed,
                         purpose="reconcile.query", label="Filtering findings", parent=self)

    def _on_query(self, result: tuple[int, int, list[Any], dict[str, int]]) -> None:
        generation, total, rows, counts = result
        self.model.set_result(generation, total, rows)
        for cls, chip in self.chips.items():
            chip.setText(chip_text(FindingClass(cls), counts.get(cls, 0)))
        shown = self.summary.findings if self.summary else total
        self.count_label.setText(f"{total:,} of {shown:,} shown")
        self.details.clear()
        self._update_buttons()
        self.sig_query_done.emit(total)

    def _on_query_failed(self, exc: BaseException) -> None:
        self.status.setText(str(exc) if isinstance(exc, (UserFacingError, ValueError))
                            else "The query failed; details are in the log.")

    def _fetch_page(self, generation: object, page_no: int) -> None:
        engine = self.engine
        if engine is None:
            return
        self._runner.run(lambda _t: (generation, page_no, engine.table.page(page_no * PAGE, PAGE)),
                         lambda r: self.model.add_page(*r), on_failure=lambda _e: None,
                         label="Loading findings", parent=self)

    def _on_header_clicked(self, column: int) -> None:
        key = SORT_KEYS[column] if column < len(SORT_KEYS) else None
        if key is None:
            return
        current, descending = self._sort
        self._sort = (key, not descending if key == current else False)
        self.table.horizontalHeader().setSortIndicator(
            column, Qt.SortOrder.DescendingOrder if self._sort[1] else Qt.SortOrder.AscendingOrder)
        self.requery()

    def show_finding(self, row: int) -> None:
        fid, engine = self.model.fid_at(row), self.engine
        if fid is None or engine is None:
            return
        self._runner.run(lambda _t: engine.finding(fid), self._on_finding, on_failure=lambda _e: None,
                         purpose="reconcile.detail", label="Loading the finding", parent=self)

    def _on_finding(self, finding: Any) -> None:
        if finding is None:
            return
        self.details.setPlainText(finding_text(finding))
        self.sig_finding_shown.emit(finding.id)

    def selected_ids(self) -> list[str]:
        rows = sorted({i.row() for i in self.table.selectionModel().selectedRows()})
        return [fid for fid in (self.model.fid_at(r) for r in rows) if fid]

    def _update_buttons(self) -> None:
        ready = self.engine is not None and self.model.total > 0
        self.export_button.setEnabled(ready)
        self.plan_all_button.setEnabled(ready and self.services_provider is not None)
        self.plan_selected_button.setEnabled(ready and self.services_provider is not None
                                             and bool(self.selected_ids()))

    # ---- export
    def choose_export_path(self) -> None:
        if self.engine is None:
            return
        path, _ = QFileDialog.getSaveFileName(self, "Export findings", f"findings-{self.engine.org_id}.xlsx",
                                              "Excel (*.xlsx);;CSV (*.csv)")
        if path:
            self.export(path)

    def export(self, path: str) -> None:
        from console.services.reconcile import export_findings

        engine, (classes, text), levels = self.engine, self._filters(), self._confidence()
        self._runner.run(lambda t: export_findings(engine, path, cls=classes or None, text=text or None,
                                                   confidence=levels or None,
                                                   progress=lambda n: t.progress(n, 0, f"{n:,} rows")),
                         lambda n: self.status.setText(f"Exported {n:,} finding(s) to {path}."),
                         on_failure=self._on_query_failed, label="Exporting findings", parent=self)

    # ---- plans
    def _services(self) -> Any:
        if self.services_provider is None:
            return None
        try:
            return self.services_provider()
        except UserFacingError:
            return None

    def make_plan(self, *, selected_only: bool) -> None:
        engine = self.engine
        if engine is None:
            return
        ids = self.selected_ids() if selected_only else None

        def _plan(_t: CancelToken) -> Any:
            if ids is not None:
                return engine.plan(ids=ids)
            classes, text = engine.table.current_filter  # all shown, by the filter (not a million ids)
            levels = engine.table.current_confidence
            return engine.plan(cls=classes or None, text=text or None, confidence=levels or None)

        self._runner.run(_plan, self._open_plan, on_failure=self._on_query_failed,
                         label="Building the plan", parent=self)

    def _open_plan(self, plan: Any, run: Any = None) -> None:
        services = self._services()
        if services is None:
            self.status.setText("The local database and keyring are still opening; try again in a moment.")
            return
        self.plan_dialog = PlanDialog(plan, services, self._runner, self, run=run)
        self.plan_dialog.sig_applied.connect(self._on_applied)
        self.plan_dialog.show()

    def resume_run(self) -> None:
        run = self.unfinished
        if run is None:
            return
        from console.core.reconcile.plan import Plan

        self._open_plan(Plan(run.org_id, tuple(s.step for s in run.steps), findings=0), run)

    def _on_applied(self, report: Any) -> None:
        self.unfinished = None if report.status == "finished" else report.run
        self.resume_button.setVisible(self.unfinished is not None)
        self.status.setText(f"Run {report.run.id} {report.status}. Analyse again to see what is left.")

    def shutdown(self) -> None:
        """Close the engine (its temp files hold personal data)."""
        if self.engine is not None:
            self.engine.close()
            self.engine = None
