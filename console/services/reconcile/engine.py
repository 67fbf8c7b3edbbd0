"""The reconciliation engine: one in-memory DuckDB per analysis, fed by the loaders, queried by the page.

Usage (from a worker thread; every long call takes a token with ``progress()``/``cancelled()``)::

    engine = ReconcileEngine("contoso")
    engine.fetch_platform(client, token)            # or load_platform_snapshot(path)
    engine.load_entra_export(path, token)           # optional
    engine.load_log_evidence(dataset, token)        # optional
    summary = engine.analyze(token)
    engine.table.filter(cls="manual_twin"); engine.table.page(0, 100)
    plan = engine.plan()                            # a dry run: nothing happens until applied

Why DuckDB and not Python dicts: 1 M × 1 M is 20 s in Python and ~2–3 s here (performance-notes §3.5,
§6), and the result is already a table the page can sort, filter and page without a proxy model.

Keys: ASCII values (nearly all) are folded by DuckDB (``lower`` + trim of ``str.strip``'s whitespace
= casefold there); non-ASCII values are folded by Python's ``identity_key`` and joined back, so the
SQL keys are exactly the pure rules' keys. ``nkey`` is the likely-twin rule's name key: case and
accents folded, spaces collapsed (``console.core.identity.fold_name`` in SQL). Cancellation: a
watcher thread interrupts the running statement within 100 ms; the engine is then unusable (the
caller discards it).
"""

from __future__ import annotations

import contextlib
import csv
import json
import re
import shutil
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from console.core import text_input
from console.core.entra_errors import emails_in, explain, parse_error_text
from console.core.errors import Cancelled
from console.core.reconcile.findings import (
    CERTAIN,
    Account,
    EntraRecord,
    Evidence,
    Finding,
    FindingClass,
)
from console.core.reconcile.plan import Plan, build_plan
from console.core.reconcile.rules import ASCII_WHITESPACE, identity_key
from console.services.duckdb_cancel import interruptible
from console.services.reconcile import analysis as A  # noqa: N812
from console.services.reconcile.lookalikes import lookalike_keys, unusual_characters
from console.services.reconcile.results import FindingsTable, filter_sql
from console.services.reconcile.sources import (
    LIST_SEPARATOR,
    SNAPSHOT_COLUMNS,
    InputError,
    NoProgress,
    ProgressToken,
    check_snapshot_header,
    fetch_snapshot,
    sniff_entra_export,
    utf8_source,
)

WANT_CODES = ("entryconflict", "conflict", "uniqueness")  # Entra's push of a value collided
MAX_LOG_EVIDENCE = 50   # events listed per finding (the count is exact)

