"""Benchmark: local audit-trail inserts per second with the shipped durability settings (WAL +
synchronous=FULL, one transaction per record) against a NORMAL baseline in the same process.

Run explicitly: ``.venv/bin/pytest -q -s tests/bench/test_bench_audit_store.py``
"""

from __future__ import annotations

import time
from pathlib import Path

from sqlalchemy import event

from console.services.store import Store

N = 500


def _rate(store: Store) -> float:
    started = time.perf_counter()
    for i in range(N):
        store.audit.record("bench.insert", org_id="contoso", params={"i": i, "token_id": "tok_1"})
    return N / (time.perf_counter() - started)


def test_audit_insert_rate(tmp_path: Path) -> None:
    with Store.open(f"sqlite:///{tmp_path / 'full.db'}") as full:
        full_rate = _rate(full)
        query_started = time.perf_counter()
        rows = full.audit.query()
        query_ms = (time.perf_counter() - query_started) * 1000

    normal = Store.open(f"sqlite:///{tmp_path / 'normal.db'}")
    event.listen(normal.engine, "connect", lambda c, _r: c.execute("PRAGMA synchronous=NORMAL"))
    normal.engine.dispose()  # new connections pick up the baseline setting
    try:
        normal_rate = _rate(normal)
    finally:
        normal.close()

    print(f"\naudit inserts/s  WAL+FULL: {full_rate:8.0f}   WAL+NORMAL (baseline): {normal_rate:8.0f}   "
          f"ratio FULL/NORMAL: {full_rate / normal_rate:.2f}   newest-200 query: {query_ms:.1f} ms")
    assert len(rows) == 200
    assert full_rate > 100  # an audit trail needs a handful per minute
