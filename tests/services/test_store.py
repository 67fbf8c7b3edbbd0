"""Local store: SQLite durability pragmas, the migration ladder (incl. the checked-in v1 file),
the append-only audit trail and its filters, profiles. Runs on a real SQLite file; the same
tests run on PostgreSQL when ``SCIM_CONSOLE_TEST_PG_URL`` is set (marker ``postgres``)."""

from __future__ import annotations

import dataclasses
import os
import shutil
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, inspect, text
from sqlalchemy.exc import DBAPIError

from console.core.errors import UserFacingError
from console.core.models import AuditFilter, Profile
from console.services.paths import AppPaths
from console.services.store import Store
from console.services.store.audit import scrub
from console.services.store.engine import make_engine, resolve_url, sqlite_pragmas
from console.services.store.migrations import STEPS, SchemaTooNewError, applied_versions, migrate
from console.services.store.profiles import ProfileError
from console.services.store.schema import SCHEMA_VERSION, metadata

DATA = Path(__file__).resolve().parents[1] / "data" / "db"
PG_URL = os.environ.get("SCIM_CONSOLE_TEST_PG_URL")


def _pg_store() -> Iterator[Store]:
    """A fresh PostgreSQL schema per test (search_path), dropped afterwards."""
    if not PG_URL:
        pytest.skip("SCIM_CONSOLE_TEST_PG_URL not set")
    schema = "t_" + uuid.uuid4().hex[:10]
    admin = create_engine(PG_URL)
    with admin.begin() as conn:
        conn.exec_driver_sql(f"CREATE SCHEMA {schema}")
    sep = "&" if "?" in PG_URL else "?"
    store = Store.open(f"{PG_URL}{sep}options=-csearch_path%3D{schema}")
    try:
        yield store
    finally:
        store.close()
        with admin.begin() as conn:
            conn.exec_driver_sql(f"DROP SCHEMA {schema} CASCADE")
        admin.dispose()


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "postgres":
        yield from _pg_store()
        return
    with Store.open(f"sqlite:///{tmp_path / 'console.db'}") as s:
        yield s


