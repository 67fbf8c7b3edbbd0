"""Import log files into a DuckDB ``events`` table.

Fast path: DuckDB ``read_json`` with the explicit schema of ``entra_log_schema.INPUT_COLUMNS`` and one
``INSERT … SELECT`` that resolves both name generations (performance-notes §3.1: 30× warm cat, 0.5 GB).
It runs on the caller's (worker) thread; a watcher thread reports DuckDB's progress and calls
``interrupt()`` within 100 ms of a cancel. If DuckDB rejects the file, the tolerant reader re-reads it,
keeps the valid records before the corruption and the report says where it stopped.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from console.core.entra_log_schema import INPUT_COLUMNS
from console.core.errors import Cancelled
from console.services.logstore import reader
from console.services.logstore.errors import LogImportError, NotALogError

Progress = Callable[[float, str], None]  # fraction 0..1 (or -1 unknown), text
CancelCheck = Callable[[], bool]

EVENTS_DDL = """
CREATE TABLE IF NOT EXISTS events (
    seq BIGINT, event_id VARCHAR, time TIMESTAMPTZ, action VARCHAR, status VARCHAR, error_code VARCHAR,
    error_reason VARCHAR, source_id VARCHAR, source_upn VARCHAR, source_name VARCHAR, target_id VARCHAR,
    job_id VARCHAR, cycle_id VARCHAR, change_id VARCHAR, duration_ms DOUBLE, http_status INTEGER,
    initiator_type VARCHAR, service_principal VARCHAR, modified_properties VARCHAR, steps VARCHAR,
    raw VARCHAR, source_file VARCHAR, search VARCHAR
);
CREATE TABLE IF NOT EXISTS meta (key VARCHAR PRIMARY KEY, value VARCHAR);
CREATE SEQUENCE IF NOT EXISTS event_seq START 1;
"""

_P = "(method IS NOT NULL AND provisioningSteps IS NULL)"
_INFO = "coalesce(provisioningStatusInfo, statusInfo)"
_SELECT = f"""
SELECT nextval('event_seq') AS seq,
  id AS event_id,
  try_cast(coalesce(activityDateTime, ts) AS TIMESTAMPTZ) AS time,
  nullif(lower(split_part(trim(coalesce(provisioningAction, action, op, method)), ' ', 1)), '') AS action,
  CASE WHEN {_P} THEN outcome ELSE lower({_INFO}->>'$.status') END AS status,
  CASE WHEN {_P} THEN error_code ELSE coalesce({_INFO}->>'$.errorInformation.errorCode',
       {_INFO}->>'$.errorInfo.errorCode') END AS error_code,
  CASE WHEN {_P} THEN error_detail ELSE coalesce({_INFO}->>'$.errorInformation.reason',
       {_INFO}->>'$.errorInfo.reason') END AS error_reason,
  coalesce(sourceIdentity->>'$.id', user_id) AS source_id,
  coalesce(sourceIdentity->>'$.details.UserPrincipalName', sourceIdentity->>'$.details.userPrincipalName',
           user_name) AS source_upn,
  coalesce(sourceIdentity->>'$.displayName', user_name) AS source_name,
  coalesce(targetIdentity->>'$.id', scim_id) AS target_id,
  jobId AS job_id, cycleId AS cycle_id, changeId AS change_id,
  try_cast(CAST(coalesce(durationInMilliseconds, latency_ms) AS VARCHAR) AS DOUBLE) AS duration_ms,
  CASE WHEN {_P} THEN try_cast(CAST(status AS VARCHAR) AS INTEGER) END AS http_status,
  coalesce(initiatedBy->>'$.initiatorType', initiatedBy->>'$.initiatingType') AS initiator_type,
  CASE WHEN json_type(servicePrincipal) = 'ARRAY' THEN servicePrincipal->>'$[0].displayName'
       ELSE servicePrincipal->>'$.displayName' END AS service_principal,
  CAST(modifiedProperties AS VARCHAR) AS modified_properties,
  CAST(provisioningSteps AS VARCHAR) AS steps,
  CAST(json_object('tenantId', tenantId, 'statusInfo', {_INFO}, 'initiatedBy', initiatedBy,
       'servicePrincipal', servicePrincipal, 'sourceIdentity', sourceIdentity,
       'targetIdentity', targetIdentity,
       'sourceSystem', sourceSystem, 'targetSystem', targetSystem, 'method', method, 'path', path,
       'op_summary', op_summary, 'external_id', external_id) AS VARCHAR) AS raw,
  ? AS source_file
