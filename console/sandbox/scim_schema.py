"""The last check before a SCIM write is committed: the resource as it will be served must be valid.

Why: the endpoint stores documents as sent (entra-facts §1.3), so without this a PATCH could store an
attribute no schema defines (``{"op": "add", "value": {"value": "x"}}``), a ``roles`` that is not a
list, a malformed email or two ``work`` emails — and every later GET would serve a resource that a
SCIM client (scim2-models, Entra) cannot read. The rendered resource is validated with scim2-models,
the library the console itself parses SCIM with, so "stored" and "readable" cannot drift apart.

Custom extensions (``urn:…:extension:<Name>:2.0:User``, which Entra sends without listing them in
``schemas``) are kept as sent and only checked to be objects; scim2-models knows only the core and
enterprise schemas. ``type`` values must be unique per multi-valued contact attribute ("no two work
emails", entra-facts §1.3); ``roles`` may repeat a type (Entra's role assignments all share one).
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError
from scim2_models import Context, EnterpriseUser
from scim2_models import Group as ScimGroup
from scim2_models import User as ScimUser

from console.sandbox.scim_resources import ENTERPRISE_SCHEMA, GROUP_SCHEMA, USER_SCHEMA, ScimError
from console.sandbox.users_ops import is_valid_email

_USER_MODEL = ScimUser[EnterpriseUser]
_USER_URNS = {USER_SCHEMA.lower(), ENTERPRISE_SCHEMA.lower()}
_GROUP_URNS = {GROUP_SCHEMA.lower()}
_TYPED = ("emails", "phoneNumbers", "addresses", "ims", "photos")


def _known_only(resource: dict[str, Any], known: set[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in resource.items():
        if key.lower().startswith("urn:") and key.lower() not in known:
            if not isinstance(value, dict):
                raise ScimError(400, "invalidValue", f"extension '{key}' must be an object")
            continue
        out[key] = value
    out["schemas"] = [s for s in resource.get("schemas", []) if isinstance(s, str) and s.lower() in known]
    return out


def _describe(exc: ValidationError) -> str:
    first = exc.errors()[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in first.get("loc", ())).lstrip(".")
    return f"{where or 'resource'}: {first.get('msg', 'invalid value')}"


def _validate(model: Any, resource: dict[str, Any]) -> None:
    try:
        model.model_validate(resource, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    except ValidationError as exc:
        raise ScimError(400, "invalidValue", _describe(exc)) from None


# What the model sees instead of each email address, once the sandbox's own rule accepted it.
_STAND_IN = "checked@example.com"


def _emails_checked(resource: dict[str, Any]) -> dict[str, Any]:
    """Check email addresses with the platform's own rule and hide them from the model.

    scim2-models validates addresses with ``email-validator``, which refuses special-use domains
    (``.invalid``, ``.test``). The platform itself writes ``released+…@….invalid`` placeholders
    (``users_ops.release_email``), so the model's rule would make every later SCIM write of a
    released account fail — one rule for addresses, the platform's, decides here."""
    entries = resource.get("emails")
    if not isinstance(entries, list):
        return resource
    shown = []
    for i, entry in enumerate(entries):
        if isinstance(entry, dict) and isinstance(entry.get("value"), str):
            if not is_valid_email(entry["value"]):
                raise ScimError(400, "invalidValue",
                                f"emails[{i}].value: value is not a valid email address")
            entry = {**entry, "value": _STAND_IN}
        shown.append(entry)
    return {**resource, "emails": shown}


def check_user_resource(resource: dict[str, Any]) -> None:
    """400 ``invalidValue`` unless ``resource`` (a rendered User) is valid SCIM."""
    _validate(_USER_MODEL, _known_only(_emails_checked(resource), _USER_URNS))
    for attr in _TYPED:
        entries = resource.get(attr)
        if not isinstance(entries, list):
            continue
        types = [e["type"].casefold() for e in entries
                 if isinstance(e, dict) and isinstance(e.get("type"), str)]
        duplicate = next((t for t in types if types.count(t) > 1), None)
        if duplicate is not None:
            raise ScimError(400, "invalidValue", f"{attr}: more than one value of type '{duplicate}'")


def check_group_resource(resource: dict[str, Any]) -> None:
    """400 ``invalidValue`` unless ``resource`` (a rendered Group) is valid SCIM."""
    _validate(ScimGroup, _known_only(resource, _GROUP_URNS))
