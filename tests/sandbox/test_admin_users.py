"""Admin API: users list/search, create, and the support actions (versions, audit, SCIM identity)."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from console.sandbox.server import SandboxServer
from tests.sandbox.admin_helpers import admin_client, error_code


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("small") / "p.db", seed="small") as server:
        yield server


@pytest.fixture
def client(small: SandboxServer) -> Iterator[httpx.Client]:
    with admin_client(small) as c:
        yield c


@pytest.fixture
def fresh(fresh_sandbox: SandboxServer) -> Iterator[httpx.Client]:
    with admin_client(fresh_sandbox) as c:
        yield c


def _users(client: httpx.Client, org: str = "northwind", **params: Any) -> list[dict[str, Any]]:
    r = client.get(f"/orgs/{org}/users", params=params)
    assert r.status_code == 200, r.text
    return r.json()["items"]


def test_user_shape(client: httpx.Client) -> None:
    jdoe = _users(client, user_name="JDOE@northwind.com")
    assert len(jdoe) == 1
    user = jdoe[0]
    assert set(user) == {
        "id",
        "scim_id",
        "user_name",
        "display_name",
        "given_name",
        "family_name",
        "emails",
        "primary_email",
        "active",
        "external_id",
        "idp_link",
        "created_via",
        "role",
        "work_area_ids",
        "last_login_at",
        "created_at",
        "updated_at",
        "merged_into_id",
        "version",
    }
    assert user["created_via"] == "scim"
    assert user["external_id"]
    assert user["idp_link"] == user["external_id"]
    assert user["emails"] == [{"value": "jdoe@northwind.com", "type": "work", "primary": True}]
    assert client.get(f"/orgs/northwind/users/{user['id']}").json() == user


def test_search_is_case_insensitive_over_user_name_display_name_and_emails(client: httpx.Client) -> None:
    by_mail = {u["user_name"] for u in _users(client, q="MARK.LEE@")}
    assert by_mail == {"mlee", "mark.lee@northwind.com"}  # "mlee" matches only through its email
    by_display = {u["user_name"] for u in _users(client, q="jane doe")}
    assert by_display == {"jane.doe@northwindtraders.com", "jdoe@northwind.com"}
    assert _users(client, q="no-such-person") == []
    exact = _users(client, email="mark.lee@NORTHWIND.com")
    assert {u["user_name"] for u in exact} == {"mlee", "mark.lee@northwind.com"}


def test_filters(client: httpx.Client) -> None:
    twins = _users(client, external_id=_users(client, user_name="tom.berg@northwind.com")[0]["external_id"])
    assert {u["user_name"] for u in twins} == {"tom.berg@northwind.com", "thomas.berg@northwind.com"}
    assert all(u["created_via"] == "scim" for u in _users(client, created_via="scim", limit=500))
    assert all(not u["active"] for u in _users(client, active="false", limit=500))
    mailless = _users(client, user_name="svc-kiosk@northwind.com")[0]
    assert mailless["emails"] == []
    assert mailless["primary_email"] is None


def test_pagination_is_stable_and_complete(client: httpx.Client) -> None:
    ids: list[str] = []
    cursor = None
    while True:
        page = client.get(
            "/orgs/tailspin/users", params={"limit": 37, **({"cursor": cursor} if cursor else {})}
        )
        body = page.json()
        ids += [u["id"] for u in body["items"]]
        cursor = body["next_cursor"]
        if not cursor:
            break
    assert len(ids) == len(set(ids)) == 200
    assert ids == sorted(ids)


def test_unknown_user_is_404_and_user_of_other_org_is_not_visible(client: httpx.Client) -> None:
    r = client.get("/orgs/northwind/users/u_nope")
    assert r.status_code == 404
    assert error_code(r) == "user_not_found"
    contoso_user = _users(client, org="contoso", limit=1)[0]
    assert client.get(f"/orgs/northwind/users/{contoso_user['id']}").status_code == 404


def test_create_user_validates_and_invite_gets_templates(fresh: httpx.Client) -> None:
    area = fresh.post("/orgs/acme/work-areas", json={"name": "Floor"}).json()
    fresh.post(
        "/orgs/acme/templates",
        json={"name": "All", "applies_to_all": True, "role": "viewer", "work_area_ids": [area["id"]]},
    )
    bad = fresh.post("/orgs/acme/users", json={"user_name": "x", "emails": ["not-an-email"]})
    assert bad.status_code == 422
    assert error_code(bad) == "invalid_email"
    manual = fresh.post(
        "/orgs/acme/users", json={"user_name": "Ann@acme.example", "emails": ["Ann@acme.example"]}
    )
    assert manual.status_code == 201
    assert manual.json()["work_area_ids"] == []
    assert manual.json()["version"] == 1
    dup = fresh.post("/orgs/acme/users", json={"user_name": "ANN@acme.example"})
    assert dup.status_code == 409
    assert error_code(dup) == "user_name_taken"
    invite = fresh.post(
        "/orgs/acme/users",
        json={
            "user_name": "bob@acme.example",
            "created_via": "invite",
            "emails": [
                {"value": "bob@acme.example", "type": "work"},
                {"value": "b@acme.example", "primary": True},
            ],
        },
    )
    assert invite.status_code == 201, invite.text
    body = invite.json()
    assert body["work_area_ids"] == [area["id"]]
    assert body["role"] == "viewer"
    assert body["primary_email"] == "b@acme.example"
    assert [e["primary"] for e in body["emails"]] == [False, True]
    assert fresh.get("/orgs/acme").json()["user_counts"] == {
        "total": 2,
        "active": 2,
        "inactive": 0,
        "scim": 0,
        "manual": 1,
        "invite": 1,
    }


def _make(fresh: httpx.Client, name: str, *emails: str) -> dict[str, Any]:
    r = fresh.post("/orgs/acme/users", json={"user_name": name, "emails": list(emails)})
    assert r.status_code == 201, r.text
    return r.json()


def test_primary_email_and_version_conflict(fresh: httpx.Client) -> None:
    user = _make(fresh, "cara@acme.example", "cara@acme.example", "c.alt@acme.example")
    r = fresh.post(
        f"/orgs/acme/users/{user['id']}/primary-email",
        json={"email": "C.ALT@acme.example", "expected_version": 1},
    )
    assert r.status_code == 200
    assert r.json()["primary_email"] == "c.alt@acme.example"
    assert r.json()["version"] == 2
    stale = fresh.post(
        f"/orgs/acme/users/{user['id']}/primary-email",
        json={"email": "cara@acme.example", "expected_version": 1},
    )
    assert stale.status_code == 409
    assert error_code(stale) == "version_conflict"
    details = stale.json()["error"]["details"]
    assert details["expected_version"] == 1
    assert details["current_version"] == 2
    bad = fresh.post(f"/orgs/acme/users/{user['id']}/primary-email", json={"email": "nope"})
    assert bad.status_code == 422
    assert error_code(bad) == "invalid_email"
    added = fresh.post(
        f"/orgs/acme/users/{user['id']}/primary-email", json={"email": "new@acme.example"}
    ).json()
    assert added["primary_email"] == "new@acme.example"
    assert len(added["emails"]) == 3
    assert sum(e["primary"] for e in added["emails"]) == 1
    assert fresh.post("/orgs/acme/users/u_nope/primary-email", json={"email": "a@b.co"}).status_code == 404


def test_release_email_frees_the_address_and_keeps_one_primary(fresh: httpx.Client) -> None:
    squatter = _make(fresh, "dana@acme.example", "dana@acme.example", "dana.other@acme.example")
    r = fresh.post(f"/orgs/acme/users/{squatter['id']}/release-email", json={})
    assert r.status_code == 200, r.text
    after = r.json()
    placeholder = next(e["value"] for e in after["emails"] if e["value"].startswith("released+"))
    assert placeholder.endswith("@acme.example.invalid")
    assert after["user_name"] == placeholder  # userName was the released address, so it is freed too
    assert after["primary_email"] == "dana.other@acme.example"
    assert sum(e["primary"] for e in after["emails"]) == 1
    # The address is now free for another account.
    assert fresh.post("/orgs/acme/users", json={"user_name": "dana@acme.example"}).status_code == 201
    again = fresh.post(f"/orgs/acme/users/{squatter['id']}/release-email", json={"email": placeholder})
    assert again.status_code == 422
    assert error_code(again) == "already_released"
    missing = fresh.post(f"/orgs/acme/users/{squatter['id']}/release-email", json={"email": "x@acme.example"})
    assert missing.status_code == 422
    assert error_code(missing) == "email_not_found"
    no_mail = _make(fresh, "nomail")
    r = fresh.post(f"/orgs/acme/users/{no_mail['id']}/release-email")
    assert r.status_code == 422
    assert error_code(r) == "no_email"
    entry = fresh.get("/orgs/acme/audit").json()["items"]
    assert any(
        a["action"] == "user.release_email" and a["params"]["email"] == "dana@acme.example" for a in entry
    )


def _scim_twin(server: SandboxServer, user_id: str, external_id: str) -> None:
    """Mark a user as SCIM-provisioned (the SCIM endpoint is another module; set the link directly)."""
    with sqlite3.connect(server.db_path) as conn:
        conn.execute(
            "UPDATE users SET created_via='scim', external_id=?, idp_link=? WHERE id=?",
            (external_id, external_id, user_id),
        )


def _scim_get(server: SandboxServer, client: httpx.Client, scim_id: str) -> httpx.Response:
    """GET /Users/{id} on the real SCIM endpoint (what Entra does with the id it cached)."""
    token = client.post("/orgs/acme/scim/enable", headers={"Idempotency-Key": "merge-test"}).json()["token"]
    with httpx.Client(trust_env=False, headers={"Authorization": f"Bearer {token}"}) as scim:
        return scim.get(f"{server.scim_base_url}/acme/Users/{scim_id}")


def test_merge_moves_scim_identity_to_an_unlinked_survivor(
    fresh_sandbox: SandboxServer, fresh: httpx.Client
) -> None:
    area = fresh.post("/orgs/acme/work-areas", json={"name": "Ops"}).json()
    survivor = _make(fresh, "erin@acme.example", "erin@acme.example")
    twin = _make(fresh, "e.smith@acme.example", "e.smith@acme.example")
    _scim_twin(fresh_sandbox, twin["id"], "entra-object-1")
    with sqlite3.connect(fresh_sandbox.db_path) as conn:
        conn.execute(
            "INSERT INTO work_area_memberships (user_id, work_area_id, granted_by, created_at) "
            "VALUES (?, ?, 'manual', '2026-01-01 00:00:00.000000')",
            (twin["id"], area["id"]),
        )
    twin_scim_id = twin["scim_id"]
    r = fresh.post(
        f"/orgs/acme/users/{twin['id']}/merge",
        json={"into_user_id": survivor["id"], "expected_version": 1, "expected_target_version": 1},
    )
    assert r.status_code == 200, r.text
    merged = r.json()
    assert merged["id"] == survivor["id"]
    assert merged["scim_id"] == twin_scim_id  # Entra's cached id now addresses the same person
    assert merged["external_id"] == "entra-object-1"
    assert merged["idp_link"] == "entra-object-1"
    assert merged["work_area_ids"] == [area["id"]]
    assert merged["version"] == 2
    old = fresh.get(f"/orgs/acme/users/{twin['id']}").json()
    assert old["active"] is False
    assert old["merged_into_id"] == survivor["id"]
    assert old["scim_id"] != twin_scim_id
    assert old["external_id"] is None
    assert old["idp_link"] is None
    assert old["user_name"].startswith("merged+")
    assert old["work_area_ids"] == []
    again = fresh.post(f"/orgs/acme/users/{twin['id']}/merge", json={"into_user_id": survivor["id"]})
    assert again.status_code == 409
    assert error_code(again) == "already_merged"
    into_merged = fresh.post(
        f"/orgs/acme/users/{_make(fresh, 'z')['id']}/merge", json={"into_user_id": twin["id"]}
    )
    assert into_merged.status_code == 422
    assert error_code(into_merged) == "merge_target_merged"
    merges = [a for a in fresh.get("/orgs/acme/audit").json()["items"] if a["action"] == "user.merge"]
    assert len(merges) == 1
    assert merges[0]["params"]["mode"] == "scim_identity_moved"
    assert merges[0]["actor"] == "sandbox-operator"
    assert merges[0]["target"] == twin["id"]


def test_merge_into_a_linked_survivor_retires_the_twin(
    fresh_sandbox: SandboxServer, fresh: httpx.Client
) -> None:
    survivor = _make(fresh, "finn@acme.example", "finn@acme.example")
    twin = _make(fresh, "f.o@acme.example", "f.o@acme.example")
    _scim_twin(fresh_sandbox, survivor["id"], "entra-survivor")
    _scim_twin(fresh_sandbox, twin["id"], "entra-twin")
    r = fresh.post(f"/orgs/acme/users/{twin['id']}/merge", json={"into_user_id": survivor["id"]})
    assert r.status_code == 200, r.text
    assert r.json()["scim_id"] == survivor["scim_id"]
    assert r.json()["external_id"] == "entra-survivor"
    old = fresh.get(f"/orgs/acme/users/{twin['id']}").json()
    assert old["scim_id"] != twin["scim_id"]
    assert _scim_get(fresh_sandbox, fresh, twin["scim_id"]).status_code == 404  # InvalidAnchor, not the twin
    assert old["idp_link"] is None
    assert old["merged_into_id"] == survivor["id"]


def test_merge_validation(fresh: httpx.Client) -> None:
    a = _make(fresh, "gia@acme.example", "gia@acme.example")
    b = _make(fresh, "hal@acme.example", "hal@acme.example")
    r = fresh.post(f"/orgs/acme/users/{a['id']}/merge", json={"into_user_id": a["id"]})
    assert r.status_code == 422
    assert error_code(r) == "cannot_merge_into_self"
    r = fresh.post(f"/orgs/acme/users/{a['id']}/merge", json={"into_user_id": "u_elsewhere"})
    assert r.status_code == 404
    assert error_code(r) == "user_not_found"
    r = fresh.post(
        f"/orgs/acme/users/{a['id']}/merge", json={"into_user_id": b["id"], "expected_target_version": 7}
    )
    assert r.status_code == 409
    assert error_code(r) == "version_conflict"
    assert r.json()["error"]["details"]["field"] == "expected_target_version"
    # Nothing changed after the failed attempts.
    assert fresh.get(f"/orgs/acme/users/{a['id']}").json()["version"] == 1


def test_merge_into_inactive_user_is_refused(fresh_sandbox: SandboxServer, fresh: httpx.Client) -> None:
    a = _make(fresh, "ivy@acme.example", "ivy@acme.example")
    b = _make(fresh, "jon@acme.example", "jon@acme.example")
    with sqlite3.connect(fresh_sandbox.db_path) as conn:
        conn.execute("UPDATE users SET active = 0 WHERE id = ?", (b["id"],))
    r = fresh.post(f"/orgs/acme/users/{a['id']}/merge", json={"into_user_id": b["id"]})
    assert r.status_code == 422
    assert error_code(r) == "merge_target_inactive"


def test_clear_idp_link_gives_a_fresh_scim_id(fresh_sandbox: SandboxServer, fresh: httpx.Client) -> None:
    user = _make(fresh, "kim@acme.example", "kim@acme.example")
    noop = fresh.post(f"/orgs/acme/users/{user['id']}/clear-idp-link", json={})
    assert noop.status_code == 200
    assert noop.json()["version"] == 1
    _scim_twin(fresh_sandbox, user["id"], "entra-kim")
    r = fresh.post(f"/orgs/acme/users/{user['id']}/clear-idp-link", json={"expected_version": 1})
    assert r.status_code == 200
    body = r.json()
    assert body["idp_link"] is None
    assert body["external_id"] is None
    assert body["scim_id"] != user["scim_id"]
    assert body["version"] == 2
    stale = fresh.post(f"/orgs/acme/users/{user['id']}/clear-idp-link", json={"expected_version": 1})
    assert stale.status_code == 409
    assert error_code(stale) == "version_conflict"


def test_set_user_name_aligns_an_account_with_the_entra_upn(fresh_sandbox: SandboxServer,
                                                           fresh: httpx.Client) -> None:
    from tests.sandbox.scim_helpers import scim_org

    user = _make(fresh, "jane.doe@acme.example", "jane.doe@acme.example")
    taken = _make(fresh, "other@acme.example", "other@acme.example")
    r = fresh.post(f"/orgs/acme/users/{user['id']}/user-name",
                   json={"user_name": "JDoe@acme.onmicrosoft.example", "expected_version": user["version"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["user_name"] == "JDoe@acme.onmicrosoft.example"  # stored as given
    assert body["primary_email"] == "JDoe@acme.onmicrosoft.example"
    assert {e["value"] for e in body["emails"]} == {"jane.doe@acme.example", "JDoe@acme.onmicrosoft.example"}
    assert body["version"] == user["version"] + 1
    audit = fresh.get("/orgs/acme/audit").json()["items"][0]
    assert audit["action"] == "user.set_user_name"
    assert audit["params"]["from"] == "jane.doe@acme.example"

    stale = fresh.post(f"/orgs/acme/users/{user['id']}/user-name",
                       json={"user_name": "x@acme.example", "expected_version": user["version"]})
    assert error_code(stale) == "version_conflict"
    clash = fresh.post(f"/orgs/acme/users/{user['id']}/user-name", json={"user_name": "OTHER@acme.example"})
    assert clash.status_code == 409
    assert error_code(clash) == "user_name_taken"
    keep_email = fresh.post(f"/orgs/acme/users/{taken['id']}/user-name",
                            json={"user_name": "o.renamed", "make_primary_email": False})
    assert keep_email.status_code == 200, keep_email.text
    assert keep_email.json()["primary_email"] == "other@acme.example"
    assert fresh.post(f"/orgs/acme/users/{user['id']}/user-name", json={"user_name": "  "}).status_code == 422

    # Entra's default match now finds the account (any case) instead of creating a twin.
    org = scim_org(fresh_sandbox, "acme")
    try:
        found = org.client.get("/Users", params={"filter": 'userName eq "jdoe@acme.onmicrosoft.example"'})
        assert found.json()["totalResults"] == 1
        assert found.json()["Resources"][0]["id"] == body["scim_id"]
    finally:
        org.close()
