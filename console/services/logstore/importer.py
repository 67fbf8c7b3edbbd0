"""Import log files into a dataset's tables (``logstore.sql``): DuckDB reads the files itself.

* **Big JSON arrays** (the Entra portal download) take the fast path: stage 1 is one typed
  ``read_json`` straight into ``log_events`` (the dataset is queryable when it ends); ``complete``
  then builds the search text from SQL and reads the nested details with a second scan — in the
  background in the GUI, inline in the CLI. Measured costs are in tests/bench/bench_logs.py.
* **Everything else** (NDJSON, Graph pages, small arrays, zip members, recovered records) is read
  once with the all-JSON schema into a temp table and split into the three tables.
* A typed scan that meets an unexpected type falls back to the all-JSON schema; a file DuckDB
  cannot parse at all is re-read by the tolerant streaming reader, which keeps every valid record
  before the first corruption and says where it stopped (desktop-stack §6.4).

Statements run on the caller's (worker) thread; a watcher thread reports DuckDB's progress and calls
``interrupt()`` within 100 ms of a cancel.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb

from console.core import log_shapes, text_input
from console.core.entra_log_schema import STATUSES, UPN_KEYS
from console.core.errors import Cancelled
from console.core.text_input import UndecodableText
from console.services import text_files
from console.services.duckdb_cancel import interruptible
from console.services.logstore import reader, sql
from console.services.logstore.errors import LogImportError, NotALogError

Progress = Callable[[float, str], None]  # fraction 0..1 (or -1 unknown), text
CancelCheck = Callable[[], bool]

# Arrays at least this big take the two-stage fast path (below it one scan is quicker end to end).
STAGED_MIN_BYTES = 32 << 20
# Measured at 1 M records (tests/bench/bench_logs.py): 900 MB keeps peak RSS < 1 GB; 600 MB ran out of
# memory in the old single-scan import. Very large records get one retry with more.
IMPORT_MEMORY_LIMIT = "900MB"
RETRY_MEMORY_LIMIT = "4GB"


@dataclass
class ImportReport:
    """What an import did: counts, warnings (with file + position), and the work left for ``complete``."""

    records: int = 0
    files: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    skipped: int = 0
    seconds: float = 0.0
    pending: list[dict[str, Any]] = field(default_factory=list)  # staged files whose details are not read yet
    # How each locale-formatted time column was read: file, column, order (dmy/mdy), settled (False:
    # the documented default picked, so the user may want to re-import with the other order).
    date_orders: list[dict[str, Any]] = field(default_factory=list)

    @property
    def dates_ambiguous(self) -> bool:
        return any(not d["settled"] for d in self.date_orders)

    def as_dict(self) -> dict[str, Any]:
        return {
            "records": self.records,
            "files": self.files,
            "warnings": self.warnings,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "date_orders": self.date_orders,
        }


def ensure_schema(con: duckdb.DuckDBPyConnection) -> None:
    con.execute("SET TimeZone='UTC'")
    con.execute(sql.DDL)
    con.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", [sql.FORMAT_VERSION])


def run_watched(
    con: duckdb.DuckDBPyConnection,
    statement: str,
    params: Sequence[Any],
    progress: Progress,
    cancelled: CancelCheck,
    label: str,
) -> None:
    """Execute one statement; report DuckDB's progress and interrupt on cancel (≤ 100 ms)."""

    def tick() -> None:
        try:
            pct = float(con.query_progress())
        except (duckdb.Error, TypeError, ValueError):
            pct = -1.0
        progress(pct / 100.0 if pct >= 0 else -1.0, label)

    with interruptible(con, cancelled, tick):
        con.execute(statement, list(params))
    if cancelled():  # a cancel during a fast statement still wins
        raise Cancelled()


def transaction(con: duckdb.DuckDBPyConnection, steps: Callable[[], None]) -> None:
    con.execute("BEGIN TRANSACTION")
    try:
        steps()
    except BaseException:
        con.execute("ROLLBACK")
        raise
    con.execute("COMMIT")


def max_seq(con: duckdb.DuckDBPyConnection) -> int:
    return int(con.execute("SELECT coalesce(max(seq), 0) FROM log_events").fetchone()[0])


def count_file(con: duckdb.DuckDBPyConnection, name: str) -> int:
    return int(con.execute("SELECT count(*) FROM log_events WHERE source_file = ?", [name]).fetchone()[0])


