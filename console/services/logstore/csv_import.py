"""The Entra portal's CSV download: three files joined on the change id (entra-facts §2.3).

``ProvisioningLogs`` holds everything except the steps and the modified properties, which are in
``…_ProvisioningSteps`` and ``…_ModifiedProperties`` with the change id. Microsoft does not publish
the column headers, so headers are matched case-, space- and punctuation-insensitively against the
names seen in the portal, the Graph resource and the Log Analytics table (``_FIELDS``); columns we
do not know are kept in the event's details, never dropped.

DuckDB reads each file with the header row parsed here (its sniffer refuses slightly irregular
files) and ``store_rejects``: a malformed row (a truncated last line, a stray quote) is skipped and
reported with its row number while every other row is kept (``strict_mode=false`` only relaxes line
endings and stray quotes, which Excel re-saves produce). A file that is not UTF-8 is re-encoded from
Windows-1252 first (desktop-stack §6.4).
"""

from __future__ import annotations

import codecs
import csv
import io
import re
import tempfile
from collections.abc import Iterable
from pathlib import Path

import duckdb

from console.core import dates, text_input
from console.core.text_input import TextEncoding, UndecodableText, detect, split_header
from console.services import text_files
from console.services.logstore import sql
from console.services.logstore.errors import LogImportError, NotALogError
from console.services.logstore.importer import (
    CancelCheck,
    ImportReport,
    Progress,
    count_file,
    max_seq,
    run_watched,
    settle_file,
    transaction,
)
from console.services.logstore.sources import CsvSet

MAX_FIELD = 64 << 20
_HEAD_BYTES = 256 * 1024


def norm(header: str) -> str:
    """``"Date (UTC)"`` → ``"dateutc"``; ``"Job ID"``/``"jobId"``/``"job_id"`` → ``"jobid"``."""
    return re.sub(r"[^a-z0-9]", "", header.lower())


_FIELDS: dict[str, dict[str, tuple[str, ...]]] = {
    "main": {
        "event_id": ("id", "activityid", "eventid", "logid", "requestid"),
        "time": (
            "dateutc",
            "date",
            "activitydatetime",
            "datetime",
            "datetimeutc",
            "timegenerated",
            "time",
            "timestamp",
            "activitydate",
            "timeutc",
        ),
        "job_id": ("jobid", "job"),
        "cycle_id": ("cycleid", "cycle"),
        "change_id": ("changeid",),
        "action": ("action", "provisioningaction", "activity", "operationname"),
        "status": (
            "status",
            "provisioningstatus",
            "resulttype",
            "provisioningstatusinfostatus",
            "result",
            "statusinfostatus",
        ),
        "error_code": (
            "errorcode",
            "resultsignature",
            "statusinfoerrorcode",
            "errorinformationerrorcode",
            "provisioningstatusinfoerrorcode",
        ),
        "error_reason": (
            "errorreason",
            "reason",
            "failurereason",
            "resultdescription",
            "errordescription",
            "statusreason",
            "errormessage",
            "errorinformationreason",
            "errordetails",
            "statusinfo",
            "provisioningstatusinfo",
        ),
        "error_category": ("errorcategory",),
        "recommended_action": ("recommendedaction", "recommendation"),
        "source_id": ("sourceid", "sourceidentityid", "sourceobjectid"),
        "source_name": (
            "sourceidentity",
            "sourcedisplayname",
            "sourceidentitydisplayname",
            "sourcename",
            "sourceidentityname",
        ),
        "source_upn": (
            "userprincipalname",
            "upn",
            "sourceupn",
            "sourceidentityuserprincipalname",
            "sourceuserprincipalname",
        ),
        "source_type": ("sourceidentitytype", "identitytype", "sourcetype"),
        "target_id": ("targetid", "targetidentityid", "targetobjectid"),
        "target_name": ("targetidentity", "targetdisplayname", "targetidentitydisplayname", "targetname"),
        "duration_ms": ("durationms", "duration", "durationinmilliseconds", "durationmilliseconds"),
        "initiator": ("initiatedby", "initiatedbydisplayname", "initiator"),
        "initiator_type": ("initiatortype", "initiatedbytype", "initiatingtype", "initiatedbyinitiatortype"),
        "service_principal": (
            "serviceprincipal",
            "serviceprincipalname",
            "serviceprincipaldisplayname",
            "application",
            "applicationname",
            "app",
        ),
        "tenant_id": ("tenantid", "aadtenantid"),
        "source_system": ("sourcesystem", "sourcesystemname", "sourcesystemdisplayname"),
        "target_system": ("targetsystem", "targetsystemname", "targetsystemdisplayname"),
    },
    "steps": {
        "change_id": ("changeid",),
        "step_no": ("stepnumber", "step", "stepno", "order", "sequence", "stepindex", "index", "no"),
        "name": ("name", "stepname", "provisioningstepname", "event"),
        "step_type": ("type", "steptype", "provisioningsteptype"),
        "status": ("status", "stepstatus", "result"),
        "description": ("description", "stepdescription", "message"),
        "details": ("details", "stepdetails", "detail"),
    },
    "mods": {
        "change_id": ("changeid",),
        "attribute": (
            "displayname",
            "name",
            "property",
            "propertyname",
            "attribute",
            "attributename",
            "modifiedproperty",
            "targetattribute",
        ),
        "old": ("oldvalue", "old", "previousvalue", "before", "from"),
        "new": ("newvalue", "new", "currentvalue", "after", "to", "value"),
    },
}


