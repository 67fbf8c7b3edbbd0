"""The console's *local* audit trail: who did what to which org, from this machine.

Filters (text, org, action, outcome, date range) combine with AND and are evaluated by the store
in SQL; the table shows one page (``PAGE_SIZE`` rows) at a time, newest first. Queries run
through the task runner (latest wins), never on the GUI thread.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from PySide6.QtCore import QDate, Qt, QTimer, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDateEdit,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.core.models import AuditFilter, AuditRecord
from console.ui.models.audit_model import AuditModel
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import EmptyState, plain_label

PAGE_SIZE = 100
FILTER_DEBOUNCE_MS = 250
OUTCOMES = ("", "ok", "error", "cancelled", "dry_run")


class AuditPage(QWidget):
    """Signals:
    sig_records_loaded(int): the table shows a fresh page (number of rows).
    """

    sig_records_loaded = Signal(int)

    title = "Audit"

    def __init__(self, audit_provider: Callable[[], Any], runner: TaskRunner, parent: QWidget | None = None,
                 *, page_size: int = PAGE_SIZE, debounce_ms: int = FILTER_DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self._audit = audit_provider
        self._runner = runner
        self.page_size = page_size
        self.offset = 0
        self.has_more = False
        self.model = AuditModel(self)
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self._first_page)
        self._build()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        header = QHBoxLayout()
        header.addWidget(plain_label(self.title, role="page-title"))
        header.addStretch(1)
        self.page_label = plain_label("", role="muted")
        header.addWidget(self.page_label)
        outer.addLayout(header)
        outer.addWidget(plain_label("Everything this console changed, recorded on this computer.",
                                    role="muted"))

        bar = QHBoxLayout()
        self.text = QLineEdit()
        self.text.setPlaceholderText("Search actions, orgs, details…")
        self.text.setClearButtonEnabled(True)
        self.org = QLineEdit()
        self.org.setPlaceholderText("Org ID")
        self.org.setMaximumWidth(140)
        self.action = QLineEdit()
        self.action.setPlaceholderText("Action")
        self.action.setMaximumWidth(160)
        self.outcome = QComboBox()
        for value in OUTCOMES:
            self.outcome.addItem(value or "Any outcome", value)
        self.use_dates = QCheckBox("From")
        today = QDate.currentDate()
        self.since = QDateEdit(today.addDays(-30))
        self.until = QDateEdit(today)
        for edit in (self.since, self.until):
            edit.setCalendarPopup(True)
            edit.setDisplayFormat("yyyy-MM-dd")
            edit.setEnabled(False)
        self.use_dates.toggled.connect(self.since.setEnabled)
        self.use_dates.toggled.connect(self.until.setEnabled)
        for widget in (self.text, self.org, self.action):
            widget.textChanged.connect(self._debounce.start)
        self.outcome.currentIndexChanged.connect(self._debounce.start)
        self.use_dates.toggled.connect(self._debounce.start)
        self.since.dateChanged.connect(self._debounce.start)
        self.until.dateChanged.connect(self._debounce.start)
        bar.addWidget(self.text, 1)
        bar.addWidget(self.org)
        bar.addWidget(self.action)
        bar.addWidget(self.outcome)
        bar.addWidget(self.use_dates)
        bar.addWidget(self.since)
        bar.addWidget(plain_label("to"))
        bar.addWidget(self.until)
        outer.addLayout(bar)

        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        head = self.table.horizontalHeader()
        head.setStretchLastSection(True)
        for col, width in enumerate((150, 120, 190, 110, 80)):
            head.resizeSection(col, width)
        head.setSectionResizeMode(QHeaderView.ResizeMode.Interactive)
        self.empty = EmptyState("No audit entries yet",
                                "Changes you make to customer orgs (enabling SCIM, minting tokens, merges…) "
                                "are recorded here.")
        self.stack = QStackedWidget()
        self.stack.addWidget(self.empty)
        self.stack.addWidget(self.table)
        outer.addWidget(self.stack, 1)

        nav = QHBoxLayout()
        nav.addStretch(1)
        self.prev_button = QPushButton("‹ Newer")
        self.next_button = QPushButton("Older ›")
        self.prev_button.clicked.connect(self.previous_page)
        self.next_button.clicked.connect(self.next_page)
        nav.addWidget(self.prev_button)
        nav.addWidget(self.next_button)
        outer.addLayout(nav)
        self._update_nav()

    # ---- Public API

    def current_filter(self) -> AuditFilter:
        since = until = None
        if self.use_dates.isChecked():
            since = _utc_midnight(self.since.date())
            until = _utc_midnight(self.until.date()) + timedelta(days=1)  # inclusive end date
        return AuditFilter(
            since=since, until=until,
            org_id=self.org.text().strip() or None,
            action=self.action.text().strip() or None,
            outcome=self.outcome.currentData() or None,
            text=self.text.text().strip() or None,
            limit=self.page_size + 1,  # one extra row tells whether an older page exists
            offset=self.offset,
        )

    def reload(self) -> None:
        self._debounce.stop()
        filters, audit = self.current_filter(), self._audit

        def _query(_token: CancelToken) -> list[AuditRecord]:
            return audit().query(filters)

        self._runner.run(_query, self._on_loaded, purpose="audit.query", label="Loading the audit trail",
                         parent=self)

    def next_page(self) -> None:
        if self.has_more:
            self.offset += self.page_size
            self.reload()

    def previous_page(self) -> None:
        if self.offset:
            self.offset = max(0, self.offset - self.page_size)
            self.reload()

    def focus_search(self) -> None:
        self.text.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.text.selectAll()

    # ---- Slots

    def _first_page(self) -> None:
        self.offset = 0
        self.reload()

    def _on_loaded(self, records: list[AuditRecord]) -> None:
        self.has_more = len(records) > self.page_size
        page = records[: self.page_size]
        self.model.set_records(page)
        filtered = self.current_filter()
        any_filter = any((filtered.text, filtered.org_id, filtered.action, filtered.outcome, filtered.since))
        if page:
            self.stack.setCurrentWidget(self.table)
            self.page_label.setText(f"Entries {self.offset + 1}–{self.offset + len(page)}")
        else:
            if any_filter:
                self.empty.set_message("No entries match these filters")
            else:
                self.empty.set_message("No audit entries yet",
                                       "Changes you make to customer orgs (enabling SCIM, minting tokens, "
                                       "merges…) are recorded here.")
            self.stack.setCurrentWidget(self.empty)
            self.page_label.setText("")
        self._update_nav()
        self.sig_records_loaded.emit(len(page))

    def _update_nav(self) -> None:
        self.prev_button.setEnabled(self.offset > 0)
        self.next_button.setEnabled(self.has_more)


def _utc_midnight(date: QDate) -> datetime:
    return datetime(date.year(), date.month(), date.day(), tzinfo=UTC)
