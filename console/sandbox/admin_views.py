"""Turning rows into the admin API's JSON shapes, plus the opaque keyset cursors.

Cursors are base64url of ``<kind>:<last key>``: opaque to clients (they may change), cheap to
decode, and O(page) for any depth because every list is keyset-paginated on an indexed key.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from console.sandbox.db import (
    MAX_INT64,
    AuditEntry,
    Org,
    ProvisioningEvent,
    ScimSettings,
    ScimToken,
    SecureLink,
    Template,
    User,
    WorkArea,
    utcnow,
)
from console.sandbox.errors import ApiError
from console.sandbox.tokens import active_scim_tokens

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(kind: str, value: str | int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str | None) -> str | None:
    if cursor is None or cursor == "":
        return None
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raw = ""
    prefix, _, value = raw.partition(":")
    if prefix != kind or not value:
        raise ApiError(400, "invalid_cursor", "The cursor is not valid for this list.")
    return value


def decode_int_cursor(kind: str, cursor: str | None) -> int | None:
    value = decode_cursor(kind, cursor)
    if value is None:
        return None
    if not value.isascii() or not value.isdigit() or len(value) > 19 or int(value) > MAX_INT64:
        raise ApiError(400, "invalid_cursor", "The cursor is not valid for this list.")
    return int(value)


def keyset_page(
    session: Session,
    stmt: Select[Any],
    key: Any,
    *,
    kind: str,
    limit: int,
    cursor: str | None,
    view: Callable[[Any], dict[str, Any]],
    newest_first: bool = False,
) -> dict[str, object]:
    """One page of ``stmt`` ordered by the unique ``key`` column: ``{"items", "next_cursor"}``.

    Keyset paging (``key > last`` / ``key < last``) costs the same on page 1 and page 1000, and
    a row inserted meanwhile never shifts a page. ``newest_first`` pages integer keys downwards.
    """
    if newest_first:
        before = decode_int_cursor(kind, cursor)
        stmt = stmt.order_by(key.desc())
        if before is not None:
            stmt = stmt.where(key < before)
    else:
        after = decode_cursor(kind, cursor)
        stmt = stmt.order_by(key)
        if after is not None:
            stmt = stmt.where(key > after)
    rows = session.scalars(stmt.limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "items": [view(row) for row in rows],
        "next_cursor": encode_cursor(kind, getattr(rows[-1], key.key)) if more else None,
    }


def scim_base_url(base: str, org_id: str) -> str:
    return f"{base}/scim/v2/{org_id}"


def template_status(session: Session, org_id: str) -> dict[str, Any]:
    """``ok``: an all-users template with ≥1 work area; ``no_work_areas``: one without; else ``missing``."""
    templates = session.scalars(
        select(Template)
        .where(Template.org_id == org_id, Template.applies_to_all.is_(True))
        .order_by(Template.created_at, Template.id)
    ).all()
    with_areas = [t for t in templates if t.work_area_ids]
    if with_areas:
        return {"status": "ok", "template_id": with_areas[0].id, "template_name": with_areas[0].name}
    if templates:
        return {"status": "no_work_areas", "template_id": templates[0].id, "template_name": templates[0].name}
    return {"status": "missing", "template_id": None, "template_name": None}


def user_counts(session: Session, org_id: str) -> dict[str, int]:
    counts = {"total": 0, "active": 0, "inactive": 0, "scim": 0, "manual": 0, "invite": 0}
    rows = session.execute(
        select(User.active, User.created_via, func.count())
        .where(User.org_id == org_id)
        .group_by(User.active, User.created_via)
    ).all()
    for active, created_via, n in rows:
        counts["total"] += n
        counts["active" if active else "inactive"] += n
        if created_via in counts:
            counts[created_via] += n
    return counts


def org_summary(session: Session, org: Org, base: str) -> dict[str, Any]:
    settings = session.get(ScimSettings, org.id)
    return {
        "id": org.id,
        "name": org.name,
        "domains": list(org.domains or []),
        "created_at": org.created_at,
        "scim": {
            "enabled": bool(settings and settings.enabled),
            "active_tokens": len(active_scim_tokens(session, org.id)),
            "scim_base_url": scim_base_url(base, org.id),
        },
        "template": template_status(session, org.id),
        "user_counts": user_counts(session, org.id),
    }


def org_detail(session: Session, org: Org, base: str) -> dict[str, Any]:
    from console.sandbox.db import Group

    out = org_summary(session, org, base)
    out["work_area_count"] = (
        session.scalar(select(func.count()).select_from(WorkArea).where(WorkArea.org_id == org.id)) or 0
    )
    out["group_count"] = (
        session.scalar(select(func.count()).select_from(Group).where(Group.org_id == org.id)) or 0
    )
    return out


def token_info(token: ScimToken, now: datetime | None = None) -> dict[str, Any]:
    now = now or utcnow()
    active = token.revoked_at is None and (token.expires_at is None or token.expires_at > now)
    return {
        "id": token.id,
        "last_four": token.last_four,
        "fingerprint": token.fingerprint,
        "created_at": token.created_at,
        "expires_at": token.expires_at,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
        "active": active,
    }


def user_view(user: User) -> dict[str, Any]:
    return {
        "id": user.id,
        "scim_id": user.scim_id,
        "user_name": user.user_name,
        "display_name": user.display_name,
        "given_name": user.given_name,
        "family_name": user.family_name,
        "emails": [{"value": e.value, "type": e.type, "primary": bool(e.primary)} for e in user.emails],
        "primary_email": user.primary_email,
        "active": bool(user.active),
        "external_id": user.external_id,
        "idp_link": user.idp_link,
        "created_via": user.created_via,
        "role": user.role,
        "work_area_ids": sorted(m.work_area_id for m in user.work_areas),
        "last_login_at": user.last_login_at,
        "created_at": user.created_at,
        "updated_at": user.updated_at,
        "merged_into_id": user.merged_into_id,
        "version": user.version,
    }


def template_view(t: Template) -> dict[str, Any]:
    return {
        "id": t.id,
        "name": t.name,
        "applies_to_all": bool(t.applies_to_all),
        "role": t.role,
        "work_area_ids": list(t.work_area_ids or []),
        "created_at": t.created_at,
        "updated_at": t.updated_at,
    }


def work_area_view(w: WorkArea) -> dict[str, Any]:
    return {"id": w.id, "name": w.name, "created_at": w.created_at}


EVENT_FIELDS = (
    "id",
    "ts",
    "method",
    "path",
    "op",
    "op_summary",
    "status",
    "outcome",
    "latency_ms",
    "user_id",
    "scim_id",
    "user_name",
    "external_id",
    "error_code",
    "error_detail",
)


def event_view(e: ProvisioningEvent) -> dict[str, Any]:
    return {name: getattr(e, name) for name in EVENT_FIELDS}


def audit_view(a: AuditEntry) -> dict[str, Any]:
    return {
        "id": a.id,
        "ts": a.ts,
        "actor": a.actor,
        "org_id": a.org_id,
        "action": a.action,
        "target": a.target,
        "params": a.params or {},
        "outcome": a.outcome,
    }


def link_state(link: SecureLink, now: datetime | None = None) -> str:
    now = now or utcnow()
    if link.revoked_at is not None:
        return "revoked"
    if link.viewed_at is not None:
        return "viewed"
    if link.expires_at <= now:
        return "expired"
    return "pending"


def link_view(link: SecureLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "org_id": link.org_id,
        "label": link.label,
        "created_at": link.created_at,
        "expires_at": link.expires_at,
        "viewed_at": link.viewed_at,
        "state": link_state(link),
    }