def match_headers(headers: list[str], role: str) -> dict[str, int]:
    """Field → column index for one file's headers (first matching header wins)."""
    found: dict[str, int] = {}
    normed = [norm(h) for h in headers]
    # Log Analytics suffixes time columns with " [UTC]": "TimeGenerated [UTC]" is TimeGenerated.
    bare = [n.removesuffix("utc") if n.endswith("utc") and len(n) > 3 else n for n in normed]
    for fld, names in _FIELDS[role].items():
        for name in names:
            for cols in (normed, bare):
                if name in cols and cols.index(name) not in found.values():
                    found[fld] = cols.index(name)
                    break
            if fld in found:
                break
    return found


def _role_from_name(name: str) -> str | None:
    n = norm(name)
    if "provisioningsteps" in n or n.endswith("steps"):
        return "steps"
    if "modifiedproperties" in n or n.endswith("properties"):
        return "mods"
    if "provisioninglogs" in n or "provisioninglog" in n:
        return "main"
    return None


def _role_from_headers(headers: list[str]) -> str | None:
    steps, mods, main = (match_headers(headers, r) for r in ("steps", "mods", "main"))
    if "change_id" in mods and ("old" in mods or "new" in mods) and "status" not in main:
        return "mods"
    if "change_id" in steps and ("step_type" in steps or "description" in steps) and "time" not in main:
        return "steps"
    known = {"event_id", "time", "status", "action", "job_id", "change_id", "error_code", "source_name"}
    return "main" if len(known & set(main)) >= 2 else None


def read_header(path: Path) -> tuple[list[str], str, TextEncoding, int]:
    """(headers, delimiter, encoding, lines before the header) by the shared policy (``core.text_input``)."""
    try:
        enc = text_files.detect_file(path, validate=True)
    except UndecodableText as exc:
        raise LogImportError(exc.message, file=path.name, position=exc.position) from None
    head = text_files.head(path, _HEAD_BYTES)
    text = codecs.getincrementaldecoder(enc.codec)(errors="replace").decode(head).lstrip("\ufeff")
    first, delimiter, skip = split_header(text)
    headers = next(csv.reader(io.StringIO(first), delimiter=delimiter), [])
    return [h.strip() for h in headers], delimiter, enc, skip


def is_log_analytics(headers: list[str]) -> bool:
    """The Log Analytics/Sentinel ``AADProvisioningLogs`` export: steps and modified properties are
    JSON columns of the one file (the portal's main file has neither), times are ``… [UTC]``."""
    normed = {norm(h) for h in headers}
    # Columns only the Log Analytics table has (also in a "displayed columns" export of a few of them).
    only_la = {"provisioningsteps", "modifiedproperties", "timegenerated", "timegeneratedutc", "aadtenantid"}
    return bool(only_la & normed)


