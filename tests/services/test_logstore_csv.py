"""The Entra portal's CSV download (three files joined on the change id), its bad-input classes, and how
files reach the importer (chosen together, a folder, a zip)."""

from __future__ import annotations

import json
import zipfile
from collections import Counter
from pathlib import Path

import duckdb
import pytest

from console.core.entra_log_schema import modified_of, normalise, steps_of
from console.services.logstore import LogCatalog, LogFilter, LogImportError, NotALogError
from console.services.logstore.csv_import import match_headers, norm
from console.services.logstore.importer import import_path
from tests import logs_data

N = 600


def _imported(paths) -> tuple[duckdb.DuckDBPyConnection, object]:
    con = duckdb.connect()
    return con, import_path(con, paths)


@pytest.mark.parametrize("variant", ["portal", "graph"])
def test_three_files_join_on_change_id_exactly(tmp_path: Path, variant: str) -> None:
    paths = logs_data.write_csv(tmp_path, N, variant=variant)
    con, report = _imported(list(paths))
    assert report.records == N
    assert report.warnings == []
    exp = logs_data.expected(N)
    assert dict(con.execute("SELECT status, count(*) FROM log_events GROUP BY 1").fetchall()) == exp["status"]
    codes = dict(
        con.execute(
            "SELECT error_code, count(*) FROM log_events WHERE error_code IS NOT NULL GROUP BY 1"
        ).fetchall()
    )
    assert codes == exp["codes"]
    rows = con.execute(
        "SELECT event_id, time, action, source_upn, source_name, source_id, target_id, job_id, "
        "cycle_id, change_id, duration_ms, error_reason, steps, modified_properties "
        "FROM log_events ORDER BY seq"
    ).fetchall()
    for rec, row in zip(logs_data.records(N), rows, strict=True):
        n = normalise(rec)
        assert row[0] == n["event_id"]
        assert row[1].isoformat()[:19] == n["time"][:19]
        assert row[2:11] == (
            n["action"],
            n["source_upn"],
            n["source_name"],
            n["source_id"],
            n["target_id"],
            n["job_id"],
            n["cycle_id"],
            n["change_id"],
            n["duration_ms"],
        )
        assert row[11] == n["error_reason"]
        steps = steps_of(row[12])
        assert [(s["name"], s["provisioningStepType"], s["status"], s["details"]) for s in steps] == [
            (s["name"], s["provisioningStepType"], s["status"], s["details"])
            for s in rec["provisioningSteps"]
        ]
        assert modified_of(row[13]) == [
            (m["displayName"], m["oldValue"], m["newValue"]) for m in rec["modifiedProperties"]
        ]


def test_unknown_columns_are_kept_and_search_covers_modified_properties(tmp_path: Path) -> None:
    cat = LogCatalog(tmp_path / "logs")
    info, _ = cat.import_file(list(logs_data.write_csv(tmp_path / "dl", 200)))
    ds = cat.open(info.id)
    try:
        ev = ds.event(1)
        assert ev["raw"]["csv"] == {"Ticket Notes": "note evt-00000000"}
        assert ev["initiator_type"] is None
        assert ev["service_principal"] == "Contoso SCIM"
        rec = next(logs_data.records(200))
        assert ds.query(LogFilter(text=rec["modifiedProperties"][0]["newValue"].upper())).total >= 1
    finally:
        ds.close()


def test_headers_match_case_space_and_punctuation_insensitively() -> None:
    assert norm("Date (UTC)") == norm("date_utc") == norm("DATEUTC") == "dateutc"
    found = match_headers(
        ["  DATE (UTC) ", "ID", "job_id", "Change-Id", "RESULT TYPE", "Duration in Milliseconds"], "main"
    )
    assert found == {"time": 0, "event_id": 1, "job_id": 2, "change_id": 3, "status": 4, "duration_ms": 5}


