"""A scripted walk through every page of the GUI: ``scim-console selfcheck --gui-tour``.

Why it exists: the installer drops whatever the bundle carries that the app never loads (Qt
plugins, translations, Python modules; docs/packaging.md §2). What "never loads" means is
measured by running *this* tour and the CLI smoke run under ``strace`` (packaging/measure-usage.sh),
and CI runs the tour in the installed package (.ci/package) so a file that was dropped but is
needed fails the build instead of a support engineer's first click.

The tour starts the GUI on a fresh embedded sandbox (demo seed), waits for the organisations,
opens the first org's overview, its templates dialog and the Enable-SCIM wizard, the live
provisioning log of that org, the reconciliation scan, the audit trail, the settings and the
connections dialog, and renders every page. Any exception in a slot or a critical Qt message fails it.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Callable
from typing import Any

STEP_TIMEOUT_S = 60.0


class TourFailed(RuntimeError):
    """A step did not finish, or a slot raised during the tour."""


def run_tour(*, log: Callable[[str], None]) -> int:
    """Walk the GUI; ``log`` receives one line per step. Returns the process exit code."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler
    from PySide6.QtWidgets import QApplication, QDialog

    from console.ui.app import build_gui
    from console.ui.dialogs.connections_dialog import ConnectionsDialog

    problems: list[str] = []

    def on_exception(kind: type[BaseException], exc: BaseException, _tb: Any) -> None:
        problems.append(f"{kind.__name__}: {exc}")

    def on_qt_message(kind: QtMsgType, _ctx: Any, text: str) -> None:
        if kind in (QtMsgType.QtCriticalMsg, QtMsgType.QtFatalMsg):
            problems.append(f"Qt: {text}")

    sys.excepthook = on_exception
    qInstallMessageHandler(on_qt_message)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    gui = build_gui(app, sandbox=True, hooks=False)
    if gui is None:
        log("another instance is running: set SCIM_CONSOLE_HOME to an empty directory")
        return 1
    window = gui.window

    def wait(what: str, done: Callable[[], bool], timeout_s: float = STEP_TIMEOUT_S) -> None:
        started = time.monotonic()
        while not done():
            if problems:
                raise TourFailed(f"{what}: {problems[0]}")
            if time.monotonic() - started > timeout_s:
                raise TourFailed(f"{what}: not done after {timeout_s:.0f} s")
            app.processEvents()
            time.sleep(0.01)  # a poll loop outside any test: the app's worker threads run meanwhile
        app.processEvents()
        log(f"ok  {what} ({time.monotonic() - started:.2f} s)")

    def idle() -> bool:
        return not gui.runner.busy

    def render(page: Any) -> None:
        window.show_page(page)
        wait(f"page {type(page).__name__}", idle)
        if window.grab().isNull():
            raise TourFailed(f"page {type(page).__name__} rendered nothing")

    try:
        window.show()
        orgs = window.orgs_page
        wait("sandbox started, organisations listed",
             lambda: gui.sandbox is not None and orgs.table.model().rowCount() > 0 and idle())
        render(orgs)
        orgs.open_org_at(0)
        overview = orgs.overview
        wait("org overview loaded", lambda: overview.details is not None and idle())
        overview.open_templates()
        wait("templates dialog", idle)
        overview.templates_dialog.close()
        overview.open_enable_wizard()
        wait("enable-SCIM wizard", lambda: getattr(overview, "wizard", None) is not None and idle())
        overview.wizard.close()
        org_id = overview.details.org.id
        window.logs_page.open_live(org_id)
        render(window.logs_page)
        window.open_reconciliation(org_id)
        render(window.reconciliation_page)
        render(window.audit_page)
        render(window.settings_page)
        # MainWindow.open_connections runs this dialog modally (exec); the tour shows it instead.
        connections = ConnectionsDialog(window.ctx.profiles, gui.runner, window)
        connections.show()
        wait("connections dialog", idle)
        for dialog in window.findChildren(QDialog):
            dialog.close()
        window.show_about()
        app.processEvents()
        if problems:
            raise TourFailed(problems[0])
    except TourFailed as exc:
        log(f"FAIL {exc}")
        return 1
    finally:
        window.close()
        gui.shutdown()
    log("tour finished: every page shown")
    return 0
