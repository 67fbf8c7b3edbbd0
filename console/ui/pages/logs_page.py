"""Provisioning logs: imported Entra exports (File → Open, drag and drop) and the platform's live log.

All I/O (imports, SQL queries, page fetches, exports, API calls) runs through the TaskRunner; the
table is an ``EventsModel`` over the DuckDB query engine (never a proxy model). Imported text is
shown as plain text only (``QPlainTextEdit``, PlainText labels): exports come from customers and are
untrusted.

An import goes through three background steps, each cancellable with progress: *read* (the first
records show at once from a head preview; the whole file becomes queryable when stage 1 ends),
*save* (the dataset is written to the local store and listed) and *finish* (search text, steps and
details — for big JSON arrays only; the user is already filtering meanwhile).
"""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from PySide6.QtCore import QDateTime, Qt, QTimer, QTimeZone, Signal
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QSplitter,
    QTableView,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from console.core.dates import DMY, MDY, order_name
from console.core.entra_errors import explain, parse_error_text, reconciliation_target
from console.core.entra_log_schema import ACTIONS, STATUSES, modified_of, steps_of
from console.core.errors import UserFacingError
from console.services.logstore import Dataset, LogCatalog, LogFilter, QueryResult
from console.services.logstore import live as live_source
from console.services.logstore.catalog import DatasetInfo
from console.services.logstore.export_view import export_view
from console.services.logstore.preview import preview
from console.services.reconcile import live_twins
from console.ui import errors
from console.ui.dialogs.confirm import ConfirmDialog
from console.ui.models.events_model import PAGE, SORT_KEYS, EventsModel
from console.ui.tasks import CancelToken, Job, TaskRunner
from console.ui.widgets.common import plain_label, set_status
from console.ui.widgets.flow_layout import flow_row
from console.ui.widgets.log_charts import ChartData, LogChartsPanel

log = logging.getLogger(__name__)

FOLLOW_INTERVAL_MS = 2000
DEBOUNCE_MS = 250
FILE_FILTER = "Logs (*.json *.ndjson *.jsonl *.zip *.csv *.txt);;All files (*)"


