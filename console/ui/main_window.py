"""The main window: navigation, pages, menus, status bar. It composes; pages do the work.

Kept small on purpose (conventions §0 item 5): each page is its own class in ``ui/pages``; the
window only wires signals, menus and the status bar (active connection + busy indicator).
"""

from __future__ import annotations

import logging
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QHBoxLayout,
    QListWidget,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QStackedWidget,
    QWidget,
)

import console
from console.core.redact import redact
from console.ui import errors, resources
from console.ui.connection import CONNECTED, CONNECTING, ERROR
from console.ui.context import AppContext
from console.ui.dialogs.connections_dialog import ConnectionsDialog
from console.ui.pages.audit_page import AuditPage
from console.ui.pages.enable_wizard import services_from_ctx
from console.ui.pages.logs_page import LogsPage
from console.ui.pages.orgs_page import OrgsPage
from console.ui.pages.reconcile_page import ReconcilePage
from console.ui.pages.settings_page import SettingsPage, open_folder
from console.ui.widgets.common import plain_label, plain_tip

log = logging.getLogger(__name__)

_STATE_TEXT = {CONNECTING: "connecting…", CONNECTED: "connected", ERROR: "error"}


def standard_shortcut(standard: QKeySequence.StandardKey, fallback: str) -> list[QKeySequence]:
    """The platform's binding for ``standard``, or ``fallback`` where it maps to nothing (Linux
    has no Quit/Preferences bindings: desktop-stack §7.3)."""
    keys = QKeySequence.keyBindings(standard)
    return keys if keys else [QKeySequence(fallback)]


