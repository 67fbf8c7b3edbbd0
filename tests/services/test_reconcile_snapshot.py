"""The reconcile snapshot survives any user the platform can hold (issue 14): huge and hostile values,
any Unicode — one record never breaks the run, a shortened value keeps its length and digest."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import update

from console.core.reconcile.findings import Account
from console.sandbox.db import User, make_engine, make_sessionmaker
from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.reconcile import ReconcileEngine, analyze_org
from console.services.reconcile.sources import DISPLAY_LIMIT, VALUE_LIMIT, bounded, write_snapshot

HOSTILE = ["a\x00b", 'x"y,z\n"', "\u202eevil", "😀 emoji", "\r\nline", "\ud800lone", "sep\x1fin",
           "x" * (3 * 1024 * 1024), "\ufeffbom", "", " "]


def test_bounded_keeps_the_length_and_a_digest_of_the_whole() -> None:
    assert bounded("short", 10) == "short"
    long = "é" * 5000
    digest = hashlib.sha256(long.encode("utf-8")).hexdigest()[:16]
    assert bounded(long, 8) == f"éééééééé…[5,000 characters, sha256 {digest}]"
    assert bounded(long, 8) != bounded(long[:-1] + "e", 8)  # two long values never compare equal


@pytest.mark.parametrize("value", HOSTILE, ids=range(len(HOSTILE)))
def test_one_hostile_record_does_not_break_the_analysis(tmp_path: Path, value: str) -> None:
    accounts = [Account("h1", f"{value}@corp.com" if len(value) < 100 else "huge@corp.com",
                        (f"{value}@corp.com",), display_name=value, external_id=value or None),
                Account("c1", "clean@corp.com", ("clean@corp.com",), display_name="Clean"),
                Account("c2", "CLEAN@corp.com", ("CLEAN@corp.com",), display_name="Clean")]
    path = tmp_path / "platform.csv"
    write_snapshot(path, accounts)
    with ReconcileEngine("t", workdir=tmp_path) as engine:
        assert engine.load_platform_snapshot(path) == 3
        engine.analyze()
        case = engine.findings(cls="case_only")
        assert [sorted(a.id for a in f.accounts) for f in case] == [["c1", "c2"]]  # the others are found
        shown = engine.con.execute("SELECT display_name FROM pu WHERE id = 'h1'").fetchone()[0] or ""
        assert len(shown) <= DISPLAY_LIMIT + 60


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("snapshot") / "platform.db", seed="small") as s:
        yield s


def test_a_50_mb_display_name_on_the_platform_neither_breaks_nor_hides_northwind(
        server: SandboxServer) -> None:
    engine_db = make_engine(server.db_path)
    huge = "Jane " + "D" * (50 * 1024 * 1024)
    with make_sessionmaker(engine_db)() as s:  # what the platform can hold (older data, another door)
        s.execute(update(User).where(User.org_id == "northwind", User.user_name == "svc-kiosk@northwind.com")
                  .values(display_name=huge))
        s.commit()
    engine_db.dispose()
    with AdminApiClient(server.base_url, server.operator_token) as client, \
            analyze_org(client, "northwind") as engine:
        names = {f.value for f in engine.findings(cls="manual_twin")}
        assert names == {"Jane Doe", "Ravi Patel", "Lucía Gómez"}
        kiosk = next(f for f in engine.findings(cls="no_email"))
        [account] = kiosk.accounts
        assert account.display_name is not None
        assert account.display_name.startswith("Jane DDDD")
        assert account.display_name.endswith(f"…[{len(huge):,} characters]")
        assert len(account.display_name) < DISPLAY_LIMIT + 60 < VALUE_LIMIT
