"""The sandbox platform's SCIM 2.0 endpoint, shaped after what Microsoft Entra ID really sends.

Mounted by the app under ``/scim/v2``; each org has its own base ``/scim/v2/{org_id}`` and its own
bearer tokens. Behaviour decisions (entra-facts §0–§1, §3.4, §5):

* Auth: the org's active SCIM token. Missing/bad/revoked/expired/other org's token → 401. SCIM
  disabled for the org → 401 as well (Entra reports any credential refusal the same way, and the
  token of a disabled org must not work). Unknown org → 404 (no log event: there is no org).
* Every response is ``application/scim+json``; every query (also ``/Schemas`` and
  ``/ResourceTypes``) is a ListResponse; Error ``status`` is a string.
* Users: POST 201 + Location. A POST whose userName (NFC, case-insensitive) exists is a 409
  ``uniqueness``, always. A POST whose ``externalId`` belongs to an existing user of the org re-links
  and revives that user (201, same ``id``) instead of creating a twin (§3.4 rule 10) — only when
  that account is plausibly the same person (inactive, or names/emails agree); otherwise 409
  naming the account (``scim_door``, docs/duplicates.md §2). A POST whose userName matches nobody
  creates a NEW account even when a manual account exists under the person's other email — the
  duplicate the console must find (§3.1).
* Identity strings are NFC-normalised; invisible characters in userName/emails and values over the
  advertised limits are refused with 400 ``invalidValue`` before any query (``scim_door``).
* PATCH on Users → 200 with the resource; on Groups → 204 (Entra's advice, §1.3).
* Every request is written to the provisioning log (``scim_log``), never with the token.
"""

from __future__ import annotations

import json
import re
import time
from contextlib import nullcontext
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from scim2_models import Context, EnterpriseUser, ResourceType
from scim2_models import Group as ScimGroup
from scim2_models import User as ScimUser
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, object_session, selectinload

from console.sandbox import service
from console.sandbox.db import (
    MAX_INT64,
    Group,
    GroupMember,
    Org,
    ScimSettings,
    ScimToken,
    User,
    fold,
    utcnow,
)
from console.sandbox.scim_door import LIMITS_DOC, check_user_document, relink_reason
from console.sandbox.scim_filters import (
    PYTHON_SCAN_LIMIT,
    group_sql,
    parse_filter,
    resource_matches,
    user_sql,
)
from console.sandbox.scim_log import RequestRecord, record, safe_path
from console.sandbox.scim_patch import (
    _member_values,
    apply_patch,
    group_changes,
    member_displays,
    parse_operations,
    summarise,
)
from console.sandbox.scim_resources import (
    LIST_SCHEMA,
    MEMBER_DISPLAY,
    SCIM_MEDIA_TYPE,
    ScimError,
    apply_user_document,
    canonical,
    check_group_name_free,
    check_user_name_free,
    group_resource,
    normalise_document,
    project,
    user_document,
    user_resource,
)
from console.sandbox.scim_schema import check_group_resource, check_user_resource
from console.sandbox.tokens import authenticate_scim_token

router = APIRouter(tags=["scim"])

DEFAULT_COUNT = 100
_MUTATING = frozenset({"create", "update", "delete"})  # ops that write more than their log event
MAX_COUNT = 1000


@dataclass
class Ctx:
    """Per-request facts every handler needs."""

    org_id: str
    request: Request
    rec: RequestRecord
    body: Any
    params: dict[str, str]
    _urls: dict[str, str] = field(default_factory=dict, init=False, repr=False)

    def users_url(self) -> str:
        return self._url("scim_users")

    def groups_url(self) -> str:
        return self._url("scim_groups")

    def _url(self, route: str) -> str:
        # url_for walks every route of the app: once per request, not once per rendered resource.
        if route not in self._urls:
            self._urls[route] = str(self.request.url_for(route, org_id=self.org_id))
        return self._urls[route]

    def base_url(self) -> str:
        return self.users_url().rsplit("/", 1)[0]


