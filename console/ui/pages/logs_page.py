"""Provisioning logs: imported Entra exports (File → Open, drag and drop) and the platform's live log.

All I/O (imports, SQL queries, page fetches, API calls) runs through the TaskRunner; the table is an
``EventsModel`` over the DuckDB query engine (never a proxy model). Imported text is shown as plain
text only (``QPlainTextEdit``, PlainText labels): exports come from customers and are untrusted.
"""

from __future__ import annotations

import json
from datetime import UTC
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
    QVBoxLayout,
    QWidget,
)

from console.core.entra_errors import explain, parse_error_text
from console.core.entra_log_schema import STATUSES, modified_of, steps_of
from console.services.logstore import Dataset, LogCatalog, LogFilter, QueryResult
from console.services.logstore import live as live_source
from console.services.logstore.preview import preview
from console.ui import errors
from console.ui.models.events_model import PAGE, SORT_KEYS, EventsModel
from console.ui.tasks import CancelToken, Job, TaskRunner
from console.ui.widgets.common import plain_label

FOLLOW_INTERVAL_MS = 2000
DEBOUNCE_MS = 250


class LogsPage(QWidget):
    """Signals: sig_query_done(total) after a query; sig_details_shown(seq); sig_datasets_changed()."""

    sig_query_done = Signal(int)
    sig_details_shown = Signal(int)
    sig_datasets_changed = Signal()
    sig_imported = Signal(str)

    title = "Provisioning logs"

    def __init__(
        self,
        paths: Any,
        runner: TaskRunner,
        api_provider: Any = None,
        parent: QWidget | None = None,
        *,
        debounce_ms: int = DEBOUNCE_MS,
    ) -> None:
        super().__init__(parent)
        self._runner = runner
        self._api = api_provider
        self.catalog = LogCatalog.for_paths(paths)
        self.dataset: Dataset | None = None
        self.live_org: str | None = None
        self.result: QueryResult | None = None
        self._import_job: Job | None = None
        self.sort_key, self.descending = "time", True
        self.model = EventsModel(self)
        self.model.fetch_page = self._fetch_page
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.run_query)
        self._polling = False
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
        self.source = QComboBox()
        self.source.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.source.setMinimumContentsLength(18)
        self.source.activated.connect(self._on_source_chosen)
        self.open_button = QPushButton("Open file…")
        self.open_button.clicked.connect(self.choose_file)
        self.delete_button = QPushButton("Delete dataset")
        self.delete_button.clicked.connect(self.delete_current)
        sources = QHBoxLayout()
        sources.addWidget(plain_label("Dataset:"))
        sources.addWidget(self.source, 1)
        sources.addWidget(self.open_button)
        sources.addWidget(self.delete_button)
        self.org = QLineEdit()
        self.org.setPlaceholderText("Org id (live)")
        self.org.setMaximumWidth(140)
        self.live_button = QPushButton("Live log")
        self.live_button.clicked.connect(lambda: self.open_live(self.org.text().strip()))
        self.follow = QCheckBox("Follow")
        self.follow.setToolTip("Poll for new events every 2 s; untick to pause")
        self.follow.toggled.connect(self._on_follow_toggled)
        for w in (self.org, self.live_button, self.follow):
            head.addWidget(w)
        outer.addLayout(head)
        outer.addLayout(sources)

        prog = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.cancel_button = QPushButton("Cancel import")
        self.cancel_button.setVisible(False)
        self.cancel_button.clicked.connect(self.cancel_import)
        self.message = plain_label(
            "Open an Entra JSON export (or drop it here), or show an org's live log.", role="muted", wrap=True
        )
        prog.addWidget(self.message, 1)
        prog.addWidget(self.progress)
        prog.addWidget(self.cancel_button)
        outer.addLayout(prog)

        bar = QHBoxLayout()
        self.status = QComboBox()
        self.status.addItem("Any status", "")
        for s in STATUSES:
            self.status.addItem(s, s)
        self.action = QComboBox()
        self.action.addItem("Any action", "")
        for a in ("create", "update", "delete", "disable", "stageddelete", "other"):
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
            bar.addWidget(combo)
        for edit in (self.error_code, self.job, self.cycle):
            edit.setMaximumWidth(170)
            edit.textChanged.connect(self._debounce.start)
            bar.addWidget(edit)
        self.text.textChanged.connect(self._debounce.start)
        bar.addWidget(self.text, 1)
        outer.addLayout(bar)
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
        for col, width in enumerate((170, 70, 70, 190, 250, 110, 190, 80, 90)):
            self.table.setColumnWidth(col, width)
        self.table.selectionModel().currentRowChanged.connect(
            lambda cur, _prev: self._show_details(cur.row())
        )
        split.addWidget(self.table)
        self.details = QPlainTextEdit()
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText("Select an event to see its steps, modified properties and error.")
        split.addWidget(self.details)
        split.setSizes([420, 260])
        outer.addWidget(split, 1)

    # ---- sources
    def refresh_datasets(self) -> None:
        def work(_t: CancelToken) -> list[Any]:
            return self.catalog.list()

        self._runner.run(work, self._fill_sources, purpose="logs.datasets", parent=self)

    def _fill_sources(self, infos: list[Any]) -> None:
        current = self.dataset.id if self.dataset is not None else None
        self.source.blockSignals(True)
        self.source.clear()
        self.source.addItem("Choose a dataset…", None)
        for info in infos:
            self.source.addItem(f"{info.name} · {info.records:,} events · {info.created_at[:16]}", info.id)
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

    def choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Open provisioning log", "", "Logs (*.json *.ndjson *.jsonl *.zip *.txt);;All files (*)"
        )
        if path:
            self.import_file(path)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        urls = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if urls:
            event.acceptProposedAction()
            self.import_file(urls[0])

    def import_file(self, path: str | Path) -> Job:
        path = Path(path)
        catalog = self.catalog

        def work(token: CancelToken) -> Any:
            def progress(fraction: float, text: str) -> None:
                token.progress(
                    int(fraction * 1000) if fraction >= 0 else 0, 1000 if fraction >= 0 else 0, text
                )

            return catalog.import_file(path, progress, token.cancelled)

        self.progress.setRange(0, 0)
        self.progress.setVisible(True)
        self.cancel_button.setVisible(True)
        self.message.setText(f"Importing {path.name}…")
        self._runner.sig_progress_changed.connect(self._on_progress)
        self._import_job = self._runner.run(
            work,
            self._on_imported,
            on_failure=self._on_import_failed,
            purpose="logs.import",
            label=f"Import {path.name}",
            parent=self,
        )
        self._runner.run(lambda _t: preview(path), self._on_preview, purpose="logs.preview", parent=self)
        return self._import_job

    def _on_preview(self, ds: Dataset | None) -> None:
        """Show the first records while the import continues (ignored once the import finished)."""
        if ds is None:
            return
        if self._import_job is None:
            self._runner.run(lambda _t: ds.close(), parent=self)
            return
        name = ds.name.removeprefix("Preview of ")
        self.message.setText(
            f"Showing the first records of {name} while the import continues…"
        )
        self._set_dataset(ds)

    def cancel_import(self) -> None:
        if self._import_job is not None:
            self._import_job.cancel()

    def _on_progress(self, text: str, done: int, total: int) -> None:
        if total:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)

    def _end_import(self) -> None:
        self._import_job = None
        self.progress.setVisible(False)
        self.cancel_button.setVisible(False)
        try:
            self._runner.sig_progress_changed.disconnect(self._on_progress)
        except (RuntimeError, TypeError):
            pass

    def _on_imported(self, result: Any) -> None:
        info, report = result
        self._end_import()
        text = f"Imported {report.records:,} events from {', '.join(report.files)} in {report.seconds:.1f} s."
        if report.warnings:
            text += " " + " ".join(report.warnings)
        self.message.setText(text)
        self.refresh_datasets()
        self.open_dataset(info.id)
        self.sig_imported.emit(info.id)

    def _on_import_failed(self, exc: BaseException) -> None:
        self._end_import()
        self.message.setText(f"Import failed: {exc}")
        errors.show_error(self, exc)

    def open_dataset(self, dataset_id: str) -> None:
        catalog = self.catalog

        def work(_t: CancelToken) -> Dataset:
            return catalog.open(dataset_id)

        self._runner.run(work, self._set_dataset, purpose="logs.open", parent=self)

    def open_live(self, org_id: str) -> None:
        if not org_id or self._api is None:
            self.message.setText("Enter an org id and connect to a platform to see its live log.")
            return
        api_provider = self._api

        def work(_t: CancelToken) -> Dataset:
            return live_source.load_recent(api_provider(), org_id)

        self.message.setText(f"Loading the live log of {org_id}…")
        self._runner.run(
            work, lambda ds: self._set_dataset(ds, live_org=org_id), purpose="logs.open", parent=self
        )

    def _set_dataset(self, ds: Dataset, live_org: str | None = None) -> None:
        old = self.dataset
        self.dataset = ds
        self.live_org = live_org
        if live_org:
            self.message.setText(
                f"Live log of {live_org}: the newest events. Tick Follow to tail."
            )
        if old is not None and old is not ds:
            old_ds = old
            self._runner.run(lambda _t: old_ds.close(), purpose=None, parent=self)
        i = self.source.findData(ds.id)
        self.source.setCurrentIndex(max(i, 0))
        self.follow.setEnabled(live_org is not None)
        if live_org is None:
            self.follow.setChecked(False)
        self.run_query()

    def delete_current(self) -> None:
        ds = self.dataset
        if ds is None or ds.path is None:
            return
        catalog, dataset_id = self.catalog, ds.id
        self.dataset = None
        self.model.set_result("", 0, [])
        self.details.clear()

        def work(_t: CancelToken) -> None:
            ds.close()
            catalog.delete(dataset_id)

        self._runner.run(work, lambda _r: self.refresh_datasets(), parent=self)

    # ---- follow mode
    def _on_follow_toggled(self, on: bool) -> None:
        if on and self.live_org:
            self.follow_timer.start()
        else:
            self.follow_timer.stop()

    def _poll_live(self) -> None:
        ds, org, api_provider = self.dataset, self.live_org, self._api
        if ds is None or org is None or api_provider is None or self._polling:
            return  # one poll at a time: a slow poll is waited for, never superseded (its rows would be lost)

        def work(_t: CancelToken) -> int:
            return live_source.poll(api_provider(), org, ds)

        self._polling = True
        self._runner.run(work, self._on_polled, on_failure=self._on_poll_failed, parent=self)

    def _on_polled(self, added: int) -> None:
        self._polling = False
        if added:
            self.run_query()

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

        self._runner.run(work, self._on_result, purpose="logs.query", parent=self)

    def _on_result(self, result: QueryResult) -> None:
        self.result = result
        self.model.set_result(result.view, result.total, result.first_page)
        total = sum(result.counts.values())
        parts = [f"{result.total:,} shown of {total:,}"] + [f"{k}: {v:,}" for k, v in result.counts.items()]
        self.counts.setText("   ·   ".join(parts))
        self.sig_query_done.emit(result.total)

    def _fetch_page(self, view: str, page_no: int) -> None:
        ds = self.dataset
        if ds is None:
            return

        def work(_t: CancelToken) -> list[Any]:
            return ds.rows(view, page_no * PAGE, PAGE)

        self._runner.run(work, lambda rows: self.model.add_page(view, page_no, rows), parent=self)

    # ---- details
    def _show_details(self, row: int) -> None:
        seq, ds = self.model.seq_at(row), self.dataset
        if seq is None or ds is None:
            return

        def work(_t: CancelToken) -> dict[str, Any] | None:
            return ds.event(seq)

        self._runner.run(work, lambda ev: self._render_details(seq, ev), purpose="logs.details", parent=self)

    def _render_details(self, seq: int, ev: dict[str, Any] | None) -> None:
        if ev is None:
            self.details.clear()
            return
        self.details.setPlainText(render_details(ev))
        self.sig_details_shown.emit(seq)


