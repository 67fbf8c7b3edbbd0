"""The self-check's Qt probe: can this machine load a Qt platform plugin and show a window?

Run in a child process by ``console.services.selfcheck`` (``scim-console selfcheck --qt-probe``)
so a crashing platform plugin cannot take the self-check down, and so the services layer stays
Qt-free. In a PyInstaller bundle there is no ``python -c``: the bundle's own executable runs it.
"""

from __future__ import annotations

import os


def probe() -> str:
    """Show a tiny window on the configured platform (offscreen by default); describe what loaded."""
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6 import __version__ as pyside_version
    from PySide6.QtWidgets import QApplication, QWidget

    app = QApplication.instance() or QApplication([])
    widget = QWidget()
    widget.resize(10, 10)
    widget.show()
    app.processEvents()
    widget.close()
    return f"PySide6 {pyside_version}, platform {QApplication.platformName()}"