# ---- engine and URL resolution
def test_url_resolution_order(monkeypatch: pytest.MonkeyPatch, console_home: Path) -> None:
    assert resolve_url("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_url() == f"sqlite:///{console_home / 'data' / 'console.db'}"
    monkeypatch.setenv("SCIM_CONSOLE_DB_URL", "sqlite:///from-env.db")
    assert resolve_url() == "sqlite:///from-env.db"


def test_default_store_lives_in_the_data_dir(console_home: Path) -> None:
    with Store.open() as s:
        s.audit.record("app.start")
    assert (AppPaths.default().data_dir / "console.db").is_file()


def test_sqlite_pragmas_on_every_connection(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'p.db'}")
    try:
        for _ in range(2):  # a second pooled/new connection gets them too
            with engine.connect() as conn:
                conn.invalidate()  # force a brand-new DBAPI connection next time
            assert sqlite_pragmas(engine) == {"journal_mode": "wal", "synchronous": 2, "foreign_keys": 1,
                                              "busy_timeout": 5000}
    finally:
        engine.dispose()


# ---- migrations
def test_fresh_database_is_migrated_to_latest_and_matches_schema_module(store: Store) -> None:
    assert store.schema_version == SCHEMA_VERSION == len(STEPS)
    assert applied_versions(store.engine) == list(range(1, SCHEMA_VERSION + 1))
    insp = inspect(store.engine)
    for table in metadata.sorted_tables:
        db_cols = {c["name"] for c in insp.get_columns(table.name)}
        assert db_cols == {c.name for c in table.columns}, table.name
        db_indexes = {i["name"] for i in insp.get_indexes(table.name)}
        assert {i.name for i in table.indexes} <= db_indexes, table.name
    assert migrate(store.engine) == SCHEMA_VERSION  # idempotent


@pytest.mark.parametrize("released", sorted(DATA.glob("v*.sqlite")), ids=lambda p: p.stem)
def test_every_released_schema_file_upgrades_and_keeps_its_data(released: Path, tmp_path: Path) -> None:
    copy = tmp_path / released.name
    shutil.copy(released, copy)
    with Store.open(f"sqlite:///{copy}") as s:
        assert s.schema_version == SCHEMA_VERSION
        names = [p.name for p in s.profiles.list()]
        assert names == ["Production EU", "Sandbox"]
        assert s.profiles.active().name == "Production EU"
        assert s.profiles.get("p2").is_sandbox is True
        old = s.audit.query()
        assert len(old) == 5
        assert old[0].action == "scim.enable"  # newest first
        assert old[0].ts == datetime(2026, 1, 5, 12, tzinfo=UTC)
        assert old[0].params == {"token_id": "tok_4"}
        assert old[0].detail is None  # column added by v2
        assert [r.outcome for r in s.audit.query(AuditFilter(outcome="error"))] == ["error"]
        new = s.audit.record("scim.enable", outcome="error", org_id="contoso",
                             detail="409 scim_already_enabled")
        assert s.audit.query(AuditFilter(text="already_enabled"))[0].id == new.id
        with pytest.raises(DBAPIError, match="append-only"), s.engine.begin() as conn:
            conn.execute(text("DELETE FROM audit_trail WHERE id = 1"))
    assert released.read_bytes() != copy.read_bytes()  # the checked-in file itself was not touched


def test_failed_step_rolls_back_completely(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite:///{tmp_path / 'm.db'}")

    def broken_v3(conn) -> None:
        conn.exec_driver_sql("CREATE TABLE half_done (id INTEGER)")
        conn.exec_driver_sql("ALTER TABLE audit_trail ADD COLUMN extra TEXT")
        raise RuntimeError("boom in the middle of v3")

    try:
        migrate(engine)
        with pytest.raises(RuntimeError, match="boom"):
            migrate(engine, steps=(*STEPS, broken_v3))
        insp = inspect(engine)
        assert not insp.has_table("half_done")
        assert "extra" not in {c["name"] for c in insp.get_columns("audit_trail")}
        assert applied_versions(engine) == list(range(1, len(STEPS) + 1))
    finally:
        engine.dispose()


def test_database_from_a_newer_console_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'n.db'}"
    with Store.open(url) as s, s.engine.begin() as conn:
        conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (99, '2030-01-01')"))
    with pytest.raises(SchemaTooNewError) as info:
        Store.open(url)
    assert isinstance(info.value, UserFacingError)
    assert "99" in str(info.value)


# ---- audit trail
def test_audit_is_append_only(store: Store) -> None:
    store.audit.record("org.view", org_id="contoso")
    for sql in ("UPDATE audit_trail SET outcome = 'ok'", "DELETE FROM audit_trail"):
        with pytest.raises(DBAPIError, match="append-only"), store.engine.begin() as conn:
            conn.execute(text(sql))
    assert store.audit.count() == 1


def test_audit_record_is_committed_before_returning(store: Store, tmp_path: Path) -> None:
    record = store.audit.record("scim.enable", org_id="acme", params={"token_id": "tok_1"})
    other = make_engine(str(store.engine.url)) if store.engine.dialect.name == "sqlite" else store.engine
    with other.connect() as conn:  # a different connection sees it immediately
        row = conn.execute(text("SELECT action FROM audit_trail WHERE id = :i"), {"i": record.id}).one()
    assert row.action == "scim.enable"


def test_audit_scrubs_secrets_from_params_and_detail(store: Store) -> None:
    token = "scim_" + "Z" * 40
    record = store.audit.record(
        "scim.enable", org_id="acme",
        params={"token": token, "scim_token": "x", "operator-token": "y", "token_id": "tok_9",
                "fingerprint": "abcd", "nested": [{"password": "hunter22"}], "note": f"sent {token}",
                "link": "https://p.example/s/lnk_1/KEYKEYKEYKEY"},
        detail=f"failed with Authorization: Bearer {token}")
    stored = store.audit.query(AuditFilter(action="scim.enable"))[0]
    assert stored.params == record.params
    dumped = repr(stored)
    assert token not in dumped
    assert "hunter22" not in dumped
    assert "KEYKEYKEYKEY" not in dumped
    assert stored.params["token_id"] == "tok_9"
    assert stored.params["fingerprint"] == "abcd"
    for key in ("token", "scim_token", "operator-token"):
        assert stored.params[key] == "[REDACTED]"
    assert scrub({"a": datetime(2026, 1, 1, tzinfo=UTC)}) == {"a": "2026-01-01T00:00:00+00:00"}


def test_audit_filters_combine_newest_first_with_paging(store: Store) -> None:
    t0 = datetime(2026, 3, 1, tzinfo=UTC)
    for i in range(30):
        store.audit.record("org.view" if i % 3 else "scim.enable", org_id=["contoso", "fabrikam"][i % 2],
                           outcome="error" if i % 5 == 0 else "ok", ts=t0 + timedelta(minutes=i),
                           detail=f"item {i:02d} 100%_done", actor="bob" if i == 7 else "alice")
    everything = store.audit.query(AuditFilter(limit=100))
    assert [r.ts for r in everything] == sorted((r.ts for r in everything), reverse=True)
    page2 = store.audit.query(AuditFilter(limit=10, offset=10))
    assert [r.detail for r in page2] == [r.detail for r in everything[10:20]]
    hits = store.audit.query(AuditFilter(org_id="contoso", action="scim.enable", outcome="error"))
    assert [r.detail[:7] for r in hits] == ["item 00"]  # i % 2 == 0, i % 3 == 0, i % 5 == 0
    assert len(store.audit.query(AuditFilter(org_id="contoso", action="scim.enable"))) == 5
    window = store.audit.query(AuditFilter(since=t0 + timedelta(minutes=10),
                                           until=t0 + timedelta(minutes=13)))
    assert [r.detail[:7] for r in window] == ["item 12", "item 11", "item 10"]
    assert [r.actor for r in store.audit.query(AuditFilter(text="BOB"))] == ["bob"]
    assert store.audit.query(AuditFilter(text="100%_")) != []  # LIKE wildcards are escaped…
    assert store.audit.query(AuditFilter(text="1%0")) == []    # …so they match literally


# ---- profiles
def test_profiles_crud_and_active(store: Store) -> None:
    repo = store.profiles
    assert repo.active() is None
    a = repo.add(Profile(id="", name="Prod", admin_url="https://admin.example.com/admin/v1/",
                         operator="alice"))
    b = repo.add(Profile(id="", name="Sandbox", admin_url="http://127.0.0.1:9/admin/v1", is_sandbox=True))
    assert a.admin_url == "https://admin.example.com/admin/v1"
    assert a.created_at is not None
    assert [p.name for p in repo.list()] == ["Prod", "Sandbox"]
    repo.set_active(b.id)
    assert repo.active() == b
    updated = repo.update(dataclasses.replace(a, name="Production"))
    assert repo.get(a.id).name == "Production" == updated.name
    with pytest.raises(ProfileError, match="already exists"):
        repo.add(Profile(id="", name="Production", admin_url="https://x.example"))
    assert repo.remove(b.id) is True
    assert repo.active() is None
    assert repo.remove(b.id) is False
    with pytest.raises(ProfileError):
        repo.set_active("nope")


@pytest.mark.parametrize("url", [
    "https://admin.example.com/admin/v1?token=abc123",
    "https://alice:pw@admin.example.com/admin/v1",
    "https://admin.example.com/scop_abcdefghijklmnopqrstuv",
    "ftp://admin.example.com",
])
def test_profiles_refuse_urls_that_would_store_a_secret(store: Store, url: str) -> None:
    with pytest.raises(ProfileError):
        store.profiles.add(Profile(id="", name="Bad", admin_url=url))
    assert store.profiles.list() == []


def test_app_state_roundtrip(store: Store) -> None:
    assert store.get_state("columns", {"x": 1}) == {"x": 1}
    store.set_state("columns", {"users": [120, 200]})
    store.set_state("columns", {"users": [100]})
    assert store.get_state("columns") == {"users": [100]}