def _scim_response(status: int, payload: Any | None, headers: dict[str, str] | None = None) -> Response:
    if payload is None:
        return Response(status_code=status, headers=headers)
    return Response(
        content=json.dumps(payload, ensure_ascii=False), status_code=status, media_type=SCIM_MEDIA_TYPE,
        headers=headers,
    )


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def _authenticate(session: Session, request: Request, org_id: str, rec: RequestRecord) -> str:
    """The id of the request's valid token, else 401 (``_finish`` records its ``last_used_at``)."""
    token = _bearer(request)
    if token is None:
        raise ScimError(401, None, "Authorization: Bearer <SCIM token> is required")
    row = authenticate_scim_token(session, org_id, token)
    if row is None:
        raise ScimError(401, None, "The SCIM token is not valid for this organisation")
    rec.token_id = row.id
    settings = session.get(ScimSettings, org_id)
    if settings is None or not settings.enabled:
        raise ScimError(401, None, "SCIM provisioning is disabled for this organisation")
    return row.id


def _finish(session: Session, rec: RequestRecord, token_id: str | None, started: float) -> None:
    """The request's own writes, last: token ``last_used_at``, the provisioning-log event, commit."""
    if token_id is not None:
        session.execute(update(ScimToken).where(ScimToken.id == token_id).values(last_used_at=utcnow())
                        .execution_options(synchronize_session=False))
    record(session, rec, (time.perf_counter() - started) * 1000)
    session.commit()


def _run(
    request: Request, org_id: str, op: str, raw: bytes, handler: Any, kwargs: dict[str, Any]
) -> Response:
    """One SCIM request in one transaction, serialised with the other writers of this server.

    SQLite has one writer at a time and its busy handler polls with sleeps of up to 100 ms, so under
    concurrent clients most time went into waiting for the lock and oversleeping after it was free.
    ``scim_write_gate`` hands the write lock over at once instead: creates, updates and deletes hold
    it for the whole request; queries and discovery run their reads in parallel and take it only for
    ``_finish``.
    """
    started = time.perf_counter()
    rec = RequestRecord(org_id=org_id, method=request.method, op=op,
                        path=safe_path(request.url.path, request.url.query))
    factory = request.app.state.session_factory
    gate = request.app.state.scim_write_gate
    mutating = op in _MUTATING
    used: str | None = None
    with factory() as session, (gate if mutating else nullcontext()):
        if session.get(Org, org_id) is None:
            return _scim_response(404, ScimError(404, None, f"Unknown organisation '{org_id}'").body())
        try:
            used = _authenticate(session, request, org_id, rec)
            body: Any = None
            if raw.strip():
                try:
                    body = json.loads(raw)
                except (ValueError, RecursionError):  # deep JSON is refused earlier (limits.py)
                    raise ScimError(400, "invalidSyntax", "request body is not valid JSON") from None
            elif request.method in ("POST", "PUT", "PATCH") and op != "unknown":
                raise ScimError(400, "invalidSyntax", "request body is required")
            ctx = Ctx(org_id, request, rec, body, dict(request.query_params))
            status, payload, headers = handler(session, ctx, **kwargs)
            rec.status = status
            with nullcontext() if mutating else gate:
                _finish(session, rec, used, started)
            return _scim_response(status, payload, headers)
        except IntegrityError:
            session.rollback()
            error = ScimError(409, "uniqueness", "the resource clashes with an existing one")
        except ScimError as exc:
            session.rollback()
            error = exc
        except Exception as exc:  # noqa: BLE001 - a SCIM client must get a SCIM error, and we log it
            session.rollback()
            error = ScimError(500, None, f"internal error ({type(exc).__name__})")
        rec.status = error.status
        rec.error_code = error.scim_type or {401: "unauthorized", 404: "not_found"}.get(error.status)
        rec.error_detail = error.detail
        with nullcontext() if mutating else gate:
            _finish(session, rec, used, started)
        headers = {"WWW-Authenticate": 'Bearer realm="scim"'} if error.status == 401 else None
        return _scim_response(error.status, error.body(), headers)


async def _dispatch(request: Request, org_id: str, op: str, handler: Any, **kwargs: Any) -> Response:
    raw = await request.body()
    return await run_in_threadpool(_run, request, org_id, op, raw, handler, kwargs)


# ---------------------------------------------------------------- query parameters


_INT_PARAM = re.compile(r"\A[+-]?[0-9]{1,19}\Z")  # ASCII digits only: int() also takes "1_0", "١٢", " 7"


