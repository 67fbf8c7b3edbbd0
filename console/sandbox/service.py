"""Platform domain operations shared by the admin API and the SCIM endpoint.

Everything that changes a user goes through here so that both entry points apply the same rules:
templates on creation, version bumps, and the platform audit log.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from console.sandbox.db import AuditEntry, Template, User, WorkAreaMembership


def audit(
    session: Session,
    *,
    actor: str,
    org_id: str | None,
    action: str,
    target: str | None = None,
    params: dict[str, Any] | None = None,
    outcome: str = "ok",
) -> AuditEntry:
    """Append one platform audit entry in the caller's transaction (never holds secrets)."""
    entry = AuditEntry(
        actor=actor, org_id=org_id, action=action, target=target, params=params or {}, outcome=outcome
    )
    session.add(entry)
    return entry


def all_users_templates(session: Session, org_id: str) -> list[Template]:
    return list(
        session.scalars(
            select(Template).where(Template.org_id == org_id, Template.applies_to_all.is_(True))
        )
    )


def apply_new_user_templates(session: Session, user: User) -> list[str]:
    """Apply every template that applies to all users of the user's org (SCIM/invite creation).

    Grants the templates' work areas and, if the user has no role yet, the first template's role.
    Returns the ids of the templates applied.
    """
    applied: list[str] = []
    have = {m.work_area_id for m in user.work_areas}
    for template in all_users_templates(session, user.org_id):
        for work_area_id in template.work_area_ids:
            if work_area_id not in have:
                user.work_areas.append(
                    WorkAreaMembership(work_area_id=work_area_id, granted_by=template.id)
                )
                have.add(work_area_id)
        if user.role is None:
            user.role = template.role
        applied.append(template.id)
    return applied


def bump_version(user: User) -> None:
    """Record a change of ``user`` (admin actions compare ``expected_version`` against this)."""
    user.version = (user.version or 0) + 1
