"""One console per user (desktop-stack §7.2: two instances would fight over the log file and the
SQLite database). The first instance holds a ``QLockFile`` in the data dir and listens on a
``QLocalServer``; a second start connects, asks the first to raise its window, and exits.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

from PySide6.QtCore import QLockFile, QObject, Signal
from PySide6.QtNetwork import QLocalServer, QLocalSocket

log = logging.getLogger(__name__)

ACTIVATE = b"activate\n"
CONNECT_TIMEOUT_MS = 1000


def server_name(data_dir: Path) -> str:
    """A per-data-dir name: two portable installs (or test runs) never collide."""
    digest = hashlib.sha256(str(Path(data_dir).resolve()).encode()).hexdigest()[:16]
    return f"scim-support-console-{digest}"


class SingleInstance(QObject):
    """``acquire()`` → True for the first instance; a later start gets False after signalling it.

    Signals:
        sig_activation_requested(): another start asked this instance to show its window.
    """

    sig_activation_requested = Signal()

    def __init__(self, data_dir: Path, parent: QObject | None = None) -> None:
        super().__init__(parent)
        Path(data_dir).mkdir(parents=True, exist_ok=True)
        self._lock = QLockFile(str(Path(data_dir) / "console.lock"))
        self._lock.setStaleLockTime(0)  # a crashed instance's lock is detected by its dead PID
        self._name = server_name(data_dir)
        self._server: QLocalServer | None = None

    def acquire(self) -> bool:
        if not self._lock.tryLock(100):
            self._notify_running_instance()
            return False
        QLocalServer.removeServer(self._name)  # a stale socket left by a crash
        self._server = QLocalServer(self)
        self._server.setSocketOptions(QLocalServer.SocketOption.UserAccessOption)
        if not self._server.listen(self._name):
            log.warning("single-instance server could not listen: %s", self._server.errorString())
        self._server.newConnection.connect(self._on_new_connection)
        return True

    def release(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        if self._lock.isLocked():
            self._lock.unlock()

    def _notify_running_instance(self) -> bool:
        socket = QLocalSocket()
        socket.connectToServer(self._name)
        if not socket.waitForConnected(CONNECT_TIMEOUT_MS):
            log.info("another console holds the lock but does not answer")
            return False
        socket.write(ACTIVATE)
        socket.waitForBytesWritten(CONNECT_TIMEOUT_MS)
        socket.disconnectFromServer()
        return True

    def _on_new_connection(self) -> None:
        """Read the one-line request synchronously (the client writes it right after connecting).

        No per-socket signal connections and no ``deleteLater``: a socket deleted by its server
        while a queued slot still referenced it crashed PySide6 (``shared QObject was deleted
        directly``), so each socket is closed and deleted here, before control returns to Qt.
        """
        assert self._server is not None
        while (conn := self._server.nextPendingConnection()) is not None:
            if conn.bytesAvailable() or conn.waitForReadyRead(CONNECT_TIMEOUT_MS):
                request = bytes(conn.readAll().data())
            else:
                request = b""
            conn.abort()
            conn.setParent(None)
            del conn
            if request.startswith(ACTIVATE.strip()):
                self.sig_activation_requested.emit()
