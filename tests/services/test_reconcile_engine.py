"""The DuckDB reconciliation engine on files (no platform): every class exactly, SQL keys == the pure
rules' keys (hypothesis), the tolerant Entra export reader and its error messages, log evidence from
an imported dataset, the query-backed table, exports and cancel."""

from __future__ import annotations

import csv
import json
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from console.core.errors import Cancelled
from console.core.reconcile.findings import Account, FindingClass
from console.core.reconcile.rules import identity_key
from console.services.logstore import LogCatalog
from console.services.reconcile import InputError, ReconcileEngine, export_findings, export_plan
from console.services.reconcile.sources import write_snapshot

C = FindingClass


def acc(uid: str, user_name: str, *emails: str, **kw) -> Account:
    return Account(uid, user_name, tuple(emails), **kw)


def scim(uid: str, user_name: str, *emails: str, obj: str, **kw) -> Account:
    return Account(uid, user_name, tuple(emails), created_via="scim", external_id=obj, idp_link=obj, **kw)


# One org with every pattern of entra-facts §3.2 (and clean accounts that must stay quiet).
ACCOUNTS = [
    acc("m1", "jane.doe@corp.com", "jane.doe@corp.com", work_areas=2),                 # (i) manual …
    scim("t1", "jdoe@corp.onmicrosoft.com", "jane.doe@corp.com", obj="o-jane"),        # … and its twin
    scim("b1", "tom.berg@corp.com", "tom.berg@corp.com", obj="o-tom", active=False),   # (ii)
    scim("b2", "thomas.berg@corp.com", "thomas.berg@corp.com", obj="o-tom"),
    scim("x1", "ann@corp.com", "shared@corp.com", obj="o-ann", active=False),          # (iii) two people
    scim("x2", "bob@corp.com", "shared@corp.com", obj="o-bob"),
    acc("c1", "mlee", "Mark.Lee@Corp.com"),                                            # (iv) case only
    scim("c2", "mark.lee@corp.com", "mark.lee@corp.com", obj="o-mark"),
    acc("c3", "STRASSE@corp.com", "STRASSE@corp.com"),                                 # (iv) casefold ß
    scim("c4", "straße@corp.com", "straße@corp.com", obj="o-strasse"),
    scim("s1", "aprice@corp.onmicrosoft.com", "ada.price@corp.com", obj="o-ada"),      # (v) with export
    scim("s2", "ken@corp.com", "ken@old.corp.com", obj="o-ken"),                       # (v) mail changed
    scim("h1", "a.khan@corp.onmicrosoft.com", "aisha.khan@corp.com", obj="o-aisha"),   # (vi)
    scim("n1", "kiosk@corp.com", obj="o-kiosk"),                                       # (vii)
    scim("ok1", "clean@corp.com", "clean@corp.com", obj="o-clean"),
    acc("ok2", "manual@corp.com", "manual@corp.com", "Alias@Corp.com"),
    acc("mg", "merged+1@corp.com.invalid", "jane.doe@corp.com", active=False, merged_into_id="m1"),
    acc("rl", "released+9@corp.com.invalid", "released+9@corp.com.invalid"),
]
EXPORT = [
    ("userPrincipalName", "displayName", "mail", "objectId", "accountEnabled"),
    ("jdoe@corp.onmicrosoft.com", "Jane Doe", "jane.doe@corp.com", "o-jane", "True"),
    ("thomas.berg@corp.com", "Thomas Berg", "thomas.berg@corp.com", "o-tom", "True"),
    ("ann@corp.com", "Ann", "", "o-ann", "False"),
    ("bob@corp.com", "Bob", "shared@corp.com", "o-bob", "True"),
    ("mark.lee@corp.com", "Mark Lee", "mark.lee@corp.com", "o-mark", "True"),
    ("aprice@corp.onmicrosoft.com", "Ada Price", "", "o-ada", "True"),
    ("ken@corp.com", "Ken", "ken@corp.com", "o-ken", "True"),
    ("a.khan@corp.onmicrosoft.com", "Aisha Khan", "aisha.khan@corp.com", "o-aisha", "True"),
    ("kiosk@corp.com", "Kiosk", "", "o-kiosk", "True"),
    ("CLEAN@corp.com", "Clean", "Clean@Corp.com", "o-clean", "True"),  # case only: never a finding
    ("new.hire@corp.com", "New Hire", "new.hire@corp.com", "o-new", "True"),  # not provisioned yet
]


