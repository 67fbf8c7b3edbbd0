"""Every export shape customers send (``tests/realworld_logs.py``), through ``scim-console logs open``:
counts, statuses, error codes, times, identities, steps and modified properties, field by field, and
the exact warnings (or refusals) — docs/log-formats.md has the table these rows follow."""

from __future__ import annotations

import codecs
import csv
import json
import zipfile
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from console.core.entra_log_schema import modified_of, steps_of
from console.services.logstore import LogCatalog
from console.services.paths import AppPaths
from tests import realworld_logs as rw
from tests.services.test_logstore_cli import run_cli

E = rw.EVENTS


def _minute(t: datetime) -> datetime:
    return t.replace(second=0)


# name → (writer(tmp) -> paths, time as read, details kept?, warnings expected (substrings, in order))
CP1252 = "not UTF-8; read as Windows-1252 (Western European)"
SHAPES: dict[str, tuple[Callable[[Path], list[Path]], Callable[[datetime], datetime], bool, list[str]]] = {
    "portal json, UTF-16LE BOM (PowerShell 5.1 Out-File)": (
        lambda d: [rw.write_portal_json(d / "export.json", encoding="utf-16")], lambda t: t, True, []),
    "portal json, UTF-16BE BOM": (
        lambda d: [rw.write_portal_json(d / "export.json", encoding="utf-16-be", bom=codecs.BOM_UTF16_BE)],
        lambda t: t, True, []),
    "portal json, UTF-16LE without BOM": (
        lambda d: [rw.write_portal_json(d / "export.json", encoding="utf-16-le")], lambda t: t, True,
        ["no byte-order mark; read as UTF-16LE without BOM"]),
    "portal json, re-saved as ANSI by Notepad (cp1252)": (
        lambda d: [rw.write_portal_json(d / "export.json", encoding="cp1252")], lambda t: t, True, [CP1252]),
    "beta json, flat statusInfo": (
        lambda d: [rw.write_portal_json(d / "beta.json", beta_flat=True)], lambda t: t, True, []),
    "array of Graph pages": (lambda d: [rw.write_graph_pages(d / "pages.json")], lambda t: t, True, []),
    "Graph PowerShell ConvertTo-Json -Depth 10": (
        lambda d: [rw.write_powershell(d / "mg.json", depth=10)], lambda t: t, True, []),
    "Graph PowerShell -Depth 10, Windows PowerShell 5.1 Out-File (UTF-16LE)": (
        lambda d: [rw.write_powershell(d / "mg.json", depth=10, encoding="utf-16")], lambda t: t, True, []),
    "Log Analytics CSV export": (
        lambda d: [rw.write_log_analytics_csv(d / "query_data.csv")], lambda t: t, True, []),
    "Log Analytics JSON": (lambda d: [rw.write_log_analytics_json(d / "la.json")], lambda t: t, True, []),
    "Log Analytics query API response (tables/columns/rows)": (
        lambda d: [rw.write_log_analytics_api(d / "query.json")], lambda t: t, True, []),
    "portal CSV, Excel en-US (cp1252, m/d/yyyy h:mm)": (
        lambda d: rw.write_portal_csv(d, "en-US"), _minute, True, [CP1252]),
    "portal CSV, Excel en-GB (cp1252, dd/mm/yyyy hh:mm)": (
        lambda d: rw.write_portal_csv(d, "en-GB"), _minute, True, [CP1252]),
    "portal CSV, Excel de-DE (; cp1252 dd.mm.yyyy hh:mm)": (
        lambda d: rw.write_portal_csv(d, "de-DE"), _minute, True, [CP1252]),
    "portal CSV, Excel Unicode Text (UTF-16LE BOM, tab, .txt)": (
        lambda d: rw.write_portal_csv(d, "unicode-text", suffix=".txt"), _minute, True, []),
    "portal CSV, Excel CSV UTF-8": (lambda d: rw.write_portal_csv(d, "csv-utf8"), _minute, True, []),
    "portal CSV, Excel Unicode Text, zipped": (
        lambda d: [_zipped(d / "download.zip", rw.write_portal_csv(d / "dl", "unicode-text", suffix=".txt"))],
        _minute, True, []),
}


def _zipped(out: Path, paths: list[Path]) -> Path:
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for p in paths:
            z.write(p, p.name)
    return out


