"""Chart aggregates and exports of a filtered view, checked exactly against the generator."""

from __future__ import annotations

import csv
import json
import zipfile
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from console.core.entra_log_schema import normalise
from console.core.errors import Cancelled, UserFacingError
from console.services import export
from console.services.logstore import LogCatalog, LogFilter
from console.services.logstore.export_view import export_view
from tests import logs_data

N = 3000
TOKEN = "scim_" + "A1b2" * 10


@pytest.fixture(scope="module")
def ds(tmp_path_factory: pytest.TempPathFactory):
    recs = list(logs_data.records(N))
    recs[3]["sourceIdentity"]["displayName"] = '=HYPERLINK("http://evil.example","Click")'
    recs[3]["provisioningStatusInfo"] = {
        "status": "failure",
        "errorInformation": {
            "errorCode": "EntryConflict",
            "reason": f"leaked Authorization: Bearer {TOKEN} in a proxy log",
        },
    }
    d = tmp_path_factory.mktemp("views")
    p = d / "export.json"
    p.write_text(json.dumps(recs), encoding="utf-8")
    cat = LogCatalog(d / "logs")
    info, _ = cat.import_file(p)
    dataset = cat.open(info.id)
    yield dataset, [normalise(r) for r in recs]
    dataset.close()


def test_timeline_by_day_and_hour(ds) -> None:
    dataset, rows = ds
    bucket, got = dataset.timeline()
    assert bucket == "day"
    exp: Counter = Counter((n["time"][:10], n["status"]) for n in rows)
    assert {(b.strftime("%Y-%m-%d"), s): k for b, s, k in got} == dict(exp)
    since = datetime(2026, 10, 5, tzinfo=UTC)
    flt = LogFilter(since=since, until=since + timedelta(days=2), status="failure")
    bucket, got = dataset.timeline(flt)
    assert bucket == "hour"
    exp_h = Counter(
        n["time"][:13]
        for n in rows
        if n["status"] == "failure" and "2026-10-05" <= n["time"][:10] < "2026-10-07"
    )
    assert {b.strftime("%Y-%m-%dT%H"): k for b, _s, k in got} == dict(exp_h)


def test_top_errors_and_cycles(ds) -> None:
    dataset, rows = ds
    codes = Counter(n["error_code"] for n in rows if n["error_code"])
    assert dataset.top_errors(n=3) == sorted(codes.items(), key=lambda kv: (-kv[1], kv[0]))[:3]
    job = logs_data.JOBS[0]
    assert dict(dataset.top_errors(LogFilter(job=job))) == dict(
        Counter(n["error_code"] for n in rows if n["error_code"] and n["job_id"] == job)
    )
    cycles = dataset.per_cycle(n=5)
    per: dict[str, Counter] = defaultdict(Counter)
    first: dict[str, str] = {}
    for n in rows:
        per[n["cycle_id"]][n["status"]] += 1
        first[n["cycle_id"]] = min(first.get(n["cycle_id"], "9"), n["time"])
    newest = sorted(first, key=lambda c: first[c])[-5:]
    assert [c for c, _t, _counts in cycles] == newest  # oldest of the five first
    assert all(counts == dict(per[c]) for c, _t, counts in cycles)


def test_export_csv_is_the_filtered_view_in_order_formula_safe_and_redacted(ds, tmp_path: Path) -> None:
    dataset, rows = ds
    flt = LogFilter(status="failure")
    out = tmp_path / "failures.csv"
    progress: list[tuple[int, int]] = []
    n = export_view(
        dataset, out, flt, sort="time", descending=True, progress=lambda d, t: progress.append((d, t))
    )
    failures = [r for r in rows if r["status"] == "failure"]
    assert n == len(failures)
    assert progress[-1] == (n, n)
    raw = out.read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")
    table = list(csv.reader(raw.decode("utf-8-sig").splitlines()))
    assert table[0][:4] == ["Time (UTC)", "Action", "Status", "Error code"]
    assert len(table) == n + 1
    first = dataset.query(flt, page_size=1).first_page[0]
    assert table[1][14] == dataset.event(first[0])["event_id"]
    assert [r[14] for r in table[1:]] == [
        r["event_id"] for r in sorted(failures, key=lambda r: r["time"], reverse=True)
    ]
    evil = next(r for r in table if r[14] == "evt-00000003")
    assert evil[7].startswith("'=HYPERLINK")
    assert TOKEN not in raw.decode("utf-8-sig")
    assert not list(tmp_path.glob(".*.part"))


def test_export_xlsx_has_strings_not_formulas(ds, tmp_path: Path) -> None:
    dataset, _rows = ds
    out = tmp_path / "view.xlsx"
    n = export_view(dataset, out, LogFilter(text="hyperlink"))
    assert n == 1
    with zipfile.ZipFile(out) as zf:
        sheet = zf.read("xl/worksheets/sheet1.xml").decode()
        strings = (
            zf.read("xl/sharedStrings.xml").decode() if "xl/sharedStrings.xml" in zf.namelist() else sheet
        )
    assert "<f>" not in sheet
    assert "=HYPERLINK" in strings
    assert TOKEN not in strings


def test_export_cancel_and_limits_leave_nothing(ds, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    dataset, _rows = ds
    tmp_path = tmp_path / "out"
    tmp_path.mkdir()
    out = tmp_path / "x.csv"
    with pytest.raises(Cancelled):
        export_view(dataset, out, cancelled=lambda: True)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 100)
    with pytest.raises(UserFacingError, match="Excel sheet") as e:
        export_view(dataset, tmp_path / "big.xlsx")
    assert "big.xlsx" in str(e.value)
    assert e.value.hint
    with pytest.raises(UserFacingError, match="Could not write"):
        export_view(dataset, tmp_path / "missing-dir" / "x.csv")
    assert list(tmp_path.iterdir()) == []


def test_the_default_view_is_numbered_at_import(ds) -> None:
    """Newest-first over every event pages from log_order: same rows as a freshly numbered view."""
    dataset, _rows = ds
    res = dataset.query(page_size=10)
    assert res.view in dataset._by_order
    other = dataset.query(LogFilter(since=datetime(2000, 1, 1, tzinfo=UTC)), page_size=10)
    assert other.view not in dataset._by_order
    assert res.first_page == other.first_page == dataset.rows(res.view, 0, 10)
    for offset in (0, 10, 1234, N - 50):
        assert dataset.rows(res.view, offset, 50) == dataset.rows(other.view, offset, 50)
    assert dataset.query(sort="time", descending=False).view not in dataset._by_order
