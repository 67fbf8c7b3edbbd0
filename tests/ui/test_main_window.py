"""Main window: navigation, status bar connection state, F5 refresh, shortcuts, saved geometry."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import QKeySequence

from console.core.models import Profile
from console.services.api_errors import NetworkError
from console.services.paths import AppPaths
from console.services.store import Store
from console.ui.connection import CONNECTED, ERROR, Connection
from console.ui.context import AppContext
from console.ui.main_window import MainWindow
from console.ui.settings import Settings
from console.ui.tasks import TaskRunner
from tests.ui.conftest import FakeAdminApi, org

PROFILE = Profile(id="p1", name="Test platform", admin_url="https://platform.example.com/admin/v1")


class FlakyApi(FakeAdminApi):
    """Health fails until ``healthy`` is set: drives the error → F5 → connected path."""

    healthy = False

    def health(self) -> dict[str, str]:
        if not self.healthy:
            raise NetworkError("Could not connect to platform.example.com.")
        return {"status": "ok"}


def _window(qtbot: Any, runner: TaskRunner, store: Store, api: Any) -> MainWindow:
    paths = AppPaths.default().ensure()
    themes: list[str] = []
    ctx = AppContext(paths=paths, settings=Settings.in_dir(paths.config_dir), runner=runner,
                     connection=Connection(runner, lambda _p: api), profiles=None,
                     audit_provider=lambda: store.audit, keyring_status="memory (tests)",
                     apply_theme=themes.append)
    window = MainWindow(ctx)
    window.applied_themes = themes  # type: ignore[attr-defined]
    qtbot.addWidget(window)
    window.show()
    qtbot.waitExposed(window)
    return window


def test_navigation_switches_pages(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    window = _window(qtbot, runner, store, FakeAdminApi())
    titles = [window.nav.item(i).text() for i in range(window.nav.count())]
    assert titles == ["Organisations", "Provisioning logs", "Reconciliation", "Audit", "Settings"]
    with qtbot.waitSignal(window.sig_page_changed, timeout=2000) as changed:
        window.nav.setCurrentRow(1)
    assert changed.args == ["Provisioning logs"]
    assert window.current_page() is window.logs_page
    with qtbot.waitSignal(window.audit_page.sig_records_loaded, timeout=5000):
        window.nav.setCurrentRow(3)  # the audit page loads when shown
    assert window.current_page() is window.audit_page


def test_status_bar_shows_connection_and_orgs_load(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    api = FakeAdminApi([org("contoso", "Contoso Ltd"), org("fabrikam", "Fabrikam Inc")])
    window = _window(qtbot, runner, store, api)
    assert "Not connected" in window.connection_label.text()
    with qtbot.waitSignal(window.orgs_page.sig_orgs_loaded, timeout=5000):
        window.ctx.connection.connect_to(PROFILE)
    text = window.connection_label.text()
    assert "Test platform" in text
    assert "https://platform.example.com/admin/v1" in text
    assert "connected" in text
    assert window.ctx.connection.state == CONNECTED
    assert window.orgs_page.model.rowCount() == 2


def test_connection_error_then_f5_reconnects(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    api = FlakyApi([org("contoso")])
    window = _window(qtbot, runner, store, api)
    with qtbot.waitSignal(window.ctx.connection.sig_state_changed, timeout=5000,
                          check_params_cb=lambda state, _d: state == ERROR):
        window.ctx.connection.connect_to(PROFILE)
    assert window.connection_label.text().endswith("error")
    assert window.orgs_page.empty.title.text() == "Cannot reach the platform"
    assert "platform.example.com" in window.orgs_page.empty.text.text()
    api.healthy = True
    with qtbot.waitSignal(window.orgs_page.sig_orgs_loaded, timeout=5000):
        qtbot.keyClick(window, Qt.Key.Key_F5)
    assert window.connection_label.text().endswith("connected")


def test_f5_reloads_the_visible_page(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    api = FakeAdminApi([org("contoso")])
    window = _window(qtbot, runner, store, api)
    with qtbot.waitSignal(window.orgs_page.sig_orgs_loaded, timeout=5000):
        window.ctx.connection.connect_to(PROFILE)
    api.orgs.append(org("northwind"))
    with qtbot.waitSignal(window.orgs_page.sig_orgs_loaded, timeout=5000) as loaded:
        qtbot.keyClick(window, Qt.Key.Key_F5)
    assert loaded.args == [2]


def test_shortcuts_have_fallbacks(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    window = _window(qtbot, runner, store, FakeAdminApi())
    assert window.quit_action.shortcuts()
    assert window.preferences_action.shortcuts()
    assert QKeySequence("F5") in window.refresh_action.shortcuts()
    window.activateWindow()
    qtbot.waitActive(window)
    window.nav.setCurrentRow(0)
    window.find_action.trigger()
    qtbot.waitUntil(window.orgs_page.search.hasFocus, timeout=2000)
    window.preferences_action.trigger()
    assert window.current_page() is window.settings_page


def test_theme_menu_applies_and_saves(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    window = _window(qtbot, runner, store, FakeAdminApi())
    dark = next(a for a in window.theme_group.actions() if a.data() == "dark")
    dark.trigger()
    assert window.applied_themes == ["dark"]  # type: ignore[attr-defined]
    assert window.ctx.settings.get("ui/theme") == "dark"
    assert window.settings_page.theme.currentData() == "dark"


def test_geometry_is_saved_and_restored(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    window = _window(qtbot, runner, store, FakeAdminApi())
    window.resize(760, 520)  # fits the 800×600 offscreen screen (restoreGeometry clamps)
    window.close()
    assert not window.ctx.settings.get("window/geometry").isEmpty()
    again = _window(qtbot, runner, store, FakeAdminApi())
    assert again.size().width() == 760


def test_diagnostics_are_redacted(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    window = _window(qtbot, runner, store, FakeAdminApi())
    secret = "scop_" + "S3cr3tS3cr3tS3cr3tS3cr3t"
    window.ctx.keyring_status = f"token={secret}"
    text = window.diagnostics()
    assert "PySide6" in text
    assert secret not in text


def test_a_log_event_and_an_org_page_open_the_reconciliation_page(qtbot: Any, runner: TaskRunner,
                                                                   store: Store) -> None:
    window = _window(qtbot, runner, store, FakeAdminApi())
    page = window.reconciliation_page
    # An offline export names no org: the page asks for one and keeps the person for the search.
    window.logs_page.sig_open_reconciliation.emit({"upn": "jdoe@northwind.com",
                                                    "error_code": "EntryConflict"})
    assert window.current_page() is page
    assert "jdoe@northwind.com" in page.status.text()
    assert page._pending_text == "jdoe@northwind.com"
    # The org page's button names the org: the page selects it and starts the analysis.
    window.show_page(window.orgs_page)
    window.orgs_page.overview.org_id = "northwind"
    window.orgs_page.overview.reconcile_button.click()
    assert window.current_page() is page
    assert page.org.currentText() == "northwind"
    assert not page.analyse_button.isEnabled()  # analysing: with no connection that fails, and says so
    qtbot.waitUntil(lambda: page.analyse_button.isEnabled(), timeout=10_000)
    assert page.status.text() == "Not connected to a platform yet."
