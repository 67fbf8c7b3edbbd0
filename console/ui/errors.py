"""How errors reach the user (conventions §2.3, §4.2 item 4; desktop-stack §7.4).

* ``show_error(parent, exc)`` is the only place that builds an error dialog. ``UserFacingError``
  text is shown as is; ``Cancelled`` is silent; anything else is a bug and gets a generic message
  with the log location and a "Copy details" button (redacted traceback + diagnostics).
* ``install_hooks()`` sets ``sys.excepthook`` and ``threading.excepthook`` (last resort): they log
  the redacted traceback and marshal the exception to the GUI thread, where a 100 ms debounce
  merges a burst of errors into one dialog (Anki's ``ErrorHandler``).
* ``qInstallMessageHandler`` routes Qt's own warnings into ``logging``.

Errors are classified by type, never by message text.
"""

from __future__ import annotations

import logging
import platform
import sys
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, QtMsgType, Signal, qInstallMessageHandler
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QApplication, QMessageBox, QWidget

import console
from console.core.errors import Cancelled, UserFacingError
from console.core.redact import redact

log = logging.getLogger(__name__)
qt_log = logging.getLogger("qt")

DEBOUNCE_MS = 100
GENERIC_MESSAGE = "Something went wrong. The operation did not complete."

_log_dir: Path | None = None
_open_boxes: set[QMessageBox] = set()


def set_log_dir(path: Path | None) -> None:
    """Where the log lives, named in the generic error dialog (set by the composition root)."""
    global _log_dir
    _log_dir = path


def version_info() -> str:
    """One block of version facts for About, "Copy diagnostics" and crash details."""
    from PySide6 import __version__ as pyside_version
    from PySide6.QtCore import qVersion

    return "\n".join([
        f"{console.APP_NAME} {console.__version__}",
        f"Python {platform.python_version()} ({sys.platform}, {platform.machine()})",
        f"PySide6 {pyside_version}, Qt {qVersion()}",
        f"Platform plugin: {QGuiApplication.platformName() if QGuiApplication.instance() else '-'}",
    ])


def format_details(exc: BaseException) -> str:
    """Redacted traceback plus version info; safe to paste into a ticket."""
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return redact(f"{version_info()}\n\n{tb}")


def user_message(exc: BaseException) -> str | None:
    """The text to show for ``exc``, or ``None`` when nothing should be shown."""
    if isinstance(exc, Cancelled):
        return None
    if isinstance(exc, UserFacingError):
        text = str(exc)
        hint = getattr(exc, "hint", None)
        return redact(f"{text}\n\n{hint}" if hint else text)
    return GENERIC_MESSAGE


def _build_dialog(parent: QWidget | None, exc: BaseException, count: int = 1) -> QMessageBox | None:
    text = user_message(exc)
    if text is None:
        return None
    box = QMessageBox(parent)
    box.setWindowTitle(console.APP_NAME)
    box.setTextFormat(Qt.TextFormat.PlainText)
    box.setText(text if count == 1 else f"{text}\n\n({count - 1} more error(s) happened at the same time.)")
    if isinstance(exc, UserFacingError):
        box.setIcon(QMessageBox.Icon.Warning)
    else:
        box.setIcon(QMessageBox.Icon.Critical)
        where = str(_log_dir) if _log_dir else "the console's log folder"
        box.setInformativeText(f"Details were written to the log in {where}.")
        details = format_details(exc)
        box.setDetailedText(details)
        copy = box.addButton("Copy details", QMessageBox.ButtonRole.ActionRole)
        copy.clicked.disconnect()  # keep the box open after copying
        copy.clicked.connect(lambda: QApplication.clipboard().setText(details))
    box.addButton(QMessageBox.StandardButton.Close)
    return box


def show_error(parent: QWidget | None, exc: BaseException, *, also: int = 0) -> None:
    """Show ``exc`` to the user (non-blocking); ``Cancelled`` is ignored. GUI thread only.

    ``also`` counts further errors of the same burst that are merged into this one dialog.
    """
    if isinstance(exc, Cancelled):
        return
    if not isinstance(exc, UserFacingError):
        log.error("unexpected error: %s", redact(f"{type(exc).__name__}: {exc}"),
                  exc_info=(type(exc), exc, exc.__traceback__))
    else:
        log.info("user-facing error shown: %s", redact(str(exc)))
    box = _build_dialog(parent, exc, also + 1)
    if box is None:
        return
    # A parentless box is owned by its Python wrapper only: keep it alive until it closes.
    _open_boxes.add(box)
    box.finished.connect(lambda _r, b=box: _open_boxes.discard(b))
    box.open()


