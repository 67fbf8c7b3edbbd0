"""Benchmark of the offline log engine (issue 5): every figure as a ratio to baselines of the same run.

    .venv/bin/python tests/bench/bench_logs.py [N=1000000] [--dir /tmp/bench-logs] [--scaling 100000]

Baselines (same file, same run): warm ``cat``; DuckDB ``read_json`` with the explicit *lean* schema of
performance-notes §7.3 (9 display fields); and a bare ``read_json`` with our own stage-1 schema into a
memory table (no mapping, no sequence), which is the floor of stage 1. Each load runs in a fresh
subprocess so its peak RSS is its own. Ours is timed in its three steps: *queryable* (stage 1, in
memory), *saved* (copied to the dataset file), *complete* (search text + details, second scan).
Queries: 30 randomised runs each at N (structured filter, free text before and after the search table,
sort → first page, random page, numbering the view = what a jump to the end waits for).
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

OWN_SCHEMA = """
import duckdb, resource, sys, time
from console.core.entra_log_schema import typed_columns
p = sys.argv[1]
con = duckdb.connect()
t = time.perf_counter()
con.execute(f"CREATE TABLE t AS SELECT * FROM read_json('{p}', format='array', records='true', "
            f"columns={typed_columns()!r}, maximum_object_size=268435456)")