def _tolerant(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    name: str,
    progress: Progress,
    cancelled: CancelCheck,
) -> None:
    """One scan with the all-JSON schema into the three tables (raises duckdb errors to the caller)."""
    if kind in (reader.GRAPH, reader.GRAPH_ARRAY):
        select, source = sql.tolerant_from_graph("array" if kind == reader.GRAPH_ARRAY else "auto")
    else:
        select, source = sql.tolerant_from_file("array" if kind == reader.ARRAY else "newline_delimited")
    base = max_seq(con)

    def steps() -> None:
        run_watched(
            con,
            sql.tolerant_insert(select, source),
            [base, name, str(path)],
            progress,
            cancelled,
            f"Importing {name}",
        )
        run_watched(con, sql.search_insert(), [base, max_seq(con)], progress, cancelled, f"Indexing {name}")

    transaction(con, steps)


def _upn_key(head: list[dict[str, Any]]) -> str:
    for rec in head:
        details = (rec.get("sourceIdentity") or {}).get("details") if isinstance(rec, dict) else None
        if isinstance(details, dict):
            for key in UPN_KEYS:
                if key in details:
                    return key
    return UPN_KEYS[0]


def fast_path_applies(path: Path) -> bool:
    """True for one big JSON array of Entra records (what the portal's JSON download is)."""
    try:
        return (
            path.is_file()
            and not reader.is_zip(path)
            and _fast_path_head(path, reader.sniff(path)) is not None
        )
    except (OSError, LogImportError):
        return False


def _fast_path_head(path: Path, kind: str) -> list[dict[str, Any]] | None:
    """The first records when the typed fast path applies (a big array of Entra records), else None."""
    if kind != reader.ARRAY or path.stat().st_size < STAGED_MIN_BYTES:
        return None
    head = reader.head_records(path, kind)
    entra = [r for r in head if "activityDateTime" in r or "provisioningStatusInfo" in r or "statusInfo" in r]
    return head if head and len(entra) == len(head) else None


def _staged(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    head: list[dict[str, Any]],
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
) -> bool:
    """Stage 1 of the fast path; False when a value had an unexpected type (use the tolerant schema)."""
    upn_key = _upn_key(head)
    base = max_seq(con)
    try:
        transaction(
            con,
            lambda: run_watched(
                con,
                sql.typed_core_insert(upn_key),
                [base, name, str(path)],
                progress,
                cancelled,
                f"Importing {name}",
            ),
        )
    except (duckdb.ConversionException, duckdb.InvalidInputException, duckdb.BinderException):
        return False
    report.pending.append(
        {"file": name, "path": str(path), "first": base + 1, "last": max_seq(con)}
    )
    return True


def import_one(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
    display_name: str | None = None,
    *,
    staged: bool = False,
) -> None:
    """Import one (non-zip, non-CSV) file; salvage with the tolerant reader when DuckDB refuses it.

    A file that is not UTF-8 is first transcoded into a UTF-8 copy (streamed), and records that are
    not in Graph's spelling (PowerShell, Log Analytics) are first reshaped into NDJSON
    (``core.log_shapes``); a big UTF-8 array in Graph's spelling is read by DuckDB alone."""
    name = display_name or path.name
    with tempfile.TemporaryDirectory(prefix="logstore-in-") as tmp:
        source = _utf8_source(path, name, Path(tmp), report, cancelled)
        if source != path:
            staged = False  # stage 2 re-reads the file, and the copy is gone by then
        kind = _sniff_named(source, name)
        head = reader.head_records(source, kind)
        if any(log_shapes.needs_reshape(r) for r in head):
            source = reshape(source, kind, name, Path(tmp), report, progress, cancelled)
            kind, staged = reader.STREAM, False
        import_source(con, source, kind, name, report, progress, cancelled, staged=staged)


def _utf8_source(path: Path, name: str, tmp: Path, report: ImportReport, cancelled: CancelCheck) -> Path:
    """``path`` itself when DuckDB can read it, else a UTF-8 copy in ``tmp`` (by the shared policy)."""
    try:
        enc = text_files.detect_file(path)
        if enc.utf8:
            return path
        out = text_files.utf8_copy(path, enc, tmp / "utf8.json", cancelled)
    except UndecodableText as exc:
        raise LogImportError(exc.message, file=name, position=exc.position,
                             hint="Save the export again as UTF-8 and import that.") from None
    note = text_input.warning(name, enc)
    if note:
        report.warnings.append(note)
    return out