assert max(map(ord, ASCII_WHITESPACE)) <= 32  # so "first and last character > ' '" means "nothing to strip"
# The key of a value DuckDB can fold alone: pure ASCII (casefold = lower, NFC = identity) with no
# whitespace at either end (nothing for str.strip). Everything else (NULL here) is folded by Python.
_EMPTY_TABLES = """
CREATE TEMP MACRO akey(x) AS
    CASE WHEN strlen(x) = length(x) AND ord(x) > 32 AND x[-1] > ' ' THEN lower(x) END;
CREATE TEMP MACRO nslow(x) AS
    nullif(regexp_replace(trim(strip_accents(lower(x))), ' +', ' ', 'g'), '');
CREATE TEMP MACRO nkey(x) AS
    CASE WHEN strlen(x) = length(x) AND NOT contains(x, '  ') AND NOT starts_with(x, ' ')
              AND NOT ends_with(x, ' ') THEN lower(x)
         ELSE nslow(x) END;
CREATE TABLE pu (id VARCHAR, user_name VARCHAR, un_k VARCHAR, display_name VARCHAR, emails VARCHAR,
    e1 VARCHAR, e1_k VARCHAR, multi BOOLEAN, active BOOLEAN, created_via VARCHAR, version INTEGER,
    scim_id VARCHAR,
    external_id VARCHAR, idp_link VARCHAR, link_differs BOOLEAN, merged_into_id VARCHAR, work_areas INTEGER,
    last_login_at VARCHAR, created_at VARCHAR);
CREATE TABLE ok (rid BIGINT, uid VARCHAR, raw VARCHAR, k VARCHAR);
CREATE TABLE e (object_id VARCHAR, upn VARCHAR, upn_k VARCHAR, mail VARCHAR, mail_k VARCHAR,
    display_name VARCHAR, enabled BOOLEAN);
CREATE TABLE ev (seq BIGINT, time VARCHAR, error_code VARCHAR, http_status INTEGER, reason VARCHAR,
    obj VARCHAR, uid_hint VARCHAR, scim_hint VARCHAR, upn VARCHAR, upn_k VARCHAR, mails VARCHAR,
    mail_ks VARCHAR, wants BOOLEAN);
CREATE TABLE od (d VARCHAR);
CREATE TABLE classes (cls VARCHAR, rank INTEGER, severity VARCHAR, sev_rank INTEGER, prio INTEGER);
CREATE TABLE key_rank (key_kind VARCHAR, r INTEGER);
"""
_EV_COLUMNS = {"seq": "BIGINT", "time": "VARCHAR", "error_code": "VARCHAR", "http_status": "INTEGER",
               "reason": "VARCHAR", "obj": "VARCHAR", "uid_hint": "VARCHAR", "scim_hint": "VARCHAR",
               "upn": "VARCHAR", "upn_k": "VARCHAR", "mails": "VARCHAR", "mail_ks": "VARCHAR",
               "wants": "BOOLEAN"}
_CSV = "header=true, auto_detect=false, delim=',', quote='\"', escape='\"'"


@dataclass(frozen=True)
class EntraLoad:
    rows: int
    skipped: int
    warnings: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnalysisSummary:
    org_id: str
    users: int
    entra_rows: int
    log_events: int
    findings: int
    counts: dict[str, int]
    seconds: float
    warnings: tuple[str, ...] = field(default_factory=tuple)

    def as_dict(self) -> dict[str, Any]:
        return {"org_id": self.org_id, "users": self.users, "entra_rows": self.entra_rows,
                "log_events": self.log_events, "findings": self.findings, "counts": self.counts,
                "seconds": round(self.seconds, 3), "warnings": list(self.warnings)}


