"""The logs page's import of real-world export shapes (tests/realworld_logs.py) and the re-import
with the other day/month order when a file's dates are ambiguous (pytest-qt, offscreen)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from console.services.paths import AppPaths
from console.ui.pages.logs_page import LogsPage
from tests import realworld_logs as rw


@pytest.fixture
def page(qtbot: Any, runner: Any, tmp_path: Path) -> LogsPage:
    p = LogsPage(AppPaths.under(tmp_path / "home"), runner, debounce_ms=0)
    qtbot.addWidget(p)
    p.resize(1400, 900)
    return p


def _imported(qtbot: Any, page: LogsPage, paths: list[Path], **kw: Any) -> str:
    with qtbot.waitSignal(page.sig_imported, timeout=30000) as blocker:
        page.import_files(paths, **kw)
    qtbot.waitUntil(lambda: page.dataset is not None and page.dataset.id == blocker.args[0]
                    and page.dataset.path is not None and page.shown is page.dataset
                    and page._phase is None and page.model.rowCount() == 3, timeout=30000)
    return str(blocker.args[0])


def _times(page: LogsPage) -> list[datetime]:
    assert page.dataset is not None
    rows = page.dataset.con.execute("SELECT time FROM log_events ORDER BY seq").fetchall()
    return [r[0] for r in rows]


def test_a_utf16_powershell_export_imports_with_every_status(
    qtbot: Any, page: LogsPage, tmp_path: Path
) -> None:
    _imported(qtbot, page, [rw.write_powershell(tmp_path / "mg.json", depth=10, encoding="utf-16")])
    assert "success: 1" in page.counts.text()
    assert "failure: 1" in page.counts.text()
    assert "skipped: 1" in page.counts.text()
    assert _times(page) == [e["time"] for e in rw.EVENTS]
    assert page.dataset is not None
    ev = page.dataset.event(2)
    assert ev is not None
    assert (ev["error_code"], ev["source_upn"]) == (rw.EVENTS[1]["error_code"], rw.EVENTS[1]["upn"])
    assert not page.reorder_button.isVisible()


def test_ambiguous_dates_offer_the_other_order_and_reimport_swaps(
    qtbot: Any, page: LogsPage, tmp_path: Path
) -> None:
    events = [rw.EVENTS[0], rw.EVENTS[2], dict(rw.EVENTS[0], id="e-4", change="chg-4")]
    paths = rw.write_portal_csv(tmp_path, "en-GB", events=events)
    page.show()
    _imported(qtbot, page, paths)
    first = [e["time"].replace(second=0) for e in events]
    assert _times(page) == first
    assert "--date-order mdy" in page.message.text()
    assert page.reorder_button.isVisible()
    assert page.reorder_button.text() == "Re-import as month/day (mm/dd/yyyy)"

    with qtbot.waitSignal(page.sig_imported, timeout=30000) as blocker:
        page.reorder_button.click()
    qtbot.waitUntil(lambda: page.dataset is not None and page.dataset.id == blocker.args[0]
                    and page.dataset.path is not None and page.shown is page.dataset
                    and page._phase is None and page.model.rowCount() == 3, timeout=30000)
    assert _times(page) == [t.replace(month=t.day, day=t.month) for t in first]
    assert not page.reorder_button.isVisible()


def test_a_utf16_export_previews_its_first_records(tmp_path: Path) -> None:
    from console.services.logstore.preview import preview

    ds = preview(rw.write_portal_json(tmp_path / "export.json", encoding="utf-16"))
    assert ds is not None
    try:
        rows = ds.con.execute("SELECT event_id, status, source_upn FROM log_events ORDER BY seq").fetchall()
    finally:
        ds.close()
    assert rows == [(e["id"], e["status"], e["upn"]) for e in rw.EVENTS]