def _open(paths: list[Path], *extra: str) -> dict[str, Any]:
    proc = run_cli("logs", "open", *map(str, paths), *extra, "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def _query(dataset: str) -> list[dict[str, Any]]:
    proc = run_cli("logs", "query", dataset, "--asc", "--sort", "seq", "--json")
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)["items"]


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_shape_reads_every_field_through_the_cli(tmp_path: Path, shape: str) -> None:
    write, as_read, _details, warnings = SHAPES[shape]
    data = _open(write(tmp_path))
    assert data["dataset"]["records"] == 3
    assert data["dataset"]["counts"] == {"success": 1, "failure": 1, "skipped": 1}
    got = data["import"]["warnings"]
    assert len(got) == len(warnings), got
    for text, want in zip(got, warnings, strict=True):
        assert want in text
    for d in data["import"]["date_orders"]:
        assert d["settled"] is True  # e-2 is on the 13th: the column decides its order
    items = _query(data["dataset"]["id"])
    assert [
        (datetime.fromisoformat(i["time"]), i["action"], i["status"], i["error_code"], i["source_upn"],
         i["target_id"], i["job_id"], i["cycle_id"], i["duration_ms"]) for i in items
    ] == [
        (as_read(e["time"]), e["action"], e["status"], e["error_code"], e["upn"], e["target_id"], e["job"],
         e["cycle"], e["duration"]) for e in E
    ]
    catalog = LogCatalog.for_paths(AppPaths.default())
    ds = catalog.open(data["dataset"]["id"])
    try:
        for seq, e in enumerate(E, start=1):
            ev = ds.event(seq)
            keys = ("event_id", "error_reason", "source_name", "source_id", "change_id")
            assert tuple(ev[k] for k in keys) == (
                e["id"], e["error_reason"], e["source_name"], e["source_id"], e["change"])
            assert [(s["name"], s["provisioningStepType"], s["status"], s["description"])
                    for s in steps_of(ev["steps"])] == e["steps"]
            assert modified_of(ev["modified_properties"]) == e["mods"]
    finally:
        ds.close()


def test_powershell_without_depth_reports_what_it_cut_off(tmp_path: Path) -> None:
    """``ConvertTo-Json``'s default -Depth 2 writes nested objects as their type name: never shown as
    values; the warning names each field, how many records, the first record and the fix."""
    data = _open([rw.write_powershell(tmp_path / "mg.json", depth=2, encoding="utf-16")])
    assert data["dataset"]["counts"] == {"success": 1, "failure": 1, "skipped": 1}
    (warning,) = data["import"]["warnings"]
    assert warning == (
        "mg.json, record 1: PowerShell cut nested objects off at its depth limit (ConvertTo-Json without "
        "-Depth), so these fields are missing: modifiedProperties[] (2), "
        "provisioningStatusInfo.errorInformation (1), provisioningSteps[] (3), sourceIdentity.details (3), "
        "sourceSystem.details (3), "
        "targetIdentity.details (3), targetSystem.details (3). Export again with 'ConvertTo-Json -Depth 10' "
        "to see them."
    )
    items = _query(data["dataset"]["id"])
    assert [(i["status"], i["error_code"], i["source_upn"], i["target_id"]) for i in items] == [
        (e["status"], None, None, e["target_id"]) for e in E
    ]


AMBIGUOUS = [E[0], E[2]]  # 4 May and 5 April: no day above 12


@pytest.mark.parametrize(("locale", "order", "other"), [("en-GB", "dmy", "mdy"), ("en-US", "mdy", "dmy")])
def test_ambiguous_dates_use_the_documented_default_warn_and_reimport_with_the_other_order(
    tmp_path: Path, locale: str, order: str, other: str
) -> None:
    """en-GB Excel zero-pads (04/05/2019 03:00): day first; en-US does not (5/4/2019 3:00): month
    first. Either way the warning says so and how to change it; --date-order swaps exactly."""
    paths = rw.write_portal_csv(tmp_path, locale, events=AMBIGUOUS)
    data = _open(paths)
    assert data["import"]["date_orders"] == [
        {"file": "ProvisioningLogs.csv", "column": "Date (UTC)", "order": order, "settled": False}
    ]
    note = [w for w in data["import"]["warnings"] if "column 'Date (UTC)'" in w]
    assert len(note) == 1
    assert f"import again with --date-order {other}" in note[0]
    times = [datetime.fromisoformat(i["time"]) for i in _query(data["dataset"]["id"])]
    assert times == [_minute(e["time"]) for e in AMBIGUOUS]

    again = _open(paths, "--date-order", other)
    assert again["import"]["date_orders"][0]["order"] == other
    assert again["import"]["date_orders"][0]["settled"] is True
    assert not [w for w in again["import"]["warnings"] if "column 'Date (UTC)'" in w]
    swapped = [datetime.fromisoformat(i["time"]) for i in _query(again["dataset"]["id"])]
    assert swapped == [
        _minute(e["time"]).replace(month=e["time"].day, day=e["time"].month) for e in AMBIGUOUS
    ]


def test_log_analytics_csv_with_ambiguous_dates_warns_too(tmp_path: Path) -> None:
    data = _open([rw.write_log_analytics_csv(tmp_path / "query_data.csv", events=AMBIGUOUS)])
    assert data["import"]["date_orders"] == [
        {"file": "query_data.csv", "column": "ActivityDateTime [UTC]", "order": "mdy", "settled": False}
    ]
    assert "--date-order dmy" in data["import"]["warnings"][0]
    times = [datetime.fromisoformat(i["time"]) for i in _query(data["dataset"]["id"])]
    assert times == [e["time"] for e in AMBIGUOUS]