def csv_role(path: Path, name: str) -> str | None:
    """``main``/``steps``/``mods`` for a CSV of the Entra download, ``None`` for a non-CSV file.

    A ``.csv`` whose headers are not recognised still counts as CSV (``main``), so the import says
    what is wrong with it instead of calling it broken JSON."""
    lead = text_files.head(path, 64)
    if lead[:2] == b"PK":
        return None
    try:
        enc = detect(text_files.head(path, 4096))
    except UndecodableText:
        return None
    text = codecs.getincrementaldecoder(enc.codec)(errors="replace").decode(text_files.head(path, 4096))
    if text.lstrip("\ufeff \t\r\n")[:1] in ("[", "{", ""):
        return None
    try:
        headers = read_header(path)[0]
    except LogImportError:
        return None
    role = _role_from_headers(headers)
    if role is None and not name.lower().endswith((".csv", ".tsv", ".txt")):
        return None
    if is_log_analytics(headers):
        return "main"
    return _role_from_name(name) or role or "main"


def group_sets(files: Iterable[tuple[Path, str, str]]) -> list[CsvSet]:
    """Group (path, name, role) into downloads: each steps/properties file joins the main file whose
    name shares the longest prefix with it (one download is the usual case)."""
    files = list(files)
    sets = [CsvSet(main=p, names={p: n}) for p, n, role in files if role == "main"]
    for p, n, role in files:
        if role == "main":
            continue
        if not sets:
            sets.append(CsvSet())
        best = max(sets, key=lambda s: _common_prefix(s.name(s.main) if s.main else "", n))
        (best.steps if role == "steps" else best.mods).append(p)
        best.names[p] = n
    return sets


def _common_prefix(a: str, b: str) -> int:
    n = 0
    for x, y in zip(norm(a), norm(b), strict=False):
        if x != y:
            break
        n += 1
    return n


class _Reader:
    """Loads one CSV into a temp table ``t_<role>`` of VARCHAR columns ``c0…`` plus ``_ord``."""

    def __init__(self, con: duckdb.DuckDBPyConnection, tmp: Path, warnings: list[str], progress: Progress,
                 cancelled: CancelCheck) -> None:
        self.con, self.tmp, self.warnings = con, tmp, warnings
        self.progress, self.cancelled = progress, cancelled
        self.tables: list[str] = []
        self.guessed: dict[TextEncoding, list[str]] = {}

    def notes(self) -> list[str]:
        """The encoding warnings of the files read, one per encoding naming its files."""
        return [n for enc, names in self.guessed.items() if (n := text_input.warning(", ".join(names), enc))]

    def drop(self) -> None:
        for table in self.tables:
            self.con.execute(f"DROP TABLE IF EXISTS {table}")
        self.con.execute("DROP TABLE IF EXISTS rej_scan; DROP TABLE IF EXISTS rej_err")

    def load(self, path: Path, name: str, role: str, table: str) -> tuple[list[str], dict[str, int]]:
        headers, delimiter, encoding, skip = read_header(path)
        if not headers or not any(headers):
            raise NotALogError("The CSV file has no header row.", file=name, position="line 1")
        fields = match_headers(headers, role)
        source = path
        if not encoding.utf8:
            try:
                source = text_files.utf8_copy(path, encoding, self.tmp / f"{table}.utf8.csv", self.cancelled)
            except UndecodableText as exc:
                raise LogImportError(exc.message, file=name, position=exc.position,
                                     hint="Save the file again from Excel as “CSV UTF-8”.") from None
            if encoding.guessed:  # one warning per encoding for the whole download (see ``notes``)
                self.guessed.setdefault(encoding, []).append(name)
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(len(headers))) + "}"
        self.tables.append(table)
        self.con.execute("DROP TABLE IF EXISTS rej_scan; DROP TABLE IF EXISTS rej_err")
        try:
            run_watched(
                self.con,
                f"CREATE OR REPLACE TEMP TABLE {table} AS SELECT row_number() OVER () AS _ord, * "
                f"FROM read_csv(?, columns={columns}, header=false, skip={1 + skip}, auto_detect=false, "
                "delim=?, "
                "quote='\"', escape='\"', strict_mode=false, "
                f"max_line_size={MAX_FIELD}, store_rejects=true, rejects_scan='rej_scan', "
                "rejects_table='rej_err')",
                [str(source), delimiter], self.progress, self.cancelled, f"Reading {name}",
            )
        except duckdb.Error as exc:
            raise LogImportError(
                f"The CSV file could not be read: {str(exc).splitlines()[0][:200]}", file=name
            ) from None
        rejected = self.con.execute(
            "SELECT count(*), min(line), any_value(error_message ORDER BY line) FROM rej_err"
        ).fetchone()
        if rejected[0]:
            self.warnings.append(
                f"{name}, row {int(rejected[1]) - 1 - skip:,} after the header: {rejected[2]} Skipped "
                f"{rejected[0]:,} malformed row(s); kept every other row."
            )
        return headers, fields


