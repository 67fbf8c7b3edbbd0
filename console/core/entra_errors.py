"""Entra provisioning error codes explained, and the error text parsed (entra-facts §2.4–2.5, pure).

Apps prefix some codes with their name (``ContosoEntryConflict``), so lookup also tries the known
codes as suffixes. Codes not in the table are reported as unknown — never guessed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Explanation:
    code: str
    known: bool
    meaning: str
    cause: str
    fix: str
    duplicate_related: bool = False  # the Reconciliation page can help (EntryConflict, InvalidAnchor…)


_T = tuple[str, str, str]
_AUTHZ: _T = (
    "The platform authenticated Entra's token but refused the operation.",
    "The token's role or the org's plan does not allow this request.",
    "Check the SCIM token is the org's current one and the org may use SCIM provisioning.",
)
_RETRY: _T = (
    "The platform failed or timed out; Entra retries automatically (for about 40 minutes).",
    "A server error, timeout or network problem on the platform side.",
    "Check the platform's own provisioning log for 5xx at that time; usually resolves on retry.",
)
_UNEXPECTED: _T = (
    "The platform answered something Entra did not expect.",
    "An unsupported request or a response that breaks Entra's SCIM profile.",
    "Look at the HTTP status and SCIM error below; compare with the platform log of the request.",
)
_SCHEMA: _T = (
    "An attribute mapping targets an attribute the platform does not have, or sends several values "
    "to a single-valued one.",
    "Attribute mappings in the Entra app were customised.",
    "Remove or fix the mapping in Entra → Provisioning → Attribute mappings.",
)
_MISSING: _T = (
    "Required values are missing in the source user.",
    "The user has no value for a mapped required attribute (often mail/userPrincipalName).",
    "Fill the attribute in Entra or change the mapping, then provision on demand.",
)
_CROSS: _T = (
    "Cross-tenant synchronisation only; not produced by an outbound SCIM app.",
    "This log is from a cross-tenant sync job.",
    "Handle in the target tenant's B2B settings.",
)
_TABLE: dict[str, tuple[str, str, str, bool]] = {
    "EntryConflict": (
        "The platform returned 409: the values conflict with an existing user.",
        "A platform account already uses this userName/email (often a manual account that should "
        "have been matched, or a twin under another email).",
        "Open the person on the Reconciliation page; merge or release the email, or fix the "
        "matching attribute, then retry.",
        True,
    ),
    "Conflict": (
        "The platform returned 409 (conflict).",
        "Conflicting values or an unmatched existing account.",
        "Review matching attributes; check the Reconciliation page for this person.",
        True,
    ),
    "DuplicateTargetEntries": (
        "More than one platform user matched the matching attributes.",
        "Duplicate accounts on the platform share the matching value.",
        "Merge or remove the duplicate on the Reconciliation page.",
        True,
    ),
    "DuplicateSourceEntries": (
        "More than one Entra user has the same matching value.",
        "Two source users share e.g. the same mail.",
        "Fix the duplicate value in Entra.",
        False,
    ),
    "ImportSkipped": (
        "The source user lacks the matching attribute value.",
        "The matching attribute (e.g. userPrincipalName) is empty in Entra.",
        "Fill the attribute in Entra.",
        False,
    ),
    "EntrySynchronizationSkipped": (
        "Nothing to do: out of scope or nothing changed.",
        "The user is not assigned/in scope, or already up to date.",
        "None needed unless the user should be provisioned: assign them.",
        False,
    ),
    "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse": (
        "A GET expected one resource and received several.",
        "The platform's filter returned more than one user (or members despite excludedAttributes).",
        "Check duplicates for the filtered value and the platform's filter handling.",
        True,
    ),
    "SystemForCrossDomainIdentityManagementServiceIncompatible": (
        "Entra could not understand the platform's response (unexpected status or body).",
        "A 400/404 where Entra expected success, or a body not following SCIM.",
        "Read the SCIM error JSON below; compare with the platform log entry of that request.",
        False,
    ),
    "SystemForCrossDomainIdentityManagementServiceIncompatibleFiltering": (
        "Entra's filtered lookup or PATCH got an incompatible answer (seen with 409 on PATCH).",
        "Filtering or extension attributes not handled as Entra expects.",
        "Check the filtered attribute and the PATCH in the platform log.",
        True,
    ),
    "SystemForCrossDomainIdentityManagementCredentialValidationFailure": (
        "The SCIM token was refused; Entra puts the job in quarantine.",
        "The token is invalid, expired or revoked.",
        "Mint a new SCIM token, send it securely, and have the admin update it in Entra.",
        False,
    ),
    "TooManyRequests": (
        "The platform rate-limited Entra (429); retried automatically.",
        "Bursts from a big initial cycle.",
        "None usually; check Retry-After handling.",
        False,
    ),
    "InternalServerError": (*_RETRY, False),
    "WebExceptionProtocolError": (*_RETRY, False),
    "Timeout": (*_RETRY, False),
    "InternalError": (*_RETRY, False),
    "InsufficientRights": (*_AUTHZ, False),
    "MethodNotAllowed": (*_AUTHZ, False),
    "NotPermitted": (*_AUTHZ, False),
    "Unauthorized": (*_AUTHZ, False),
    "UnprocessableEntity": (*_UNEXPECTED, False),
    "NotImplemented": (*_UNEXPECTED, False),
    "InvalidAnchor": (
        "The platform user Entra created or matched earlier no longer exists.",
        "The account was deleted or merged on the platform, so Entra's cached id answers 404.",
        "Check the person on the Reconciliation page; restart the job in Entra to re-match.",
        True,
    ),
    "MandatoryFieldsMissing": (*_MISSING, False),
    "MissingValues": (*_MISSING, False),
    "SchemaAttributeNotFound": (*_SCHEMA, False),
    "SchemaPropertyCanOnlyAcceptValue": (*_SCHEMA, False),
    "InvalidDomain": (
        "The email domain is not allowed on the platform org.",
        "The user's domain is not one of the org's domains.",
        "Add the domain to the org or fix the user's email.",
        False,
    ),
    "LicenseLimitExceeded": (
        "No licences/seats left in the platform org.",
        "The org's seat limit is reached.",
        "Free seats or raise the limit.",
        False,
    ),
    "AzureActiveDirectoryCannotUpdateObjectsOriginatedInExternalService": (
        "Entra as a target refused to update Mail/showInAddressList (source of authority).",
        "Cross-tenant/inbound provisioning only.",
        "Not produced by an outbound SCIM app; check the job type.",
        False,
    ),
    "AzureDirectoryB2BManagementPolicyCheckFailure": (*_CROSS, False),
    "AzureDirectoryB2BManagementQuotaLimitExceeded": (*_CROSS, False),
    "InvitationCreationFailure": (*_CROSS, False),
    "NotEffectivelyEntitled": (
        "Skipped: the user is not effectively assigned to the app (or is disabled).",
        "No assignment, a broken assignment record, or a disabled account.",
        "Assign the user (unassign and reassign if it looks assigned).",
        False,
    ),
    "RedundantExport": (
        "Skipped: the platform already has these values.",
        "Nothing changed.",
        "None needed.",
        False,
    ),
}
# The platform's own log carries SCIM ``scimType`` values (RFC 7644 §3.12) as error codes.
_SCIM: dict[str, tuple[str, str, str, bool]] = {
    "uniqueness": (
        "SCIM 409 uniqueness: the userName/email/externalId is already taken on the platform.",
        "A manual account or a SCIM twin already holds the value Entra sent.",
        "Open the person on the Reconciliation page; merge or release the email.",
        True,
    ),
    "invalidAnchor": (
        "The SCIM id Entra cached for this user answers 404.",
        "The platform user was deleted or merged after Entra linked it.",
        "Check the person on the Reconciliation page; restart provisioning to re-match.",
        True,
    ),
    "invalidValue": (
        "SCIM 400: a value was missing or not acceptable.",
        "A required attribute is empty or malformed in the request.",
        "Compare the request with the attribute mappings.",
        False,
    ),
    "invalidSyntax": (
        "SCIM 400: the request body could not be parsed.",
        "Malformed JSON or schema.",
        "Look at the request in the platform log.",
        False,
    ),
    "invalidFilter": (
        "SCIM 400: the filter is not supported.",
        "An unsupported filter expression.",
        "Check which attribute Entra filters on (matching attribute).",
        False,
    ),
    "invalidPath": (
        "SCIM 400: a PATCH path is not valid.",
        "A mapping to an attribute the platform lacks.",
        "Fix the attribute mapping in Entra.",
        False,
    ),
    "noTarget": (
        "SCIM 400: the PATCH path matched nothing.",
        "Filter in the path matched no value.",
        "Check the PATCH operation in the platform log.",
        False,
    ),
    "mutability": (
        "SCIM 400: an immutable or read-only attribute was changed.",
        "A mapping writes a read-only attribute (e.g. id).",
        "Remove that mapping.",
        False,
    ),
    "tooMany": (
        "SCIM 400: too many results for the query.",
        "An unfiltered or broad list request.",
        "None usually; it is Entra's query.",
        False,
    ),
}
_TABLE.update(_SCIM)
KNOWN_CODES = frozenset(_TABLE)
_LOWER = {k.lower(): k for k in _TABLE}


def explain(code: str | None) -> Explanation:
    """Meaning, likely cause and fix of an error code; unknown codes say so."""
    code = (code or "").strip()
    entry = _TABLE.get(code) or _TABLE.get(_LOWER.get(code.lower(), ""))
    if entry is None and code:
        # App-prefixed variants (``ContosoEntryConflict``, ``…B2BManagementQuotaLimitExceeded…``)
        for known in sorted(_TABLE, key=len, reverse=True):
            if (
                code.endswith(known)
                or (known.startswith("Azure") and code.startswith(known))
                or (known == "InvitationCreationFailure" and code.startswith(known))
            ):
                entry = _TABLE[known]
                break
    if entry is None:
        return Explanation(
            code=code or "(none)",
            known=False,
            meaning="Unknown error code.",
            cause="Not in Microsoft's published error table (which is incomplete).",
            fix="Read the error text and the HTTP status below; search the code in Microsoft Q&A.",
        )
    meaning, cause, fix, dup = entry
    return Explanation(code=code, known=True, meaning=meaning, cause=cause, fix=fix, duplicate_related=dup)


@dataclass(frozen=True)
class ParsedError:
    """The parts of Entra's error text (§2.4)."""

    code: str | None = None
    status_word: str | None = None  # "BadRequest"
    http_status: int | None = None  # from the SCIM error's "status" or the status word
    message: str | None = None
    scim_error: dict[str, Any] | None = None
    retry_count: int | None = None
    next_retry: str | None = None


