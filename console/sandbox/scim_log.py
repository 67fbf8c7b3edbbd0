"""The platform's provisioning log: one ``ProvisioningEvent`` per SCIM request.

Written for successes and failures alike (including rejected credentials) because the console's
log viewer and reconciler read it as the evidence of what Entra sent. It never holds the bearer
token, and query parameters whose name looks secret are masked before the path is stored.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode

from sqlalchemy.orm import Session

from console.sandbox.db import ProvisioningEvent

_SECRET_PARAM = re.compile(r"(token|secret|password|passwd|key|sig|code|auth|bearer)", re.IGNORECASE)
_SECRET_VALUE = re.compile(r"(scim_|scop_)[A-Za-z0-9_\-]+|Bearer\s+\S+", re.IGNORECASE)


def safe_path(path: str, query: str) -> str:
    """Path plus query, with secret-looking parameters and token-shaped values masked."""
    if not query:
        return path[:1000]
    pairs = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if _SECRET_PARAM.search(name):
            value = "***"
        pairs.append((name, _SECRET_VALUE.sub("***", value)))
    return f"{path}?{urlencode(pairs)}"[:1000]


@dataclass
class RequestRecord:
    """What a SCIM request did, filled in by the handler as it learns it."""

    org_id: str
    method: str
    path: str
    op: str
    op_summary: str | None = None
    status: int = 500
    error_code: str | None = None
    error_detail: str | None = None
    user_id: str | None = None
    scim_id: str | None = None
    user_name: str | None = None
    external_id: str | None = None
    token_id: str | None = None
    extra: dict[str, str] = field(default_factory=dict)

    def outcome(self) -> str:
        return "success" if self.status < 400 else "failure"


def record(session: Session, rec: RequestRecord, latency_ms: float) -> None:
    """Add the event to the caller's transaction."""
    session.add(
        ProvisioningEvent(
            org_id=rec.org_id[:64],
            method=rec.method,
            path=rec.path,
            op=rec.op,
            op_summary=(rec.op_summary or None) and rec.op_summary[:1000],
            status=rec.status,
            outcome=rec.outcome(),
            latency_ms=round(latency_ms, 3),
            user_id=rec.user_id,
            scim_id=rec.scim_id,
            user_name=rec.user_name,
            external_id=rec.external_id,
            error_code=rec.error_code,
            error_detail=(rec.error_detail or None) and _SECRET_VALUE.sub("***", rec.error_detail)[:2000],
            token_id=rec.token_id,
        )
    )
