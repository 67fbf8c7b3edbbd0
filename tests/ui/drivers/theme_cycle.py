"""Open and close every dialog and the wizard, then cycle every theme, in one process.

Run in a subprocess by tests/ui/test_theme_cycle.py, because what it guards against is a segfault:
replacing the application QStyle (each theme switch used to call ``setStyle("Fusion")``) after a
QWizard had been shown left Qt walking the freed style in the next ``setStyleSheet``. Exit 0 and the
line "cycled N themes" mean the process survived.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

from console.services.paths import AppPaths
from console.services.profiles import ProfileService
from console.services.secrets import SecretStore
from console.services.store import Store
from console.ui import theme
from console.ui.dialogs.confirm import ConfirmDialog
from console.ui.dialogs.connections_dialog import ConnectionsDialog
from console.ui.dialogs.templates_dialog import TemplatesDialog
from console.ui.pages.enable_wizard import EnableWizard
from console.ui.pages.wizard.base import SetupServices
from console.ui.tasks import TaskRunner

THEMES = ["dark", "system", "light", "dark", "light", "system"]


def _unreachable() -> object:
    raise RuntimeError("no platform in this driver")


def main() -> int:
    app = QApplication(sys.argv[:1])
    theme.apply_theme(app, "system")
    runner = TaskRunner(app)
    paths = AppPaths.default().ensure()
    store = Store.open(None, paths)
    secrets = SecretStore.in_memory()
    window = QWidget()
    window.show()

    wizard = EnableWizard("contoso", "Contoso Ltd", SetupServices(api=_unreachable, secrets=secrets,
                          store=store, operator="driver"), runner, window)
    wizard.show()
    app.processEvents()
    wizard.next()
    app.processEvents()
    wizard.reject()

    templates = TemplatesDialog("contoso", _unreachable, runner, window)
    templates.show()
    app.processEvents()
    templates.reject()

    connections = ConnectionsDialog(ProfileService(store, secrets), runner, window)
    connections.show()
    app.processEvents()
    connections.reject()

    def answer() -> None:  # the real confirmation box, answered "Cancel"
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            box.button(QMessageBox.StandardButton.Cancel).click()
        else:
            QTimer.singleShot(10, answer)

    QTimer.singleShot(0, answer)
    assert ConfirmDialog.ask(window, "Revoke", "Revoke the token?") is False
    about = QMessageBox(window)
    about.setText("About")
    about.open()
    app.processEvents()
    about.close()
    app.processEvents()
    gc.collect()

    for name in THEMES:
        theme.apply_theme(app, name)
        app.processEvents()
    print(f"cycled {len(THEMES)} themes", flush=True)
    runner.shutdown()
    store.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