def render_details(ev: dict[str, Any]) -> str:
    """The details pane's text: parsed error + explanation (first), summary, steps, modified properties."""
    lines: list[str] = []  # the error first: it is why support opens a failed event
    if ev.get("error_code") or ev.get("error_reason"):
        parsed = parse_error_text(ev.get("error_reason"))
        ex = explain(ev.get("error_code") or parsed.code)
        lines += ["ERROR", f"  Code         {ex.code}" + ("" if ex.known else "  (unknown code)")]
        if parsed.http_status:
            lines.append(f"  HTTP status  {parsed.http_status}")
        if parsed.scim_error:
            lines.append(f"  SCIM error   {json.dumps(parsed.scim_error, ensure_ascii=False)}")
        if parsed.retry_count is not None:
            lines.append(f"  Retried      {parsed.retry_count} times; next retry {parsed.next_retry or '—'}")
        lines += [f"  Meaning      {ex.meaning}", f"  Likely cause {ex.cause}", f"  Fix          {ex.fix}"]
        if ex.duplicate_related:
            lines.append("  → Check this person on the Reconciliation page.")
        if ev.get("error_reason"):
            lines += ["  Text:", *("    " + t for t in str(ev["error_reason"])[:4000].splitlines())]
    lines += (["", "SUMMARY"] if lines else ["SUMMARY"])
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
    mods = modified_of(ev.get("modified_properties"))
    if mods:
        lines += ["", "MODIFIED PROPERTIES (old → new)"]
        for name, old, new in mods:
            lines.append(f"  {name}: {old if old is not None else '∅'} → {new if new is not None else '∅'}")
    return "\n".join(lines)
