"""The SCIM door: what a User create/replace/update must satisfy before the platform does any work.

Why (docs/duplicates.md §2): duplicates and account take-overs enter through ``POST /Users``.

* Identity strings (``userName``, ``emails[].value``, ``externalId``) are NFC-normalised, and a
  control, format (zero-width, BOM, bidi) or separator character in ``userName``/emails is refused
  with 400 ``invalidValue`` naming the character: ``z\\u200bw`` and ``zw`` must not be two people.
* Every string value is bounded (:data:`LIMITS`; ServiceProviderConfig's ``documentationUri``
  points at them, :data:`LIMITS_DOC`): a 50 MB ``displayName`` is answered 400 before any query.
* The externalId re-link (Entra re-POSTing a user renamed after ``resetScope: Full``) applies only
  when the existing account is plausibly the same person (:func:`relink_reason`); otherwise the
  POST is a 409 ``uniqueness`` whose detail names the account it would have taken over.
"""

from __future__ import annotations

from typing import Any

from console.core.identity import fold_name, invisible_chars, nfc
from console.sandbox.scim_resources import ScimError

LIMITS_DOC = "https://example.invalid/docs/scim#value-limits"  # README "The SCIM door"
LIMITS: dict[str, int] = {
    "userNameMaxLength": 320,        # the users.user_name column; an address is at most 320 too
    "externalIdMaxLength": 320,
    "emailMaxLength": 320,
    "stringValueMaxLength": 4096,    # any other string value (displayName, title, extensions …)
    "multiValueMaxItems": 100,       # entries of one multi-valued attribute (emails, roles …)
}


def _too_long(where: str, value: str, limit: int) -> ScimError:
    return ScimError(400, "invalidValue",
                     f"'{where}' is {len(value):,} characters long; at most {limit:,} are accepted "
                     f"(see {LIMITS_DOC})")


def _identity(where: str, value: str, limit: int, *, strict: bool) -> str:
    value = nfc(value)
    if len(value) > limit:
        raise _too_long(where, value, limit)
    if strict:
        bad = invisible_chars(value)
        if bad:
            shown = ", ".join(f"{label} at position {pos}" for pos, label in bad[:3])
            raise ScimError(400, "invalidValue",
                            f"'{where}' contains an invisible or control character ({shown}); "
                            "such identities look like another account's")
    return value


def _check_sizes(where: str, value: Any) -> None:
    if isinstance(value, str):
        if len(value) > LIMITS["stringValueMaxLength"]:
            raise _too_long(where, value, LIMITS["stringValueMaxLength"])
    elif isinstance(value, list):
        if len(value) > LIMITS["multiValueMaxItems"]:
            raise ScimError(400, "invalidValue", f"'{where}' has {len(value):,} values; at most "
                                                 f"{LIMITS['multiValueMaxItems']} are accepted")
        for item in value:
            _check_sizes(where, item)
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_sizes(f"{where}.{key}" if where else str(key), item)


def check_user_document(doc: dict[str, Any]) -> dict[str, Any]:
    """``doc`` (canonical keys, see ``normalise_document``) with identity strings NFC-normalised;
    400 ``invalidValue`` for an invisible character or a value over :data:`LIMITS`."""
    out = dict(doc)
    if isinstance(out.get("userName"), str):
        out["userName"] = _identity("userName", out["userName"], LIMITS["userNameMaxLength"], strict=True)
    if isinstance(out.get("externalId"), str):
        out["externalId"] = _identity("externalId", out["externalId"], LIMITS["externalIdMaxLength"],
                                      strict=False)
    emails = out.get("emails")
    if isinstance(emails, list):
        fixed = []
        for i, entry in enumerate(emails):
            if isinstance(entry, dict) and isinstance(entry.get("value"), str):
                entry = {**entry, "value": _identity(f"emails[{i}].value", entry["value"],
                                                     LIMITS["emailMaxLength"], strict=True)}
            fixed.append(entry)
        out["emails"] = fixed
    for key, value in out.items():
        if key not in ("userName", "externalId"):
            _check_sizes(key, value)
    return out


def _doc_names(doc: dict[str, Any]) -> tuple[str, str]:
    name = doc.get("name") if isinstance(doc.get("name"), dict) else {}
    display = doc.get("displayName") if isinstance(doc.get("displayName"), str) else ""
    given = name.get("givenName") if isinstance(name.get("givenName"), str) else ""
    family = name.get("familyName") if isinstance(name.get("familyName"), str) else ""
    return fold_name(display), fold_name(f"{given} {family}")


def _doc_emails(doc: dict[str, Any]) -> set[str]:
    emails = doc.get("emails") if isinstance(doc.get("emails"), list) else []
    return {nfc(e["value"]).casefold() for e in emails
            if isinstance(e, dict) and isinstance(e.get("value"), str)}


def relink_reason(*, active: bool, display_name: str | None, given_name: str | None,
                  family_name: str | None, emails: list[str], doc: dict[str, Any]) -> str | None:
    """Why the account that holds the POST's externalId is plausibly the person in ``doc``, or None.

    Plausible = the account is inactive (a soft-deleted user coming back), or its display name or
    given+family name equals the request's (accent- and case-folded), or they share an email.
    Without one of these an externalId alone would let any POST rename someone else's account."""
    if not active:
        return "the account is inactive"
    display, full = _doc_names(doc)
    have_display = fold_name(display_name)
    have_full = fold_name(f"{given_name or ''} {family_name or ''}")
    if display and display in (have_display, have_full):
        return "the display name agrees"
    if full and full in (have_full, have_display):
        return "the given and family names agree"
    shared = _doc_emails(doc) & {nfc(e).casefold() for e in emails}
    if shared:
        return f"the email {sorted(shared)[0]} agrees"
    return None
