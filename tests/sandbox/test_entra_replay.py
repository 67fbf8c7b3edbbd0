"""Replays every Entra request shape of entra-facts §1.2–§1.9 against a real sandbox over HTTP.

Each test sends the documented JSON, checks the documented status, then reads the effect back
(GET / filter and, where the platform columns matter, the database).
"""

from __future__ import annotations

import uuid
from typing import Any

from sqlalchemy import select

from console.sandbox.db import Group, User
from tests.sandbox.scim_helpers import (
    SCIM_JSON,
    ScimOrg,
    module_server_and_org,
    patch_body,
    user_body,
)

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
CUSTOM = "urn:ietf:params:scim:schemas:extension:CustomExtensionName:2.0:User"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"


server, org = module_server_and_org("entra")


def _create(org: ScimOrg, user_name: str, **kw: Any) -> dict[str, Any]:
    r = org.client.post("/Users", json=user_body(user_name, **kw))
    assert r.status_code == 201, r.text
    return r.json()


def _by_filter(org: ScimOrg, flt: str) -> list[dict[str, Any]]:
    r = org.client.get("/Users", params={"filter": flt})
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith(SCIM_JSON)
    return r.json()["Resources"]


def _patch(org: ScimOrg, uid: str, *ops: dict[str, Any], status: int = 200) -> dict[str, Any]:
    r = org.client.patch(f"/Users/{uid}", json=patch_body(*ops))
    assert r.status_code == status, r.text
    return r.json()


# ---------------------------------------------------------------- §1.2 Test Connection


def test_test_connection_probes_return_empty_list_responses(org: ScimOrg) -> None:
    users = org.client.get("/Users", params={"filter": f'userName eq "{uuid.uuid4()}"'})
    groups = org.client.get(
        "/Groups", params={"excludedAttributes": "members", "filter": f'displayName eq "{uuid.uuid4()}"'}
    )
    for r in (users, groups):
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(SCIM_JSON)
        body = r.json()
        assert body["schemas"] == [LIST]
        assert body["totalResults"] == 0
        assert body["Resources"] == []


# ---------------------------------------------------------------- §1.4 user operations


def test_tutorial_create_get_query_update_disable_delete(org: ScimOrg) -> None:
    body = user_body(
        "Test_User_dfeef4c5-5681-4387-b016-bdf221e82081",
        external_id="0a21f0f2-8d2a-4f8e",
        email="Test_User_11bb6175-e48e-4c38-a5d3-d6f9e7a0f8f1@testuser.com",
    )
    body["schemas"] = ["urn:ietf:params:scim:schemas:core:2.0:User", ENT]
    user = _create(
        org, body.pop("userName"), **{k: v for k, v in body.items() if k not in ("schemas", "active")}
    )
    assert user["id"]
    assert user["meta"]["created"]
    assert user["meta"]["lastModified"]
    got = org.client.get(f"/Users/{user['id']}")
    assert got.status_code == 200
    missing = org.client.get(f"/Users/{uuid.uuid4()}")
    assert missing.status_code == 404
    assert missing.json()["status"] == "404"

    hit = org.client.get("/Users", params={"filter": f'userName eq "{user["userName"]}"'}).json()
    assert hit["totalResults"] == 1
    assert hit["startIndex"] == 1
    assert hit["itemsPerPage"] == 1
    none = org.client.get("/Users", params={"filter": 'userName eq "non-existent user"'}).json()
    assert none == {"schemas": [LIST], "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []}

    _patch(
        org,
        user["id"],
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "updatedEmail@microsoft.com"},
        {"op": "Replace", "path": "name.familyName", "value": "updatedFamilyName"},
    )
    _patch(org, user["id"], {"op": "Replace", "path": "userName", "value": "5b50642d@testuser.com"})
    disabled = _patch(org, user["id"], {"op": "Replace", "path": "active", "value": False})
    assert disabled["active"] is False
    back = _by_filter(org, 'userName eq "5b50642d@testuser.com"')[0]
    assert back["emails"] == [{"value": "updatedEmail@microsoft.com", "type": "work", "primary": True}]
    assert back["name"]["familyName"] == "updatedFamilyName"
    assert back["active"] is False
    with org.session() as s:
        row = s.scalar(select(User).where(User.scim_id == user["id"]))
        assert row.family_name == "updatedFamilyName"
        assert row.emails[0].value_key == "updatedemail@microsoft.com"
        assert row.version == 4
    assert org.client.delete(f"/Users/{user['id']}").status_code == 204
    assert org.client.get(f"/Users/{user['id']}").status_code == 404


