"""GUI responsiveness of the logs page (issue 5): event-loop gaps, first rows, progress, cancel, repaint.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/bench_logs_gui.py FILE.json [--cancel-at 1.0]

A 5 ms QTimer on the GUI thread records how late it fires while LogsPage imports FILE through the
TaskRunner (gap p99/max = how long the GUI thread was blocked), per step: reading (stage 1), saving,
finishing (search text + details). Also: time from import_file() to the first rows (head preview),
to a queryable dataset, to saved and to complete; progress reports delivered per second while
reading; and, on the complete dataset, jumping to the end and to 30 random rows: time until the
rows are fetched *and* the viewport has repainted (a synchronous ``repaint()``), with the GUI gaps
during the jumps. A second run cancels the import and times until the page shows it stopped.
Baseline of the same run: the lean DuckDB ``read_json`` of performance-notes §7.3 on FILE, in a
subprocess just before the import (times are also given as ratios to it).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("file")
    ap.add_argument("--cancel-at", type=float, default=1.0, help="seconds into the second import")
    a = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    from console.services.paths import AppPaths
    from console.ui.pages.logs_page import LogsPage
    from console.ui.tasks import TaskRunner
    from tests.ui.gui_probe import GapProbe, jump, pct, wait

    src = Path(a.file)
    from tests.bench.bench_logs import LEAN, _sub

    lean_s = float(_sub(LEAN, str(src)).split()[0])
    app = QApplication([])  # noqa: F841 - keeps the application alive for the whole run
    runner = TaskRunner(show_delay_ms=0)
    page = LogsPage(AppPaths.under(Path(tempfile.mkdtemp())), runner, debounce_ms=0)
    page.resize(1400, 900)
    page.show()
    probe = GapProbe()
    marks: dict[str, float] = {}
    progress_at: list[float] = []
    runner.sig_progress_changed.connect(lambda *_: progress_at.append(time.perf_counter()))

    def on_query(total: int) -> None:
        if "first_rows" not in marks and total > 0:
            marks["first_rows"] = time.perf_counter() - t0

    page.sig_query_done.connect(on_query)
    page.sig_finished.connect(lambda _id: marks.setdefault("complete", time.perf_counter() - t0))
    probe.start()
    t0 = time.perf_counter()
    probe.phase = "reading"
    page.import_file(src)
    wait(lambda: page._phase == "saving" or page._phase is None)
    marks["queryable"] = time.perf_counter() - t0
    reading_progress = [t for t in progress_at if t <= t0 + marks["queryable"]]
    probe.phase = "saving"
    wait(
        lambda: (
            page._phase in ("finishing", None) and page.dataset is not None and page.dataset.path is not None
        )
    )
    marks["saved"] = time.perf_counter() - t0
    probe.phase = "finishing"
    wait(lambda: "complete" in marks or (page._phase is None and not page.dataset.pending))
    marks.setdefault("complete", time.perf_counter() - t0)
    probe.phase = "idle"
    wait(lambda: page.shown is page.dataset and page.model.rowCount() > 0)
    n = page.model.rowCount()

    # jumps: scroll, wait for the page fetch, then a synchronous repaint of the viewport
    probe.phase = "jumping"
    table = page.table
    end_ms = jump(table, n - 1, bottom=True)
    rng = random.Random(1)
    jumps = [jump(table, rng.randrange(n)) for _ in range(30)]
    probe.stop()

    hz = len(reading_progress) / max(marks["queryable"], 1e-9)
    result = {
        "records": n,
        "lean_read_json_s": round(lean_s, 3),
        "queryable_vs_lean": round(marks["queryable"] / lean_s, 2),
        **{f"{k}_s": round(v, 3) for k, v in marks.items()},
        "progress_hz_reading": round(hz, 1),
        "jump_to_end_ms": round(end_ms, 1),
        "random_jump_p50_ms": round(statistics.median(jumps), 1),
        "random_jump_p95_ms": round(pct(jumps, 0.95), 1),
        "gaps": probe.summary(),
    }
    print(
        f"lean read_json baseline {lean_s:.2f} s | first rows {marks.get('first_rows', -1) * 1000:.0f} ms | "
        f"queryable {marks['queryable']:.2f} s = {marks['queryable'] / lean_s:.2f}x lean | "
        f"saved {marks['saved']:.2f} s | complete {marks['complete']:.2f} s | "
        f"progress {hz:.1f} Hz while reading"
    )
    for k, v in result["gaps"].items():
        print(
            f"  GUI gap while {k:9s} p99 {v['p99_ms']:6.1f} ms  max {v['max_ms']:6.1f} ms "
            f"over {v['ticks']} ticks"
        )
    print(
        f"jump to end {end_ms:.0f} ms | random jumps p50 {result['random_jump_p50_ms']:.0f} ms, "
        f"p95 {result['random_jump_p95_ms']:.0f} ms (fetch + repaint)"
    )

    # cancel during reading
    page.import_file(src)
    t1 = time.perf_counter()
    wait(lambda: time.perf_counter() - t1 >= a.cancel_at)
    tc = time.perf_counter()
    page.cancel_active()
    wait(lambda: page._phase is None)
    result["cancel_to_stopped_ms"] = round((time.perf_counter() - tc) * 1000, 1)
    print(
        f"cancel {a.cancel_at:.1f} s into the import: stopped after {result['cancel_to_stopped_ms']:.0f} ms"
    )
    print(json.dumps(result))
    runner.shutdown(30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
