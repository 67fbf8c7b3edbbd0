"""The Reconciliation page (issue 6) driven with pytest-qt against a real sandbox over HTTP:
analyse with progress, class chips / search / SQL sort over the paged table, details as plain text,
export, plan → apply (confirmed) → audited, a conflict since the preview, cancel and resume."""

from __future__ import annotations

import threading
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.paths import AppPaths
from console.services.secrets import SecretStore
from console.services.store import Store
from console.ui.dialogs.plan_dialog import PlanDialog
from console.ui.pages.enable_wizard import SetupServices
from console.ui.pages.reconcile_page import ReconcilePage
from tests.sandbox.scim_helpers import with_scim_twins
from tests.ui.test_enable_wizard import shot

TIMEOUT = 30_000
N = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("reconcile-page") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture
def client(server: SandboxServer) -> Iterator[AdminApiClient]:
    with AdminApiClient(server.base_url, server.operator_token, sleep=lambda _s: None) as c:
        yield c


@pytest.fixture
def page(qtbot: Any, runner: Any, client: AdminApiClient, store: Store) -> Iterator[ReconcilePage]:
    services = SetupServices(api=lambda: client, secrets=SecretStore.open(), store=store, operator="carol")
    widget = ReconcilePage(lambda: client, runner, AppPaths.default(), services_provider=lambda: services)
    widget.services = services  # for assertions
    qtbot.addWidget(widget)
    widget.resize(1400, 800)
    widget.show()
    yield widget
    runner.shutdown(timeout=10)
    widget.shutdown()


def analysed(qtbot: Any, page: ReconcilePage, org_id: str, text: str | None = None) -> None:
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.open_org(org_id, text=text)


def test_northwind_findings_filter_sort_details_and_export(qtbot, page, tmp_path: Path) -> None:
    analysed(qtbot, page, "northwind")
    assert page.summary.findings == page.model.total > 0
    assert "northwind" in page.status.text()
    total = page.model.total
    by_class = {cls: int(chip.text().rsplit(": ", 1)[1].replace(",", "")) for cls, chip in page.chips.items()}
    assert sum(by_class.values()) == total
    shot(page, "reconcile-northwind")

    first_cls = next(c for c, n in by_class.items() if n)
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT) as blocker:
        page.chips[first_cls].setChecked(True)
    assert blocker.args == [by_class[first_cls]]
    assert {r.cls for r in page.model.loaded_rows()} == {first_cls}
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.chips[first_cls].setChecked(False)

    names = [r.user_names for r in page.model.loaded_rows()]
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page._on_header_clicked(5)  # Accounts, ascending (SQL sort)
    assert [r.user_names for r in page.model.loaded_rows()] == sorted(names)

    needle = page.model.loaded_rows()[0].user_names.split(", ")[0].split(" (")[0]
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.search.setText(needle)
    assert 0 < page.model.total <= total
    assert all(needle.lower() in (r.user_names + r.value + (r.entra_upn or "")).lower()
               for r in page.model.loaded_rows())

    with qtbot.waitSignal(page.sig_finding_shown, timeout=TIMEOUT):
        page.table.selectRow(0)
    text = page.details.toPlainText()
    assert "Accounts:" in text
    assert "Recommended:" in text
    assert needle in text
    shot(page, "reconcile-details")

    out = tmp_path / "findings.xlsx"
    page.export(str(out))
    qtbot.waitUntil(lambda: "Exported" in page.status.text(), timeout=TIMEOUT)
    with zipfile.ZipFile(out) as z:
        assert "<f>" not in z.read("xl/worksheets/sheet1.xml").decode()


def test_northwind_twins_without_an_export_show_their_confidence_and_filter(qtbot, page) -> None:
    analysed(qtbot, page, "northwind")
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.chips["manual_twin"].setChecked(True)
    rows = page.model.loaded_rows()
    assert {r.value: r.confidence for r in rows} == {
        "Jane Doe": "certain", "Ravi Patel": "certain", "Lucía Gómez": "certain"}
    assert {page.model.index(i, 2).data() for i in range(len(rows))} == {"certain"}  # the Confidence column
    jane = next(i for i, r in enumerate(rows) if r.value == "Jane Doe")
    with qtbot.waitSignal(page.sig_finding_shown, timeout=TIMEOUT):
        page.table.selectRow(jane)
    text = page.details.toPlainText()
    assert "(i) Manual account + SCIM twin — high severity, certain" in text
    assert "Why it is certain (no shared address; names, addresses and dates):" in text
    assert "  • address: jane.doe ↔ jdoe (initial + last name)" in text
    shot(page, "reconcile-likely-twins")
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT) as blocker:
        page.confidence.setCurrentIndex(page.confidence.findText("Possible"))
    assert blocker.args == [0]
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT) as blocker:
        page.confidence.setCurrentIndex(page.confidence.findText("Certain or likely"))
    assert blocker.args == [3]


