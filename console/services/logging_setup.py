"""Logging: rotating UTF-8 file + stderr (warnings and up), UTC timestamps, a session id, redaction.

Redaction is done by ``RedactingFormatter`` on *every* handler of the root logger, including
handlers someone else installed before us (pytest's capture, a debugger's), because a secret
that is masked in the file but printed to stderr has still leaked (desktop-stack §6.2, §7.2).
httpx logs full URLs at INFO, so httpx/httpcore are held at WARNING. ``faulthandler`` writes
native crashes (Qt) to ``faults.log`` next to the log.
"""

from __future__ import annotations

import faulthandler
import logging
import logging.handlers
import sys
import time
import uuid
from typing import IO

from console.core.redact import RedactingFormatter, redact
from console.services.paths import AppPaths

LOG_FILE = "console.log"
FAULTS_FILE = "faults.log"
MAX_BYTES = 5 * 1024 * 1024
BACKUP_COUNT = 5
FORMAT = "%(asctime)s.%(msecs)03dZ %(levelname)-7s [%(session)s] %(name)s: %(message)s"
DATEFMT = "%Y-%m-%dT%H:%M:%S"

SESSION_ID = uuid.uuid4().hex[:8]

_OWNED_ATTR = "_scim_console_handler"
_faults_file: IO[str] | None = None


class _SessionFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.session = SESSION_ID
        return True


def make_formatter() -> RedactingFormatter:
    formatter = RedactingFormatter(FORMAT, DATEFMT)
    formatter.converter = time.gmtime  # UTC (ASVS 16.2.2)
    return formatter


def configure_logging(paths: AppPaths, level: str | int = "INFO", *, stderr: bool = True,
                      stderr_level: str | int = "WARNING") -> logging.Logger:
    """Set up the root logger; calling it again replaces our handlers instead of adding more.

    The file gets everything at ``level``; the terminal only ``stderr_level`` and above, so a user who
    started the app from a shell sees warnings and errors, not a line per request (``--verbose``
    passes ``level`` here to bring those back)."""
    global _faults_file
    paths.ensure()
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWNED_ATTR, False):
            root.removeHandler(handler)
            handler.close()

    formatter = make_formatter()
    session = _SessionFilter()
    file_handler = logging.handlers.RotatingFileHandler(
        paths.log_dir / LOG_FILE, maxBytes=MAX_BYTES, backupCount=BACKUP_COUNT, encoding="utf-8"
    )
    ours: list[logging.Handler] = [file_handler]
    if stderr and sys.stderr is not None:  # windowed builds have no stderr
        terminal = logging.StreamHandler(sys.stderr)
        terminal.setLevel(stderr_level if isinstance(stderr_level, int) else stderr_level.upper())
        ours.append(terminal)
    for handler in ours:
        setattr(handler, _OWNED_ATTR, True)
        root.addHandler(handler)

    # Every handler, ours and pre-existing, formats through redaction and knows the session id.
    for handler in root.handlers:
        if not isinstance(handler.formatter, RedactingFormatter):
            owned = getattr(handler, _OWNED_ATTR, False)
            handler.setFormatter(formatter if owned else _RedactingWrapper(handler.formatter))
        if not any(isinstance(f, _SessionFilter) for f in handler.filters):
            handler.addFilter(session)
    root.setLevel(level if isinstance(level, int) else level.upper())
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(logging.WARNING)

    if _faults_file is None or _faults_file.closed:
        _faults_file = open(paths.log_dir / FAULTS_FILE, "a", encoding="utf-8")  # noqa: SIM115 - lives for the process
        faulthandler.enable(_faults_file)
    return root


class _RedactingWrapper(RedactingFormatter):
    """Keeps a foreign handler's own formatter (e.g. pytest's) and redacts what it produces."""

    def __init__(self, inner: logging.Formatter | None) -> None:
        super().__init__()
        self._inner = inner or logging.Formatter()

    def format(self, record: logging.LogRecord) -> str:
        text = self._inner.format(record)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return redact(text)


def shutdown_logging() -> None:
    """Remove our handlers and stop faulthandler (tests; the app's exit path)."""
    global _faults_file
    root = logging.getLogger()
    for handler in list(root.handlers):
        if getattr(handler, _OWNED_ATTR, False):
            root.removeHandler(handler)
            handler.close()
    if _faults_file is not None:
        faulthandler.disable()
        _faults_file.close()
        _faults_file = None
