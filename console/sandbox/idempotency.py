"""``Idempotency-Key`` replay for the token-minting endpoints.

A client that lost the response of ``POST …/scim/enable`` retries with the same key and gets the
same response (the same token) instead of a second token. The stored response holds a secret, so
it is kept only as AES-GCM ciphertext under a key derived (HKDF-SHA256) from the Idempotency-Key,
which only the client knows; the row is found by a separate SHA-256 of the key. Records live 24 h.

Concurrency: callers hold ``IdempotencyGate.lock`` (one process) and the record's primary key makes
a second writer fail (any process); on that IntegrityError the caller rolls back everything it did —
including the minted token — and replays the winner's response.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from fastapi.encoders import jsonable_encoder
from sqlalchemy import delete
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from console.sandbox.db import IdempotencyRecord, utcnow
from console.sandbox.errors import ApiError

TTL = timedelta(hours=24)
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class Replay:
    status_code: int
    body: dict[str, Any]


@dataclass
class IdempotencyGate:
    lock: threading.Lock = field(default_factory=threading.Lock)


def key_hash(key: str) -> str:
    return hashlib.sha256(b"idempotency-key v1\0" + key.encode("utf-8")).hexdigest()


def _aead(key: str) -> AESGCM:
    hkdf = HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=b"scim-console sandbox idempotency",
        info=b"response encryption v1",
    )
    return AESGCM(hkdf.derive(key.encode("utf-8")))


def request_hash(scope: str, body: Any) -> str:
    canonical = json.dumps(jsonable_encoder(body), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(f"{scope}\n{canonical}".encode()).hexdigest()


def validate_key(key: str | None) -> str | None:
    if key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY_LENGTH:
        raise ApiError(
            400, "invalid_idempotency_key", f"Idempotency-Key must be 1–{MAX_KEY_LENGTH} visible characters."
        )
    return key


def lookup(session: Session, key: str, scope: str, req_hash: str) -> Replay | None:
    """The stored response for ``key``, or None. Same key with another request → 422."""
    row = session.get(IdempotencyRecord, key_hash(key))
    if row is None:
        return None
    if row.expires_at <= utcnow():
        session.delete(row)
        session.flush()
        return None
    if row.scope != scope or row.request_hash != req_hash:
        raise ApiError(
            422, "idempotency_key_reused", "This Idempotency-Key was already used for a different request."
        )
    blob = row.response_ciphertext
    try:
        plain = _aead(key).decrypt(blob[:12], blob[12:], row.key_hash.encode())
    except InvalidTag:  # cannot happen unless the row was tampered with
        raise ApiError(422, "idempotency_key_reused", "The stored response cannot be replayed.") from None
    return Replay(row.status_code, json.loads(plain))


def store(
    session: Session, key: str, scope: str, req_hash: str, status_code: int, body: dict[str, Any]
) -> None:
    digest = key_hash(key)
    nonce = os.urandom(12)
    plain = json.dumps(jsonable_encoder(body)).encode()
    now = utcnow()
    session.add(
        IdempotencyRecord(
            key_hash=digest,
            scope=scope,
            request_hash=req_hash,
            status_code=status_code,
            response_ciphertext=nonce + _aead(key).encrypt(nonce, plain, digest.encode()),
            created_at=now,
            expires_at=now + TTL,
        )
    )
    session.flush()


def purge_expired(session: Session) -> None:
    session.execute(delete(IdempotencyRecord).where(IdempotencyRecord.expires_at <= utcnow()))


def run_idempotent(
    factory: sessionmaker,
    gate: IdempotencyGate,
    key: str | None,
    scope: str,
    body: Any,
    action: Callable[[Session], tuple[int, dict[str, Any]]],
) -> Replay:
    """Run ``action`` once per key: commit its effects together with the replay record, or replay."""
    key = validate_key(key)
    req_hash = request_hash(scope, body)
    with gate.lock, factory() as session:
        if key is not None:
            replay = lookup(session, key, scope, req_hash)
            if replay is not None:
                session.commit()
                return replay
        status_code, response = action(session)
        response = jsonable_encoder(response)
        try:
            if key is not None:
                store(session, key, scope, req_hash, status_code, response)
            session.commit()
        except IntegrityError:
            # Another process won the race for this key: drop our work (and our token), replay theirs.
            session.rollback()
            if key is None:
                raise
            replay = lookup(session, key, scope, req_hash)
            if replay is None:
                raise
            return replay
        return Replay(status_code, response)
