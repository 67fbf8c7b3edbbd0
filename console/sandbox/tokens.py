"""SCIM and operator bearer tokens: minted here, stored only as SHA-256 hashes.

Tokens carry a recognisable prefix (``scim_`` for SCIM tokens, ``scop_`` for sandbox operator
tokens) so the console's redacting formatter can catch them anywhere (desktop-stack §6.2).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.sandbox.db import OperatorToken, ScimToken, utcnow

SCIM_TOKEN_PREFIX = "scim_"
OPERATOR_TOKEN_PREFIX = "scop_"
MAX_ACTIVE_SCIM_TOKENS = 2
DEFAULT_SCIM_TOKEN_LIFETIME = timedelta(days=365)  # Atlassian's default; Entra wants long-lived
DEFAULT_OPERATOR_TOKEN_LIFETIME = timedelta(days=30)  # a sandbox start's credential; restarts rotate it


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def fingerprint(token: str) -> str:
    """Public, non-reversible identifier of a token: first 16 hex chars of its SHA-256."""
    return hash_token(token)[:16]


def generate(prefix: str) -> str:
    return prefix + secrets.token_urlsafe(32)


def active_scim_tokens(session: Session, org_id: str, now: datetime | None = None) -> list[ScimToken]:
    now = now or utcnow()
    rows = session.scalars(
        select(ScimToken).where(ScimToken.org_id == org_id, ScimToken.revoked_at.is_(None))
    ).all()
    return [t for t in rows if t.expires_at is None or t.expires_at > now]


def mint_scim_token(
    session: Session,
    org_id: str,
    *,
    created_by: str | None,
    lifetime: timedelta | None = DEFAULT_SCIM_TOKEN_LIFETIME,
) -> tuple[str, ScimToken]:
    """Create a SCIM token; returns (plaintext, row). The caller shows the plaintext once."""
    plaintext = generate(SCIM_TOKEN_PREFIX)
    now = utcnow()
    row = ScimToken(
        org_id=org_id,
        token_hash=hash_token(plaintext),
        last_four=plaintext[-4:],
        fingerprint=fingerprint(plaintext),
        created_at=now,
        created_by=created_by,
        expires_at=(now + lifetime) if lifetime else None,
    )
    session.add(row)
    session.flush()
    return plaintext, row


def authenticate_scim_token(session: Session, org_id: str, presented: str) -> ScimToken | None:
    """Return the active token of ``org_id`` matching ``presented``, else None.

    It does not touch ``last_used_at``: the SCIM handler writes that just before its commit (a pending
    change here would be autoflushed by the handler's first query and hold SQLite's write lock)."""
    digest = hash_token(presented)
    row = session.scalar(select(ScimToken).where(ScimToken.token_hash == digest))
    if row is None or not hmac.compare_digest(row.token_hash, digest) or row.org_id != org_id:
        return None
    now = utcnow()
    if row.revoked_at is not None or (row.expires_at is not None and row.expires_at <= now):
        return None
    return row


def mint_operator_token(session: Session, name: str,
                        lifetime: timedelta | None = DEFAULT_OPERATOR_TOKEN_LIFETIME) -> str:
    plaintext = generate(OPERATOR_TOKEN_PREFIX)
    now = utcnow()
    session.add(OperatorToken(name=name, token_hash=hash_token(plaintext), created_at=now,
                              expires_at=(now + lifetime) if lifetime else None))
    session.flush()
    return plaintext


def start_operator_token(session: Session, name: str, *, revoke_all: bool = False) -> str:
    """The operator token of a sandbox start: the tokens earlier starts minted under ``name`` are
    revoked first (``revoke_all``: every operator token of this database), so a database never
    collects valid tokens; the new one expires (docs/sandbox-limits.md §4)."""
    now = utcnow()
    stmt = select(OperatorToken).where(OperatorToken.revoked_at.is_(None))
    if not revoke_all:
        stmt = stmt.where(OperatorToken.name == name)
    for row in session.scalars(stmt):
        row.revoked_at = now
    return mint_operator_token(session, name)


def authenticate_operator(session: Session, presented: str) -> OperatorToken | None:
    row = session.scalar(select(OperatorToken).where(OperatorToken.token_hash == hash_token(presented)))
    if row is None or row.revoked_at is not None:
        return None
    if row.expires_at is not None and row.expires_at <= utcnow():
        return None
    return row