def _int_param(params: dict[str, str], name: str, default: int) -> int:
    raw = params.get(name)
    if raw is None or raw == "":
        return default
    if not _INT_PARAM.match(raw):
        raise ScimError(400, "invalidValue", f"'{name}' must be an integer")
    value = int(raw)
    if not -MAX_INT64 <= value <= MAX_INT64:
        raise ScimError(400, "invalidValue", f"'{name}' is out of range (at most {MAX_INT64})")
    return value


def _list_param(params: dict[str, str], name: str) -> list[str] | None:
    raw = params.get(name)
    if not raw:
        return None
    return [part.strip() for part in raw.split(",") if part.strip()]


def _page(params: dict[str, str]) -> tuple[int, int]:
    start = max(1, _int_param(params, "startIndex", 1))
    count = min(MAX_COUNT, max(0, _int_param(params, "count", DEFAULT_COUNT)))
    return start, count


def _list_response(resources: list[dict[str, Any]], total: int, start: int) -> dict[str, Any]:
    body: dict[str, Any] = {"schemas": [LIST_SCHEMA], "totalResults": total, "startIndex": start,
                            "itemsPerPage": len(resources), "Resources": resources}
    return body


# ---------------------------------------------------------------- users


def _load_user(session: Session, org_id: str, scim_id: str) -> User:
    user = session.scalar(
        select(User).where(User.org_id == org_id, User.scim_id == scim_id).options(selectinload(User.emails))
    )
    if user is None:
        raise ScimError(404, None, f"User {scim_id} not found")
    return user


def _note_user(rec: RequestRecord, user: User) -> None:
    rec.user_id, rec.scim_id, rec.user_name, rec.external_id = (
        user.id, user.scim_id, user.user_name, user.external_id
    )


def _user_location(ctx: Ctx, user: User) -> str:
    return f"{ctx.users_url()}/{user.scim_id}"


def _user_out(ctx: Ctx, user: User, *, check: bool = False) -> dict[str, Any]:
    """The user as served; after a write (``check``) the whole resource must pass the schema check."""
    resource = user_resource(user, _user_location(ctx, user))
    if check:
        check_user_resource(resource)
    return project(resource, _list_param(ctx.params, "attributes"),
                   _list_param(ctx.params, "excludedAttributes"))


def _users_query(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any] | None, None]:
    text = ctx.params.get("filter")
    ctx.rec.op_summary = f"filter={text}" if text else "list"
    node = parse_filter(text) if text else None
    start, count = _page(ctx.params)
    query = user_sql(ctx.org_id, node)
    if query is not None and query.exact:
        stmt = query.stmt
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        users = session.scalars(
            stmt.order_by(User.id).offset(start - 1).limit(count).options(selectinload(User.emails))
        ).all() if count else []
        resources = [_user_out(ctx, u) for u in users]
    else:  # evaluated in Python, on SQL's candidates when there are any
        candidates = query.stmt if query is not None else select(User).where(User.org_id == ctx.org_id)
        n = session.scalar(select(func.count()).select_from(candidates.subquery())) or 0
        if n > PYTHON_SCAN_LIMIT:
            raise ScimError(400, "tooMany", "this filter cannot be evaluated on an organisation this large; "
                                            "use eq/and on userName, externalId, id or emails")
        everyone = session.scalars(candidates.order_by(User.id).options(selectinload(User.emails))).all()
        assert node is not None
        hits = [u for u in everyone if resource_matches(node, user_resource(u, _user_location(ctx, u)))]
        total = len(hits)
        resources = [_user_out(ctx, u) for u in hits[start - 1:start - 1 + count]]
    if total == 1 and len(resources) == 1:
        ctx.rec.scim_id = resources[0].get("id")
        ctx.rec.user_name = resources[0].get("userName")
    return 200, _list_response(resources, total, start), None


def _find_by_external_id(session: Session, org_id: str, external_id: str) -> User | None:
    return session.scalars(
        select(User).where(User.org_id == org_id, User.external_id == external_id)
        .order_by(User.active.desc(), User.updated_at.desc()).options(selectinload(User.emails))
    ).first()