def reshape(
    path: Path, kind: str, name: str, tmp: Path, report: ImportReport, progress: Progress,
    cancelled: CancelCheck,
) -> Path:
    """Graph-shaped NDJSON of a file in another spelling (PowerShell, Log Analytics), streamed; what
    PowerShell truncated is reported with the first record and the fix."""
    progress(-1.0, f"Reading {name} (PowerShell/Log Analytics shape)")
    out = tmp / "reshaped.ndjson"
    state = reader.ReadState()
    truncated: dict[str, int] = {}
    first_truncated = 0
    n = 0
    with out.open("w", encoding="utf-8") as f:
        for rec in reader.iter_records(path, kind, state, "utf-8-sig", cancelled):
            for item in log_shapes.records_of(rec):
                if not isinstance(item, dict):
                    continue
                n += 1
                shaped, cut = log_shapes.to_graph(item)
                for p in cut:
                    truncated[p] = truncated.get(p, 0) + 1
                if cut and not first_truncated:
                    first_truncated = n
                f.write(json.dumps(shaped, ensure_ascii=False, separators=(",", ":")) + "\n")
    if state.stop is not None:
        report.warnings.append(
            f"{name}, {state.stop.position}: {state.stop.message} Kept the {n:,} valid records before it."
        )
    if truncated:
        fields = ", ".join(f"{p} ({c:,})" for p, c in sorted(truncated.items()))
        report.warnings.append(
            f"{name}, record {first_truncated:,}: PowerShell cut nested objects off at its depth limit "
            f"(ConvertTo-Json without -Depth), so these fields are missing: {fields}. Export again with "
            "'ConvertTo-Json -Depth 10' to see them."
        )
    return out


def import_source(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    kind: str,
    name: str,
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
    *,
    staged: bool = False,
    times: bool = True,
    unit: str = "record",
) -> None:
    """Import one UTF-8 JSON file of Graph-spelled records (``kind`` from ``reader.sniff``) as ``name``."""
    before = count_file(con, name)
    head = _fast_path_head(path, kind) if staged else None
    done = head is not None and _staged(con, path, name, head, report, progress, cancelled)
    attempt = 0
    while not done:
        attempt += 1
        try:
            _tolerant(con, path, kind, name, progress, cancelled)
            done = True
        except duckdb.OutOfMemoryException:
            if attempt == 2:
                raise LogImportError("Not enough memory to import this file.", file=name) from None
            con.execute(f"SET memory_limit='{RETRY_MEMORY_LIMIT}'")  # unusually large records
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            # corrupt/odd input: the tolerant reader keeps what is valid
            _salvage(con, path, kind, name, report, progress, cancelled, first_error=str(exc))
            done = True
        except duckdb.Error as exc:
            raise LogImportError(f"The import failed: {str(exc).splitlines()[0][:300]}", file=name) from None
    settle_file(con, name, count_file(con, name) - before, report,
                "record(s) with none of the fields of a provisioning event", times=times, unit=unit)
    report.files.append(name)


def settle_file(
    con: duckdb.DuckDBPyConnection, name: str, added: int, report: ImportReport, blank: str,
    *, times: bool = False, unit: str = "record",
) -> None:
    """After a file's rows went in: refuse a non-log, drop its blank records (``blank`` names them),
    check what is left (``check_quality``), count."""
    check_is_log(con, name, added)
    empty = drop_empty(con, name)
    if empty:
        report.skipped += empty
        report.warnings.append(f"{name}: skipped {empty:,} {blank}.")
    check_quality(con, name, report, times=times, unit=unit)
    report.records += added - empty