def test_plan_apply_with_confirmation_audited_and_a_conflict_stops_one_item(
        qtbot, page, server, new_org, client, monkeypatch) -> None:
    org = with_scim_twins(new_org(), server, N, seed=31)
    analysed(qtbot, page, org.org_id)
    assert page.model.total == N
    asked: list[int] = []
    monkeypatch.setattr(PlanDialog, "confirm", staticmethod(lambda _p, _o, n: asked.append(n) or True))

    page.table.selectAll()
    page.make_plan(selected_only=True)
    qtbot.waitUntil(lambda: page.plan_dialog is not None and page.plan_dialog.isVisible(), timeout=TIMEOUT)
    dialog = page.plan_dialog
    plan = dialog.plan
    assert len(plan.api_steps) >= N
    assert all(dialog.table.item(r, 3).text() == "preview" for r in range(dialog.table.rowCount()))
    shot(dialog, "reconcile-plan-preview")
    # Someone changes one twin's manual account after the preview: that item must stop, the rest go on.
    changed = next(s for s in plan.api_steps if s.action == "merge")
    target = changed.into_user_id or changed.user_id
    current = client.get_user(org.org_id, target)
    client.set_primary_email(org.org_id, target, current.primary_email or current.user_name,
                             expected_version=current.version)

    with qtbot.waitSignal(dialog.sig_applied, timeout=60_000) as applied:
        dialog.apply()
    report = applied.args[0]
    assert asked == [len(plan.api_steps)]
    counts = report.counts()
    assert counts["conflict"] == 1
    assert counts["done"] == len(plan.api_steps) - 1
    states = [dialog.table.item(r, 3).text() for r in range(dialog.table.rowCount())]
    assert "conflict" in states
    assert "changed since the preview" in dialog.lines.toPlainText()
    shot(dialog, "reconcile-plan-applied")
    audit = [r for r in page.services.store.audit.query() if r.org_id == org.org_id]
    assert sum(1 for r in audit if r.action.startswith("reconcile.") and r.action != "reconcile.run") \
        == len(plan.steps)
    assert all(u.created_via != "scim" or not u.active or u.merged_into_id is None
               for u in client.iter_users(org.org_id))
    dialog.reject()

    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.analyse()
    assert page.model.total == 1  # only the item that stopped is left


def test_cancelled_run_is_resumed_from_the_page(qtbot, page, server, new_org, client, monkeypatch) -> None:
    from console.services.reconcile import RunStore, apply_run

    org = with_scim_twins(new_org(), server, N, seed=32)
    analysed(qtbot, page, org.org_id)
    plan = page.engine.plan()
    runs = RunStore(page.services.store.engine)
    run = runs.create(plan, actor="carol")

    class StopAfterFirst:
        def __init__(self) -> None:
            self.steps = 0

        def progress(self, done: int, total: int = 0, text: str = "") -> None:
            self.steps = done

        def cancelled(self) -> bool:
            return self.steps >= 1

    stopped = apply_run(client, runs, page.services.store.audit, run.id, StopAfterFirst(), operator="carol")
    assert stopped.status == "cancelled"
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.analyse()
    assert page.resume_button.isVisible()
    monkeypatch.setattr(PlanDialog, "confirm", staticmethod(lambda *_a: True))
    page.resume_run()
    dialog = page.plan_dialog
    assert dialog.apply_button.text() == "Resume…"
    assert dialog.table.item(0, 3).text() in ("done", "advice")
    with qtbot.waitSignal(dialog.sig_applied, timeout=60_000) as applied:
        dialog.apply()
    report = applied.args[0]
    assert report.run.id == run.id
    assert report.status == "finished"
    assert not page.resume_button.isVisible()
    assert runs.unfinished(org.org_id) is None


def test_engines_nobody_shows_are_closed_superseded_and_cancelled_after_done(
        qtbot, page, server, new_org, client, monkeypatch) -> None:
    """Each analysis holds personal data in a temp folder: a re-analysis closes the old engine, and an
    analysis cancelled just as it finished closes the engine the runner dropped."""
    import console.services.reconcile as reconcile

    org = with_scim_twins(new_org(), server, N, seed=33)
    analysed(qtbot, page, org.org_id)
    first = page.engine
    assert first.dir.exists()
    real, made, proceed = reconcile.analyze_org, threading.Event(), threading.Event()
    engines: list[Any] = []

    def held(*args: Any, **kwargs: Any) -> Any:
        engines.append(real(*args, **kwargs))
        made.set()
        proceed.wait(10)
        return engines[-1]

    monkeypatch.setattr(reconcile, "analyze_org", held)
    page.analyse()
    qtbot.waitUntil(lambda: not first.dir.exists(), timeout=TIMEOUT)  # superseded: closed at once
    qtbot.waitUntil(made.is_set, timeout=TIMEOUT)
    page.cancel_analysis()
    proceed.set()
    qtbot.waitUntil(lambda: page.status.text() == "Analysis cancelled.", timeout=TIMEOUT)
    qtbot.waitUntil(lambda: not engines[0].dir.exists(), timeout=TIMEOUT)
    assert page.engine is None