class ReconcileEngine:
    """One analysis of one org. Thread-safe (one lock); close it to drop the data and its files."""

    def __init__(self, org_id: str, *, workdir: Path | str | None = None, memory_limit: str = "1GB",
                 threads: int | None = None) -> None:
        self.org_id = org_id
        if workdir is not None:  # the app's cache dir may not exist yet on a first run
            Path(workdir).mkdir(mode=0o700, parents=True, exist_ok=True)
        self.dir = Path(tempfile.mkdtemp(prefix="scim-reconcile-", dir=workdir))  # 0700: holds personal data
        config: dict[str, Any] = {"memory_limit": memory_limit, "temp_directory": str(self.dir / "spill"),
                                  "preserve_insertion_order": False}
        if threads:
            config["threads"] = threads
        self.con = duckdb.connect(":memory:", config=config)
        self.lock = threading.RLock()
        self.users = 0
        self.entra_rows = 0
        self.log_events = 0
        self.log_source = ""
        self.warnings: list[str] = []
        self.summary: AnalysisSummary | None = None
        self.timings: list[tuple[str, float]] = []  # seconds per analysis step (benchmark breakdown)
        self.table: FindingsTable | None = None
        self._files = 0
        self._non_ascii: set[str] = set()  # platform identity keys with non-ASCII characters (lookalikes)
        self.con.execute(_EMPTY_TABLES)
        self.con.executemany("INSERT INTO classes VALUES (?, ?, ?, ?, ?)", A.class_rows())
        self.con.executemany("INSERT INTO key_rank VALUES (?, ?)", A.key_rows())

    # ---- lifecycle
    def close(self) -> None:
        with self.lock:
            with contextlib.suppress(duckdb.Error):
                self.con.close()
            shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self) -> ReconcileEngine:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ---- plumbing
    def _file(self, stem: str) -> Path:
        self._files += 1
        return self.dir / f"{stem}-{self._files}.csv"

    def _watched(self, token: ProgressToken) -> contextlib.AbstractContextManager[None]:
        """Interrupt DuckDB within 100 ms of a cancel; raise Cancelled instead of DuckDB's error."""
        return interruptible(self.con, token.cancelled)

    def _rows_table(self, table: str, columns: dict[str, str], rows: Iterable[Sequence[Any]]) -> None:
        """Bulk-load Python rows through a CSV (DuckDB's parameter inserts cost ~2 ms a row)."""
        path = self._file(table)
        with open(path, "w", encoding="utf-8", newline="") as fh:
            w = csv.writer(fh, lineterminator="\n")
            w.writerow(columns)
            w.writerows(rows)
        self.con.execute(f"CREATE OR REPLACE TEMP TABLE {table} AS "
                         f"SELECT * FROM read_csv(?, columns={columns!r}, {_CSV})", [str(path)])
        path.unlink(missing_ok=True)

    def _fill_keys(self, table: str, pairs: Sequence[tuple[str, str]]) -> list[str]:
        """Fold the values ``akey`` left without a key (non-ASCII, whitespace at an end) in Python;
        returns the keys that are not ASCII (the only ones a lookalike can be made of)."""
        parts = " UNION ALL ".join(
            f"SELECT {raw} AS v FROM {table} WHERE {key} IS NULL AND {raw} IS NOT NULL AND {raw} <> ''"
            for raw, key in pairs)
        values = [r[0] for r in self.con.execute(f"SELECT DISTINCT v FROM ({parts})").fetchall()]
        if not values:
            return []
        folded = [(v, identity_key(v) or None) for v in values]
        self._rows_table("fm", {"raw": "VARCHAR", "k": "VARCHAR"}, folded)
        for raw, key in pairs:
            self.con.execute(f"UPDATE {table} SET {key} = fm.k FROM fm WHERE {table}.{key} IS NULL "
                             f"AND {table}.{raw} = fm.raw")
        return [k for _v, k in folded if k and not k.isascii()]

    # ---- inputs
    def fetch_platform(self, client: Any, token: ProgressToken | None = None) -> int:
        """Read every user of the org from the admin API (paged, with progress) and load them."""
        token = token or NoProgress()
        path = self._file("platform")
        try:
            fetch_snapshot(client, self.org_id, path, token)
            users = self.load_platform_snapshot(path, token)
        finally:
            path.unlink(missing_ok=True)
        self.set_org_domains(client.get_org(self.org_id).domains)
        return users

    def set_org_domains(self, domains: Iterable[str]) -> None:
        """The org's own mail domains: a likely twin's manual address elsewhere is a contractor's or
        guest's, most likely another person (``analysis.TWIN_STEP``). Unknown (empty) = no signal."""
        with self.lock:
            self.con.execute("DELETE FROM od")
            rows = sorted({d.strip().lower() for d in domains if d and d.strip()})
            if rows:
                self.con.executemany("INSERT INTO od VALUES (?)", [(d,) for d in rows])

    def load_platform_snapshot(self, path: Path | str, token: ProgressToken | None = None) -> int:
        token = token or NoProgress()
        path = Path(path)
        check_snapshot_header(path)
        columns = {c: "VARCHAR" for c in SNAPSHOT_COLUMNS}
        first = "nullif(split_part(coalesce(emails, ''), chr(31), 1), '')"
        with self.lock, self._watched(token):
            token.progress(0, 0, "Loading platform users…")
            try:
                self.con.execute(f"""
CREATE OR REPLACE TABLE pu AS
SELECT id, user_name, akey(user_name) AS un_k, display_name, emails, e1,
       CASE WHEN e1 = user_name THEN akey(user_name) ELSE akey(e1) END AS e1_k,
       contains(emails, chr(31)) AS multi, active,
       created_via, coalesce(try_cast(version AS INTEGER), 0) AS version, nullif(scim_id, '') AS scim_id,
       nullif(external_id, '') AS external_id, nullif(idp_link, '') AS idp_link,
       nullif(idp_link, '') IS NOT NULL AND nullif(idp_link, '') IS DISTINCT FROM nullif(external_id, '')
           AS link_differs,
       nullif(merged_into_id, '') AS merged_into_id,
       coalesce(try_cast(work_areas AS INTEGER), 0) AS work_areas, nullif(last_login_at, '') AS last_login_at,
       nullif(created_at, '') AS created_at
FROM (SELECT * EXCLUDE (display_name, emails, active), nullif(display_name, '') AS display_name,
             coalesce(emails, '') AS emails, {first} AS e1, active = 'true' AS active
      FROM read_csv(?, columns={columns!r}, {_CSV}))""", [str(path)])
            except duckdb.InvalidInputException as exc:
                raise _csv_error("platform users snapshot", path, exc) from None
            self.con.execute("""
CREATE OR REPLACE TABLE ok AS SELECT rid, uid, raw, akey(raw) AS k FROM (
  SELECT rowid AS rid, id AS uid, unnest(string_split(emails, chr(31))) AS raw FROM pu WHERE multi)
WHERE raw <> ''""")
            self._non_ascii = set(self._fill_keys("pu", [("user_name", "un_k"), ("e1", "e1_k")]))
            self._non_ascii.update(self._fill_keys("ok", [("raw", "k")]))
            self.users = int(self.con.execute("SELECT count(*) FROM pu").fetchone()[0])
        token.progress(self.users, self.users, f"Loaded {self.users:,} platform users")
        return self.users

    def load_entra_export(self, path: Path | str, token: ProgressToken | None = None) -> EntraLoad:
        """The customer's Entra "Download users" CSV (see ``sources`` for the tolerated shapes)."""
        token = token or NoProgress()
        path = Path(path)
        layout = sniff_entra_export(path)
        source = utf8_source(path, layout, self.dir)
        columns = {f"c{i}": "VARCHAR" for i in range(layout.columns)}

        picked = ", ".join(
            (f"nullif({_trimmed(f'c{layout.index[name]}')}, '')" if name in layout.index else "NULL::VARCHAR")
            + f" AS {name}" for name in ("object_id", "upn", "mail", "display_name", "enabled"))
        off = "('true', 'yes', '1')" if layout.blocked_column else "('false', 'no', '0')"
        with self.lock, self._watched(token):
            token.progress(0, 0, "Loading the Entra users export…")
            try:
                self.con.execute(f"""
CREATE OR REPLACE TABLE e AS
SELECT coalesce(object_id, 'row:' || coalesce(lower(upn), '')) AS object_id, upn, akey(upn) AS upn_k,
       mail, CASE WHEN mail = upn THEN akey(upn) ELSE akey(mail) END AS mail_k,
       coalesce(display_name, '') AS display_name,
       coalesce(lower(enabled) NOT IN {off}, TRUE) AS enabled
FROM (SELECT {picked} FROM read_csv(?, columns={columns!r}, header=false, skip={1 + layout.skip},
                                    auto_detect=false, delim=?,
                                    quote='"', escape='"'))
""", [str(source), layout.delimiter])
            except duckdb.InvalidInputException as exc:
                raise _csv_error("Entra users export", path, exc) from None
            skipped = int(self.con.execute("SELECT count(*) FROM e WHERE upn IS NULL").fetchone()[0])
            self.con.execute("DELETE FROM e WHERE upn IS NULL")
            self._fill_keys("e", [("upn", "upn_k"), ("mail", "mail_k")])
            self.entra_rows = int(self.con.execute("SELECT count(*) FROM e").fetchone()[0])
        note = text_input.warning(path.name, layout.encoding)  # the log importer's words for it
        warnings: tuple[str, ...] = (note,) if note else ()
        if skipped:
            warnings += (f"{skipped:,} row(s) without a userPrincipalName were skipped ({path.name}).",)
        self.warnings.extend(warnings)
        token.progress(self.entra_rows, self.entra_rows, f"Loaded {self.entra_rows:,} Entra users")
        return EntraLoad(self.entra_rows, skipped, warnings)

    def load_log_evidence(self, dataset: Any, token: ProgressToken | None = None) -> int:
        """The conflict-type events of an imported provisioning-log dataset (``logstore.Dataset``)."""
        token = token or NoProgress()
        token.progress(0, 0, f"Reading conflicts from {getattr(dataset, 'name', 'the logs')}…")
        with dataset.lock:
            codes = [r[0] for r in dataset.con.execute(
                "SELECT DISTINCT error_code FROM events WHERE error_code IS NOT NULL").fetchall()]
            related = [c for c in codes if explain(c).duplicate_related or c.lower().endswith(WANT_CODES)]
            marks = ", ".join("?" for _ in related) or "NULL"
            rows = dataset.con.execute(
                "SELECT seq, CAST(time AS VARCHAR), error_code, http_status, error_reason, source_id, "
                f"source_upn, target_id, raw FROM events WHERE error_code IN ({marks}) OR http_status = 409 "
                "OR (error_code IS NOT NULL AND contains(error_reason, '409'))", related).fetchall()
        out = [r for r in (_event_row(row) for row in rows) if r is not None]
        with self.lock:
            self._rows_table("ev", _EV_COLUMNS, out)
            self.log_events = len(out)
            self.log_source = str(getattr(dataset, "name", "") or getattr(dataset, "id", ""))
        token.progress(len(out), len(out), f"{len(out):,} conflict events")
        return len(out)

    # ---- analysis
    def analyze(self, token: ProgressToken | None = None) -> AnalysisSummary:
        token = token or NoProgress()
        started = time.perf_counter()
        kept, ascii_side = lookalike_keys(sorted(self._non_ascii))
        with self.lock:
            for table, rows in (("lka", kept), ("lkq", ascii_side)):
                self._rows_table(table, {"k": "VARCHAR", "skel": "VARCHAR"}, rows)
        steps = [*A.PLATFORM_STEPS, A.LOOKALIKE_STEP, *A.ENTRA_STEPS, *A.WANTS_STEPS, A.STALE_STEP,
                 A.HYGIENE_STEP, A.TWIN_STEP, *A.ASSEMBLE_STEPS,
                 A.LOG_EVIDENCE_STEP if self.log_events else A.NO_LOG_EVIDENCE_STEP,
                 A.ABSENT_STEP if self.entra_rows else A.NO_ABSENT_STEP]
        with self.lock, self._watched(token):
            self.timings = []
            for i, (label, sql) in enumerate(steps):
                if token.cancelled():
                    raise Cancelled()
                token.progress(i, len(steps), f"Analysing: {label}")
                for statement in (s for s in sql.split(";\n") if s.strip()):
                    t = time.perf_counter()
                    self.con.execute(statement)
                    self.timings.append((label + ": " + " ".join(statement.split())[:60],
                                         time.perf_counter() - t))
            counts = dict(self.con.execute("SELECT cls, count(*) FROM findings GROUP BY cls").fetchall())
            total = int(sum(counts.values()))
            self.table = FindingsTable(self.con, self.lock)
        token.progress(len(steps), len(steps), f"{total:,} findings")
        self.summary = AnalysisSummary(
            org_id=self.org_id, users=self.users, entra_rows=self.entra_rows, log_events=self.log_events,
            findings=total, counts={str(c): int(counts.get(str(c), 0)) for c in FindingClass},
            seconds=time.perf_counter() - started, warnings=tuple(self.warnings))
        return self.summary

    # ---- results as domain objects
    def finding(self, fid: str) -> Finding | None:
        found = self._findings("f.fid = ?", [fid], with_logs=True)
        return found[0] if found else None

    def findings(self, ids: Iterable[str] | None = None, cls: str | Iterable[str] | None = None,
                 text: str | None = None, confidence: str | Iterable[str] | None = None) -> list[Finding]:
        """Findings (without their log events; :meth:`finding` has them), most specific class first."""
        where, params = _where(ids, cls, text, confidence)
        if text and text.strip():
            with self.lock:
                self.con.execute(A.SEARCH_DDL)
        return self._findings(where, params, with_logs=False)

    def plan(self, ids: Iterable[str] | None = None, cls: str | Iterable[str] | None = None,
             text: str | None = None, confidence: str | Iterable[str] | None = None) -> Plan:
        """A dry run: the exact steps that would fix these findings (all when no filter). Findings
        that are not certain get steps only when chosen: by ``ids`` or by a ``confidence`` filter."""
        return build_plan(self.org_id, self.findings(ids, cls, text, confidence),
                          uncertain=ids is not None or bool(confidence))

    def _findings(self, where: str, params: list[Any], *, with_logs: bool) -> list[Finding]:
        if self.table is None:
            raise RuntimeError("analyze() first")
        acc_cols = ("id", "user_name", "emails", "active", "created_via", "version", "display_name",
                    "scim_id", "external_id", "idp_link", "merged_into_id", "work_areas", "last_login_at",
                    "created_at")
        with self.lock:  # the filter is evaluated once: into ``fsel``, which everything else joins
            self.con.execute("CREATE OR REPLACE TEMP TABLE fsel AS "
                             "SELECT f.fid, f.sig, f.object_id, f.cls, f.key_kind, f.value, f.detail, "
                             f"f.log_events, f.rank, f.confidence FROM findings f WHERE {where}", params)
            base = self.con.execute(
                "SELECT fid, cls, key_kind, value, detail, object_id, log_events, confidence FROM fsel "
                "ORDER BY rank, fid").fetchall()
            if not base:
                return []
            members = self.con.execute(
                f"SELECT m.fid, {', '.join('p.' + c for c in acc_cols)} FROM fmembers m "
                "SEMI JOIN fsel USING (fid) JOIN pu p ON p.rowid = m.rid "
                f"ORDER BY m.fid, {A.member_order('m')}").fetchall()
            evidence = self.con.execute(  # the candidates' keys, collected per set of accounts (``sig``)
                "SELECT DISTINCT s.fid, c.uid, c.key_kind, c.value FROM cev c JOIN fsel s USING (sig) "
                "ORDER BY s.fid, c.uid, c.key_kind, c.value").fetchall()
            twin = self.con.execute(  # a likely twin's signals (only name-matched findings have them)
                "SELECT s.fid, t.uid, t.signal, t.value FROM tev t JOIN fsel s USING (sig) "
                "WHERE s.detail = 'name_match' ORDER BY s.fid, t.signal, t.uid").fetchall()
            entra = self.con.execute(
                "SELECT DISTINCT e.object_id, e.upn, e.mail, e.enabled, e.display_name FROM e "
                "WHERE e.object_id IN (SELECT object_id FROM fsel WHERE object_id IS NOT NULL)").fetchall()
            absent = self.con.execute(
                "SELECT a.fid, a.obj FROM fabsent a SEMI JOIN fsel USING (fid)").fetchall()
            logs = self.con.execute(
                "SELECT l.fid, ev.seq, ev.time, ev.error_code, ev.http_status, ev.reason, ev.upn FROM flog l "
                "SEMI JOIN fsel USING (fid) JOIN ev USING (seq) ORDER BY l.fid, ev.time, ev.seq").fetchall() \
                if with_logs else []
        accounts: dict[str, list[Account]] = defaultdict(list)
        for row in members:
            d = dict(zip(acc_cols, row[1:], strict=True))
            d["emails"] = tuple(v for v in (d["emails"] or "").split(LIST_SEPARATOR) if v)
            accounts[row[0]].append(Account(**d))
        ev_by: dict[str, list[Evidence]] = defaultdict(list)
        lookalike = {fid for fid, cls, *_rest in base if cls == FindingClass.LOOKALIKE}
        for fid, uid, kind, value in evidence:
            ev_by[fid].append(Evidence("key", kind, value or "", user_id=uid))
            shown = unusual_characters(value or "") if fid in lookalike else []
            if shown:
                ev_by[fid].append(Evidence("lookalike", "characters", f"{value}: {'; '.join(shown)}",
                                           user_id=uid))
        for fid, uid, signal, value in twin:
            ev_by[fid].append(Evidence("twin", signal, value or "", user_id=uid))
        records = {r[0]: EntraRecord(r[0], r[1] or "", r[2] or "", bool(r[3]), r[4] or "") for r in entra}
        absent_by: dict[str, set[str]] = defaultdict(set)
        for fid, obj in absent:
            absent_by[fid].add(obj)
        log_by: dict[str, list[Evidence]] = defaultdict(list)
        for fid, seq, ts, code, http, reason, upn in logs:
            if len(log_by[fid]) < MAX_LOG_EVIDENCE:
                log_by[fid].append(Evidence("log", code or (f"HTTP {http}" if http else "?"), upn or "",
                                            detail=(reason or "")[:500], event_seq=int(seq), time=ts))
        out = []
        for fid, cls, key_kind, value, detail, obj, n_logs, confidence in base:
            rec = records.get(obj) if obj else None
            extra = [Evidence("entra", attr, v) for attr, v in
                     (("userPrincipalName", rec.upn), ("mail", rec.mail)) if v] if rec else []
            out.append(Finding(
                id=fid, cls=FindingClass(cls), key=key_kind, value=value or "", accounts=tuple(accounts[fid]),
                detail=detail or "", entra=rec, evidence=tuple([*ev_by[fid], *extra, *log_by[fid]]),
                absent_objects=frozenset(absent_by[fid]), log_events=int(n_logs or 0),
                confidence=confidence or CERTAIN))
        return out