print(time.perf_counter() - t, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""

OURS = """
import json, resource, sys, time
from pathlib import Path
from console.services.logstore import LogCatalog
cat = LogCatalog(Path(sys.argv[2]))
ticks = []
def progress(fraction, text):
    ticks.append(time.perf_counter())
t0 = time.perf_counter()
job = cat.start_import(Path(sys.argv[1]), progress)
t1 = time.perf_counter()
rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
info = cat.save(job)
t2 = time.perf_counter()
ds = cat.open(info.id)
cat.finish(ds)
ds.close()
t3 = time.perf_counter()
gaps = [b - a for a, b in zip(ticks, ticks[1:])]
print(json.dumps({"queryable_s": t1 - t0, "save_s": t2 - t1, "complete_s": t3 - t2, "total_s": t3 - t0,
                  "rss_queryable_mb": rss1,
                  "rss_peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "progress_hz": len(ticks) / max(t1 - t0, 1e-9), "progress_max_gap_s": max(gaps, default=0),
                  "id": info.id, "in_memory": job.in_memory}))
"""


def _sub(code: str, *args: str) -> str:
    out = subprocess.run(
        [sys.executable, "-c", code, *args],
        check=True,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    return out.strip().splitlines()[-1]


def _child(code: str, *args: str) -> dict:
    """``code`` run in a fresh interpreter (its own peak RSS); its last output line, as JSON."""
    return json.loads(_sub(code, *args))


def _cat(*paths: Path) -> float:
    """Warm ``cat`` of the files (the page cache is warmed by a first, untimed read)."""
    subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)
    t = time.perf_counter()
    subprocess.run(["cat", *map(str, paths)], stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - t


def _p(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def load(src: Path, root: Path) -> dict[str, float | str]:
    """Baselines and our import of one file, interleaved in one run."""
    cat_s = _cat(src)
    lean_s, lean_rss = map(float, _sub(LEAN, str(src)).split())
    own_s, own_rss = map(float, _sub(OWN_SCHEMA, str(src)).split())
    ours = _child(OURS, str(src), str(root))
    r: dict[str, float | str] = {
        "cat_s": cat_s,
        "lean_s": lean_s,
        "lean_rss_mb": lean_rss,
        "own_schema_s": own_s,
        "own_schema_rss_mb": own_rss,
        **ours,
    }
    r["queryable_vs_lean"] = ours["queryable_s"] / lean_s
    r["queryable_vs_own_schema"] = ours["queryable_s"] / own_s
    r["queryable_vs_cat"] = ours["queryable_s"] / cat_s
    r["total_vs_lean"] = ours["total_s"] / lean_s
    print(
        f"  warm cat {cat_s:.2f} s | lean read_json {lean_s:.2f} s ({lean_rss:.0f} MB) | "
        "own-schema read_json "
        f"{own_s:.2f} s ({own_rss:.0f} MB)"
    )
    print(
        f"  ours: queryable {ours['queryable_s']:.2f} s = {r['queryable_vs_lean']:.2f}x lean, "
        f"{r['queryable_vs_own_schema']:.2f}x own-schema, {r['queryable_vs_cat']:.0f}x cat "
        f"(RSS {ours['rss_queryable_mb']:.0f} MB) | saved +{ours['save_s']:.2f} s | complete "
        f"+{ours['complete_s']:.2f} s | total {ours['total_s']:.2f} s = {r['total_vs_lean']:.2f}x lean, "
        f"peak RSS {ours['rss_peak_mb']:.0f} MB | progress {ours['progress_hz']:.1f} Hz "
        f"(max gap {ours['progress_max_gap_s'] * 1000:.0f} ms)"
    )
    return r


def queries(ds, n: int) -> dict[str, float]:
    from console.services.logstore import LogFilter
    from tests import logs_data

    rng = random.Random(1)
    start = datetime(2026, 10, 1, tzinfo=UTC)
    out: dict[str, float] = {}

    def timed(name: str, fn, runs: int = 30) -> None:
        ms = []
        for _ in range(runs):
            t = time.perf_counter()
            fn()
            ms.append((time.perf_counter() - t) * 1000)
        out[f"{name}_p50_ms"], out[f"{name}_p95_ms"] = statistics.median(ms), _p(ms, 0.95)
        print(f"  {name:22s} p50 {statistics.median(ms):8.1f} ms  p95 {_p(ms, 0.95):8.1f} ms")

    def structured() -> None:
        s = start + timedelta(days=rng.randrange(27))
        ds.query(
            LogFilter(
                status="failure",
                error_code=rng.choice(logs_data.ERRORS),
                since=s,
                until=s + timedelta(days=3),
                job=rng.choice(logs_data.JOBS),
            ),
            page_size=256,
        )

    def text() -> None:
        ds.query(LogFilter(text=f"{rng.choice(logs_data.LAST).lower()}{rng.randrange(5000)}@"), page_size=256)

    from console.services.logstore import DISPLAY_COLUMNS

    sort_cols = list(DISPLAY_COLUMNS)

    def sort() -> None:
        ds.query(sort=rng.choice(sort_cols), descending=rng.random() < 0.5, page_size=256)

    views: list[str] = []

    def page() -> None:
        if not views:
            res = ds.query(page_size=256)
            ds.prepare(res.view)
            views.append(res.view)
        assert len(ds.rows(views[0], rng.randrange(n - 256), 256)) == 256

    timed("structured_filter", structured)
    timed("text_search", text)
    timed("sort_first_page", sort)
    timed("random_page", page)
    mats = []
    for col in ("time", "source_upn", "duration_ms", "time"):
        res = ds.query(sort=col, page_size=256)
        t = time.perf_counter()
        ds.prepare(res.view)
        mats.append((time.perf_counter() - t) * 1000)
    out["prepare_view_ms_max"] = max(mats)
    print(
        "  number the whole view (background, after the first page): "
        f"{', '.join(f'{m:.0f}' for m in mats)} ms"
    )
    return out


def cancel_latency(src: Path, root: Path) -> float | None:
    """ms from the cancel flag (set at a progress report ≥ 0.5 s into stage 1) until Cancelled."""
    from console.core.errors import Cancelled
    from console.services.logstore import LogCatalog

    flag = threading.Event()
    box: dict[str, float] = {}
    t0 = time.perf_counter()

    def progress(_f: float, _t: str) -> None:
        if not flag.is_set() and time.perf_counter() - t0 > 0.5:
            box["start"] = time.perf_counter()
            flag.set()

    try:
        job = LogCatalog(root).start_import(src, progress, flag.is_set)
    except Cancelled:
        return (time.perf_counter() - box["start"]) * 1000
    job.dataset.close()
    return None  # finished before a cancel could land


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--dir", default="/tmp/bench-logs")
    ap.add_argument(
        "--scaling", type=int, default=100_000, help="the small size of the scaling check (0: skip)"
    )
    ap.add_argument("--also", type=int, action="append", default=[], help="more sizes to load (e.g. 250000)")
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    from console.services.logstore import LogCatalog, LogFilter
    from tests import logs_data

    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)

    def source(n: int) -> Path:
        src = d / f"prov_{n}.json"
        if not src.exists():
            t = time.perf_counter()
            logs_data.write(src, n)
            print(f"generated {src} ({src.stat().st_size / 1e9:.2f} GB) in {time.perf_counter() - t:.0f} s")
        return src

    results: dict[str, object] = {"n": a.n}
    sizes = sorted({a.n, *a.also, *([a.scaling] if a.scaling else [])})
    loads: dict[int, dict] = {}
    for n in sizes:
        src = source(n)
        print(f"load {n:,} records ({src.stat().st_size / 1e9:.2f} GB)")
        loads[n] = load(src, d / "logs")
    results["loads"] = loads
    if a.scaling and a.scaling != a.n:
        small, big = loads[a.scaling], loads[a.n]
        factor = a.n / a.scaling
        scale = {
            k: big[k] / small[k]
            for k in ("queryable_s", "total_s", "rss_queryable_mb", "rss_peak_mb", "lean_s", "cat_s")
        }
        results["scaling"] = scale
        print(
            f"scaling {a.scaling:,} -> {a.n:,} ({factor:.0f}x records): "
            + ", ".join(f"{k} {v:.1f}x" for k, v in scale.items())
        )

    cat = LogCatalog(d / "logs")
    ds = cat.open(str(loads[a.n]["id"]))
    print(f"queries at {a.n:,}")
    results["queries"] = queries(ds, a.n)
    ds.close()

    # free text before the search table exists (the minutes between "queryable" and "complete")
    job = cat.start_import(source(a.n))
    rng = random.Random(2)
    ms = []
    for _ in range(10):
        t = time.perf_counter()
        job.dataset.query(LogFilter(text=f"{rng.choice(logs_data.LAST).lower()}{rng.randrange(5000)}@"))
        ms.append((time.perf_counter() - t) * 1000)
    results["text_search_before_index_p95_ms"] = _p(ms, 0.95)
    print(
        f"  text search before the search table: p50 {statistics.median(ms):.0f} ms, "
        f"p95 {_p(ms, 0.95):.0f} ms"
    )
    job.dataset.close()

    results["cancel_ms"] = cancel_latency(source(a.n), d / "logs")
    print(f"cancel latency during stage 1: {results['cancel_ms']} ms")
    print(json.dumps(results, default=str))
    if not a.keep:
        for n in sizes:
            cat.delete(str(loads[n]["id"]))
    return 0


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    raise SystemExit(main())