def _open_plan_dialog(qtbot: Any, page: ReconcilePage, monkeypatch: pytest.MonkeyPatch) -> PlanDialog:
    monkeypatch.setattr(PlanDialog, "confirm", staticmethod(lambda *_a: True))
    page.make_plan(selected_only=False)
    qtbot.waitUntil(lambda: page.plan_dialog is not None and page.plan_dialog.isVisible(), timeout=TIMEOUT)
    return page.plan_dialog


def _resume_finishes(qtbot: Any, dialog: PlanDialog, run_id: str) -> None:
    """The dialog is on ``run_id`` and offers Resume; resuming finishes that same run."""
    assert dialog.run_id == run_id
    assert dialog.apply_button.text() == "Resume…"
    with qtbot.waitSignal(dialog.sig_applied, timeout=60_000) as applied:
        dialog.apply()
    assert applied.args[0].run.id == run_id
    assert applied.args[0].status == "finished"
    dialog.reject()


def test_cancel_in_the_dialog_shows_this_run_not_an_older_unfinished_one(
        qtbot, page, server, new_org, client, monkeypatch) -> None:
    """The dialog used to re-read the org's newest unfinished run after a cancel: with an older
    interrupted run of the org around, it painted that run's states and resumed the wrong run."""
    from console.services.reconcile import RunStore

    org = with_scim_twins(new_org(), server, N, seed=34)
    analysed(qtbot, page, org.org_id)
    runs = RunStore(page.services.store.engine)
    older = runs.create(page.engine.plan(), actor="someone-else")
    runs.set_status(older.id, "interrupted")
    dialog = _open_plan_dialog(qtbot, page, monkeypatch)
    # cancelled while it waits behind another job of the org: it never starts
    gate = threading.Event()
    page._runner.run(lambda _t: gate.wait(10), lane=org.org_id, label="something else of the org")
    dialog.apply()
    dialog.cancel_run()
    gate.set()
    qtbot.waitUntil(lambda: dialog.status.text().startswith("Cancelled."), timeout=TIMEOUT)
    assert dialog.run_id != older.id
    assert dialog.table.item(0, 3).text() == "preview"  # nothing of the older run painted here
    # cancelled mid-run: the dialog stays on its own run and resumes it
    server.faults.set(f"POST admin/orgs/{org.org_id}/users/*/merge:latency=400ms")
    try:
        dialog.apply()
        qtbot.waitUntil(lambda: dialog.progress.value() >= 1, timeout=TIMEOUT)
        dialog.cancel_run()
        qtbot.waitUntil(lambda: dialog.status.text().startswith("Cancelled."), timeout=TIMEOUT)
    finally:
        server.faults.clear()
    mine = [r for r in runs.list(org.org_id) if r.id != older.id]
    assert len(mine) == 1
    _resume_finishes(qtbot, dialog, mine[0].id)


def test_a_run_that_fails_is_resumed_by_the_next_apply_not_started_again(
        qtbot, page, server, new_org, client, monkeypatch) -> None:
    """The run exists once its job created it: a failure after that leaves the dialog on that run."""
    from console.services.reconcile import RunStore

    org = with_scim_twins(new_org(), server, N, seed=35)
    analysed(qtbot, page, org.org_id)
    dialog = _open_plan_dialog(qtbot, page, monkeypatch)
    calls = [0]

    def api_once_broken() -> AdminApiClient:
        calls[0] += 1
        if calls[0] == 1:
            raise RuntimeError("no client this time")
        return client

    monkeypatch.setattr(dialog.services, "api", api_once_broken)
    dialog.apply()
    qtbot.waitUntil(lambda: "unexpected error" in dialog.status.text(), timeout=TIMEOUT)
    runs = RunStore(page.services.store.engine)
    created = runs.list(org.org_id)
    assert len(created) == 1
    _resume_finishes(qtbot, dialog, created[0].id)
    assert [r.id for r in runs.list(org.org_id)] == [created[0].id]


def test_plan_all_shown_plans_exactly_the_filtered_findings(
        qtbot, page, server, new_org, client, monkeypatch) -> None:
    """"Plan all shown" follows the class chips and the search box (by the filter, not a list of ids)."""
    org = with_scim_twins(new_org(), server, N, seed=36)
    analysed(qtbot, page, org.org_id)
    assert page.model.total == N
    one = page.model.row_at(0)
    name = one.user_names.split(", ")[0]
    with qtbot.waitSignal(page.sig_query_done, timeout=TIMEOUT):
        page.search.setText(name)
    shown = {page.model.row_at(r).fid for r in range(page.model.total)}
    assert 1 <= len(shown) < N
    dialog = _open_plan_dialog(qtbot, page, monkeypatch)
    assert dialog.plan.findings == len(shown)
    assert set(dialog.plan.classes) == shown
    dialog.reject()
