"""Preferences: theme, log level, extra CA bundle, database URL, keyring status, folders.

Everything here is a preference stored in ``settings.ini`` (never a secret). Theme and log level
apply at once; the CA bundle applies to the next connection; the database URL after a restart
(the store is opened once, by the composition root).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from PySide6.QtCore import QUrl, Signal
from PySide6.QtGui import QDesktopServices
from PySide6.QtWidgets import (
    QComboBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from console.ui.settings import OPTIONS, Settings
from console.ui.widgets.common import plain_label, plain_tip

# A password inside a database URL would end up in settings.ini in clear text.
_URL_PASSWORD = re.compile(r"://[^/@:]*:[^/@]+@")


class SettingsPage(QWidget):
    """Signals:
    sig_theme_changed(str), sig_log_level_changed(str): applied at once by the main window.
    sig_setting_saved(str): a key was written to settings.ini.
    """

    sig_theme_changed = Signal(str)
    sig_log_level_changed = Signal(str)
    sig_setting_saved = Signal(str)

    title = "Settings"

    def __init__(self, settings: Settings, paths: Any, keyring_status: str = "",
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.settings = settings
        self.paths = paths
        outer = QVBoxLayout(self)
        outer.setContentsMargins(12, 12, 12, 12)
        outer.addWidget(plain_label(self.title, role="page-title"))
        form = QFormLayout()
        outer.addLayout(form)

        self.theme = QComboBox()
        for value in OPTIONS["ui/theme"].choices:
            self.theme.addItem(value.capitalize(), value)
        self.theme.setCurrentIndex(self.theme.findData(settings.get("ui/theme")))
        self.theme.currentIndexChanged.connect(self._on_theme)
        form.addRow("Theme:", self.theme)

        self.log_level = QComboBox()
        for value in OPTIONS["logging/level"].choices:
            self.log_level.addItem(value, value)
        self.log_level.setCurrentIndex(self.log_level.findData(settings.get("logging/level")))
        self.log_level.currentIndexChanged.connect(self._on_log_level)
        form.addRow("Log level:", self.log_level)

        ca_row = QHBoxLayout()
        self.ca_bundle = QLineEdit(settings.get("network/extra_ca_bundle"))
        self.ca_bundle.setPlaceholderText("Optional PEM file added to the system's trusted CAs")
        self.ca_bundle.editingFinished.connect(self._on_ca_bundle)
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse_ca_bundle)
        ca_row.addWidget(self.ca_bundle, 1)
        ca_row.addWidget(browse)
        form.addRow("Extra CA bundle:", ca_row)
        form.addRow("", plain_label("Used for new connections (reconnect with F5).", role="muted"))

        self.database_url = QLineEdit(settings.get("store/database_url"))
        self.database_url.setPlaceholderText("Empty: the local SQLite file in the data folder")
        self.database_url.editingFinished.connect(self._on_database_url)
        form.addRow("Database URL:", self.database_url)
        self.database_notice = plain_label("Takes effect after a restart. Never include a password here.",
                                           role="muted", wrap=True)
        form.addRow("", self.database_notice)

        self.keyring = plain_label(keyring_status or "unknown", wrap=True, selectable=True)
        form.addRow("Credential store:", self.keyring)

        folders = QHBoxLayout()
        for label, attr in (("Config folder", "config_dir"), ("Data folder", "data_dir"),
                            ("Log folder", "log_dir")):
            button = QPushButton(label)
            path = getattr(paths, attr, None)
            button.setToolTip(plain_tip(str(path)) if path else "")
            button.clicked.connect(lambda _=False, p=path: open_folder(p))
            folders.addWidget(button)
        folders.addStretch(1)
        form.addRow("Open:", folders)
        outer.addStretch(1)

    # ---- Slots

    def _on_theme(self) -> None:
        value = self.theme.currentData()
        self.settings.set("ui/theme", value)
        self.sig_setting_saved.emit("ui/theme")
        self.sig_theme_changed.emit(value)

    def _on_log_level(self) -> None:
        value = self.log_level.currentData()
        self.settings.set("logging/level", value)
        self.sig_setting_saved.emit("logging/level")
        self.sig_log_level_changed.emit(value)

    def _on_ca_bundle(self) -> None:
        value = self.ca_bundle.text().strip()
        if value and not Path(value).is_file():
            self.ca_bundle.setToolTip("This file does not exist.")
            self.ca_bundle.setStyleSheet("QLineEdit { border: 1px solid palette(highlight); }")
            return
        self.ca_bundle.setStyleSheet("")
        self.ca_bundle.setToolTip("")
        self.settings.set("network/extra_ca_bundle", value)
        self.sig_setting_saved.emit("network/extra_ca_bundle")

    def _browse_ca_bundle(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Extra CA bundle", "",
                                              "PEM files (*.pem *.crt);;All files (*)")
        if path:
            self.ca_bundle.setText(path)
            self._on_ca_bundle()

    def _on_database_url(self) -> None:
        value = self.database_url.text().strip()
        if _URL_PASSWORD.search(value):
            self.database_notice.setText("Not saved: remove the password from the URL (use a .pgpass file "
                                         "or the SCIM_CONSOLE_DB_URL environment variable instead).")
            return
        self.database_notice.setText("Saved. Takes effect after a restart.")
        self.settings.set("store/database_url", value)
        self.sig_setting_saved.emit("store/database_url")


def open_folder(path: Path | None) -> bool:
    if path is None:
        return False
    Path(path).mkdir(parents=True, exist_ok=True)
    return QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))
