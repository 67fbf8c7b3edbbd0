"""Organisations: search the platform's orgs, see SCIM and template readiness, open one.

Search-as-you-type is debounced (``SEARCH_DEBOUNCE_MS``) and latest-wins (purpose
``orgs.search``): typing "con" then "contoso" never shows the "con" results last. Double-click or
Enter opens the org's overview beside the list.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QSortFilterProxyModel, Qt, QTimer, Signal
from PySide6.QtGui import QKeySequence, QShortcut
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QPushButton,
    QSplitter,
    QStackedWidget,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from console.core.errors import UserFacingError
from console.core.models import OrgSummary
from console.ui import errors
from console.ui.models.orgs_model import SORT_ROLE, OrgsModel
from console.ui.pages.org_overview import OrgOverview
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import EmptyState, plain_label

SEARCH_DEBOUNCE_MS = 250
PAGE_SIZE = 200
MAX_ORGS = 5000  # a search box, not a bulk export: more than this means "refine the search"
COMPACT_HIDDEN = (1, 2, 5)  # ID, Domains, Users: shown in the overview instead


class OrgsPage(QWidget):
    """Signals:
    sig_orgs_loaded(int): the table shows a fresh result (number of orgs).
    sig_org_opened(str): the overview of this org id was opened.
    """

    sig_orgs_loaded = Signal(int)
    sig_org_opened = Signal(str)

    title = "Organisations"

    def __init__(self, api_provider: Callable[[], Any], runner: TaskRunner, parent: QWidget | None = None,
                 *, debounce_ms: int = SEARCH_DEBOUNCE_MS) -> None:
        super().__init__(parent)
        self._api = api_provider
        self._runner = runner
        self.model = OrgsModel(self)
        self.proxy = QSortFilterProxyModel(self)
        self.proxy.setSourceModel(self.model)
        self.proxy.setSortRole(SORT_ROLE)
        self._loaded_query: str | None = None
        self._debounce = QTimer(self)
        self._debounce.setSingleShot(True)
        self._debounce.setInterval(debounce_ms)
        self._debounce.timeout.connect(self.reload)
        self._build()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        header = QHBoxLayout()
        header.addWidget(plain_label(self.title, role="page-title"))
        header.addStretch(1)
        self.count_label = plain_label("", role="muted")
        header.addWidget(self.count_label)
        outer.addLayout(header)

        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search by name, ID or domain…")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_changed)
        self.search.returnPressed.connect(self.reload)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.setToolTip("Reload from the platform (F5)")
        self.refresh_button.clicked.connect(self.reload)
        bar.addWidget(self.search, 1)
        bar.addWidget(self.refresh_button)
        outer.addLayout(bar)

        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.setSortingEnabled(True)
        self.table.sortByColumn(0, Qt.SortOrder.AscendingOrder)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setAlternatingRowColors(True)
        self.table.setShowGrid(False)
        self.table.setWordWrap(False)
        self.table.verticalHeader().setVisible(False)
        header_view = self.table.horizontalHeader()
        header_view.setHighlightSections(False)
        header_view.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header_view.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        header_view.setMinimumSectionSize(60)
        self.table.doubleClicked.connect(lambda index: self.open_org_at(index.row()))
        for key in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shortcut = QShortcut(QKeySequence(key), self.table)
            shortcut.setContext(Qt.ShortcutContext.WidgetShortcut)
            shortcut.activated.connect(self._open_current)

        self.empty = EmptyState("Not connected", "Choose a connection in File → Connections….")
        self.list_stack = QStackedWidget()
        self.list_stack.addWidget(self.empty)
        self.list_stack.addWidget(self.table)

        self.overview = OrgOverview(self._api, self._runner)
        self.overview.sig_closed.connect(self.close_overview)
        self.overview.hide()
        self.overview.setMinimumWidth(420)
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.list_stack)
        self.splitter.addWidget(self.overview)
        self.splitter.setStretchFactor(0, 1)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setChildrenCollapsible(False)
        outer.addWidget(self.splitter, 1)
        self.hint = plain_label("Double-click an organisation or press Enter to open it · Ctrl+F to search · "
                                "F5 to refresh", role="muted")
        outer.addWidget(self.hint)

    # ---- Public API

    def focus_search(self) -> None:
        self.search.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.search.selectAll()

    def reload(self) -> None:
        """Fetch the orgs matching the search text (latest wins)."""
        self._debounce.stop()
        query = self.search.text().strip()
        api = self._api

        def _fetch(token: CancelToken) -> tuple[str, list[OrgSummary], bool]:
            client = api()
            orgs: list[OrgSummary] = []
            cursor: str | None = None
            while True:
                token.raise_if_cancelled()
                page = client.list_orgs(q=query or None, limit=PAGE_SIZE, cursor=cursor)
                orgs.extend(page.items)
                cursor = page.next_cursor
                token.progress(len(orgs), 0, f"Loading organisations… {len(orgs)}")
                if not cursor or len(orgs) >= MAX_ORGS:
                    return query, orgs, bool(cursor)

        if self.model.rowCount() == 0:
            self.empty.set_message("Loading organisations…")
        self._runner.run(_fetch, self._on_loaded, on_failure=self._on_failed, purpose="orgs.search",
                         label="Loading organisations", parent=self)
        if self.overview.isVisible():
            self.overview.refresh()

    def open_org_at(self, proxy_row: int) -> None:
        source = self.proxy.mapToSource(self.proxy.index(proxy_row, 0))
        org = self.model.org_at(source.row())
        if org is not None:
            self.open_org(org.id)

    def open_org(self, org_id: str) -> None:
        self._set_compact(True)
        self.overview.show()
        if self.splitter.sizes()[1] == 0:
            total = max(self.splitter.width(), 600)
            self.splitter.setSizes([total // 2, total - total // 2])
        self.overview.load(org_id)
        self.sig_org_opened.emit(org_id)

    def close_overview(self) -> None:
        self.overview.hide()
        self._set_compact(False)
        self.table.setFocus()

    def clear(self, message: str = "Not connected", detail: str = "") -> None:
        self.model.set_orgs(())
        self.count_label.setText("")
        self.empty.set_message(message, detail)
        self.list_stack.setCurrentWidget(self.empty)
        self.overview.hide()

    def _set_compact(self, compact: bool) -> None:
        """With the overview open the list keeps only the columns that fit: name, SCIM, template."""
        for col in COMPACT_HIDDEN:
            self.table.setColumnHidden(col, compact)

    # ---- Slots

    def _on_search_changed(self, _text: str) -> None:
        self._debounce.start()

    def _open_current(self) -> None:
        index = self.table.currentIndex()
        if index.isValid():
            self.open_org_at(index.row())

    def _on_loaded(self, result: tuple[str, list[OrgSummary], bool]) -> None:
        query, orgs, truncated = result
        self._loaded_query = query
        self.model.set_orgs(orgs)
        n = len(orgs)
        suffix = "+ (refine the search)" if truncated else ""
        self.count_label.setText(f"{n}{suffix} organisation{'s' if n != 1 else ''}")
        if orgs:
            self.list_stack.setCurrentWidget(self.table)
        elif query:
            self.empty.set_message(f"No organisation matches “{query}”",
                                   "Try part of a name, an ID or a domain.")
            self.list_stack.setCurrentWidget(self.empty)
        else:
            self.empty.set_message("No organisations on this platform yet")
            self.list_stack.setCurrentWidget(self.empty)
        self.sig_orgs_loaded.emit(n)

    def _on_failed(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, UserFacingError) else "Unexpected error; details are in the log."
        hint = getattr(exc, "hint", None)
        self.count_label.setText("")
        if self.model.rowCount() == 0:
            self.empty.set_message("Could not load organisations", f"{text}\n{hint}" if hint else text)
            self.list_stack.setCurrentWidget(self.empty)
        if not isinstance(exc, UserFacingError) or self.model.rowCount():
            errors.show_error(self, exc)

