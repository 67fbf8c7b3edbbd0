"""Support actions on platform users: pure functions on a Session, used by the admin API.

Each action validates its input, honours ``expected_version`` (the console previews a fix, then
applies it only if the user did not change meanwhile), bumps the version and writes the platform
audit log. None commits: the caller owns the transaction.

SCIM identity rules (entra-facts §3.4 rules 4, 5, 7):

* **Clear IdP link** drops ``idp_link``/``external_id`` and gives the user a fresh ``scim_id``, so
  the id Entra cached now answers 404 (Entra logs ``InvalidAnchor`` and re-matches after a restart
  with ``resetScope: Full``) instead of silently continuing to drive this account.
* **Merge** (twin → survivor): when the survivor has no IdP link it takes over the twin's ``scim_id``,
  ``external_id`` and ``idp_link`` and the twin gets a fresh ``scim_id`` — Entra's cached id keeps
  working and still addresses the same person. When the survivor already has its own link, the twin
  loses its link and also gets a fresh ``scim_id``: the id Entra cached answers 404 (``InvalidAnchor``;
  Entra re-matches after a restart with ``resetScope: Full``), so it never points at anyone else. The twin's
  ``userName`` is renamed to a ``merged+…`` placeholder so a later ``userName eq`` match (which also
  finds inactive users) cannot revive it.
* **Release email** renames the address to ``released+<short>@<domain>.invalid`` (Slack/Atlassian
  pattern) so another account can take it; ``.invalid`` is reserved (RFC 2606) and never delivers.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session, selectinload

from console.sandbox.db import (
    GroupMember,
    User,
    UserEmail,
    WorkAreaMembership,
    fold,
    new_scim_id,
)
from console.sandbox.errors import conflict, invalid, not_found
from console.sandbox.service import apply_new_user_templates, audit, bump_version

EMAIL_RE = re.compile(r"^[^@\s\"<>(),;:\\\[\]]+@[^@\s\"<>(),;:\\\[\]]+\.[^@\s\"<>(),;:\\\[\].]{1,63}$")
PLACEHOLDER_SUFFIX = ".invalid"


@dataclass(frozen=True)
class NewEmail:
    value: str
    type: str | None = "work"
    primary: bool = False


def is_valid_email(value: str) -> bool:
    """The platform's one rule for an address (admin API and SCIM alike), on the stripped value."""
    value = value.strip()
    return len(value) <= 320 and EMAIL_RE.match(value) is not None


def validate_email(value: str) -> str:
    value = value.strip()
    if not is_valid_email(value):
        raise invalid("invalid_email", f"{value!r} is not a valid email address.", email=value)
    return value


def is_placeholder(value: str) -> bool:
    return fold(value).endswith(PLACEHOLDER_SUFFIX)


def load_user(session: Session, org_id: str, user_id: str, *, for_update: bool = False) -> User:
    user = session.scalar(
        select(User)
        .where(User.org_id == org_id, User.id == user_id)
        .options(selectinload(User.emails), selectinload(User.work_areas))
    )
    if user is None:
        raise not_found("user", user_id)
    return user


def check_version(user: User, expected: int | None, *, field: str = "expected_version") -> None:
    if expected is not None and expected != user.version:
        raise conflict(
            "version_conflict",
            f"User {user.id} changed since it was read (version {user.version}, expected {expected}).",
            user_id=user.id,
            field=field,
            expected_version=expected,
            current_version=user.version,
        )


def _short() -> str:
    return secrets.token_hex(4)


def _domain_of(value: str) -> str:
    _, at, domain = value.rpartition("@")
    return domain if at and domain else "example"


def _ensure_one_primary(user: User) -> None:
    """Exactly one primary email when the user has any: prefer a real (non-placeholder) address."""
    if not user.emails:
        return
    primaries = [e for e in user.emails if e.primary]
    keep = primaries[0] if primaries else None
    if keep is None or (is_placeholder(keep.value) and any(not is_placeholder(e.value) for e in user.emails)):
        keep = next((e for e in user.emails if not is_placeholder(e.value)), user.emails[0])
    for email in user.emails:
        email.primary = email is keep


def _user_name_taken(session: Session, org_id: str, user_name: str, *, except_id: str | None = None) -> bool:
    stmt = select(User.id).where(User.org_id == org_id, User.user_name_key == fold(user_name))
    if except_id is not None:
        stmt = stmt.where(User.id != except_id)
    return session.scalar(stmt.limit(1)) is not None


