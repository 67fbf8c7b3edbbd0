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


def run_once(home: str, timeout: float, *, until_orgs: bool = False) -> float:
    """Seconds from spawn to the first exposed window, or (``until_orgs``) from that window to the
    first non-empty organisation list."""
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "SCIM_CONSOLE_HOME": home,
           "SCIM_CONSOLE_STARTUP_TRACE": "orgs" if until_orgs else "1",
           "PYTHON_KEYRING_BACKEND": "keyring.backends.null.Keyring"}
    env["PYTHONPATH"] = str(ROOT)
    spawned = time.time()
    proc = subprocess.run([sys.executable, "-m", "console", "gui", "--sandbox"], env=env, capture_output=True,
                          text=True, timeout=timeout, cwd=ROOT)
    stamps = {line.split()[0]: float(line.split()[1]) for line in proc.stdout.splitlines()
              if line.startswith(("first-window-exposed-at", "orgs-listed-at"))}
    if "first-window-exposed-at" not in stamps or (until_orgs and "orgs-listed-at" not in stamps):
        raise RuntimeError(f"no trace line (rc={proc.returncode}): {proc.stderr[-1500:]}")
    if until_orgs:
        return stamps["orgs-listed-at"] - stamps["first-window-exposed-at"]
    return stamps["first-window-exposed-at"] - spawned


# The floor: interpreter + PySide6 import + QApplication + one empty window, exposed. The console's
# number is reported as a ratio to this, measured in the same run.
BASELINE = """
import sys, time
from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtWidgets import QApplication, QMainWindow
app = QApplication(sys.argv)
w = QMainWindow(); w.resize(1180, 720)
class Watch(QObject):
    def eventFilter(self, obj, event):
        h = w.windowHandle()
        if event.type() == QEvent.Type.Expose and h is not None and h.isExposed():
            print(f"first-window-exposed-at {time.time():.6f}", flush=True)
            QTimer.singleShot(0, app.quit)
        return False
watch = Watch(); w.show(); w.windowHandle().installEventFilter(watch)
app.exec()
"""


def baseline_once(timeout: float) -> float:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    spawned = time.time()
    proc = subprocess.run([sys.executable, "-c", BASELINE], env=env, capture_output=True, text=True,
                          timeout=timeout)
    for line in proc.stdout.splitlines():
        if line.startswith("first-window-exposed-at"):
            return float(line.split()[1]) - spawned
    raise RuntimeError(f"baseline printed no trace line (rc={proc.returncode}): {proc.stderr[-1500:]}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--fresh", action="store_true")
    parser.add_argument("--until-orgs", action="store_true",
                        help="first start: first window → organisations listed, on a fresh home each run")
    args = parser.parse_args()
    print(f"load average {os.getloadavg()[0]:.2f}")
    if args.until_orgs:
        listed = [run_once(tempfile.mkdtemp(prefix="first-start-"), 300, until_orgs=True)
                  for _ in range(args.runs)]
        print(f"first start (fresh home, demo seed): first window → orgs listed median "
              f"{statistics.median(listed):.2f} s; runs {[round(t, 2) for t in listed]}; "
              f"load average {os.getloadavg()[0]:.2f}")
        return 0
    times: list[float] = []
    floor = [baseline_once(60) for _ in range(args.runs)]
    prepared = tempfile.mkdtemp(prefix="cold-start-")
    if not args.fresh:
        run_once(prepared, 120)  # creates the profile and the sandbox DB; not measured
    for _ in range(args.runs):
        home = tempfile.mkdtemp(prefix="cold-start-") if args.fresh else prepared
        times.append(run_once(home, 120))
    label = "fresh home" if args.fresh else "prepared home"
    median, base = statistics.median(times), statistics.median(floor)
    print(f"cold start → first window exposed ({label}, offscreen): "
          f"median {median:.3f} s; runs {[round(t, 3) for t in times]}")
    print(f"baseline (bare PySide6 window): median {base:.3f} s; console / baseline = {median / base:.2f}×")
    return 0


if __name__ == "__main__":
    sys.exit(main())
