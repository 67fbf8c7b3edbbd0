"""SCIM tokens waiting to reach the customer (local store table ``pending_deliveries``, schema v3).

The row holds only public facts (token id, last four, fingerprint, expiry, delivery method and
time, and the platform that minted it); the token itself sits in the OS keyring under
:func:`secret_key` until the delivery is confirmed or the row expires, and
:meth:`PendingDeliveries.purge` then removes it from there.

Since schema v5 both the row and the keyring key name the platform (its instance id,
``console.core.platform_identity``): an org id alone is not unique across platforms. Rows from
before v5 have no platform; :meth:`PendingDeliveries.adopt_legacy` binds one to a platform once that
platform is shown to hold the same token (id and fingerprint), and moves its keyring entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update
from sqlalchemy.engine import Engine

from console.core.models import TokenInfo
from console.core.platform_identity import PlatformRef
from console.services.store.schema import pending_deliveries as table

DEFAULT_DELIVERY_HOURS = 72


def secret_key(org_id: str, token_id: str, platform_id: str | None = None) -> str:
    """Where a not-yet-delivered SCIM token lives in the SecretStore (``platform_id=None``: the
    key used before schema v5, kept only to find and migrate old entries)."""
    legacy = f"org:{org_id}:scim-token:{token_id}"
    return f"platform:{platform_id}:{legacy}" if platform_id else legacy


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
    platform_id: str | None = None
    platform_url: str | None = None

    @property
    def key(self) -> str:
        return secret_key(self.org_id, self.token_id, self.platform_id)

    @property
    def platform(self) -> PlatformRef | None:
        if not self.platform_id:
            return None
        return PlatformRef(self.platform_id, self.platform_url or "an unknown URL")

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

    @property
    def engine(self) -> Engine:
        return self._engine

    def add(self, org_id: str, info: TokenInfo, *, profile_id: str | None = None,
            hours: int = DEFAULT_DELIVERY_HOURS, now: datetime | None = None,
            platform: PlatformRef | None = None) -> PendingDelivery:
        now = now or datetime.now(UTC)
        values = {"token_id": info.id, "org_id": org_id, "profile_id": profile_id,
                  "last_four": info.last_four, "fingerprint": info.fingerprint,
                  "created_at": now, "expires_at": now + timedelta(hours=hours),
                  "platform_id": platform.id if platform else None,
                  "platform_url": platform.url if platform else None}
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

    def adopt_legacy(self, delivery: PendingDelivery, platform: PlatformRef, platform_tokens: list[TokenInfo],
                     secrets: object) -> PendingDelivery | None:
        """Bind a pre-v5 row (no platform) to ``platform`` if that platform lists the same token
        (id *and* fingerprint), moving its keyring entry to the platform-bound key. Returns the
        updated row, or None when this platform does not hold that token (the row stays unbound)."""
        if delivery.platform_id is not None:
            return delivery
        if not any(t.id == delivery.token_id and t.fingerprint == delivery.fingerprint
                   for t in platform_tokens):
            return None
        value = secrets.get(delivery.key)  # type: ignore[attr-defined]
        bound = PendingDelivery(**{**{c.name: getattr(delivery, c.name) for c in table.columns},
                                   "platform_id": platform.id, "platform_url": platform.url})
        if value:
            secrets.set(bound.key, value)  # type: ignore[attr-defined]
        with self._engine.begin() as conn:
            conn.execute(update(table)
                         .where(table.c.token_id == delivery.token_id, table.c.platform_id.is_(None))
                         .values(platform_id=platform.id, platform_url=platform.url))
        if value:
            secrets.delete(delivery.key)  # type: ignore[attr-defined]
        return bound

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
