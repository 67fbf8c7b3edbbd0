"""Copy a secret to the clipboard the careful way (desktop-stack §5.3, the KeePassXC pattern).

The MIME data carries the hints that keep clipboard managers and Windows clipboard history /
cloud clipboard from recording it; the value is cleared after ``CLEAR_AFTER_MS`` and when the
app quits — but only if the clipboard still holds *our* value (the user may have copied something
else since, which we must not wipe).
"""

from __future__ import annotations

from PySide6.QtCore import QMimeData, QObject, QTimer
from PySide6.QtGui import QGuiApplication

CLEAR_AFTER_MS = 45_000

SENSITIVE_HINTS: dict[str, bytes] = {
    'application/x-qt-windows-mime;value="ExcludeClipboardContentFromMonitorProcessing"': b"\0\0\0\0",
    'application/x-qt-windows-mime;value="CanIncludeInClipboardHistory"': b"\0\0\0\0",
    'application/x-qt-windows-mime;value="CanUploadToCloudClipboard"': b"\0\0\0\0",
    "x-kde-passwordManagerHint": b"secret",
    "application/x-nspasteboard-concealed-type": b"secret",
}


def sensitive_mime(text: str) -> QMimeData:
    mime = QMimeData()
    mime.setText(text)
    for fmt, value in SENSITIVE_HINTS.items():
        mime.setData(fmt, value)
    return mime


class SensitiveClipboard(QObject):
    """One per app (``SensitiveClipboard.instance()``); remembers only the last value it copied."""

    _instance: SensitiveClipboard | None = None

    def __init__(self, parent: QObject | None = None, *, clear_after_ms: int = CLEAR_AFTER_MS) -> None:
        super().__init__(parent)
        self._value: str | None = None
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(clear_after_ms)
        self._timer.timeout.connect(self.clear_if_ours)
        app = QGuiApplication.instance()
        if app is not None:
            app.aboutToQuit.connect(self.clear_if_ours)

    @classmethod
    def instance(cls) -> SensitiveClipboard:
        if cls._instance is None:
            cls._instance = cls(QGuiApplication.instance())
        return cls._instance

    def set_clear_after(self, ms: int) -> None:
        self._timer.setInterval(ms)

    @property
    def holding(self) -> bool:
        return self._value is not None

    def copy(self, text: str) -> None:
        QGuiApplication.clipboard().setMimeData(sensitive_mime(text))
        self._value = text
        self._timer.start()

    def clear_if_ours(self) -> bool:
        """Clear the clipboard if it still holds our value; True when it did."""
        self._timer.stop()
        value, self._value = self._value, None
        if value is None:
            return False
        clipboard = QGuiApplication.clipboard()
        if clipboard.text() == value:
            clipboard.clear()
            return True
        return False
