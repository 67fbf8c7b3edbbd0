"""The one background-op helper of the GUI (conventions §2.2, §4.2 items 2–3).

Every slot that does I/O hands a *plain callable* ``fn(token) -> result`` to ``TaskRunner.run``.
The callable runs on a worker thread and never touches a widget; its result or exception comes
back on the GUI thread through a queued signal. Three refinements over a bare executor:

* **lanes** – ops with the same ``lane`` (an org id) run one at a time, in submission order, so
  two writes to the same customer never interleave (Vorta's per-site queues);
* **latest wins** – ops with the same ``purpose`` (``"orgs.search"``) supersede each other: the
  older op is cancelled and, should it finish anyway, its result is dropped (a generation
  number, as Orange3 does for search-as-you-type);
* **busy/progress** – ``sig_busy_changed`` only turns on once something has been running for
  ``show_delay_ms`` (~1 s), so quick ops never flash a progress bar.

Worker functions cooperate through their ``CancelToken``: ``token.cancelled()`` and
``token.raise_if_cancelled()`` between steps, ``token.progress(done, total, text)`` to report.
Implementation notes: a ``ThreadPoolExecutor`` plus a GUI-thread ``QObject`` whose signal the
workers emit (Qt queues it because the receiver lives on the GUI thread); jobs in flight are
kept in ``self._jobs`` so nothing is garbage-collected mid-flight (desktop-stack §4).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from PySide6.QtCore import QObject, QTimer, Signal

from console.core.errors import Cancelled

log = logging.getLogger(__name__)

SHOW_PROGRESS_AFTER_MS = 1000

Callback = Callable[[Any], None]


class CancelToken:
    """What a worker function sees of its job: cancellation flag and progress reporting."""

    def __init__(self, job_id: int, report: Callable[[int, int, int, str], None]) -> None:
        self._job_id = job_id
        self._event = threading.Event()
        self._report = report

    def cancel(self) -> None:
        self._event.set()

    def cancelled(self) -> bool:
        return self._event.is_set()

    def wait(self, timeout: float) -> bool:
        """Sleep up to ``timeout`` seconds, waking at once on cancel; True when cancelled."""
        return self._event.wait(timeout)

    def raise_if_cancelled(self) -> None:
        if self._event.is_set():
            raise Cancelled()

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        """Report progress; ``total == 0`` means unknown (an indeterminate bar)."""
        self._report(self._job_id, int(done), int(total), str(text))


@dataclass(eq=False)
class Job:
    """A submitted op. ``cancel()`` is safe from the GUI thread at any time."""

    id: int
    fn: Callable[[CancelToken], Any]  # must not capture widgets: it may be released on a worker
    label: str
    lane: str | None
    purpose: str | None
    generation: int
    on_success: Callback | None
    on_failure: Callable[[BaseException], None] | None
    token: CancelToken
    on_progress: Callable[[int, int, str], None] | None = None  # this job's progress (GUI thread)
    on_dropped: Callable[[Job], None] | None = None  # its outcome was dropped (cancelled or superseded)
    #: what ``fn`` returned when that outcome was dropped (None if it raised): a resource it opened
    #: (an engine, a file) is still the caller's to close
    dropped_result: Any = None
    parent: Any = None
    started: bool = False
    finished: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def cancel(self) -> None:
        self.token.cancel()

    @property
    def cancelled(self) -> bool:
        return self.token.cancelled()


def _done_fn(_token: CancelToken) -> None:
    """Placeholder for a delivered job's ``fn`` (the real one is released on the GUI thread)."""


class _Bridge(QObject):
    """Lives on the GUI thread; workers emit these and Qt queues the delivery to the GUI thread."""

    sig_job_done = Signal(object, bool, object)  # job, ok, result-or-exception
    sig_job_progress = Signal(int, int, int, str)  # job id, done, total, text


