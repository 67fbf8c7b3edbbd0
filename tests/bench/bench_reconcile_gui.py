"""GUI responsiveness of the Reconciliation page (issue 6) on 1 M platform users × 1 M Entra rows.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/bench_reconcile_gui.py [--dir DIR]

A 5 ms QTimer on the GUI thread records how late it fires (gap p99/max = how long the GUI thread
was blocked) while ReconcilePage analyses through the TaskRunner, then while it sorts by every
column, filters by class chips and by search text, and jumps to the end and to 30 random rows of
the results table (time until the rows are fetched *and* the viewport has repainted).

The page normally reads the org's users over the admin API; a million users through the sandbox
would time the HTTP paging, not the page. So the bench swaps only the *source* of the users:
``analyze_org`` loads the generator's platform snapshot (bench_reconcile.py's files, same seed)
with the engine's own ``load_platform_snapshot``; everything after it — the engine, the page, the
runner, the model — is the real code. Baseline of the same run: a bare DuckDB ``read_csv`` of the
two files in a subprocess; the analysis time is also given as a ratio to it.
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
from typing import Any

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", nargs="?", type=int, default=1_000_000)
    ap.add_argument("--dir", default=None, help="where the generated files are kept (reused)")
    a = ap.parse_args()
    from PySide6.QtWidgets import QApplication

    import console.services.reconcile as reconcile
    from console.services.paths import AppPaths
    from console.services.reconcile.engine import ReconcileEngine
    from console.ui.models.findings_model import SORT_KEYS
    from console.ui.pages.reconcile_page import ReconcilePage
    from console.ui.tasks import TaskRunner
    from tests.bench.bench_reconcile import BASELINE, _child, generate
    from tests.ui.gui_probe import GapProbe, jump, pct, wait

    out = Path(a.dir or tempfile.mkdtemp(prefix="bench-reconcile-"))
    out.mkdir(parents=True, exist_ok=True)
    platform, entra, _expected = generate(a.n, out)
    baseline_s = _child(BASELINE, str(platform), str(entra))["s"]

    def from_snapshot(_client: Any, org_id: str, token: Any = None, *, entra_users: Any = None,
                      logs: Any = None, workdir: Any = None) -> ReconcileEngine:
        engine = ReconcileEngine(org_id, workdir=workdir)
        engine.load_platform_snapshot(platform, token)
        if entra_users is not None:
            engine.load_entra_export(entra_users, token)
        engine.analyze(token)
        return engine

    reconcile.analyze_org = from_snapshot  # the users' source only; see the docstring
    app = QApplication([])  # noqa: F841 - keeps the application alive for the whole run
    runner = TaskRunner(show_delay_ms=0)
    page = ReconcilePage(lambda: None, runner, AppPaths.under(Path(tempfile.mkdtemp())))
    page.resize(1400, 900)
    page.show()
    probe = GapProbe()
    progress_at: list[float] = []
    page.progress.valueChanged.connect(lambda *_: progress_at.append(time.perf_counter()))
    done = [0]
    page.sig_query_done.connect(lambda _n: done.__setitem__(0, done[0] + 1))

    def query(action) -> float:
        """Run ``action`` (which triggers one requery) and time until its first page is shown."""
        before = done[0]
        t = time.perf_counter()
        action()
        wait(lambda: done[0] > before, 60_000)
        if done[0] == before:
            raise SystemExit(f"no result after 60 s in phase {probe.phase}: {page.status.text()}")
        page.table.viewport().repaint()
        ms = (time.perf_counter() - t) * 1000
        print(f"  {probe.phase}: {ms:.0f} ms", file=sys.stderr, flush=True)
        return ms

    probe.start()
    page.set_entra_export(str(entra))
    probe.phase = "analysing"
    t0 = time.perf_counter()
    analysed_ms = query(lambda: page.open_org("bench"))
    analysis_s = analysed_ms / 1000
    analysis_hz = len(progress_at) / max(analysis_s, 1e-9)
    n = page.model.rowCount()

    probe.phase = "sorting"
    sorts = {}
    for column, key in enumerate(SORT_KEYS):
        if key is not None:
            sorts[key] = round(query(lambda c=column: page._on_header_clicked(c)), 1)
    probe.phase = "filtering"
    chips = [round(query(lambda c=chip: c.setChecked(not c.isChecked())), 1) for chip in page.chips.values()]
    searches = [round(query(lambda t=text: page.search.setText(t)), 1)
                for text in ("contoso", "ana.", "zzz-no-match", "")]

    probe.phase = "jumping"
    n = page.model.rowCount()
    table = page.table
    end_ms = jump(table, n - 1, bottom=True)
    rng = random.Random(1)
    jumps = [jump(table, rng.randrange(n)) for _ in range(30)]
    probe.stop()
    runner.shutdown(timeout=10)
    page.shutdown()
    result = {
        "platform_users_file": platform.name,
        "findings": n,
        "baseline_read_csv_s": round(baseline_s, 3),
        "analysis_in_page_s": round(analysis_s, 3),
        "analysis_vs_baseline": round(analysis_s / baseline_s, 2),
        "progress_reports_per_s": round(analysis_hz, 1),
        "sort_to_first_page_ms": sorts,
        "chip_filter_ms": chips,
        "search_ms": searches,
        "jump_to_end_ms": round(end_ms, 1),
        "random_jump_p50_ms": round(statistics.median(jumps), 1),
        "random_jump_p95_ms": round(pct(jumps, 0.95), 1),
        "gaps": probe.summary(),
        "wall_s": round(time.perf_counter() - t0, 1),
    }
    print(json.dumps(result, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