def check_quality(
    con: duckdb.DuckDBPyConnection, name: str, report: ImportReport, *, times: bool, unit: str
) -> None:
    """Honest results: statuses that are not Entra's (text decoded wrongly, a column mixed up) refuse
    the file when they are most of it and warn otherwise; events without a time are counted."""
    known = "(" + ", ".join(f"'{s}'" for s in STATUSES) + ")"
    odd_where = f"status IS NOT NULL AND status NOT IN {known}"
    total, odd, odd_seq, odd_example, no_time, no_time_seq, s0 = con.execute(
        f"SELECT count(*), count(*) FILTER (WHERE {odd_where}), min(seq) FILTER (WHERE {odd_where}), "
        f"any_value(status ORDER BY seq) FILTER (WHERE {odd_where}), count(*) FILTER (WHERE time IS NULL), "
        "min(seq) FILTER (WHERE time IS NULL), min(seq) FROM log_events WHERE source_file = ?",
        [name],
    ).fetchone()
    odd_first = (odd_seq or 0) - (s0 or 0) + 1
    no_time_first = (no_time_seq or 0) - (s0 or 0) + 1
    if not total:
        return
    if odd:
        what = (
            f"{odd:,} of {total:,} events have a status that is not one of Entra's "
            f"({', '.join(STATUSES)}), e.g. {odd_example[:40]!r} ({unit} {int(odd_first):,})"
        )
        if odd * 2 > total:
            delete_file_rows(con, name)
            raise LogImportError(
                f"Not imported: {what}. The file is probably decoded wrongly or its columns are mixed up.",
                file=name, position=f"{unit} {int(odd_first):,}",
                hint="Save the export again as UTF-8 (CSV UTF-8 or JSON) and import that.",
            )
        report.warnings.append(f"{name}: {what}; they are shown as they are. Check the file.")
    no_status = int(con.execute(
        "SELECT count(*) FROM log_events WHERE source_file = ? AND status IS NULL", [name]
    ).fetchone()[0])
    if no_status * 2 > total:
        report.warnings.append(
            f"{name}: {no_status:,} of {total:,} events have no status — most of the file lacks the key "
            "fields of a provisioning event. Check that this is the provisioning-log export (not the "
            "audit or sign-in log) and that its columns are intact."
        )
    if times and no_time:
        report.warnings.append(
            f"{name}, {unit} {int(no_time_first):,}: {no_time:,} of {total:,} events have no readable "
            "time (activityDateTime missing or not ISO 8601); they sort last. Check the export."
        )


def complete(
    con: duckdb.DuckDBPyConnection,
    pending: list[dict[str, Any]],
    progress: Progress = lambda f, t: None,
    cancelled: CancelCheck = lambda: False,
) -> list[str]:
    """Stage 2 of the fast path for each pending file: search text (SQL), then details (second scan).

    Each part commits on its own, so a cancelled completion keeps what it finished and can resume.
    Returns warnings (a moved source file, records that no longer line up)."""
    warnings: list[str] = []
    for item in list(pending):
        name, first, last = item["file"], int(item["first"]), int(item["last"])
        have = int(
            con.execute(
                "SELECT count(*) FROM log_search WHERE seq BETWEEN ? AND ?", [first, last]
            ).fetchone()[0]
        )
        if have == 0:

            def search(first: int = first, last: int = last, name: str = name) -> None:
                label = f"Indexing {name} for search"
                run_watched(con, sql.search_insert(), [first - 1, last], progress, cancelled, label)

            transaction(con, search)
        path = Path(item["path"])
        if not path.is_file():
            warnings.append(
                f"{name}: the source file is gone ({path}); steps and nested details are unavailable."
            )
            pending.remove(item)
            continue

        def details(first: int = first, last: int = last, path: Path = path, name: str = name) -> None:
            con.execute("DELETE FROM log_details WHERE seq BETWEEN ? AND ?", [first, last])
            label = f"Reading steps and details of {name}"
            run_watched(con, sql.details_insert(), [first - 1, str(path), last], progress, cancelled, label)
            con.execute(sql.DETAILS_MISMATCH, [first, last])

        try:
            transaction(con, details)
        except (duckdb.ConversionException, duckdb.InvalidInputException) as exc:
            warnings.append(
                f"{name}: steps and details could not be read ({str(exc).splitlines()[0][:200]})."
            )
        else:
            got, want = con.execute(
                "SELECT (SELECT count(*) FROM log_details WHERE seq BETWEEN $1 AND $2), "
                "(SELECT count(*) FROM log_events WHERE seq BETWEEN $1 AND $2)",
                [first, last],
            ).fetchone()
            if got != want:
                warnings.append(
                    f"{name}: the file changed since it was imported; details of {want - got:,} "
                    "event(s) are unavailable."
                )
        pending.remove(item)
    return warnings


def _sniff_named(path: Path, name: str) -> str:
    try:
        return reader.sniff(path)
    except NotALogError as exc:
        raise NotALogError(exc.message, file=name, position=exc.position) from None


def check_is_log(con: duckdb.DuckDBPyConnection, name: str, added: int) -> None:
    if added == 0:
        return
    known = con.execute(
        "SELECT count(*) FROM log_events WHERE source_file = ? "
        "AND (time IS NOT NULL OR status IS NOT NULL OR event_id IS NOT NULL)",
        [name],
    ).fetchone()[0]
    if known == 0:
        delete_file_rows(con, name)
        raise NotALogError(
            f"Not a provisioning log: none of the {added:,} records has an id, a time or a status.",
            file=name,
            position="record 1",
        )


_EMPTY = (
    "source_file = ? AND event_id IS NULL AND time IS NULL AND status IS NULL AND action IS NULL "
    "AND source_id IS NULL AND source_upn IS NULL AND target_id IS NULL AND error_code IS NULL"
)


