"""Error codes explained (entra-facts §2.5) and the error text parsed (§2.4)."""

from __future__ import annotations

import pytest

from console.core.entra_errors import KNOWN_CODES, emails_in, explain, parse_error_text

DOC_CODES = [
    "Conflict",
    "EntryConflict",
    "DuplicateTargetEntries",
    "DuplicateSourceEntries",
    "ImportSkipped",
    "EntrySynchronizationSkipped",
    "SystemForCrossDomainIdentityManagementMultipleEntriesInResponse",
    "SystemForCrossDomainIdentityManagementServiceIncompatible",
    "SystemForCrossDomainIdentityManagementServiceIncompatibleFiltering",
    "SystemForCrossDomainIdentityManagementCredentialValidationFailure",
    "TooManyRequests",
    "InternalServerError",
    "WebExceptionProtocolError",
    "Timeout",
    "InternalError",
    "InsufficientRights",
    "MethodNotAllowed",
    "NotPermitted",
    "Unauthorized",
    "UnprocessableEntity",
    "NotImplemented",
    "InvalidAnchor",
    "MandatoryFieldsMissing",
    "MissingValues",
    "SchemaAttributeNotFound",
    "SchemaPropertyCanOnlyAcceptValue",
    "InvalidDomain",
    "LicenseLimitExceeded",
    "AzureActiveDirectoryCannotUpdateObjectsOriginatedInExternalService",
    "AzureDirectoryB2BManagementPolicyCheckFailure",
    "NotEffectivelyEntitled",
    "RedundantExport",
]


@pytest.mark.parametrize("code", DOC_CODES)
def test_every_documented_code_is_explained(code: str) -> None:
    ex = explain(code)
    assert ex.known
    assert ex.code == code
    assert ex.meaning
    assert ex.cause
    assert ex.fix
    assert code in KNOWN_CODES


def test_app_prefixed_and_variant_codes() -> None:
    assert explain("ContosoEntryConflict").known
    assert explain("ContosoEntryConflict").duplicate_related
    assert explain("AzureDirectoryB2BManagementQuotaLimitExceededForTenant").known
    assert explain("InvitationCreationFailureInvalidPropertyValue").known


def test_platform_scim_types_are_explained() -> None:
    assert explain("uniqueness").known
    assert explain("uniqueness").duplicate_related
    assert explain("invalidAnchor").duplicate_related
    assert explain("invalidValue").known


@pytest.mark.parametrize("code", ["", None, "TotallyNewCode", "entryconflictx"])
def test_unknown_codes_are_shown_as_unknown(code: str | None) -> None:
    ex = explain(code)
    assert not ex.known
    assert "Unknown" in ex.meaning


def test_duplicate_related_codes_point_to_reconciliation() -> None:
    for code in ("EntryConflict", "DuplicateTargetEntries", "InvalidAnchor"):
        assert explain(code).duplicate_related
    assert not explain("TooManyRequests").duplicate_related



@pytest.mark.parametrize(("text", "found"), [
    ("userName bob.o'neil@x.co.uk is taken", ["bob.o'neil@x.co.uk"]),
    ("mail=ana@contoso.com conflicts", ["ana@contoso.com"]),
    ("José.García@Contoso.com. already exists", ["José.García@Contoso.com"]),  # whole, not "a@Contoso.com"
    ('{"detail":"<b_c@d-e.org> and b_c@d-e.org"}', ["b_c@d-e.org"]),
    ("no address @ here, nor x@y", []),
])
def test_emails_in_error_text_whole_and_once(text: str, found: list[str]) -> None:
    """The logs page and the reconcile engine both read the addresses of a conflict with this."""
    assert emails_in(text) == found

SAMPLE = (
    "Error code: SystemForCrossDomainIdentityManagementServiceIncompatible\n"
    "Error message: StatusCode: BadRequest Message: Processing of the HTTP request resulted in an "
    "exception.\n"
    "Please see the HTTP response returned by the 'Response' property of this exception for details.\n"
    'Web Response: {"scimType":"invalidSyntax","detail":"x {y}","schemas":'
    '["urn:ietf:params:scim:api:messages:2.0:Error"],"status":"400"}.\n'
    "This operation was retried 0 times. It will be retried again after this date: "
    "2026-01-27T21:49:50.5340673Z UTC"
)


def test_parse_documented_error_text() -> None:
    p = parse_error_text(SAMPLE)
    assert p.code == "SystemForCrossDomainIdentityManagementServiceIncompatible"
    assert p.status_word == "BadRequest"
    assert p.http_status == 400
    assert p.scim_error == {
        "scimType": "invalidSyntax",
        "detail": "x {y}",
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": "400",
    }
    assert p.retry_count == 0
    assert p.next_retry == "2026-01-27T21:49:50.5340673Z"
    assert p.message
    assert p.message.startswith("Processing of the HTTP request")


def test_scim_status_wins_and_partial_texts() -> None:
    p = parse_error_text('StatusCode: Conflict Web Response: {"status":"409","scimType":"uniqueness"}')
    assert p.http_status == 409
    assert p.scim_error["scimType"] == "uniqueness"
    assert p.retry_count is None
    assert parse_error_text("Web Response: {broken json").scim_error is None
    assert parse_error_text("returned an error response with the HTTP status code 403.").http_status == 403
    assert parse_error_text(None).code is None
    assert parse_error_text("").http_status is None
    assert parse_error_text("Web Response: " + "[" * 100000).scim_error is None