def write_export(path: Path, rows: list[tuple[str, ...]], *, delimiter: str = ",", bom: bool = True) -> Path:
    with open(path, "w", encoding="utf-8-sig" if bom else "utf-8", newline="") as fh:
        csv.writer(fh, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return path


@pytest.fixture
def snapshot(tmp_path: Path) -> Path:
    path = tmp_path / "platform.csv"
    write_snapshot(path, ACCOUNTS)
    return path


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[ReconcileEngine]:
    with ReconcileEngine("corp", workdir=tmp_path) as e:
        yield e


def found(engine: ReconcileEngine) -> set[tuple[C, frozenset[str]]]:
    return {(f.cls, frozenset(a.id for a in f.accounts)) for f in engine.findings()}


PLATFORM_ONLY = {
    (C.MANUAL_TWIN, frozenset({"m1", "t1"})),
    (C.SCIM_TWINS, frozenset({"b1", "b2"})),
    (C.EMAIL_COLLISION, frozenset({"x1", "x2"})),
    (C.CASE_ONLY, frozenset({"c1", "c2"})),
    (C.CASE_ONLY, frozenset({"c3", "c4"})),
    (C.USERNAME_NOT_EMAIL, frozenset({"s1"})),
    (C.USERNAME_NOT_EMAIL, frozenset({"s2"})),
    (C.USERNAME_NOT_EMAIL, frozenset({"h1"})),
    (C.NO_EMAIL, frozenset({"n1"})),
}


def test_platform_only_finds_exactly_the_duplicates_and_hygiene(engine, snapshot) -> None:
    assert engine.load_platform_snapshot(snapshot) == len(ACCOUNTS)
    summary = engine.analyze()
    assert found(engine) == PLATFORM_ONLY
    assert summary.findings == len(PLATFORM_ONLY)
    assert summary.counts[C.CASE_ONLY] == 2
    twin = next(f for f in engine.findings(cls="manual_twin"))
    assert [a.id for a in twin.accounts] == ["m1", "t1"]  # the unlinked account first
    assert {(e.user_id, e.key, e.value) for e in twin.evidence} == {
        ("m1", "userName", "jane.doe@corp.com"), ("t1", "email", "jane.doe@corp.com")}
    tom = next(f for f in engine.findings(cls="scim_twins"))
    assert (tom.key, tom.value) == ("externalId", "o-tom")


def test_with_the_entra_export_stale_emails_replace_the_weaker_signal(engine, snapshot, tmp_path) -> None:
    engine.load_platform_snapshot(snapshot)
    load = engine.load_entra_export(write_export(tmp_path / "users.csv", EXPORT))
    assert (load.rows, load.skipped) == (len(EXPORT) - 1, 0)
    engine.analyze()
    expected = (PLATFORM_ONLY - {(C.USERNAME_NOT_EMAIL, frozenset({"s1"})),
                                 (C.USERNAME_NOT_EMAIL, frozenset({"s2"}))}) | {
        (C.STALE_EMAIL, frozenset({"s1"})), (C.STALE_EMAIL, frozenset({"s2"}))}
    assert found(engine) == expected
    stale = {f.accounts[0].id: f for f in engine.findings(cls="stale_email")}
    s1 = stale["s1"]
    assert (s1.detail, s1.key, s1.entra.object_id) == ("mail_removed", "idp_link", "o-ada")
    assert (stale["s2"].detail, stale["s2"].entra.mail) == ("mail_changed", "ken@corp.com")
    collision = engine.findings(cls="email_collision")[0]
    assert collision.entra is not None
    assert collision.entra.object_id == "o-bob"  # Entra gives the address to Bob
    plan = engine.plan(cls="email_collision")
    assert [(s.action, s.user_id) for s in plan.api_steps] == [("release_email", "x1")]


def test_an_entra_user_whose_address_a_manual_account_holds_is_its_twin(engine, tmp_path) -> None:
    # The twin's own email drifted (the seed's northwind pattern): only Entra's mail ties the two.
    write_snapshot(tmp_path / "p.csv", [
        acc("m", "jane.doe@traders.com", "jane.doe@traders.com", work_areas=2),
        scim("t", "jdoe@corp.com", "jdoe@corp.com", obj="o-jane"),
        acc("q", "sam.ortiz@corp.com", "sam.ortiz@corp.com", created_via="invite"),
        scim("z", "zed@corp.com", "zoe@corp.com", obj="o-zed")])
    engine.load_platform_snapshot(tmp_path / "p.csv")
    engine.load_entra_export(write_export(tmp_path / "u.csv", [
        EXPORT[0], ("jdoe@corp.com", "Jane", "jane.doe@traders.com", "o-jane", "True"),
        ("sam.ortiz@corp.com", "Sam", "", "o-sam", "True"),      # not provisioned; a userName match will link
        ("zoe@corp.com", "Zoe", "zoe@corp.com", "o-zoe", "True")]))  # held by another person's account
    engine.analyze()
    assert found(engine) == {(C.MANUAL_TWIN, frozenset({"m", "t"})), (C.EMAIL_COLLISION, frozenset({"z"}))}
    steps = [(s.action, s.user_id) for s in engine.plan().api_steps]
    # z's own Entra user (o-zed) is not in the export: a stale link, cleared after the release
    assert steps == [("release_email", "z"), ("clear_idp_link", "z"), ("merge", "t")]


def _platform_log(path: Path, events: list[dict]) -> Path:
    base = {"method": "POST", "path": "/scim/v2/corp/Users", "op": "create", "op_summary": "",
            "latency_ms": 3.0, "user_id": None, "scim_id": None, "user_name": None, "external_id": None,
            "error_code": None, "error_detail": None}
    with open(path, "w", encoding="utf-8") as fh:
        for i, e in enumerate(events, start=1):
            fh.write(json.dumps({**base, "id": i, "ts": f"2026-10-0{i}T10:00:00Z", **e}) + "\n")
    return path


def test_log_conflicts_are_evidence_and_name_the_squatted_address(engine, tmp_path) -> None:
    write_snapshot(tmp_path / "p.csv", [
        acc("q", "sam.ortiz@corp.com", "sam.ortiz@corp.com", created_via="invite"),
        acc("m", "jane.doe@traders.com", "jane.doe@traders.com"),
        scim("t", "jdoe@corp.com", "jdoe@corp.com", obj="o-jane", scim_id="sc-t")])
    log = _platform_log(tmp_path / "log.ndjson", [
        {"status": 409, "outcome": "failure", "user_name": "sam.ortiz@corp.com", "external_id": "o-sam",
         "error_code": "uniqueness", "error_detail": "userName sam.ortiz@corp.com is already taken."},
        {"method": "PATCH", "path": "/scim/v2/corp/Users/sc-t", "op": "update", "status": 409,
         "outcome": "failure", "user_id": "t", "scim_id": "sc-t", "user_name": "jdoe@corp.com",
         "external_id": "o-jane", "error_code": "uniqueness",
         "error_detail": "Email jane.doe@traders.com is already used by another user in this organisation."},
        {"method": "PATCH", "path": "/scim/v2/corp/Users/gone", "op": "update", "status": 404,
         "outcome": "failure", "error_code": "invalidAnchor", "error_detail": "Resource gone not found."},
        {"method": "GET", "path": "/scim/v2/corp/Users", "op": "query", "status": 200, "outcome": "success",
         "user_name": "sam.ortiz@corp.com"}])
    info, _report = LogCatalog(tmp_path / "logs").import_file(log)
    dataset = LogCatalog(tmp_path / "logs").open(info.id)
    try:
        engine.load_platform_snapshot(tmp_path / "p.csv")
        assert engine.load_log_evidence(dataset) == 3  # the two conflicts and the InvalidAnchor
    finally:
        dataset.close()
    engine.analyze()
    assert found(engine) == {(C.EMAIL_COLLISION, frozenset({"q"})), (C.MANUAL_TWIN, frozenset({"m", "t"}))}
    sam = engine.finding(engine.findings(cls="email_collision")[0].id)
    assert sam.detail == "log_conflict"
    assert sam.log_events == 1
    assert [e.key for e in sam.evidence if e.kind == "log"] == ["uniqueness"]
    twin = engine.finding(engine.findings(cls="manual_twin")[0].id)
    assert twin.log_events == 1
    assert "already used" in next(e.detail for e in twin.evidence if e.kind == "log")
    steps = [(s.action, s.user_id) for s in engine.plan().api_steps]
    assert steps == [("release_email", "q"), ("merge", "t")]


def test_a_clean_org_has_no_findings(engine, tmp_path) -> None:
    write_snapshot(tmp_path / "p.csv", [scim(f"u{i}", f"User{i}@Corp.com", f"user{i}@corp.com", obj=f"o{i}")
                                        for i in range(20)])
    engine.load_platform_snapshot(tmp_path / "p.csv")
    engine.load_entra_export(write_export(tmp_path / "u.csv", [EXPORT[0]] + [
        (f"user{i}@corp.com", f"U {i}", f"USER{i}@CORP.COM", f"o{i}", "True") for i in range(20)]))
    assert engine.analyze().findings == 0
    assert engine.plan().steps == ()


# ---- keys: the SQL fold is the pure rules' fold
# NUL and the list separator cannot be in a snapshot cell; a lone CR is written as LF (sources._cell).
texts = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\x1f\r"), max_size=12)


@settings(max_examples=40, deadline=None)
@given(st.lists(texts, min_size=1, max_size=40))
def test_sql_keys_equal_identity_key(tmp_path_factory, values: list[str]) -> None:
    d = tmp_path_factory.mktemp("keys")
    write_snapshot(d / "p.csv", [acc(f"u{i}", v, *(["x" + v + "@x.com"] if v else []))
                                 for i, v in enumerate(values)])
    with ReconcileEngine("k", workdir=d) as e:
        e.load_platform_snapshot(d / "p.csv")
        got = dict(e.con.execute("SELECT id, un_k FROM pu").fetchall())
        got_mail = dict(e.con.execute("SELECT id, e1_k FROM pu").fetchall())
    for i, v in enumerate(values):
        assert got[f"u{i}"] == (identity_key(v) or None), repr(v)
        if v:
            assert got_mail[f"u{i}"] == identity_key("x" + v + "@x.com"), repr(v)



def test_missing_workdir_is_created_private(tmp_path: Path) -> None:
    """The app's cache dir does not exist on a first run; the engine makes it (0700) rather than fail."""
    work = tmp_path / "cache" / "deeper"
    write_snapshot(tmp_path / "p.csv", [acc("u1", "ana@x.com", "ana@x.com")])
    with ReconcileEngine("k", workdir=work) as e:
        assert e.load_platform_snapshot(tmp_path / "p.csv") == 1
        assert e.dir.parent == work
    assert work.stat().st_mode & 0o777 == 0o700

# ---- the Entra export: tolerated shapes and clear refusals
def test_export_with_semicolons_bom_block_credential_and_rows_without_upn(engine, snapshot, tmp_path) -> None:
    engine.load_platform_snapshot(snapshot)
    path = write_export(tmp_path / "u.csv", [
        ("User principal name", "Display name", "Email", "Object ID", "Block credential", "Extra"),
        ("bob@corp.com", "Bob; the builder", "shared@corp.com", "o-bob", "false", "x"),
        ("", "No UPN", "", "o-none", "false", "y"),
        ("ann@corp.com", "Ann", "", "o-ann", "true", "z")], delimiter=";")
    load = engine.load_entra_export(path)
    assert (load.rows, load.skipped) == (2, 1)
    assert "without a userPrincipalName" in load.warnings[0]
    rows = dict(engine.con.execute("SELECT object_id, enabled FROM e").fetchall())
    assert rows == {"o-bob": True, "o-ann": False}


@pytest.mark.parametrize(("content", "message", "where"), [
    (b"", "is empty", ""),
    (b"name,mail\nx,y\n", "No userPrincipalName column", "line 1"),
    # a UTF-8 byte-order mark, then a Windows-1252 byte: the file contradicts itself
    (b"\xef\xbb\xbfuserPrincipalName,mail\na@x.com,caf\xe9@x.com\n", "byte 37 is not UTF-8", "line 2"),
    (b"userPrincipalName,mail\na@x.com,b@x.com,extra\n", "a row has 3 fields where the header has 2",
     "line 2"),
])
def test_bad_exports_say_what_and_where(engine, tmp_path, content: bytes, message: str, where: str) -> None:
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(InputError) as info:
        engine.load_entra_export(path)
    assert message in str(info.value)
    assert str(path) in str(info.value)
    assert where in str(info.value)


def test_big_files_past_the_sniffed_head_still_report_the_line(engine, tmp_path) -> None:
    body = b"\xef\xbb\xbfuserPrincipalName,mail\n" + b"".join(
        b"u%d@x.com,u%d@x.com\n" % (i, i) for i in range(20000))
    (tmp_path / "late.csv").write_bytes(body + b"bad@x.com,caf\xe9@x.com\n")
    with pytest.raises(InputError, match="not UTF-8") as info:
        engine.load_entra_export(tmp_path / "late.csv")
    assert "line 20002" in str(info.value)


def test_a_windows_1252_byte_past_the_sniffed_head_reads_the_file_as_windows_1252(engine, tmp_path) -> None:
    """Excel's "CSV (Comma delimited)" is mostly ASCII: the first accented name may come late."""
    body = b"userPrincipalName,mail\n" + b"".join(b"u%d@x.com,u%d@x.com\n" % (i, i) for i in range(20000))
    (tmp_path / "late.csv").write_bytes(body + b"late@x.com,caf\xe9@x.com\n")
    load = engine.load_entra_export(tmp_path / "late.csv")
    assert (load.rows, load.skipped) == (20001, 0)
    assert "read as Windows-1252" in load.warnings[0]
    assert "late.csv" in load.warnings[0]
    assert engine.con.execute("SELECT mail FROM e WHERE upn = 'late@x.com'").fetchone() == ("café@x.com",)


def test_a_carriage_return_inside_a_value_is_read_as_a_line_feed(engine, tmp_path) -> None:
    write_snapshot(tmp_path / "p.csv", [acc("u1", "odd\rname", "a\r@x.com")])
    engine.load_platform_snapshot(tmp_path / "p.csv")
    assert engine.con.execute("SELECT user_name, e1 FROM pu").fetchall() == [("odd\nname", "a\n@x.com")]


def test_a_file_that_is_not_a_snapshot_is_refused(engine, tmp_path) -> None:
    (tmp_path / "x.csv").write_text("id,name\n1,2\n", encoding="utf-8")
    with pytest.raises(InputError, match="Not a platform users snapshot"):
        engine.load_platform_snapshot(tmp_path / "x.csv")


# ---- the query-backed table
def test_table_filters_sorts_and_pages(engine, snapshot) -> None:
    engine.load_platform_snapshot(snapshot)
    engine.analyze()
    table = engine.table
    assert table.count() == len(PLATFORM_ONLY)
    first = table.page(0, 3)
    assert [r.cls for r in first] == [C.MANUAL_TWIN, C.SCIM_TWINS, C.EMAIL_COLLISION]
    assert first[0].label == "(i) Manual account + SCIM twin"
    assert "jane.doe@corp.com" in first[0].summary
    assert table.page(len(PLATFORM_ONLY), 10) == []
    assert table.filter(cls="case_only") == 2
    assert {r.value for r in table.page(0, 10)} == {"Mark.Lee@Corp.com", "STRASSE@corp.com"}
    assert table.filter(text="BERG") == 1
    assert table.class_counts()[C.SCIM_TWINS] == 1
    assert table.filter(cls=["no_email", "username_not_email"], text="corp") == 4
    table.filter()
    table.sort("severity", descending=True)
    assert table.page(0, 1)[0].severity == "low"
    assert len(table.ids()) == len(PLATFORM_ONLY)
    with pytest.raises(ValueError):
        table.sort("nope")
    with pytest.raises(ValueError):
        table.filter(cls="nope")


def test_exports_are_formula_safe(engine, tmp_path) -> None:
    write_snapshot(tmp_path / "p.csv", [acc("e1", "=HYPERLINK(\"http://x\")", "evil@corp.com"),
                                        scim("e2", "+evil@corp.com", "evil@corp.com", obj="o")])
    engine.load_platform_snapshot(tmp_path / "p.csv")
    engine.analyze()
    assert export_findings(engine, tmp_path / "f.csv") == 1
    with open(tmp_path / "f.csv", encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert rows[0][:3] == ["finding", "class", "class name"]
    assert rows[1][4].startswith("'=HYPERLINK")
    assert export_findings(engine, tmp_path / "f.xlsx") == 1
    assert export_plan(engine.plan(), tmp_path / "p.csv") == len(engine.plan().steps)


def test_findings_export_too_big_for_a_sheet_is_refused_before_writing(engine, tmp_path, monkeypatch) -> None:
    from console.core.errors import UserFacingError
    from console.services import export

    write_snapshot(tmp_path / "p.csv", [acc("a1", "ana@corp.com", "ana@corp.com"),
                                        acc("a2", "ANA@corp.com", "ana@corp.com"),
                                        acc("b1", "bo@corp.com")])
    engine.load_platform_snapshot(tmp_path / "p.csv")
    engine.analyze()
    assert engine.summary.findings >= 2
    monkeypatch.setattr(export, "XLSX_MAX_ROWS", 2)
    with pytest.raises(UserFacingError, match="do not fit in one Excel sheet"):
        export_findings(engine, tmp_path / "f.xlsx")
    assert not list(tmp_path.glob("*.xlsx*"))
    assert export_findings(engine, tmp_path / "f.csv") == engine.summary.findings


def test_cancel_stops_the_analysis(engine, snapshot) -> None:
    class Cancelling:
        def progress(self, done: int, total: int = 0, text: str = "") -> None:
            pass

        def cancelled(self) -> bool:
            return True

    engine.load_platform_snapshot(snapshot)
    with pytest.raises(Cancelled):
        engine.analyze(Cancelling())


def test_the_engine_can_be_used_from_worker_threads(engine, snapshot) -> None:
    engine.load_platform_snapshot(snapshot)
    engine.analyze()
    errors: list[BaseException] = []

    def page() -> None:
        try:
            for _ in range(20):
                engine.table.page(0, 5)
                engine.finding(engine.table.page(0, 1)[0].fid)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=page) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
