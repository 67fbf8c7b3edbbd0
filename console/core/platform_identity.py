"""Which platform a secret belongs to (docs/platform-identity.md).

Org ids are chosen by people ("contoso"), so two platforms — sandbox and production, staging and
production — can both have one. A SCIM token held for delivery is therefore bound to the platform
that minted it: its stable instance id (``GET /admin/v1/health`` → ``instance_id``), or, for a
platform that does not expose one, its admin URL. Before the console sends or hands out such a
token it compares that binding with the platform it is about to call and refuses on a mismatch.

Also here: the rule that ``http://`` is allowed only to a loopback host (an operator token or a
SCIM token would otherwise cross the network in clear text).
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from urllib.parse import urlsplit

from console.core.errors import UserFacingError

URL_IDENTITY_PREFIX = "url:"


@dataclass(frozen=True, slots=True)
class PlatformRef:
    """``id``: the platform's instance id (or ``url:<admin url>``); ``url``: its admin URL, for messages."""

    id: str
    url: str

    @classmethod
    def from_health(cls, health: dict[str, object], admin_url: str) -> PlatformRef:
        ident = health.get("instance_id")
        if isinstance(ident, str) and ident.strip():
            return cls(ident.strip(), admin_url)
        return cls(URL_IDENTITY_PREFIX + admin_url, admin_url)


class WrongPlatformError(UserFacingError):
    """A secret minted on one platform was about to be used against another."""


def refuse_other_platform(what: str, minted_on: PlatformRef, about_to_call: PlatformRef) -> None:
    """Raise :class:`WrongPlatformError` (naming both platforms) unless they are the same."""
    if minted_on.id == about_to_call.id:
        return
    raise WrongPlatformError(
        f"{what} was minted on another platform ({minted_on.url}, instance {minted_on.id}) than the one "
        f"the console is connected to ({about_to_call.url}, instance {about_to_call.id}); it was not sent.",
        hint="Switch to the profile of the platform that minted it (or set SCIM_CONSOLE_URL to it), or "
             "rotate on this platform to get a token that belongs here.")


def is_loopback_host(host: str) -> bool:
    """``localhost`` (and ``*.localhost``), ``127.0.0.0/8`` and ``::1``."""
    host = host.strip("[]").rstrip(".").lower()
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_transport(url: str, where: str) -> None:
    """``https://`` anywhere; ``http://`` only for a loopback host. ``where`` names the URL (redacted)."""
    parts = urlsplit(url.strip())
    if parts.scheme == "https" and parts.hostname:
        return
    if parts.scheme == "http" and parts.hostname and is_loopback_host(parts.hostname):
        return
    if parts.scheme == "http":
        raise UserFacingError(
            f"http:// is allowed only for a sandbox on this machine (localhost, 127.0.0.1, ::1), not for "
            f"{parts.hostname or 'this host'} (the token would travel in clear text): use https://.",
            where=where, hint="Use the platform's https:// URL.")
    raise UserFacingError("The admin API URL must start with https:// (or http:// for a sandbox on this "
                          "machine).", where=where)