def test_a_folder_and_a_zip_hold_the_download(tmp_path: Path) -> None:
    folder = tmp_path / "download"
    paths = logs_data.write_csv(folder, 100, prefix="ProvisioningLogs_2026-11-02")
    assert _imported(folder)[1].records == 100
    z = tmp_path / "dl.zip"
    with zipfile.ZipFile(z, "w", zipfile.ZIP_DEFLATED) as zf:
        for p in paths:
            zf.write(p, f"exports/{p.name}")
    con, report = _imported(z)
    assert report.records == 100
    assert report.warnings == []
    assert con.execute("SELECT count(*) FROM log_events WHERE steps IS NOT NULL").fetchone()[0] == 100


def test_one_file_alone_imports_with_a_note(tmp_path: Path) -> None:
    main, steps, _mods = logs_data.write_csv(tmp_path, 50)
    _con, report = _imported(main)
    assert report.records == 50
    (note,) = report.warnings
    assert "ProvisioningLogs.csv" in note
    assert "ProvisioningSteps" in note
    assert "ModifiedProperties" in note
    _con, report = _imported([main, steps])
    assert report.records == 50
    assert "ModifiedProperties" in report.warnings[0]
    assert "ProvisioningSteps" not in report.warnings[0]


def test_steps_file_alone_is_a_clear_error(tmp_path: Path) -> None:
    _main, steps, mods = logs_data.write_csv(tmp_path, 10)
    with pytest.raises(NotALogError, match="choose it together") as e:
        import_path(duckdb.connect(), [steps, mods])
    assert "ProvisioningLogs_ProvisioningSteps.csv" in str(e.value)


def test_orphan_change_ids_are_counted(tmp_path: Path) -> None:
    main, steps, mods = logs_data.write_csv(tmp_path, 20)
    with steps.open("a", encoding="utf-8", newline="") as f:
        f.write("no-such-change,1,EntryImport,Import,Success,x,{}\r\n")
    _con, report = _imported([main, steps, mods])
    assert any("1 change id(s) in the step file" in w for w in report.warnings)


# ---- bad input: a clear message naming the file and the position, valid rows kept, no crash
def test_truncated_csv_keeps_every_complete_row_and_names_the_row(tmp_path: Path) -> None:
    main, steps, mods = logs_data.write_csv(tmp_path, 100)
    data = main.read_bytes()
    main.write_bytes(data[: len(data) - 120])  # cut inside the last row
    _con, report = _imported([main, steps, mods])
    assert report.records == 99
    warning = next(w for w in report.warnings if "Skipped" in w)
    assert warning.startswith("ProvisioningLogs.csv, row 100 after the header")


def test_malformed_rows_are_skipped_and_named_the_rest_kept(tmp_path: Path) -> None:
    """A row with too few columns in the middle, Excel-style mixed line endings and a stray quote."""
    main, steps, mods = logs_data.write_csv(tmp_path, 30)
    lines = main.read_text(encoding="utf-8-sig").splitlines(keepends=True)
    lines[5] = ",".join(lines[5].split(",")[:4]) + "\r\n"
    lines[8] = lines[8].replace(",Update,", ',Upd"ate,', 1).replace(",Create,", ',Cre"ate,', 1)
    main.write_text("".join(lines), encoding="utf-8")
    with steps.open("a", encoding="utf-8", newline="") as f:
        f.write("no-such-change,1,EntryImport,Import,Success,x,{}\n")  # \n after \r\n rows
    _con, report = _imported([main, steps, mods])
    assert report.records == 29
    assert any(
        w.startswith("ProvisioningLogs.csv, row 5 after the header") and "Skipped 1" in w
        for w in report.warnings
    )


