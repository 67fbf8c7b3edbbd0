"""Typed errors. The UI classifies errors by type, never by message text."""

from __future__ import annotations


class ConsoleError(Exception):
    """Base class of every error the console raises on purpose."""


class UserFacingError(ConsoleError):
    """An error whose message is written for the support engineer and can be shown as is.

    ``where`` names the thing that failed (a file and line, a URL path, a setting) so the
    message always says *what* and *where*.
    """

    def __init__(self, message: str, *, where: str | None = None, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.where = where
        self.hint = hint

    def __str__(self) -> str:
        text = self.message
        if self.where:
            text = f"{text} ({self.where})"
        return text


class Cancelled(ConsoleError):
    """The user cancelled an operation. Never shown as an error."""
