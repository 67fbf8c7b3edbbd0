"""Cold start to first window exposed (not collected by pytest; run explicitly).

    .venv/bin/python tests/bench/cold_start.py [--runs 5] [--fresh]

Each run spawns ``python -m console gui`` offscreen with ``SCIM_CONSOLE_STARTUP_TRACE=1``; the app
prints the wall-clock time its main window was first exposed and quits. The number is that time
minus the moment this script spawned the process (interpreter start and imports included).
Default: a prepared home (a Sandbox profile and ``sandbox.db`` exist: every later start). With
``--fresh`` each run uses an empty home (the first start a new user sees; the sandbox is created
in the background while the window shows, so those processes take long to exit).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def run_once(home: str, timeout: float) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SCIM_CONSOLE_HOME": home,
           "SCIM_CONSOLE_STARTUP_TRACE": "1", "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    env["PYTHONPATH"] = str(ROOT)
    spawned = time.time()
    proc = subprocess.run([sys.executable, "-m", "console", "gui"], env=env, capture_output=True, text=True,
                          timeout=timeout, cwd=ROOT)
    for line in proc.stdout.splitlines():
        if line.startswith("first-window-exposed-at"):
            return float(line.split()[1]) - spawned
    raise RuntimeError(f"no trace line (rc={proc.returncode}): {proc.stderr[-1500:]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true")
    args = parser.parse_args()
    times: list[float] = []
    prepared = tempfile.mkdtemp(prefix="cold-start-")
    if not args.fresh:
        run_once(prepared, 120)  # creates the profile and the sandbox DB; not measured
    for _ in range(args.runs):
        home = tempfile.mkdtemp(prefix="cold-start-") if args.fresh else prepared
        times.append(run_once(home, 120))
    label = "fresh home" if args.fresh else "prepared home"
    print(f"cold start → first window exposed ({label}, offscreen): "
          f"median {statistics.median(times):.3f} s; runs {[round(t, 3) for t in times]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
