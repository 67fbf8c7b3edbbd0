"""DB rows ↔ SCIM JSON for the sandbox's SCIM endpoint.

Why a hand-written mapping instead of round-tripping through scim2-models: the platform must give
back every value exactly as Entra sent it (entra-facts §1.3 "Transformations of data shouldn't
happen"), and scim2-models 0.12.3 rewrites email domains (``A@X.com`` → ``A@x.com``), drops custom
extensions it does not declare and requires ``manager.$ref`` in creation requests. So the stored
document is plain JSON: the columns the platform needs (userName, names, active, externalId,
emails) live in the ``users``/``user_emails`` tables, everything else verbatim in ``scim_json``.
scim2-models is still used for path/filter parsing and for the discovery documents.
"""

from __future__ import annotations

import copy
import re
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.sandbox.db import Group, User, UserEmail, fold

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_SCHEMA = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MS_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
LIST_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SCIM_MEDIA_TYPE = "application/scim+json"

# Attributes that are columns (or derived) and therefore not kept in scim_json.
_USER_COLUMN_KEYS = {"id", "meta", "schemas", "username", "externalid", "displayname", "active", "emails"}
_GROUP_COLUMN_KEYS = {"id", "meta", "schemas", "displayname", "externalid", "members"}

# Canonical spelling of core attributes: attribute names are case-insensitive (RFC 7643 §2.1).
_CANONICAL = {
    name.lower(): name
    for name in (
        "id", "externalId", "meta", "schemas", "userName", "name", "displayName", "nickName", "profileUrl",
        "title", "userType", "preferredLanguage", "locale", "timezone", "active", "password", "emails",
        "phoneNumbers", "ims", "photos", "addresses", "groups", "entitlements", "roles",
        "x509Certificates", "members", "givenName", "familyName", "formatted", "middleName",
        "honorificPrefix", "honorificSuffix",
    )
}

ACTIVE_UNSET = "__activeUnset"  # internal scim_json marker, never rendered
EMAIL_EXTRA = "__emailExtra"  # internal scim_json: email sub-attributes without a column (display…)
MEMBER_DISPLAY = "__memberDisplay"  # internal group scim_json: member display values as sent

_URN_ATTR_RE = re.compile(r"^(urn:[^\s]*?:(?:User|Group))(?::(.+))?$", re.IGNORECASE)


class ScimError(Exception):
    """A SCIM protocol error (RFC 7644 §3.12); rendered with a string ``status``."""

    def __init__(self, status: int, scim_type: str | None = None, detail: str | None = None) -> None:
        super().__init__(detail or scim_type or str(status))
        self.status = status
        self.scim_type = scim_type
        self.detail = detail

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status)}
        if self.scim_type:
            body["scimType"] = self.scim_type
        if self.detail:
            body["detail"] = self.detail
        return body


def canonical(key: str) -> str:
    """Canonical camelCase for a known core attribute; URNs and unknown names unchanged."""
    return _CANONICAL.get(key.lower(), key)


def split_urn(key: str) -> tuple[str, str | None] | None:
    """Split ``urn:…:2.0:User:attr.sub`` into (schema URN, ``attr.sub``); None if not a URN key."""
    if not key.lower().startswith("urn:"):
        return None
    match = _URN_ATTR_RE.match(key)
    if match is None:
        return key, None
    return match.group(1), match.group(2)


def is_core_urn(urn: str) -> bool:
    return urn.lower() in (USER_SCHEMA.lower(), GROUP_SCHEMA.lower())


def coerce_bool(value: Any, attribute: str) -> bool:
    """Entra's default job sends ``"True"``/``"False"`` (any case); anything else is refused.

    A silently ignored string would let a deprovisioning "succeed" while the account stays active
    (entra-facts §1.5), hence 400 ``invalidValue`` rather than a guess.
    """
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ScimError(400, "invalidValue", f"'{attribute}' must be a boolean, got {value!r}")


