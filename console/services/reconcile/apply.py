"""Apply (or resume) a reconciliation run: one platform call per step, each audited before it counts.

A plain function for a worker thread: ``apply_run(client, runs, audit, run_id, token, operator=…)``
with any token that has ``progress(done, total, text)`` and ``cancelled()`` (the GUI's CancelToken,
the CLI's, a test's). Per step:

1. **Already there?** The user is read first; if the platform already shows the step's effect (a
   previous attempt whose answer was lost, a second apply of the same plan, someone else's fix), the
   step is recorded as ``already_done`` and nothing is sent (``core.reconcile.plan.effect_present``).
2. **Call** the support action with ``expected_version`` — the version the preview saw, or, when an
   earlier step of this run changed the same user, the version that step left. A ``409
   version_conflict`` means someone changed the user since the preview: the step stops as
   ``conflict`` with a message saying so, the later steps of the same item are ``blocked`` (not
   attempted) and the other items go on. Other refusals (422, 404, ``already_merged``) stop the item
   as ``failed`` with the platform's reason.
3. **Audit** the outcome in the local trail (``store.audit.record``, committed) and only then mark the
   step and report progress. The platform writes its own audit entry for every action.

The run stops — status ``interrupted``, current step left ``running`` so the resume re-checks it —
on a network failure, timeout, 5xx or an auth error (every later call would fail the same way), and
``cancelled`` between steps when the token says so. ``apply_run`` on the same run id resumes it:
finished steps are skipped, everything else continues.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from console.core.reconcile.findings import Account
from console.core.reconcile.plan import (
    ADVICE,
    CLEAR_IDP_LINK,
    MERGE,
    RELEASE_EMAIL,
    SET_PRIMARY_EMAIL,
    PlannedStep,
    effect_present,
)
from console.services import api_errors as E  # noqa: N812
from console.services.reconcile import runs as R  # noqa: N812
from console.services.reconcile.sources import NoProgress, ProgressToken

log = logging.getLogger(__name__)

STOPS_RUN = (E.NetworkError, E.TimeoutError_, E.ServerError, E.RateLimitedError, E.AuthError)
_OUTCOME = {R.DONE: "ok", R.ALREADY_DONE: "already_done", R.ADVICE_SHOWN: "advice", R.CONFLICT: "conflict",
            R.FAILED: "error", R.BLOCKED: "blocked"}


@dataclass(frozen=True)
class RunReport:
    """What a run did, step by step (``run.steps``), and why it stopped if it did."""

    run: R.RunRecord
    stopped_reason: str | None = None

    @property
    def status(self) -> str:
        return self.run.status

    @property
    def ok(self) -> bool:
        return self.run.status == R.RUN_FINISHED and not self.run.in_state(*R.STOPPED)

    def counts(self) -> dict[str, int]:
        return self.run.counts()

    def lines(self) -> Iterator[str]:
        """The report for a person: one line per step that did not simply succeed, then the totals."""
        for s in self.run.steps:
            if s.state in R.SUCCEEDED:
                continue
            label = {R.PENDING: "not started", R.RUNNING: "interrupted (outcome checked on resume)"}.get(
                s.state, s.state)
            yield f"step {s.seq} [{s.step.action}] {label}: {s.detail or s.step.text}"
        c = self.counts()
        yield (f"run {self.run.id} {self.run.status}: {c[R.DONE]} done, {c[R.ALREADY_DONE]} already done, "
               f"{c[R.ADVICE_SHOWN]} advice, {c[R.CONFLICT]} changed since the preview, "
               f"{c[R.FAILED]} failed, {c[R.BLOCKED]} blocked, {c[R.RUNNING]} interrupted, "
               f"{c[R.PENDING]} not started")
        if self.stopped_reason:
            yield f"stopped: {self.stopped_reason}"


def _read(client: Any, org_id: str, user_id: str) -> Account | None:
    try:
        return Account.from_platform_user(client.get_user(org_id, user_id))
    except E.NotFoundError:
        return None


def _call(client: Any, org_id: str, step: PlannedStep, expected: int | None,
          expected_target: int | None) -> Any:
    uid = step.user_id
    if step.action == CLEAR_IDP_LINK:
        return client.clear_idp_link(org_id, uid, expected_version=expected)
    if step.action == SET_PRIMARY_EMAIL:
        return client.set_primary_email(org_id, uid, step.email, expected_version=expected)
    if step.action == RELEASE_EMAIL:
        return client.release_email(org_id, uid, step.email, expected_version=expected)
    if step.action == MERGE:
        return client.merge_users(org_id, uid, step.into_user_id, expected_version=expected,
                                  expected_target_version=expected_target)
    raise ValueError(step.action)


def _conflict_text(step: PlannedStep, exc: E.ApiError, expected: int | None) -> str:
    who = exc.details.get("user_id") or step.user_id
    current = exc.details.get("current_version")
    want = exc.details.get("expected_version", expected)
    return (f"User {who} changed since the preview (version {want} → {current}); nothing was changed. "
            "Run the analysis again to see it as it is now.")


def _execute(client: Any, org_id: str, step: PlannedStep,
             versions: dict[str, int]) -> tuple[str, str, int | None]:
    """(state, detail, version the step leaves on the user the next step would touch)."""
    user = _read(client, org_id, step.user_id or "")
    if user is None:
        return R.FAILED, f"User {step.user_id} no longer exists on the platform.", None
    if effect_present(step, {user.id: user}):
        after = user.version
        if step.action == MERGE and step.into_user_id:
            target = _read(client, org_id, step.into_user_id)
            after = target.version if target else None
        return R.ALREADY_DONE, "The platform already shows this change; nothing was sent.", after
    expected = versions.get(step.user_id or "", step.expected_version)
    expected_target = versions.get(step.into_user_id or "", step.expected_target_version)
    try:
        result = _call(client, org_id, step, expected, expected_target)
    except E.ConflictError as exc:
        if exc.code == "version_conflict":
            return R.CONFLICT, _conflict_text(step, exc, expected), None
        return R.FAILED, f"The platform refused: {exc.message} ({exc.code}).", None
    except (E.BadRequestError, E.NotFoundError, E.GoneError) as exc:
        return R.FAILED, f"The platform refused: {exc.message} ({exc.code}).", None
    return R.DONE, step.text, int(result.version)


def apply_run(client: Any, runs: R.RunStore, audit: Any, run_id: str, token: ProgressToken | None = None, *,
              operator: str, profile_id: str | None = None) -> RunReport:
    token = token or NoProgress()
    run = runs.get(run_id)
    if run.status in (R.RUN_FINISHED, R.RUN_ABANDONED):
        return RunReport(run)
    org = run.org_id
    resumed = any(s.state != R.PENDING for s in run.steps)
    runs.set_status(run_id, R.RUN_RUNNING)
    audit.record("reconcile.run", org_id=org, profile_id=profile_id, actor=operator,
                 outcome="resumed" if resumed else "started",
                 params={"run_id": run_id, "plan_id": run.plan_id, "steps": len(run.steps)})
    versions: dict[str, int] = {}
    stopped: dict[str, int] = {}
    for s in run.steps:
        if s.state in (R.DONE, R.ALREADY_DONE) and s.result_version is not None:
            versions[_versioned_user(s.step)] = s.result_version
        if s.state in R.STOPPED:
            stopped.setdefault(s.step.item, s.seq)
    total = len(run.steps)
    finished = sum(1 for s in run.steps if s.state in R.FINAL)
    status, reason = R.RUN_FINISHED, None
    try:
        for s in run.steps:
            if s.state in R.FINAL:
                continue
            if token.cancelled():
                status, reason = R.RUN_CANCELLED, "cancelled by the operator"
                break
            step = s.step
            if step.item in stopped:
                state, detail, after = (R.BLOCKED, f"Not attempted: step {stopped[step.item]} of this item "
                                        "stopped.", None)
            elif step.action == ADVICE:
                state, detail, after = R.ADVICE_SHOWN, step.text, None
            else:
                runs.set_step(run_id, s.seq, R.RUNNING)
                try:
                    state, detail, after = _execute(client, org, step, versions)
                except STOPS_RUN as exc:
                    status, reason = R.RUN_INTERRUPTED, f"{type(exc).__name__}: {exc}"
                    audit.record(f"reconcile.{step.action}", org_id=org, profile_id=profile_id,
                                 actor=operator, outcome="interrupted", params=_params(run_id, s.seq, step),
                                 detail=reason)
                    break
            audit.record(f"reconcile.{step.action}", org_id=org, profile_id=profile_id, actor=operator,
                         outcome=_OUTCOME[state], detail=detail,
                         params={**_params(run_id, s.seq, step), "result_version": after})
            runs.set_step(run_id, s.seq, state, detail, after)
            if after is not None:
                versions[_versioned_user(step)] = after
            if state in R.STOPPED:
                stopped.setdefault(step.item, s.seq)
            finished += 1
            token.progress(finished, total, f"{state.replace('_', ' ')}: {step.text[:120]}")
    except BaseException as exc:  # a bug, KeyboardInterrupt, a dying store: leave the run resumable
        runs.set_status(run_id, R.RUN_INTERRUPTED)
        log.error("reconcile run %s interrupted by %s", run_id, type(exc).__name__)
        raise
    after_run = runs.get(run_id)
    if status == R.RUN_FINISHED and not after_run.finished:
        status = R.RUN_INTERRUPTED
    counts = after_run.counts()
    runs.set_status(run_id, status, summary=counts)
    audit.record("reconcile.run", org_id=org, profile_id=profile_id, actor=operator, outcome=status,
                 params={"run_id": run_id, "plan_id": run.plan_id, **counts}, detail=reason)
    return RunReport(runs.get(run_id), reason)  # read back: the status and time set_status stored


def _versioned_user(step: PlannedStep) -> str:
    """The user whose version a step's ``result_version`` is (a merge answers with the survivor)."""
    return (step.into_user_id if step.action == MERGE else step.user_id) or ""


def _params(run_id: str, seq: int, step: PlannedStep) -> dict[str, Any]:
    return {"run_id": run_id, "step": seq, "item": step.item, "user_id": step.user_id, "email": step.email,
            "into_user_id": step.into_user_id, "expected_version": step.expected_version,
            "expected_target_version": step.expected_target_version}
