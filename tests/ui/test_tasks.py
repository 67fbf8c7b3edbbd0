"""The background-op helper: results and errors on the GUI thread, cancel, latest-wins, lanes, progress."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from console.core.errors import Cancelled, UserFacingError
from console.ui.tasks import CancelToken, TaskRunner


def test_result_is_delivered_on_the_gui_thread(qtbot: Any, runner: TaskRunner) -> None:
    seen: dict[str, Any] = {}

    def work(_token: CancelToken) -> str:
        seen["worker"] = threading.current_thread()
        return "done"

    with qtbot.waitSignal(runner.sig_task_finished, timeout=5000) as blocker:
        runner.run(work, lambda r: seen.update(result=r, gui=threading.current_thread()))

    assert blocker.args[1] == "done"
    assert seen["result"] == "done"
    assert seen["gui"] is threading.main_thread()
    assert seen["worker"] is not threading.main_thread()
    assert runner.in_flight == 0


def test_errors_are_delivered_as_signals_and_to_the_failure_callback(qtbot: Any, runner: TaskRunner) -> None:
    failures: list[BaseException] = []

    def boom(_token: CancelToken) -> None:
        raise UserFacingError("The platform said no.")

    with qtbot.waitSignal(runner.sig_task_failed, timeout=5000) as blocker:
        runner.run(boom, lambda _r: pytest.fail("success callback must not run"), on_failure=failures.append)

    assert isinstance(blocker.args[1], UserFacingError)
    assert [str(e) for e in failures] == ["The platform said no."]


def test_unhandled_failure_goes_to_the_error_presenter(qtbot: Any, runner: TaskRunner,
                                                      shown_errors: list[BaseException]) -> None:
    with qtbot.waitSignal(runner.sig_task_failed, timeout=5000):
        runner.run(lambda _t: 1 / 0)
    assert len(shown_errors) == 1
    assert isinstance(shown_errors[0], ZeroDivisionError)


def test_cancel_drops_the_result_and_the_worker_sees_the_flag(qtbot: Any, runner: TaskRunner,
                                                             shown_errors: list[BaseException]) -> None:
    started, observed = threading.Event(), threading.Event()

    def work(token: CancelToken) -> str:
        started.set()
        token.wait(10)
        observed.set()
        token.raise_if_cancelled()
        return "never"

    results: list[Any] = []
    with qtbot.waitSignal(runner.sig_task_dropped, timeout=5000), \
            qtbot.assertNotEmitted(runner.sig_task_finished), qtbot.assertNotEmitted(runner.sig_task_failed):
        job = runner.run(work, results.append)
        assert started.wait(5)
        job.cancel()
    assert observed.is_set()
    assert results == []
    assert shown_errors == []


def test_cancelled_raised_by_worker_is_never_shown(qtbot: Any, runner: TaskRunner,
                                                   shown_errors: list[BaseException]) -> None:
    def work(_token: CancelToken) -> None:
        raise Cancelled()

    with qtbot.waitSignal(runner.sig_task_dropped, timeout=5000):
        runner.run(work)
    assert shown_errors == []


def test_latest_wins_drops_the_stale_result(qtbot: Any, runner: TaskRunner) -> None:
    release_old = threading.Event()
    delivered: list[str] = []

    def old(_token: CancelToken) -> str:
        release_old.wait(5)
        return "old"  # ignores its token on purpose: the result must still be dropped

    first = runner.run(old, delivered.append, purpose="search")
    with qtbot.waitSignal(runner.sig_task_finished, timeout=5000):
        second = runner.run(lambda _t: "new", delivered.append, purpose="search")
    assert first.cancelled
    assert not runner.is_current(first)
    assert runner.is_current(second)
    with qtbot.waitSignal(runner.sig_task_dropped, timeout=5000) as dropped:
        release_old.set()
    assert dropped.args[0] is first
    assert delivered == ["new"]


def test_same_lane_never_overlaps_and_keeps_order(qtbot: Any, qapp: Any) -> None:
    runner = TaskRunner(max_workers=4, show_delay_ms=0)
    lock = threading.Lock()
    state = {"running": 0, "max": 0}
    order: list[int] = []

    def make(i: int) -> Any:
        def work(_token: CancelToken) -> int:
            with lock:
                state["running"] += 1
                state["max"] = max(state["max"], state["running"])
            threading.Event().wait(0.02)
            with lock:
                state["running"] -= 1
            return i
        return work

    for i in range(5):
        runner.run(make(i), order.append, lane="org-1")
    qtbot.waitUntil(lambda: len(order) == 5, timeout=10000)
    assert state["max"] == 1
    assert order == [0, 1, 2, 3, 4]
    assert runner.shutdown(timeout=5)


def test_different_lanes_run_concurrently(qtbot: Any, qapp: Any) -> None:
    runner = TaskRunner(max_workers=4, show_delay_ms=0)
    barrier = threading.Barrier(2, timeout=5)  # only passes if both lanes run at the same time
    done: list[str] = []

    def work(lane: str) -> Any:
        def fn(_token: CancelToken) -> str:
            barrier.wait()
            return lane
        return fn

    runner.run(work("a"), done.append, lane="org-a")
    runner.run(work("b"), done.append, lane="org-b")
    qtbot.waitUntil(lambda: sorted(done) == ["a", "b"], timeout=10000)
    assert runner.shutdown(timeout=5)


def test_progress_and_busy_signals(qtbot: Any, runner: TaskRunner) -> None:
    reports: list[tuple[str, int, int]] = []
    runner.sig_progress_changed.connect(lambda text, done, total: reports.append((text, done, total)))
    proceed = threading.Event()

    def work(token: CancelToken) -> str:
        for i in range(1, 4):
            token.progress(i, 3, f"step {i}")
        proceed.wait(5)
        return "ok"

    with qtbot.waitSignal(runner.sig_busy_changed, timeout=5000, check_params_cb=lambda b: b is True):
        runner.run(work, label="Working")
    qtbot.waitUntil(lambda: ("step 3", 3, 3) in reports, timeout=5000)
    with qtbot.waitSignal(runner.sig_busy_changed, timeout=5000, check_params_cb=lambda b: b is False):
        proceed.set()
    assert ("step 1", 1, 3) in reports


def test_quick_ops_never_show_busy(qtbot: Any, qapp: Any) -> None:
    runner = TaskRunner(show_delay_ms=10_000)
    with qtbot.assertNotEmitted(runner.sig_busy_changed), \
            qtbot.waitSignal(runner.sig_task_finished, timeout=5000):
        runner.run(lambda _t: 42)
    assert runner.shutdown(timeout=5)


def test_shutdown_cancels_and_waits_for_workers(qtbot: Any, qapp: Any) -> None:
    runner = TaskRunner(max_workers=1, show_delay_ms=0)
    started, stopped = threading.Event(), threading.Event()

    def work(token: CancelToken) -> None:
        started.set()
        token.wait(10)
        stopped.set()

    runner.run(work)
    queued = runner.run(lambda _t: pytest.fail("a queued job must not start after shutdown"))
    assert started.wait(5)
    assert runner.shutdown(timeout=5) is True
    assert stopped.is_set()
    assert queued.cancelled
    with pytest.raises(RuntimeError):
        runner.run(lambda _t: None)


def test_delivered_jobs_release_callbacks_on_the_gui_thread(qtbot: Any, runner: TaskRunner) -> None:
    """A worker may hold the last reference to a job; the job must not keep widgets alive then
    (a widget destroyed on a worker thread crashed in QAbstractItemView's destructor)."""
    with qtbot.waitSignal(runner.sig_task_finished, timeout=5000) as blocker:
        job = runner.run(lambda _t: 1, lambda _r: None, on_failure=lambda _e: None, parent=object())
    assert blocker.args[0] is job
    assert job.on_success is None
    assert job.on_failure is None
    assert job.parent is None


def test_per_job_progress_and_dropped_callbacks(qtbot: Any, runner: TaskRunner) -> None:
    """A page hears its own job's progress only, and learns when the job's outcome was dropped."""
    mine: list[tuple[int, int, str]] = []
    dropped: list[str] = []
    proceed = threading.Event()

    def work(token: CancelToken) -> str:
        token.progress(1, 2, "half")
        proceed.wait(5)
        token.raise_if_cancelled()
        return "ok"

    def other(token: CancelToken) -> str:
        token.progress(7, 9, "someone else")
        return "other"

    job = runner.run(work, lambda _r: dropped.append("finished?"), on_progress=lambda *a: mine.append(a),
                     on_dropped=lambda j: dropped.append("dropped" if j is job else "another job"))
    with qtbot.waitSignal(runner.sig_task_finished, timeout=5000):
        runner.run(other)
    qtbot.waitUntil(lambda: mine == [(1, 2, "half")], timeout=5000)
    job.cancel()
    proceed.set()
    qtbot.waitUntil(lambda: dropped == ["dropped"], timeout=5000)
    assert mine == [(1, 2, "half")]  # nothing of the other job, nothing after the cancel
    assert job.on_progress is None  # released with the other callbacks
    assert job.on_dropped is None
    assert job.dropped_result is None  # it raised Cancelled: nothing to close


def test_a_result_dropped_after_it_was_made_is_handed_to_on_dropped(qtbot: Any, runner: TaskRunner) -> None:
    """A job that returns a resource as it is cancelled: the runner drops the outcome but hands the
    resource over, so the page can close it (an analysis engine and its temp files)."""
    made = threading.Event()
    proceed = threading.Event()
    seen: list[Any] = []

    def work(_token: CancelToken) -> tuple[str, int]:
        made.set()
        proceed.wait(5)
        return ("engine", 1)  # does not look at the cancel: it finished its work

    job = runner.run(work, lambda _r: seen.append("success?"),
                     on_dropped=lambda j: seen.append(j.dropped_result))
    assert made.wait(5)
    job.cancel()
    proceed.set()
    qtbot.waitUntil(lambda: seen != [], timeout=5000)
    assert seen == [("engine", 1)]
