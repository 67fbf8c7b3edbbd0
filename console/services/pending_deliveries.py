"""SCIM tokens waiting to reach the customer (local store table ``pending_deliveries``, schema v3).

The row holds only public facts (token id, last four, fingerprint, expiry, delivery method and
time); the token itself sits in the OS keyring under :func:`secret_key` until the delivery is
confirmed or the row expires, and :meth:`PendingDeliveries.purge` then removes it from there.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from console.core.models import TokenInfo
from console.services.store.schema import pending_deliveries as table

DEFAULT_DELIVERY_HOURS = 72


def secret_key(org_id: str, token_id: str) -> str:
    """Where a not-yet-delivered SCIM token lives in the SecretStore."""
    return f"org:{org_id}:scim-token:{token_id}"


@dataclass(frozen=True, slots=True)
class PendingDelivery:
    token_id: str
    org_id: str
    last_four: str
    fingerprint: str
    created_at: datetime
    expires_at: datetime
    profile_id: str | None = None
    delivered_at: datetime | None = None
    method: str | None = None
    link_id: str | None = None
    purged_at: datetime | None = None

    @property
    def key(self) -> str:
        return secret_key(self.org_id, self.token_id)

    def expired(self, now: datetime | None = None) -> bool:
        return (now or datetime.now(UTC)) >= self.expires_at

    @property
    def state(self) -> str:
        if self.delivered_at is not None:
            return "delivered"
        if self.purged_at is not None or self.expired():
            return "expired"
        return "link sent" if self.link_id else "pending"


def _row(r: object) -> PendingDelivery:
    return PendingDelivery(**{c.name: getattr(r, c.name) for c in table.columns})


class PendingDeliveries:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def add(self, org_id: str, info: TokenInfo, *, profile_id: str | None = None,
            hours: int = DEFAULT_DELIVERY_HOURS, now: datetime | None = None) -> PendingDelivery:
        now = now or datetime.now(UTC)
        values = {"token_id": info.id, "org_id": org_id, "profile_id": profile_id,
                  "last_four": info.last_four, "fingerprint": info.fingerprint,
                  "created_at": now, "expires_at": now + timedelta(hours=hours)}
        with self._engine.begin() as conn:
            conn.execute(insert(table).values(**values))
        return PendingDelivery(**values)

    def get(self, token_id: str) -> PendingDelivery | None:
        with self._engine.connect() as conn:
            r = conn.execute(select(table).where(table.c.token_id == token_id)).first()
        return _row(r) if r is not None else None

    def list(self, org_id: str | None = None) -> list[PendingDelivery]:
        stmt = select(table).order_by(table.c.created_at.desc())
        if org_id is not None:
            stmt = stmt.where(table.c.org_id == org_id)
        with self._engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt)]

    def set_link(self, token_id: str, link_id: str) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(table).where(table.c.token_id == token_id)
                         .values(link_id=link_id, method="link"))

    def mark_delivered(self, token_id: str, method: str, at: datetime | None = None) -> None:
        with self._engine.begin() as conn:
            conn.execute(update(table).where(table.c.token_id == token_id, table.c.delivered_at.is_(None))
                         .values(delivered_at=at or datetime.now(UTC), method=method))

    def purge(self, secrets: object, now: datetime | None = None) -> list[str]:
        """Delete from the keyring every token that was delivered or whose delivery window ended.

        Returns the purged token ids. A row is marked purged only after the keyring delete
        succeeded (a failing keyring leaves it for the next purge)."""
        now = now or datetime.now(UTC)
        purged: list[str] = []
        for d in self.list():
            if d.purged_at is not None or (d.delivered_at is None and not d.expired(now)):
                continue
            secrets.delete(d.key)  # type: ignore[attr-defined]
            with self._engine.begin() as conn:
                conn.execute(update(table).where(table.c.token_id == d.token_id).values(purged_at=now))
            purged.append(d.token_id)
        return purged
