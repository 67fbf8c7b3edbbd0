"""Typed errors of the admin API client. The UI decides what to do by type, never by text.

Every message is written for the support engineer, names *where* it happened (method and path),
and is passed through redaction: the operator token is never part of one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from console.core.errors import UserFacingError
from console.core.redact import redact


class ApiError(UserFacingError):
    """The admin API answered with an error, or could not be reached.

    ``status`` is the HTTP status (0 when there was no response), ``code`` the platform's stable
    error code (``error.code`` of its JSON body), ``details`` its ``error.details`` object.
    """

    default_hint: str | None = None

    def __init__(
        self,
        message: str,
        *,
        status: int = 0,
        code: str = "error",
        details: Mapping[str, Any] | None = None,
        where: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(
            redact(message), where=redact(where) if where else None, hint=hint or self.default_hint
        )
        self.status = status
        self.code = code
        self.details: Mapping[str, Any] = dict(details or {})


class BadRequestError(ApiError):
    """400/422: the request was not acceptable (validation)."""


class AuthError(ApiError):
    """401/403: the operator token is missing, wrong, expired or lacks the permission."""

    default_hint = "Check the profile's operator token (Connections → Edit), or ask for a new one."


class NotFoundError(ApiError):
    """404: the org, user, token or link does not exist (any more)."""


class ConflictError(ApiError):
    """409: the state changed or forbids this (``version_conflict``, ``scim_already_enabled`` …)."""


class GoneError(ApiError):
    """410: the resource existed but is gone for good (e.g. a burnt one-time link)."""


class RateLimitedError(ApiError):
    """429 after the retries ran out (or on a call that must not be retried)."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: the platform failed; usually worth trying again later."""


class NetworkError(ApiError):
    """No HTTP response: DNS, refused connection, TLS failure, proxy …"""

    default_hint = "Check the network, VPN or proxy, and the profile's URL."


class TimeoutError_(ApiError):  # noqa: N801 - trailing underscore: don't shadow the builtin TimeoutError
    """The platform did not answer in time."""


class ProtocolError(ApiError):
    """The platform answered with something that is not the documented JSON."""


def error_for_status(status: int) -> type[ApiError]:
    if status in (400, 422):
        return BadRequestError
    if status in (401, 403):
        return AuthError
    if status == 404:
        return NotFoundError
    if status == 409:
        return ConflictError
    if status == 410:
        return GoneError
    if status == 429:
        return RateLimitedError
    if status >= 500:
        return ServerError
    return ApiError
