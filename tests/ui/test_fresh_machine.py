"""A new user on a fresh, headless machine: the README's run command does the whole job.

Through the real entry point (``run_gui``, what ``scim-console --sandbox`` calls, with its event loop,
its default ``demo`` seed and its shutdown) and with **no keyring fixture**: the keyring is whatever
this machine resolves once no Secret Service can answer (no session bus), which on a fresh machine is
keyring's ``fail`` backend. The embedded sandbox must still go through Enable SCIM for ``contoso`` to a
token pending delivery, kept in memory and labelled so; a real platform's token is still refused.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import pytest
from PySide6.QtCore import QCoreApplication, QEvent

from console.cli import display_problem
from console.services.logging_setup import shutdown_logging
from console.services.pending_deliveries import PendingDeliveries
from console.ui.app import GuiApp, run_gui

TIMEOUT = 120_000


def _detect_like_keyring() -> Any:
    """keyring's own choice (the viable backend of highest priority), among the backends installed
    on this machine: keyring also offers every KeyringBackend subclass the test suite defined."""
    from keyring.backends import chainer, fail

    installed = [b for b in keyring.backend.get_all_keyring()
                 if not type(b).__module__.startswith("tests.") and not isinstance(b, chainer.ChainerBackend)]
    return max(installed, key=keyring.backend.by_priority, default=fail.Keyring())


@pytest.fixture
def fresh_machine_keyring(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """No fixture backend: keyring detects again, on a machine where no Secret Service can answer."""
    for name in ("PYTHON_KEYRING_BACKEND", "DBUS_SESSION_BUS_ADDRESS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("XDG_RUNTIME_DIR", "/nonexistent-runtime-dir")  # no default session bus either
    previous = keyring.get_keyring()
    keyring.set_keyring(_detect_like_keyring())
    yield keyring.get_keyring()
    keyring.set_keyring(previous)


@pytest.mark.os_keyring
def test_the_readme_run_command_enables_scim_for_contoso_on_a_fresh_headless_machine(
        qtbot: Any, qapp: Any, console_home: Path, fresh_machine_keyring: Any) -> None:
    from console.services.secrets import insecure_reason

    assert insecure_reason(fresh_machine_keyring), fresh_machine_keyring  # really no usable OS keyring here
    seen: dict[str, Any] = {}

    def drive(gui: GuiApp) -> None:
        try:
            _drive(qtbot, gui, seen)
        except BaseException as exc:  # noqa: BLE001 - reported after the event loop ended
            seen["error"] = exc
        finally:
            gui.window.close()  # the user closes the window: the last one, so the app quits

    assert qapp.quitOnLastWindowClosed()
    code = run_gui(sandbox=True, ready=drive)
    # A second quit request still queued would end the next test's event loops at once.
    QCoreApplication.removePostedEvents(qapp, QEvent.Type.Quit)
    shutdown_logging()
    assert code == 0
    if "error" in seen:
        raise seen["error"]
    result = seen["result"]
    assert result.pending is not None  # pending delivery …
    assert result.kept_in.startswith("memory for this session only")  # … in memory, and said so
    assert seen["first_listed_while_filling"], "the orgs waited for Tailspin's bulk"
    print(f"window → orgs listed: {seen['listed_s']:.2f} s (the bulk was at {seen['bulk_percent']} %)")
    # Nothing on disk holds the token (it lived in memory only).
    for path in (p for p in console_home.rglob("*") if p.is_file()):
        assert result.token.encode() not in path.read_bytes(), f"the SCIM token leaked into {path}"


def _drive(qtbot: Any, gui: GuiApp, seen: dict[str, Any]) -> None:
    window = gui.window
    started = time.perf_counter()
    qtbot.waitUntil(lambda: "contoso" in window.orgs_page.model.org_ids(), timeout=TIMEOUT)
    seen["listed_s"] = time.perf_counter() - started
    bulk = gui.sandbox.bulk
    seen["bulk_percent"] = bulk.percent
    seen["first_listed_while_filling"] = bulk.state == "filling" or bulk.done < bulk.total
    assert "memory for this session" in gui.window.settings_page.keyring.text()
    assert window.reset_training_action.isEnabled()

    orgs = window.orgs_page
    orgs.open_org("contoso")
    overview = orgs.overview
    qtbot.waitUntil(lambda: overview.enable_button.isEnabled(), timeout=TIMEOUT)
    overview.enable_button.click()
    wizard = overview.wizard
    assert wizard is not None
    page = wizard.readiness_page
    qtbot.waitUntil(lambda: page.checks is not None, timeout=TIMEOUT)
    assert page.isComplete()  # contoso is ready: the all-users template exists
    wizard.next()
    enable = wizard.enable_page
    assert "memory for this session only" in enable.subTitle()
    with qtbot.waitSignal(wizard.sig_enabled, timeout=TIMEOUT):
        enable.enable_button.click()
    result = wizard.result
    assert "memory for this session only" in enable.status.text()
    services = wizard.services
    pending = [d.token_id for d in PendingDeliveries(services.store.engine).list("contoso")]
    assert pending == [result.token_info.id]
    assert services.secrets.is_persistent is False
    seen["result"] = result
    wizard.reject()


def test_a_real_platforms_token_is_still_refused_without_an_os_keyring() -> None:
    from console.services.scim_setup import KeyringUnavailableError, preflight_keyring
    from console.services.secrets import SecretStore

    secrets = SecretStore.in_memory("no secure OS keyring is available")
    secrets.allow_memory_for("http://127.0.0.1:40001/admin/v1")
    preflight_keyring(secrets, "http://127.0.0.1:40001/admin/v1/")  # the embedded sandbox: allowed
    assert secrets.token_location("http://127.0.0.1:40001/admin/v1").startswith("memory")
    for other in ("https://platform.example.com/admin/v1", "http://127.0.0.1:40002/admin/v1", None):
        with pytest.raises(KeyringUnavailableError, match="cannot be kept safely"):
            preflight_keyring(secrets, other)
        assert secrets.token_location(other).startswith("nowhere")


@pytest.mark.parametrize(("env", "problem"), [
    ({}, True),
    ({"DISPLAY": ":0"}, False),
    ({"WAYLAND_DISPLAY": "wayland-0"}, False),
    ({"QT_QPA_PLATFORM": "offscreen"}, False),
])
def test_display_problem_is_detected_from_the_environment(env: dict[str, str], problem: bool) -> None:
    found = display_problem(env, platform="linux")
    assert (found is not None) == problem
    assert display_problem({}, platform="win32") is None
    if found:
        assert "xvfb-run -a" in found


def test_with_no_display_the_run_command_prints_one_line_saying_what_to_do(console_home: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY", "QT_QPA_PLATFORM")}
    done = subprocess.run([sys.executable, "-m", "console", "--sandbox"], env=env, capture_output=True,
                          text=True, timeout=120, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no display" in lines[0]
    assert "xvfb-run -a" in lines[0]
    assert "-m console --sandbox" in lines[0]  # the command as the user typed it, to run again
    assert "Aborted" not in done.stderr
    assert "xcb" not in done.stderr
