"""Does one user with a 50 MB displayName slow reconcile down? (issue 14)

    .venv/bin/python tests/bench/bench_hostile_snapshot.py [--users 50000] [--runs 5]

Writes the snapshot of ``--users`` accounts (as the admin-API fetch does) and analyses it, with and
without one extra account whose displayName is 50 MB, alternating, median of ``--runs``; prints the
ratio (the house rule: ratios against a same-run baseline, load average next to them).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from console.core.reconcile.findings import Account  # noqa: E402 - after the path is set
from console.services.reconcile import ReconcileEngine  # noqa: E402
from console.services.reconcile.sources import write_snapshot  # noqa: E402


def run(accounts: list[Account], d: Path) -> float:
    t = time.perf_counter()
    path = d / "platform.csv"
    write_snapshot(path, accounts)
    with ReconcileEngine("bench", workdir=d) as engine:
        engine.load_platform_snapshot(path)
        engine.analyze()
    return time.perf_counter() - t


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=50_000)
    ap.add_argument("--runs", type=int, default=5)
    a = ap.parse_args()
    base = [Account(f"u{i}", f"user{i}@corp.com", (f"user{i}@corp.com",), display_name=f"User {i}",
                    created_via="scim", external_id=f"o{i}", idp_link=f"o{i}") for i in range(a.users)]
    huge = [*base, Account("big", "big@corp.com", ("big@corp.com",), display_name="B" * (50 * 1024 * 1024))]
    plain, hostile = [], []
    with tempfile.TemporaryDirectory() as d:
        for _ in range(a.runs):
            plain.append(run(base, Path(d)))
            hostile.append(run(huge, Path(d)))
    p, h = statistics.median(plain), statistics.median(hostile)
    print(f"{a.users:,} users, median of {a.runs}: snapshot + analysis {p:.3f} s; with one 50 MB displayName "
          f"{h:.3f} s → {h / p:.2f}× (runs {', '.join(f'{x:.2f}' for x in hostile)}); "
          f"load average {os.getloadavg()[0]:.2f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
