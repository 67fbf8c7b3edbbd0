"""Leftovers after ``kill -9`` and repeated imports (issue 16 item 8), with real killed processes.

* an orphan ``.duckdb.part`` is removed at start-up, but never one another live process is writing;
* a dataset whose process died after stage 1 is reported and finished (CLI ``logs finish``);
* opening a file already imported offers the existing dataset instead of a new full copy.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from console.cli import main
from console.services.logstore.catalog import LogCatalog
from tests import logs_data

ROOT = Path(__file__).resolve().parents[2]


def spawn(code: str) -> subprocess.Popen[str]:
    """A Python child that prints ``ready`` when it reached the point to be killed at."""
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, cwd=ROOT, env={**os.environ})


def kill_when_ready(proc: subprocess.Popen[str]) -> None:
    assert proc.stdout is not None
    try:
        line = proc.stdout.readline()
    finally:
        proc.send_signal(signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    assert line.strip() == "ready", err


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_orphan_part_is_removed_only_once_its_writer_is_dead(tmp_path: Path) -> None:
    root = tmp_path / "logs"
    root.mkdir()
    part = root / "20261201000000-abcdef.duckdb.part"
    writer = spawn(f"""
        import duckdb, time
        con = duckdb.connect({str(part)!r})
        con.execute("CREATE TABLE log_events AS SELECT range AS seq FROM range(1000)")
        print("ready", flush=True)
        time.sleep(600)
    """)
    try:
        assert writer.stdout is not None
        assert writer.stdout.readline().strip() == "ready"
        found = LogCatalog(root).housekeep()
        assert found.removed == []  # a live import in another process keeps its file
        assert part.exists()
    finally:
        writer.send_signal(signal.SIGKILL)
        writer.communicate(timeout=60)
    found = LogCatalog(root).housekeep()
    assert found.removed == [part.name]
    assert not part.exists()
    assert not part.with_name(part.name + ".wal").exists()
    assert "unfinished import file" in " ".join(found.messages())


def test_dataset_killed_after_stage_1_is_reported_and_finished(tmp_path: Path, capsys, console_home) -> None:
    src = logs_data.write(tmp_path / "big.json", 2000)
    root = console_home / "data" / "logs"
    child = spawn(f"""
        from pathlib import Path
        from console.services.logstore import importer
        from console.services.logstore.catalog import LogCatalog
        importer.STAGED_MIN_BYTES = 0  # stage this small file as the portal's big downloads are
        info, _ = LogCatalog(Path({str(root)!r})).import_file(Path({str(src)!r}), complete=False)
        assert not info.complete
        print("ready", flush=True)
        import time; time.sleep(600)
    """)
    kill_when_ready(child)
    catalog = LogCatalog(root)
    [left] = catalog.housekeep().incomplete
    assert left.records == 2000
    assert "open it to finish (CLI: 'scim-console logs finish ID')" in " ".join(
        catalog.housekeep().messages()).replace(left.id, "ID")
    code, out, err = cli(capsys, "logs", "list")
    assert code == 0
    assert "details pending" in out and left.id in err  # noqa: PT018 - listed and offered
    code, out, _ = cli(capsys, "logs", "finish", "all")
    assert code == 0, out
    assert f"dataset {left.id}: complete" in out
    assert catalog.info(left.id).complete
    assert catalog.housekeep().incomplete == []


def test_reopening_the_same_file_offers_the_existing_dataset(tmp_path: Path, capsys, console_home) -> None:
    src = logs_data.write(tmp_path / "export.json", 300)
    code, out, _ = cli(capsys, "logs", "open", str(src), "--json")
    assert code == 0
    first = json.loads(out)["dataset"]
    copy = tmp_path / "renamed-copy.json"
    copy.write_bytes(src.read_bytes())
    for again in (src, src):
        code, out, _ = cli(capsys, "logs", "open", str(again), "--json")
        assert code == 0
        data = json.loads(out)
        assert data["already_imported"] is True
        assert data["dataset"]["id"] == first["id"]
    code, out, _ = cli(capsys, "logs", "open", str(src))
    assert f"already imported as dataset {first['id']}" in out
    assert len(LogCatalog(console_home / "data" / "logs").list()) == 1  # no second full copy
    code, out, _ = cli(capsys, "logs", "open", str(src), "--again", "--json")
    assert code == 0
    assert json.loads(out)["dataset"]["id"] != first["id"]
    src.write_text(src.read_text(encoding="utf-8").replace("2026", "2025", 1), encoding="utf-8")
    code, out, _ = cli(capsys, "logs", "open", str(src), "--json")
    assert "already_imported" not in json.loads(out)  # changed content: a new dataset
