"""The logs page on real generated exports and a real sandbox (pytest-qt, offscreen)."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QPointF, Qt

from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.logstore import LogFilter, importer
from console.services.logstore import live as live_source
from console.services.paths import AppPaths
from console.ui.pages import logs_page as page_module
from console.ui.pages.logs_page import LogsPage, render_details
from tests import logs_data
from tests.ui.test_enable_wizard import shot

N = 2000


@pytest.fixture
def page(qtbot: Any, runner: Any, tmp_path: Path) -> LogsPage:
    p = LogsPage(AppPaths.under(tmp_path / "home"), runner, debounce_ms=0)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    return p


def _wait_imported(qtbot: Any, page: LogsPage, n: int = N) -> None:
    """Until the saved import (not the head preview or the in-memory read) is the page's dataset."""
    qtbot.waitUntil(
        lambda: (
            page.dataset is not None
            and page.dataset.path is not None
            and page.shown is page.dataset
            and page.model.rowCount() == n
            and page.source.count() == 2
            and page._phase is None
        ),
        timeout=30000,
    )


def test_open_filter_select_details(qtbot: Any, page: LogsPage, tmp_path: Path) -> None:
    f = logs_data.write(tmp_path / "export.json", N)
    exp = logs_data.expected(N)
    page.import_file(f)
    _wait_imported(qtbot, page)
    assert page.model.index(0, 0).data()  # first page shown from the cache
    assert f"failure: {exp['status']['failure']:,}" in page.counts.text()

    with qtbot.waitSignal(page.sig_query_done, timeout=10000) as blocker:
        page.status.setCurrentIndex(page.status.findData("failure"))
    assert blocker.args == [exp["status"]["failure"]]
    assert page.counts.text().startswith(f"{exp['status']['failure']:,} shown of {N:,}")
    assert all(page.model.index(r, 2).data() == "failure" for r in range(page.model.rowCount()))

    # time range (UTC) on top of the status filter
    from PySide6.QtCore import QDate, QDateTime, QTime, QTimeZone

    utc = QTimeZone.utc()
    exp_t = sum(
        1
        for r in logs_data.records(N)
        if r["provisioningStatusInfo"]["status"] == "failure"
        and "2026-10-05" <= r["activityDateTime"][:10] < "2026-10-09"
    )
    page.since.setDateTime(QDateTime(QDate(2026, 10, 5), QTime(0, 0), utc))
    page.until.setDateTime(QDateTime(QDate(2026, 10, 9), QTime(0, 0), utc))
    with qtbot.waitSignal(page.sig_query_done, timeout=10000) as blocker:
        page.use_time.setChecked(True)
    assert blocker.args == [exp_t]
    assert exp_t > 0

    with qtbot.waitSignal(page.sig_details_shown, timeout=10000):
        page.table.selectRow(0)
    text = page.details.toPlainText()
    for part in ("ERROR", "Meaning", "STEPS", "MODIFIED PROPERTIES", "SCIM error", "Retried"):
        assert part in text

    with qtbot.waitSignal(page.sig_query_done, timeout=10000) as blocker:
        page.clear_filters()
    assert blocker.args == [N]


