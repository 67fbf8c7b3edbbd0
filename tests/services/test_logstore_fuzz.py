"""Property tests of the importers (issue #8): any bytes give records or a clear error, never a crash;
valid records round-trip through every format."""

from __future__ import annotations

import csv
import io
import json
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import duckdb
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.core.entra_log_schema import normalise
from console.services.logstore import LogImportError, importer
from console.services.logstore.importer import import_path
from tests import logs_data

FUZZ = settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)
SEED = json.dumps(list(logs_data.records(4)), separators=(",", ":")).encode()
NAMES = ["export.json", "export.ndjson", "ProvisioningLogs.csv", "logs.zip", "thing.txt"]


def _import_bytes(name: str, data: bytes) -> tuple[int, list[str]] | LogImportError:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / name
        p.write_bytes(data)
        con = duckdb.connect()
        try:
            report = import_path(con, p)
        except LogImportError as exc:  # the only failure the user may see
            error = exc
        else:
            return report.records, report.warnings
        finally:
            con.close()
    assert name in str(error), str(error)  # it names the file
    return error


@FUZZ
@given(name=st.sampled_from(NAMES), data=st.binary(max_size=3000))
def test_any_bytes_import_or_fail_clearly(name: str, data: bytes) -> None:
    _import_bytes(name, data)


@FUZZ
@given(
    name=st.sampled_from(NAMES[:2]),
    cut=st.integers(0, len(SEED)),
    flips=st.lists(st.tuples(st.integers(0, len(SEED) - 1), st.integers(0, 255)), max_size=4),
    insert=st.binary(max_size=8),
)
def test_mutated_exports_keep_what_is_valid(name: str, cut: int, flips: list, insert: bytes) -> None:
    data = bytearray(SEED[:cut])
    for pos, byte in flips:
        if pos < len(data):
            data[pos] = byte
    data[cut // 2 : cut // 2] = insert
    result = _import_bytes(name, bytes(data))
    if not isinstance(result, LogImportError):
        records, _warnings = result
        assert 0 < records <= 4 + len(insert)


@FUZZ
@given(data=st.binary(max_size=2000), member=st.sampled_from(["a.json", "../x.json", "dir/b.ndjson"]))
def test_zips_of_anything_import_or_fail_clearly(data: bytes, member: str) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, data)
    _import_bytes("logs.zip", buf.getvalue())


# ---- valid records round-trip
def _record(
    i: int,
    upn: str,
    name: str,
    reason: str,
    prop: str,
    old: str,
    new: str,
    beta: bool,
    status: str,
    duration: int,
) -> dict[str, Any]:
    rec = logs_data.record(i, 10, __import__("random").Random(i), "beta" if beta else "v1")
    rec["sourceIdentity"]["displayName"] = name
    rec["sourceIdentity"]["details"] = {"UserPrincipalName": upn}
    rec["modifiedProperties"] = [{"displayName": prop, "oldValue": old, "newValue": new}]
    rec["durationInMilliseconds"] = duration
    info = {
        "status": status,
        ("errorInfo" if beta else "errorInformation"): {"errorCode": "X", "reason": reason},
    }
    rec["statusInfo" if beta else "provisioningStatusInfo"] = info
    return rec


records_st = st.lists(
    st.builds(
        _record,
        st.integers(0, 9),
        text,
        text,
        text,
        text,
        text,
        text,
        st.booleans(),
        st.sampled_from(["success", "failure", "skipped", "warning"]),
        st.integers(0, 10**9),
    ),
    min_size=1,
    max_size=6,
)
_COLS = [
    "event_id",
    "action",
    "status",
    "error_code",
    "error_reason",
    "source_upn",
    "source_name",
    "target_id",
    "job_id",
    "cycle_id",
    "duration_ms",
    "initiator_type",
    "service_principal",
]


def _check(con: duckdb.DuckDBPyConnection, recs: list[dict[str, Any]]) -> None:
    rows = con.execute(f"SELECT {', '.join(_COLS)}, modified_properties FROM events ORDER BY seq").fetchall()
    assert len(rows) == len(recs)
    for rec, row in zip(recs, rows, strict=True):
        n = normalise(rec)
        assert row[: len(_COLS)] == tuple(n[c] for c in _COLS)
        assert json.loads(row[-1]) == rec["modifiedProperties"]