def _create_user(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any], dict[str, str]]:
    if not isinstance(ctx.body, dict):
        raise ScimError(400, "invalidSyntax", "body must be a User object")
    doc = check_user_document(normalise_document(ctx.body))
    for readonly in ("id", "meta", "schemas", "groups", "password"):
        doc.pop(readonly, None)
    user_name = doc.get("userName")
    ctx.rec.user_name = user_name if isinstance(user_name, str) else None
    external_id = doc.get("externalId") if isinstance(doc.get("externalId"), str) else None
    ctx.rec.external_id = external_id
    doc.setdefault("active", True)
    ctx.rec.op_summary = f"POST userName={user_name}"
    if isinstance(user_name, str) and user_name.strip():
        # Entra POSTs only after its userName query found nobody: an existing userName is always a
        # 409 uniqueness (RFC 7644 §3.3), also when the externalId is that user's (docs/duplicates.md §2.1).
        check_user_name_free(session, ctx.org_id, user_name, None)
    user = _find_by_external_id(session, ctx.org_id, external_id) if external_id else None
    if user is not None:
        reason = relink_reason(active=bool(user.active), display_name=user.display_name,
                               given_name=user.given_name, family_name=user.family_name,
                               emails=[e.value for e in user.emails], doc=doc)
        if reason is None:
            ctx.rec.op_summary = f"POST userName={user_name} (refused: externalId held by {user.user_name})"
            raise ScimError(409, "uniqueness", (
                f"externalId '{external_id}' already belongs to the active account '{user.user_name}' "
                f"(id {user.scim_id}), whose names and emails differ from this request; it was not "
                "re-linked to another person. Check the externalId mapping in Entra."))
        # §3.4 rule 10: re-link/revive the user this externalId already belongs to, never a twin.
        ctx.rec.op_summary = f"POST userName={user_name} (re-linked existing externalId: {reason})"
        if apply_user_document(session, user, doc):
            service.bump_version(user)
        user.idp_link = external_id
    else:
        ctx.rec.op_summary = f"POST userName={user_name}"
        if not isinstance(user_name, str) or not user_name.strip():
            raise ScimError(400, "invalidValue", "userName is required and must be a non-empty string")
        check_user_name_free(session, ctx.org_id, user_name, None)
        user = User(org_id=ctx.org_id, user_name=user_name, user_name_key=fold(user_name),
                    created_via="scim", active=True, scim_json={}, version=1)
        session.add(user)
        with session.no_autoflush:
            apply_user_document(session, user, doc)
        session.flush()
        user.idp_link = external_id or user.scim_id
        service.apply_new_user_templates(session, user)
    session.flush()
    _note_user(ctx.rec, user)
    location = _user_location(ctx, user)
    return 201, _user_out(ctx, user, check=True), {"Location": location}


def _get_user(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, dict[str, Any], dict[str, str]]:
    user = _load_user(session, ctx.org_id, resource_id)
    _note_user(ctx.rec, user)
    return 200, _user_out(ctx, user), {"ETag": f'W/"{user.version}"'}


def _replace_user(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, dict[str, Any], None]:
    user = _load_user(session, ctx.org_id, resource_id)
    _note_user(ctx.rec, user)
    if not isinstance(ctx.body, dict):
        raise ScimError(400, "invalidSyntax", "body must be a User object")
    doc = check_user_document(normalise_document(ctx.body))
    for readonly in ("id", "meta", "schemas", "groups", "password"):
        doc.pop(readonly, None)
    doc.setdefault("active", user.active)
    ctx.rec.op_summary = "PUT replace"
    if apply_user_document(session, user, doc):
        service.bump_version(user)
        if user.idp_link is not None and user.external_id and user.idp_link != user.external_id:
            user.idp_link = user.external_id
    session.flush()
    _note_user(ctx.rec, user)
    return 200, _user_out(ctx, user, check=True), None


def _patch_user(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, dict[str, Any], None]:
    user = _load_user(session, ctx.org_id, resource_id)
    _note_user(ctx.rec, user)
    operations = parse_operations(ctx.body)
    ctx.rec.op_summary = summarise(operations)
    new_doc = check_user_document(apply_patch(user_document(user), operations))
    if apply_user_document(session, user, new_doc):
        service.bump_version(user)
        if user.idp_link is not None and user.external_id and user.idp_link != user.external_id:
            user.idp_link = user.external_id
    session.flush()
    _note_user(ctx.rec, user)
    return 200, _user_out(ctx, user, check=True), None


def _delete_user(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, None, None]:
    user = _load_user(session, ctx.org_id, resource_id)
    _note_user(ctx.rec, user)
    ctx.rec.op_summary = "DELETE"
    session.delete(user)
    return 204, None, None