FROM read_json(?, format={{fmt}}, columns={{cols}}, maximum_object_size=268435456)
"""
_SEARCH = (
    "lower(concat_ws(' ', source_upn, source_name, source_id, target_id, error_code, error_reason, "
    "modified_properties))"
)


@dataclass
class ImportReport:
    """What an import did: counts, warnings (with file + position), and whether it was partial."""

    records: int = 0
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "files": self.files,
            "warnings": self.warnings,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
        }


# Measured at 1 M records (tests/bench/bench_logs.py): 900 MB keeps peak RSS < 1 GB and is *faster* than
# no limit (39 s vs 43 s); 600 MB runs out of memory. Very large records get one retry with more.
IMPORT_MEMORY_LIMIT = "900MB"
RETRY_MEMORY_LIMIT = "4GB"


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone='UTC'")
    con.execute(EVENTS_DDL)


def _insert_sql(fmt: str, base: int) -> str:
    cols = "{" + ", ".join(f"'{k}': '{v}'" for k, v in INPUT_COLUMNS.items()) + "}"
    inner = _SELECT.format(base=base, fmt=f"'{fmt}'", cols=cols)
    return f"INSERT INTO events SELECT *, {_SEARCH} AS search FROM ({inner})"


def _graph_sql(base: int) -> str:
    """Graph pages: unnest ``value`` arrays into records, then the same mapping."""
    proj = ", ".join(
        (f"CAST(j->>'$.{k}' AS VARCHAR) AS \"{k}\"" if t == "VARCHAR" else f"j->'$.{k}' AS \"{k}\"")
        for k, t in INPUT_COLUMNS.items()
    )
    inner = _SELECT.format(base=base, fmt="'auto'", cols="x").split("FROM read_json")[0]
    src = (
        f"FROM (SELECT {proj} FROM (SELECT unnest(from_json(value, '[\"JSON\"]')) AS j "
        "FROM read_json(?, format='newline_delimited', columns={'value': 'JSON'}, "
        "maximum_object_size=268435456)))"
    )
    return f"INSERT INTO events SELECT *, {_SEARCH} AS search FROM ({inner} {src})"


def _run_watched(
    con: duckdb.DuckDBPyConnection,
    sql: str,
    params: list[Any],
    progress: Progress,
    cancelled: CancelCheck,
    label: str,
) -> None:
    """Execute one statement; report DuckDB's progress and interrupt on cancel (≤ 100 ms)."""
    done = threading.Event()
    was_cancelled = threading.Event()

    def watch() -> None:
        while not done.wait(0.1):
            if cancelled():
                was_cancelled.set()
                con.interrupt()
                return
            try:
                pct = float(con.query_progress())
            except (duckdb.Error, TypeError, ValueError):
                pct = -1.0
            progress(pct / 100.0 if pct >= 0 else -1.0, label)

    if cancelled():
        raise Cancelled()
    watcher = threading.Thread(target=watch, name="logstore-watch", daemon=True)
    watcher.start()
    try:
        con.execute(sql, params)
    except duckdb.InterruptException:
        raise Cancelled() from None
    except duckdb.Error:
        if was_cancelled.is_set():
            raise Cancelled() from None
        raise
    finally:
        done.set()
        watcher.join()
    if was_cancelled.is_set() or cancelled():  # a cancel during a fast statement still wins
        raise Cancelled()


def _next_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()[0])


def import_one(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
    display_name: str | None = None,
) -> None:
    """Import one (non-zip) file into ``events``; salvage with the tolerant reader on failure."""
    name = display_name or path.name
    kind = reader.sniff(path) if display_name is None else _sniff_named(path, name)
    before = _count(con)
    base = _next_seq(con)
    sql = (
        _graph_sql(base)
        if kind == reader.GRAPH
        else _insert_sql("array" if kind == reader.ARRAY else "newline_delimited", base)
    )
    for attempt in (1, 2):
        con.execute("BEGIN TRANSACTION")
        try:
            _run_watched(con, sql, [name, str(path)], progress, cancelled, f"Importing {name}")
            con.execute("COMMIT")
            break
        except Cancelled:
            con.execute("ROLLBACK")
            raise
        except duckdb.OutOfMemoryException:
            con.execute("ROLLBACK")
            if attempt == 2:
                raise LogImportError("Not enough memory to import this file.", file=name) from None
            con.execute(f"SET memory_limit='{RETRY_MEMORY_LIMIT}'")  # unusually large records
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            con.execute("ROLLBACK")  # corrupt/odd input: the tolerant reader keeps what is valid
            _salvage(con, path, kind, name, report, progress, cancelled, first_error=str(exc))
            break
        except duckdb.Error as exc:
            con.execute("ROLLBACK")
            raise LogImportError(f"The import failed: {str(exc).splitlines()[0][:300]}", file=name) from None
    added = _count(con) - before
    _check_is_log(con, name, added)
    report.records += added
    report.files.append(name)