class MainWindow(QMainWindow):
    """Signals:
    sig_page_changed(str): the visible page (its title).
    sig_reset_training_requested(): File → Reset training data… (the composition root owns the
        embedded sandbox, so it confirms and resets; the action is enabled while that sandbox runs).
    """

    sig_page_changed = Signal(str)
    sig_reset_training_requested = Signal()

    def __init__(self, ctx: AppContext, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.ctx = ctx
        self.setWindowTitle(console.APP_NAME)
        self.setWindowIcon(resources.icon("app"))
        self.resize(1180, 720)
        self._build_pages()
        self._build_menus()
        self._build_status_bar()
        self._connect()
        self._restore_state()

    # ---- Construction

    def _build_pages(self) -> None:
        ctx = self.ctx
        self.orgs_page = OrgsPage(ctx.connection.api, ctx.runner)
        self.orgs_page.overview.setup_provider = lambda: services_from_ctx(ctx)  # Enable SCIM / tokens
        self.logs_page = LogsPage(ctx.paths, ctx.runner, ctx.connection.api,
                                  audit_provider=ctx.audit_provider)
        self.reconciliation_page = ReconcilePage(ctx.connection.api, ctx.runner, ctx.paths,
                                                 services_provider=lambda: services_from_ctx(ctx))
        self.orgs_page.overview.sig_open_reconciliation.connect(self.open_reconciliation)
        self.logs_page.sig_open_reconciliation.connect(self.open_log_person)
        self.audit_page = AuditPage(ctx.audit_provider, ctx.runner)
        self.settings_page = SettingsPage(ctx.settings, ctx.paths, ctx.keyring_status)
        self.pages: list[QWidget] = [self.orgs_page, self.logs_page, self.reconciliation_page,
                                     self.audit_page, self.settings_page]
        self.nav = QListWidget()
        self.nav.setObjectName("navigation")
        self.nav.setFixedWidth(190)
        self.nav.setFocusPolicy(Qt.FocusPolicy.TabFocus)
        self.stack = QStackedWidget()
        for page in self.pages:
            self.nav.addItem(page.title)
            self.stack.addWidget(page)
        self.nav.currentRowChanged.connect(self._on_nav_changed)
        central = QWidget()
        layout = QHBoxLayout(central)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(0)
        layout.addWidget(self.nav)
        layout.addWidget(self.stack, 1)
        self.setCentralWidget(central)
        self.nav.setCurrentRow(0)

    def _action(self, text: str, slot: Any, shortcuts: list[QKeySequence] | None = None) -> QAction:
        action = QAction(text, self)
        if shortcuts:
            action.setShortcuts(shortcuts)
        action.triggered.connect(slot)
        self.addAction(action)  # shortcuts work even while the menu bar is hidden
        return action

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file_menu = bar.addMenu("&File")
        self.connections_action = self._action("&Connections…", self.open_connections,
                                                [QKeySequence("Ctrl+Shift+O")])
        self.preferences_action = self._action(
            "&Preferences…", lambda: self.show_page(self.settings_page),
            standard_shortcut(QKeySequence.StandardKey.Preferences, "Ctrl+,"))
        self.preferences_action.setMenuRole(QAction.MenuRole.PreferencesRole)
        self.quit_action = self._action("&Quit", self.close,
                                        standard_shortcut(QKeySequence.StandardKey.Quit, "Ctrl+Q"))
        self.quit_action.setMenuRole(QAction.MenuRole.QuitRole)
        self.open_logs_action = self._action("&Open log files…", self.open_log_files,
                                             [QKeySequence(QKeySequence.StandardKey.Open)])
        self.reset_training_action = self._action("&Reset training data…",
                                                  self.sig_reset_training_requested.emit)
        self.reset_training_action.setToolTip("Restore the embedded sandbox to its demo data")
        self.reset_training_action.setEnabled(False)  # until the embedded sandbox runs
        file_menu.addAction(self.open_logs_action)
        file_menu.addSeparator()
        file_menu.addAction(self.connections_action)
        file_menu.addAction(self.reset_training_action)
        file_menu.addAction(self.preferences_action)
        file_menu.addSeparator()
        file_menu.addAction(self.quit_action)

        view_menu = bar.addMenu("&View")
        self.refresh_action = self._action("&Refresh", self.refresh,
                                           standard_shortcut(QKeySequence.StandardKey.Refresh, "F5"))
        self.find_action = self._action("&Find…", self.focus_search,
                                        standard_shortcut(QKeySequence.StandardKey.Find, "Ctrl+F"))
        view_menu.addAction(self.refresh_action)
        view_menu.addAction(self.find_action)
        theme_menu = view_menu.addMenu("&Theme")
        self.theme_group = QActionGroup(self)
        current = self.ctx.settings.get("ui/theme")
        for value in ("system", "light", "dark"):
            action = QAction(value.capitalize(), self, checkable=True)
            action.setData(value)
            action.setChecked(value == current)
            self.theme_group.addAction(action)
            theme_menu.addAction(action)
        self.theme_group.triggered.connect(lambda a: self.set_theme(a.data()))

        help_menu = bar.addMenu("&Help")
        help_menu.addAction(self._action("&About", self.show_about))
        help_menu.addAction(self._action("Open &log folder", lambda: open_folder(self.ctx.paths.log_dir)))
        help_menu.addAction(self._action("&Copy diagnostics", self.copy_diagnostics))

    def _build_status_bar(self) -> None:
        status = self.statusBar()
        self.connection_label = plain_label("Not connected")
        self.busy = QProgressBar()
        self.busy.setMaximumWidth(180)
        self.busy.setMaximumHeight(14)
        self.busy.setTextVisible(False)
        self.busy.setRange(0, 0)
        self.busy.hide()
        status.addPermanentWidget(self.busy)
        status.addPermanentWidget(self.connection_label)

    def _connect(self) -> None:
        ctx = self.ctx
        ctx.connection.sig_state_changed.connect(self._on_connection_state)
        ctx.connection.sig_profile_changed.connect(lambda _p: self._on_connection_state(
            ctx.connection.state, ctx.connection.detail))
        ctx.connection.sig_connected.connect(self.orgs_page.reload)
        ctx.runner.sig_busy_changed.connect(self._on_busy)
        ctx.runner.sig_progress_changed.connect(self._on_progress)
        self.settings_page.sig_theme_changed.connect(self.set_theme)
        if ctx.apply_log_level is not None:
            self.settings_page.sig_log_level_changed.connect(ctx.apply_log_level)

    def _restore_state(self) -> None:
        geometry = self.ctx.settings.get("window/geometry")
        if not geometry.isEmpty():
            self.restoreGeometry(geometry)
        state = self.ctx.settings.get("window/state")
        if not state.isEmpty():
            self.restoreState(state)
        header = self.ctx.settings.get("orgs/header_state")
        if not header.isEmpty():
            self.orgs_page.table.horizontalHeader().restoreState(header)

    # ---- Public API

    def show_page(self, page: QWidget) -> None:
        self.nav.setCurrentRow(self.pages.index(page))

    def current_page(self) -> QWidget:
        return self.stack.currentWidget()

    def refresh(self) -> None:
        """F5: reconnect after an error, otherwise reload the visible page."""
        connection = self.ctx.connection
        if connection.state == ERROR:
            connection.retry()
            return
        reload = getattr(self.current_page(), "reload", None)
        if callable(reload):
            reload()

    def open_reconciliation(self, org_id: str) -> None:
        """Show the Reconciliation page for ``org_id`` (from the org page; a log event: open_log_person)."""
        self.show_page(self.reconciliation_page)
        self.reconciliation_page.open_org(org_id)

    def open_log_person(self, target: dict) -> None:
        """A log event's person on the Reconciliation page: the live log names its org; an offline
        export does not, so the page keeps its org (or asks for one) and filters to the person."""
        person = next((target[k] for k in ("email", "upn", "target_id", "source_id") if target.get(k)), None)
        self.show_page(self.reconciliation_page)
        self.reconciliation_page.open_person(target.get("org_id"), person)

    def open_log_files(self) -> None:
        """File → Open log files…: the Provisioning logs page's file chooser."""
        self.show_page(self.logs_page)
        self.logs_page.choose_files()

    def focus_search(self) -> None:
        focus = getattr(self.current_page(), "focus_search", None)
        if callable(focus):
            focus()

    def open_connections(self) -> None:
        profiles = self.ctx.profiles
        if profiles is None:
            return
        current = self.ctx.connection.profile
        chosen = ConnectionsDialog.ask(profiles, self.ctx.runner, self,
                                       active_id=current.id if current else None)
        if chosen is not None:
            self.switch_profile(chosen)

    def switch_profile(self, profile: Any) -> None:
        profiles = self.ctx.profiles
        if profiles is not None:
            self.ctx.runner.run(lambda _t: profiles.switch(profile.id), label="Switching connection",
                                parent=self)
        self.orgs_page.clear("Connecting…")
        self.ctx.connection.connect_to(profile)

    def set_theme(self, theme: str) -> None:
        self.ctx.settings.set("ui/theme", theme)
        for action in self.theme_group.actions():
            action.setChecked(action.data() == theme)
        index = self.settings_page.theme.findData(theme)
        if index != self.settings_page.theme.currentIndex():
            self.settings_page.theme.blockSignals(True)
            self.settings_page.theme.setCurrentIndex(index)
            self.settings_page.theme.blockSignals(False)
        if self.ctx.apply_theme is not None:
            self.ctx.apply_theme(theme)

    def show_status(self, text: str, timeout_ms: int = 0) -> None:
        self.statusBar().showMessage(text, timeout_ms)

    def diagnostics(self) -> str:
        paths = self.ctx.paths
        profile = self.ctx.connection.profile
        lines = [errors.version_info(),
                 f"Config: {paths.config_dir}", f"Data: {paths.data_dir}", f"Logs: {paths.log_dir}",
                 f"Credential store: {self.ctx.keyring_status}",
                 f"Connection: {profile.name + ' ' + profile.admin_url if profile else 'none'} "
                 f"({self.ctx.connection.state})"]
        return redact("\n".join(lines))

    def copy_diagnostics(self) -> None:
        QApplication.clipboard().setText(self.diagnostics())
        self.show_status("Diagnostics copied to the clipboard (secrets removed).", 4000)

    def show_about(self) -> None:
        box = QMessageBox(self)
        box.setWindowTitle(f"About {console.APP_NAME}")
        box.setTextFormat(Qt.TextFormat.PlainText)
        box.setText(console.APP_NAME)
        box.setInformativeText(errors.version_info())
        box.setIconPixmap(resources.icon("app").pixmap(64, 64))
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()

    def bring_to_front(self) -> None:
        if self.isMinimized():
            self.showNormal()
        self.show()
        self.raise_()
        self.activateWindow()

    # ---- Slots

    def _on_nav_changed(self, row: int) -> None:
        if row < 0:
            return
        page = self.pages[row]
        self.stack.setCurrentWidget(page)
        if page is self.audit_page:
            self.audit_page.reload()
        elif page is self.reconciliation_page:
            self.reconciliation_page.on_shown()
        self.sig_page_changed.emit(page.title)

    def _on_connection_state(self, state: str, detail: str) -> None:
        profile = self.ctx.connection.profile
        if profile is None:
            self.connection_label.setText("Not connected — File → Connections…")
            return
        text = f"{profile.name} · {profile.admin_url} · {_STATE_TEXT.get(state, state)}"
        self.connection_label.setText(text)
        self.connection_label.setToolTip(plain_tip(detail) or "")
        if state == ERROR:
            self.orgs_page.clear("Cannot reach the platform", f"{detail}\nPress F5 to try again.")
            self.show_status("Connection failed — press F5 to retry.")
        elif state == CONNECTED:
            self.show_status("")

    def _on_busy(self, busy: bool) -> None:
        self.busy.setVisible(busy)
        if not busy:
            self.busy.setRange(0, 0)
            if self.statusBar().currentMessage().endswith("…"):
                self.show_status("")

    def _on_progress(self, text: str, done: int, total: int) -> None:
        if total > 0:
            self.busy.setRange(0, total)
            self.busy.setValue(done)
        if self.ctx.runner.busy and text:
            self.show_status(text if text.endswith("…") else f"{text}…")

    # ---- Qt overrides

    def closeEvent(self, event: QCloseEvent) -> None:
        settings = self.ctx.settings
        settings.set("window/geometry", self.saveGeometry())
        settings.set("window/state", self.saveState())
        settings.set("orgs/header_state", self.orgs_page.table.horizontalHeader().saveState())
        settings.sync()
        self.reconciliation_page.shutdown()
        super().closeEvent(event)
