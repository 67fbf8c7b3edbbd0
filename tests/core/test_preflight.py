"""Pre-flight duplicate prediction: parsing the Entra users export and the prediction rules
(checked against the Entra simulator in tests/services/test_scim_setup_preflight.py)."""

from __future__ import annotations

import pytest

from console.core.models import Email, PlatformUser
from console.core.preflight import (
    DUPLICATE,
    MATCH,
    NEW,
    EntraUser,
    ExportFormatError,
    counts,
    parse_entra_users_csv,
    predict,
)

ENTRA_HEADER = ("userPrincipalName,displayName,surname,mail,givenName,objectId,userType,jobTitle,"
                "department,accountEnabled,usageLocation,streetAddress,state,country,officeLocation,city,"
                "postalCode,telephoneNumber,mobilePhone,alternateEmailAddress,ageGroup,consentProvidedForMinor,"
                "legalAgeGroupClassification,companyName,creationType,directorySynced,invitationState,"
                "identityIssuer,createdDateTime")


def export(rows: list[tuple[str, str, str, str, bool]], *, bom: bool = True) -> bytes:
    lines = [ENTRA_HEADER]
    for upn, name, mail, oid, enabled in rows:
        lines.append(f'{upn},"{name}",X,{mail},Y,{oid},Member,,,{str(enabled).upper()}' + "," * 19)
    return (("\ufeff" if bom else "") + "\r\n".join(lines) + "\r\n").encode("utf-8")


def pu(uid: str, user_name: str, email: str | None, *, active: bool = True) -> PlatformUser:
    emails = (Email(email, "work", True),) if email else ()
    return PlatformUser(uid, user_name, None, email, emails, active, "manual", 1)


def test_parses_the_entra_download_with_bom_quotes_and_extra_columns() -> None:
    rows = [("a@x.onmicrosoft.com", "Doe, Ann", "ann@x.com", "o1", True), ("", "No UPN", "", "o2", True),
            ("b@x.com", "Bo", "", "o3", False)]
    users, warnings = parse_entra_users_csv(export(rows))
    assert users == [EntraUser("a@x.onmicrosoft.com", "Doe, Ann", "ann@x.com", "o1", True),
                     EntraUser("b@x.com", "Bo", "", "o3", False)]
    assert warnings == ["line 3: no userPrincipalName, skipped"]


def test_tolerant_headers_semicolons_and_errors() -> None:
    text = "User Principal Name;Mail;Object ID;Block credential\nA@X.com;a@x.com;o;true\n"
    users, _ = parse_entra_users_csv(text)
    assert users == [EntraUser("A@X.com", "", "a@x.com", "o", False)]
    with pytest.raises(ExportFormatError, match="userPrincipalName"):
        parse_entra_users_csv(b"name,email\nA,a@x.com\n")
    # Excel's "CSV (Comma delimited)" is Windows-1252: read, with the log importer's warning
    users, warnings = parse_entra_users_csv("userPrincipalName\nj\u00f6rg@x.com\n".encode("cp1252"))
    assert [u.upn for u in users] == ["j\u00f6rg@x.com"]
    assert len(warnings) == 1
    assert "read as Windows-1252" in warnings[0]
    with pytest.raises(ExportFormatError, match="not valid UTF-8 with BOM"):
        parse_entra_users_csv(b"\xef\xbb\xbfuserPrincipalName\nj\xf6rg@x.com\n")
    with pytest.raises(ExportFormatError, match="empty"):
        parse_entra_users_csv(b"")


def test_predicts_match_new_and_duplicate() -> None:
    platform = [pu("p1", "ann@x.com", "ann@x.com"), pu("p2", "bob@x.com", "bob@x.com"),
                pu("p3", "old@x.com", "Cy@X.com", active=False)]
    entra = [EntraUser("ANN@x.com", mail="ann@x.com"),           # case-insensitive userName match
             EntraUser("bjones@x.onmicrosoft.com", mail="bob@x.com"),  # mail on an account: twin
             EntraUser("cy@x.com", mail=""),                      # UPN is an inactive account's email
             EntraUser("dee@x.com", mail="dee@x.com")]
    result = predict(entra, platform)
    assert [(p.outcome, p.platform_user_id) for p in result] == [
        (MATCH, "p1"), (DUPLICATE, "p2"), (DUPLICATE, "p3"), (NEW, None)]
    assert "bjones@x.onmicrosoft.com" in result[1].fix
    assert "objectId → externalId" in result[1].fix
    assert counts(result) == {MATCH: 1, NEW: 1, DUPLICATE: 2}