class ErrorPresenter(QObject):
    """Receives unhandled exceptions from any thread and shows them, debounced, on the GUI thread.

    Signals:
        sig_error_reported(exc): queued from any thread to the GUI thread.
        sig_errors_presented(list): a burst of errors was handed to ``show_error`` (tests watch it).
    """

    sig_error_reported = Signal(object)
    sig_errors_presented = Signal(list)

    def __init__(self, parent: QObject | None = None, *, debounce_ms: int = DEBOUNCE_MS,
                 window: Callable[[], QWidget | None] | None = None) -> None:
        super().__init__(parent)
        self._pending: list[BaseException] = []
        self._window = window or (lambda: QApplication.activeWindow())
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(debounce_ms)
        self._timer.timeout.connect(self._flush)
        self.sig_error_reported.connect(self._on_error_reported)

    def report(self, exc: BaseException) -> None:
        """Thread-safe: the signal is queued to this object's (GUI) thread."""
        self.sig_error_reported.emit(exc)

    def _on_error_reported(self, exc: BaseException) -> None:
        self._pending.append(exc)
        if not self._timer.isActive():
            self._timer.start()

    def _flush(self) -> None:
        burst, self._pending = self._pending, []
        shown = [e for e in burst if not isinstance(e, Cancelled)]
        if not shown:
            return
        # One dialog per burst: the first error, with a count of the others.
        # ``show_error`` is looked up at call time, so tests can monkeypatch it to record.
        show_error(self._window(), shown[0], also=len(shown) - 1)
        self.sig_errors_presented.emit(shown)


_presenter: ErrorPresenter | None = None
_previous_hooks: tuple[Any, Any] | None = None
_previous_qt_handler: Any = False  # False: ours is not installed


def _excepthook(exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
    if issubclass(exc_type, KeyboardInterrupt):
        sys.__excepthook__(exc_type, exc, tb)
        return
    if exc.__traceback__ is None and tb is not None:
        exc = exc.with_traceback(tb)
    if not isinstance(exc, (Cancelled, UserFacingError)):
        log.error("unhandled exception", exc_info=(exc_type, exc, tb))
    if _presenter is not None:
        _presenter.report(exc)


def _thread_excepthook(args: threading.ExceptHookArgs) -> None:
    if args.exc_value is None:
        return
    name = args.thread.name if args.thread else "?"
    log.error("unhandled exception in thread %s", name,
              exc_info=(args.exc_type, args.exc_value, args.exc_traceback))
    if _presenter is not None:
        _presenter.report(args.exc_value)


_QT_LEVELS = {
    QtMsgType.QtDebugMsg: logging.DEBUG,
    QtMsgType.QtInfoMsg: logging.INFO,
    QtMsgType.QtWarningMsg: logging.WARNING,
    QtMsgType.QtCriticalMsg: logging.ERROR,
    QtMsgType.QtFatalMsg: logging.CRITICAL,
}


def _qt_message_handler(mode: QtMsgType, context: Any, message: str) -> None:
    category = getattr(context, "category", None) or "default"
    qt_log.log(_QT_LEVELS.get(mode, logging.WARNING), "%s: %s", category, redact(message))


def install_hooks(presenter: ErrorPresenter, *, qt_messages: bool = True) -> None:
    """Install the last-resort hooks; ``uninstall_hooks`` restores the previous ones."""
    global _presenter, _previous_hooks
    _presenter = presenter
    if _previous_hooks is None:
        _previous_hooks = (sys.excepthook, threading.excepthook)
    sys.excepthook = _excepthook
    threading.excepthook = _thread_excepthook
    if qt_messages:
        global _previous_qt_handler
        _previous_qt_handler = qInstallMessageHandler(_qt_message_handler)


def uninstall_hooks() -> None:
    global _presenter, _previous_hooks
    if _previous_hooks is not None:
        sys.excepthook, threading.excepthook = _previous_hooks
        _previous_hooks = None
    _presenter = None
    global _previous_qt_handler
    if _previous_qt_handler is not False:
        qInstallMessageHandler(_previous_qt_handler)
        _previous_qt_handler = False