def test_unquoted_external_id_filter_and_create_with_nulls(org: ScimOrg) -> None:
    body = user_body("jyoung@contoso.com", external_id="jyoung")
    body.update(
        {
            "addresses": None,
            "phoneNumbers": None,
            "preferredLanguage": None,
            "title": None,
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0User": {
                "department": None,
                "manager": None,
            },
        }
    )
    r = org.client.post("/Users", json=body)
    assert r.status_code == 201, r.text
    assert "title" not in r.json()
    assert "phoneNumbers" not in r.json()
    hits = org.client.get("/Users", params={"filter": "externalId eq jyoung"}).json()
    assert hits["totalResults"] == 1
    assert hits["Resources"][0]["userName"] == "jyoung@contoso.com"


def test_manager_check_query(org: ScimOrg) -> None:
    boss = _create(org, "boss@contoso.com")
    emp = _create(org, "emp@contoso.com", **{ENT: {"manager": {"value": boss["id"]}}})
    flt = f'id eq "{emp["id"]}" and manager eq "{boss["id"]}"'
    assert [u["id"] for u in _by_filter(org, flt)] == [emp["id"]]
    assert _by_filter(org, f'id eq "{emp["id"]}" and manager eq "someone-else"') == []


# ---------------------------------------------------------------- §1.5 PATCH dialects


def test_default_dialect_patch(org: ScimOrg) -> None:
    u = _create(org, "babs@contoso.com", email="babs@contoso.com")
    _patch(org, u["id"], {"op": "Add", "path": "nickName", "value": "Babs"})
    _patch(
        org,
        u["id"],
        {"op": "Replace", "path": "displayName", "value": "Barbara J"},
        {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "barbara@contoso.com"},
        {"op": "Replace", "path": "name.givenName", "value": "Barbara"},
        {"op": "Replace", "path": "name.familyName", "value": "Jensen"},
        {"op": "Replace", "path": "externalId", "value": "bjensen-obj"},
        {"op": "Replace", "path": f"{ENT}:employeeNumber", "value": "00701"},
    )
    out = _patch(org, u["id"], {"op": "Replace", "path": "active", "value": "False"})
    assert out["active"] is False
    got = _by_filter(org, 'externalId eq "bjensen-obj"')[0]
    assert got["nickName"] == "Babs"
    assert got["displayName"] == "Barbara J"
    assert got["name"]["givenName"] == "Barbara"
    assert got["name"]["familyName"] == "Jensen"
    assert got["emails"][0]["value"] == "barbara@contoso.com"
    assert got[ENT]["employeeNumber"] == "00701"
    assert ENT in got["schemas"]
    _patch(org, u["id"], {"op": "Replace", "path": "active", "value": "tRUE"})
    assert org.client.get(f"/Users/{u['id']}").json()["active"] is True
    bad = org.client.patch(
        f"/Users/{u['id']}", json=patch_body({"op": "Replace", "path": "active", "value": "no"})
    )
    assert bad.status_code == 400
    assert bad.json()["scimType"] == "invalidValue"
    assert org.client.get(f"/Users/{u['id']}").json()["active"] is True  # nothing silently applied
    with org.session() as s:
        assert s.scalar(select(User).where(User.scim_id == u["id"])).external_id == "bjensen-obj"


def test_aadoptscim062020_dialect_patch(org: ScimOrg) -> None:
    u = _create(org, "opt@contoso.com", email="opt@contoso.com")
    _patch(org, u["id"], {"op": "add", "path": "nickName", "value": "Babs"})
    _patch(
        org,
        u["id"],
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "opt.new@contoso.com"},
        {
            "op": "replace",
            "value": {
                "displayName": "Opt User",
                "name.givenName": "Opt",
                "name.familyName": "User",
                f"{ENT}:employeeNumber": "42",
            },
        },
    )
    out = _patch(org, u["id"], {"op": "replace", "path": "active", "value": False})
    assert out["active"] is False
    got = _by_filter(org, 'emails[type eq "work"].value eq "OPT.NEW@contoso.com"')
    assert len(got) == 1
    assert got[0]["displayName"] == "Opt User"
    assert got[0]["name"]["givenName"] == "Opt"
    assert got[0][ENT]["employeeNumber"] == "42"
    with org.session() as s:
        row = s.scalar(select(User).where(User.scim_id == u["id"]))
        assert (row.display_name, row.given_name, row.family_name, row.active) == (
            "Opt User",
            "Opt",
            "User",
            False,
        )