def _trimmed(col: str) -> str:
    """SQL: ``trim(col)``, paid only by the rare value that has a space at an end."""
    return f"CASE WHEN starts_with({col}, ' ') OR ends_with({col}, ' ') THEN trim({col}) ELSE {col} END"


def _where(ids: Iterable[str] | None, cls: str | Iterable[str] | None,
           text: str | None, confidence: str | Iterable[str] | None = None) -> tuple[str, list[Any]]:
    parts, params = filter_sql(cls, text, alias="f.", confidence=confidence)
    if ids is not None:
        ids = list(ids)
        parts.append(f"f.fid IN ({', '.join('?' for _ in ids) or 'NULL'})")
        params.extend(ids)
    return " AND ".join(parts or ["TRUE"]), params


def _event_row(row: Sequence[Any]) -> list[Any] | None:
    """One log event as an ``ev`` row (keys folded here: these are few), or None if unrelated."""
    seq, ts, code, http, reason, source_id, source_upn, target_id, raw = row
    parsed = parse_error_text(reason) if reason else None
    status = http or (parsed.http_status if parsed else None)
    if not (code and explain(code).duplicate_related) and status != 409 \
            and not (code and code.lower().endswith(WANT_CODES)):
        return None
    try:
        extra = json.loads(raw) if raw else {}
    except ValueError:
        extra = {}
    platform_record = isinstance(extra, dict) and bool(extra.get("method"))
    obj = (extra.get("external_id") if platform_record else source_id) or None
    uid_hint = source_id if platform_record else None
    mails = emails_in(reason)
    wants = status == 409 or bool(code and code.lower().endswith(WANT_CODES))
    upn_k = (identity_key(source_upn) or None) if source_upn else None
    return [seq, ts, code, status, (reason or "")[:2000], obj, uid_hint, target_id or None,
            source_upn or None, upn_k, LIST_SEPARATOR.join(mails),
            LIST_SEPARATOR.join(identity_key(m) for m in mails), wants]


def _csv_error(what: str, path: Path, exc: duckdb.Error) -> InputError:
    text = str(exc)
    line = re.search(r"CSV Error on Line: (\d+)", text)
    columns = re.search(r"Expected Number of Columns: (\d+) Found: (\d+)", text)
    reason = "the file is not valid CSV"  # never quote DuckDB's copy of the line: it is customer data
    if columns:
        reason = f"a row has {columns.group(2)} fields where the header has {columns.group(1)}"
    elif "not utf-8 encoded" in text or "Invalid unicode" in text:
        reason = "the file is not UTF-8 text (save it as “CSV UTF-8”)"
    elif "quote" in text.lower():
        reason = "a quoted field is not closed"
    where = f"{path}, line {line.group(1)}" if line else str(path)
    return InputError(f"Cannot read the {what}: {reason}.", where=where)
