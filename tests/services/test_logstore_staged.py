"""The fast path for big JSON arrays: stage 1 in memory (queryable), save, then search text and details.

The threshold is lowered so small generated files take the path the 1 M-record exports take; every
result is compared with the one-scan (tolerant) import of the same file, which test_logstore.py checks
against the generator.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from console.core.entra_log_schema import EVENT_COLUMNS, normalise
from console.core.errors import Cancelled
from console.services.logstore import LogCatalog, LogFilter, importer
from console.services.logstore.dataset import Dataset
from tests import logs_data

N = 2000


@pytest.fixture
def fast(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(importer, "STAGED_MIN_BYTES", 0)


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return logs_data.write(tmp_path_factory.mktemp("staged") / "export.json", N)


def _all_events(ds: Dataset) -> dict[str, dict]:
    out = {}
    for seq in range(1, ds.count() + 1):
        ev = ds.event(seq)
        assert ev is not None
        out[ev["event_id"]] = {
            k: v for k, v in ev.items() if k not in ("seq", "details_pending", "details_missing")
        }
    return out


def test_stage1_is_queryable_in_memory_then_saved_and_finished(
    fast: None, tmp_path: Path, export: Path
) -> None:
    cat = LogCatalog(tmp_path / "logs")
    job = cat.start_import(export)
    assert job.in_memory
    assert job.dataset.path is None
    assert job.report.pending
    assert job.report.pending[0]["first"] == 1
    assert job.report.pending[0]["last"] == N
    ds = job.dataset
    exp = logs_data.expected(N)
    assert ds.query().counts == exp["status"]
    assert not ds.search_ready
    upn = next(logs_data.records(N))["sourceIdentity"]["details"]["UserPrincipalName"]
    fallback_hits = ds.query(LogFilter(text=upn.upper())).total
    assert fallback_hits >= 1
    ev = ds.event(1)
    assert ev["details_pending"]
    assert ev["steps"] is None
    assert ev["source_upn"] == upn

    info = cat.save(job)
    assert ds.closed
    assert not info.complete
    assert [i.id for i in cat.list()] == [info.id]
    saved = cat.open(info.id)
    try:
        assert saved.pending
        assert saved.count() == N
        assert saved.query().view not in saved._by_order  # not numbered yet: views are built as usual
        assert cat.finish(saved) == []
        assert not saved.pending
        assert saved.search_ready
        assert saved.query().view in saved._by_order  # numbered once the import is complete
        assert saved.query(LogFilter(text=upn.upper())).total == fallback_hits
        assert not saved.event(1)["details_pending"]
    finally:
        saved.close()
    assert cat.info(info.id).complete


def test_staged_details_equal_the_one_scan_import(
    fast: None, tmp_path: Path, export: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    staged_info, _ = LogCatalog(tmp_path / "a").import_file(export)
    monkeypatch.setattr(importer, "STAGED_MIN_BYTES", 1 << 60)
    plain_info, _ = LogCatalog(tmp_path / "b").import_file(export)
    a, b = LogCatalog(tmp_path / "a").open(staged_info.id), LogCatalog(tmp_path / "b").open(plain_info.id)
    try:
        ea, eb = _all_events(a), _all_events(b)
        assert ea.keys() == eb.keys()
        for key, value in eb.items():
            assert ea[key] == value, key
        for needle in ("contoso.com", "retried 3 times", "val-", "entryconflict"):
            assert a.query(LogFilter(text=needle)).total == b.query(LogFilter(text=needle)).total
    finally:
        a.close()
        b.close()


def test_both_generations_and_lowercase_upn_key_on_the_fast_path(fast: None, tmp_path: Path) -> None:
    recs = list(logs_data.records(500, variant="beta"))
    for r in recs:
        r["sourceIdentity"]["details"] = {
            "userPrincipalName": r["sourceIdentity"]["details"]["UserPrincipalName"]
        }
    p = tmp_path / "beta.json"
    p.write_text(json.dumps(recs), encoding="utf-8")
    info, report = LogCatalog(tmp_path / "logs").import_file(p)
    assert report.records == 500
    ds = LogCatalog(tmp_path / "logs").open(info.id)
    try:
        assert ds.query().counts == logs_data.expected(500, variant="beta")["status"]
        for seq, rec in ((1, recs[0]), (250, recs[249])):
            ev, n = ds.event(seq), normalise(rec)
            for key in (
                "event_id",
                "action",
                "status",
                "error_code",
                "source_upn",
                "target_id",
                "initiator_type",
                "service_principal",
            ):
                assert ev[key] == n[key], key
    finally:
        ds.close()


def test_an_unexpected_type_falls_back_to_the_tolerant_schema(fast: None, tmp_path: Path) -> None:
    recs = list(logs_data.records(50))
    recs[7]["durationInMilliseconds"] = {"odd": True}
    recs[9]["provisioningStatusInfo"] = "failure"
    p = tmp_path / "odd.json"
    p.write_text(json.dumps(recs), encoding="utf-8")
    con = duckdb.connect()
    report = importer.import_path(con, p, staged=True)
    assert report.records == 50
    assert report.pending == []  # read in one scan: nothing left for a second stage
    assert con.execute("SELECT count(*) FROM log_events WHERE raw IS NOT NULL").fetchone()[0] == 50


def test_finish_resumes_after_a_cancel_and_reports_a_moved_source(
    fast: None, tmp_path: Path, export: Path
) -> None:
    src = tmp_path / "copy.json"
    shutil.copy(export, src)
    cat = LogCatalog(tmp_path / "logs")
    info, _ = cat.import_file(src, complete=False)
    ds = cat.open(info.id)
    try:
        with pytest.raises(Cancelled):
            cat.finish(ds, cancelled=lambda: True)
        assert ds.pending  # nothing lost: the next open resumes
        assert ds.query().total == N
    finally:
        ds.close()

    info2, _ = cat.import_file(src, complete=False)
    src.unlink()
    ds2 = cat.open(info2.id)
    try:
        warnings = cat.finish(ds2)
        assert len(warnings) == 1
        assert "copy.json" in warnings[0]
        assert "gone" in warnings[0]
        assert ds2.search_ready
        assert not ds2.pending
        ev = ds2.event(3)
        assert ev["details_missing"]
        assert not ev["details_pending"]
        assert ds2.query(LogFilter(text="contoso.com")).total == N
    finally:
        ds2.close()
    assert cat.info(info2.id).complete
    assert "gone" in cat.info(info2.id).warnings[-1]


def test_a_changed_source_does_not_attach_wrong_details(fast: None, tmp_path: Path) -> None:
    src = logs_data.write(tmp_path / "x.json", 300)
    cat = LogCatalog(tmp_path / "logs")
    info, _ = cat.import_file(src, complete=False)
    recs = list(logs_data.records(300))  # the file is overwritten with one record's id changed
    recs[10]["id"] = "replaced"
    src.write_text(json.dumps(recs), encoding="utf-8")
    ds = cat.open(info.id)
    try:
        warnings = cat.finish(ds)
        assert any("changed" in w and "1 event(s)" in w for w in warnings)
        assert ds.event(11)["details_missing"]
        assert ds.event(12)["steps"]
    finally:
        ds.close()


def test_cancel_while_reading_leaves_nothing(fast: None, tmp_path: Path, export: Path) -> None:
    cat = LogCatalog(tmp_path / "logs")
    with pytest.raises(Cancelled):
        cat.start_import(export, cancelled=lambda: True)
    job = cat.start_import(export)
    with pytest.raises(Cancelled):
        cat.save(job, cancelled=lambda: True)
    assert cat.list() == []
    assert [p.name for p in (tmp_path / "logs").iterdir() if not p.name.startswith(".")] == []


def test_first_slice_datasets_are_migrated(tmp_path: Path, export: Path) -> None:
    """A dataset written by the first slice (one wide ``events`` table) opens, queries and shows details."""
    from console.services.logstore import sql

    path = tmp_path / "old.duckdb"
    con = duckdb.connect(str(path))
    importer.import_path(con, export)
    cols = ", ".join(c for c in EVENT_COLUMNS if c != "search")  # the first slice's wide table
    con.execute(
        f"CREATE TABLE old AS SELECT {cols}, s.s AS search FROM log_events JOIN log_search s USING (seq)"
    )
    con.execute("DROP VIEW events")
    for t in ("log_events", "log_details", "log_search"):
        con.execute(f"DROP TABLE {t}")
    con.execute("ALTER TABLE old RENAME TO events")
    con.close()
    ds = Dataset.open(path)
    try:
        assert ds.query().counts == logs_data.expected(N)["status"]
        assert ds.event(5)["steps"]
        assert ds.search_ready
        assert set(sql.TABLE_COLUMNS) <= {r[0] for r in ds.con.execute("DESCRIBE log_events").fetchall()}
    finally:
        ds.close()


def test_the_table_columns_are_the_ddl_columns_in_order() -> None:
    """Every insert names ``TABLE_COLUMNS``; the DDL must define exactly those, so none is misplaced."""
    import duckdb

    from console.services.logstore import sql

    con = duckdb.connect()
    con.execute(sql.DDL)
    assert [r[0] for r in con.execute("DESCRIBE log_events").fetchall()] == list(sql.TABLE_COLUMNS)