def _sniff_named(path: Path, name: str) -> str:
    try:
        return reader.sniff(path)
    except NotALogError as exc:
        raise NotALogError(exc.message, file=name, position=exc.position) from None


def _count(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT count(*) FROM events").fetchone()[0])


def _check_is_log(con: duckdb.DuckDBPyConnection, name: str, added: int) -> None:
    if added == 0:
        return
    known = con.execute(
        "SELECT count(*) FROM events WHERE source_file = ? "
        "AND (time IS NOT NULL OR status IS NOT NULL OR event_id IS NOT NULL)",
        [name],
    ).fetchone()[0]
    if known == 0:
        con.execute("DELETE FROM events WHERE source_file = ?", [name])
        raise NotALogError(
            f"Not a provisioning log: none of the {added:,} records has an id, a time or a status.",
            file=name,
            position="record 1",
        )


def _salvage(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    name: str,
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
    first_error: str,
) -> None:
    """Re-read with the tolerant reader into normalised NDJSON, then import that with DuckDB."""
    progress(-1.0, f"Recovering valid records from {name}")
    with tempfile.TemporaryDirectory(prefix="logstore-") as tmp:
        out = Path(tmp) / "salvaged.ndjson"
        state = reader.ReadState()
        for encoding in ("utf-8-sig", "cp1252"):
            state = reader.ReadState()
            try:
                with out.open("w", encoding="utf-8") as f:
                    for rec in reader.iter_records(path, kind, state, encoding, cancelled):
                        f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
                break
            except UnicodeDecodeError as exc:
                if encoding == "cp1252":
                    raise LogImportError(
                        f"Unreadable text encoding: {exc.reason}.", file=name, position=f"byte {exc.start:,}"
                    ) from None
        if state.encoding == "cp1252":
            report.warnings.append(f"{name}: not UTF-8; read as Windows-1252 — check accented names.")
        if state.skipped:
            report.skipped += state.skipped
            report.warnings.append(f"{name}: skipped {state.skipped:,} values that are not JSON objects.")
        if state.stop is not None and state.records == 0:
            raise LogImportError(
                f"No valid records: {state.stop.message}", file=name, position=state.stop.position
            )
        if state.stop is None and state.records == 0:
            raise NotALogError(f"Not a provisioning log ({first_error.splitlines()[0][:200]}).", file=name)
        if state.stop is not None:
            report.warnings.append(
                f"{name}, {state.stop.position}: {state.stop.message} Kept the "
                f"{state.records:,} valid records before it."
            )
        base = _next_seq(con)
        con.execute("BEGIN TRANSACTION")
        try:
            _run_watched(
                con,
                _insert_sql("newline_delimited", base),
                [name, str(out)],
                progress,
                cancelled,
                f"Importing recovered records of {name}",
            )
            con.execute("COMMIT")
        except BaseException:
            con.execute("ROLLBACK")
            raise


def import_path(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    progress: Progress = lambda f, t: None,
    cancelled: CancelCheck = lambda: False,
) -> ImportReport:
    """Import a file or a zip of files into ``con`` (schema created if needed)."""
    import time

    started = time.perf_counter()
    ensure_schema(con)
    con.execute(f"SET memory_limit='{IMPORT_MEMORY_LIMIT}'")
    report = ImportReport()
    if not path.is_file():
        raise LogImportError("File not found.", file=str(path))
    if reader.is_zip(path):
        with tempfile.TemporaryDirectory(prefix="logstore-zip-") as tmp:
            members = reader.extract_zip(path, Path(tmp), cancelled)
            if not members:
                raise NotALogError("The archive is empty.", file=path.name)
            for member in members:
                import_one(
                    con, member, report, progress, cancelled, display_name=f"{path.name}:{member.name[4:]}"
                )
    else:
        import_one(con, path, report, progress, cancelled)
    report.seconds = time.perf_counter() - started
    return report
