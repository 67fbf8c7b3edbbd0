"""The SCIM door over real HTTP: 409 for an existing userName, a re-link only for the same person,
NFC identities, invisible characters refused, value bounds advertised and enforced."""

from __future__ import annotations

import unicodedata
from typing import Any

import pytest
from sqlalchemy import select

from console.sandbox.db import ProvisioningEvent, User
from console.sandbox.scim_door import LIMITS, LIMITS_DOC
from tests.sandbox.scim_helpers import (
    ScimOrg,
    assert_scim_error,
    module_server_and_org,
    user_body,
)

server, org = module_server_and_org("scim-door")


def _person(user_name: str, given: str, family: str, **kw: Any) -> dict[str, Any]:
    body = user_body(user_name, **kw)
    body["name"] = {"givenName": given, "familyName": family}
    body["displayName"] = f"{given} {family}"
    return body


def _users(org: ScimOrg) -> list[User]:
    with org.session() as s:
        return list(s.scalars(select(User).where(User.org_id == org.org_id).order_by(User.created_at)).all())


def _last_event(org: ScimOrg) -> ProvisioningEvent:
    """The org's last POST in the provisioning log."""
    with org.session() as s:
        event = s.scalars(select(ProvisioningEvent).where(ProvisioningEvent.org_id == org.org_id,
                                                          ProvisioningEvent.method == "POST")
                          .order_by(ProvisioningEvent.id.desc())).first()
        assert event is not None
        s.expunge(event)
        return event


def test_an_externalid_alone_does_not_take_over_another_persons_account(org: ScimOrg) -> None:
    alice = org.client.post("/Users", json=_person("alice@contoso.com", "Alice", "Smith",
                                                   external_id="jsmith", email="alice@contoso.com"))
    assert alice.status_code == 201
    bob = org.client.post("/Users", json=_person("bob@contoso.com", "Bob", "Jones",
                                                 external_id="jsmith", email="bob@contoso.com"))
    body = assert_scim_error(bob, 409, scim_type="uniqueness")
    assert "externalId 'jsmith' already belongs to the active account 'alice@contoso.com'" in body["detail"]
    assert alice.json()["id"] in body["detail"]
    after = org.client.get(f"/Users/{alice.json()['id']}").json()
    assert after["userName"] == "alice@contoso.com"
    assert after["displayName"] == "Alice Smith"
    assert [e["value"] for e in after["emails"]] == ["alice@contoso.com"]
    assert [u.user_name for u in _users(org)] == ["alice@contoso.com"]
    event = _last_event(org)  # the refusal is in the provisioning log, for the console to show
    assert (event.status, event.error_code, event.user_name) == (409, "uniqueness", "bob@contoso.com")
    assert event.error_detail is not None
    assert "alice@contoso.com" in event.error_detail
    assert event.op_summary == "POST userName=bob@contoso.com (refused: externalId held by alice@contoso.com)"


def test_the_bare_alice_bob_posts_of_the_issue(org: ScimOrg) -> None:
    first = org.client.post("/Users", json={"userName": "alice@contoso.com", "externalId": "jsmith"})
    assert first.status_code == 201
    second = org.client.post("/Users", json={"userName": "bob@contoso.com", "externalId": "jsmith"})
    assert_scim_error(second, 409, scim_type="uniqueness")
    assert org.client.get(f"/Users/{first.json()['id']}").json()["userName"] == "alice@contoso.com"


def test_re_posting_an_existing_user_is_409_uniqueness(org: ScimOrg) -> None:
    body = _person("Jane.Doe@contoso.com", "Jane", "Doe", external_id="obj-1", email="jane.doe@contoso.com")
    assert org.client.post("/Users", json=body).status_code == 201
    again = org.client.post("/Users", json={**body, "userName": "jane.doe@CONTOSO.com"})
    detail = assert_scim_error(again, 409, scim_type="uniqueness")["detail"]
    assert detail == "userName 'jane.doe@CONTOSO.com' is already taken in this organisation"
    assert len(_users(org)) == 1


def test_user_name_uniqueness_is_nfc(org: ScimOrg) -> None:
    composed = "lucía@contoso.com"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    created = org.client.post("/Users", json=user_body(decomposed, email=decomposed))
    assert created.status_code == 201
    assert created.json()["userName"] == composed  # stored in its NFC spelling
    assert created.json()["emails"][0]["value"] == composed
    assert_scim_error(org.client.post("/Users", json=user_body(composed)), 409, scim_type="uniqueness")
    found = org.client.get("/Users", params={"filter": f'userName eq "{decomposed}"'}).json()
    assert found["totalResults"] == 1


