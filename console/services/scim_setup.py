"""Enable SCIM for an org, rotate and revoke its tokens, and hand a token to the customer (no Qt).

The rules (issue 4 §2, desktop-stack §5.3, §6.7):

* **Keyring first.** The new token is kept only in the OS keyring until it is delivered, so a keyring
  that cannot keep it refuses *before* anything is minted (:func:`preflight_keyring`).
* **One intention, one Idempotency-Key.** A network failure or timeout mid-call is retried with the
  same key (the platform replays the first answer, so no second token is minted); if it still fails,
  the org's SCIM state is re-queried and the user is told which state it is in
  (:class:`EnableInterrupted` carries the key so "Try again" reuses it). Never a second mint.
* **Never the value** in SQLite, logs, audit or messages: only token id, last four, fingerprint.
"""

from __future__ import annotations

import logging
import secrets as pysecrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

from console.core.errors import UserFacingError
from console.core.models import NewToken, ScimSettings, SecureLink, TokenInfo
from console.core.platform_identity import PlatformRef, WrongPlatformError, refuse_other_platform
from console.core.redact import register_secret
from console.services import api_errors as E  # noqa: N812
from console.services.api_client import new_idempotency_key
from console.services.pending_deliveries import (
    DEFAULT_DELIVERY_HOURS,
    PendingDeliveries,
    PendingDelivery,
    secret_key,
)
from console.services.scim_intents import ScimIntents

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRYABLE = (E.NetworkError, E.TimeoutError_, E.ServerError)
DEFAULT_ATTEMPTS = 3


class KeyringUnavailableError(UserFacingError):
    """The OS keyring cannot keep a SCIM token until delivery: nothing is minted."""


class EnableInterruptedError(UserFacingError):
    """The mint call failed after retries; ``state`` is what a re-query found.

    ``state``: ``"enabled"`` (the platform has it; "Try again" with ``idempotency_key`` replays the
    token), ``"not_enabled"`` (nothing happened) or ``"unknown"`` (the platform is unreachable).
    """

    def __init__(self, message: str, *, state: str, idempotency_key: str, hint: str | None = None,
                 settings: ScimSettings | None = None) -> None:
        super().__init__(message, hint=hint)
        self.state = state
        self.idempotency_key = idempotency_key
        self.settings = settings


@dataclass(frozen=True, slots=True)
class MintResult:
    """A token just minted (enable or rotate) and stored in the keyring pending delivery."""

    org_id: str
    scim_base_url: str
    token: str = field(repr=False)
    token_info: TokenInfo = field(default=None)  # type: ignore[assignment]
    pending: PendingDelivery | None = None
    attempts: int = 1
    idempotency_key: str = ""
    kept_in: str = "the OS keyring"  # where the token waits for delivery (SecretStore.token_location)


def preflight_keyring(secrets: Any, admin_url: str | None = None) -> None:
    """Refuse unless the SecretStore can keep a token of ``admin_url`` until delivery (an OS keyring,
    or memory for the embedded sandbox's throwaway tokens) and a write/read/delete round-trip works."""
    if not secrets.may_keep_scim_tokens_of(admin_url):
        reason = getattr(secrets, "fallback_reason", None) or "only an in-memory store is available"
        raise KeyringUnavailableError(
            f"The SCIM token cannot be kept safely until it is delivered: {reason}. Nothing was changed "
            "on the platform.",
            hint="Unlock or install an OS keyring (GNOME Keyring, KeePassXC Secret Service, Windows "
                 "Credential Manager, macOS Keychain) and try again.")
    probe_key, probe = "probe:scim-setup", pysecrets.token_hex(8)
    try:
        secrets.set(probe_key, probe)
        ok = secrets.get(probe_key) == probe
        secrets.delete(probe_key)
    except UserFacingError as exc:
        raise KeyringUnavailableError(
            f"The OS keyring refused to store a test value ({exc}). Nothing was changed on the platform.",
            hint="Unlock the keyring and try again.") from None
    if not ok:
        raise KeyringUnavailableError("The OS keyring did not return what was stored in it. Nothing was "
                                      "changed on the platform.")