def test_cp1252_bom_and_200k_character_fields(tmp_path: Path) -> None:
    main, steps, mods = logs_data.write_csv(tmp_path, 5)
    text = main.read_text(encoding="utf-8-sig").replace("Linus Lovelace", "Zoë Müller", 1)
    rows = text.splitlines()
    rows[2] = rows[2].replace("note evt-00000001", "x" * 200_000)
    main.write_bytes("\n".join(rows).encode("cp1252") + b"\n")
    con, report = _imported([main, steps, mods])
    assert report.records == 5
    assert any("Windows-1252" in w and "ProvisioningLogs.csv" in w for w in report.warnings)
    assert con.execute("SELECT count(*) FROM log_events WHERE source_name = 'Zoë Müller'").fetchone()[0] == 1
    raw = json.loads(con.execute("SELECT raw FROM log_events WHERE seq = 2").fetchone()[0])
    assert len(raw["csv"]["Ticket Notes"]) == 200_000


@pytest.mark.parametrize(
    ("content", "pattern"),
    [
        (b"name,age\nbob,3\n", "none of the columns"),
        (b"\xef\xbb\xbf", "Not a provisioning log"),
        (b",,,\n1,2,3,4\n", "no header row"),
    ],
)
def test_csv_that_is_not_a_log(tmp_path: Path, content: bytes, pattern: str) -> None:
    p = tmp_path / "people.csv"
    p.write_bytes(content)
    with pytest.raises(LogImportError, match=pattern) as e:
        import_path(duckdb.connect(), p)
    assert "people.csv" in str(e.value)


def test_two_downloads_chosen_together_stay_separate_events(tmp_path: Path) -> None:
    a = logs_data.write_csv(tmp_path / "a", 40, prefix="ProvisioningLogs_contoso")
    b = logs_data.write_csv(tmp_path / "b", 30, prefix="ProvisioningLogs_fabrikam", seed=9)
    con, report = _imported([*a, *b])
    assert report.records == 70
    per_file = Counter(
        dict(con.execute("SELECT source_file, count(*) FROM log_events GROUP BY 1").fetchall())
    )
    assert per_file == {"ProvisioningLogs_contoso.csv": 40, "ProvisioningLogs_fabrikam.csv": 30}
    assert con.execute("SELECT count(*) FROM log_events WHERE steps IS NULL").fetchone()[0] == 0


@pytest.mark.parametrize("stage", ["Reading", "Importing"])
def test_cancel_during_a_csv_statement_interrupts_it_and_keeps_nothing(tmp_path: Path, stage: str) -> None:
    """Reading each file and inserting the joined events are watched statements: progress is reported
    while they run and a cancel interrupts them (not only between them)."""
    import threading
    import time

    from console.core.errors import Cancelled

    # Each file's read must outlast two 100 ms watcher polls even on a quiet machine with warm files
    # (at 40 000 rows it took ~150 ms here, so the cancel sometimes found no running read).
    rows = 150_000 if stage == "Reading" else 40_000
    paths = logs_data.write_csv(tmp_path / "dl", rows)
    started, flag = threading.Event(), threading.Event()
    seen: list[str] = []
    box: dict[str, float] = {}

    def progress(_fraction: float, text: str) -> None:
        seen.append(text)
        if text.startswith(stage) and len(seen) > 1:  # after the announcement: the statement's watcher
            started.set()

    def cancel_soon() -> None:
        started.wait(20)
        box["at"] = time.perf_counter()
        flag.set()

    cat = LogCatalog(tmp_path / "logs")
    threading.Thread(target=cancel_soon, daemon=True).start()
    with pytest.raises(Cancelled):
        cat.import_file(list(paths), progress, flag.is_set)
    latency_s = time.perf_counter() - box["at"]
    assert started.is_set(), seen[:5]
    # Baseline in the same run (so load cancels out): the same import, not cancelled. Measured after
    # the cancelled one, so that one reads cold files as before (warm, a statement can end before
    # its watcher's first tick).
    t0 = time.perf_counter()
    assert LogCatalog(tmp_path / "baseline").import_file(list(paths))[1].records == rows
    full_s = time.perf_counter() - t0
    print(f"{stage}: cancel latency {latency_s * 1000:.0f} ms, whole import {full_s * 1000:.0f} ms")
    assert latency_s < full_s / 2  # interrupted mid-statement, not after the work was done
    assert cat.list() == []
