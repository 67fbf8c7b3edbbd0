"""Benchmark of the offline log engine (issue 5), every figure as a ratio to baselines of the same run.

    .venv/bin/python tests/bench/bench_logs.py [N=1000000] [--dir /tmp/bench-logs] [--keep]

Baselines: warm ``cat`` of the file and DuckDB ``read_json`` with an explicit lean schema (the
performance-notes §7.3 statement). Each load runs in a fresh subprocess so peak RSS is its own.
Queries (30 randomised runs): structured filter, free text, sort to first page, random page.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

LEAN = """
import duckdb, resource, sys, time
p = sys.argv[1]
cols = {"id": "VARCHAR", "activityDateTime": "TIMESTAMP", "jobId": "VARCHAR", "changeId": "VARCHAR",
        "provisioningAction": "VARCHAR",
        "provisioningStatusInfo":
            "STRUCT(status VARCHAR, errorInformation STRUCT(errorCode VARCHAR, reason VARCHAR))",
        "sourceIdentity": "STRUCT(id VARCHAR, displayName VARCHAR)",
        "targetIdentity": "STRUCT(id VARCHAR, displayName VARCHAR)"}
con = duckdb.connect()
t = time.perf_counter()
con.execute(f'''CREATE TABLE t AS SELECT id, activityDateTime AS ts, jobId, changeId, provisioningAction,
    provisioningStatusInfo.status AS status, provisioningStatusInfo.errorInformation.errorCode AS errorCode,
    sourceIdentity.displayName AS sourceName, targetIdentity.id AS targetId
    FROM read_json('{p}', format='array', columns={cols!r}, maximum_object_size=104857600)''')
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

OURS = """
import resource, sys, time
from pathlib import Path
from console.services.logstore import LogCatalog
cat = LogCatalog(Path(sys.argv[2]))
t = time.perf_counter()
info, report = cat.import_file(Path(sys.argv[1]))
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, info.id)
"""


def _sub(code: str, *args: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True,
                         cwd=ROOT).stdout
    return out.strip().splitlines()[-1].split()


def _cat(path: Path) -> float:
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)  # warm the page cache
    t = time.perf_counter()
    subprocess.run(["cat", str(path)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--dir", default="/tmp/bench-logs")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    from tests import logs_data

    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    src = d / f"prov_{a.n}.json"
    if not src.exists():
        t = time.perf_counter()
        logs_data.write(src, a.n)
        print(f"generated {src} ({src.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s")
    size = src.stat().st_size
    results: dict[str, object] = {"n": a.n, "bytes": size}

    cat_s = _cat(src)
    lean_s, lean_rss = map(float, _sub(LEAN, str(src)))
    ours_s, ours_rss, dataset_id = _sub(OURS, str(src), str(d / "logs"))
    ours_s, ours_rss = float(ours_s), float(ours_rss)
    results.update(cat_s=cat_s, duckdb_lean_s=lean_s, duckdb_lean_rss_mb=lean_rss, import_s=ours_s,
                   import_rss_mb=ours_rss, import_vs_cat=ours_s / cat_s,
                   import_vs_duckdb_lean=ours_s / lean_s)
    print(f"warm cat {cat_s:.2f} s | duckdb lean read_json {lean_s:.2f} s ({lean_s / cat_s:.0f}x cat, "
          f"{lean_rss:.0f} MB) | our import {ours_s:.2f} s ({ours_s / cat_s:.0f}x cat, "
          f"{ours_s / lean_s:.2f}x duckdb lean, peak RSS {ours_rss:.0f} MB)")

    from console.services.logstore import LogCatalog, LogFilter

    cat = LogCatalog(d / "logs")
    ds = cat.open(dataset_id)
    rng = random.Random(1)
    start = datetime(2026, 10, 1, tzinfo=UTC)

    def timed(fn) -> list[float]:
        out = []
        for _ in range(30):
            t = time.perf_counter()
            fn()
            out.append((time.perf_counter() - t) * 1000)
        return out

    def structured() -> None:
        s = start + timedelta(days=rng.randrange(27))
        ds.query(LogFilter(status="failure", error_code=rng.choice(logs_data.ERRORS), since=s,
                           until=s + timedelta(days=3), job=rng.choice(logs_data.JOBS)), page_size=200)

    def text() -> None:
        ds.query(LogFilter(text=f"{rng.choice(logs_data.LAST).lower()}{rng.randrange(5000)}@"), page_size=200)

    sort_cols = ["time", "action", "status", "error_code", "source_upn", "target_id", "job_id", "cycle_id",
                 "duration_ms"]

    def sort() -> None:
        ds.query(sort=rng.choice(sort_cols), descending=rng.random() < 0.5, page_size=256)

    views: list[str] = []

    def page() -> None:  # the view must be the newest one (older views are dropped)
        if not views:
            views.append(ds.query(page_size=256).view)
        assert len(ds.rows(views[0], rng.randrange(a.n - 256), 256)) == 256

    for name, fn in (("structured_filter", structured), ("text_search", text), ("sort_first_page", sort),
                     ("random_page", page)):
        ms = timed(fn)
        results[f"{name}_p50_ms"] = statistics.median(ms)
        results[f"{name}_p95_ms"] = _p(ms, 0.95)
        print(f"{name:18s} p50 {statistics.median(ms):8.1f} ms  p95 {_p(ms, 0.95):8.1f} ms")
    # the first scroll past page 1 after a sort materialises the numbered view once
    mats = []
    for col in ("source_upn", "time", "duration_ms"):
        res = ds.query(sort=col, page_size=256)
        t = time.perf_counter()
        ds.rows(res.view, a.n // 2, 256)
        mats.append((time.perf_counter() - t) * 1000)
    results["view_materialise_ms_max"] = max(mats)
    print(f"first scroll after sort (materialise view): {', '.join(f'{m:.0f}' for m in mats)} ms")
    ds.close()

    # cancel latency: interrupt an import 1 s in
    flag = threading.Event()
    box: dict[str, float] = {}

    def run() -> None:
        try:
            cat.import_file(src, cancelled=flag.is_set)
        except BaseException:  # noqa: BLE001 - Cancelled expected
            box["end"] = time.perf_counter()

    th = threading.Thread(target=run)
    th.start()
    time.sleep(1.0)
    box["start"] = time.perf_counter()
    flag.set()
    th.join()
    results["cancel_ms"] = (box["end"] - box["start"]) * 1000
    print(f"cancel latency {results['cancel_ms']:.0f} ms")
    print(json.dumps(results))
    if not a.keep:
        cat.delete(dataset_id)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