def _with_retries(call: Callable[[], T], attempts: int, on_attempt: Callable[[int], None] | None) -> T:
    """``call`` (which always sends the same Idempotency-Key) up to ``attempts`` times."""
    last: BaseException | None = None
    for attempt in range(1, max(1, attempts) + 1):
        if on_attempt is not None:
            on_attempt(attempt)
        try:
            return call()
        except RETRYABLE as exc:
            last = exc
            log.warning("SCIM token call failed (%s), attempt %d/%d; retrying with the same key",
                        type(exc).__name__, attempt, attempts)
    assert last is not None
    raise last


def _store_and_audit(kind: str, client: Any, org_id: str, new: NewToken, secrets: Any, audit: Any,
                     deliveries: PendingDeliveries, *, operator: str, profile_id: str | None,
                     hours: int, attempts: int, key: str, scim_base_url: str,
                     platform: PlatformRef) -> MintResult:
    info = new.token_info
    register_secret(new.token)
    stored = True
    try:
        secrets.set(secret_key(org_id, info.id, platform.id), new.token)
        pending = deliveries.add(org_id, info, profile_id=profile_id, hours=hours, platform=platform)
    except UserFacingError as exc:  # keyring broke between preflight and now: show once, say so
        stored, pending = False, None
        log.error("could not keep the new SCIM token for delivery: %s", exc)
    audit.record(kind, org_id=org_id, profile_id=profile_id, actor=operator, params={
        "token_id": info.id, "last_four": info.last_four, "fingerprint": info.fingerprint,
        "expires_at": info.expires_at, "scim_base_url": scim_base_url, "attempts": attempts,
        "stored_in_keyring": stored, "platform_id": platform.id,
        "delivery_expires_at": pending.expires_at if pending else None})
    return MintResult(org_id, scim_base_url, new.token, info, pending, attempts, key,
                      secrets.token_location(getattr(client, "admin_url", None)))


_RETRY_SAME_KEY = ("Run the same command again (or Try again in the wizard), from this or any console on "
                   "this machine: the console kept the request's Idempotency-Key, so the same request is "
                   "repeated and the platform hands over the same token it minted, or mints one if it never "
                   "did. Never two.")


def _interrupted(client: Any, org_id: str, key: str, exc: BaseException, audit: Any, kind: str,
                 operator: str, profile_id: str | None,
                 tokens_before: frozenset[str] | None) -> EnableInterruptedError:
    """What a re-query says after the mint call failed: ``reached`` (minted, the answer was lost),
    ``not_enabled`` (nothing minted) or ``unknown``. ``tokens_before``: the active token ids read
    before a rotate (None for enable, where no token existed before)."""
    try:
        settings: ScimSettings | None = client.get_scim(org_id)
    except UserFacingError:
        settings = None
    what = "SCIM enable" if kind == "scim.enable" else "the token rotation"
    if settings is None:
        state, msg = "unknown", (f"It is not known whether {what} for {org_id} reached the platform: the "
                                 "platform could not be reached to check.")
        hint = _RETRY_SAME_KEY
    else:
        active = {t.id for t in settings.tokens if t.active}
        if tokens_before is not None:
            minted = active - tokens_before
        else:
            minted = active if settings.enabled else set()
        if minted:
            state = "enabled"
            head = f"SCIM is enabled for {org_id}" if tokens_before is None else f"{org_id} has a new token"
            msg = (f"{head}: the request reached the platform and minted {', '.join(sorted(minted))}, but "
                   "the token did not reach the console (the answer carrying it was lost on the way back).")
            hint = _RETRY_SAME_KEY + " If retrying keeps failing, revoke that token and rotate."
        else:
            state = "not_enabled"
            msg = (f"No token was minted for {org_id}: the platform did not carry out {what} "
                   "(nothing was changed there).")
            hint = "Try again; this is a new request."
    audit.record(kind, outcome="error", org_id=org_id, profile_id=profile_id, actor=operator,
                 params={"state_after": state}, detail=f"{type(exc).__name__}: {exc}")
    return EnableInterruptedError(f"{msg} ({exc})", state=state, idempotency_key=key, hint=hint,
                                  settings=settings)


