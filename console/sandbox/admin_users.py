"""Admin API: platform users of an org — list/search, create, and the support actions.

Search (``q``) is a case-insensitive *prefix* match on userName, every email, displayName and family
name, each an index range scan (a substring match would scan all 50 000 users of a big org). Results
are keyset-paginated by internal id, so page N costs the same as page 1.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import and_, func, select, union
from sqlalchemy.orm import selectinload

from console.sandbox import admin_models as m
from console.sandbox import users_ops
from console.sandbox.admin_common import DEFAULT_PAGE, CursorQ, LimitQ, get_org
from console.sandbox.admin_views import decode_cursor, encode_cursor, user_view
from console.sandbox.auth import OperatorDep, SessionDep
from console.sandbox.db import User, UserEmail, fold

router = APIRouter()

_MERGE_ERRORS = {
    404: {"description": "user_not_found"},
    409: {"description": "version_conflict / already_merged"},
    422: {"description": "cannot_merge_into_self / merge_target_inactive / merge_target_merged"},
}
_ACTION_ERRORS = {
    404: {"description": "user_not_found"},
    409: {"description": "version_conflict"},
    422: {"description": "invalid_email / email_not_found / no_email"},
}


def _prefix_range(column: Any, needle: str) -> Any:
    # [needle, needle + U+10FFFF): an index range scan, unlike LIKE (case rules) or instr (full scan).
    return and_(column >= needle, column < needle + "\U0010ffff")


def _prefix_matches(org_id: str, q: str) -> Any:
    """Ids of users whose userName, any email, displayName or family name starts with ``q``
    (case-insensitive); each branch is an index range scan, so it stays fast on 50 000 users."""
    folded = fold(q.strip())
    lowered = q.strip().lower()
    return union(
        select(User.id).where(User.org_id == org_id, _prefix_range(User.user_name_key, folded)),
        select(UserEmail.user_id).where(
            UserEmail.org_id == org_id, _prefix_range(UserEmail.value_key, folded)
        ),
        select(User.id).where(User.org_id == org_id, _prefix_range(func.lower(User.display_name), lowered)),
        select(User.id).where(User.org_id == org_id, _prefix_range(func.lower(User.family_name), lowered)),
    )


@router.get("/orgs/{org_id}/users", response_model=m.UserPage, summary="List or search users")
def list_users(
    org_id: str,
    session: SessionDep,
    _op: OperatorDep,
    q: Annotated[
        str | None,
        Query(
            max_length=320,
            description="Case-insensitive prefix of userName, any email, displayName or family name",
        ),
    ] = None,
    email: Annotated[
        str | None, Query(max_length=320, description="Any email, exact (case-insensitive)")
    ] = None,
    user_name: Annotated[
        str | None, Query(max_length=320, description="userName, exact (case-insensitive)")
    ] = None,
    external_id: Annotated[str | None, Query(max_length=320)] = None,
    created_via: Annotated[Literal["manual", "invite", "scim"] | None, Query()] = None,
    active: Annotated[bool | None, Query()] = None,
    limit: LimitQ = DEFAULT_PAGE,
    cursor: CursorQ = None,
) -> dict[str, object]:
    get_org(session, org_id)
    after = decode_cursor("user", cursor)
    stmt = select(User).where(User.org_id == org_id)
    if q and q.strip():
        stmt = stmt.where(User.id.in_(_prefix_matches(org_id, q)))
    if email:
        stmt = stmt.where(
            User.id.in_(
                select(UserEmail.user_id).where(
                    UserEmail.org_id == org_id, UserEmail.value_key == fold(email.strip())
                )
            )
        )
    if user_name:
        stmt = stmt.where(User.user_name_key == fold(user_name.strip()))
    if external_id:
        stmt = stmt.where(User.external_id == external_id)
    if created_via:
        stmt = stmt.where(User.created_via == created_via)
    if active is not None:
        stmt = stmt.where(User.active.is_(active))
    if after is not None:
        stmt = stmt.where(User.id > after)
    stmt = (
        # With fresh statistics (admin_indexes runs ANALYZE) SQLite walks ix_users_org_id_id and stops
        # after one page instead of sorting the whole org.
        stmt.order_by(User.id)
        .limit(limit + 1)
        .options(selectinload(User.emails), selectinload(User.work_areas))
    )
    users = session.scalars(stmt).all()
    more = len(users) > limit
    users = users[:limit]
    return {
        "items": [user_view(u) for u in users],
        "next_cursor": encode_cursor("user", users[-1].id) if more else None,
    }


@router.get(
    "/orgs/{org_id}/users/{user_id}",
    response_model=m.UserOut,
    summary="One user",
    responses={404: {"description": "user_not_found"}},
)
def get_user(org_id: str, user_id: str, session: SessionDep, _op: OperatorDep) -> dict[str, object]:
    get_org(session, org_id)
    return user_view(users_ops.load_user(session, org_id, user_id))


@router.post(
    "/orgs/{org_id}/users",
    response_model=m.UserOut,
    status_code=201,
    summary="Create a manual or invited user (invites get the all-users templates)",
    responses={409: {"description": "user_name_taken"}, 422: {"description": "invalid_email"}},
)
def create_user(org_id: str, body: m.UserIn, session: SessionDep, op: OperatorDep) -> dict[str, object]:
    get_org(session, org_id)
    emails = [
        users_ops.NewEmail(value=e)
        if isinstance(e, str)
        else users_ops.NewEmail(value=e.value, type=e.type, primary=e.primary)
        for e in body.emails
    ]
    user = users_ops.create_user(
        session,
        org_id,
        user_name=body.user_name,
        emails=emails,
        display_name=body.display_name,
        given_name=body.given_name,
        family_name=body.family_name,
        role=body.role,
        created_via=body.created_via,
        actor=op.name,
    )
    session.commit()
    return user_view(users_ops.load_user(session, org_id, user.id))


def _done(session: SessionDep, user: User) -> dict[str, object]:
    session.commit()
    return user_view(users_ops.load_user(session, user.org_id, user.id))


@router.post(
    "/orgs/{org_id}/users/{user_id}/clear-idp-link",
    response_model=m.UserOut,
    summary="Drop the user's IdP link (externalId and the SCIM id Entra cached)",
    responses=_ACTION_ERRORS,
)
def clear_idp_link(
    org_id: str,
    user_id: str,
    session: SessionDep,
    op: OperatorDep,
    body: m.VersionedIn | None = None,
) -> dict[str, object]:
    get_org(session, org_id)
    user = users_ops.load_user(session, org_id, user_id)
    users_ops.clear_idp_link(
        session, user, actor=op.name, expected_version=body.expected_version if body else None
    )
    return _done(session, user)


@router.post(
    "/orgs/{org_id}/users/{user_id}/primary-email",
    response_model=m.UserOut,
    summary="Make an email the primary one (added if the user lacks it)",
    responses=_ACTION_ERRORS,
)
def set_primary_email(
    org_id: str,
    user_id: str,
    body: m.PrimaryEmailIn,
    session: SessionDep,
    op: OperatorDep,
) -> dict[str, object]:
    get_org(session, org_id)
    user = users_ops.load_user(session, org_id, user_id)
    users_ops.set_primary_email(
        session, user, body.email, actor=op.name, expected_version=body.expected_version
    )
    return _done(session, user)


@router.post(
    "/orgs/{org_id}/users/{user_id}/user-name",
    response_model=m.UserOut,
    summary="Change the userName (sign-in name), e.g. to the Entra UPN; by default also the primary email",
    responses=_ACTION_ERRORS,
)
def set_user_name(
    org_id: str,
    user_id: str,
    body: m.UserNameIn,
    session: SessionDep,
    op: OperatorDep,
) -> dict[str, object]:
    get_org(session, org_id)
    user = users_ops.load_user(session, org_id, user_id)
    users_ops.set_user_name(session, user, body.user_name, make_primary_email=body.make_primary_email,
                            actor=op.name, expected_version=body.expected_version)
    return _done(session, user)


@router.post(
    "/orgs/{org_id}/users/{user_id}/release-email",
    response_model=m.UserOut,
    summary="Rename an email (default: the primary) to a released+…@….invalid placeholder",
    responses=_ACTION_ERRORS,
)
def release_email(
    org_id: str,
    user_id: str,
    session: SessionDep,
    op: OperatorDep,
    body: m.ReleaseEmailIn | None = None,
) -> dict[str, object]:
    get_org(session, org_id)
    user = users_ops.load_user(session, org_id, user_id)
    users_ops.release_email(
        session,
        user,
        body.email if body else None,
        actor=op.name,
        expected_version=body.expected_version if body else None,
    )
    return _done(session, user)


@router.post(
    "/orgs/{org_id}/users/{user_id}/merge",
    response_model=m.UserOut,
    summary="Merge this user (the twin) into another (the survivor); returns the survivor",
    responses=_MERGE_ERRORS,
)
def merge_user(
    org_id: str,
    user_id: str,
    body: m.MergeIn,
    session: SessionDep,
    op: OperatorDep,
) -> dict[str, object]:
    get_org(session, org_id)
    source = users_ops.load_user(session, org_id, user_id)
    if body.into_user_id == user_id:
        users_ops.merge(
            session, source, source, actor=op.name, expected_version=None, expected_target_version=None
        )
    target = users_ops.load_user(session, org_id, body.into_user_id)
    users_ops.merge(
        session,
        source,
        target,
        actor=op.name,
        expected_version=body.expected_version,
        expected_target_version=body.expected_target_version,
    )
    return _done(session, target)