# ---------------------------------------------------------------- groups


def _load_group(session: Session, org_id: str, group_id: str) -> Group:
    group = session.scalar(select(Group).where(Group.org_id == org_id, Group.id == group_id))
    if group is None:
        raise ScimError(404, None, f"Group {group_id} not found")
    return group


def _members(session: Session, group: Group) -> list[tuple[str, str | None]]:
    rows = session.execute(
        select(User.scim_id, User.display_name).join(GroupMember, GroupMember.user_id == User.id)
        .where(GroupMember.group_id == group.id).order_by(User.scim_id)
    ).all()
    return [(r[0], r[1]) for r in rows]


def _group_out(session: Session, ctx: Ctx, group: Group, *, check: bool = False) -> dict[str, Any]:
    """The group as served; after a write (``check``) the whole resource, members included, must pass
    the schema check (built once, then projected)."""
    excluded = _list_param(ctx.params, "excludedAttributes")
    attributes = _list_param(ctx.params, "attributes")
    want_members = check or (not (excluded and any(a.lower() == "members" for a in excluded)) and not (
        attributes and not any(a.lower().split(".")[0] == "members" for a in attributes)
    ))
    resource = group_resource(group, f"{ctx.groups_url()}/{group.id}",
                              _members(session, group) if want_members else None, ctx.users_url())
    if check:
        check_group_resource(resource)
    return project(resource, attributes, excluded)


def _check_group(session: Session, ctx: Ctx, group: Group) -> None:
    """Before a group PATCH commits (it answers 204): the whole resource must be valid SCIM."""
    session.flush()
    check_group_resource(group_resource(group, f"{ctx.groups_url()}/{group.id}", _members(session, group),
                                        ctx.users_url()))


def _resolve_members(session: Session, org_id: str, scim_ids: list[str]) -> dict[str, str]:
    if not scim_ids:
        return {}
    rows = session.execute(
        select(User.scim_id, User.id).where(User.org_id == org_id, User.scim_id.in_(set(scim_ids)))
    ).all()
    found = {r[0]: r[1] for r in rows}
    missing = [s for s in scim_ids if s not in found]
    if missing:
        raise ScimError(400, "invalidValue", f"unknown member id(s): {', '.join(missing[:5])}")
    return found


def _set_group_attributes(session: Session, group: Group, attributes: dict[str, Any],
                          removed: set[str]) -> bool:
    changed = False
    extra = dict(group.scim_json or {})
    for key, value in attributes.items():
        name = canonical(key)
        if name == "displayName":
            if not isinstance(value, str) or not value.strip():
                raise ScimError(400, "invalidValue", "displayName must be a non-empty string")
            if fold(value) != group.display_name_key:
                check_group_name_free(session, group.org_id, value, group.id)
            if value != group.display_name:
                group.display_name, group.display_name_key = value, fold(value)
                changed = True
        elif name == "externalId":
            if value is not None and not isinstance(value, str):
                raise ScimError(400, "invalidValue", "externalId must be a string")
            if value != group.external_id:
                group.external_id = value
                changed = True
        elif name in ("id", "meta", "schemas", "members"):
            continue
        elif extra.get(name) != value:
            extra[name] = value
            changed = True
    for key in removed:
        if canonical(key) == "externalId" and group.external_id is not None:
            group.external_id = None
            changed = True
        elif key in extra:
            extra.pop(key)
            changed = True
    if extra != (group.scim_json or {}):
        group.scim_json = extra
    return changed


def _apply_member_actions(session: Session, group: Group, actions: list[tuple[str, list[str]]]) -> bool:
    current = {m.user_id for m in group.members}
    before = set(current)
    for kind, scim_ids in actions:
        ids = _resolve_members(session, group.org_id, scim_ids) if kind in ("add", "replace") else {}
        if kind == "clear":
            current.clear()
        elif kind == "replace":
            current = set(ids.values())
        elif kind == "add":
            current |= set(ids.values())
        elif kind == "remove":
            rows = session.execute(
                select(User.id).where(User.org_id == group.org_id, User.scim_id.in_(set(scim_ids)))
            ).all()
            current -= {r[0] for r in rows}
    if current == before:
        return False
    for member in list(group.members):
        if member.user_id not in current:
            group.members.remove(member)
    for user_id in current - before:
        group.members.append(GroupMember(user_id=user_id))
    return True


