"""Qt-free notifier: services report info/warnings to whoever listens (conventions §4.2 item 5).

``console.ui.messages`` subscribes and marshals to the GUI thread. Messages sent before anyone
subscribes (e.g. "keyring not persistent" during start-up, before the window exists) are cached
and delivered to the first subscriber, as qutebrowser's ``GlobalMessageBridge`` does.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from console.core.redact import redact


class Level(Enum):
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Message:
    level: Level
    text: str


Callback = Callable[[Message], None]

_log = logging.getLogger(__name__)
_MAX_CACHED = 100  # a runaway loop before the window exists must not grow memory forever
_lock = threading.Lock()
_subscribers: list[Callback] = []
_pending: list[Message] = []


def subscribe(callback: Callback) -> Callable[[], None]:
    """Receive every future message; the first subscriber also gets the cached ones.

    Returns an ``unsubscribe`` function. Callbacks run on the thread that sent the message.
    """
    with _lock:
        _subscribers.append(callback)
        backlog = list(_pending)
        _pending.clear()
    for message in backlog:
        callback(message)

    def unsubscribe() -> None:
        with _lock:
            if callback in _subscribers:
                _subscribers.remove(callback)

    return unsubscribe


def send(level: Level, text: str) -> None:
    message = Message(level, redact(text))
    with _lock:
        targets = list(_subscribers)
        if not targets:
            _pending.append(message)
            del _pending[:-_MAX_CACHED]
    for callback in targets:
        try:
            callback(message)
        except Exception:  # noqa: BLE001 - a broken listener must not fail the service that reported
            _log.exception("notification subscriber failed")


def info(text: str) -> None:
    send(Level.INFO, text)


def warning(text: str) -> None:
    send(Level.WARNING, text)


def error(text: str) -> None:
    send(Level.ERROR, text)


def reset() -> None:
    """Forget subscribers and cached messages (tests, and the app's shutdown)."""
    with _lock:
        _subscribers.clear()
        _pending.clear()
