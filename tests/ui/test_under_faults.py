"""The GUI flows under sandbox faults (issue 8): the Enable SCIM wizard and reconcile apply, with the
platform slow, throttling, failing, cutting answers after it acted, and trickling bodies.

Each case asserts what the operator must be able to rely on: no second token, no step without its
audit record, a state that can be resumed, a clear message, and a GUI thread that kept running: no
request (nor its fault) ever ran on the GUI thread. The event-loop gap is printed for information
only; bounding it in milliseconds would fail on a loaded machine (tests/bench/ measures it)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest

from console.core.models import AuditFilter
from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.paths import AppPaths
from console.services.pending_deliveries import PendingDeliveries
from console.services.secrets import SecretStore
from console.services.store import Store
from console.ui.dialogs.plan_dialog import PlanDialog
from console.ui.pages.enable_wizard import EnableWizard, SetupServices
from console.ui.pages.reconcile_page import ReconcilePage
from tests import logs_data
from tests.sandbox import fault_fixtures
from tests.sandbox.scim_helpers import create_org, with_scim_twins
from tests.ui.gui_probe import GapProbe, RequestThreads

TIMEOUT = 60_000

ENABLE = "POST admin/orgs/*/scim/enable"
FAULTS = {
    "latency": f"{ENABLE}:latency=1500ms",
    "429": f"{ENABLE}:429,retry-after=1@1",
    "503": f"{ENABLE}:503,retry-after=1@1",
    "reset-after-commit": f"{ENABLE}:reset-after-commit@1",
    "503-after-commit": f"{ENABLE}:503-after-commit,retry-after=1@1",
    "slow-read": f"{ENABLE}:slow-read=200Bps",
}

TWINS = 4  # manual accounts with a SCIM twin in the reconcile test

server = fault_fixtures.server  # this module's own sandbox (module scope)
clear_faults = fault_fixtures.clear_faults


@pytest.fixture
def client(server: SandboxServer) -> Iterator[AdminApiClient]:
    with AdminApiClient(server.base_url, server.operator_token) as c:  # real waits: Retry-After honoured
        yield c


def services(client: AdminApiClient, store: Store) -> SetupServices:
    return SetupServices(api=lambda: client, secrets=SecretStore.open(), store=store, operator="dave")


RETRIED = {"429", "503", "reset-after-commit", "503-after-commit"}  # the others only slow the answer


@pytest.mark.parametrize("kind", sorted(FAULTS))
def test_wizard_enable_under_fault_mints_one_token_audits_it_and_stays_responsive(
        qtbot, runner, server, client, store, kind: str) -> None:
    org_id = create_org(server)
    retries: list[Any] = []
    client.on_retry = retries.append
    server.faults.set(FAULTS[kind])
    started = time.perf_counter()
    wizard = EnableWizard(org_id, "Faulty", services(client, store), runner)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.readiness_page.checks = []
    wizard.next()
    page = wizard.enable_page
    with (RequestThreads(client) as threads, GapProbe() as gaps,
          qtbot.waitSignal(wizard.sig_enabled, timeout=TIMEOUT)):
        page.enable()
    elapsed = time.perf_counter() - started
    print(f"{kind}: {len(retries)} retries, {elapsed:.1f} s, max GUI gap {gaps.max_gap_ms:.0f} ms")
    assert threads.sent > 0
    assert threads.on_gui_thread == []  # every request (and its fault) waited off the GUI thread
    assert bool(retries) == (kind in RETRIED)  # the fault really happened (and was retried safely)
    if kind in ("latency", "slow-read"):
        assert elapsed > 1.0
    server.faults.clear()
    active = [t for t in client.get_scim(org_id).tokens if t.active]
    assert [t.id for t in active] == [wizard.result.token_info.id]  # exactly one, and it is ours
    enables = [r for r in store.audit.query() if r.org_id == org_id and r.action == "scim.enable"]
    assert [r.outcome for r in enables] == ["ok"]
    assert enables[0].params["token_id"] == wizard.result.token_info.id
    assert [d.token_id for d in PendingDeliveries(store.engine).list(org_id)] == [wizard.result.token_info.id]
    assert "SCIM is enabled" in page.status.text()


def test_wizard_enable_when_the_platform_keeps_failing_says_so_and_try_again_mints_once(
        qtbot, runner, server, client, store) -> None:
    org_id = create_org(server)
    server.faults.set(f"{ENABLE}:reset-after-commit")  # every enable commits and loses its answer
    wizard = EnableWizard(org_id, "Broken", services(client, store), runner)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.readiness_page.checks = []
    wizard.next()
    page = wizard.enable_page
    with RequestThreads(client) as threads:
        page.enable()
        qtbot.waitUntil(lambda: page.enable_button.isEnabled(), timeout=TIMEOUT)
    assert threads.sent > 0
    assert threads.on_gui_thread == []
    assert wizard.result is None
    assert page.enable_button.text() == "Try again"
    text = page.status.text()
    assert "SCIM is enabled" in text and "did not reach the console" in text  # noqa: PT018 - one sentence
    assert "same request is repeated" in text
    server.faults.clear()
    with qtbot.waitSignal(wizard.sig_enabled, timeout=TIMEOUT):
        page.enable_button.click()  # the same Idempotency-Key: the platform replays the first token
    assert [t.id for t in client.get_scim(org_id).tokens if t.active] == [wizard.result.token_info.id]
    outcomes = [r.outcome for r in store.audit.query() if r.org_id == org_id and r.action == "scim.enable"]
    assert sorted(outcomes) == ["error", "ok"]


@pytest.mark.parametrize("fault", ["merge:reset-after-commit@2", "merge:503,retry-after=1@1",
                                   "merge:429,retry-after=1@1", "merge:latency=800ms@2",
                                   "users/*:slow-read=2kBps"])
def test_reconcile_apply_under_fault_is_audited_resumable_and_ends_with_every_step_done(
        qtbot, runner, server, new_org, client, store, monkeypatch, fault: str) -> None:
    org = with_scim_twins(new_org(), server, TWINS, seed=41 + len(fault))
    svc = services(client, store)
    page = ReconcilePage(lambda: client, runner, AppPaths.default(), services_provider=lambda: svc)
    qtbot.addWidget(page)
    page.show()
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.open_org(org.org_id)
    monkeypatch.setattr(PlanDialog, "confirm", staticmethod(lambda *_a: True))
    page.make_plan(selected_only=False)
    qtbot.waitUntil(lambda: page.plan_dialog is not None, timeout=TIMEOUT)
    dialog = page.plan_dialog
    plan = dialog.plan
    route, _, rest = fault.partition(":")
    server.faults.set(f"POST admin/orgs/{org.org_id}/users/*/{route}:{rest}" if route == "merge"
                      else f"admin/orgs/{org.org_id}/{route}:{rest}")
    with RequestThreads(client) as threads, GapProbe() as gaps:
        for _attempt in range(3):  # a run a fault stopped is resumed from the same dialog
            with qtbot.waitSignal(dialog.sig_applied, timeout=TIMEOUT) as applied:
                dialog.apply()
            if applied.args[0].status == "finished":
                break
            assert dialog.apply_button.text() == "Resume…"
            assert dialog.status.text()  # says why it stopped
    print(f"{fault}: runs {_attempt + 1}, counts {applied.args[0].counts()}, "
          f"max GUI gap {gaps.max_gap_ms:.0f} ms")
    assert threads.sent > 0
    assert threads.on_gui_thread == []
    report = applied.args[0]
    assert report.status == "finished", list(report.lines())
    counts = report.counts()
    assert counts["done"] + counts["already_done"] == len(plan.api_steps)
    assert counts["conflict"] == counts["failed"] == 0
    assert server.faults.fired > 0  # the fault really happened
    server.faults.clear()
    steps = [r for r in store.audit.query(AuditFilter(org_id=org.org_id, limit=1000))
             if r.action.startswith("reconcile.") and r.action != "reconcile.run"
             and r.outcome != "interrupted"]
    assert len(steps) == len(plan.steps)  # every step has its audit record, none lost
    twins = [u for u in client.iter_users(org.org_id) if u.created_via == "scim"]
    assert all(not u.active for u in twins)  # merged, deactivated — never deleted
    assert len(list(client.iter_users(org.org_id))) == 2 * TWINS  # each manual account and its twin
    page.shutdown()


LOG = "GET admin/orgs/{org}/provisioning-log"
LIVE_FAULTS = {
    "latency": "latency=400ms@every2",
    "429": "429,retry-after=1@2",
    "503": "503,retry-after=1@2",
    "reset": "reset@2",
    "slow-read": "slow-read=50kBps@2",
}


def _live_page(qtbot: Any, runner: Any, client: AdminApiClient, monkeypatch: pytest.MonkeyPatch) -> Any:
    from console.services.logstore import live as live_source
    from console.ui.pages.logs_page import LogsPage

    monkeypatch.setattr(live_source, "FIRST_PAGE", 100)
    monkeypatch.setattr(live_source, "BATCH_EVENTS", 300)
    page = LogsPage(AppPaths.default().ensure(), runner, lambda: client, debounce_ms=0)
    qtbot.addWidget(page)
    page.show()
    return page


@pytest.mark.parametrize("kind", sorted(LIVE_FAULTS))
def test_live_log_view_under_fault_loads_every_event_and_stays_responsive(
        qtbot, runner, server, client, monkeypatch, kind: str) -> None:
    total = logs_data.log_total(client, "tailspin")
    retries: list[Any] = []
    client.on_retry = retries.append
    page = _live_page(qtbot, runner, client, monkeypatch)
    server.faults.set(f"{LOG.format(org='tailspin')}:{LIVE_FAULTS[kind]}")
    with RequestThreads(client) as threads, GapProbe() as gaps:
        page.open_live("tailspin")
        qtbot.waitUntil(lambda: "all" in page.message.text() and page.model.rowCount() == total,
                        timeout=TIMEOUT)
    fired = server.faults.fired
    server.faults.clear()
    print(f"live log, {kind}: {total} events, {len(retries)} retries, max GUI gap {gaps.max_gap_ms:.0f} ms")
    assert threads.sent > 0
    assert threads.on_gui_thread == []
    assert fired > 0  # the fault really happened
    assert bool(retries) == (kind in ("429", "503", "reset"))
    ds = page.dataset
    with ds.lock:  # the page's own queries may still be running on workers
        distinct = ds.con.execute("SELECT count(DISTINCT event_id) FROM log_events").fetchone()[0]
    assert distinct == total  # every event once: no page lost or doubled by a retry


def test_live_log_when_the_platform_keeps_failing_says_so_and_keeps_what_it_has(
        qtbot, runner, server, client, monkeypatch) -> None:
    page = _live_page(qtbot, runner, client, monkeypatch)
    server.faults.set(f"{LOG.format(org='tailspin')}:500")  # every log page fails (and 500 is not retried)
    page.open_live("tailspin")
    qtbot.waitUntil(lambda: "Could not load the live log" in page.message.text(), timeout=TIMEOUT)
    assert "Select Live log to try again" in page.message.text()
    server.faults.set(f"{LOG.format(org='tailspin')}:500@2-99")  # the first page arrives, older ones fail
    page.open_live("tailspin")
    qtbot.waitUntil(lambda: "loading older ones failed" in page.message.text(), timeout=TIMEOUT)
    loaded = int(page.message.text().split(": ", 1)[1].split(" events")[0].replace(",", ""))
    total = logs_data.log_total(client, "tailspin")
    assert 100 <= loaded < total
    qtbot.waitUntil(lambda: page.model.rowCount() == loaded, timeout=TIMEOUT)  # what arrived stays shown
    server.faults.clear()
    page.open_live("tailspin")  # and trying again loads everything
    qtbot.waitUntil(lambda: "all" in page.message.text() and page.model.rowCount() == total,
                    timeout=TIMEOUT)
