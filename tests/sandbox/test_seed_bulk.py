"""First start and training resets: small orgs at once, Tailspin's bulk after, an interrupted fill
completed exactly, and ``reset`` restoring the seed (refused while a sandbox has the file open)."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from console.sandbox import seed_bulk
from console.sandbox.db import make_engine, make_sessionmaker
from console.sandbox.reset import DatabaseInUseError, remove_database, reset_database
from console.sandbox.seed import ensure_seeded, seed
from console.sandbox.seed_bulk import TailspinSize, fill, pending_size
from console.sandbox.server import SandboxServer

# Big enough for several chunks of each kind, small enough to be quick.
SIZE = TailspinSize(users=3 * seed_bulk.USER_CHUNK, events=2 * seed_bulk.EVENT_CHUNK)
SMALL_ORGS = {"acme", "contoso", "fabrikam", "northwind"}


def _rows(path: Path, sql: str) -> list[tuple[object, ...]]:
    with sqlite3.connect(path) as conn:
        return conn.execute(sql).fetchall()


def _count(path: Path, table: str, org: str = "tailspin") -> int:
    return int(_rows(path, f"SELECT count(*) FROM {table} WHERE org_id = '{org}'")[0][0])


@pytest.fixture
def sized(monkeypatch: pytest.MonkeyPatch) -> TailspinSize:
    monkeypatch.setitem(seed_bulk.TAILSPIN, "small", SIZE)
    return SIZE


def test_quick_seed_has_every_org_and_leaves_only_tailspins_bulk_pending(tmp_path: Path, sized) -> None:
    db = tmp_path / "q.db"
    engine = make_engine(db)
    with make_sessionmaker(engine)() as session:
        assert ensure_seeded(session, "small") is True
        assert pending_size(session) == SIZE
    engine.dispose()
    assert {r[0] for r in _rows(db, "SELECT id FROM orgs")} == SMALL_ORGS | {"tailspin"}
    assert _count(db, "users") == 0
    assert _count(db, "provisioning_log") == 0
    assert _rows(db, "SELECT count(*) FROM users WHERE org_id = 'northwind'")[0][0] > 0
    # Tailspin's shell is there: SCIM on, its all-users template, a token.
    assert _rows(db, "SELECT enabled FROM scim_settings WHERE org_id = 'tailspin'") == [(1,)]
    assert _rows(db, "SELECT applies_to_all FROM templates WHERE org_id = 'tailspin'") == [(1,)]


def test_an_interrupted_fill_leaves_no_marker_and_the_next_start_completes_it_exactly(tmp_path: Path,
                                                                                      sized) -> None:
    db = tmp_path / "i.db"
    engine = make_engine(db)
    with make_sessionmaker(engine)() as session:
        ensure_seeded(session, "small")
    reported: list[int] = []

    def cancelled() -> bool:  # the console quits after the first chunk was written
        return len(reported) >= 2

    assert fill(engine, SIZE, progress=lambda done, _t: reported.append(done), cancelled=cancelled) is False
    with make_sessionmaker(engine)() as session:
        assert pending_size(session) == SIZE  # still pending: no marker
    engine.dispose()
    assert 0 < _count(db, "users") < SIZE.users  # a partial fill is on disk

    with SandboxServer(db, seed="small") as server:  # "wait": completed before it answers
        assert server.bulk.state == "done"
    assert _count(db, "users") == SIZE.users  # wiped and refilled: no duplicate, nothing missing
    assert _count(db, "user_emails") >= SIZE.users
    assert _count(db, "provisioning_log") == SIZE.events
    names = _rows(db, "SELECT user_name FROM users WHERE org_id = 'tailspin'")
    assert len({r[0] for r in names}) == SIZE.users


def test_the_fill_is_deterministic_and_equals_a_full_seed(tmp_path: Path, sized) -> None:
    full = tmp_path / "full.db"
    engine = make_engine(full)
    with make_sessionmaker(engine)() as session:
        seed(session, "small")
    engine.dispose()
    with SandboxServer(tmp_path / "bg.db", seed="small", bulk="background") as server:
        bulk = server.bulk
        assert server._bulk_thread is not None
        server._bulk_thread.join(timeout=600)  # waits for the fill itself, not for a time
        assert bulk.state == "done"
        assert bulk.done == bulk.total == SIZE.rows
        assert bulk.percent == 100
    sql = ("SELECT id, scim_id, user_name, external_id, active, created_via FROM users "
           "WHERE org_id = 'tailspin' ORDER BY id")
    assert _rows(full, sql) == _rows(tmp_path / "bg.db", sql)
    sql = ("SELECT method, path, status, outcome, error_code FROM provisioning_log "
           "WHERE org_id = 'tailspin' ORDER BY id")
    assert _rows(full, sql) == _rows(tmp_path / "bg.db", sql)


def test_a_background_fill_serves_the_small_orgs_at_once_and_stop_interrupts_it(tmp_path: Path) -> None:
    """With the real demo size: the server answers before Tailspin is filled; stopping leaves it to the
    next start (which the test above proves completes it)."""
    db = tmp_path / "demo.db"
    server = SandboxServer(db, seed="demo", bulk="background").start()
    try:
        orgs = httpx.get(f"{server.admin_url}/orgs", trust_env=False,
                         headers={"Authorization": f"Bearer {server.operator_token}"}).json()["items"]
        assert {o["id"] for o in orgs} == SMALL_ORGS | {"tailspin"}
        assert server.bulk.state in ("filling", "done")
        assert server.bulk.total == seed_bulk.TAILSPIN["demo"].rows
    finally:
        server.stop()
    assert server.bulk.state in ("stopped", "done")
    if server.bulk.state == "stopped":
        engine = make_engine(db)
        with make_sessionmaker(engine)() as session:
            assert pending_size(session) == seed_bulk.TAILSPIN["demo"]
        engine.dispose()


def test_reset_restores_the_seed_and_is_refused_while_a_sandbox_has_the_file_open(tmp_path: Path) -> None:
    db = tmp_path / "r.db"
    with SandboxServer(db, seed="small") as server:
        headers = {"Authorization": f"Bearer {server.operator_token}"}
        r = httpx.post(f"{server.admin_url}/orgs/contoso/scim/enable", trust_env=False,
                       headers={**headers, "Idempotency-Key": "k1"})
        assert r.status_code == 201
        with pytest.raises(DatabaseInUseError, match="in use by a running sandbox"):
            reset_database(db, "small")
        with pytest.raises(DatabaseInUseError, match="in use"):
            remove_database(db)
        assert db.is_file()  # refused: nothing removed
    assert _rows(db, "SELECT enabled FROM scim_settings WHERE org_id = 'contoso'") == [(1,)]
    counts = reset_database(db, "small")
    assert counts == {"orgs": 5, "users": counts["users"], "events": counts["events"]}
    assert counts["users"] > 0
    assert _rows(db, "SELECT count(*) FROM scim_settings WHERE org_id = 'contoso' AND enabled = 1") == [(0,)]


def test_cli_reset_defaults_to_the_embedded_sandbox_and_says_what_it_did(console_home: Path) -> None:
    env_cmd = [sys.executable, "-m", "console", "sandbox", "reset", "--seed", "small", "--json"]
    done = subprocess.run(env_cmd, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, done.stderr
    info = json.loads(done.stdout)
    assert info["ok"] is True
    assert Path(info["db_path"]) == console_home / "data" / "sandbox.db"
    assert info["orgs"] == 5
    assert _rows(Path(info["db_path"]), "SELECT count(*) FROM orgs") == [(5,)]

    with SandboxServer(Path(info["db_path"]), seed="small"):
        refused = subprocess.run(env_cmd, capture_output=True, text=True, timeout=300, check=False)
    assert refused.returncode == 1
    body = json.loads(refused.stdout)
    assert body["ok"] is False
    assert "in use" in body["error"]
    assert "Reset training data" in body["hint"]
