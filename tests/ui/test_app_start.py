"""The real composition root on a fresh ``SCIM_CONSOLE_HOME``: a new user sees real sandbox data.

Uses seed ``small`` (demo minus Tailspin's bulk) to keep the file fast; ``demo`` differs only in
Tailspin's size. The sandbox runs in-process over real HTTP with a real SQLite file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.services.logging_setup import shutdown_logging
from console.services.profiles import SANDBOX_PROFILE_NAME, token_key
from console.ui.app import GuiApp, build_gui
from console.ui.connection import CONNECTED

DEMO_ORGS = {"contoso", "fabrikam", "northwind", "tailspin"}


@pytest.fixture
def started(qtbot: Any, qapp: Any) -> Iterator[list[GuiApp]]:
    guis: list[GuiApp] = []
    yield guis
    for gui in guis:
        gui.shutdown()
    shutdown_logging()


def _start(qtbot: Any, qapp: Any, guis: list[GuiApp], **kw: Any) -> GuiApp:
    gui = build_gui(qapp, sandbox_seed="small", **kw)
    assert gui is not None
    guis.append(gui)
    qtbot.addWidget(gui.window)
    gui.window.show()
    return gui


def _org_ids(gui: GuiApp) -> set[str]:
    return set(gui.window.orgs_page.model.org_ids())


def test_new_user_sees_sandbox_orgs(qtbot: Any, qapp: Any, started: list[GuiApp], console_home: Path,
                                    memory_keyring: Any) -> None:
    gui = _start(qtbot, qapp, started, sandbox=True)
    assert gui.window.isVisible()  # before the database is even open
    with qtbot.waitSignal(gui.events.sig_services_opened, timeout=30000):
        pass  # nothing ran the event loop yet, so the signal cannot have been missed
    # The window is up before the sandbox answers, and says what is happening.
    assert gui.window.isVisible()
    assert "sandbox" in gui.window.statusBar().currentMessage().lower()

    qtbot.waitUntil(lambda: _org_ids(gui) >= DEMO_ORGS, timeout=60000)
    assert gui.connection.state == CONNECTED
    assert gui.connection.profile.name == SANDBOX_PROFILE_NAME
    assert "connected" in gui.window.connection_label.text()
    assert gui.paths.sandbox_db.is_file()
    assert gui.sandbox is not None
    operator_token = gui.sandbox.operator_token
    assert memory_keyring.store  # the sandbox operator token went to the keyring …
    assert operator_token in memory_keyring.store.values()
    settings_text = (gui.paths.config_dir / "settings.ini").read_text(encoding="utf-8")
    assert operator_token not in settings_text  # … and nowhere else

    gui.window.close()
    gui.shutdown()
    assert gui.sandbox is None  # stopped on quit
    shutdown_logging()
    # Nothing on disk holds the token: logs, the local store, the sandbox DB, settings, WAL files.
    scanned = [p for p in console_home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" for p in scanned)
    assert any(p == gui.paths.sandbox_db for p in scanned)
    for path in scanned:
        assert operator_token.encode() not in path.read_bytes(), f"operator token leaked into {path}"


def test_second_start_reuses_the_sandbox_db_and_profile(qtbot: Any, qapp: Any, started: list[GuiApp]) -> None:
    first = _start(qtbot, qapp, started, sandbox=True)
    qtbot.waitUntil(lambda: _org_ids(first) >= DEMO_ORGS, timeout=60000)
    profile_id = first.connection.profile.id
    first.window.close()
    first.shutdown()

    # No --sandbox: the active profile is the Sandbox one, so the sandbox starts again on the same DB.
    second = _start(qtbot, qapp, started)
    qtbot.waitUntil(lambda: _org_ids(second) >= DEMO_ORGS, timeout=60000)
    assert second.connection.profile.id == profile_id
    assert [p.name for p in second.profiles.list()] == [SANDBOX_PROFILE_NAME]
    assert second.profiles.secrets.get(token_key(profile_id)) == second.sandbox.operator_token


def test_a_second_instance_raises_the_first_and_exits(qtbot: Any, qapp: Any, started: list[GuiApp]) -> None:
    first = _start(qtbot, qapp, started, sandbox=True)
    with qtbot.waitSignal(first.instance.sig_activation_requested, timeout=10000):
        assert build_gui(qapp, sandbox_seed="small") is None
    qtbot.waitUntil(lambda: _org_ids(first) >= DEMO_ORGS, timeout=60000)


def test_sandbox_failure_is_shown_not_fatal(qtbot: Any, qapp: Any, started: list[GuiApp], console_home: Path,
                                            shown_errors: list[BaseException]) -> None:
    from console.services.paths import AppPaths

    blocked = AppPaths.default().ensure().sandbox_db
    blocked.mkdir()  # a directory where the SQLite file should be: the sandbox cannot open it
    gui = build_gui(qapp, sandbox_seed="small", sandbox=True)
    assert gui is not None
    started.append(gui)
    qtbot.addWidget(gui.window)
    with qtbot.waitSignal(gui.events.sig_sandbox_failed, timeout=30000):
        gui.window.show()
    assert len(shown_errors) == 1
    assert gui.window.orgs_page.empty.title.text() == "The sandbox could not start"
    assert gui.window.isVisible()


def test_start_purges_expired_undelivered_tokens_from_the_keyring(qtbot: Any, qapp: Any,
                                                                  started: list[GuiApp],
                                                                  memory_keyring: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from console.core.models import TokenInfo
    from console.services.paths import AppPaths
    from console.services.pending_deliveries import PendingDeliveries, secret_key
    from console.services.secrets import SERVICE_NAME
    from console.services.store import Store

    info = TokenInfo("tok_old", "abcd", "f" * 16, None, None, None, None, True)
    fresh = TokenInfo("tok_new", "wxyz", "e" * 16, None, None, None, None, True)
    with Store.open(None, AppPaths.default()) as store:
        deliveries = PendingDeliveries(store.engine)
        deliveries.add("acme", info, hours=72, now=datetime.now(UTC) - timedelta(hours=73))
        deliveries.add("acme", fresh, hours=72)
    memory_keyring.store[(SERVICE_NAME, secret_key("acme", "tok_old"))] = "scim_" + "o" * 40
    memory_keyring.store[(SERVICE_NAME, secret_key("acme", "tok_new"))] = "scim_" + "n" * 40
    gui = _start(qtbot, qapp, started, sandbox=True)
    with qtbot.waitSignal(gui.events.sig_services_opened, timeout=30000):
        pass
    assert (SERVICE_NAME, secret_key("acme", "tok_old")) not in memory_keyring.store
    assert (SERVICE_NAME, secret_key("acme", "tok_new")) in memory_keyring.store
    with Store.open(None, AppPaths.default()) as store:
        assert PendingDeliveries(store.engine).get("tok_old").purged_at is not None


def _answer_next_confirmation(button_text: str) -> list[str]:
    """Click ``button_text`` in the next modal question (the real ConfirmDialog, not a stand-in);
    returns the question's text once answered."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication, QMessageBox

    asked: list[str] = []

    def poll() -> None:
        box = QApplication.activeModalWidget()
        if isinstance(box, QMessageBox):
            asked.append(box.text())
            next(b for b in box.buttons() if b.text() == button_text).click()
        else:
            QTimer.singleShot(10, poll)

    QTimer.singleShot(0, poll)
    return asked