def _mint(kind: str, call: Callable[[str], NewToken], client: Any, org_id: str, audit: Any, *, operator: str,
          profile_id: str | None, key: str, attempts: int, on_attempt: Callable[[int], None] | None,
          conflicts: dict[str, tuple[str, str]], intents: ScimIntents, platform: PlatformRef,
          tokens_before: frozenset[str] | None) -> tuple[NewToken, int]:
    """One minting intention: ``call(key)`` with retries on the same key, recorded in ``intents``
    until its outcome is known; a failure is re-queried and explained (:func:`_interrupted`), a
    known conflict becomes its message. Returns the token and how many attempts it took."""
    seen: list[int] = []
    resumed = intents.get(key) is not None

    def hook(n: int) -> None:
        seen.append(n)
        if on_attempt is not None:
            on_attempt(n)

    intents.begin(kind.removeprefix("scim."), org_id, platform, key, profile_id=profile_id)
    try:
        return _with_retries(lambda: call(key), attempts, hook), len(seen)
    except RETRYABLE as exc:
        intents.failed(key, f"{type(exc).__name__}: {exc}")
        err = _interrupted(client, org_id, key, exc, audit, kind, operator, profile_id, tokens_before)
        if err.state == "not_enabled":
            intents.resolve(key, "not_minted")
        raise err from None
    except E.ConflictError as exc:
        audit.record(kind, outcome="error", org_id=org_id, profile_id=profile_id, actor=operator,
                     detail=f"{exc.code}: {exc}")
        intents.resolve(key, "abandoned" if resumed else "not_minted")
        if resumed and exc.code == "scim_already_enabled":
            raise UserFacingError(
                f"SCIM is enabled for {org_id}, and the earlier enable request that was interrupted did "
                "reach the platform, but the platform no longer replays its answer, so its token never "
                "reached the console.",
                hint="Rotate to mint a token you can deliver, then revoke the one nobody holds (see "
                     "'scim status').") from None
        if exc.code in conflicts:
            message, hint = conflicts[exc.code]
            raise UserFacingError(message, hint=hint) from None
        raise
    except UserFacingError:
        intents.resolve(key, "not_minted")  # the platform refused (4xx): nothing was minted
        raise


def _platform_or_not_sent(client: Any, org_id: str, kind: str) -> PlatformRef:
    """The platform's identity, read before anything is sent; unreachable = nothing minted."""
    try:
        return client.platform()
    except RETRYABLE as exc:
        raise EnableInterruptedError(
            f"Nothing was minted for {org_id}: the platform could not be reached, so the {kind} request was "
            f"not sent ({exc}).", state="not_enabled", idempotency_key="",
            hint="Try again when the connection is back.") from None


def _intent_key(intents: ScimIntents, kind: str, org_id: str, platform: PlatformRef,
                idempotency_key: str | None) -> str:
    """The caller's key, else the key of this org's open intention on this platform, else a new one."""
    if idempotency_key:
        return idempotency_key
    open_intent = intents.open_for(kind, org_id, platform.id)
    if open_intent is not None and open_intent.idempotency_key:
        log.info("repeating the interrupted %s of %s with its Idempotency-Key", kind, org_id)
        return open_intent.idempotency_key
    return new_idempotency_key()


def enable_scim(client: Any, org_id: str, secrets: Any, audit: Any, *, operator: str,
                deliveries: PendingDeliveries, profile_id: str | None = None,
                idempotency_key: str | None = None, attempts: int = DEFAULT_ATTEMPTS,
                delivery_hours: int = DEFAULT_DELIVERY_HOURS, token_lifetime_days: int | None = None,
                on_attempt: Callable[[int], None] | None = None) -> MintResult:
    """Enable SCIM and keep the first token in the keyring pending delivery."""
    preflight_keyring(secrets, getattr(client, "admin_url", None))
    platform = _platform_or_not_sent(client, org_id, "enable")
    intents = ScimIntents(deliveries.engine)
    key = _intent_key(intents, "enable", org_id, platform, idempotency_key)
    new, tries = _mint(
        "scim.enable",
        lambda k: client.enable_scim(org_id, idempotency_key=k, token_lifetime_days=token_lifetime_days),
        client, org_id, audit, operator=operator, profile_id=profile_id, key=key, attempts=attempts,
        on_attempt=on_attempt, conflicts={"scim_already_enabled": (
            f"SCIM is already enabled for {org_id}.",
            "Use Rotate to issue a new token (the current one stays active until you revoke it).")},
        intents=intents, platform=platform, tokens_before=None)
    url = new.scim_base_url or _scim_base_url_if_known(client, org_id)
    result = _store_and_audit("scim.enable", client, org_id, new, secrets, audit, deliveries,
                              operator=operator, profile_id=profile_id, hours=delivery_hours,
                              attempts=tries, key=key, scim_base_url=url, platform=platform)
    intents.resolve(key, "minted")
    return result