def _group(org: ScimOrg, name: str) -> dict[str, Any]:
    r = org.client.post(
        "/Groups",
        json={
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": str(uuid.uuid4()),
            "displayName": name,
            "meta": {"resourceType": "Group"},
        },
    )
    assert r.status_code == 201, r.text
    assert r.json()["members"] == []
    return r.json()


def _members(org: ScimOrg, gid: str) -> set[str]:
    return {m["value"] for m in org.client.get(f"/Groups/{gid}").json().get("members", [])}


def test_group_member_removal_both_dialects_removes_only_those(org: ScimOrg) -> None:
    a, b, c = (_create(org, f"m{i}@contoso.com")["id"] for i in range(3))
    g = _group(org, "Engineering")
    add = org.client.patch(
        f"/Groups/{g['id']}",
        json=patch_body(
            {
                "op": "Add",
                "path": "members",
                "value": [{"$ref": None, "value": a}, {"$ref": None, "value": b}, {"$ref": None, "value": c}],
            }
        ),
    )
    assert add.status_code == 204
    assert add.content == b""
    assert _members(org, g["id"]) == {a, b, c}
    r = org.client.patch(
        f"/Groups/{g['id']}", json=patch_body({"op": "Remove", "path": "members", "value": [{"value": a}]})
    )
    assert r.status_code == 204
    assert _members(org, g["id"]) == {b, c}  # not emptied
    r = org.client.patch(
        f"/Groups/{g['id']}", json=patch_body({"op": "remove", "path": f'members[value eq "{b}"]'})
    )
    assert r.status_code == 204
    assert _members(org, g["id"]) == {c}


# ---------------------------------------------------------------- §1.6 extensions


def test_extension_urns_missing_from_schemas(org: ScimOrg) -> None:
    body = user_body(
        "ext@contoso.com", **{ENT: {"department": "Sales", "costCenter": "42"}, CUSTOM: {"tshirtSize": "L"}}
    )
    body["schemas"] = ["urn:ietf:params:scim:schemas:core:2.0:User"]  # neither extension listed
    r = org.client.post("/Users", json=body)
    assert r.status_code == 201, r.text
    u = r.json()
    assert u[ENT]["department"] == "Sales"
    assert u[CUSTOM]["tshirtSize"] == "L"
    _patch(
        org,
        u["id"],
        {"op": "Replace", "path": f"{CUSTOM}:tshirtSize", "value": "XL"},
        {"op": "Add", "path": f"{ENT}:department", "value": "Marketing"},
    )
    got = org.client.get(f"/Users/{u['id']}").json()
    assert got[CUSTOM] == {"tshirtSize": "XL"}
    assert got[ENT]["department"] == "Marketing"
    assert CUSTOM in got["schemas"]
    assert ENT in got["schemas"]


# ---------------------------------------------------------------- §1.7 roles


