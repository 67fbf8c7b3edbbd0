"""Connections dialog over the real ProfileService (SQLite store + SecretStore on the test keyring)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtWidgets import QLineEdit, QMessageBox

from console.services.paths import AppPaths
from console.services.profiles import ProfileService, token_key
from console.services.secrets import SecretStore
from console.services.store import Store
from console.ui.dialogs.connections_dialog import ConnectionsDialog
from console.ui.settings import Settings
from console.ui.tasks import TaskRunner

TOKEN = "scop_" + "Qz9xW8vU7tS6rR5qP4oN3mM2"


@pytest.fixture
def services(console_home: Path) -> Iterator[tuple[ProfileService, Store, SecretStore]]:
    paths = AppPaths.default().ensure()
    store = Store.open(None, paths)
    secrets = SecretStore.open()
    yield ProfileService(store, secrets), store, secrets
    store.close()


def _dialog(qtbot: Any, profiles: ProfileService, runner: TaskRunner) -> ConnectionsDialog:
    dialog = ConnectionsDialog(profiles, runner)
    qtbot.addWidget(dialog)
    qtbot.waitUntil(lambda: dialog.list.count() == len(profiles.list()), timeout=5000)
    return dialog


def _fill(dialog: ConnectionsDialog, name: str, url: str, operator: str, token: str) -> None:
    dialog.name.setText(name)
    dialog.url.setText(url)
    dialog.operator.setText(operator)
    dialog.token.setText(token)


def test_token_goes_only_to_the_secret_store(qtbot: Any, runner: TaskRunner, services: Any,
                                             console_home: Path, memory_keyring: Any) -> None:
    profiles, store, secrets = services
    Settings.in_dir(AppPaths.default().config_dir).sync()  # the settings file exists and is checked too
    dialog = _dialog(qtbot, profiles, runner)
    assert dialog.token.echoMode() == QLineEdit.EchoMode.Password
    _fill(dialog, "Production EU", "https://platform.example.com", "alice@example.com", TOKEN)
    with qtbot.waitSignal(dialog.sig_profile_saved, timeout=5000) as saved:
        dialog.save()
    profile = saved.args[0]
    assert dialog.token.text() == ""  # not kept in the widget
    assert secrets.get(token_key(profile.id)) == TOKEN
    assert TOKEN in memory_keyring.store.values()
    store.close()  # flush WAL into the main file before reading the bytes
    for path in console_home.rglob("*"):
        if path.is_file():
            assert TOKEN.encode() not in path.read_bytes(), f"token leaked into {path}"
    qtbot.waitUntil(lambda: dialog.list.count() == 1, timeout=5000)
    # Selecting the saved profile never shows the token back.
    dialog.list.setCurrentRow(0)
    assert dialog.token.text() == ""
    assert "leave empty" in dialog.token.placeholderText()


def test_edit_without_token_keeps_the_saved_one(qtbot: Any, runner: TaskRunner, services: Any) -> None:
    profiles, _store, secrets = services
    existing = profiles.add("Staging", "https://staging.example.com", TOKEN, operator="bob")
    dialog = _dialog(qtbot, profiles, runner)
    dialog.list.setCurrentRow(0)
    dialog.name.setText("Staging (EU)")
    with qtbot.waitSignal(dialog.sig_profile_saved, timeout=5000):
        dialog.save()
    assert profiles.get(existing.id).name == "Staging (EU)"
    assert secrets.get(token_key(existing.id)) == TOKEN


def test_new_profile_requires_a_token(qtbot: Any, runner: TaskRunner, services: Any) -> None:
    profiles, _store, _secrets = services
    dialog = _dialog(qtbot, profiles, runner)
    _fill(dialog, "No token", "https://x.example.com", "", "")
    with qtbot.assertNotEmitted(dialog.sig_profile_saved):
        dialog.save()
    assert "operator token" in dialog.status.text()
    assert profiles.list() == []


def test_invalid_url_is_reported_in_the_dialog(qtbot: Any, runner: TaskRunner, services: Any) -> None:
    profiles, _store, _secrets = services
    dialog = _dialog(qtbot, profiles, runner)
    _fill(dialog, "Bad", "ftp://nope", "", TOKEN)
    with qtbot.waitSignal(dialog.sig_failed, timeout=5000):
        dialog.save()
    assert dialog.status.text()
    assert TOKEN not in dialog.status.text()


def test_remove_deletes_profile_and_token(qtbot: Any, runner: TaskRunner, services: Any,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    profiles, _store, secrets = services
    existing = profiles.add("Old", "https://old.example.com", TOKEN)
    dialog = _dialog(qtbot, profiles, runner)
    dialog.list.setCurrentRow(0)
    monkeypatch.setattr(QMessageBox, "question", lambda *a, **k: QMessageBox.StandardButton.Yes)
    with qtbot.waitSignal(dialog.sig_profile_removed, timeout=5000):
        dialog.remove_selected()
    assert profiles.list() == []
    assert secrets.get(token_key(existing.id)) is None


def test_use_returns_the_selected_profile(qtbot: Any, runner: TaskRunner, services: Any) -> None:
    profiles, _store, _secrets = services
    profiles.add("A", "https://a.example.com", TOKEN)
    b = profiles.add("B", "https://b.example.com", TOKEN)
    dialog = _dialog(qtbot, profiles, runner)
    row = next(i for i in range(dialog.list.count()) if dialog.list.item(i).text().startswith("B"))
    dialog.list.setCurrentRow(row)
    dialog.use_selected()
    assert dialog.chosen is not None
    assert dialog.chosen.id == b.id
    assert dialog.result() == ConnectionsDialog.DialogCode.Accepted
