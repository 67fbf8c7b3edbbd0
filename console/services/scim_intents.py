"""Enable/rotate intentions that outlive the process (local store table ``scim_intents``, v5).

Minting a SCIM token is one intention with one ``Idempotency-Key``. When the answer is lost, the
platform may or may not have minted; only repeating the *same* key tells (the platform replays the
token it minted, or mints now if it never did). So the key is written to the local store *before*
the call and kept until the outcome is known: a retry from the same process, a new CLI run or the
GUI after a restart finds it (:meth:`ScimIntents.open_for`) and repeats it. The key alone gets
nothing from the platform without a valid operator token; still, the platform derives the key of
its encrypted replay from it, so it is wiped from the row as soon as the outcome is known (the row
keeps its SHA-256 to be found by).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from console.core.platform_identity import PlatformRef
from console.services.store.schema import scim_intents as table


def intent_id(key: str) -> str:
    return hashlib.sha256(b"scim-intent\0" + key.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class ScimIntent:
    intent_id: str
    idempotency_key: str | None
    kind: str
    org_id: str
    platform_id: str
    platform_url: str
    created_at: datetime
    attempts: int
    profile_id: str | None = None
    last_error: str | None = None
    resolved_at: datetime | None = None
    outcome: str | None = None


class ScimIntents:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def open_for(self, kind: str, org_id: str, platform_id: str) -> ScimIntent | None:
        """The newest unresolved intention of ``kind`` for this org on this platform."""
        stmt = (select(table).where(table.c.kind == kind, table.c.org_id == org_id,
                                    table.c.platform_id == platform_id, table.c.resolved_at.is_(None))
                .order_by(table.c.created_at.desc()))
        with self._engine.connect() as conn:
            row = conn.execute(stmt).first()
        return ScimIntent(**row._mapping) if row is not None else None

    def get(self, key: str) -> ScimIntent | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(table).where(table.c.intent_id == intent_id(key))).first()
        return ScimIntent(**row._mapping) if row is not None else None

    def begin(self, kind: str, org_id: str, platform: PlatformRef, key: str, *,
              profile_id: str | None) -> None:
        """Record the intention (before its first request) or count another attempt of it."""
        with self._engine.begin() as conn:
            found = conn.execute(select(table.c.attempts).where(table.c.intent_id == intent_id(key))).first()
            if found is None:
                conn.execute(insert(table).values(
                    intent_id=intent_id(key), idempotency_key=key, kind=kind, org_id=org_id,
                    platform_id=platform.id, platform_url=platform.url, profile_id=profile_id,
                    created_at=datetime.now(UTC), attempts=1))
            else:
                conn.execute(update(table).where(table.c.intent_id == intent_id(key))
                             .values(attempts=found.attempts + 1, resolved_at=None, outcome=None,
                                     idempotency_key=key))

    def failed(self, key: str, error: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(table).where(table.c.intent_id == intent_id(key))
                         .values(last_error=error[:2000]))

    def resolve(self, key: str, outcome: str) -> None:
        """``outcome``: ``minted`` (the token is held), ``not_minted`` or ``abandoned``."""
        with self._engine.begin() as conn:
            conn.execute(update(table)
                         .where(table.c.intent_id == intent_id(key), table.c.resolved_at.is_(None))
                         .values(resolved_at=datetime.now(UTC), outcome=outcome, idempotency_key=None))