def _store_displays(group: Group, displays: dict[str, str]) -> bool:
    """Keep member ``display`` values as sent, for current members only."""
    session = object_session(group)
    assert session is not None
    session.flush()
    member_ids = {m.user_id for m in group.members}
    scim_ids: set[str] = set()
    if member_ids:
        scim_ids = set(session.scalars(select(User.scim_id).where(User.id.in_(member_ids))).all())
    extra = dict(group.scim_json or {})
    current = dict(extra.get(MEMBER_DISPLAY) or {})
    wanted = {k: v for k, v in {**current, **displays}.items() if k in scim_ids}
    if wanted == current:
        return False
    if wanted:
        extra[MEMBER_DISPLAY] = wanted
    else:
        extra.pop(MEMBER_DISPLAY, None)
    group.scim_json = extra
    return True


def _groups_query(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any], None]:
    text = ctx.params.get("filter")
    ctx.rec.op_summary = f"filter={text}" if text else "list"
    node = parse_filter(text) if text else None
    start, count = _page(ctx.params)
    stmt = group_sql(ctx.org_id, node)
    if stmt is not None:
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        page = stmt.order_by(Group.id).offset(start - 1).limit(count)
        groups = session.scalars(page).all() if count else []
        resources = [_group_out(session, ctx, g) for g in groups]
    else:
        assert node is not None
        everyone = session.scalars(select(Group).where(Group.org_id == ctx.org_id).order_by(Group.id)).all()
        hits = [g for g in everyone if resource_matches(
            node, group_resource(g, "", _members(session, g), ctx.users_url()))]
        total = len(hits)
        resources = [_group_out(session, ctx, g) for g in hits[start - 1:start - 1 + count]]
    return 200, _list_response(resources, total, start), None


def _create_group(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any], dict[str, str]]:
    if not isinstance(ctx.body, dict):
        raise ScimError(400, "invalidSyntax", "body must be a Group object")
    doc = normalise_document(ctx.body)  # any schemas accepted, incl. Microsoft's ADSCIM Group URI
    display_name = doc.get("displayName")
    ctx.rec.op_summary = f"POST Group displayName={display_name}"
    if not isinstance(display_name, str) or not display_name.strip():
        raise ScimError(400, "invalidValue", "displayName is required")
    check_group_name_free(session, ctx.org_id, display_name, None)
    external_id = doc.get("externalId")
    if external_id is not None and not isinstance(external_id, str):
        raise ScimError(400, "invalidValue", "externalId must be a string")
    extra = {k: v for k, v in doc.items()
             if k not in ("id", "meta", "schemas", "displayName", "externalId", "members")}
    group = Group(org_id=ctx.org_id, display_name=display_name, display_name_key=fold(display_name),
                  external_id=external_id, scim_json=extra, version=1)
    session.add(group)
    members = doc.get("members") or []
    if members:
        _apply_member_actions(session, group, [("add", _member_values(members))])
        _store_displays(group, member_displays(members))
    session.flush()
    return 201, _group_out(session, ctx, group, check=True), {"Location": f"{ctx.groups_url()}/{group.id}"}


def _get_group(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, dict[str, Any], None]:
    group = _load_group(session, ctx.org_id, resource_id)
    return 200, _group_out(session, ctx, group), None


def _replace_group(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, dict[str, Any], None]:
    group = _load_group(session, ctx.org_id, resource_id)
    if not isinstance(ctx.body, dict):
        raise ScimError(400, "invalidSyntax", "body must be a Group object")
    doc = normalise_document(ctx.body)
    if not isinstance(doc.get("displayName"), str):
        raise ScimError(400, "invalidValue", "displayName is required")
    ctx.rec.op_summary = "PUT Group replace"
    extra_keys = {k for k in (group.scim_json or {}) if k not in doc}
    changed = _set_group_attributes(
        session, group, {k: v for k, v in doc.items() if k != "members"},
        extra_keys | ({"externalId"} if "externalId" not in doc else set()),
    )
    members = _member_values(doc["members"]) if doc.get("members") else []
    changed = _apply_member_actions(session, group, [("replace", members)]) or changed
    changed = _store_displays(group, member_displays(doc.get("members") or [])) or changed
    if changed:
        group.version += 1
    session.flush()
    return 200, _group_out(session, ctx, group, check=True), None