def create_user(
    session: Session,
    org_id: str,
    *,
    user_name: str,
    emails: list[NewEmail],
    display_name: str | None,
    given_name: str | None,
    family_name: str | None,
    role: str | None,
    created_via: str,
    actor: str,
) -> User:
    user_name = user_name.strip()
    if not user_name:
        raise invalid("invalid_user_name", "user_name must not be blank.")
    if created_via not in ("manual", "invite"):
        raise invalid("invalid_created_via", "created_via must be 'manual' or 'invite'.")
    _claim_user_name(session, org_id, user_name)
    user = User(
        org_id=org_id,
        user_name=user_name,
        user_name_key=fold(user_name),
        display_name=display_name,
        given_name=given_name,
        family_name=family_name,
        role=role,
        created_via=created_via,
        active=True,
        scim_json={},
        version=1,
    )
    seen: set[str] = set()
    for position, email in enumerate(emails):
        value = validate_email(email.value)
        if fold(value) in seen:
            raise invalid("duplicate_email", f"{value!r} is listed twice.", email=value)
        seen.add(fold(value))
        user.emails.append(
            UserEmail(
                org_id=org_id,
                value=value,
                value_key=fold(value),
                type=email.type,
                primary=email.primary,
                position=position,
            )
        )
    if sum(1 for e in user.emails if e.primary) > 1:
        raise invalid("multiple_primary_emails", "At most one email can be primary.")
    _ensure_one_primary(user)
    session.add(user)
    session.flush()
    applied = apply_new_user_templates(session, user) if created_via == "invite" else []
    session.flush()
    audit(
        session,
        actor=actor,
        org_id=org_id,
        action="user.create",
        target=user.id,
        params={"user_name": user_name, "created_via": created_via, "templates_applied": applied},
    )
    return user


def clear_idp_link(session: Session, user: User, *, actor: str, expected_version: int | None) -> User:
    check_version(user, expected_version)
    if user.idp_link is None and user.external_id is None:
        audit(
            session,
            actor=actor,
            org_id=user.org_id,
            action="user.clear_idp_link",
            target=user.id,
            params={"changed": False},
            outcome="noop",
        )
        return user
    old = {"idp_link": user.idp_link, "external_id": user.external_id, "scim_id": user.scim_id}
    user.idp_link = None
    user.external_id = None
    user.scim_id = new_scim_id()
    bump_version(user)
    audit(
        session,
        actor=actor,
        org_id=user.org_id,
        action="user.clear_idp_link",
        target=user.id,
        params={"changed": True, "old": old, "new_scim_id": user.scim_id},
    )
    return user


def _make_primary(user: User, address: str) -> bool:
    """Make ``address`` the user's only primary email, adding it when the user lacks it (→ True)."""
    match = next((e for e in user.emails if e.value_key == fold(address)), None)
    added = match is None
    if match is None:
        match = UserEmail(org_id=user.org_id, value=address, value_key=fold(address), type="work",
                          primary=False, position=len(user.emails))
        user.emails.append(match)
    for e in user.emails:
        e.primary = e is match
    return added


def _claim_user_name(session: Session, org_id: str, value: str, except_id: str | None = None) -> None:
    """409 ``user_name_taken`` when another account of the org has this userName (case-folded)."""
    if _user_name_taken(session, org_id, value, except_id=except_id):
        raise conflict("user_name_taken", f"userName {value!r} is already used in this organisation.",
                       user_name=value)


def set_primary_email(
    session: Session, user: User, email: str, *, actor: str, expected_version: int | None
) -> User:
    check_version(user, expected_version)
    value = validate_email(email)
    added = _make_primary(user, value)
    bump_version(user)
    audit(
        session,
        actor=actor,
        org_id=user.org_id,
        action="user.set_primary_email",
        target=user.id,
        params={"email": value, "added": added},
    )
    return user


def set_user_name(
    session: Session, user: User, user_name: str, *, make_primary_email: bool, actor: str,
    expected_version: int | None,
) -> User:
    """Change the account's userName (its sign-in name), e.g. to the Entra UPN so Entra's default
    ``userName eq <UPN>`` query matches it instead of creating a twin; optionally make it the
    primary email too. Stored as given (values come back exactly as sent)."""
    check_version(user, expected_version)
    value = user_name.strip()
    if not value or len(value) > 320:
        raise invalid("invalid_user_name", "user_name must be 1 to 320 characters.", user_name=user_name)
    _claim_user_name(session, user.org_id, value, except_id=user.id)
    previous = user.user_name
    user.user_name = value
    user.user_name_key = fold(value)
    if make_primary_email:
        _make_primary(user, validate_email(value))
    bump_version(user)
    audit(session, actor=actor, org_id=user.org_id, action="user.set_user_name", target=user.id,
          params={"from": previous, "to": value, "primary_email": user.primary_email})
    return user


