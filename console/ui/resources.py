"""Runtime assets through ``importlib.resources`` (conventions §2.5, §4.2 item 12).

Plain files under ``console/assets`` work the same from a checkout, a wheel and a PyInstaller
bundle; no ``.qrc`` build step and no ``sys._MEIPASS`` branch.
"""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import PurePosixPath

from PySide6.QtGui import QIcon, QPixmap

_PACKAGE = "console.assets"


def _read(name: str) -> bytes:
    path = PurePosixPath(name)
    if path.is_absolute() or ".." in path.parts:
        raise ValueError(f"asset names are relative to console/assets: {name!r}")
    return resources.files(_PACKAGE).joinpath(*path.parts).read_bytes()


def icon(name: str = "app") -> QIcon:
    """``icons/<name>.svg`` as a ``QIcon`` (rendered by Qt's SVG image plugin)."""
    pixmap = QPixmap()
    pixmap.loadFromData(_read(f"icons/{name}.svg"), "SVG")
    return QIcon(pixmap)


@cache
def stylesheet() -> str:
    return _read("styles/app.qss").decode("utf-8")