def _col(fields: dict[str, int], name: str, alias: str = "") -> str:
    ref = f"{alias}.c{fields[name]}" if name in fields else "NULL"
    # Cells are trimmed of blanks and line breaks (Excel leaves '\r' behind); a blank cell is missing.
    return f"nullif(trim({ref}, ' \t\r\n'), '')" if name in fields else "NULL::VARCHAR"


def _json_or_text(expr: str) -> str:
    return (
        f"CASE WHEN json_valid({expr}) AND left(ltrim({expr}), 1) IN ('{{', '[') THEN {expr}::JSON "
        f"ELSE to_json({expr}) END"
    )


def _time(expr: str, order: str, fmts: list[str] | None = None) -> str:
    """ISO 8601 by cast, else the locale forms of ``order`` (``core.dates.formats``, in ``fmts``' order)
    after dropping the ``, `` between date and time and a trailing ``UTC`` (plain string functions:
    a regexp per row costed 5x the parse)."""
    formats = "[" + ", ".join(f"'{f}'" for f in (fmts or dates.formats(order))) + "]"
    cleaned = (
        f"replace(CASE WHEN upper({expr}) LIKE '%(UTC)' THEN rtrim(left({expr}, length({expr}) - 5)) "
        f"WHEN upper({expr}) LIKE '%UTC' THEN rtrim(left({expr}, length({expr}) - 3)) ELSE {expr} END, "
        "', ', ' ')"
    )
    return f"coalesce(try_cast({expr} AS TIMESTAMPTZ), try_strptime({cleaned}, {formats})::TIMESTAMPTZ)"


def decide_time_order(
    con: duckdb.DuckDBPyConnection, table: str, expr: str, column: str, file: str, forced: str | None,
    report: ImportReport,
) -> tuple[str, list[str]]:
    """The column's day/month order from all its values (``core.dates.decide_order``); warns when the
    default had to pick, and records the choice so the user can re-import with the other order."""
    # One full value per distinct (day/month part, 12-hour clock) shape: at most a few thousand rows.
    shapes = [
        r[0]
        for r in con.execute(
            "SELECT any_value(v) FROM (SELECT v, "
            "regexp_extract(trim(v), '^\\d{1,2}[/.-]\\d{1,2}[/.-]', 0) AS k, "
            "regexp_matches(v, '(?i)[ap]\\.?m\\.?\\s*$') AS pm "
            f"FROM (SELECT {expr} AS v FROM {table} m) WHERE v IS NOT NULL) GROUP BY k, pm"
        ).fetchall()
    ]
    decision = dates.decide_order(shapes, forced)
    report.date_orders.append(
        {"file": file, "column": column, "order": decision.order, "settled": decision.settled}
    )
    note = dates.ambiguity_warning(file, column, decision)
    if note:
        report.warnings.append(note)
    return decision.order, dates.formats_by_use(shapes, decision.order)


def _unreadable_times(
    con: duckdb.DuckDBPyConnection, raw: str, parsed: str, column: str, file: str, report: ImportReport
) -> None:
    n, first, example = con.execute(
        f"SELECT count(*), min(m._ord), any_value({raw} ORDER BY m._ord) FROM t_main m "
        f"WHERE {raw} IS NOT NULL AND {parsed} IS NULL"
    ).fetchone()
    if n:
        report.warnings.append(
            f"{file}, column '{column}', row {int(first):,} after the header: {n:,} time(s) could not be "
            f"read (e.g. '{example}'); those events have no time. Check the column's format, or import "
            "again with the other --date-order."
        )