def _scim_base_url_if_known(client: Any, org_id: str) -> str:
    """Best effort, after a mint: a failure here must not lose the token that was just minted."""
    try:
        return client.get_scim(org_id).scim_base_url or ""
    except UserFacingError as exc:
        log.warning("SCIM base URL of %s unknown after enabling: %s", org_id, exc)
        return ""


def rotate_token(client: Any, org_id: str, secrets: Any, audit: Any, *, operator: str,
                 deliveries: PendingDeliveries, profile_id: str | None = None,
                 idempotency_key: str | None = None, attempts: int = DEFAULT_ATTEMPTS,
                 delivery_hours: int = DEFAULT_DELIVERY_HOURS) -> MintResult:
    """Mint a second token (the old one stays active until revoked) and keep it pending delivery."""
    preflight_keyring(secrets, getattr(client, "admin_url", None))
    platform = _platform_or_not_sent(client, org_id, "rotate")
    # Read before minting: once a token exists, nothing may stand between it and the keyring (a GET
    # that failed after the mint used to lose the new, active token). The active ids also tell,
    # after a failure, whether this call minted one.
    settings = client.get_scim(org_id)
    intents = ScimIntents(deliveries.engine)
    key = _intent_key(intents, "rotate", org_id, platform, idempotency_key)
    new, tries = _mint(
        "scim.rotate", lambda k: client.mint_scim_token(org_id, idempotency_key=k),
        client, org_id, audit, operator=operator, profile_id=profile_id, key=key, attempts=attempts,
        on_attempt=None, conflicts={"too_many_active_tokens": (
            f"{org_id} already has two active SCIM tokens.",
            "Revoke the old token (after the customer switched) before rotating again.")},
        intents=intents, platform=platform,
        tokens_before=frozenset(t.id for t in settings.tokens if t.active))
    result = _store_and_audit("scim.rotate", client, org_id, new, secrets, audit, deliveries,
                              operator=operator, profile_id=profile_id, hours=delivery_hours,
                              attempts=tries, key=key, scim_base_url=settings.scim_base_url or "",
                              platform=platform)
    intents.resolve(key, "minted")
    return result


def revoke_token(client: Any, org_id: str, token_id: str, secrets: Any, audit: Any, *, operator: str,
                 deliveries: PendingDeliveries, profile_id: str | None = None) -> TokenInfo:
    """Revoke on the platform (the UI asked for confirmation) and forget any undelivered copy."""
    try:
        info = client.revoke_scim_token(org_id, token_id)
    except UserFacingError as exc:
        audit.record("scim.revoke", outcome="error", org_id=org_id, profile_id=profile_id, actor=operator,
                     params={"token_id": token_id}, detail=str(exc))
        raise
    row = deliveries.get(token_id)
    secrets.delete(secret_key(org_id, token_id))  # a pre-v5 entry, if any
    if row is not None and row.platform_id:
        secrets.delete(row.key)
    if row is not None:
        deliveries.mark_delivered(token_id, "revoked")
        deliveries.purge(secrets)
    audit.record("scim.revoke", org_id=org_id, profile_id=profile_id, actor=operator,
                 params={"token_id": info.id, "last_four": info.last_four, "fingerprint": info.fingerprint})
    return info