@FUZZ
@given(recs=records_st, fmt=st.sampled_from(["json", "ndjson", "json-fast"]))
def test_valid_records_round_trip(recs: list[dict[str, Any]], fmt: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        p = Path(tmp) / "export.json"
        if fmt == "ndjson":
            p.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in recs), encoding="utf-8")
        else:
            p.write_text(json.dumps(recs, ensure_ascii=False), encoding="utf-8")
        con = duckdb.connect()
        try:
            if fmt == "json-fast":  # the typed stage 1 + the second scan, as big files take them
                old = importer.STAGED_MIN_BYTES
                importer.STAGED_MIN_BYTES = 0
                try:
                    report = import_path(con, p, staged=True)
                finally:
                    importer.STAGED_MIN_BYTES = old
                importer.complete(con, report.pending)
            else:
                import_path(con, p)
            _check(con, recs)
        finally:
            con.close()


@FUZZ
@given(recs=records_st)
def test_csv_rows_round_trip(recs: list[dict[str, Any]]) -> None:
    """Any text in any cell (quotes, commas, newlines) comes back as written."""
    for i, r in enumerate(recs):
        r["id"] = f"evt-{i}"  # ids and change ids are unique in a real download
        r["changeId"] = f"chg-{i}"
    with tempfile.TemporaryDirectory() as tmp:
        paths = [
            Path(tmp) / f
            for f in (
                "ProvisioningLogs.csv",
                "ProvisioningLogs_ProvisioningSteps.csv",
                "ProvisioningLogs_ModifiedProperties.csv",
            )
        ]
        heads = logs_data.CSV_HEADERS["graph"]
        with (
            paths[0].open("w", encoding="utf-8", newline="") as a,
            paths[2].open("w", encoding="utf-8", newline="") as c,
        ):
            wa, wc = csv.writer(a), csv.writer(c)
            wa.writerow(heads["main"])
            wc.writerow(heads["mods"])
            for r in recs:
                main, _steps, mods = logs_data.csv_rows(r, "graph")
                wa.writerow(main)
                wc.writerows(mods)
        paths[1].write_text(",".join(heads["steps"]) + "\n", encoding="utf-8")
        con = duckdb.connect()
        try:
            import_path(con, paths)
            rows = con.execute(
                "SELECT status, source_upn, source_name, error_reason, modified_properties "
                "FROM log_events ORDER BY seq"
            ).fetchall()
        finally:
            con.close()
    assert len(rows) == len(recs)

    def cell(v: str) -> str | None:
        return v.strip(" \t\r\n") or None  # the importer trims cells and treats blank as missing

    for r, (status, upn, name, reason, mods) in zip(recs, rows, strict=True):
        n = normalise(r)
        assert (status, upn, name, reason) == (
            n["status"],
            cell(n["source_upn"]),
            cell(n["source_name"]),
            cell(n["error_reason"]),
        )
        m = r["modifiedProperties"][0]
        got = json.loads(mods)[0] if mods else None
        if cell(m["displayName"]) or cell(m["oldValue"]) or cell(m["newValue"]):
            assert got == {
                "displayName": cell(m["displayName"]),
                "oldValue": cell(m["oldValue"]),
                "newValue": cell(m["newValue"]),
            }


@pytest.mark.parametrize("depth", [10_000, 300_000])
def test_deep_nesting_anywhere_is_read_without_recursion(tmp_path: Path, depth: int) -> None:
    p = tmp_path / "deep.ndjson"
    p.write_text(json.dumps(next(logs_data.records(1))) + "\n" + '{"a":' * depth + "1" + "}" * depth + "\n")
    result = _import_bytes(p.name, p.read_bytes())
    assert not isinstance(result, LogImportError)
    records, warnings = result
    assert records == 1
    assert any("deep.ndjson" in w and "skipped 1 record" in w for w in warnings)