_WORDS = {
    "BadRequest": 400,
    "Unauthorized": 401,
    "Forbidden": 403,
    "NotFound": 404,
    "MethodNotAllowed": 405,
    "Conflict": 409,
    "PreconditionFailed": 412,
    "RequestEntityTooLarge": 413,
    "TooManyRequests": 429,
    "InternalServerError": 500,
    "NotImplemented": 501,
    "BadGateway": 502,
    "ServiceUnavailable": 503,
    "GatewayTimeout": 504,
}
_CODE = re.compile(r"Error code:\s*([A-Za-z0-9_.]+)")
_STATUS = re.compile(r"StatusCode:\s*([A-Za-z]+|\d{3})")
_MESSAGE = re.compile(r"Message:\s*(.*?)(?:\s*Web Response:|\s*This operation was retried|$)", re.S)
_RETRIED = re.compile(r"retried\s+(\d+)\s+times")
_NEXT = re.compile(r"retried again after this date:\s*([0-9T:\-.+Z]+)")
_HTTP_IN_TEXT = re.compile(r"HTTP status code (\d{3})")


def parse_error_text(text: str | None) -> ParsedError:
    """Extract code, HTTP status, the SCIM error JSON after "Web Response:", retries and next retry time.

    Tolerant: any part may be missing; malformed JSON leaves ``scim_error`` None."""
    if not text:
        return ParsedError()
    code = m.group(1) if (m := _CODE.search(text)) else None
    word = m.group(1) if (m := _STATUS.search(text)) else None
    http = int(word) if word and word.isdigit() else _WORDS.get(word or "")
    message = m.group(1).strip() if (m := _MESSAGE.search(text)) else None
    scim = None
    idx = text.find("Web Response:")
    if idx >= 0:
        start = text.find("{", idx)
        if start >= 0:
            try:
                value, _end = json.JSONDecoder().raw_decode(text, start)
                if isinstance(value, dict):
                    scim = value
            except (ValueError, RecursionError):
                scim = None
    if scim and str(scim.get("status", "")).isdigit():
        http = int(scim["status"])
    if http is None and (m := _HTTP_IN_TEXT.search(text)):
        http = int(m.group(1))
    retries = int(m.group(1)) if (m := _RETRIED.search(text)) else None
    nxt = m.group(1) if (m := _NEXT.search(text)) else None
    return ParsedError(
        code=code,
        status_word=word,
        http_status=http,
        message=message,
        scim_error=scim,
        retry_count=retries,
        next_retry=nxt,
    )


