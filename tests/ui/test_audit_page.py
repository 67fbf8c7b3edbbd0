"""Audit page over the real local store (SQLite file in the test's temp dir)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from PySide6.QtCore import QDate
from pytestqt.modeltest import ModelTester

from console.services.store import Store
from console.ui.models.audit_model import AuditModel
from console.ui.pages.audit_page import AuditPage
from console.ui.tasks import TaskRunner


def _fill(store: Store) -> None:
    now = datetime.now(UTC)
    store.audit.record("scim.enable", org_id="contoso", outcome="ok", detail="enabled SCIM",
                       actor="alice", ts=now - timedelta(days=40))
    store.audit.record("token.mint", org_id="contoso", outcome="ok", actor="alice",
                       ts=now - timedelta(days=2))
    store.audit.record("user.merge", org_id="northwind", outcome="error", detail="version conflict",
                       actor="bob", ts=now - timedelta(days=1), params={"into_user_id": "u-2"})
    store.audit.record("token.revoke", org_id="northwind", outcome="ok", actor="bob", ts=now)


def _page(qtbot: Any, store: Store, runner: TaskRunner, **kw: Any) -> AuditPage:
    page = AuditPage(lambda: store.audit, runner, debounce_ms=0, **kw)
    qtbot.addWidget(page)
    return page


def _actions(page: AuditPage) -> list[str]:
    return [page.model.index(r, 2).data() for r in range(page.model.rowCount())]


def test_empty_trail_shows_an_explanation(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    page = _page(qtbot, store, runner)
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000) as blocker:
        page.reload()
    assert blocker.args == [0]
    assert page.stack.currentWidget() is page.empty
    assert page.empty.title.text() == "No audit entries yet"


def test_all_entries_newest_first(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    _fill(store)
    page = _page(qtbot, store, runner)
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.reload()
    assert _actions(page) == ["token.revoke", "user.merge", "token.mint", "scim.enable"]
    ModelTester(None).check(page.model)  # type: ignore[arg-type]
    merge_details = page.model.index(1, 5).data()
    assert "version conflict" in merge_details
    assert "u-2" in merge_details


@pytest.mark.parametrize(("setup", "expected"), [
    (lambda p: p.text.setText("conflict"), ["user.merge"]),
    (lambda p: p.org.setText("contoso"), ["token.mint", "scim.enable"]),
    (lambda p: p.action.setText("token.mint"), ["token.mint"]),
    (lambda p: p.outcome.setCurrentIndex(p.outcome.findData("error")), ["user.merge"]),
])
def test_filters(qtbot: Any, runner: TaskRunner, store: Store, setup: Any, expected: list[str]) -> None:
    _fill(store)
    page = _page(qtbot, store, runner)
    setup(page)
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.reload()
    assert _actions(page) == expected


def test_date_range_is_inclusive_of_the_end_day(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    _fill(store)
    page = _page(qtbot, store, runner)
    today = QDate.currentDate()
    page.use_dates.setChecked(True)
    page.since.setDate(today.addDays(-3))
    page.until.setDate(today.addDays(-1))
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.reload()
    assert _actions(page) == ["user.merge", "token.mint"]


def test_no_match_says_so(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    _fill(store)
    page = _page(qtbot, store, runner)
    page.text.setText("nothing matches this")
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.reload()
    assert page.empty.title.text() == "No entries match these filters"


def test_paging(qtbot: Any, runner: TaskRunner, store: Store) -> None:
    now = datetime.now(UTC)
    for i in range(5):
        store.audit.record(f"action.{i}", ts=now - timedelta(minutes=i))
    page = _page(qtbot, store, runner, page_size=2)
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.reload()
    assert _actions(page) == ["action.0", "action.1"]
    assert page.next_button.isEnabled()
    assert not page.prev_button.isEnabled()
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.next_page()
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.next_page()
    assert _actions(page) == ["action.4"]
    assert not page.next_button.isEnabled()
    assert page.page_label.text() == "Entries 5–5"
    with qtbot.waitSignal(page.sig_records_loaded, timeout=5000):
        page.previous_page()
    assert _actions(page) == ["action.2", "action.3"]


def test_model_tester_on_empty_model(qapp: Any) -> None:
    ModelTester(None).check(AuditModel())  # type: ignore[arg-type]