def import_csv_set(
    con: duckdb.DuckDBPyConnection,
    files: CsvSet,
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
    date_order: str | None = None,
) -> None:
    """Import one CSV download (main file + optional steps/properties files) into the dataset."""
    if files.main is None:
        names = ", ".join(files.name(p) for p in files.steps + files.mods)
        raise NotALogError(
            "This is the steps or modified-properties file of an Entra CSV download; choose it together "
            "with the ProvisioningLogs file of the same download.",
            file=names,
        )
    main_name = files.name(files.main)
    progress(-1.0, f"Importing {main_name}")
    with tempfile.TemporaryDirectory(prefix="logstore-csv-") as tmp:
        if is_log_analytics(read_header(files.main)[0]):
            from console.services.logstore.log_analytics import import_la_csv

            import_la_csv(con, files.main, main_name, Path(tmp), report, progress, cancelled, date_order)
            extra = files.steps + files.mods
            if extra:
                report.warnings.append(
                    f"{main_name}: a Log Analytics export carries its own steps and modified properties; "
                    f"ignored {', '.join(files.name(p) for p in extra)}."
                )
            return
        rd = _Reader(con, Path(tmp), report.warnings, progress, cancelled)
        start = len(report.warnings)
        try:
            added = _import(con, rd, files, main_name, report, progress, cancelled, date_order)
        finally:
            rd.drop()
        report.warnings[start:start] = rd.notes()
    settle_file(con, main_name, added, report, "blank row(s)", unit="row")
    report.files.extend([main_name, *(files.name(p) for p in files.steps + files.mods)])


def _import(
    con: duckdb.DuckDBPyConnection,
    rd: _Reader,
    files: CsvSet,
    main_name: str,
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
    date_order: str | None,
) -> int:
    from console.core.errors import Cancelled

    assert files.main is not None
    headers, main = rd.load(files.main, main_name, "main", "t_main")
    if not ({"event_id", "time", "status", "change_id"} & set(main)):
        raise NotALogError(
            "Not a provisioning log: the CSV header has none of the columns of an Entra provisioning-log "
            "download (Id, Date, Status, Change ID…).",
            file=main_name,
            position="line 1",
        )
    if cancelled():
        raise Cancelled()
    steps_sql = _aggregate(rd, files, files.steps, "steps")
    mods_sql = _aggregate(rd, files, files.mods, "mods")
    missing = [
        (f, what)
        for f, what, got in (
            ("…_ProvisioningSteps.csv", "steps", files.steps),
            ("…_ModifiedProperties.csv", "modified properties", files.mods),
        )
        if not got
    ]
    if missing:
        report.warnings.append(
            f"{main_name}: imported without the {' and '.join(f for f, _ in missing)} file of the same "
            f"download, so {' and '.join(w for _, w in missing)} are not shown."
        )
    unknown = [i for i in range(len(headers)) if i not in main.values() and headers[i]]
    extra = ", ".join(f"'{headers[i].replace(chr(39), chr(39) * 2)}', m.c{i}" for i in unknown)
    m = lambda f: _col(main, f, "m")  # noqa: E731 - a local shorthand for the long SELECT below
    order, fmts = dates.MDY, dates.formats(dates.MDY)
    if "time" in main:
        column = headers[main["time"]]
        order, fmts = decide_time_order(con, "t_main", m("time"), column, main_name, date_order, report)
        _unreadable_times(con, m("time"), _time(m("time"), order, fmts), column, main_name, report)
    select = f"""
SELECT ?::BIGINT + row_number() OVER () AS seq, {m("event_id")} AS event_id,
  {_time(m("time"), order, fmts)} AS time,
  nullif(lower(split_part({m("action")}, ' ', 1)), '') AS action, lower({m("status")}) AS status,
  {m("error_code")} AS error_code, {m("error_reason")} AS error_reason, {m("source_id")} AS source_id,
  {m("source_upn")} AS source_upn, {m("source_name")} AS source_name, {m("target_id")} AS target_id,
  {m("job_id")} AS job_id, {m("cycle_id")} AS cycle_id, {m("change_id")} AS change_id,
  try_cast(replace({m("duration_ms")}, ',', '') AS DOUBLE) AS duration_ms, NULL::INTEGER AS http_status,
  CAST(m._mods AS VARCHAR) AS modified_properties, ? AS source_file, CAST(m._steps AS VARCHAR) AS steps,
  {m("initiator_type")} AS initiator_type, {m("service_principal")} AS service_principal,
  CAST(json_object('tenantId', {m("tenant_id")},
    'statusInfo', json_object('status', {m("status")}, 'errorInformation', json_object('errorCode',
    {m("error_code")}, 'reason', {m("error_reason")}, 'errorCategory', {m("error_category")},
    'recommendedAction', {m("recommended_action")})),
    'initiatedBy', json_object('displayName', {m("initiator")}, 'initiatorType', {m("initiator_type")}),
    'servicePrincipal', json_object('displayName', {m("service_principal")}),
    'sourceIdentity', json_object('id', {m("source_id")}, 'displayName', {m("source_name")},
    'identityType', {m("source_type")}, 'details', json_object('UserPrincipalName', {m("source_upn")})),
    'targetIdentity', json_object('id', {m("target_id")}, 'displayName', {m("target_name")}),
    'sourceSystem', json_object('displayName', {m("source_system")}),
    'targetSystem', json_object('displayName', {m("target_system")}),
    'method', NULL, 'path', NULL, 'op_summary', NULL, 'external_id', NULL,
    'csv', {f"json_object({extra})" if extra else "NULL"}) AS VARCHAR) AS raw
FROM (SELECT m.*, st.steps AS _steps, mo.mods AS _mods FROM t_main m
      LEFT JOIN ({steps_sql}) st ON st.k = {m("change_id")}
      LEFT JOIN ({mods_sql}) mo ON mo.k = {m("change_id")} ORDER BY m._ord) m
"""
    before, base = count_file(con, main_name), max_seq(con)
    label = f"Importing {main_name}"

    def insert() -> None:
        run_watched(con, sql.tolerant_insert(select, ""), [base, main_name], progress, cancelled, label)
        run_watched(con, sql.search_insert(), [base, max_seq(con)], progress, cancelled, label)

    transaction(con, insert)
    for label, part in (("step", steps_sql), ("modified-property", mods_sql)):
        orphans = int(
            con.execute(
                f"SELECT count(*) FROM ({part}) p WHERE k NOT IN "
                "(SELECT change_id FROM log_events WHERE source_file = ? AND change_id IS NOT NULL)",
                [main_name],
            ).fetchone()[0]
        )
        if orphans:
            report.warnings.append(
                f"{main_name}: {orphans:,} change id(s) in the {label} file match no event in this file "
                "(a download with different filters?); their rows are not shown."
            )
    return count_file(con, main_name) - before