@pytest.mark.parametrize(("user_name", "shown"), [
    ("z\u200bw@contoso.com", "U+200B ZERO WIDTH SPACE at position 1"),
    ("nul\x00@contoso.com", "U+0000 NULL at position 3"),
    ("bom\ufeff@contoso.com", "U+FEFF ZERO WIDTH NO-BREAK SPACE at position 3"),
    ("rtl\u202e@contoso.com", "U+202E RIGHT-TO-LEFT OVERRIDE at position 3"),
    ("tab\t@contoso.com", "U+0009 <Cc> at position 3"),
])
def test_invisible_characters_in_user_name_are_400(org: ScimOrg, user_name: str, shown: str) -> None:
    r = org.client.post("/Users", json=user_body(user_name))
    body = assert_scim_error(r, 400, scim_type="invalidValue")
    assert body["detail"] == (f"'userName' contains an invisible or control character ({shown}); "
                              "such identities look like another account's")
    assert _users(org) == []


def test_invisible_characters_in_emails_are_400_on_post_put_and_patch(org: ScimOrg) -> None:
    bad = "a\u200d@contoso.com"
    r = org.client.post("/Users", json=user_body("zw@contoso.com", email=bad))
    detail = assert_scim_error(r, 400, scim_type="invalidValue")["detail"]
    assert "'emails[0].value' contains an invisible" in detail
    created = org.client.post("/Users", json=user_body("zw@contoso.com", email="zw@contoso.com")).json()
    put = org.client.put(f"/Users/{created['id']}", json=user_body("zw@contoso.com", email=bad))
    assert_scim_error(put, 400, scim_type="invalidValue")
    patch = org.client.patch(f"/Users/{created['id']}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": 'emails[type eq "work"].value', "value": bad}]})
    assert_scim_error(patch, 400, scim_type="invalidValue")
    renamed = org.client.patch(f"/Users/{created['id']}", json={
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "userName", "value": "z\u200bw@contoso.com"}]})
    assert_scim_error(renamed, 400, scim_type="invalidValue")
    assert org.client.get(f"/Users/{created['id']}").json()["emails"][0]["value"] == "zw@contoso.com"


def test_limits_are_advertised_and_enforced(org: ScimOrg) -> None:
    spc = org.client.get("/ServiceProviderConfig").json()
    assert spc["documentationUri"] == LIMITS_DOC
    huge = "x" * (LIMITS["stringValueMaxLength"] + 1)
    r = org.client.post("/Users", json=user_body("big@contoso.com", displayName=huge))
    detail = assert_scim_error(r, 400, scim_type="invalidValue")["detail"]
    assert detail == f"'displayName' is 4,097 characters long; at most 4,096 are accepted " \
                     f"(see {LIMITS_DOC})"
    long_name = "a" * 321 + "@contoso.com"
    assert "'userName' is 333 characters long" in assert_scim_error(
        org.client.post("/Users", json=user_body(long_name)), 400)["detail"]
    many = [{"value": f"r{i}"} for i in range(LIMITS["multiValueMaxItems"] + 1)]
    assert "'roles' has 101 values" in assert_scim_error(
        org.client.post("/Users", json=user_body("roles@contoso.com", roles=many)), 400)["detail"]
    nested = user_body("ext@contoso.com")
    nested["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] = {"department": huge}
    assert "enterprise:2.0:User.department' is 4,097" in assert_scim_error(
        org.client.post("/Users", json=nested), 400)["detail"]
    assert _users(org) == []
    at_limit = "y" * LIMITS["stringValueMaxLength"]
    ok = org.client.post("/Users", json=user_body("ok@contoso.com", displayName=at_limit))
    assert ok.status_code == 201


def test_relink_of_a_renamed_user_whose_names_agree(org: ScimOrg) -> None:
    first = org.client.post("/Users", json=_person("old@contoso.com", "Rosa", "Lima", external_id="o-9",
                                                   email="old@contoso.com")).json()
    again = org.client.post("/Users", json=_person("new@contoso.com", "Rosa", "Lima", external_id="o-9",
                                                   email="new@contoso.com"))
    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
    assert _last_event(org).op_summary == \
        "POST userName=new@contoso.com (re-linked existing externalId: the display name agrees)"


def test_relink_when_only_an_email_agrees(org: ScimOrg) -> None:
    first = org.client.post("/Users", json={
        "userName": "a1@contoso.com", "externalId": "o-7",
        "emails": [{"value": "shared@contoso.com", "type": "work"}]}).json()
    again = org.client.post("/Users", json={"userName": "a2@contoso.com", "externalId": "o-7",
                                            "emails": [{"value": "SHARED@contoso.com", "type": "work"}]})
    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