# Letters of any script (``\w`` on str): an accented address is named whole, not from its last
# ASCII run; quotes, ``=``, ``:`` and brackets around it in the text are not part of it.
_EMAIL = re.compile(r"[\w.%+'-]+@[\w-]+(?:\.[\w-]+)+")


def emails_in(text: str | None) -> list[str]:
    """Email addresses named in an error text (in order, without duplicates or a trailing dot)."""
    return list(dict.fromkeys(m.rstrip(".") for m in _EMAIL.findall(text or "")))


def reconciliation_target(event: dict[str, Any]) -> dict[str, Any] | None:
    """What the Reconciliation page needs to open the person an event is about, or None.

    For the duplicate/mismatch causes (EntryConflict, DuplicateTargetEntries, InvalidAnchor and the
    other codes marked ``duplicate_related``) and for any 409 whose text names an email (entra-facts
    §3): the UPN (or the email from the text), the platform id and the Entra object id."""
    reason = event.get("error_reason")
    parsed = parse_error_text(reason)
    code = event.get("error_code") or parsed.code
    http = event.get("http_status") or parsed.http_status
    emails = emails_in(reason)
    if not (explain(code).duplicate_related if code else False) and not (http == 409 and emails):
        return None
    upn = event.get("source_upn") or (emails[0] if emails else None)
    return {
        "upn": upn,
        "email": emails[0] if emails else upn,
        "target_id": event.get("target_id"),
        "source_id": event.get("source_id"),
        "error_code": code,
    }
