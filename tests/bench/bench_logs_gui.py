"""GUI responsiveness while importing (issue 5): event-loop gaps, time to first rows, page repaint.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/bench/bench_logs_gui.py FILE.json

A 5 ms QTimer on the GUI thread records how late it fires while LogsPage imports FILE through the
TaskRunner (gap p99/max = how long the GUI was blocked); also time from import_file() to the first
rows in the table (the head preview) and to the full dataset, and the cost of jumping to the end.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.services.paths import AppPaths
    from console.ui.pages.logs_page import LogsPage
    from console.ui.tasks import TaskRunner

    src = Path(sys.argv[1])
    app = QApplication([])
    runner = TaskRunner(show_delay_ms=0)
    page = LogsPage(AppPaths.under(tempfile.mkdtemp()), runner, debounce_ms=0)
    page.resize(1400, 900)
    page.show()
    gaps: list[float] = []
    last = [time.perf_counter()]

    def tick() -> None:
        now = time.perf_counter()
        gaps.append((now - last[0]) * 1000 - 5)
        last[0] = now

    timer = QTimer()
    timer.setInterval(5)
    timer.timeout.connect(tick)
    marks: dict[str, float] = {}
    t0 = time.perf_counter()

    def on_query(total: int) -> None:
        if "first_rows" not in marks and total > 0:
            marks["first_rows"] = time.perf_counter() - t0
        if page.dataset is not None and page.dataset.path is not None and "full" not in marks:
            marks["full"] = time.perf_counter() - t0
            QTimer.singleShot(50, app.quit)

    page.sig_query_done.connect(on_query)
    timer.start()
    page.import_file(src)
    app.exec()
    timer.stop()
    gaps.sort()
    p99 = gaps[int(0.99 * (len(gaps) - 1))]
    # jump to the end: the page fetch runs in a worker; measure until the last row is painted with data
    t = time.perf_counter()
    page.table.scrollToBottom()
    last_row = page.model.rowCount() - 1
    while page.model.index(last_row, 0).data() is None:
        app.processEvents()
    jump = (time.perf_counter() - t) * 1000
    print(f"first rows {marks.get('first_rows', -1) * 1000:.0f} ms | full dataset {marks['full']:.1f} s | "
          f"GUI gap p99 {p99:.1f} ms, max {gaps[-1]:.1f} ms over {len(gaps)} ticks | "
          f"jump to end {jump:.0f} ms")
    runner.shutdown(10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
