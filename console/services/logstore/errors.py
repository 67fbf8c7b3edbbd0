"""Errors of log import: always name the file and the position."""

from __future__ import annotations

from console.core.errors import UserFacingError


class LogImportError(UserFacingError):
    """The input could not be imported (nothing usable, or a limit was exceeded)."""

    def __init__(self, message: str, *, file: str, position: str = "", hint: str | None = None) -> None:
        where = f"{file}, {position}" if position else file
        super().__init__(message, where=where, hint=hint)
        self.file = file
        self.position = position


class NotALogError(LogImportError):
    """Readable, but not a provisioning log (no known fields in any record)."""