def drop_nulls(value: Any) -> Any:
    """Entra never provisions nulls, but the tutorial's example body has them: treat as absent."""
    if isinstance(value, dict):
        return {k: drop_nulls(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [drop_nulls(v) for v in value if v is not None]
    return value


def normalise_document(doc: dict[str, Any]) -> dict[str, Any]:
    """Canonical key spelling, string booleans coerced, nulls dropped; values otherwise untouched."""
    out: dict[str, Any] = {}
    for key, value in drop_nulls(doc).items():
        name = canonical(key)
        urn = split_urn(name)
        if urn is not None and urn[1] is None and not is_core_urn(urn[0]) and isinstance(value, dict):
            existing = next((k for k in out if k.lower() == urn[0].lower()), urn[0])
            out[existing] = {**out.get(existing, {}), **value}
            continue
        if urn is not None and urn[1] is None and is_core_urn(urn[0]) and isinstance(value, dict):
            out.update(normalise_document(value))  # core attributes wrapped in their own URN
            continue
        if name == "name" and isinstance(value, dict):
            value = {canonical(k): v for k, v in value.items()}
        out[name] = value
    if "active" in out:
        out["active"] = coerce_bool(out["active"], "active")
    for key, value in out.items():
        if isinstance(value, list):
            for entry in value:
                if isinstance(entry, dict):
                    for sub in list(entry):
                        if sub.lower() == "primary":
                            entry["primary"] = coerce_bool(entry.pop(sub), f"{key}.primary")
    return out


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def user_document(user: User) -> dict[str, Any]:
    """The user's SCIM attributes (no id/meta/schemas): the document PATCH works on."""
    doc: dict[str, Any] = copy.deepcopy(user.scim_json or {})
    active_unset = bool(doc.pop(ACTIVE_UNSET, False))
    email_extra = doc.pop(EMAIL_EXTRA, None) or {}
    doc["userName"] = user.user_name
    if user.external_id is not None:
        doc["externalId"] = user.external_id
    if user.display_name is not None:
        doc["displayName"] = user.display_name
    name = dict(doc.get("name") or {})
    if user.given_name is not None:
        name["givenName"] = user.given_name
    if user.family_name is not None:
        name["familyName"] = user.family_name
    if name:
        doc["name"] = name
    if not active_unset:
        doc["active"] = bool(user.active)
    if user.emails:
        doc["emails"] = []
        for i, e in enumerate(user.emails):
            pairs = (("value", e.value), ("type", e.type), ("primary", e.primary))
            entry = {k: v for k, v in pairs if v is not None}
            doc["emails"].append({**entry, **email_extra.get(str(i), {})})
    return doc


def schemas_for(doc: dict[str, Any], core: str) -> list[str]:
    schemas = [core]
    for key in doc:
        urn = split_urn(key)
        if urn is not None and urn[1] is None and key not in schemas:
            schemas.append(key)
    return schemas


def user_resource(user: User, location: str) -> dict[str, Any]:
    doc = user_document(user)
    resource: dict[str, Any] = {"schemas": schemas_for(doc, USER_SCHEMA), "id": user.scim_id}
    resource.update(doc)
    resource["meta"] = {
        "resourceType": "User",
        "created": _iso(user.created_at),
        "lastModified": _iso(user.updated_at or user.created_at),
        "location": location,
        "version": f'W/"{user.version}"',
    }
    return resource


def check_user_name_free(session: Session, org_id: str, user_name: str, exclude_id: str | None) -> None:
    key = fold(user_name)
    stmt = select(User.id).where(User.org_id == org_id, User.user_name_key == key)
    if exclude_id is not None:
        stmt = stmt.where(User.id != exclude_id)
    if session.scalar(stmt.limit(1)) is not None:
        raise ScimError(409, "uniqueness", f"userName '{user_name}' is already taken in this organisation")


def apply_user_document(session: Session, user: User, doc: dict[str, Any]) -> bool:
    """Write a full SCIM document onto the user's columns, email rows and scim_json.

    Returns True when anything changed (the caller bumps ``version``). Raises ScimError for an
    invalid document or a userName clash (case-insensitive, RFC 7643 §4.1.1).
    """
    doc = {canonical(k): v for k, v in doc.items()}
    user_name = doc.get("userName")
    if not isinstance(user_name, str) or not user_name.strip():
        raise ScimError(400, "invalidValue", "userName is required and must be a non-empty string")
    for attr in ("externalId", "displayName"):
        if attr in doc and not isinstance(doc[attr], str):
            raise ScimError(400, "invalidValue", f"'{attr}' must be a string")
    name = doc.get("name") or {}
    if not isinstance(name, dict):
        raise ScimError(400, "invalidValue", "'name' must be an object")
    for sub in ("givenName", "familyName"):
        if name.get(sub) is not None and not isinstance(name[sub], str):
            raise ScimError(400, "invalidValue", f"'name.{sub}' must be a string")
    emails = doc.get("emails") or []
    if not isinstance(emails, list) or not all(
        isinstance(e, dict) and isinstance(e.get("value"), str) for e in emails
    ):
        raise ScimError(400, "invalidValue", "'emails' must be a list of objects with a string 'value'")

    changed = False

    def put(attr: str, value: Any) -> None:
        nonlocal changed
        if getattr(user, attr) != value:
            setattr(user, attr, value)
            changed = True

    if fold(user_name) != user.user_name_key:
        check_user_name_free(session, user.org_id, user_name, user.id)
    put("user_name", user_name)
    put("user_name_key", fold(user_name))
    put("external_id", doc.get("externalId"))
    put("display_name", doc.get("displayName"))
    put("given_name", name.get("givenName"))
    put("family_name", name.get("familyName"))
    put("active", coerce_bool(doc.get("active", True), "active"))
    doc.pop(ACTIVE_UNSET, None)

    wanted = _email_rows(emails)
    current = [(e.value, e.type, bool(e.primary)) for e in user.emails]
    if wanted != current:
        user.emails.clear()
        session.flush()
        for position, (value, etype, primary) in enumerate(wanted):
            user.emails.append(
                UserEmail(org_id=user.org_id, value=value, value_key=fold(value), type=etype,
                          primary=primary, position=position)
            )
        changed = True

    rest = {k: v for k, v in doc.items() if k.lower() not in _USER_COLUMN_KEYS and k.lower() != "password"}
    extras = {str(i): {k: v for k, v in e.items() if k.lower() not in ("value", "type", "primary")}
              for i, e in enumerate(emails)}
    extras = {k: v for k, v in extras.items() if v}
    if extras:
        rest[EMAIL_EXTRA] = extras
    if "active" not in doc:
        rest[ACTIVE_UNSET] = True  # a client removed ``active``: account stays usable, attribute absent
    rest_name = {k: v for k, v in name.items() if k not in ("givenName", "familyName")}
    rest.pop("name", None)
    if rest_name:
        rest["name"] = rest_name
    if (user.scim_json or {}) != rest:
        user.scim_json = rest
        changed = True
    return changed


def _email_rows(emails: list[dict[str, Any]]) -> list[tuple[str, str | None, bool]]:
    """At most one primary; exactly one when the client left ``primary`` unsaid.

    Entra sends one work email without ``primary``: it becomes the primary (the platform needs a
    primary email). An explicit ``primary: false`` on every entry is kept as sent (values are
    stored as sent, and a client must read back what it wrote). Several primaries: the first wins.
    """
    rows = []
    unsaid = []
    for entry in emails:
        etype = entry.get("type")
        if etype is not None and not isinstance(etype, str):
            raise ScimError(400, "invalidValue", "'emails.type' must be a string")
        primary = coerce_bool(entry.get("primary", False), "emails.primary")
        rows.append((entry["value"], etype if isinstance(etype, str) else None, primary))
        unsaid.append(not any(k.lower() == "primary" for k in entry))
    marked = [i for i, r in enumerate(rows) if r[2]]
    if marked:
        first: int | None = marked[0]
    else:
        candidates = [i for i, r in enumerate(rows) if unsaid[i]]
        first = next((i for i in candidates if (rows[i][1] or "").lower() == "work"),
                     candidates[0] if candidates else None)
    return [(v, t, i == first) for i, (v, t, _p) in enumerate(rows)]


def group_resource(group: Group, location: str, members: list[tuple[str, str | None]] | None,
                   user_location: str) -> dict[str, Any]:
    """A Group resource. ``members`` = [(scim_id, display)] or None when excluded."""
    resource: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.id}
    extra = copy.deepcopy(group.scim_json or {})
    displays = extra.pop(MEMBER_DISPLAY, {}) or {}
    resource.update(extra)
    resource["displayName"] = group.display_name
    if group.external_id is not None:
        resource["externalId"] = group.external_id
    if members is not None:
        resource["members"] = [
            {k: v for k, v in (("value", sid), ("display", displays.get(sid, disp)),
                               ("$ref", f"{user_location}/{sid}"),
                               ("type", "User")) if v is not None}
            for sid, disp in members
        ]
    resource["meta"] = {
        "resourceType": "Group",
        "created": _iso(group.created_at),
        "lastModified": _iso(group.updated_at or group.created_at),
        "location": location,
        "version": f'W/"{group.version}"',
    }
    return resource


def check_group_name_free(session: Session, org_id: str, display_name: str, exclude_id: str | None) -> None:
    stmt = select(func.count()).select_from(Group).where(
        Group.org_id == org_id, Group.display_name_key == fold(display_name)
    )
    if exclude_id is not None:
        stmt = stmt.where(Group.id != exclude_id)
    if session.scalar(stmt):
        raise ScimError(409, "uniqueness", f"group displayName '{display_name}' is already taken")


def project(
    resource: dict[str, Any], attributes: list[str] | None, excluded: list[str] | None
) -> dict[str, Any]:
    """RFC 7644 §3.4.2.5 ``attributes``/``excludedAttributes`` (``id`` and ``schemas`` always stay)."""
    if attributes:
        keep: dict[str, set[str] | None] = {}
        for attr in attributes:
            head, _, sub = _strip_core_urn(attr).partition(".")
            key = head.lower()
            if sub and keep.get(key, set()) is not None:
                keep.setdefault(key, set()).add(sub.lower())  # type: ignore[union-attr]
            else:
                keep[key] = None
        out: dict[str, Any] = {}
        for key, value in resource.items():
            lk = key.lower()
            if lk in ("id", "schemas"):
                out[key] = value
            elif lk in keep:
                subs = keep[lk]
                if subs is None or not isinstance(value, (dict, list)):
                    out[key] = value
                elif isinstance(value, dict):
                    out[key] = {k: v for k, v in value.items() if k.lower() in subs}
                else:
                    out[key] = [{k: v for k, v in e.items() if k.lower() in subs} for e in value
                                if isinstance(e, dict)]
        return out
    if excluded:
        drop = {_strip_core_urn(a).lower() for a in excluded}
        return {k: v for k, v in resource.items() if k.lower() in ("id", "schemas") or k.lower() not in drop}
    return resource


def _strip_core_urn(attr: str) -> str:
    urn = split_urn(attr)
    if urn is not None and is_core_urn(urn[0]) and urn[1]:
        return urn[1]
    return attr