def test_a_forced_order_that_contradicts_a_value_is_never_silent(tmp_path: Path) -> None:
    """--date-order mdy on an en-GB file: 13/05/2019 cannot be month 13 — counted, with its row."""
    data = _open(rw.write_portal_csv(tmp_path, "en-GB"), "--date-order", "mdy")
    (bad,) = [w for w in data["import"]["warnings"] if "could not be read" in w]
    assert bad.startswith("ProvisioningLogs.csv, column 'Date (UTC)', row 2 after the header: 1 time(s)")
    assert "'13/05/2019 15:20'" in bad
    times = [i["time"] for i in _query(data["dataset"]["id"])]
    assert times[1] is None


def test_unreadable_times_are_counted_with_column_and_first_row(tmp_path: Path) -> None:
    paths = rw.write_portal_csv(tmp_path, "csv-utf8")
    text = paths[0].read_text(encoding="utf-8-sig").replace("5/13/2019 15:20", "gestern 15:20")
    paths[0].write_text(text, encoding="utf-8-sig")
    data = _open(paths)
    (bad,) = [w for w in data["import"]["warnings"] if "could not be read" in w]
    assert bad == (
        "ProvisioningLogs.csv, column 'Date (UTC)', row 2 after the header: 1 time(s) could not be read "
        "(e.g. 'gestern 15:20'); those events have no time. Check the column's format, or import again "
        "with the other --date-order."
    )


def test_statuses_that_are_not_entras_refuse_the_file_when_they_are_most_of_it(tmp_path: Path) -> None:
    paths = rw.write_portal_csv(tmp_path, "csv-utf8")
    text = paths[0].read_text(encoding="utf-8-sig")
    for status in ("Success", "Failure"):
        text = text.replace(f",{status},", ",\x00s\x00u\x00c,")
    paths[0].write_text(text, encoding="utf-8-sig")
    proc = run_cli("logs", "open", *map(str, paths), "--json")
    assert proc.returncode != 0
    assert "2 of 3 events have a status that is not one of Entra's" in proc.stderr + proc.stdout
    assert "ProvisioningLogs.csv, row 1" in proc.stderr + proc.stdout


def test_one_odd_status_is_a_warning_naming_the_row(tmp_path: Path) -> None:
    paths = rw.write_portal_csv(tmp_path, "csv-utf8")
    text = paths[0].read_text(encoding="utf-8-sig").replace(",Skipped,", ",Übersprungen,")
    paths[0].write_text(text, encoding="utf-8-sig")
    data = _open(paths)
    assert data["dataset"]["counts"] == {"success": 1, "failure": 1, "übersprungen": 1}
    assert "1 of 3 events have a status that is not one of Entra's" in data["import"]["warnings"][-1]
    assert "'übersprungen' (row 3)" in data["import"]["warnings"][-1]


def test_utf16_json_that_is_not_a_log_is_called_what_it_is(tmp_path: Path) -> None:
    """It used to be called "a CSV file" (its zero bytes looked like no JSON at all)."""
    path = tmp_path / "audit.json"
    path.write_text(json.dumps([{"foo": 1}, {"bar": 2}]), encoding="utf-16")
    proc = run_cli("logs", "open", str(path), "--json")
    assert proc.returncode != 0
    out = proc.stderr + proc.stdout
    assert "Not a provisioning log: none of the 2 records has an id, a time or a status" in out
    assert "CSV" not in out


def test_log_analytics_displayed_columns_export(tmp_path: Path) -> None:
    """"Export → CSV (displayed columns)" of a query that projected a few columns: no steps columns,
    still the Log Analytics shape (TimeGenerated, JSON-string SourceIdentity, ResultType/Signature)."""
    path = tmp_path / "query_data.csv"
    cols = ["TimeGenerated [UTC]", "Id", "ResultType", "ResultSignature", "SourceIdentity"]
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=cols, extrasaction="ignore", dialect="excel")
        w.writeheader()
        for e in E:
            w.writerow(rw.la_row(e, csv_times=True))
    data = _open([path])
    assert data["dataset"]["counts"] == {"success": 1, "failure": 1, "skipped": 1}
    assert data["import"]["warnings"] == []
    items = _query(data["dataset"]["id"])
    got = [(datetime.fromisoformat(i["time"]), i["status"], i["error_code"], i["source_upn"]) for i in items]
    assert got == [(e["time"], e["status"], e["error_code"], e["upn"]) for e in E]


def test_a_sep_line_before_the_header_is_skipped(tmp_path: Path) -> None:
    paths = rw.write_portal_csv(tmp_path, "de-DE")
    for p in paths:
        p.write_bytes(b"sep=;\r\n" + p.read_bytes())
    data = _open(paths)
    assert data["dataset"]["counts"] == {"success": 1, "failure": 1, "skipped": 1}
    items = _query(data["dataset"]["id"])
    assert [datetime.fromisoformat(i["time"]) for i in items] == [_minute(e["time"]) for e in E]
    assert [i["source_upn"] for i in items] == [e["upn"] for e in E]
