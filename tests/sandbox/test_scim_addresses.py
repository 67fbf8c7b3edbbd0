"""Email addresses on SCIM writes follow the platform's own rule (regression: the resource check used
email-validator, which refuses special-use domains such as ``.invalid`` — the very domain of the
platform's released-address placeholders, so every later Entra update of a released account failed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.sandbox.admin_helpers import admin_client
from tests.sandbox.scim_helpers import SCIM_JSON, patch_body, scim_org, start_server, user_body


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(tmp_path_factory.mktemp("scim-addresses"))
    yield srv
    srv.stop()


def test_a_released_account_can_still_be_updated_by_entra(server: Any) -> None:
    org = scim_org(server)
    try:
        created = org.client.post("/Users", json=user_body("ann@corp.example.com", external_id="o1",
                                                           email="ann@corp.example.com"),
                                  headers={"Content-Type": SCIM_JSON})
        assert created.status_code == 201, created.text
        with admin_client(server) as admin:
            user = admin.get(f"/orgs/{org.org_id}/users", params={"email": "ann@corp.example.com"}).json()
            [u] = user["items"]
            released = admin.post(f"/orgs/{org.org_id}/users/{u['id']}/release-email",
                                  json={"email": "ann@corp.example.com", "expected_version": u["version"]})
            assert released.status_code == 200, released.text
            assert released.json()["primary_email"].endswith(".invalid")
        patched = org.client.patch(f"/Users/{created.json()['id']}", headers={"Content-Type": SCIM_JSON},
                                   json=patch_body({"op": "Replace", "path": "displayName",
                                                    "value": "Ann Renamed"}))
        assert patched.status_code in (200, 204), patched.text
        got = org.client.get(f"/Users/{created.json()['id']}").json()
        assert got["displayName"] == "Ann Renamed"
        assert got["emails"][0]["value"].endswith(".invalid")  # stored and served as it was
    finally:
        org.close()


@pytest.mark.parametrize("address", ["check@example.invalid", "Q.A+tag@sub.northwind.test",
                                     "o'brien@corp.example.com"])
def test_special_use_and_unusual_but_valid_addresses_are_accepted(server: Any, address: str) -> None:
    org = scim_org(server)
    try:
        r = org.client.post("/Users", json=user_body(address, email=address),
                            headers={"Content-Type": SCIM_JSON})
        assert r.status_code == 201, r.text
        assert r.json()["emails"][0]["value"] == address  # values come back exactly as sent
    finally:
        org.close()


@pytest.mark.parametrize("address", ["no-at-sign", "two@@example.com", "spaces in@example.com", "a@b", ""])
def test_malformed_addresses_are_still_refused_with_a_scim_error(server: Any, address: str) -> None:
    org = scim_org(server)
    try:
        user_name = "u" + address.replace(" ", "") + "@x.com"
        r = org.client.post("/Users", json=user_body(user_name, email=address),
                            headers={"Content-Type": SCIM_JSON})
        assert r.status_code == 400, r.text
        body = r.json()
        assert body["status"] == "400"
        assert body["scimType"] == "invalidValue"
        assert "emails[0].value" in body["detail"]
    finally:
        org.close()
