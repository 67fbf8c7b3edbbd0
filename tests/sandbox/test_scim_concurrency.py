"""Concurrent SCIM clients on one sandbox: no errors, every request logged exactly once, tokens marked.

The small, always-run cousin of ``tests/bench/bench_scim_load.py``: it guards the write gate in
``scim_api._run`` (one SCIM writer at a time, reads in parallel) against deadlocks, lost log events
and "database is locked" failures.
"""

from __future__ import annotations

import random
import sqlite3
import threading
import uuid
from collections.abc import Iterator

import httpx
import pytest

from tests.bench.bench_scim_load import MIX, Worker
from tests.sandbox.scim_helpers import ScimOrg, scim_org, start_server

CLIENTS = 8
PER_CLIENT = 30


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimOrg]:
    server = start_server(tmp_path_factory.mktemp("concurrency"))
    o = scim_org(server)
    yield o
    o.close()
    server.stop()


def _log_rows(org: ScimOrg) -> int:
    with sqlite3.connect(org.db_path) as conn:
        query = "SELECT count(*) FROM provisioning_log WHERE org_id = ?"
        return conn.execute(query, (org.org_id,)).fetchone()[0]


def test_eight_entra_workers_at_once_get_no_error_and_every_request_is_logged(org: ScimOrg) -> None:
    before = _log_rows(org)
    failures: list[str] = []
    done: list[int] = []
    ops = [op for op, weight in MIX for _ in range(weight)]
    start = threading.Barrier(CLIENTS)

    def client(n: int) -> None:
        rng = random.Random(n)
        with httpx.Client(base_url=org.base_url, headers={"Authorization": f"Bearer {org.token}"},
                          timeout=60, trust_env=False) as c:
            worker = Worker(n, c, rng)
            start.wait()
            for _ in range(PER_CLIENT):
                kind, r, expected = worker.run(rng.choice(ops))
                done.append(1)
                if r.status_code != expected:
                    failures.append(f"{kind}: {r.status_code} {r.text[:120]}")

    threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert failures == []
    assert len(done) == CLIENTS * PER_CLIENT
    assert _log_rows(org) - before == CLIENTS * PER_CLIENT  # one event per request, none lost


def test_last_used_is_written_at_the_end_of_reads_and_of_failed_requests(org: ScimOrg) -> None:
    def last_used() -> str | None:
        with sqlite3.connect(org.db_path) as conn:
            return conn.execute("SELECT max(last_used_at) FROM scim_tokens WHERE org_id = ?",
                                (org.org_id,)).fetchone()[0]

    assert org.client.get("/ServiceProviderConfig").status_code == 200
    first = last_used()
    assert first is not None
    assert org.client.get(f"/Users/{uuid.uuid4()}").status_code == 404  # authenticated, then failed
    assert last_used() > first
    bad = httpx.get(f"{org.base_url}/Users", headers={"Authorization": "Bearer scim_wrong"}, trust_env=False)
    assert bad.status_code == 401
