"""The sandbox SCIM endpoint over real HTTP: auth, media type, CRUD, discovery, logging, 409s."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

import httpx
from sqlalchemy import select

from console.sandbox.db import ProvisioningEvent, ScimSettings, ScimToken, User, utcnow
from console.sandbox.tokens import mint_scim_token
from tests.sandbox.scim_helpers import (
    SCIM_JSON,
    ScimOrg,
    assert_scim_error,
    module_server_and_org,
    scim_org,
    user_body,
)

server, org = module_server_and_org("scim-api")


def _error(response: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    return assert_scim_error(response, status, scim_type=scim_type)


# ---------------------------------------------------------------- auth


def test_missing_and_bad_tokens_are_401_and_logged_without_token(org: ScimOrg) -> None:
    no_token = httpx.get(f"{org.base_url}/Users")
    _error(no_token, 401)
    bad = httpx.get(f"{org.base_url}/Users", headers={"Authorization": "Bearer scim_notarealtoken"})
    _error(bad, 401)
    basic = httpx.get(f"{org.base_url}/Users", headers={"Authorization": f"Basic {org.token}"})
    _error(basic, 401)
    with org.session() as s:
        events = s.scalars(select(ProvisioningEvent).where(ProvisioningEvent.org_id == org.org_id)).all()
    assert len(events) == 3
    assert all(e.status == 401 and e.outcome == "failure" for e in events)
    for e in events:
        assert org.token not in repr(vars(e))
        assert "notarealtoken" not in repr(vars(e))


def test_other_orgs_token_revoked_expired_and_disabled_are_401(server: Any, org: ScimOrg) -> None:
    other = scim_org(server)
    _error(httpx.get(f"{org.base_url}/Users", headers={"Authorization": f"Bearer {other.token}"}), 401)
    with org.session() as s:
        expired, row = mint_scim_token(s, org.org_id, created_by="t", lifetime=timedelta(seconds=1))
        row.expires_at = utcnow() - timedelta(seconds=5)
        revoked, row2 = mint_scim_token(s, org.org_id, created_by="t")
        row2.revoked_at = utcnow()
        s.commit()
    _error(httpx.get(f"{org.base_url}/Users", headers={"Authorization": f"Bearer {expired}"}), 401)
    _error(httpx.get(f"{org.base_url}/Users", headers={"Authorization": f"Bearer {revoked}"}), 401)
    assert org.client.get("/Users").status_code == 200
    with org.session() as s:
        s.get(ScimSettings, org.org_id).enabled = False
        s.commit()
    body = _error(org.client.get("/Users"), 401)
    assert "disabled" in body["detail"]
    other.close()


def test_unknown_org_is_404_scim_error(server: Any, org: ScimOrg) -> None:
    r = httpx.get(
        f"{server.scim_base_url}/no-such-org/Users", headers={"Authorization": f"Bearer {org.token}"}
    )
    _error(r, 404)


def test_token_last_used_is_recorded(org: ScimOrg) -> None:
    assert org.client.get("/ServiceProviderConfig").status_code == 200
    with org.session() as s:
        tokens = s.scalars(select(ScimToken).where(ScimToken.org_id == org.org_id)).all()
    assert any(t.last_used_at is not None for t in tokens)


# ---------------------------------------------------------------- discovery


def test_discovery_endpoints(org: ScimOrg) -> None:
    spc = org.client.get("/ServiceProviderConfig")
    assert spc.status_code == 200
    assert spc.headers["content-type"].startswith(SCIM_JSON)
    assert spc.json()["patch"]["supported"] is True
    for endpoint in ("/Schemas", "/ResourceTypes"):
        r = org.client.get(endpoint)
        assert r.status_code == 200
        assert r.headers["content-type"].startswith(SCIM_JSON)
        body = r.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        assert body["totalResults"] == len(body["Resources"]) >= 2
    ids = {s["id"] for s in org.client.get("/Schemas").json()["Resources"]}
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in ids
    user_schema = org.client.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
    assert user_schema.status_code == 200
    assert org.client.get("/ResourceTypes/User").json()["endpoint"] == "/Users"
    _error(org.client.get("/ResourceTypes/Nope"), 404)


# ---------------------------------------------------------------- users CRUD


def test_user_crud_round_trip(org: ScimOrg) -> None:
    created = org.client.post(
        "/Users", json=user_body("Jane.Doe@Contoso.com", external_id="jdoe", email="Jane.Doe@Contoso.com")
    )
    assert created.status_code == 201, created.text
    assert created.headers["content-type"].startswith(SCIM_JSON)
    user = created.json()
    assert created.headers["location"] == user["meta"]["location"] == f"{org.base_url}/Users/{user['id']}"
    assert user["meta"]["created"]
    assert user["meta"]["lastModified"]
    assert user["meta"]["resourceType"] == "User"
    assert user["userName"] == "Jane.Doe@Contoso.com"  # stored as sent
    assert user["emails"] == [{"value": "Jane.Doe@Contoso.com", "type": "work", "primary": True}]

    got = org.client.get(f"/Users/{user['id']}")
    assert got.status_code == 200
    assert got.json()["userName"] == "Jane.Doe@Contoso.com"

    put = org.client.put(
        f"/Users/{user['id']}",
        json=user_body("jane@contoso.com", external_id="jdoe", email="jane@contoso.com", title="Boss"),
    )
    assert put.status_code == 200
    assert put.json()["title"] == "Boss"

    deleted = org.client.delete(f"/Users/{user['id']}")
    assert deleted.status_code == 204
    _error(org.client.get(f"/Users/{user['id']}"), 404)
    _error(org.client.delete(f"/Users/{user['id']}"), 404)


def test_scim_created_user_columns_and_templates(server: Any, org: ScimOrg) -> None:
    r = org.client.post(
        "/Users", json=user_body("a.b@example.com", email="A.B@Example.com", displayName="A B")
    )
    assert r.status_code == 201
    with org.session() as s:
        u = s.scalar(select(User).where(User.scim_id == r.json()["id"]))
        assert u.created_via == "scim"
        assert u.idp_link == u.scim_id  # no externalId: linked by SCIM id
        assert u.user_name_key == "a.b@example.com"
        assert [(e.value, e.value_key, e.primary) for e in u.emails] == [
            ("A.B@Example.com", "a.b@example.com", True)
        ]
        assert (u.display_name, u.given_name, u.family_name, u.active) == ("A B", "Given", "Family", True)
        assert u.scim_json["name"] == {"formatted": "Given Family"}
        assert u.version == 1


def test_single_work_email_without_primary_becomes_primary(org: ScimOrg) -> None:
    body = user_body("np@example.com")
    body["emails"] = [{"type": "work", "value": "np@example.com"}]
    r = org.client.post("/Users", json=body)
    assert r.json()["emails"] == [{"value": "np@example.com", "type": "work", "primary": True}]


def test_username_clash_is_409_uniqueness_case_insensitive(org: ScimOrg) -> None:
    assert org.client.post("/Users", json=user_body("dup@example.com")).status_code == 201
    _error(org.client.post("/Users", json=user_body("DUP@Example.COM")), 409, "uniqueness")
    other = org.client.post("/Users", json=user_body("other@example.com")).json()
    patch = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
        "Operations": [{"op": "Replace", "path": "userName", "value": "Dup@example.com"}],
    }
    _error(org.client.patch(f"/Users/{other['id']}", json=patch), 409, "uniqueness")
    with org.session() as s:
        failures = s.scalars(
            select(ProvisioningEvent).where(
                ProvisioningEvent.org_id == org.org_id, ProvisioningEvent.status == 409
            )
        ).all()
    assert len(failures) == 2
    assert all(f.error_code == "uniqueness" for f in failures)


def test_invalid_bodies_are_400(org: ScimOrg) -> None:
    _error(
        org.client.post("/Users", content=b"{not json", headers={"content-type": "application/json"}),
        400,
        "invalidSyntax",
    )
    _error(
        org.client.post("/Users", json={"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"]}),
        400,
        "invalidValue",
    )
    _error(org.client.post("/Users", json=user_body("x@example.com", active="yes")), 400, "invalidValue")
    _error(org.client.get("/Users", params={"filter": "userName eq"}), 400, "invalidFilter")
    _error(org.client.get("/Users", params={"count": "many"}), 400, "invalidValue")
    uid = org.client.post("/Users", json=user_body("typed@example.com")).json()["id"]
    for op in ({"op": "add", "path": "name.givenName", "value": []},
               {"op": "replace", "path": "emails", "value": [{"value": "a@x", "type": 5}]},
               {"op": "Replace", "path": "active", "value": "maybe"}):
        _error(org.client.patch(f"/Users/{uid}", json={"Operations": [op]}), 400, "invalidValue")


def test_query_pagination_and_attributes(org: ScimOrg) -> None:
    for i in range(12):
        assert org.client.post("/Users", json=user_body(f"page{i:02d}@example.com")).status_code == 201
    page = org.client.get("/Users", params={"startIndex": 1, "count": 5}).json()
    assert page["totalResults"] == 12
    assert page["itemsPerPage"] == 5
    assert len(page["Resources"]) == 5
    last = org.client.get("/Users", params={"startIndex": 11, "count": 5}).json()
    assert len(last["Resources"]) == 2
    assert last["startIndex"] == 11
    ids = {u["id"] for u in page["Resources"]} | {u["id"] for u in last["Resources"]}
    assert len(ids) == 7
    zero = org.client.get("/Users", params={"count": 0}).json()
    assert zero["totalResults"] == 12
    assert zero["Resources"] == []
    only = org.client.get("/Users", params={"attributes": "userName", "count": 1}).json()["Resources"][0]
    assert set(only) == {"schemas", "id", "userName"}
    excl = org.client.get("/Users", params={"excludedAttributes": "emails,name", "count": 1}).json()
    assert "name" not in excl["Resources"][0]
    assert "userName" in excl["Resources"][0]
    # non-Entra operators are evaluated in Python
    sw = org.client.get("/Users", params={"filter": 'userName sw "PAGE1"'}).json()
    assert sw["totalResults"] == 2


def test_every_request_is_logged(org: ScimOrg) -> None:
    r = org.client.post("/Users", json=user_body("log@example.com", external_id="ext-log"))
    org.client.get("/Users", params={"filter": 'userName eq "log@example.com"', "access_token": "s3cret"})
    org.client.patch(
        f"/Users/{r.json()['id']}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
        },
    )
    with org.session() as s:
        events = s.scalars(
            select(ProvisioningEvent)
            .where(ProvisioningEvent.org_id == org.org_id)
            .order_by(ProvisioningEvent.id)
        ).all()
    assert [(e.method, e.op, e.status, e.outcome) for e in events] == [
        ("POST", "create", 201, "success"),
        ("GET", "query", 200, "success"),
        ("PATCH", "update", 200, "success"),
    ]
    create, query, patch = events
    assert create.user_name == "log@example.com"
    assert create.external_id == "ext-log"
    assert create.user_id
    assert create.scim_id == r.json()["id"]
    assert create.latency_ms > 0
    assert "s3cret" not in query.path
    assert "filter=" in query.path
    assert "active='False'" in (patch.op_summary or "")


def test_groups_crud(org: ScimOrg) -> None:
    u1 = org.client.post("/Users", json=user_body("g1@example.com")).json()["id"]
    g = org.client.post(
        "/Groups",
        json={
            "schemas": [
                "urn:ietf:params:scim:schemas:core:2.0:Group",
                "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
            ],
            "externalId": str(uuid.uuid4()),
            "displayName": "Sales",
            "meta": {"resourceType": "Group"},
        },
    )
    assert g.status_code == 201, g.text
    group = g.json()
    assert group["members"] == []
    assert g.headers["location"].endswith(group["id"])
    _error(org.client.post("/Groups", json={"displayName": "sales"}), 409, "uniqueness")
    put = org.client.put(
        f"/Groups/{group['id']}", json={"displayName": "Sales 2", "members": [{"value": u1}]}
    )
    assert put.status_code == 200
    assert [m["value"] for m in put.json()["members"]] == [u1]
    _error(
        org.client.put(f"/Groups/{group['id']}", json={"displayName": "S", "members": [{"value": "nope"}]}),
        400,
        "invalidValue",
    )
    assert org.client.delete(f"/Groups/{group['id']}").status_code == 204
    _error(org.client.get(f"/Groups/{group['id']}"), 404)
