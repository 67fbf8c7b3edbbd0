"""Benchmark of the reconciliation engine (issue 6); each figure also as a ratio to a same-run baseline.

    .venv/bin/python tests/bench/bench_reconcile.py [N=1000000] [--small 100000] [--dir /tmp/bench-reconcile]
                                                    [--runs 3] [--keep]

A seeded generator writes N platform users (the engine's snapshot CSV, as the admin-API fetch writes it)
and N Entra users (the "Download users" CSV) with injected drift — twins of manual accounts, SCIM
twins, addresses of departed users given to others, case-variant duplicates, moved domains, removed
mails, mail-less users, userName ≠ email — on top of 30 % of clean users whose platform spelling
differs from Entra's only in letter case (must NOT be reported) and some non-ASCII addresses (the
Python fold path). It measures

(a) the analysis of ``--small`` users × ``--small`` Entra rows (goal < 0.5 s), in-process, median of
    ``--runs``, against a baseline of the same run: DuckDB's bare ``read_csv`` of both files;
(b) N × N **including reading both files** (goal < 3 s, < 1.5 GB peak RSS), each run in a fresh child
    process (peak RSS = its ``ru_maxrss``), against the same baseline in a child process and a warm
    ``cat`` of both files; each phase (platform read, Entra read, analysis) also against its own part
    of the baseline; with ``--against DIR`` also the engine of another tree (an older commit) on the
    same files, alternating, so a change can be shown to be no slower;

and checks that the engine's counts per class equal the generator's injected counts. Baseline and
engine runs alternate, so a change of machine load hits both (house rule: report ratios; the load
average is printed next to every figure).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from tests.bench.bench_logs import _cat, _child  # noqa: E402 - after the path is set

GENERATOR = "v2"  # v2: every account has its person's display name (the likely-twin rule reads them)
FIRST = ["ada", "alan", "grace", "linus", "ken", "barbara", "edsger", "margaret", "dennis", "frances", "wei",
         "priya"]
LAST = ["lovelace", "turing", "hopper", "torvalds", "thompson", "liskov", "dijkstra", "hamilton", "chen",
        "patel"]
ACCENTED = ["lucía", "józef", "sørina", "ëlise"]  # non-ASCII local parts (1 %): Python folds these

# fraction of Entra users per kind of drift (cumulative bounds are computed below)
DRIFT = [("twin", 0.010), ("scim_twins", 0.002), ("collision", 0.002), ("case_dup", 0.005),
         ("moved_domain", 0.020), ("mail_removed", 0.010), ("no_email", 0.005), ("alias", 0.010),
         ("entra_only", 0.010)]
EXPECTED_CLASS = {"twin": "manual_twin", "scim_twins": "scim_twins", "collision": "email_collision",
                  "case_dup": "case_only", "moved_domain": "stale_email", "mail_removed": "stale_email",
                  "no_email": "no_email", "alias": "username_not_email"}

BASELINE = """
import duckdb, json, resource, sys, time
con = duckdb.connect()
t = time.perf_counter()
con.execute("CREATE TABLE p AS SELECT * FROM read_csv(?, all_varchar=true, header=true)", [sys.argv[1]])
t_p = time.perf_counter()
con.execute("CREATE TABLE e AS SELECT * FROM read_csv(?, all_varchar=true, header=true)", [sys.argv[2]])
t_e = time.perf_counter()
rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
print(json.dumps({"s": t_e - t, "platform_s": t_p - t, "entra_s": t_e - t_p, "rss_mb": rss_mb}))
"""

OURS = """
import json, resource, sys, time
from console.services.reconcile.engine import ReconcileEngine
engine = ReconcileEngine("bench", workdir=sys.argv[3])
t = time.perf_counter()
engine.load_platform_snapshot(sys.argv[1])
t_load_p = time.perf_counter()
engine.load_entra_export(sys.argv[2])
t_load_e = time.perf_counter()
r0 = resource.getrusage(resource.RUSAGE_SELF)
summary = engine.analyze()
t_end = time.perf_counter()
r1 = resource.getrusage(resource.RUSAGE_SELF)
cpu = (r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)  # less hurt than wall time by a busy machine
engine.table.page(0, 200)  # the page's first screen (materialises the numbered view)
t_page = time.perf_counter()
print(json.dumps({"s": t_end - t, "load_platform_s": t_load_p - t, "load_entra_s": t_load_e - t_load_p,
                  "analyze_s": t_end - t_load_e, "analyze_cpu_s": cpu, "first_page_s": t_page - t_end,
                  "counts": summary.counts,
                  "rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
engine.close()
"""


def generate(n: int, out: Path) -> tuple[Path, Path, dict[str, int]]:
    """Write the two files for ``n`` Entra users; returns their paths and the injected counts per class."""
    from console.core.reconcile.findings import Account
    from console.services.reconcile.sources import SNAPSHOT_COLUMNS, snapshot_row

    platform, entra = out / f"platform_{n}_{GENERATOR}.csv", out / f"entra_{n}_{GENERATOR}.csv"
    meta = out / f"expected_{n}_{GENERATOR}.json"
    if platform.exists() and entra.exists() and meta.exists():
        return platform, entra, json.loads(meta.read_text())
    rng = random.Random(7)
    bounds, acc = [], 0.0
    for kind, share in DRIFT:
        acc += share
        bounds.append((acc, kind))
    injected: Counter[str] = Counter()
    ids = iter(range(10 ** 9))

    def uid() -> str:
        return f"u_{next(ids):020x}"

    def oid() -> str:
        return str(uuid.UUID(int=rng.getrandbits(128), version=4))

    name = ""

    def scim(user_name: str, emails: tuple[str, ...], obj: str, *, active: bool = True) -> Account:
        return Account(uid(), user_name, emails, active=active, created_via="scim", version=rng.randint(1, 9),
                       display_name=name, scim_id=oid(), external_id=obj, idp_link=obj, work_areas=1,
                       created_at="2026-01-05T12:00:00+00:00")

    def manual(user_name: str, emails: tuple[str, ...]) -> Account:
        return Account(uid(), user_name, emails, created_via="manual", version=1, display_name=name,
                       work_areas=2, last_login_at="2026-11-01T09:00:00+00:00",
                       created_at="2024-03-01T12:00:00+00:00")

    with open(platform, "w", encoding="utf-8", newline="") as fp, open(entra, "w", encoding="utf-8-sig",
                                                                         newline="") as fe:
        wp, we = csv.writer(fp, lineterminator="\n"), csv.writer(fe, lineterminator="\r\n")
        wp.writerow(SNAPSHOT_COLUMNS)
        we.writerow(["id", "userPrincipalName", "mail", "displayName", "accountEnabled"])
        for i in range(n):
            f = rng.choice(ACCENTED) if rng.random() < 0.01 else rng.choice(FIRST)
            last = rng.choice(LAST)
            obj, mail = oid(), f"{f}.{last}{i}@contoso.com"
            alias = f"{f[0]}{last}{i}@contoso.onmicrosoft.com"
            name = f"{f.title()} {last.title()}"
            r = rng.random()
            kind = next((k for b, k in bounds if r < b), "clean")
            rows: list[Account] = []
            upn, entra_mail = mail, mail
            if kind == "twin":                       # (i) manual account + the twin Entra created next to it
                upn = alias
                rows = [manual(mail, (mail,)), scim(alias, (mail,), obj)]
            elif kind == "scim_twins":               # (ii) renamed after the link was lost
                upn = entra_mail = "renamed." + mail
                rows = [scim(mail, (mail,), obj, active=False), scim(upn, (upn,), obj)]
            elif kind == "collision":                # (iii) a departed user's address went to this user
                gone = oid()
                we.writerow([gone, f"left{i}@contoso.com", "", "Departed", "False"])
                rows = [scim(mail, (mail,), obj), scim(f"left{i}@contoso.com", (mail,), gone, active=False)]
            elif kind == "case_dup":                 # (iv) an invite under the same address in another case
                rows = [scim(mail, (mail,), obj), manual(f"{f}{i}.invited", (mail.swapcase(),))]
            elif kind == "moved_domain":             # (v) the platform kept the old domain
                old = mail.replace("@contoso.com", "@fabrikam.com")
                rows = [scim(old, (old,), obj)]
            elif kind == "mail_removed":             # (v) Entra removed the mail, never cleared here
                upn, entra_mail = alias, ""
                rows = [scim(alias, (mail,), obj)]
            elif kind == "no_email":                 # (vii)
                entra_mail = ""
                rows = [scim(mail, (), obj)]
            elif kind == "alias":                    # (vi) userName (the UPN) ≠ primary email
                upn = alias
                rows = [scim(alias, (mail,), obj)]
            elif kind == "entra_only":               # assigned, not provisioned yet: no finding
                rows = []
            else:                                    # clean; 30 % differ from Entra only in letter case
                shown = mail.title() if rng.random() < 0.30 else mail
                rows = [scim(shown, (shown,), obj)]
            if kind in EXPECTED_CLASS:
                injected[EXPECTED_CLASS[kind]] += 1
            we.writerow([obj, upn, entra_mail, name, "True"])
            for a in rows:
                wp.writerow(snapshot_row(a))
        for j in range(n // 100):                    # platform-only accounts (contractors): no finding
            m = f"contractor{j}@contoso.com"
            name = f"{rng.choice(FIRST).title()} {rng.choice(LAST).title()}"  # namesakes of many employees
            wp.writerow(snapshot_row(manual(m, (m,))))
    meta.write_text(json.dumps(dict(injected)))
    return platform, entra, dict(injected)


def _lines(path: Path) -> int:
    with open(path, "rb") as fh:
        return sum(1 for _ in fh) - 1


def _check(counts: dict[str, int], expected: dict[str, int]) -> bool:
    wrong = {k: (counts.get(k, 0), v) for k, v in expected.items() if counts.get(k, 0) != v}
    extra = {k: v for k, v in counts.items() if v and k not in expected}
    if wrong or extra:
        print(f"  COUNTS DIFFER (engine, injected): {wrong} unexpected: {extra}")
        return False
    print(f"  counts equal the injected drift: {dict(sorted(expected.items()))}")
    return True


def _load() -> str:
    one, five, _ = os.getloadavg()
    return f"load average {one:.2f} (5 min {five:.2f})"


def bench_small(n: int, d: Path, runs: int) -> dict:
    from console.services.reconcile.engine import ReconcileEngine

    platform, entra, expected = generate(n, d)
    print(f"(a) {_load()}")
    base: list[float] = []
    analyse, total = [], []
    counts: dict[str, int] = {}
    for _ in range(runs):
        base.append(_child(BASELINE, str(platform), str(entra))["s"])
        with ReconcileEngine("bench", workdir=d) as engine:
            t = time.perf_counter()
            engine.load_platform_snapshot(platform)
            engine.load_entra_export(entra)
            t_loaded = time.perf_counter()
            counts = engine.analyze().counts
            t_done = time.perf_counter()
        analyse.append(t_done - t_loaded)
        total.append(t_done - t)
    b, a, tt = statistics.median(base), statistics.median(analyse), statistics.median(total)
    print(f"    {n:,} users × {_lines(entra):,} Entra rows, median of {runs}: analysis {a:.3f} s "
          f"(goal < 0.5 s), with reading both files {tt:.3f} s; baseline bare DuckDB read_csv of the two "
          f"files {b:.3f} s → analysis = {a / b:.2f}× baseline, total = {tt / b:.2f}× baseline; {_load()}")
    ok = _check(counts, expected)
    return {"n": n, "analysis_s": a, "total_s": tt, "baseline_read_csv_s": b, "analysis_vs_baseline": a / b,
            "total_vs_baseline": tt / b, "counts_ok": ok, "runs": {"analysis": analyse, "total": total,
                                                                  "baseline": base}}


def _child_at(src: Path, code: str, *args: str) -> dict:
    """``code`` in a fresh interpreter that imports ``console`` from ``src`` (another version's tree)."""
    out = subprocess.run([sys.executable, "-c", code, *args], check=True, capture_output=True, text=True,
                         cwd=src, env={**os.environ, "PYTHONPATH": str(src)}).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_big(n: int, d: Path, runs: int, against: Path | None = None) -> dict:
    platform, entra, expected = generate(n, d)
    size = platform.stat().st_size + entra.stat().st_size
    cat = _cat(platform, entra)
    print(f"(b) {_load()}")
    base, ours, older = [], [], []
    for _ in range(runs):  # alternating: a change of machine load hits every variant
        base.append(_child(BASELINE, str(platform), str(entra)))
        ours.append(_child(OURS, str(platform), str(entra), str(d)))
        if against is not None:
            older.append(_child_at(against, OURS, str(platform), str(entra), str(d)))

    def med(runs_: list[dict], key: str) -> float:
        return statistics.median(r[key] for r in runs_)

    b, o = med(base, "s"), med(ours, "s")
    bp, be = med(base, "platform_s"), med(base, "entra_s")
    lp, le, an, fp = (med(ours, k) for k in ("load_platform_s", "load_entra_s", "analyze_s", "first_page_s"))
    rss, base_rss = max(r["rss_mb"] for r in ours), max(r["rss_mb"] for r in base)
    each = ", ".join(f"{r['s']:.2f}" for r in ours)
    print(f"    {_lines(platform):,} platform users × {_lines(entra):,} Entra rows ({size / 1e6:.0f} MB), "
          f"fresh process each, median of {runs} (runs: {each} s):")
    print(f"    ours {o:.2f} s incl. reading both files (goal < 3 s) = {o / b:.2f}× baseline, "
          f"{o / cat:.0f}× cat")
    print(f"      load platform {lp:.2f} s = {lp / bp:.2f}× its bare read_csv ({bp:.2f} s)")
    print(f"      load Entra    {le:.2f} s = {le / be:.2f}× its bare read_csv ({be:.2f} s)")
    print(f"      analyse       {an:.2f} s = {an / b:.2f}× the bare read_csv of both files")
    print(f"      first page {fp * 1000:.0f} ms; peak RSS {rss:.0f} MB (goal < 1536 MB) = "
          f"{rss / base_rss:.2f}× baseline's {base_rss:.0f} MB")
    print(f"    baseline bare DuckDB read_csv of both files {b:.2f} s; warm cat {cat:.2f} s; {_load()}")
    ok = _check(sorted(ours, key=lambda r: r["s"])[len(ours) // 2]["counts"], expected)
    vs: dict = {}
    if older:
        oo, oan = med(older, "s"), med(older, "analyze_s")
        ocpu, cpu = med(older, "analyze_cpu_s"), med(ours, "analyze_cpu_s")
        theirs = ", ".join(f"{r['s']:.2f}" for r in older)
        print(f"    side by side with the code in {against} (same files, alternating): theirs {oo:.2f} s "
              f"(analyse {oan:.2f} s; runs: {theirs}), ours {o:.2f} s "
              f"(analyse {an:.2f} s) → ours = {o / oo:.3f}× theirs total, {an / oan:.3f}× theirs analysis; "
              f"analysis CPU time ours {cpu:.2f} s vs theirs {ocpu:.2f} s = {cpu / ocpu:.3f}×")
        vs = {"against": str(against), "theirs_s": oo, "theirs_analyze_s": oan,
              "theirs_runs": [r["s"] for r in older], "ours_vs_theirs": o / oo,
              "ours_vs_theirs_analysis": an / oan, "analysis_cpu_s": cpu, "theirs_analysis_cpu_s": ocpu,
              "ours_vs_theirs_analysis_cpu": cpu / ocpu}
    return {"vs": vs, "n": n, "bytes": size, "ours_s": o, "ours_runs": [r["s"] for r in ours],
            "breakdown": {"load_platform_s": lp, "load_entra_s": le, "analyze_s": an, "first_page_s": fp},
            "baseline": {"s": b, "platform_s": bp, "entra_s": be, "runs": [r["s"] for r in base]},
            "peak_rss_mb": rss, "baseline_rss_mb": base_rss, "cat_s": cat, "ours_vs_read_csv": o / b,
            "ours_vs_cat": o / cat, "counts_ok": ok}


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=1_000_000)
    ap.add_argument("--small", type=int, default=100_000)
    ap.add_argument("--dir", default="/tmp/bench-reconcile")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the generated files")
    ap.add_argument("--only", choices=("small", "big"), help="run one part only")
    ap.add_argument("--against", type=Path, metavar="DIR",
                    help="also run (b) with the console package of another tree, e.g. an older commit "
                         "unpacked by 'git archive COMMIT console | tar -x -C DIR'")
    a = ap.parse_args()
    d = Path(a.dir)
    d.mkdir(parents=True, exist_ok=True)
    print(f"machine: {os.cpu_count()} CPUs; {_load()} at start")
    results: dict = {}
    if a.only != "big":
        results["small"] = bench_small(a.small, d, a.runs)
    if a.only != "small":
        results["big"] = bench_big(a.n, d, a.runs, a.against)
    results["load_average_end"] = os.getloadavg()[0]
    print(json.dumps(results, default=str))
    if not a.keep:
        shutil.rmtree(d, ignore_errors=True)
    return 0 if all(r["counts_ok"] for r in results.values() if isinstance(r, dict)) else 1


if __name__ == "__main__":
    raise SystemExit(main())
