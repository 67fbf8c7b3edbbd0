"""SCIM enable / token minting: Idempotency-Key replay, concurrency, token limits, no plaintext at rest."""

from __future__ import annotations

import sqlite3
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

from console.sandbox.server import SandboxServer
from tests.sandbox.admin_helpers import admin_client, error_code


def _db_bytes(server: SandboxServer) -> bytes:
    folder = Path(server.db_path).parent
    return b"".join(p.read_bytes() for p in folder.iterdir() if p.name.startswith(Path(server.db_path).name))


def _token_rows(server: SandboxServer, org: str = "acme") -> int:
    with sqlite3.connect(server.db_path) as conn:
        return conn.execute("SELECT count(*) FROM scim_tokens WHERE org_id = ?", (org,)).fetchone()[0]


def test_enable_returns_token_once_and_stores_only_its_hash(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        r = c.post(
            "/orgs/acme/scim/enable",
            headers={"Idempotency-Key": str(uuid.uuid4())},
            json={"token_lifetime_days": 30},
        )
        assert r.status_code == 201, r.text
        assert r.headers["cache-control"] == "no-store"
        body = r.json()
        token = body["token"]
        assert token.startswith("scim_")
        assert len(token) > 40
        assert body["scim_base_url"] == f"{fresh_sandbox.scim_base_url}/acme"
        info = body["token_info"]
        assert info["last_four"] == token[-4:]
        assert info["active"] is True
        assert info["revoked_at"] is None
        state = c.get("/orgs/acme/scim").json()
        assert state["enabled"] is True
        assert [t["id"] for t in state["tokens"]] == [info["id"]]
        assert token not in c.get("/orgs/acme/scim").text
        audit = c.get("/orgs/acme/audit").text
        assert info["fingerprint"] in audit
        assert token not in audit
        again = c.post("/orgs/acme/scim/enable", headers={"Idempotency-Key": str(uuid.uuid4())})
        assert again.status_code == 409
        assert error_code(again) == "scim_already_enabled"
        assert c.get("/orgs").json()["items"][0]["scim"]["active_tokens"] == 1
    assert token.encode() not in _db_bytes(fresh_sandbox)


def test_retry_with_same_key_replays_the_same_token_and_mints_nothing(fresh_sandbox: SandboxServer) -> None:
    key = str(uuid.uuid4())
    with admin_client(fresh_sandbox) as c:
        first = c.post("/orgs/acme/scim/enable", headers={"Idempotency-Key": key})
        second = c.post("/orgs/acme/scim/enable", headers={"Idempotency-Key": key})
    assert first.status_code == second.status_code == 201
    assert first.json() == second.json()
    assert _token_rows(fresh_sandbox) == 1
    data = _db_bytes(fresh_sandbox)
    assert first.json()["token"].encode() not in data  # the replay store holds ciphertext only
    assert key.encode() not in data


def test_concurrent_retries_mint_exactly_one_token(fresh_sandbox: SandboxServer) -> None:
    key = str(uuid.uuid4())

    def call(_: int) -> httpx.Response:
        with admin_client(fresh_sandbox) as c:
            return c.post("/orgs/acme/scim/enable", headers={"Idempotency-Key": key})

    with ThreadPoolExecutor(max_workers=8) as pool:
        responses = list(pool.map(call, range(8)))
    assert {r.status_code for r in responses} == {201}
    assert len({r.json()["token"] for r in responses}) == 1
    assert _token_rows(fresh_sandbox) == 1


def test_same_key_with_a_different_body_is_422(fresh_sandbox: SandboxServer) -> None:
    key = str(uuid.uuid4())
    with admin_client(fresh_sandbox) as c:
        assert (
            c.post(
                "/orgs/acme/scim/enable", headers={"Idempotency-Key": key}, json={"token_lifetime_days": 30}
            ).status_code
            == 201
        )
        r = c.post(
            "/orgs/acme/scim/enable", headers={"Idempotency-Key": key}, json={"token_lifetime_days": 31}
        )
        assert r.status_code == 422
        assert error_code(r) == "idempotency_key_reused"
        other_endpoint = c.post(
            "/orgs/acme/scim/tokens", headers={"Idempotency-Key": key}, json={"token_lifetime_days": 30}
        )
        assert other_endpoint.status_code == 422
        assert error_code(other_endpoint) == "idempotency_key_reused"
    assert _token_rows(fresh_sandbox) == 1


def test_at_most_two_active_tokens_then_revoke_frees_a_slot(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        first = c.post("/orgs/acme/scim/enable").json()["token_info"]
        second = c.post("/orgs/acme/scim/tokens", headers={"Idempotency-Key": "rot-1"})
        assert second.status_code == 201
        replay = c.post("/orgs/acme/scim/tokens", headers={"Idempotency-Key": "rot-1"})
        assert replay.json() == second.json()  # replay does not hit the limit
        third = c.post("/orgs/acme/scim/tokens", headers={"Idempotency-Key": "rot-2"})
        assert third.status_code == 409
        assert error_code(third) == "too_many_active_tokens"
        revoked = c.delete(f"/orgs/acme/scim/tokens/{first['id']}")
        assert revoked.status_code == 200
        assert revoked.json()["active"] is False
        assert revoked.json()["revoked_at"] is not None
        assert c.post("/orgs/acme/scim/tokens", headers={"Idempotency-Key": "rot-3"}).status_code == 201
        assert c.delete("/orgs/acme/scim/tokens/tok_nope").status_code == 404
        tokens = c.get("/orgs/acme/scim").json()["tokens"]
        assert [t["active"] for t in tokens] == [False, True, True]
        actions = [a["action"] for a in c.get("/orgs/acme/audit").json()["items"]]
        assert actions.count("scim.token.create") == 3
        assert actions.count("scim.token.revoke") == 1
    assert _token_rows(fresh_sandbox) == 3


def test_invalid_idempotency_key_is_400(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        r = c.post("/orgs/acme/scim/enable", headers={"Idempotency-Key": "k" * 300})
        assert r.status_code == 400
        assert error_code(r) == "invalid_idempotency_key"
        assert c.get("/orgs/acme/scim").json()["enabled"] is False


def test_enable_unknown_org_is_404(fresh_sandbox: SandboxServer) -> None:
    with admin_client(fresh_sandbox) as c:
        r = c.post("/orgs/nope/scim/enable", headers={"Idempotency-Key": "k"})
    assert r.status_code == 404
    assert error_code(r) == "org_not_found"