def drop_empty(con: duckdb.DuckDBPyConnection, name: str) -> int:
    """Delete a file's records that carry none of the event fields (e.g. ``{"foo": 1}``); how many."""
    n = int(con.execute(f"SELECT count(*) FROM log_events WHERE {_EMPTY}", [name]).fetchone()[0])
    if n:
        seqs = f"SELECT seq FROM log_events WHERE {_EMPTY}"
        con.execute(f"DELETE FROM log_search WHERE seq IN ({seqs})", [name])
        con.execute(f"DELETE FROM log_events WHERE {_EMPTY}", [name])
    return n


def delete_file_rows(con: duckdb.DuckDBPyConnection, name: str) -> None:
    seqs = "SELECT seq FROM log_events WHERE source_file = ?"
    con.execute(f"DELETE FROM log_details WHERE seq IN ({seqs})", [name])
    con.execute(f"DELETE FROM log_search WHERE seq IN ({seqs})", [name])
    con.execute("DELETE FROM log_events WHERE source_file = ?", [name])


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
        fallback = "cp1252"
        try:
            fallback = text_files.detect_file(path, validate=True).codec
        except (UndecodableText, OSError):
            pass
        for encoding in dict.fromkeys(("utf-8-sig", fallback)):
            state = reader.ReadState()
            try:
                with out.open("w", encoding="utf-8") as f:
                    for rec in reader.iter_records(path, kind, state, encoding, cancelled):
                        f.write(json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n")
                break
            except UnicodeDecodeError as exc:
                if encoding == fallback:
                    raise LogImportError(
                        f"Unreadable text encoding: {exc.reason}.", file=name, position=f"byte {exc.start:,}"
                    ) from None
        if state.encoding not in ("utf-8", "utf-8-sig"):
            report.warnings.append(
                f"{name}: not UTF-8; read as {state.encoding} — check accented names; if they look wrong, "
                "save the file again as UTF-8."
            )
        if state.skipped:
            report.skipped += state.skipped
            report.warnings.append(f"{name}: skipped {state.skipped:,} values that are not JSON objects.")
        if state.stop is not None and state.records == 0:
            raise LogImportError(
                f"No valid records: {state.stop.message}", file=name, position=state.stop.position
            )
        if state.stop is None and state.records == 0 and state.skipped:
            raise NotALogError(
                f"Not a provisioning log: the file is JSON, but its {state.skipped:,} values are not records "
                "(JSON objects) — numbers, text or lists. Entra's download is an array of objects.",
                file=name)
        if state.stop is None and state.records == 0:
            raise NotALogError(f"Not a provisioning log ({first_error.splitlines()[0][:200]}).", file=name)
        if state.stop is not None:
            report.warnings.append(
                f"{name}, {state.stop.position}: {state.stop.message} Kept the "
                f"{state.records:,} valid records before it."
            )
        try:
            _tolerant(con, out, reader.STREAM, name, progress, cancelled)
        except (duckdb.InvalidInputException, duckdb.ConversionException) as exc:
            raise LogImportError(
                f"The recovered records could not be imported: {str(exc).splitlines()[0][:200]}", file=name
            ) from None


def import_path(
    con: duckdb.DuckDBPyConnection,
    path: Path | Sequence[Path],
    progress: Progress = lambda f, t: None,
    cancelled: CancelCheck = lambda: False,
    *,
    staged: bool = False,
    date_order: str | None = None,
) -> ImportReport:
    """Import a file, several files, a folder, or a zip into ``con`` (schema created if needed).

    ``date_order`` (``dmy``/``mdy``) overrides the day/month order decided from each CSV time column.

    With ``staged`` big JSON arrays only get stage 1 here; ``report.pending`` lists what ``complete``
    still has to read (the file must stay where it is until then)."""
    from console.services.logstore import sources

    started = time.perf_counter()
    ensure_schema(con)
    con.execute(f"SET memory_limit='{IMPORT_MEMORY_LIMIT}'")
    report = ImportReport()
    with tempfile.TemporaryDirectory(prefix="logstore-zip-") as tmp:
        for item in sources.expand(path, Path(tmp), cancelled):
            if item.kind == "csv":
                from console.services.logstore.csv_import import import_csv_set

                import_csv_set(con, item.csv, report, progress, cancelled, date_order)
            else:
                import_one(
                    con,
                    item.path,
                    report,
                    progress,
                    cancelled,
                    display_name=item.name,
                    staged=staged and not item.temporary,
                )
    report.seconds = time.perf_counter() - started
    return report