class TaskRunner(QObject):
    """Runs ``fn(token)`` off the GUI thread and delivers results on it.

    Signals:
        sig_task_finished(job, result): an op succeeded and its result was delivered.
        sig_task_failed(job, exc): an op raised (``Cancelled`` and stale results are not reported).
        sig_task_dropped(job): a result was dropped because it was cancelled or superseded.
        sig_progress_changed(text, done, total): the newest progress report of any running op.
        sig_busy_changed(busy): on after ``show_delay_ms`` of continuous work, off when idle.
    """

    sig_task_finished = Signal(object, object)
    sig_task_failed = Signal(object, object)
    sig_task_dropped = Signal(object)
    sig_progress_changed = Signal(str, int, int)
    sig_busy_changed = Signal(bool)

    def __init__(self, parent: QObject | None = None, *, max_workers: int = 4,
                 show_delay_ms: int = SHOW_PROGRESS_AFTER_MS,
                 error_presenter: Callable[[Any, BaseException], None] | None = None) -> None:
        super().__init__(parent)
        self._executor = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="console-op")
        self._bridge = _Bridge(self)
        self._bridge.sig_job_done.connect(self._on_job_done)
        self._bridge.sig_job_progress.connect(self._on_job_progress)
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}  # every job not yet delivered (keeps references alive)
        self._lanes: dict[str, deque[Job]] = {}  # lane -> queued jobs (head is running)
        self._generations: dict[str, int] = {}
        self._latest: dict[str, Job] = {}
        self._error_presenter = error_presenter
        self._busy = False
        self._closed = False
        self._busy_timer = QTimer(self)
        self._busy_timer.setSingleShot(True)
        self._busy_timer.setInterval(max(0, show_delay_ms))
        self._busy_timer.timeout.connect(self._on_busy_timeout)

    # ---- Public API

    def run(self, fn: Callable[[CancelToken], Any], on_success: Callback | None = None, *,
            on_failure: Callable[[BaseException], None] | None = None, lane: str | None = None,
            purpose: str | None = None, label: str = "", parent: Any = None,
            on_progress: Callable[[int, int, str], None] | None = None,
            on_dropped: Callable[[Job], None] | None = None) -> Job:
        """Submit ``fn``; ``on_success(result)`` / ``on_failure(exc)`` are called on the GUI thread.

        Without ``on_failure`` a failure goes to ``console.ui.errors.show_error(parent, exc)``.
        ``on_progress(done, total, text)`` gets this job's reports (the window-wide
        ``sig_progress_changed`` gets every job's); ``on_dropped(job)`` is called instead of either
        outcome callback when the job was cancelled or superseded, so a page can leave its busy state
        (compare ``job`` with the page's current one: a superseded job is dropped after its successor
        started) and close what ``job.dropped_result`` holds.
        """
        if self._closed:
            raise RuntimeError("TaskRunner is shut down")
        job_id = next(self._ids)
        generation = 0
        if purpose is not None:
            generation = self._generations.get(purpose, 0) + 1
            self._generations[purpose] = generation
            previous = self._latest.get(purpose)
            if previous is not None and not previous.finished:
                previous.cancel()
        job = Job(id=job_id, fn=fn, label=label, lane=lane, purpose=purpose, generation=generation,
                  on_success=on_success, on_failure=on_failure,
                  token=CancelToken(job_id, self._bridge.sig_job_progress.emit), parent=parent,
                  on_progress=on_progress, on_dropped=on_dropped)
        self._jobs[job_id] = job
        if purpose is not None:
            self._latest[purpose] = job
        if lane is None:
            self._start(job)
        else:
            queue = self._lanes.setdefault(lane, deque())
            queue.append(job)
            if len(queue) == 1:
                self._start(job)
        self._update_busy()
        return job

    def cancel_purpose(self, purpose: str) -> None:
        """Cancel the current op of ``purpose`` (e.g. when a page goes away)."""
        job = self._latest.get(purpose)
        if job is not None:
            job.cancel()

    def cancel_all(self) -> None:
        for job in list(self._jobs.values()):
            job.cancel()

    @property
    def in_flight(self) -> int:
        return len(self._jobs)

    @property
    def busy(self) -> bool:
        return self._busy

    def is_current(self, job: Job) -> bool:
        """False once a newer op of the same purpose was submitted (its result will be dropped)."""
        return job.purpose is None or self._generations.get(job.purpose) == job.generation

    def shutdown(self, timeout: float = 5.0) -> bool:
        """Cancel everything and wait for the workers (``aboutToQuit``); True when all stopped."""
        if self._closed:
            return True
        self._closed = True
        self.cancel_all()
        for queue in self._lanes.values():  # queued lane jobs never start
            while len(queue) > 1:
                self._jobs.pop(queue.pop().id, None)
        done = threading.Event()

        def _wait() -> None:
            self._executor.shutdown(wait=True, cancel_futures=True)
            done.set()

        waiter = threading.Thread(target=_wait, name="console-op-shutdown", daemon=True)
        waiter.start()
        finished = done.wait(timeout)
        if not finished:
            log.warning("background operations still running after %.1f s at shutdown", timeout)
        self._busy_timer.stop()
        self._jobs.clear()
        return finished

    # ---- Worker side

    def _start(self, job: Job) -> None:
        job.started = True
        self._executor.submit(self._execute, job)

    def _execute(self, job: Job) -> None:
        """Runs on a worker thread. Always emits exactly one ``sig_job_done`` (in ``finally``)."""
        ok, payload = False, None
        try:
            job.token.raise_if_cancelled()
            payload = job.fn(job.token)
            ok = True
        except BaseException as exc:  # noqa: BLE001 - delivered to the GUI thread, never swallowed
            payload = exc
        finally:
            try:
                self._bridge.sig_job_done.emit(job, ok, payload)
            except RuntimeError:  # the bridge was deleted (app quitting): nobody to deliver to
                pass

    # ---- GUI side

    def _on_job_done(self, job: Job, ok: bool, payload: Any) -> None:
        job.finished = True
        # Drop the job's references to callbacks and widgets *here*, on the GUI thread: the worker
        # thread may hold the last reference to ``job``, and a widget whose last reference dies
        # on a worker thread is destroyed there (a crash, seen in QAbstractItemView's destructor).
        on_success, on_failure, parent = job.on_success, job.on_failure, job.parent
        on_dropped = job.on_dropped
        job.on_success = job.on_failure = job.parent = job.on_progress = job.on_dropped = None
        job.fn = _done_fn
        known = self._jobs.pop(job.id, None) is not None
        self._advance_lane(job)
        if job.purpose is not None and self._latest.get(job.purpose) is job:
            del self._latest[job.purpose]
        self._update_busy()
        if not known or self._closed:
            return
        if job.cancelled or not self.is_current(job) or (not ok and isinstance(payload, Cancelled)):
            log.debug("dropped result of op %s (%s)", job.id, job.label or job.purpose)
            job.dropped_result = payload if ok else None
            self.sig_task_dropped.emit(job)
            if on_dropped is not None:
                on_dropped(job)
            return
        if ok:
            if on_success is not None:
                on_success(payload)
            self.sig_task_finished.emit(job, payload)
            return
        self.sig_task_failed.emit(job, payload)
        if on_failure is not None:
            on_failure(payload)
        else:
            presenter = self._error_presenter
            if presenter is None:
                from console.ui import errors

                presenter = errors.show_error
            presenter(parent, payload)

    def _advance_lane(self, job: Job) -> None:
        if job.lane is None:
            return
        queue = self._lanes.get(job.lane)
        if not queue:
            return
        if queue and queue[0] is job:
            queue.popleft()
        while queue and self._closed:
            self._jobs.pop(queue.popleft().id, None)
        if queue:
            self._start(queue[0])
        else:
            del self._lanes[job.lane]

    def _on_job_progress(self, job_id: int, done: int, total: int, text: str) -> None:
        job = self._jobs.get(job_id)
        if job is None or job.cancelled:
            return
        if job.on_progress is not None:
            job.on_progress(done, total, text or job.label)
        self.sig_progress_changed.emit(text or job.label, done, total)

    def _update_busy(self) -> None:
        if self._jobs and not self._busy and not self._busy_timer.isActive():
            self._busy_timer.start()
        elif not self._jobs:
            self._busy_timer.stop()
            if self._busy:
                self._busy = False
                self.sig_busy_changed.emit(False)

    def _on_busy_timeout(self) -> None:
        if self._jobs and not self._busy:
            self._busy = True
            label = next((j.label for j in self._jobs.values() if j.label), "Working…")
            self.sig_busy_changed.emit(True)
            self.sig_progress_changed.emit(label, 0, 0)
