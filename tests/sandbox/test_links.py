"""One-time secure links: key only in the URL, Reveal by POST, burn after one view, 410 afterwards."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx

from console.sandbox.server import SandboxServer
from tests.sandbox.admin_helpers import admin_client, error_code

SECRET = "scim_<script>alert('x')</script>-ThisIsTheSecretValue-42"


def _db_bytes(server: SandboxServer) -> bytes:
    folder = Path(server.db_path).parent
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(Path(server.db_path).name))


def _ciphertext(server: SandboxServer, link_id: str) -> bytes | None:
    with sqlite3.connect(server.db_path) as conn:
        return conn.execute("SELECT ciphertext FROM secure_links WHERE id = ?", (link_id,)).fetchone()[0]


def test_link_reveals_once_then_burns(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        created = c.post(
            "/secure-links", json={"secret": SECRET, "org_id": "acme", "label": "Acme SCIM token"}
        )
        assert created.status_code == 201, created.text
        link = created.json()
        url = link["url"]
        assert url.startswith(f"{fresh_sandbox.base_url}/s/{link['id']}/")
        key = url.rsplit("/", 1)[1]
        assert SECRET.encode() not in _db_bytes(fresh_sandbox)
        assert key.encode() not in _db_bytes(fresh_sandbox)
        assert _ciphertext(fresh_sandbox, link["id"]) is not None
        assert c.get(f"/secure-links/{link['id']}").json()["state"] == "pending"

        with httpx.Client(trust_env=False) as browser:
            landing = browser.get(url)
            assert landing.status_code == 200
            assert "Reveal" in landing.text
            assert "ThisIsTheSecretValue" not in landing.text
            assert browser.get(url).status_code == 200  # GETs (link unfurlers) never burn
            shown = browser.post(url)
            assert shown.status_code == 200
            assert "ThisIsTheSecretValue" in shown.text
            assert "<script>alert" not in shown.text
            assert "&lt;script&gt;" in shown.text
            for response in (landing, shown):
                assert response.headers["cache-control"].startswith("no-store")
                assert response.headers["referrer-policy"] == "no-referrer"
            assert browser.post(url).status_code == 410
            assert browser.get(url).status_code == 410

        info = c.get(f"/secure-links/{link['id']}").json()
        assert info["state"] == "viewed"
        assert info["viewed_at"] is not None
        assert _ciphertext(fresh_sandbox, link["id"]) is None
        actions = [a["action"] for a in c.get("/orgs/acme/audit").json()["items"]]
        assert actions[:2] == ["secure_link.view", "secure_link.create"]
        assert SECRET not in c.get("/orgs/acme/audit").text
    assert SECRET.encode() not in _db_bytes(fresh_sandbox)


def test_wrong_key_does_not_burn(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        link = c.post("/secure-links", json={"secret": "s"}).json()
    base, _key = link["url"].rsplit("/", 1)
    with httpx.Client(trust_env=False) as browser:
        assert browser.post(base + "/AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").status_code == 404
        assert browser.post(base + "/short").status_code == 404
        assert browser.get(f"{fresh_sandbox.base_url}/s/sl_unknown/abc").status_code == 404
        assert browser.post(link["url"]).status_code == 200


def test_revoked_link_is_gone_and_wiped(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        link = c.post("/secure-links", json={"secret": "to-revoke", "expires_in_hours": 1}).json()
        revoked = c.delete(f"/secure-links/{link['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["state"] == "revoked"
        assert c.get("/secure-links/sl_missing").status_code == 404
    assert _ciphertext(fresh_sandbox, link["id"]) is None
    with httpx.Client(trust_env=False) as browser:
        assert browser.post(link["url"]).status_code == 410


def test_expired_link_is_gone_and_wiped(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        link = c.post("/secure-links", json={"secret": "old"}).json()
        with sqlite3.connect(fresh_sandbox.db_path) as conn:
            conn.execute(
                "UPDATE secure_links SET expires_at = '2020-01-01 00:00:00.000000' WHERE id = ?",
                (link["id"],),
            )
        assert c.get(f"/secure-links/{link['id']}").json()["state"] == "expired"
    assert _ciphertext(fresh_sandbox, link["id"]) is None
    with httpx.Client(trust_env=False) as browser:
        assert browser.get(link["url"]).status_code == 410


def test_expiry_bounds_and_validation(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        assert c.post("/secure-links", json={"secret": "x", "expires_in_hours": 721}).status_code == 422
        assert c.post("/secure-links", json={"secret": "x", "expires_in_hours": 0}).status_code == 422
        assert c.post("/secure-links", json={"secret": ""}).status_code == 422
        r = c.post("/secure-links", json={"secret": "x", "org_id": "nope"})
        assert r.status_code == 422
        assert error_code(r) == "unknown_org"
        ok = c.post("/secure-links", json={"secret": "x", "expires_in_hours": 720})
        assert ok.status_code == 201
    assert (
        httpx.post(
            fresh_sandbox.admin_url + "/secure-links", json={"secret": "x"}, trust_env=False
        ).status_code
        == 401
    )