def _patch_group(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, None, None]:
    group = _load_group(session, ctx.org_id, resource_id)
    operations = parse_operations(ctx.body)
    ctx.rec.op_summary = f"Group {group.display_name}: {summarise(operations)}"
    changes = group_changes(operations)
    changed = _set_group_attributes(session, group, changes.attributes, changes.removed_attributes)
    changed = _apply_member_actions(session, group, changes.member_actions) or changed
    changed = _store_displays(group, changes.displays) or changed
    if changed:
        group.version += 1
    _check_group(session, ctx, group)
    return 204, None, None


def _delete_group(session: Session, ctx: Ctx, resource_id: str) -> tuple[int, None, None]:
    group = _load_group(session, ctx.org_id, resource_id)
    ctx.rec.op_summary = f"DELETE Group {group.display_name}"
    session.execute(delete(GroupMember).where(GroupMember.group_id == group.id))
    session.delete(group)
    return 204, None, None


# ---------------------------------------------------------------- discovery


@lru_cache(maxsize=1)
def _schema_documents() -> list[dict[str, Any]]:
    return [
        model.to_schema().model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        for model in (ScimUser, EnterpriseUser, ScimGroup)
    ]


@lru_cache(maxsize=1)
def _resource_type_documents() -> list[dict[str, Any]]:
    return [
        ResourceType.from_resource(model).model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
        for model in (ScimUser[EnterpriseUser], ScimGroup)
    ]


def _with_meta(doc: dict[str, Any], resource_type: str, location: str) -> dict[str, Any]:
    return {**doc, "meta": {"resourceType": resource_type, "location": location}}


def _service_provider_config(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any], None]:
    base = ctx.base_url()
    return 200, {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"],
        # scim2-models forbids extra keys here, so the value limits are documented, not listed.
        "documentationUri": LIMITS_DOC,
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": 0},
        "filter": {"supported": True, "maxResults": MAX_COUNT},
        "changePassword": {"supported": False},
        "sort": {"supported": False},
        "etag": {"supported": False},
        "authenticationSchemes": [{
            "type": "oauthbearertoken", "name": "OAuth Bearer Token", "primary": True,
            "description": "The organisation's long-lived SCIM token (scim_…)",
            "specUri": "https://www.rfc-editor.org/info/rfc6750",
        }],
        "meta": {"resourceType": "ServiceProviderConfig", "location": f"{base}/ServiceProviderConfig"},
    }, None


def _schemas(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any], None]:
    base = ctx.base_url()
    docs = [_with_meta(d, "Schema", f"{base}/Schemas/{d['id']}") for d in _schema_documents()]
    return 200, _list_response(docs, len(docs), 1), None


def _schema(session: Session, ctx: Ctx, schema_id: str) -> tuple[int, dict[str, Any], None]:
    for doc in _schema_documents():
        if doc["id"] == schema_id:
            return 200, _with_meta(doc, "Schema", f"{ctx.base_url()}/Schemas/{schema_id}"), None
    raise ScimError(404, None, f"Schema {schema_id} not found")


def _resource_types(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any], None]:
    base = ctx.base_url()
    docs = [_with_meta(d, "ResourceType", f"{base}/ResourceTypes/{d['id']}")
            for d in _resource_type_documents()]
    return 200, _list_response(docs, len(docs), 1), None


def _resource_type(session: Session, ctx: Ctx, type_id: str) -> tuple[int, dict[str, Any], None]:
    for doc in _resource_type_documents():
        if doc["id"] == type_id:
            return 200, _with_meta(doc, "ResourceType", f"{ctx.base_url()}/ResourceTypes/{type_id}"), None
    raise ScimError(404, None, f"ResourceType {type_id} not found")


# ---------------------------------------------------------------- routes


@router.get("/{org_id}/ServiceProviderConfig")
async def service_provider_config(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "discovery", _service_provider_config)


@router.get("/{org_id}/Schemas")
async def schemas(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "discovery", _schemas)


@router.get("/{org_id}/Schemas/{schema_id}")
async def schema(request: Request, org_id: str, schema_id: str) -> Response:
    return await _dispatch(request, org_id, "discovery", _schema, schema_id=schema_id)


@router.get("/{org_id}/ResourceTypes")
async def resource_types(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "discovery", _resource_types)