@pytest.mark.parametrize("answer", ["Cancel", "Reset"])
def test_reset_training_data_restores_the_seed_after_a_confirmation(
        qtbot: Any, qapp: Any, started: list[GuiApp], answer: str) -> None:
    import httpx

    from console.ui.app import reset_training_data

    gui = _start(qtbot, qapp, started, sandbox=True)
    qtbot.waitUntil(lambda: _org_ids(gui) >= DEMO_ORGS, timeout=60000)
    assert gui.window.reset_training_action.isEnabled()
    first = gui.sandbox
    headers = {"Authorization": f"Bearer {first.operator_token}", "Idempotency-Key": "training-1"}
    assert httpx.post(f"{first.admin_url}/orgs/contoso/scim/enable", headers=headers,
                      trust_env=False).status_code == 201  # what a training session changed

    asked = _answer_next_confirmation(answer)
    job = reset_training_data(gui, seed="small")
    assert len(asked) == 1
    assert "demo data" in asked[0]
    if answer == "Cancel":
        assert job is None
        assert gui.sandbox is first  # nothing stopped, nothing replaced
        return
    assert job is not None
    with qtbot.waitSignal(gui.events.sig_sandbox_started, timeout=60000) as started_again:
        pass
    second = started_again.args[0]
    assert second is not first
    assert gui.sandbox is second
    qtbot.waitUntil(lambda: _org_ids(gui) >= DEMO_ORGS and gui.connection.state == CONNECTED, timeout=60000)
    scim = httpx.get(f"{second.admin_url}/orgs/contoso/scim", trust_env=False,
                     headers={"Authorization": f"Bearer {second.operator_token}"}).json()
    assert scim["enabled"] is False  # the seed again: contoso is ready, SCIM off
