"""Assets through importlib.resources, and the light/dark palettes."""

from __future__ import annotations

from typing import Any

import pytest
from PySide6.QtGui import QPalette

from console.ui import resources, theme


def test_app_icon_renders(qapp: Any) -> None:
    icon = resources.icon("app")
    assert not icon.isNull()
    assert not icon.pixmap(32, 32).isNull()


def test_stylesheet_loads_and_names_are_checked(qapp: Any) -> None:
    assert "QTableView" in resources.stylesheet()
    with pytest.raises(ValueError):
        resources.icon("../../pyproject")


def test_dark_and_light_palettes(qapp: Any) -> None:
    try:
        theme.apply_theme(qapp, "dark")
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() < 80
        theme.apply_theme(qapp, "light")
        assert qapp.palette().color(QPalette.ColorRole.Window).lightness() > 180
    finally:
        theme.apply_theme(qapp, "system")
