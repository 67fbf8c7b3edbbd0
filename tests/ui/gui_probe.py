"""What the GUI benches and tests measure the same way: event-loop gaps per phase, waiting, table jumps.

A 5 ms QTimer on the GUI thread records how late each tick fires; the lateness is how long the GUI
thread was blocked (p99/max per phase). Waits spin a nested event loop so the page under test keeps
running; a jump scrolls a table, waits for its page fetch and repaints the viewport synchronously,
so the time is what a user sees.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QEventLoop, QTimer


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))] if values else 0.0


def wait(cond: Callable[[], bool], ms: int = 600_000) -> None:
    """Run the event loop until ``cond()`` holds or ``ms`` pass."""
    loop = QEventLoop()
    poll = QTimer()
    poll.timeout.connect(lambda: loop.quit() if cond() else None)
    poll.start(1)
    QTimer.singleShot(ms, loop.quit)
    loop.exec()
    poll.stop()


class GapProbe:
    """Event-loop gaps, bucketed by the phase set in ``phase``."""

    def __init__(self, interval_ms: int = 5) -> None:
        self.phase = "idle"
        self.gaps: dict[str, list[float]] = {}  # per phase: how late each tick fired (ms)
        #: the longest time between two ticks, interval included (what a test bounds)
        self.max_gap_ms = 0.0
        self._interval = interval_ms
        self._last = time.perf_counter()
        self._timer = QTimer()
        self._timer.setInterval(interval_ms)
        self._timer.timeout.connect(self._tick)

    def _tick(self) -> None:
        now = time.perf_counter()
        gap = (now - self._last) * 1000
        self.max_gap_ms = max(self.max_gap_ms, gap)
        self.gaps.setdefault(self.phase, []).append(gap - self._interval)
        self._last = now

    def __enter__(self) -> GapProbe:
        self.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def summary(self) -> dict[str, dict[str, float]]:
        return {k: {"p99_ms": round(pct(v, 0.99), 1), "max_ms": round(max(v), 1), "ticks": len(v)}
                for k, v in self.gaps.items()}


def jump(table: Any, row: int, *, bottom: bool = False) -> float:
    """Scroll ``table`` to ``row`` (or the bottom); ms until the row's data is there and repainted."""
    model = table.model()
    t = time.perf_counter()
    if bottom:
        table.scrollToBottom()
    else:
        table.scrollTo(model.index(row, 0))
    wait(lambda: model.index(row, 0).data() is not None, 10_000)
    table.viewport().repaint()
    return (time.perf_counter() - t) * 1000


class RequestThreads:
    """Which thread sent each HTTP request of an ``AdminApiClient`` (an httpx request hook).

    What a test asserts about responsiveness: no request ever ran on the GUI thread. That is the
    behaviour a blocked GUI comes from, and unlike a wall-clock gap bound a loaded machine cannot make
    it fail; the gap figures themselves belong to the benches (tests/bench/), as ratios."""

    def __init__(self, client: Any) -> None:
        self.sent = 0
        self.on_gui_thread: list[str] = []
        self._hooks = client._client.event_hooks["request"]
        self._hooks.append(self._record)

    def _record(self, request: Any) -> None:
        self.sent += 1
        if threading.current_thread() is threading.main_thread():
            self.on_gui_thread.append(f"{request.method} {request.url.path}")

    def __enter__(self) -> RequestThreads:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._hooks.remove(self._record)