def test_big_array_is_usable_before_its_details_are_read(
    qtbot: Any, page: LogsPage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The fast path: read → saved (steps pending) → finished in the background, nothing reloaded."""
    monkeypatch.setattr(importer, "STAGED_MIN_BYTES", 0)
    f = logs_data.write(tmp_path / "big.json", N)
    with qtbot.waitSignal(page.sig_finished, timeout=30000):
        page.import_file(f)
    assert page.dataset is not None
    assert page.dataset.path is not None
    assert not page.dataset.pending
    assert "ready" in page.message.text()
    want = sum(
        1 for r in logs_data.records(N) if "retried 3 times" in json.dumps(r["provisioningStatusInfo"])
    )
    page.text.setText("RETRIED 3 TIMES")
    qtbot.waitUntil(lambda: page.model.rowCount() == want, timeout=10000)
    with qtbot.waitSignal(page.sig_details_shown, timeout=10000):
        page.table.selectRow(0)
    assert "STEPS" in page.details.toPlainText()
    assert page.details_note.text() == ""


def test_csv_download_chosen_together(qtbot: Any, page: LogsPage, tmp_path: Path) -> None:
    paths = logs_data.write_csv(tmp_path / "dl", 300)
    page.import_files(list(paths))
    _wait_imported(qtbot, page, 300)
    assert "300 events" in page.source.itemText(1)
    with qtbot.waitSignal(page.sig_details_shown, timeout=10000):
        page.table.selectRow(0)
    text = page.details.toPlainText()
    assert "STEPS" in text
    assert "MODIFIED PROPERTIES" in text
    assert "Ticket Notes" in text


def test_rows_beyond_first_page_are_fetched(qtbot: Any, page: LogsPage, tmp_path: Path) -> None:
    f = logs_data.write(tmp_path / "e.ndjson", N, fmt="ndjson")
    page.import_file(f)
    _wait_imported(qtbot, page)
    idx = page.model.index(N - 1, 0)
    assert idx.data() is None  # not cached yet: requests the page
    qtbot.waitUntil(lambda: page.model.index(N - 1, 0).data() is not None, timeout=10000)


def test_bad_file_reports_error_without_crash(
    qtbot: Any, page: LogsPage, tmp_path: Path, shown_errors: list[BaseException]
) -> None:
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    page.import_file(f)
    qtbot.waitUntil(lambda: bool(shown_errors), timeout=10000)
    assert "notes.txt" in str(shown_errors[0])
    assert "Import failed" in page.message.text()
    assert page.dataset is None
    assert not page.cancel_button.isVisible()


def test_export_view_from_the_page(qtbot: Any, page: LogsPage, tmp_path: Path) -> None:
    page.import_file(logs_data.write(tmp_path / "export.json", N))
    _wait_imported(qtbot, page)
    with qtbot.waitSignal(page.sig_query_done, timeout=10000):
        page.status.setCurrentIndex(page.status.findData("skipped"))
    out = tmp_path / "skipped.csv"
    with qtbot.waitSignal(page.sig_exported, timeout=20000) as blocker:
        page.export_to(out)
    want = logs_data.expected(N)["status"]["skipped"]
    assert blocker.args == [str(out), want]
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert len(rows) == want + 1
    assert {r[2] for r in rows[1:]} == {"skipped"}
    assert "Exported" in page.message.text()


def test_charts_follow_the_view_and_filter_on_click(qtbot: Any, page: LogsPage, tmp_path: Path) -> None:
    page.import_file(logs_data.write(tmp_path / "export.json", N))
    _wait_imported(qtbot, page)
    with qtbot.waitSignal(page.sig_charts_updated, timeout=10000):
        page.tabs.setCurrentWidget(page.charts)
    data = page.charts.data
    exp = logs_data.expected(N)
    assert data.bucket == "day"
    assert sum(sum(c.values()) for _b, c in data.timeline) == N
    assert dict(data.errors) == exp["codes"]
    assert len(data.cycles) == 20
    page.charts.grab()  # paints without Qt warnings
    top_code = data.errors[0][0]
    chart = page.charts.errors
    centre = chart.bar_rect(0).center()
    with qtbot.waitSignal(page.sig_query_done, timeout=10000) as blocker:
        qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=centre.toPoint())
    assert page.error_code.text() == top_code
    assert blocker.args == [exp["codes"][top_code]]
    qtbot.waitUntil(lambda: page.charts.data.errors == [(top_code, exp["codes"][top_code])], timeout=10000)
    with qtbot.waitSignal(page.sig_query_done, timeout=10000):
        page.charts.sig_time_clicked.emit(*_day(page, 0))
    assert page.use_time.isChecked()


def _day(page: LogsPage, i: int) -> tuple[Any, Any]:
    from datetime import timedelta

    start = page.charts.data.timeline[i][0]
    return start, start + timedelta(days=1)


def test_open_in_reconciliation_for_duplicate_causes(qtbot: Any, page: LogsPage, tmp_path: Path) -> None:
    page.import_file(logs_data.write(tmp_path / "export.json", N))
    _wait_imported(qtbot, page)
    with qtbot.waitSignal(page.sig_query_done, timeout=10000):
        page.error_code.setText("EntryConflict")
    with qtbot.waitSignal(page.sig_details_shown, timeout=10000):
        page.table.selectRow(0)
    assert page.reconcile_button.isVisibleTo(page)
    ev = page._details_event
    with qtbot.waitSignal(page.sig_open_reconciliation, timeout=5000) as blocker:
        page.reconcile_button.click()
    (target,) = blocker.args
    assert target["upn"] == ev["source_upn"]
    assert target["email"] == ev["source_upn"]  # the 409 text names the same address
    assert target["target_id"] == ev["target_id"]
    assert target["source_id"] == ev["source_id"]
    assert "org_id" not in target  # an offline export belongs to no org we know
    with qtbot.waitSignal(page.sig_query_done, timeout=10000):
        page.error_code.setText("TooManyRequests")
    with qtbot.waitSignal(page.sig_details_shown, timeout=10000):
        page.table.selectRow(0)
    assert not page.reconcile_button.isVisibleTo(page)


def test_delete_asks_and_audits(
    qtbot: Any, runner: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    recorded: list[tuple[str, dict]] = []

    class Audit:
        def record(self, action: str, **kw: Any) -> None:
            recorded.append((action, kw["params"]))

    page = LogsPage(AppPaths.under(tmp_path / "home"), runner, debounce_ms=0, audit_provider=Audit)
    qtbot.addWidget(page)
    page.import_file(logs_data.write(tmp_path / "export.json", 300))
    _wait_imported(qtbot, page, 300)
    dataset_id = page.dataset.id
    asked: list[str] = []
    monkeypatch.setattr(page_module.ConfirmDialog, "ask", lambda *a, **k: asked.append(a[2]) or False)
    page.delete_current()
    assert page.dataset is not None  # said no: nothing happened
    assert "300 events" in asked[0]
    monkeypatch.setattr(page_module.ConfirmDialog, "ask", lambda *a, **k: True)
    with qtbot.waitSignal(page.sig_datasets_changed, timeout=10000):
        page.delete_current()
    assert page.dataset is None
    assert page.source.count() == 1
    assert recorded == [("logs.dataset.delete", {"dataset": dataset_id, "name": "export.json"})]
    assert page.catalog.list() == []


def test_details_are_plain_text() -> None:
    ev = {
        "time": "t",
        "status": "failure",
        "error_code": "EntryConflict",
        "error_reason": '<a href="http://evil">Click to re-verify</a>',
        "source_name": "<b>x</b>",
    }
    text = render_details(ev)
    assert '<a href="http://evil">' in text
    assert "Reconciliation page" in text


@pytest.fixture(scope="module")
def small_sandbox(tmp_path_factory: pytest.TempPathFactory):
    with SandboxServer(tmp_path_factory.mktemp("sb") / "sb.sqlite", seed="small") as server:
        yield server


def test_live_source_pages_through_the_whole_log(
    small_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_source, "PAGE_SIZE", 200)
    with AdminApiClient(small_sandbox.admin_url, small_sandbox.operator_token) as api:
        total = logs_data.log_total(api, "tailspin")
        load = live_source.load_recent(api, "tailspin", first_page=100)
        ds = load.dataset
        try:
            assert load.loaded == 100
            assert load.older_cursor
            cursor, batches = load.older_cursor, 0
            while cursor:
                _added, cursor = live_source.load_older(api, "tailspin", ds, cursor, max_events=300)
                batches += 1
            assert batches >= 3
            assert ds.count() == total == 1000
            assert ds.con.execute("SELECT count(DISTINCT event_id) FROM log_events").fetchone()[0] == total
            failures = ds.query(LogFilter(status="failure"), page_size=1)
            ev = ds.event(failures.first_page[0][0])
            assert ev["http_status"] >= 400
            assert ev["raw"]["method"]
            assert live_source.poll(api, "tailspin", ds) == 0  # tail: nothing new yet
        finally:
            ds.close()


def test_live_failed_requests_name_the_user_from_the_path(small_sandbox: SandboxServer) -> None:
    import httpx

    with AdminApiClient(small_sandbox.admin_url, small_sandbox.operator_token) as api:
        token = api.mint_scim_token("northwind").token
        httpx.get(
            f"{small_sandbox.scim_base_url}/northwind/Users/no-such-user",
            headers={"Authorization": f"Bearer {token}"},
        )
        load = live_source.load_recent(api, "northwind")
        try:
            newest = load.dataset.query(page_size=1).first_page[0]
            ev = load.dataset.event(newest[0])
            assert ev["http_status"] == 404
            assert ev["target_id"] == "no-such-user"
        finally:
            load.dataset.close()


def test_live_page_loads_everything_then_follows(
    qtbot: Any, runner: Any, tmp_path: Path, small_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live_source, "FIRST_PAGE", 100)
    monkeypatch.setattr(live_source, "BATCH_EVENTS", 400)
    api = AdminApiClient(small_sandbox.admin_url, small_sandbox.operator_token)
    page = LogsPage(AppPaths.under(tmp_path / "h"), runner, lambda: api, debounce_ms=0)
    qtbot.addWidget(page)
    try:
        total = logs_data.log_total(api, "tailspin")
        page.open_live("tailspin")
        qtbot.waitUntil(
            lambda: "all" in page.message.text() and page.model.rowCount() == total, timeout=30000
        )
        assert page.follow.isEnabled()
        assert not page.delete_button.isEnabled()  # a live log is not a stored dataset
        # A new SCIM request creates a new log event; follow mode must show it without a reload.
        import httpx

        token = api.mint_scim_token("tailspin").token
        httpx.get(
            f"{small_sandbox.scim_base_url}/tailspin/Users?count=1",
            headers={"Authorization": f"Bearer {token}"},
        ).raise_for_status()
        page.follow_timer.setInterval(50)
        page.follow.setChecked(True)
        qtbot.waitUntil(lambda: page.model.rowCount() > total, timeout=15000)
    finally:
        page.follow.setChecked(False)  # pause
        assert not page.follow_timer.isActive()
        qtbot.waitUntil(lambda: not page._polling, timeout=10000)
        api.close()


def test_bar_chart_hit_tests_and_escapes(qtbot: Any) -> None:
    from console.ui.widgets.bar_chart import BarChart

    chart = BarChart("t", ("a", "b"), {"a": "#f00", "b": "#0f0"})
    qtbot.addWidget(chart)
    chart.resize(400, 200)
    chart.set_bars([("<b>one</b>", {"a": 3, "b": 1}), ("two", {"a": 1})])
    chart.grab()
    r0, r1 = chart.bar_rect(0), chart.bar_rect(1)
    assert r0.right() < r1.left()
    assert chart.bar_at(QPointF(r1.center())) == 1
    assert chart.bar_at(QPointF(1, 1)) is None
    with qtbot.waitSignal(chart.sig_bar_clicked) as blocker:
        qtbot.mouseClick(chart, Qt.MouseButton.LeftButton, pos=r0.center().toPoint())
    assert blocker.args == [0]
    horizontal = BarChart("h", ("count",), {"count": "#f00"}, horizontal=True)
    qtbot.addWidget(horizontal)
    horizontal.resize(300, 150)
    horizontal.grab()  # empty
    horizontal.set_bars([("EntryConflict", {"count": 5})])
    horizontal.grab()


def test_cancel_while_reading_resets_the_page(
    qtbot: Any, page: LogsPage, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import threading

    from console.services.logstore import catalog as catalog_module

    release = threading.Event()
    real = catalog_module.LogCatalog.start_import

    def slow(self: Any, source: Any, progress: Any, cancelled: Any) -> Any:
        while not cancelled():  # a long read that only ends by cancel
            release.wait(0.01)
        return real(self, source, progress, cancelled)

    monkeypatch.setattr(catalog_module.LogCatalog, "start_import", slow)
    page.import_file(logs_data.write(tmp_path / "export.json", 300))
    assert page.cancel_button.isVisibleTo(page)
    page.cancel_active()
    qtbot.waitUntil(lambda: page._phase is None, timeout=10000)
    assert page.message.text() == "Import cancelled; nothing was saved."
    assert not page.cancel_button.isVisibleTo(page)
    qtbot.waitUntil(lambda: page.dataset is None, timeout=10000)  # the head preview is not left behind
    assert page.catalog.list() == []


def test_a_scim_create_that_twins_a_manual_account_is_flagged_while_following(
    qtbot: Any, runner: Any, tmp_path: Path, small_sandbox: SandboxServer
) -> None:
    import httpx

    from tests.sandbox.scim_helpers import create_org, enable_scim

    org_id = create_org(small_sandbox)  # domains: example.com
    api = AdminApiClient(small_sandbox.admin_url, small_sandbox.operator_token)
    api.create_user(org_id, {"user_name": "zoe.quill@example.com", "emails": ["zoe.quill@example.com"],
                             "display_name": "Zoë Quill", "created_via": "manual"})
    base, token = enable_scim(small_sandbox, org_id)
    scim = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    page = LogsPage(AppPaths.under(tmp_path / "h"), runner, lambda: api, debounce_ms=0)
    qtbot.addWidget(page)
    try:
        page.open_live(org_id)
        qtbot.waitUntil(lambda: page.follow.isEnabled(), timeout=30000)
        page.follow_timer.setInterval(50)
        page.follow.setChecked(True)
        assert not page.twin_box.isVisibleTo(page)
        # An unrelated create raises no flag; the twin's create does, within one poll.
        assert scim.post("/Users", json={"userName": "other@example.com", "displayName": "Other Person",
                                         "externalId": "o-1"}).status_code == 201
        with qtbot.waitSignal(page.sig_twin_alert, timeout=15000) as blocker:
            assert scim.post("/Users", json={
                "userName": "zquill@example.com", "displayName": "Zoë Quill", "externalId": "o-2",
                "emails": [{"value": "zquill@example.com", "type": "work"}]}).status_code == 201
        assert blocker.args == ["Possible duplicate of Zoë Quill (zoe.quill@example.com, manual): SCIM just "
                                "created zquill@example.com — certain; open in Reconciliation"]
        assert page.twin_box.isVisibleTo(page)
        page.resize(1200, 700)
        shot(page, "logs-live-twin-flag")
        assert "zoe ↔ zquill" not in page.twin_alert.toolTip()
        assert "zoe.quill ↔ zquill (the address matches)" in page.twin_alert.toolTip()
        with qtbot.waitSignal(page.sig_open_reconciliation) as opened:
            page.twin_open.click()
        assert opened.args == [{"org_id": org_id, "upn": "zquill@example.com",
                                "email": "zoe.quill@example.com"}]
    finally:
        page.follow.setChecked(False)
        qtbot.waitUntil(lambda: not page._polling, timeout=10000)
        scim.close()
        api.close()
