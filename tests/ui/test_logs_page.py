"""The logs page on real generated exports and a real sandbox (pytest-qt, offscreen)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.logstore import live as live_source
from console.services.paths import AppPaths
from console.ui.pages.logs_page import LogsPage, render_details
from tests import logs_data

N = 2000


@pytest.fixture
def page(qtbot: Any, runner: Any, tmp_path: Path) -> LogsPage:
    p = LogsPage(AppPaths.under(tmp_path / "home"), runner, debounce_ms=0)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    return p


def _wait_imported(qtbot: Any, page: LogsPage) -> None:
    """Until the finished import (not the head preview) is the page's dataset and its rows are shown."""
    qtbot.waitUntil(
        lambda: (
            page.dataset is not None
            and page.dataset.path is not None
            and page.model.rowCount() == N
            and page.source.count() == 2
        ),
        timeout=20000,
    )


def test_open_filter_select_details(qtbot: Any, page: LogsPage, tmp_path: Path) -> None:
    f = logs_data.write(tmp_path / "export.json", N)
    exp = logs_data.expected(N)
    page.import_file(f)
    _wait_imported(qtbot, page)
    assert page.model.rowCount() == N
    assert page.model.index(0, 0).data()  # first page shown from the cache
    assert f"failure: {exp['status']['failure']:,}" in page.counts.text()
    assert page.source.count() == 2  # placeholder + the new dataset

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
    assert "ERROR" in text
    assert "Meaning" in text
    assert "STEPS" in text
    assert "MODIFIED PROPERTIES" in text
    assert "SCIM error" in text
    assert "Retried" in text


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


def test_live_source_against_sandbox(small_sandbox: SandboxServer) -> None:
    with AdminApiClient(small_sandbox.admin_url, small_sandbox.operator_token) as api:
        ds = live_source.load_recent(api, "northwind", max_events=5000)
        total = ds.count()
        assert total > 0
        res = ds.query()
        assert res.counts.get("failure", 0) > 0
        from console.services.logstore import LogFilter

        failures = ds.query(LogFilter(status="failure"), page_size=1)
        ev = ds.event(failures.first_page[0][0])
        assert ev["http_status"]
        assert ev["http_status"] >= 400
        assert live_source.poll(api, "northwind", ds) == 0  # tail: nothing new yet
        assert ds.count() == total


def test_live_page_follow_picks_up_new_events(
    qtbot: Any, runner: Any, tmp_path: Path, small_sandbox: SandboxServer
) -> None:
    api = AdminApiClient(small_sandbox.admin_url, small_sandbox.operator_token)
    page = LogsPage(AppPaths.under(tmp_path / "h"), runner, lambda: api, debounce_ms=0)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sig_query_done, timeout=20000):
        page.open_live("northwind")
    before = page.model.rowCount()
    assert before > 0
    assert page.follow.isEnabled()
    # A new SCIM request to northwind's endpoint creates a new log event; follow mode must show it.
    import httpx

    token = api.mint_scim_token("northwind").token
    httpx.get(
        f"{small_sandbox.scim_base_url}/northwind/Users?count=1", headers={"Authorization": f"Bearer {token}"}
    ).raise_for_status()
    page.follow_timer.setInterval(50)
    try:
        page.follow.setChecked(True)
        qtbot.waitUntil(lambda: page.model.rowCount() > before, timeout=15000)
    finally:
        page.follow.setChecked(False)  # pause
        assert not page.follow_timer.isActive()
        qtbot.waitUntil(lambda: not page._polling, timeout=10000)
        api.close()
