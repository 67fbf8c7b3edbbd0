"""Seed data: deterministic, the orgs the contract promises, and the big tailspin org in ``demo``."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from console.sandbox.db import make_engine, make_sessionmaker
from console.sandbox.seed import ensure_seeded, seed
from console.sandbox.server import SandboxServer
from tests.sandbox.admin_helpers import admin_client


def _seeded(path: Path, kind: str) -> Path:
    engine = make_engine(path)
    with make_sessionmaker(engine)() as session:
        seed(session, kind)
    engine.dispose()
    return path


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def test_small_seed_is_deterministic(tmp_path: Path) -> None:
    a = _seeded(tmp_path / "a.db", "small")
    b = _seeded(tmp_path / "b.db", "small")
    sql = "SELECT id, scim_id, org_id, user_name, external_id, active, created_via FROM users ORDER BY id"
    assert _rows(a, sql) == _rows(b, sql)
    sql = "SELECT org_id, method, path, status, outcome, error_code FROM provisioning_log ORDER BY id"
    assert _rows(a, sql) == _rows(b, sql)


def test_empty_seed_has_only_acme(tmp_path: Path) -> None:
    db = _seeded(tmp_path / "e.db", "empty")
    assert _rows(db, "SELECT id FROM orgs") == [("acme",)]
    assert _rows(db, "SELECT count(*) FROM users") == [(0,)]
    assert _rows(db, "SELECT count(*) FROM templates") == [(0,)]


def test_ensure_seeded_never_reseeds(tmp_path: Path) -> None:
    engine = make_engine(tmp_path / "p.db")
    factory = make_sessionmaker(engine)
    with factory() as session:
        assert ensure_seeded(session, "empty") is True
    with factory() as session:
        assert ensure_seeded(session, "small") is False
    with factory() as session, pytest.raises(ValueError):
        ensure_seeded(session, "bogus")
    engine.dispose()
    assert _rows(tmp_path / "p.db", "SELECT id FROM orgs") == [("acme",)]


def test_northwind_has_every_duplicate_pattern(tmp_path: Path) -> None:
    db = _seeded(tmp_path / "n.db", "small")
    users = _rows(
        db, "SELECT user_name, external_id, created_via, active FROM users WHERE org_id='northwind'"
    )
    names = {u[0] for u in users}
    assert {"jane.doe@northwindtraders.com", "jdoe@northwind.com"} <= names  # manual + SCIM twin
    assert {"mlee", "mark.lee@northwind.com"} <= names  # case-only duplicate (by email)
    assert "a.khan@northwind.onmicrosoft.com" in names  # userName ≠ primary email
    ext = [u[1] for u in users if u[1]]
    assert len(ext) != len(set(ext))  # two SCIM accounts with one externalId
    mailless = _rows(
        db,
        "SELECT count(*) FROM users u WHERE org_id='northwind' AND NOT EXISTS "
        "(SELECT 1 FROM user_emails e WHERE e.user_id = u.id)",
    )
    assert mailless[0][0] >= 1
    failed = _rows(db, "SELECT count(*) FROM provisioning_log WHERE org_id='northwind' AND status = 409")
    assert failed[0][0] >= 20
    total = _rows(db, "SELECT count(*) FROM provisioning_log WHERE org_id='northwind'")[0][0]
    assert 200 <= total <= 500


def test_demo_seed_has_big_tailspin(sandbox: SandboxServer) -> None:
    """Uses the session-wide demo sandbox (50 000 users, 200 000 events in tailspin)."""
    with admin_client(sandbox) as c:
        orgs = {o["id"]: o for o in c.get("/orgs").json()["items"]}
        assert orgs["tailspin"]["user_counts"]["total"] == 50_000
        assert orgs["tailspin"]["template"]["status"] == "ok"
        assert orgs["contoso"]["scim"]["enabled"] is False
        assert orgs["contoso"]["template"]["status"] == "ok"
        assert orgs["fabrikam"]["template"]["status"] == "missing"
        assert orgs["northwind"]["scim"]["enabled"] is True
        deep = c.get("/orgs/tailspin/provisioning-log", params={"limit": 1}).json()["items"][0]
    with sqlite3.connect(sandbox.db_path) as conn:
        count = conn.execute("SELECT count(*) FROM provisioning_log WHERE org_id='tailspin'").fetchone()[0]
    assert count == 200_000
    assert deep["id"] > 0