class LogsPage(QWidget):
    """Signals:
    sig_query_done(total): a query's first page is shown.
    sig_details_shown(seq): the details pane shows an event.
    sig_datasets_changed(): the dataset list was refreshed.
    sig_imported(dataset_id): an import was saved (its details may still be being read).
    sig_finished(dataset_id): a dataset's search text and details are complete.
    sig_exported(path, rows): an export was written.
    sig_charts_updated(): the charts show the current view.
    sig_open_reconciliation(dict): the user asked to open the event's person on the Reconciliation page:
        {org_id (live logs only), upn, email, target_id, source_id, error_code}.
    sig_twin_alert(str): while following a live log, a SCIM create looked like a manual account's twin.
    """

    sig_query_done = Signal(int)
    sig_details_shown = Signal(int)
    sig_datasets_changed = Signal()
    sig_imported = Signal(str)
    sig_finished = Signal(str)
    sig_exported = Signal(str, int)
    sig_charts_updated = Signal()
    sig_open_reconciliation = Signal(dict)
    sig_twin_alert = Signal(str)

    title = "Provisioning logs"

    def __init__(
        self,
        paths: Any,
        runner: TaskRunner,
        api_provider: Any = None,
        parent: QWidget | None = None,
        *,
        debounce_ms: int = DEBOUNCE_MS,
        audit_provider: Any = None,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._api = api_provider
        self._audit = audit_provider
        self.catalog = LogCatalog.for_paths(paths)
        self.dataset: Dataset | None = None
        self.live_org: str | None = None
        self.result: QueryResult | None = None
        self.shown: Dataset | None = None  # the dataset whose query result the table shows
        self._active: Job | None = None  # the cancellable background step (import/save/finish/export)
        self._housekept = False  # the first dataset listing also clears leftovers of killed imports
        self._phase: str | None = None
        self._details_event: dict[str, Any] | None = None
        self._charts_dirty = True
        self._infos: dict[str, Any] = {}
        self.sort_key, self.descending = "time", True
        self.model = EventsModel(self)
        self.model.fetch_page = self._fetch_page
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.run_query)
        self._polling = False
        self._twin_target: dict[str, str] | None = None
        self.follow_timer = QTimer(self)
        self.follow_timer.setInterval(FOLLOW_INTERVAL_MS)
        self.follow_timer.timeout.connect(self._poll_live)
        self.setAcceptDrops(True)
        self._build()
        self.refresh_datasets()

    # ---- construction
    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        head = QHBoxLayout()
        head.addWidget(plain_label(self.title, role="page-title"))
        head.addStretch(1)
        self.org = QLineEdit()
        self.org.setPlaceholderText("Org id (live)")
        self.org.setMaximumWidth(140)
        self.live_button = QPushButton("Live log")
        self.live_button.clicked.connect(lambda: self.open_live(self.org.text().strip()))
        self.follow = QCheckBox("Follow")
        self.follow.setToolTip("Poll for new events every 2 s; untick to pause")
        self.follow.setEnabled(False)
        self.follow.toggled.connect(self._on_follow_toggled)
        for w in (self.org, self.live_button, self.follow):
            head.addWidget(w)
        outer.addLayout(head)
        # The live twin flag (issue 14): shown while following when a SCIM create looks like a duplicate.
        self.twin_alert = plain_label("", wrap=True)
        self.twin_open = QPushButton("Open in Reconciliation")
        self.twin_open.clicked.connect(self._open_twin)
        self.twin_dismiss = QPushButton("Dismiss")
        self.twin_dismiss.clicked.connect(lambda: self.twin_box.setVisible(False))
        self.twin_box = QWidget()
        twin_row = QHBoxLayout(self.twin_box)
        twin_row.setContentsMargins(0, 0, 0, 0)
        twin_row.addWidget(self.twin_alert, 1)
        twin_row.addWidget(self.twin_open)
        twin_row.addWidget(self.twin_dismiss)
        self.twin_box.setVisible(False)
        outer.addWidget(self.twin_box)

        sources = QHBoxLayout()
        self.source = QComboBox()
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(18)
        self.source.activated.connect(self._on_source_chosen)
        self.open_button = QPushButton("Open files…")
        self.open_button.setToolTip(
            "An Entra JSON download, NDJSON, Graph pages, a zip, or the three CSV "
            "files of an Entra CSV download chosen together"
        )
        self.open_button.clicked.connect(self.choose_files)
        self.export_button = QPushButton("Export view…")
        self.export_button.setToolTip("The filtered rows in the table's order, to CSV or Excel (redacted)")
        self.export_button.clicked.connect(self.choose_export)
        self.delete_button = QPushButton("Delete dataset…")
        self.delete_button.clicked.connect(self.delete_current)
        sources.addWidget(plain_label("Dataset:"))
        sources.addWidget(self.source, 1)
        outer.addLayout(sources)
        outer.addWidget(flow_row(self.open_button, self.export_button, self.delete_button))

        prog = QHBoxLayout()
        self.message = plain_label(
            "Open an Entra export (JSON, CSV files, NDJSON, zip) or drop it here, or show an org's live log.",
            role="muted",
            wrap=True,
        )
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.progress.setMaximumWidth(260)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_active)
        # Shown after an import whose numeric dates read the same day- and month-first (core.dates).
        self.reorder_button = QPushButton("Re-import with the other date order")
        self.reorder_button.setVisible(False)
        self.reorder_button.clicked.connect(self.reimport_other_date_order)
        self._reorder: tuple[list[Path], str] | None = None
        prog.addWidget(self.message, 1)
        prog.addWidget(self.progress)
        prog.addWidget(self.reorder_button)
        prog.addWidget(self.cancel_button)
        outer.addLayout(prog)

        bar = QHBoxLayout()
        self.status = QComboBox()
        self.status.addItem("Any status", "")
        for s in STATUSES:
            self.status.addItem(s, s)
        self.action = QComboBox()
        self.action.addItem("Any action", "")
        for a in ACTIONS:
            self.action.addItem(a, a)
        self.error_code = QLineEdit()
        self.error_code.setPlaceholderText("Error code")
        self.job = QLineEdit()
        self.job.setPlaceholderText("Job id")
        self.cycle = QLineEdit()
        self.cycle.setPlaceholderText("Cycle id")
        self.text = QLineEdit()
        self.text.setPlaceholderText("Search identities, errors, modified properties…")
        self.text.setClearButtonEnabled(True)
        for combo in (self.status, self.action):
            combo.currentIndexChanged.connect(self._debounce.start)
        for edit in (self.error_code, self.job, self.cycle):
            edit.setFixedWidth(150)
            edit.textChanged.connect(self._debounce.start)
        self.text.textChanged.connect(self._debounce.start)
        bar.addWidget(self.text, 1)
        self.clear_button = QPushButton("Clear filters")
        self.clear_button.clicked.connect(self.clear_filters)
        bar.addWidget(self.clear_button)
        outer.addLayout(bar)
        # The structured filters wrap onto a second line when the window is narrow.
        outer.addWidget(flow_row(self.status, self.action, self.error_code, self.job, self.cycle))

        status_row = QHBoxLayout()
        self.counts = plain_label("", role="muted")
        status_row.addWidget(self.counts, 1)
        self.use_time = QCheckBox("Time (UTC) from")
        utc = QTimeZone.utc()
        self.since = QDateTimeEdit(QDateTime.currentDateTimeUtc().addDays(-30).toTimeZone(utc))
        self.until = QDateTimeEdit(QDateTime.currentDateTimeUtc().addDays(1).toTimeZone(utc))
        for edit in (self.since, self.until):
            edit.setDisplayFormat("yyyy-MM-dd HH:mm")
            edit.setTimeZone(utc)
            edit.setCalendarPopup(True)
            edit.setEnabled(False)
            edit.dateTimeChanged.connect(self._debounce.start)
            self.use_time.toggled.connect(edit.setEnabled)
        self.use_time.toggled.connect(self._debounce.start)
        status_row.addWidget(self.use_time)
        status_row.addWidget(self.since)
        status_row.addWidget(plain_label("to"))
        status_row.addWidget(self.until)
        outer.addLayout(status_row)

        split = QSplitter(Qt.Orientation.Vertical)
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        self.table.verticalHeader().setDefaultSectionSize(22)
        hh = self.table.horizontalHeader()
        hh.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        hh.setSortIndicatorShown(True)
        hh.setSectionsClickable(True)
        hh.setSortIndicator(0, Qt.SortOrder.DescendingOrder)  # the engine's default: newest first
        hh.sortIndicatorChanged.connect(self._on_sort)
        for col, width in enumerate((165, 70, 75, 200, 280, 120, 190, 80, 100)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self._show_details(cur.row())
        )
        split.addWidget(self.table)

        self.tabs = QTabWidget()
        details_box = QWidget()
        details_layout = QVBoxLayout(details_box)
        details_layout.setContentsMargins(0, 4, 0, 0)
        actions = QHBoxLayout()
        self.details_note = plain_label("", role="muted", wrap=True)
        actions.addWidget(self.details_note, 1)
        self.reconcile_button = QPushButton("Open in Reconciliation")
        self.reconcile_button.setToolTip(
            "This error is about a duplicate or mismatched account: open the "
            "person on the Reconciliation page"
        )
        self.reconcile_button.setVisible(False)
        self.reconcile_button.clicked.connect(self.open_in_reconciliation)
        actions.addWidget(self.reconcile_button)
        details_layout.addLayout(actions)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText("Select an event to see its error, steps and modified properties.")
        details_layout.addWidget(self.details, 1)
        self.tabs.addTab(details_box, "Details")
        self.charts = LogChartsPanel()
        self.charts.sig_time_clicked.connect(self._filter_time)
        self.charts.sig_error_clicked.connect(self.error_code.setText)
        self.charts.sig_cycle_clicked.connect(self.cycle.setText)
        self.tabs.addTab(self.charts, "Charts")
        self.tabs.currentChanged.connect(lambda _i: self._update_charts_if_visible())
        split.addWidget(self.tabs)
        split.setSizes([430, 270])
        outer.addWidget(split, 1)
        self._update_buttons()

    def _update_buttons(self) -> None:
        ds = self.dataset
        self.export_button.setEnabled(ds is not None and self._phase not in ("export",))
        self.delete_button.setEnabled(ds is not None and ds.path is not None and self._phase is None)

    # ---- dataset list
    def refresh_datasets(self) -> None:
        catalog, first = self.catalog, not self._housekept
        self._housekept = True

        def work(_t: CancelToken) -> tuple[list[str], list[Any]]:
            notes = catalog.housekeep().messages() if first else []
            return notes, catalog.list()

        self._runner.run(work, self._on_datasets, purpose="logs.datasets", parent=self)

    def _on_datasets(self, result: tuple[list[str], list[Any]]) -> None:
        notes, infos = result
        self._fill_sources(infos)
        if notes and self._phase is None:  # offer to finish what a killed import left (choose it)
            self.message.setText(" ".join(notes))

    def _fill_sources(self, infos: list[Any]) -> None:
        current = self.dataset.id if self.dataset is not None else None
        self._infos = {info.id: info for info in infos}
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("Choose a dataset…", None)
        for info in infos:
            note = "" if info.complete else " · details pending"
            self.source.addItem(
                f"{info.name} · {info.records:,} events · {info.created_at[:16]}{note}", info.id
            )
        if current:
            i = self.source.findData(current)
            if i >= 0:
                self.source.setCurrentIndex(i)
        self.source.blockSignals(False)
        self.sig_datasets_changed.emit()

    def _on_source_chosen(self, index: int) -> None:
        dataset_id = self.source.itemData(index)
        if dataset_id:
            self.open_dataset(dataset_id)

    # ---- importing
    def choose_files(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Open provisioning logs", "", FILE_FILTER)
        if paths:
            self.import_files(paths)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.import_files(urls)

    def import_file(self, path: str | Path) -> Job:
        return self.import_files([path])

    def import_files(self, paths: list[str] | list[Path], date_order: str | None = None) -> Job:
        """Import one file, several files chosen together (CSV download), a folder or a zip;
        ``date_order`` (``dmy``/``mdy``) overrides the day/month order decided from CSV dates."""
        sources = [Path(p) for p in paths]
        catalog = self.catalog
        label = sources[0].name + (f" + {len(sources) - 1} more" if len(sources) > 1 else "")
        self._reorder = None
        self.reorder_button.setVisible(False)

        def work(token: CancelToken) -> Any:
            # The same content imported before: offer that dataset — unless the user asked to read it
            # again with the other day/month order (the same bytes, another reading).
            same = None if date_order else catalog.find_same(sources)
            return same if same is not None else catalog.start_import(sources, _progress_of(token),
                                                                       token.cancelled, date_order=date_order)

        def read(result: Any) -> None:
            if isinstance(result, DatasetInfo):
                self._end_step()
                self.message.setText(f"{label} was already imported on {result.created_at[:16]} (dataset "
                                     f"{result.name}): opened it instead of a new copy. Delete it first to "
                                     "import the file again.")
                self.open_dataset(result.id)
                return
            self._on_read(result)

        self._stop_live()
        self._begin("reading", f"Reading {label}…")
        self._active = self._runner.run(
            work,
            read,
            on_failure=self._on_step_failed,
            on_progress=self._on_progress,
            on_dropped=self._on_dropped,
            purpose="logs.import",
            label=f"Import {label}",
            parent=self,
        )
        if len(sources) == 1 and sources[0].is_file():
            self._runner.run(
                lambda _t: preview(sources[0]), self._on_preview, purpose="logs.preview", parent=self
            )
        return self._active

    def _on_preview(self, ds: Dataset | None) -> None:
        """Show the first records while the import continues (ignored once the whole file is read)."""
        if ds is None:
            return
        if self._phase != "reading":
            self._runner.run(lambda _t: ds.close(), parent=self)
            return
        name = ds.name.removeprefix("Preview of ")
        self.message.setText(f"Showing the first records of {name} while the import continues…")
        self._set_dataset(ds)

    def _on_read(self, job: Any) -> None:
        report = job.report
        self._set_dataset(job.dataset)
        files = ", ".join(report.files)
        text = f"Read {report.records:,} events from {files} in {report.seconds:.1f} s; saving…"
        self._begin("saving", text + _warnings_text(report.warnings))
        catalog = self.catalog

        def work(token: CancelToken) -> Any:
            return catalog.save(job, _progress_of(token), token.cancelled)

        self._active = self._runner.run(
            work,
            lambda info: self._on_saved(info, report, list(job.sources)),
            on_failure=self._on_step_failed,
            on_progress=self._on_progress,
            on_dropped=self._on_dropped,
            purpose="logs.import",
            label="Save the dataset",
            parent=self,
        )

    def _on_saved(self, info: Any, report: Any, sources: list[Path] | None = None) -> None:
        self._end_step()
        text = f"Imported {report.records:,} events from {', '.join(report.files)}."
        if not info.complete:
            text += " Reading steps and details in the background…"
        self.message.setText(text + _warnings_text(report.warnings))
        unsettled = [d for d in report.date_orders if not d["settled"]]
        if unsettled and sources:  # the documented default picked the order: offer the other one
            other = DMY if unsettled[0]["order"] == MDY else MDY
            self._reorder = (sources, other)
            self.reorder_button.setText(f"Re-import as {order_name(other)}")
            self.reorder_button.setVisible(True)
        self.refresh_datasets()
        self.open_dataset(info.id)
        self.sig_imported.emit(info.id)

    def _finish(self, ds: Dataset) -> None:
        """Search text and details of a staged import, while the dataset is already in use."""
        catalog = self.catalog

        def work(token: CancelToken) -> list[str]:
            return catalog.finish(ds, _progress_of(token), token.cancelled)

        self._begin("finishing", None)
        self._active = self._runner.run(
            work,
            lambda warnings: self._on_finished(ds, warnings),
            on_failure=self._on_step_failed,
            on_progress=self._on_progress,
            on_dropped=self._on_dropped,
            lane=f"dataset:{ds.id}",
            label="Read steps and details",
            parent=self,
        )

    def _on_finished(self, ds: Dataset, warnings: list[str]) -> None:
        self._end_step()
        if ds is not self.dataset:
            return
        self.message.setText(
            f"{ds.name}: search text, steps and details are ready." + _warnings_text(warnings)
        )
        self.refresh_datasets()
        self.run_query()
        self.sig_finished.emit(ds.id)

    def reimport_other_date_order(self) -> Job | None:
        """Import the same files again with the day/month order the default did not pick."""
        if self._reorder is None:
            return None
        sources, order = self._reorder
        return self.import_files(sources, date_order=order)

    def cancel_active(self) -> None:
        if self._active is not None:
            self._active.cancel()

    def _begin(self, phase: str, text: str | None) -> None:
        self._phase = phase
        if text:
            self.message.setText(text)
        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.cancel_button.setText("Cancel export" if phase == "export" else "Cancel")
        self._update_buttons()

    def _end_step(self) -> None:
        self._active = None
        self._phase = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        self._update_buttons()

    def _on_progress(self, done: int, total: int, text: str) -> None:
        """This page's own step (the runner reports each job's progress to its submitter)."""
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        self.progress.setFormat(f"{text[:40]} %p%" if total else text[:40])

    def _on_dropped(self, job: Job) -> None:
        """A cancelled step: say what was kept (the runner reports cancelled work here, not as a failure)."""
        if job is not self._active:
            return
        phase = self._phase
        self._end_step()
        if phase in ("reading", "saving"):
            self.message.setText("Import cancelled; nothing was saved.")
            if self.dataset is not None and self.dataset.path is None and self.live_org is None:
                self._drop_dataset()  # the head preview or the unsaved read
        elif phase == "finishing":
            self.message.setText(
                "Stopped reading steps and details; they are read the next time this dataset is opened."
            )
        elif phase == "export":
            self.message.setText("Export cancelled; no file was written.")

    def _on_step_failed(self, exc: BaseException) -> None:
        phase = self._phase
        self._end_step()
        what = {
            "reading": "Import",
            "saving": "Saving the dataset",
            "finishing": "Reading details",
            "export": "Export",
        }.get(phase or "", "The operation")
        self.message.setText(f"{what} failed: {exc}")
        if (
            phase in ("reading", "saving")
            and self.dataset is not None
            and self.dataset.path is None
            and self.live_org is None
        ):
            self._drop_dataset()  # an unsaved import is gone: do not leave it on screen
        errors.show_error(self, exc)

    # ---- opening
    def open_dataset(self, dataset_id: str) -> None:
        catalog = self.catalog

        def work(_t: CancelToken) -> tuple[Dataset, bool]:
            ds = catalog.open(dataset_id)
            return ds, bool(ds.pending)

        def opened(result: tuple[Dataset, bool]) -> None:
            ds, pending = result
            self._set_dataset(ds)
            if pending and self._phase is None:
                self._finish(ds)

        self._stop_live()
        self._runner.run(work, opened, purpose="logs.open", parent=self)

    def _set_dataset(self, ds: Dataset, live_org: str | None = None) -> None:
        old = self.dataset
        self.dataset = ds
        self.live_org = live_org
        if old is not None and old is not ds:
            old_ds = old
            self._runner.run(lambda _t: old_ds.close(), lane=f"dataset:{old_ds.id}", parent=self)
        i = self.source.findData(ds.id)
        self.source.setCurrentIndex(max(i, 0))
        self.follow.setEnabled(live_org is not None)
        if live_org is None:
            self.follow.setChecked(False)
        self._charts_dirty = True
        self.charts.clear()  # never show another dataset's numbers while the new ones are computed
        self._update_buttons()
        self.run_query()

    def _drop_dataset(self) -> None:
        ds = self.dataset
        self.dataset = None
        self.model.set_result("", 0, [])
        self.details.clear()
        self.counts.setText("")
        self.charts.clear()
        if ds is not None:
            self._runner.run(lambda _t: ds.close(), lane=f"dataset:{ds.id}", parent=self)
        self._update_buttons()

    def delete_current(self) -> None:
        ds = self.dataset
        if ds is None or ds.path is None:
            return
        info = self._infos.get(ds.id)
        size = f" ({info.records:,} events)" if info is not None else ""
        if not ConfirmDialog.ask(
            self,
            "Delete dataset",
            f"Delete the imported dataset “{ds.name}”{size} from this computer? The original file is not "
            "touched.",
            yes="Delete",
        ):
            return
        catalog, dataset_id, name, audit = self.catalog, ds.id, ds.name, self._audit
        self._drop_dataset()

        def work(_t: CancelToken) -> None:
            catalog.delete(dataset_id)
            if audit is not None:
                audit().record("logs.dataset.delete", params={"dataset": dataset_id, "name": name})

        def done(_r: None) -> None:
            self.message.setText(f"Deleted the dataset {name}.")
            self.refresh_datasets()

        self._runner.run(work, done, lane=f"dataset:{dataset_id}", parent=self)

    # ---- live
    def open_live(self, org_id: str) -> None:
        if not org_id or self._api is None:
            self.message.setText("Enter an org id and connect to a platform to see its live log.")
            return
        api_provider = self._api

        def work(_t: CancelToken) -> Any:
            return live_source.load_recent(api_provider(), org_id)

        def failed(exc: BaseException) -> None:
            self.message.setText(f"Could not load the live log of {org_id}: {_reason(exc)} "
                                 "Select Live log to try again.")

        self.message.setText(f"Loading the live log of {org_id}…")
        self._runner.run(work, lambda load: self._on_live(org_id, load), on_failure=failed,
                         purpose="logs.open", parent=self)

    def _on_live(self, org_id: str, load: Any) -> None:
        self._set_dataset(load.dataset, live_org=org_id)
        what = f"{load.loaded:,} newest events, loading older ones…" if load.older_cursor else \
            f"all {load.loaded:,} events loaded. Tick Follow to tail."
        self.message.setText(f"Live log of {org_id}: {what}")
        if load.older_cursor:
            self._backfill(load.dataset, org_id, load.older_cursor, load.loaded)

    def _backfill(self, ds: Dataset, org_id: str, cursor: str, loaded: int) -> None:
        """Walk the keyset cursor back through the whole log, a batch per step, refreshing the view."""
        api_provider = self._api

        def work(token: CancelToken) -> tuple[int, str | None]:
            token.progress(loaded, 0, f"Loading older events of {org_id}")
            return live_source.load_older(api_provider(), org_id, ds, cursor, cancelled=token.cancelled)

        def done(result: tuple[int, str | None]) -> None:
            if ds is not self.dataset:
                return
            added, nxt = result
            total = loaded + added
            self.run_query()
            if nxt:
                self.message.setText(f"Live log of {org_id}: {total:,} events loaded, loading older ones…")
                self._backfill(ds, org_id, nxt, total)
            else:
                self.message.setText(
                    f"Live log of {org_id}: all {total:,} events loaded. Tick Follow to tail."
                )

        def failed(exc: BaseException) -> None:
            if ds is self.dataset:  # what was loaded stays; the rest can be fetched again
                self.message.setText(f"Live log of {org_id}: {loaded:,} events loaded; loading older ones "
                                     f"failed: {_reason(exc)} Select Live log to try again.")

        self._runner.run(work, done, on_failure=failed, purpose="logs.backfill",
                         label=f"Live log of {org_id}", parent=self)

    def _stop_live(self) -> None:
        """Leaving the current dataset: stop loading the live log, and stop reading details in the
        background (it resumes when that dataset is opened again)."""
        self._runner.cancel_purpose("logs.backfill")
        self.follow.setChecked(False)
        if self._phase == "finishing":
            self.cancel_active()

    def _on_follow_toggled(self, on: bool) -> None:
        if on and self.live_org:
            self.follow_timer.start()
        else:
            self.follow_timer.stop()

    def _poll_live(self) -> None:
        ds, org, api_provider = self.dataset, self.live_org, self._api
        if ds is None or org is None or api_provider is None or self._polling:
            return  # one poll at a time: a slow poll is waited for, never superseded (its rows would be lost)

        def work(_t: CancelToken) -> tuple[int, list[Any]]:
            api = api_provider()
            events: list[Any] = []
            added = live_source.poll(api, org, ds, on_events=events.extend)
            try:
                alerts = live_twins.check_events(api, org, events)
            except Exception:
                log.warning("live twin check failed for %s", org, exc_info=True)
                alerts = []
            return added, alerts

        self._polling = True
        self._runner.run(work, self._on_polled, on_failure=self._on_poll_failed, parent=self)

    def _on_polled(self, result: tuple[int, list[Any]]) -> None:
        self._polling = False
        added, alerts = result
        if alerts:
            self.show_twin_alert(alerts[-1], more=len(alerts) - 1)
        if added:
            self.run_query()

    def show_twin_alert(self, alert: Any, more: int = 0) -> None:
        """Flag a SCIM create that looks like a manual account's twin (``live_twins``)."""
        self._twin_target = alert.target()
        extra = f" (and {more} more)" if more else ""
        set_status(self.twin_alert, f"⚠ {alert.text}{extra}", error=True)
        self.twin_alert.setToolTip("\n".join(alert.evidence))
        self.twin_box.setVisible(True)
        self.sig_twin_alert.emit(alert.text)

    def _open_twin(self) -> None:
        if self._twin_target is not None:
            self.sig_open_reconciliation.emit(dict(self._twin_target))

    def _on_poll_failed(self, exc: BaseException) -> None:
        """Pause following on an error (network, auth) instead of repeating the dialog every 2 s."""
        self._polling = False
        self.follow.setChecked(False)
        self.message.setText(f"Follow paused: {exc}")
        errors.show_error(self, exc)

    # ---- query
    def current_filter(self) -> LogFilter:
        return LogFilter(
            status=self.status.currentData() or None,
            action=self.action.currentData() or None,
            error_code=self.error_code.text().strip() or None,
            job=self.job.text().strip() or None,
            cycle=self.cycle.text().strip() or None,
            text=self.text.text().strip() or None,
            since=self.since.dateTime().toPython().replace(tzinfo=UTC) if self.use_time.isChecked() else None,
            until=self.until.dateTime().toPython().replace(tzinfo=UTC) if self.use_time.isChecked() else None,
        )

    def clear_filters(self) -> None:
        for w in (self.status, self.action, self.error_code, self.job, self.cycle, self.text, self.use_time):
            w.blockSignals(True)
        self.status.setCurrentIndex(0)
        self.action.setCurrentIndex(0)
        for edit in (self.error_code, self.job, self.cycle, self.text):
            edit.clear()
        self.use_time.setChecked(False)
        for edit in (self.since, self.until):
            edit.setEnabled(False)
        for w in (self.status, self.action, self.error_code, self.job, self.cycle, self.text, self.use_time):
            w.blockSignals(False)
        self.run_query()

    def _filter_time(self, since: datetime, until: datetime) -> None:
        utc = QTimeZone.utc()
        for edit, value in ((self.since, since), (self.until, until)):
            edit.blockSignals(True)
            edit.setDateTime(QDateTime.fromSecsSinceEpoch(int(value.timestamp()), utc))
            edit.blockSignals(False)
        if self.use_time.isChecked():
            self._debounce.start()
        else:
            self.use_time.setChecked(True)

    def _on_sort(self, column: int, order: Qt.SortOrder) -> None:
        self.sort_key = SORT_KEYS[column]
        self.descending = order == Qt.SortOrder.DescendingOrder
        self.run_query()

    def run_query(self) -> None:
        ds = self.dataset
        if ds is None:
            return
        flt, sort, desc = self.current_filter(), self.sort_key, self.descending

        def work(_t: CancelToken) -> QueryResult:
            return ds.query(flt, sort=sort, descending=desc, page_size=PAGE)

        self._runner.run(work, lambda r: self._on_result(ds, r), purpose="logs.query", parent=self)

    def _on_result(self, ds: Dataset, result: QueryResult) -> None:
        if ds is not self.dataset:
            return
        self.result, self.shown = result, ds
        self.model.set_result(result.view, result.total, result.first_page)
        total = sum(result.counts.values())
        parts = [f"{result.total:,} shown of {total:,}"] + [f"{k}: {v:,}" for k, v in result.counts.items()]
        self.counts.setText("   ·   ".join(parts))
        self.sig_query_done.emit(result.total)
        # Number the whole view now, so a scroll or a jump to the end finds its page in ~10 ms.
        self._runner.run(lambda _t: ds.prepare(result.view), purpose="logs.prepare", parent=self)
        self._charts_dirty = True
        self._update_charts_if_visible()

    def _fetch_page(self, view: str, page_no: int) -> None:
        ds = self.dataset
        if ds is None:
            return

        def work(_t: CancelToken) -> list[Any]:
            return ds.rows(view, page_no * PAGE, PAGE)

        self._runner.run(work, lambda rows: self.model.add_page(view, page_no, rows), parent=self)

    # ---- charts
    def _update_charts_if_visible(self) -> None:
        if self.tabs.currentWidget() is self.charts and self._charts_dirty:
            self.update_charts()

    def update_charts(self) -> None:
        ds = self.dataset
        if ds is None:
            return
        flt = self.current_filter()
        self._charts_dirty = False

        def work(_t: CancelToken) -> ChartData:
            bucket, timeline = ds.timeline(flt)
            return ChartData.from_rows(bucket, timeline, ds.top_errors(flt), ds.per_cycle(flt))

        def done(data: ChartData) -> None:
            if ds is self.dataset:
                self.charts.set_data(data)
                self.sig_charts_updated.emit()

        self._runner.run(work, done, purpose="logs.charts", parent=self)

    # ---- export
    def choose_export(self) -> None:
        ds = self.dataset
        if ds is None:
            return
        stem = "".join(c if c.isalnum() or c in "-_." else "_" for c in ds.name)[:60] or "provisioning-log"
        path, chosen = QFileDialog.getSaveFileName(
            self, "Export the view", f"{Path(stem).stem}-view.csv", "CSV (*.csv);;Excel workbook (*.xlsx)"
        )
        if path:
            if "xlsx" in chosen and not path.lower().endswith(".xlsx"):
                path += ".xlsx"
            self.export_to(path)

    def export_to(self, path: str | Path) -> Job | None:
        """Export the filtered, sorted view to ``path`` (CSV or XLSX by extension) in the background."""
        ds = self.dataset
        if ds is None:
            return None
        flt, sort, desc = self.current_filter(), self.sort_key, self.descending
        target = Path(path)
        warnings: list[str] = []  # filled by the worker, read by ``done`` after it finished

        def work(token: CancelToken) -> int:
            return export_view(
                ds,
                target,
                flt,
                sort=sort,
                descending=desc,
                warnings=warnings,
                cancelled=token.cancelled,
                progress=lambda done, total: token.progress(done, total, f"Exporting {done:,} rows"),
            )

        def done(rows: int) -> None:
            self._end_step()
            self.message.setText(f"Exported {rows:,} rows to {target}." + "".join(f" {w}" for w in warnings))
            self.sig_exported.emit(str(target), rows)

        self._begin("export", f"Exporting the view to {target.name}…")
        self._active = self._runner.run(
            work,
            done,
            on_failure=self._on_step_failed,
            on_progress=self._on_progress,
            on_dropped=self._on_dropped,
            purpose="logs.export",
            label=f"Export {target.name}",
            parent=self,
        )
        return self._active

    # ---- details
    def _show_details(self, row: int) -> None:
        seq, ds = self.model.seq_at(row), self.dataset
        if seq is None or ds is None:
            return

        def work(_t: CancelToken) -> dict[str, Any] | None:
            return ds.event(seq)

        self._runner.run(work, lambda ev: self._render_details(seq, ev), purpose="logs.details", parent=self)

    def _render_details(self, seq: int, ev: dict[str, Any] | None) -> None:
        self._details_event = ev
        if ev is None:
            self.details.clear()
            self.details_note.setText("")
            self.reconcile_button.setVisible(False)
            return
        target = reconciliation_target(ev)
        self.details.setPlainText(render_details(ev, reconcilable=target is not None))
        self.reconcile_button.setVisible(target is not None)
        note = ""
        if ev.get("details_pending"):
            note = "Steps and nested details of this file are still being read…"
        elif ev.get("details_missing"):
            note = (
                "Steps and nested details are unavailable (the source file was moved before they were read)."
            )
        self.details_note.setText(note)
        self.sig_details_shown.emit(seq)

    def open_in_reconciliation(self) -> None:
        ev = self._details_event
        target = reconciliation_target(ev) if ev else None
        if target is None:
            return
        if self.live_org:
            target["org_id"] = self.live_org
        self.sig_open_reconciliation.emit(target)


def _reason(exc: BaseException) -> str:
    """A failure as one sentence for the status line (details of unexpected ones are in the log)."""
    if isinstance(exc, UserFacingError):
        return str(exc).rstrip(".") + "."
    return f"an unexpected {type(exc).__name__} (details are in the log)."


def _progress_of(token: CancelToken) -> Any:
    def progress(fraction: float, text: str) -> None:
        token.progress(int(fraction * 1000) if fraction >= 0 else 0, 1000 if fraction >= 0 else 0, text)

    return progress


def _warnings_text(warnings: list[str]) -> str:
    if not warnings:
        return ""
    more = f" (+{len(warnings) - 3} more)" if len(warnings) > 3 else ""
    return " " + " ".join(warnings[:3]) + more


def render_details(ev: dict[str, Any], *, reconcilable: bool | None = None) -> str:
    """The details pane's text: parsed error + explanation (first), summary, steps, modified properties.

    ``reconcilable``: whether ``reconciliation_target(ev)`` names a person (computed when not given)."""
    lines: list[str] = []  # the error first: it is why support opens a failed event
    if ev.get("error_code") or ev.get("error_reason"):
        parsed = parse_error_text(ev.get("error_reason"))
        ex = explain(ev.get("error_code") or parsed.code)
        lines += ["ERROR", f"  Code         {ex.code}" + ("" if ex.known else "  (unknown code)")]
        if parsed.http_status or ev.get("http_status"):
            lines.append(f"  HTTP status  {parsed.http_status or ev.get('http_status')}")
        if parsed.scim_error:
            lines.append(f"  SCIM error   {json.dumps(parsed.scim_error, ensure_ascii=False)}")
        if parsed.retry_count is not None:
            lines.append(f"  Retried      {parsed.retry_count} times; next retry {parsed.next_retry or '—'}")
        lines += [f"  Meaning      {ex.meaning}", f"  Likely cause {ex.cause}", f"  Fix          {ex.fix}"]
        if reconcilable is None:
            reconcilable = reconciliation_target(ev) is not None
        if ex.duplicate_related or reconcilable:
            lines.append("  → Check this person on the Reconciliation page (Open in Reconciliation).")
        if ev.get("error_reason"):
            lines += ["  Text:", *("    " + t for t in str(ev["error_reason"])[:4000].splitlines())]
    lines += ["", "SUMMARY"] if lines else ["SUMMARY"]
    raw = ev.get("raw") if isinstance(ev.get("raw"), dict) else {}
    for label, key in (
        ("Time", "time"),
        ("Action", "action"),
        ("Status", "status"),
        ("Source", "source_name"),
        ("UPN", "source_upn"),
        ("Source id", "source_id"),
        ("Target id", "target_id"),
        ("Job", "job_id"),
        ("Cycle", "cycle_id"),
        ("Change", "change_id"),
        ("Duration ms", "duration_ms"),
        ("HTTP status", "http_status"),
        ("Initiated by", "initiator_type"),
        ("App", "service_principal"),
        ("Event id", "event_id"),
        ("File", "source_file"),
    ):
        if ev.get(key) not in (None, ""):
            lines.append(f"  {label:<12} {ev[key]}")
    for label, key in (("Request", "method"), ("Path", "path"), ("Operation", "op_summary")):
        if raw.get(key):
            lines.append(f"  {label:<12} {raw[key]}")
    steps = steps_of(ev.get("steps"))
    if steps:
        lines += ["", "STEPS"]
        for i, s in enumerate(steps, 1):
            lines.append(
                f"  {i}. [{s.get('provisioningStepType', '')}] {s.get('name', '')} — {s.get('status', '')}"
            )
            if s.get("description"):
                lines.append(f"     {s['description']}")
            details = s.get("details")
            if isinstance(details, dict):
                for k, v in list(details.items())[:20]:
                    lines.append(f"       {k}: {v}")
            elif details not in (None, ""):
                lines.append(f"       {details}")
    mods = modified_of(ev.get("modified_properties"))
    if mods:
        lines += ["", "MODIFIED PROPERTIES (old → new)"]
        for name, old, new in mods:
            lines.append(f"  {name}: {old if old is not None else '∅'} → {new if new is not None else '∅'}")
    extra = raw.get("csv")
    if isinstance(extra, dict) and any(v not in (None, "") for v in extra.values()):
        lines += ["", "OTHER COLUMNS (CSV)"]
        lines += [f"  {k}: {v}" for k, v in extra.items() if v not in (None, "")]
    return "\n".join(lines)
