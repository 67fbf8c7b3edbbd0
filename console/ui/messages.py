"""Qt side of ``console.core.notify``: services' messages reach the window on the GUI thread.

Services call ``notify.info/warning/error`` from any thread; the bridge re-emits them through a
queued signal owned by a GUI-thread ``QObject``, so slots never run on a worker. Messages sent
before the bridge existed (start-up, before the window) are delivered when it subscribes.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Signal

from console.core import notify


class MessageBridge(QObject):
    """Re-emits notifier messages on the GUI thread.

    Signals:
        sig_message_received(str, str): level (``info``/``warning``/``error``) and the redacted text.
    """

    sig_message_received = Signal(str, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._unsubscribe: Callable[[], None] | None = None

    def start(self) -> None:
        """Subscribe; call after connecting slots, since the cached backlog is emitted right away."""
        if self._unsubscribe is None:
            self._unsubscribe = notify.subscribe(self._on_message)

    def close(self) -> None:
        """Stop listening (on quit); later messages are cached for the next subscriber."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def _on_message(self, message: notify.Message) -> None:
        # Emitting from a worker thread is safe: the receiver lives on the GUI thread, so Qt
        # queues the call.
        self.sig_message_received.emit(message.level.value, message.text)


def status_text(level: str, text: str) -> str:
    """How a message reads in the status bar."""
    prefix = {"warning": "Warning: ", "error": "Error: "}.get(level, "")
    return prefix + text


STATUS_TIMEOUT_MS = {"info": 8_000, "warning": 30_000, "error": 60_000}
