"""Services' notifier messages reach the GUI thread (and the status bar) through the bridge."""

from __future__ import annotations

import threading

from pytestqt.qtbot import QtBot

from console.core import notify
from console.ui.messages import MessageBridge, status_text


def test_message_from_a_worker_thread_arrives_on_the_gui_thread(qtbot: QtBot) -> None:
    bridge = MessageBridge()
    received: list[tuple[str, str, bool]] = []

    def on_message(level: str, text: str) -> None:
        received.append((level, text, threading.current_thread() is threading.main_thread()))

    bridge.sig_message_received.connect(on_message)
    bridge.start()
    try:
        worker = threading.Thread(target=notify.warning, args=("keyring not persistent",))
        with qtbot.waitSignal(bridge.sig_message_received, timeout=2000):
            worker.start()
        worker.join()
    finally:
        bridge.close()
    assert received == [("warning", "keyring not persistent", True)]


def test_messages_sent_before_the_bridge_are_delivered_and_redacted(qtbot: QtBot) -> None:
    notify.info("token scim_AbCdEfGhIjKlMnOpQrStUvWxYz0123 stored")  # nobody listening yet
    bridge = MessageBridge()
    received: list[tuple[str, str]] = []
    bridge.sig_message_received.connect(lambda level, text: received.append((level, text)))
    bridge.start()
    qtbot.waitUntil(lambda: len(received) == 1, timeout=2000)
    bridge.close()
    level, text = received[0]
    assert level == "info"
    assert text.startswith("token ")
    assert text.endswith(" stored")
    assert "scim_AbCd" not in text


def test_status_text_names_the_level() -> None:
    assert status_text("warning", "x") == "Warning: x"
    assert status_text("info", "x") == "x"