@router.get("/{org_id}/ResourceTypes/{type_id}")
async def resource_type(request: Request, org_id: str, type_id: str) -> Response:
    return await _dispatch(request, org_id, "discovery", _resource_type, type_id=type_id)


@router.get("/{org_id}/Users", name="scim_users")
async def list_users(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "query", _users_query)


@router.post("/{org_id}/Users")
async def create_user(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "create", _create_user)


@router.get("/{org_id}/Users/{resource_id}")
async def get_user(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "get", _get_user, resource_id=resource_id)


@router.put("/{org_id}/Users/{resource_id}")
async def replace_user(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "update", _replace_user, resource_id=resource_id)


@router.patch("/{org_id}/Users/{resource_id}")
async def patch_user(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "update", _patch_user, resource_id=resource_id)


@router.delete("/{org_id}/Users/{resource_id}")
async def delete_user(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "delete", _delete_user, resource_id=resource_id)


@router.get("/{org_id}/Groups", name="scim_groups")
async def list_groups(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "query", _groups_query)


@router.post("/{org_id}/Groups")
async def create_group(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "create", _create_group)


@router.get("/{org_id}/Groups/{resource_id}")
async def get_group(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "get", _get_group, resource_id=resource_id)


@router.put("/{org_id}/Groups/{resource_id}")
async def replace_group(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "update", _replace_group, resource_id=resource_id)


@router.patch("/{org_id}/Groups/{resource_id}")
async def patch_group(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "update", _patch_group, resource_id=resource_id)


@router.delete("/{org_id}/Groups/{resource_id}")
async def delete_group(request: Request, org_id: str, resource_id: str) -> Response:
    return await _dispatch(request, org_id, "delete", _delete_group, resource_id=resource_id)


def _search(kind: str) -> Any:
    """POST …/.search (RFC 7644 §3.4.3): the SearchRequest body stands in for the query string."""

    def handler(session: Session, ctx: Ctx) -> tuple[int, dict[str, Any] | None, None]:
        body = ctx.body if isinstance(ctx.body, dict) else {}
        params: dict[str, str] = {}
        for key in ("filter", "startIndex", "count", "attributes", "excludedAttributes"):
            value = next((v for k, v in body.items() if k.lower() == key.lower()), None)
            if isinstance(value, list):
                params[key] = ",".join(str(v) for v in value)
            elif value is not None:
                params[key] = str(value)
        ctx.params = params
        if kind == "Groups":
            return _groups_query(session, ctx)
        if kind == "Users":
            return _users_query(session, ctx)
        start, count = _page(params)
        ctx.params = {**params, "startIndex": "1", "count": str(MAX_COUNT)}
        users = _users_query(session, ctx)[1]["Resources"]
        groups = _groups_query(session, ctx)[1]["Resources"]
        everything = users + groups
        return 200, _list_response(everything[start - 1:start - 1 + count], len(everything), start), None

    return handler


@router.post("/{org_id}/Users/.search")
async def search_users(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "query", _search("Users"))


@router.post("/{org_id}/Groups/.search")
async def search_groups(request: Request, org_id: str) -> Response:
    return await _dispatch(request, org_id, "query", _search("Groups"))


@router.post("/{org_id}/.search")
async def search_root(request: Request, org_id: str) -> Response:
    """Root search over Users and Groups (Entra never uses it)."""
    return await _dispatch(request, org_id, "query", _search("Root"))


_KNOWN = ("serviceproviderconfig", "schemas", "resourcetypes", "users", "groups")


def _not_found(session: Session, ctx: Ctx, rest: str) -> tuple[int, None, None]:
    head = rest.strip("/").split("/", 1)[0].lower()
    if head in _KNOWN:
        raise ScimError(405, None, f"{ctx.request.method} is not supported on {ctx.request.url.path}")
    raise ScimError(404, None, f"No SCIM endpoint at {ctx.request.url.path}")


@router.api_route("/{org_id}/{rest:path}", methods=["GET", "POST", "PUT", "PATCH", "DELETE"])
async def unknown_endpoint(request: Request, org_id: str, rest: str) -> Response:
    """Anything else under an org's base answers a SCIM 404 (not the admin API's error shape)."""
    return await _dispatch(request, org_id, "unknown", _not_found, rest=rest)

