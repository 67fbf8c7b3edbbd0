"""Admin API: auth, organisations (SCIM/template status, counts), work areas, templates, audit."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
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


def test_health_needs_no_token(small: SandboxServer) -> None:
    with admin_client(small, token="") as c:
        body = c.get("/health").json()
    assert body["status"] == "ok"
    assert body["version"]


@pytest.mark.parametrize(
    "header", [None, "Bearer scop_wrong", "Basic abc", "Bearer", "bearer scim_notanoperator"]
)
def test_missing_or_bad_operator_token_is_401(small: SandboxServer, header: str | None) -> None:
    headers = {"Authorization": header} if header is not None else {}
    r = httpx.get(small.admin_url + "/orgs", headers=headers, trust_env=False)
    assert r.status_code == 401
    assert error_code(r) == "unauthorized"
    assert r.headers["www-authenticate"] == "Bearer"


def _by_id(client: httpx.Client) -> dict[str, Any]:
    return {o["id"]: o for o in client.get("/orgs").json()["items"]}


def test_orgs_list_shapes_and_statuses(client: httpx.Client, small: SandboxServer) -> None:
    orgs = _by_id(client)
    assert {"acme", "contoso", "fabrikam", "northwind", "tailspin"} <= set(orgs)
    contoso = orgs["contoso"]
    assert contoso["name"] == "Contoso Ltd"
    assert contoso["domains"] == ["contoso.com"]
    assert contoso["scim"] == {
        "enabled": False,
        "active_tokens": 0,
        "scim_base_url": f"{small.scim_base_url}/contoso",
    }
    assert contoso["template"] == {
        "status": "ok",
        "template_id": "tpl_contoso_all",
        "template_name": "All staff",
    }
    assert contoso["user_counts"]["total"] == 40
    counts = contoso["user_counts"]
    assert counts["active"] + counts["inactive"] == counts["total"]
    assert counts["manual"] + counts["invite"] + counts["scim"] == counts["total"]
    assert orgs["fabrikam"]["template"]["status"] == "missing"
    assert orgs["fabrikam"]["user_counts"]["total"] == 25
    assert orgs["northwind"]["scim"]["enabled"] is True
    assert orgs["northwind"]["scim"]["active_tokens"] == 1
    assert 55 <= orgs["northwind"]["user_counts"]["total"] <= 65
    assert orgs["acme"]["user_counts"]["total"] == 0
    assert orgs["acme"]["template"]["status"] == "missing"


def test_orgs_search_and_pagination(client: httpx.Client) -> None:
    assert [o["id"] for o in client.get("/orgs", params={"q": "TRADERS"}).json()["items"]] == ["northwind"]
    seen: list[str] = []
    cursor = None
    while True:
        page = client.get("/orgs", params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
        assert len(page["items"]) <= 2
        seen += [o["id"] for o in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == sorted(seen)
    assert len(seen) == len(set(seen)) == 5


def test_bad_cursor_and_limit(client: httpx.Client) -> None:
    r = client.get("/orgs", params={"cursor": "garbage!"})
    assert r.status_code == 400
    assert error_code(r) == "invalid_cursor"
    user_cursor = client.get("/orgs/contoso/users", params={"limit": 1}).json()["next_cursor"]
    assert error_code(client.get("/orgs", params={"cursor": user_cursor})) == "invalid_cursor"
    r = client.get("/orgs", params={"limit": 501})
    assert r.status_code == 422
    assert error_code(r) == "validation_error"


def test_org_detail_and_unknown_org(client: httpx.Client) -> None:
    detail = client.get("/orgs/contoso").json()
    assert detail["work_area_count"] == 4
    assert detail["group_count"] == 1
    r = client.get("/orgs/nope")
    assert r.status_code == 404
    assert error_code(r) == "org_not_found"
    for path in ("/orgs/nope/users", "/orgs/nope/scim", "/orgs/nope/provisioning-log", "/orgs/nope/audit"):
        assert client.get(path).status_code == 404, path


def test_template_status_transitions_and_audit(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        assert c.get("/orgs/acme").json()["template"]["status"] == "missing"
        tpl = c.post("/orgs/acme/templates", json={"name": "Everyone", "applies_to_all": True}).json()
        assert tpl["work_area_ids"] == []
        assert tpl["role"] == "member"
        status = c.get("/orgs/acme").json()["template"]
        assert status == {"status": "no_work_areas", "template_id": tpl["id"], "template_name": "Everyone"}
        area = c.post("/orgs/acme/work-areas", json={"name": "Shop floor"})
        assert area.status_code == 201
        dup = c.post("/orgs/acme/work-areas", json={"name": "Shop floor"})
        assert dup.status_code == 409
        assert error_code(dup) == "work_area_exists"
        bad = c.patch(f"/orgs/acme/templates/{tpl['id']}", json={"work_area_ids": ["wa_missing"]})
        assert bad.status_code == 422
        assert error_code(bad) == "unknown_work_area"
        ok = c.patch(f"/orgs/acme/templates/{tpl['id']}", json={"work_area_ids": [area.json()["id"]]})
        assert ok.status_code == 200
        assert ok.json()["work_area_ids"] == [area.json()["id"]]
        assert c.get("/orgs/acme").json()["template"]["status"] == "ok"
        assert c.patch("/orgs/acme/templates/tpl_nope", json={"name": "x"}).status_code == 404
        assert [t["id"] for t in c.get("/orgs/acme/templates").json()["items"]] == [tpl["id"]]
        actions = [a["action"] for a in c.get("/orgs/acme/audit").json()["items"]]
        assert actions[:3] == ["template.update", "work_area.create", "template.create"]
        entry = c.get("/orgs/acme/audit").json()["items"][0]
        assert entry["actor"] == "sandbox-operator"


def test_unknown_body_fields_are_rejected(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        r = c.post("/orgs/acme/work-areas", json={"name": "x", "secret": "s3cr3t-value"})
    assert r.status_code == 422
    assert error_code(r) == "validation_error"
    assert "s3cr3t-value" not in r.text  # validation errors never echo input


def test_db_path_fixture_is_real_sqlite(small: SandboxServer) -> None:
    assert Path(small.db_path).read_bytes()[:16] == b"SQLite format 3\x00"


def test_work_areas_and_audit_pages_cover_everything_once(fresh_sandbox: SandboxServer) -> None:
    """Keyset paging: ascending ids for work areas, newest first for the audit log."""
    with admin_client(fresh_sandbox) as c:
        for i in range(5):
            assert c.post("/orgs/acme/work-areas", json={"name": f"Area {i}"}).status_code == 201

        def walk(path: str) -> list[dict[str, Any]]:
            items: list[dict[str, Any]] = []
            cursor = None
            while True:
                page = c.get(path, params={"limit": 2, **({"cursor": cursor} if cursor else {})}).json()
                assert len(page["items"]) <= 2
                items += page["items"]
                cursor = page["next_cursor"]
                if cursor is None:
                    return items

        areas = walk("/orgs/acme/work-areas")
        audit = walk("/orgs/acme/audit")
    assert sorted(a["name"] for a in areas) == [f"Area {i}" for i in range(5)]
    assert [a["id"] for a in areas] == sorted(a["id"] for a in areas)
    created = [e for e in audit if e["action"] == "work_area.create"]
    assert [e["params"]["name"] for e in created] == [f"Area {i}" for i in reversed(range(5))]
    assert [e["id"] for e in audit] == sorted((e["id"] for e in audit), reverse=True)
