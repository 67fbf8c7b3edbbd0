"""CSV/XLSX exports: formula-safe, redacted, atomic (desktop-stack §6.3)."""

from __future__ import annotations

import csv
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from console.services.export import safe_cell, write_csv, write_table, write_xlsx

HOSTILE = ['=HYPERLINK("http://evil.example","x")', "+44 20 7946 0000", "-2+3", "@SUM(A1)", "|calc",
           "%0A", "\tTab", "plain", "Bearer abcdefghijklmnopqrstuvwxyz"]


def test_safe_cell_escapes_formula_starts_keeps_numbers_and_redacts() -> None:
    assert safe_cell("=1+1") == "'=1+1"
    assert safe_cell("-5") == "'-5"           # text that looks like a formula start
    assert safe_cell(-5) == -5                # a real number stays a number
    assert safe_cell(True) is True
    assert safe_cell(None) == ""
    assert safe_cell("plain") == "plain"
    assert safe_cell("token scim_" + "a" * 30) == "token scim_[REDACTED]"
    assert safe_cell(datetime(2026, 1, 2, 3, 4, tzinfo=UTC)) == "2026-01-02T03:04:00+00:00"


def test_csv_has_bom_escapes_every_hostile_cell_and_round_trips(tmp_path: Path) -> None:
    path = tmp_path / "out.csv"
    rows = [[v, i] for i, v in enumerate(HOSTILE)]
    assert write_csv(path, ["value", "n"], rows) == len(HOSTILE)
    raw = path.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        got = list(csv.reader(fh))
    assert got[0] == ["value", "n"]
    values = [r[0] for r in got[1:]]
    assert all(not v.startswith(("=", "+", "-", "@", "|", "%", "\t")) for v in values)
    assert values[7] == "plain"
    assert values[8] == "Bearer [REDACTED]"
    assert [r[1] for r in got[1:]] == [str(i) for i in range(len(HOSTILE))]


def test_xlsx_writes_strings_never_formulas(tmp_path: Path) -> None:
    path = tmp_path / "out.xlsx"
    n = write_xlsx(path, ["value", "n", "flag"], [[v, i, i % 2 == 0] for i, v in enumerate(HOSTILE)])
    assert n == len(HOSTILE)
    with zipfile.ZipFile(path) as z:
        sheet = z.read("xl/worksheets/sheet1.xml").decode()
        strings = z.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in z.namelist() else ""
    assert "<f>" not in sheet                   # no formula cell anywhere
    assert "HYPERLINK" in sheet + strings       # ... but the text is there, as a string
    assert "abcdefghijklmnopqrstuvwxyz" not in sheet + strings


def test_failed_export_leaves_no_file_under_the_name(tmp_path: Path) -> None:
    out = tmp_path / "exports"
    out.mkdir()
    path = out / "out.csv"

    def rows():
        yield ["a"]
        raise RuntimeError("cancelled mid-way")

    with pytest.raises(RuntimeError):
        write_csv(path, ["h"], rows())
    assert not path.exists()
    assert list(out.iterdir()) == []


def test_write_table_picks_the_format_from_the_name(tmp_path: Path) -> None:
    write_table(tmp_path / "a.xlsx", ["h"], [["x"]])
    write_table(tmp_path / "a.csv", ["h"], [["x"]], sheet="ignored")
    assert zipfile.is_zipfile(tmp_path / "a.xlsx")
    assert (tmp_path / "a.csv").read_text(encoding="utf-8-sig").splitlines() == ["h", "x"]


def test_write_table_says_what_went_wrong_and_where(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every export (logs, findings, plans, runs) gets the same messages: too many rows for a sheet,
    known before writing or found while writing, and a folder that cannot be written."""
    from console.core.errors import UserFacingError
    from console.services import export

    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 3)
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    with pytest.raises(UserFacingError, match="5 rows do not fit in one Excel sheet") as known:
        write_table(tmp_path / "known.xlsx", ["h"], iter(()), total=5)
    assert known.value.where == "known.xlsx"
    assert known.value.hint
    with pytest.raises(UserFacingError, match="do not fit in one Excel sheet") as found:
        write_table(tmp_path / "found.xlsx", ["h"], [["x"]] * 5)
    assert found.value.where == "found.xlsx"
    assert write_table(tmp_path / "fine.csv", ["h"], [["x"]] * 5, total=5) == 5  # CSV has no such limit
    with pytest.raises(UserFacingError, match="Could not write the export") as failed:
        write_table(tmp_path / "missing" / "x.csv", ["h"], [["x"]])
    assert "missing" in failed.value.where
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fine.csv"]
