"""The logs page after a killed import and on a file opened twice (issue 16 item 8)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from console.services.logstore.catalog import LogCatalog
from console.services.paths import AppPaths
from console.ui.pages.logs_page import LogsPage
from tests import logs_data
from tests.ui.test_logs_page import _wait_imported

N = 300


def test_reopening_the_same_file_opens_the_existing_dataset(qtbot: Any, runner: Any, tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home")
    page = LogsPage(paths, runner, debounce_ms=0)
    qtbot.addWidget(page)
    f = logs_data.write(tmp_path / "export.json", N)
    page.import_file(f)
    _wait_imported(qtbot, page, N)
    first = page.dataset.id
    page.import_file(f)
    qtbot.waitUntil(lambda: "already imported" in page.message.text(), timeout=30000)
    qtbot.waitUntil(lambda: page.dataset is not None and page.dataset.id == first and page._phase is None,
                    timeout=30000)
    assert len(LogCatalog.for_paths(paths).list()) == 1  # no second full copy


def test_the_first_listing_clears_a_killed_imports_part_and_says_so(qtbot: Any, runner: Any,
                                                                     tmp_path: Path) -> None:
    paths = AppPaths.under(tmp_path / "home")
    root = LogCatalog.for_paths(paths).root
    root.mkdir(parents=True)
    part = root / "20261201000000-abcdef.duckdb.part"
    part.write_bytes(b"DUCK" * 100)  # what a kill -9 mid-save leaves: torn, unlocked
    page = LogsPage(paths, runner, debounce_ms=0)  # its first listing housekeeps, on a worker
    qtbot.addWidget(page)
    qtbot.waitUntil(lambda: "unfinished import file" in page.message.text(), timeout=30000)
    assert not part.exists()
