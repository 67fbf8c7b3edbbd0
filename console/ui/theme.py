"""Light / dark / system colour scheme (desktop-stack §7.3).

Qt ≥ 6.8 can switch the scheme itself (``QStyleHints.setColorScheme``); the Fusion style then
paints with a matching palette. Where that is missing (or the platform ignores it, as offscreen
does) we set an explicit palette. Widgets use palette roles, never hard-coded colours, so both
paths look right. ``follow_system`` keeps "system" in sync with ``colorSchemeChanged``.
"""

from __future__ import annotations

import logging

from PySide6.QtCore import Qt
from PySide6.QtGui import QColor, QGuiApplication, QPalette
from PySide6.QtWidgets import QApplication

from console.ui import resources

log = logging.getLogger(__name__)

THEMES = ("system", "light", "dark")


def _dark_palette() -> QPalette:
    p = QPalette()
    window, base, text = QColor(37, 37, 38), QColor(30, 30, 30), QColor(230, 230, 230)
    highlight = QColor(42, 130, 218)
    for group in (QPalette.ColorGroup.Active, QPalette.ColorGroup.Inactive):
        p.setColor(group, QPalette.ColorRole.Window, window)
        p.setColor(group, QPalette.ColorRole.WindowText, text)
        p.setColor(group, QPalette.ColorRole.Base, base)
        p.setColor(group, QPalette.ColorRole.AlternateBase, QColor(45, 45, 48))
        p.setColor(group, QPalette.ColorRole.Text, text)
        p.setColor(group, QPalette.ColorRole.Button, QColor(50, 50, 52))
        p.setColor(group, QPalette.ColorRole.ButtonText, text)
        p.setColor(group, QPalette.ColorRole.ToolTipBase, base)
        p.setColor(group, QPalette.ColorRole.ToolTipText, text)
        p.setColor(group, QPalette.ColorRole.Highlight, highlight)
        p.setColor(group, QPalette.ColorRole.HighlightedText, QColor(255, 255, 255))
        p.setColor(group, QPalette.ColorRole.Link, QColor(86, 156, 214))
        p.setColor(group, QPalette.ColorRole.PlaceholderText, QColor(140, 140, 140))
    disabled = QColor(120, 120, 120)
    for role in (QPalette.ColorRole.WindowText, QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText):
        p.setColor(QPalette.ColorGroup.Disabled, role, disabled)
    return p


def effective_scheme(theme: str) -> Qt.ColorScheme:
    if theme == "dark":
        return Qt.ColorScheme.Dark
    if theme == "light":
        return Qt.ColorScheme.Light
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() if hasattr(hints, "colorScheme") else Qt.ColorScheme.Unknown


def apply_theme(app: QApplication, theme: str) -> Qt.ColorScheme:
    """Apply ``theme`` ("system", "light", "dark"); returns the scheme now in effect."""
    if theme not in THEMES:
        theme = "system"
    # Fusion once, never again: QApplication.setStyle deletes the previous QStyle, and a QWizard that
    # was shown keeps using it — the next setStyleSheet then walked a freed style and crashed
    # (switching Dark → System after any Enable SCIM wizard). Light/dark is the palette's job.
    # (app.style() is the style-sheet proxy once a sheet is set, so its name cannot tell; a property can.)
    if not app.property("console_fusion"):
        app.setStyle("Fusion")
        app.setProperty("console_fusion", True)
    hints = QGuiApplication.styleHints()
    schemes = {"dark": Qt.ColorScheme.Dark, "light": Qt.ColorScheme.Light}
    requested = schemes.get(theme, Qt.ColorScheme.Unknown)
    if hasattr(hints, "setColorScheme"):
        hints.setColorScheme(requested)
    scheme = effective_scheme(theme)
    if scheme == Qt.ColorScheme.Dark:
        app.setPalette(_dark_palette())
    else:
        app.setPalette(app.style().standardPalette())
    app.setStyleSheet(resources.stylesheet())
    app.setProperty("console_theme", theme)
    log.debug("theme %s -> %s", theme, scheme)
    return scheme


def follow_system(app: QApplication) -> None:
    """Re-apply "system" when the OS switches between light and dark."""
    hints = QGuiApplication.styleHints()
    if not hasattr(hints, "colorSchemeChanged"):
        return

    def _changed(_scheme: Qt.ColorScheme) -> None:
        if app.property("console_theme") == "system":
            apply_theme(app, "system")

    hints.colorSchemeChanged.connect(_changed)
