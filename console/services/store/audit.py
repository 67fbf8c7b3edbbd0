"""The console's local, append-only audit trail (ASVS 16.2; desktop-stack §5.3, §6.6).

``record`` commits in its own transaction before it returns, so the UI reports success only
after the row is durable (``synchronous=FULL``). Parameters are scrubbed: values under
secret-looking keys are replaced and every string is redacted, so even a careless caller cannot
put a token into the database.
"""

from __future__ import annotations

import getpass
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import String, cast, func, insert, or_, select
from sqlalchemy.engine import Engine

from console.core.models import AuditFilter, AuditRecord
from console.core.redact import MASK, redact
from console.services.store.schema import audit_trail

# token, scim_token, operator-token, secret, password, api_key, authorization … (not token_id)
_SECRET_KEY = re.compile(
    r"(?i)(^|[_-])(token|secret|password|passwd|passphrase|authorization|api[_-]?key|credential|private[_-]?key)s?$"
)
MAX_DETAIL = 4000


def scrub(value: Any, _depth: int = 0) -> Any:
    """JSON-safe copy of ``value`` with secret-keyed values masked and strings redacted."""
    if _depth > 8:
        return MASK
    if isinstance(value, Mapping):
        return {
            str(k): (MASK if _SECRET_KEY.search(str(k)) else scrub(v, _depth + 1)) for k, v in value.items()
        }
    if isinstance(value, (list, tuple, set, frozenset)):
        return [scrub(v, _depth + 1) for v in value]
    if isinstance(value, str):
        return redact(value)
    if value is None or isinstance(value, (bool, int, float)):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return redact(str(value))


def _actor() -> str:
    try:
        return getpass.getuser()
    except Exception:  # noqa: BLE001 - no login name (service account, container): still audit
        return "unknown"


def _record(row: Any) -> AuditRecord:
    return AuditRecord(id=row.id, ts=row.ts, actor=row.actor, action=row.action, outcome=row.outcome,
                       profile_id=row.profile_id, org_id=row.org_id, params=row.params or {},
                       detail=row.detail)


class AuditTrail:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def record(
        self,
        action: str,
        *,
        outcome: str = "ok",
        org_id: str | None = None,
        profile_id: str | None = None,
        params: Mapping[str, Any] | None = None,
        detail: str | None = None,
        actor: str | None = None,
        ts: datetime | None = None,
    ) -> AuditRecord:
        """Append one row and commit it before returning."""
        if not action:
            raise ValueError("audit action must not be empty")
        values = {
            "ts": ts or datetime.now(UTC),
            "actor": actor or _actor(),
            "profile_id": profile_id,
            "org_id": org_id,
            "action": action,
            "params": scrub(dict(params or {})),
            "outcome": outcome,
            "detail": redact(detail)[:MAX_DETAIL] if detail else None,
        }
        with self._engine.begin() as conn:
            new_id = conn.execute(insert(audit_trail).values(**values)).inserted_primary_key[0]
        return AuditRecord(id=int(new_id), **values)

    def query(self, filters: AuditFilter | None = None) -> list[AuditRecord]:
        """Newest first; all filters combine with AND."""
        f = filters or AuditFilter()
        t = audit_trail.c
        stmt = select(audit_trail)
        if f.since is not None:
            stmt = stmt.where(t.ts >= f.since)
        if f.until is not None:
            stmt = stmt.where(t.ts < f.until)
        if f.org_id:
            stmt = stmt.where(t.org_id == f.org_id)
        if f.profile_id:
            stmt = stmt.where(t.profile_id == f.profile_id)
        if f.action:
            stmt = stmt.where(t.action == f.action)
        if f.outcome:
            stmt = stmt.where(t.outcome == f.outcome)
        if f.text:
            needle = f.text.lower()
            stmt = stmt.where(or_(
                func.lower(t.action).contains(needle, autoescape=True),
                func.lower(func.coalesce(t.detail, "")).contains(needle, autoescape=True),
                func.lower(func.coalesce(t.org_id, "")).contains(needle, autoescape=True),
                func.lower(t.actor).contains(needle, autoescape=True),
                func.lower(cast(t.params, String)).contains(needle, autoescape=True),
            ))
        stmt = stmt.order_by(t.ts.desc(), t.id.desc()).limit(max(1, f.limit)).offset(max(0, f.offset))
        with self._engine.connect() as conn:
            return [_record(r) for r in conn.execute(stmt)]

    def count(self) -> int:
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_trail)).scalar_one())
