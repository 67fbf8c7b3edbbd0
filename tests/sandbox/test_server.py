"""SandboxServer: real uvicorn in a thread, port 0 read back, several per process, clean stop."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import httpx
import pytest

from console.sandbox.server import SandboxServer
from tests.sandbox.admin_helpers import admin_client


def test_two_servers_in_one_process_get_their_own_ports_and_databases(tmp_path: Path) -> None:
    with (
        SandboxServer(tmp_path / "a.db", seed="empty") as a,
        SandboxServer(tmp_path / "b.db", seed="small") as b,
    ):
        assert a.port != b.port
        assert a.port > 0
        assert b.port > 0
        assert a.base_url == f"http://127.0.0.1:{a.port}"
        assert a.admin_url == a.base_url + "/admin/v1"
        assert b.scim_base_url == b.base_url + "/scim/v2"
        assert a.operator_token.startswith("scop_")
        assert a.operator_token != b.operator_token
        with admin_client(a) as ca, admin_client(b) as cb:
            assert [o["id"] for o in ca.get("/orgs").json()["items"]] == ["acme"]
            assert "northwind" in [o["id"] for o in cb.get("/orgs").json()["items"]]
            # Each server only accepts its own operator token.
            assert ca.get("/orgs", headers={"Authorization": f"Bearer {b.operator_token}"}).status_code == 401


def test_stop_closes_the_port(tmp_path: Path) -> None:
    server = SandboxServer(tmp_path / "p.db", seed="empty").start()
    url = server.admin_url + "/health"
    assert httpx.get(url, trust_env=False).json()["status"] == "ok"
    server.stop()
    with pytest.raises(httpx.ConnectError):
        httpx.get(url, trust_env=False, timeout=2)


def test_existing_database_is_reused_not_reseeded(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with SandboxServer(db, seed="empty") as first:
        assert first.seeded is True
        with admin_client(first) as client:
            assert client.post("/orgs/acme/work-areas", json={"name": "Kept"}).status_code == 201
    with SandboxServer(db, seed="small") as second:
        assert second.seeded is False
        with admin_client(second) as client:
            assert [o["id"] for o in client.get("/orgs").json()["items"]] == ["acme"]
            names = [w["name"] for w in client.get("/orgs/acme/work-areas").json()["items"]]
            assert names == ["Kept"]


def test_operator_tokens_are_stored_only_as_hashes(tmp_path: Path) -> None:
    db = tmp_path / "p.db"
    with SandboxServer(db, seed="empty") as server:
        token = server.operator_token
        with sqlite3.connect(db) as conn:
            rows = conn.execute("SELECT token_hash FROM operator_tokens").fetchall()
        assert rows
        assert all(token not in r[0] for r in rows)
    data = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.name.startswith("p.db"))
    assert token.encode() not in data


def test_faults_are_not_available_yet(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        SandboxServer(tmp_path / "p.db", faults="latency")


def test_unknown_seed_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown seed"):
        SandboxServer(tmp_path / "p.db", seed="nope")


def test_port_in_use_fails_with_a_clear_error(tmp_path: Path) -> None:
    from console.sandbox.server import SandboxError

    with SandboxServer(tmp_path / "a.db", seed="empty") as a, pytest.raises(SandboxError):
        SandboxServer(tmp_path / "b.db", seed="empty", port=a.port).start()
