"""One-time secure links for handing a SCIM token to a customer.

The secret is encrypted with AES-256-GCM under a random key that is never stored: it exists only in
the link ``{public_base_url}/s/{id}/{key}``. The database keeps ciphertext until the link is read,
expires or is revoked, then wipes it. Opening the link shows a Reveal button (GET never burns, so
chat/mail link unfurlers cannot consume it); the POST shows the secret once and burns it.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from datetime import timedelta

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from sqlalchemy import update
from sqlalchemy.orm import Session

from console.sandbox.admin_views import link_state
from console.sandbox.db import SecureLink, utcnow
from console.sandbox.errors import ApiError

DEFAULT_EXPIRY_HOURS = 72
MAX_EXPIRY_HOURS = 30 * 24


class LinkGone(Exception):
    """The link was viewed, expired or revoked (HTTP 410)."""


class LinkNotFound(Exception):
    """No such link, or the key in the URL does not open it (HTTP 404)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        raise LinkNotFound from None


def create_link(
    session: Session,
    *,
    secret: str,
    org_id: str | None,
    label: str | None,
    expires_in_hours: int,
    created_by: str,
) -> tuple[SecureLink, str]:
    """Store the encrypted secret; returns (row, url key). The caller builds the URL."""
    if not 1 <= expires_in_hours <= MAX_EXPIRY_HOURS:
        raise ApiError(422, "invalid_expiry", f"expires_in_hours must be between 1 and {MAX_EXPIRY_HOURS}.")
    key = AESGCM.generate_key(bit_length=256)
    link_id = "sl_" + secrets.token_urlsafe(12)
    nonce = os.urandom(12)
    now = utcnow()
    row = SecureLink(
        id=link_id,
        org_id=org_id,
        label=label,
        created_by=created_by,
        created_at=now,
        expires_at=now + timedelta(hours=expires_in_hours),
        ciphertext=nonce + AESGCM(key).encrypt(nonce, secret.encode("utf-8"), link_id.encode()),
    )
    session.add(row)
    session.flush()
    return row, _b64(key)


def _open(session: Session, link_id: str, key: str) -> tuple[SecureLink, str]:
    row = session.get(SecureLink, link_id)
    if row is None:
        raise LinkNotFound
    if link_state(row) != "pending" or row.ciphertext is None:
        wipe_if_spent(row)
        raise LinkGone
    raw_key = _unb64(key)
    if len(raw_key) != 32:
        raise LinkNotFound
    blob = row.ciphertext
    try:
        plain = AESGCM(raw_key).decrypt(blob[:12], blob[12:], row.id.encode())
    except InvalidTag:
        raise LinkNotFound from None
    return row, plain.decode("utf-8")


def check(session: Session, link_id: str, key: str) -> SecureLink:
    """Validate the link and key without burning it (for the GET page)."""
    row, _secret = _open(session, link_id, key)
    return row


def reveal(session: Session, link_id: str, key: str) -> tuple[SecureLink, str]:
    """Decrypt once and burn: the ciphertext is wiped and ``viewed_at`` set in the same commit.

    The burn is a conditional UPDATE (``viewed_at IS NULL``) so two concurrent reveals cannot both win.
    """
    row, secret = _open(session, link_id, key)
    now = utcnow()
    result = session.execute(
        update(SecureLink)
        .where(SecureLink.id == row.id, SecureLink.viewed_at.is_(None), SecureLink.ciphertext.is_not(None))
        .values(ciphertext=None, viewed_at=now)
        .execution_options(synchronize_session=False)
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise LinkGone
    session.expire(row)
    return row, secret


def revoke(row: SecureLink) -> None:
    if row.revoked_at is None and row.viewed_at is None:
        row.revoked_at = utcnow()
    row.ciphertext = None


def wipe_if_spent(row: SecureLink) -> bool:
    """Drop the ciphertext of a link that can no longer be read. Returns True when it changed."""
    if row.ciphertext is not None and link_state(row) != "pending":
        row.ciphertext = None
        return True
    return False


def wipe_expired(session: Session) -> int:
    result = session.execute(
        update(SecureLink)
        .where(SecureLink.ciphertext.is_not(None), SecureLink.expires_at <= utcnow())
        .values(ciphertext=None)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]