def _aggregate(rd: _Reader, files: CsvSet, paths: list[Path], role: str) -> str:
    """SQL of ``(k = change id, steps|mods JSON list)`` over the role's files, or an empty relation."""
    empty = (
        "SELECT NULL::VARCHAR AS k, NULL::JSON AS steps"
        if role == "steps"
        else "SELECT NULL::VARCHAR AS k, NULL::JSON AS mods"
    )
    if not paths:
        return empty
    parts = []
    for n, path in enumerate(paths):
        table = f"t_{role}{n}"
        _headers, f = rd.load(path, files.name(path), role, table)
        if "change_id" not in f:
            raise LogImportError(
                f"The {'steps' if role == 'steps' else 'modified-properties'} file has no Change ID "
                "column, so it cannot be joined to the events.",
                file=files.name(path),
                position="line 1",
            )
        c = lambda fld, f=f: _col(f, fld, "x")  # noqa: E731
        if role == "steps":
            parts.append(
                f"SELECT {c('change_id')} AS k, try_cast({c('step_no')} AS INTEGER) AS o, x._ord, "
                f"struct_pack(name := {c('name')}, provisioningStepType := lower({c('step_type')}), "
                f"status := lower({c('status')}), description := {c('description')}, "
                f"details := {_json_or_text(c('details'))}) AS v FROM {table} x"
            )
        else:
            parts.append(
                f"SELECT {c('change_id')} AS k, NULL::INTEGER AS o, x._ord, "
                f"struct_pack(displayName := {c('attribute')}, oldValue := {c('old')}, "
                f"newValue := {c('new')}) AS v FROM {table} x"
            )
    col = "steps" if role == "steps" else "mods"
    return (
        f"SELECT k, to_json(list(v ORDER BY o NULLS LAST, _ord)) AS {col} FROM ({' UNION ALL '.join(parts)}) "
        "WHERE k IS NOT NULL GROUP BY k"
    )