def test_roles_post_and_patch_formats(org: ScimOrg) -> None:
    u = _create(
        org,
        "roles@contoso.com",
        roles=[{"primary": "True", "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}],
    )
    assert u["roles"] == [{"primary": True, "type": "WindowsAzureActiveDirectoryRole", "value": "Admin"}]
    encoded = '{"id":"06b07648-ecfe-589f-9d2f-6325724a46ee","value":"25","displayName":"Role1234"}'
    _patch(org, u["id"], {"op": "Add", "path": "roles", "value": [{"value": encoded}]})
    roles = org.client.get(f"/Users/{u['id']}").json()["roles"]
    assert [r["value"] for r in roles] == ["Admin", encoded]
    _patch(org, u["id"], {"op": "replace", "path": "roles", "value": [{"value": "Reader", "primary": False}]})
    assert org.client.get(f"/Users/{u['id']}").json()["roles"] == [{"value": "Reader", "primary": False}]


# ---------------------------------------------------------------- §1.8 groups


def test_group_tutorial_flow(org: ScimOrg) -> None:
    user = _create(org, "member@contoso.com")["id"]
    g = _group(org, "displayName")
    got = org.client.get(f"/Groups/{g['id']}", params={"excludedAttributes": "members"})
    assert got.status_code == 200
    assert "members" not in got.json()
    q = org.client.get(
        "/Groups", params={"excludedAttributes": "members", "filter": 'displayName eq "displayName"'}
    )
    assert q.status_code == 200
    assert q.json()["totalResults"] == 1
    assert "members" not in q.json()["Resources"][0]
    assert (
        org.client.patch(
            f"/Groups/{g['id']}",
            json=patch_body(
                {
                    "op": "Replace",
                    "path": "displayName",
                    "value": "1879db59-3bdf-4490-ad68-ab880a269474updatedDisplayName",
                }
            ),
        ).status_code
        == 204
    )
    assert (
        org.client.patch(
            f"/Groups/{g['id']}",
            json=patch_body({"op": "Add", "path": "members", "value": [{"$ref": None, "value": user}]}),
        ).status_code
        == 204
    )
    assert _members(org, g["id"]) == {user}
    assert (
        org.client.patch(
            f"/Groups/{g['id']}",
            json=patch_body({"op": "Remove", "path": "members", "value": [{"$ref": None, "value": user}]}),
        ).status_code
        == 204
    )
    assert _members(org, g["id"]) == set()
    with org.session() as s:
        assert s.get(Group, g["id"]).display_name.endswith("updatedDisplayName")
    assert org.client.delete(f"/Groups/{g['id']}").status_code == 204
    assert org.client.get(f"/Groups/{g['id']}").status_code == 404


# ---------------------------------------------------------------- §1.9 validator traffic


def test_validator_create_body_and_manager_forms(org: ScimOrg) -> None:
    boss = _create(org, "validator.boss@contoso.com")["id"]
    body = user_body(
        "validator@contoso.com",
        external_id="val-1",
        email="validator@contoso.com",
        title="Engineer",
        preferredLanguage="en-US",
        nickName="Val",
        userType="Employee",
        locale="en-US",
        timezone="Europe/London",
        profileUrl="https://example.com/val",
        displayName="Val Idator",
        addresses=[
            {"type": "work", "streetAddress": "1 Main", "locality": "X", "country": "GB", "primary": True}
        ],
        phoneNumbers=[
            {"type": "work", "value": "55555555555"},
            {"type": "mobile", "value": "66666666666"},
            {"type": "fax", "value": "77777777777"},
        ],
        roles=[
            {
                "primary": "True",
                "display": "Role",
                "value": "Admin",
                "type": "WindowsAzureActiveDirectoryRole",
            }
        ],
        **{
            ENT: {
                "employeeNumber": "1",
                "department": "D",
                "costCenter": "C",
                "organization": "O",
                "division": "V",
                "manager": {"value": boss},
            }
        },
    )
    r = org.client.post("/Users", json=body)
    assert r.status_code == 201, r.text
    uid = r.json()["id"]
    assert r.json()["phoneNumbers"][0]["value"] == "55555555555"  # stored as sent
    _patch(org, uid, {"op": "add", "path": f"{ENT}:manager", "value": "raw-manager-id"})
    got = _by_filter(org, 'userName eq "validator@contoso.com"')[0]
    assert got[ENT]["manager"] == {"value": "raw-manager-id"}
    _patch(org, uid, {"op": "replace", "path": f"{ENT}:manager", "value": ""})
    assert "manager" not in _by_filter(org, 'userName eq "validator@contoso.com"')[0][ENT]
    _patch(org, uid, {"op": "add", "path": f"{ENT}:manager", "value": boss})
    _patch(org, uid, {"op": "replace", "path": f"{ENT}:manager", "value": {"value": ""}})
    assert "manager" not in _by_filter(org, 'userName eq "validator@contoso.com"')[0][ENT]


def test_validator_group_shapes(org: ScimOrg) -> None:
    a, b = (_create(org, f"vg{i}@contoso.com")["id"] for i in range(2))
    g = _group(org, "Validator Group")
    assert (
        org.client.patch(
            f"/Groups/{g['id']}",
            json=patch_body(
                {"op": "replace", "value": {"displayName": "Validator Group 2", "externalId": "new-ext"}}
            ),
        ).status_code
        == 204
    )
    got = org.client.get(f"/Groups/{g['id']}").json()
    assert got["displayName"] == "Validator Group 2"
    assert got["externalId"] == "new-ext"
    assert (
        org.client.patch(
            f"/Groups/{g['id']}",
            json=patch_body({"op": "replace", "path": "members", "value": [{"value": a}, {"value": b}]}),
        ).status_code
        == 204
    )
    assert _members(org, g["id"]) == {a, b}
    assert (
        org.client.patch(
            f"/Groups/{g['id']}",
            json=patch_body(
                {"op": "add", "path": "members", "value": [{"value": a}]},
                {"op": "remove", "path": f'members[value eq "{a}"]'},
            ),
        ).status_code
        == 204
    )
    assert _members(org, g["id"]) == {b}


def test_case_insensitive_filter_and_disabled_users_found(org: ScimOrg) -> None:
    u = _create(org, "CaseUser@Contoso.com", email="CaseUser@Contoso.com")
    assert [x["id"] for x in _by_filter(org, 'userName eq "caseuser@contoso.com"')] == [u["id"]]
    assert [x["id"] for x in _by_filter(org, 'USERNAME eq "CASEUSER@CONTOSO.COM"')] == [u["id"]]
    _patch(org, u["id"], {"op": "Replace", "path": "active", "value": "False"})
    found = _by_filter(org, 'userName eq "caseuser@contoso.com"')
    assert len(found) == 1
    assert found[0]["active"] is False
    assert found[0]["userName"] == "CaseUser@Contoso.com"  # as sent
    assert len(_by_filter(org, 'emails.value eq "caseuser@contoso.com"')) == 1


def test_replace_work_email_creates_entry_when_missing(org: ScimOrg) -> None:
    u = _create(org, "nomail@contoso.com")  # cloud-only user without mail
    assert "emails" not in u
    _patch(
        org, u["id"], {"op": "Replace", "path": 'emails[type eq "work"].value', "value": "now@contoso.com"}
    )
    got = org.client.get(f"/Users/{u['id']}").json()
    assert got["emails"] == [{"value": "now@contoso.com", "type": "work", "primary": True}]
    assert [x["id"] for x in _by_filter(org, 'emails[type eq "work"].value eq "now@contoso.com"')] == [
        u["id"]
    ]


def test_externalid_repost_relinks_inactive_user(org: ScimOrg) -> None:
    first = _create(org, "old.name@contoso.com", external_id="obj-123", email="old.name@contoso.com")
    _patch(org, first["id"], {"op": "Replace", "path": "active", "value": "False"})
    again = org.client.post(
        "/Users", json=user_body("new.name@contoso.com", external_id="obj-123", email="new.name@contoso.com")
    )
    assert again.status_code == 201
    assert again.json()["id"] == first["id"]
    assert again.json()["active"] is True
    assert again.json()["userName"] == "new.name@contoso.com"
    with org.session() as s:
        rows = s.scalars(select(User).where(User.org_id == org.org_id, User.external_id == "obj-123")).all()
        assert len(rows) == 1
        assert rows[0].idp_link == "obj-123"


def test_upn_mismatch_creates_duplicate_of_manual_account(org: ScimOrg) -> None:
    """The customer's real problem: the manual account is under the mail; Entra matches on UPN."""
    from console.sandbox.db import UserEmail, fold

    with org.session() as s:
        manual = User(
            org_id=org.org_id,
            user_name="jane.doe@contoso.com",
            user_name_key="jane.doe@contoso.com",
            created_via="manual",
            scim_json={},
        )
        manual.emails.append(
            UserEmail(
                org_id=org.org_id,
                value="jane.doe@contoso.com",
                value_key=fold("jane.doe@contoso.com"),
                type="work",
                primary=True,
            )
        )
        s.add(manual)
        s.commit()
    assert _by_filter(org, 'userName eq "jdoe@corp.onmicrosoft.com"') == []
    twin = _create(org, "jdoe@corp.onmicrosoft.com", external_id="obj-jane", email="jane.doe@contoso.com")
    with org.session() as s:
        rows = s.scalars(select(User).where(User.org_id == org.org_id).order_by(User.created_at)).all()
        assert [(r.user_name, r.created_via) for r in rows] == [
            ("jane.doe@contoso.com", "manual"),
            ("jdoe@corp.onmicrosoft.com", "scim"),
        ]
        assert rows[1].scim_id == twin["id"]
        assert rows[1].idp_link == "obj-jane"