def release_email(
    session: Session, user: User, email: str | None, *, actor: str, expected_version: int | None
) -> User:
    """Rename one of the user's addresses to a placeholder so another account can take it."""
    check_version(user, expected_version)
    if email is None:
        target = next((e for e in user.emails if e.primary), user.emails[0] if user.emails else None)
        if target is None:
            raise invalid("no_email", f"User {user.id} has no email to release.", user_id=user.id)
    else:
        target = next((e for e in user.emails if e.value_key == fold(email.strip())), None)
        if target is None:
            raise invalid("email_not_found", f"User {user.id} has no email {email!r}.", email=email)
    if is_placeholder(target.value):
        raise invalid("already_released", f"{target.value!r} is already a placeholder.", email=target.value)
    original = target.value
    placeholder = f"released+{_short()}@{_domain_of(original)}{PLACEHOLDER_SUFFIX}"
    target.value = placeholder
    target.value_key = fold(placeholder)
    renamed_user_name = user.user_name_key == fold(original)
    if renamed_user_name:
        user.user_name = placeholder
        user.user_name_key = fold(placeholder)
    _ensure_one_primary(user)
    bump_version(user)
    audit(
        session,
        actor=actor,
        org_id=user.org_id,
        action="user.release_email",
        target=user.id,
        params={
            "email": original,
            "placeholder": placeholder,
            "user_name_renamed": renamed_user_name,
            "primary_email": user.primary_email,
        },
    )
    return user


def merge(
    session: Session,
    source: User,
    target: User,
    *,
    actor: str,
    expected_version: int | None,
    expected_target_version: int | None,
) -> tuple[User, User, dict[str, Any]]:
    """Merge ``source`` (the twin) into ``target`` (the survivor). Returns (source, target, summary)."""
    if source.id == target.id:
        raise invalid("cannot_merge_into_self", "A user cannot be merged into itself.", user_id=source.id)
    if source.org_id != target.org_id:
        raise not_found("user", target.id)
    if source.merged_into_id is not None:
        raise conflict(
            "already_merged",
            f"User {source.id} was already merged into {source.merged_into_id}.",
            merged_into_id=source.merged_into_id,
        )
    if target.merged_into_id is not None:
        raise invalid(
            "merge_target_merged",
            f"User {target.id} was itself merged away; pick its survivor.",
            merged_into_id=target.merged_into_id,
        )
    if not target.active:
        raise invalid(
            "merge_target_inactive",
            f"User {target.id} is inactive; reactivate it first.",
            into_user_id=target.id,
        )
    check_version(source, expected_version)
    check_version(target, expected_target_version, field="expected_target_version")

    # Work-area access moves to the survivor (kept where it already has it).
    have = {m.work_area_id for m in target.work_areas}
    moved_areas = []
    for membership in list(source.work_areas):
        if membership.work_area_id not in have:
            target.work_areas.append(
                WorkAreaMembership(work_area_id=membership.work_area_id, granted_by="merge")
            )
            have.add(membership.work_area_id)
            moved_areas.append(membership.work_area_id)
        source.work_areas.remove(membership)
    # Group memberships move too.
    target_groups = set(session.scalars(select(GroupMember.group_id).where(GroupMember.user_id == target.id)))
    source_groups = set(session.scalars(select(GroupMember.group_id).where(GroupMember.user_id == source.id)))
    to_move = source_groups - target_groups
    if to_move:
        session.execute(
            update(GroupMember)
            .where(GroupMember.user_id == source.id, GroupMember.group_id.in_(to_move))
            .values(user_id=target.id)
        )
    session.execute(delete(GroupMember).where(GroupMember.user_id == source.id))

    source_linked = source.idp_link is not None or source.external_id is not None
    old_scim_id = source.scim_id
    if source_linked and target.idp_link is None:
        mode = "scim_identity_moved"
        source.scim_id = new_scim_id()
        session.flush()  # free the scim_id before the survivor takes it (unique)
        target.scim_id = old_scim_id
        target.external_id = source.external_id
        target.idp_link = source.idp_link or source.external_id
    else:
        mode = "twin_retired" if source_linked else "no_scim_identity"
        if source_linked:
            # The survivor has its own link: Entra's cached id for the twin must now answer 404
            # (Entra logs InvalidAnchor and re-matches after a full restart), never the twin's
            # retired record — so the twin gets a fresh, never-published scim_id.
            source.scim_id = new_scim_id()
    source.idp_link = None
    source.external_id = None
    source.active = False
    source.merged_into_id = target.id
    old_user_name = source.user_name
    source.user_name = f"merged+{_short()}+{old_user_name}"[:320]
    if "@" in old_user_name:
        source.user_name = f"merged+{_short()}@{_domain_of(old_user_name)}{PLACEHOLDER_SUFFIX}"
    source.user_name_key = fold(source.user_name)
    bump_version(source)
    bump_version(target)
    summary = {
        "mode": mode,
        "source_id": source.id,
        "target_id": target.id,
        "old_source_scim_id": old_scim_id,
        "target_scim_id": target.scim_id,
        "moved_work_area_ids": moved_areas,
        "moved_group_ids": sorted(to_move),
        "source_user_name": old_user_name,
        "source_user_name_placeholder": source.user_name,
    }
    session.flush()
    audit(session, actor=actor, org_id=source.org_id, action="user.merge", target=source.id, params=summary)
    return source, target, summary