# ---- delivery
def pending_token(secrets: Any, org_id: str, token_id: str, *, client: Any,
                  deliveries: PendingDeliveries) -> str:
    """The undelivered token, after checking it belongs to the platform ``client`` talks to.

    Refuses (:class:`WrongPlatformError`, naming both) a token minted on another platform. A row from
    before schema v5 is first bound to this platform if this platform holds the same token."""
    row = deliveries.get(token_id)
    if row is None or row.org_id != org_id:
        raise UserFacingError(f"Token {token_id} of {org_id} is not waiting for delivery in this console.",
                              hint="Rotate to issue a new token if the customer never received it.")
    here = client.platform()
    if row.platform is None:
        adopted = deliveries.adopt_legacy(row, here, client.get_scim(org_id).tokens, secrets)
        if adopted is None:
            raise WrongPlatformError(
                f"Token …{row.last_four} of {org_id} was kept before the console recorded platforms, and the "
                f"platform it is connected to ({here.url}, instance {here.id}) does not hold it; it was not "
                "sent.", hint="Connect to the platform that minted it, or rotate on this one.")
        row = adopted
    assert row.platform is not None
    refuse_other_platform(f"Token …{row.last_four} of {org_id}", row.platform, here)
    if not getattr(secrets, "is_persistent", True):
        raise UserFacingError(
            f"The OS keyring is not available, so the console cannot read token …{row.last_four} of {org_id} "
            f"(it was kept there, and is still pending delivery until {row.expires_at:%Y-%m-%d %H:%M} UTC).",
            hint="Unlock or start the OS keyring (Secret Service, Credential Manager, Keychain), then retry.")
    value = secrets.get(row.key)
    if not value:
        raise UserFacingError("This token is no longer held by the console (delivered, expired or revoked).",
                              hint="Rotate to issue a new token if the customer never received it.")
    return str(value)


def create_delivery_link(client: Any, org_id: str, token_id: str, secrets: Any, audit: Any, *,
                         operator: str, deliveries: PendingDeliveries, profile_id: str | None = None,
                         expires_in_hours: int = DEFAULT_DELIVERY_HOURS) -> SecureLink:
    """A one-time link on the platform carrying the token. ``link.url`` is itself a secret: show it
    once, never log or store it (only the link id is kept, to see when the customer opened it)."""
    token = pending_token(secrets, org_id, token_id, client=client, deliveries=deliveries)
    link = client.create_secure_link(token, org_id=org_id, label=f"SCIM token …{token[-4:]}",
                                     expires_in_hours=expires_in_hours,
                                     idempotency_key=new_idempotency_key())
    if link.url:
        register_secret(link.url)
        register_secret(link.url.rstrip("/").rsplit("/", 1)[-1])  # the key alone, should it be quoted
    deliveries.set_link(token_id, link.id)
    audit.record("scim.deliver", org_id=org_id, profile_id=profile_id, actor=operator,
                 params={"token_id": token_id, "method": "link", "link_id": link.id,
                         "link_expires_at": link.expires_at})
    return link


def confirm_delivered(org_id: str, token_id: str, method: str, secrets: Any, audit: Any, *, operator: str,
                      deliveries: PendingDeliveries, profile_id: str | None = None) -> list[str]:
    """The operator confirms the customer has the token (copy once, file sent): purge it."""
    deliveries.mark_delivered(token_id, method)
    audit.record("scim.deliver", org_id=org_id, profile_id=profile_id, actor=operator,
                 params={"token_id": token_id, "method": method, "confirmed": True})
    return deliveries.purge(secrets)


def refresh_deliveries(client: Any, secrets: Any, deliveries: PendingDeliveries,
                       now: datetime | None = None) -> list[str]:
    """Mark links the customer opened as delivered, then purge delivered/expired tokens."""
    try:
        here: str | None = client.platform().id
    except UserFacingError:
        here = None  # offline: purge by expiry only
    for d in deliveries.list():
        if here is None or d.platform_id not in (None, here):
            continue  # a link of another platform is asked about there, not here
        if d.delivered_at is None and d.link_id and d.purged_at is None:
            try:
                link = client.get_secure_link(d.link_id)
            except UserFacingError:
                continue
            if link.state == "viewed":
                deliveries.mark_delivered(d.token_id, "link", link.viewed_at or datetime.now(UTC))
    return deliveries.purge(secrets, now)
