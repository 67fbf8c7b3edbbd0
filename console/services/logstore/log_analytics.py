"""The Log Analytics / Sentinel "Export to CSV" of ``AADProvisioningLogs`` (docs/log-formats.md §3.3).

One file holds everything: the nested values (identities, status, steps, modified properties) are
JSON strings in their columns, and times are ``5/4/2019, 3:00:54.000 AM`` under ``… [UTC]`` headers.
Each row becomes a Graph-shaped record (``core.log_shapes.to_graph``) in an NDJSON file that the
JSON importer reads; times are parsed here, in the order decided from the whole column. These
exports are small (the portal caps them at 30,000 rows), and the file is streamed twice.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from pathlib import Path

import duckdb

from console.core import dates, log_shapes, text_input
from console.core.text_input import UndecodableText
from console.services import text_files
from console.services.logstore import reader
from console.services.logstore.errors import LogImportError
from console.services.logstore.importer import CancelCheck, ImportReport, Progress, import_source

MAX_FIELD = 64 << 20
_SUFFIX = re.compile(r"\s*\[(UTC|local)\]\s*$", re.IGNORECASE)
_TIME_COLUMNS = ("activitydatetime", "timegenerated")


def _rows(path: Path, delimiter: str, skip: int) -> Iterator[tuple[int, dict[str, str | None]]]:
    csv.field_size_limit(MAX_FIELD)
    with path.open("r", encoding="utf-8-sig", newline="") as f:
        for _ in range(skip):  # Excel's "sep=" line
            f.readline()
        rows = csv.reader(f, delimiter=delimiter)
        header = [_SUFFIX.sub("", h.strip()) for h in next(rows, [])]
        for n, row in enumerate(rows, start=1):
            if not any(c.strip() for c in row):
                continue
            yield n, {h: (c if c.strip() else None) for h, c in zip(header, row, strict=False) if h}


def import_la_csv(
    con: duckdb.DuckDBPyConnection,
    path: Path,
    name: str,
    tmp: Path,
    report: ImportReport,
    progress: Progress,
    cancelled: CancelCheck,
    date_order: str | None = None,
) -> None:
    """Import one Log Analytics CSV export of ``AADProvisioningLogs`` into the dataset."""
    from console.services.logstore.csv_import import read_header

    headers, delimiter, enc, skip = read_header(path)
    source = path
    if not enc.utf8:
        try:
            source = text_files.utf8_copy(path, enc, tmp / "la.utf8.csv", cancelled)
        except UndecodableText as exc:
            raise LogImportError(exc.message, file=name, position=exc.position) from None
        note = text_input.warning(name, enc)
        if note:
            report.warnings.append(note)
    bare = [_SUFFIX.sub("", h) for h in headers]
    lower = {h.lower(): h for h in bare}
    column = next((lower[c] for c in _TIME_COLUMNS if c in lower), None)
    order = dates.MDY
    if column is not None:
        decision = dates.decide_order((r.get(column) for _n, r in _rows(source, delimiter, skip)), date_order)
        order = decision.order
        shown = headers[bare.index(column)]
        report.date_orders.append(
            {"file": name, "column": shown, "order": order, "settled": decision.settled}
        )
        note = dates.ambiguity_warning(name, shown, decision)
        if note:
            report.warnings.append(note)
    out = tmp / "la.ndjson"
    bad, bad_first, bad_example = 0, 0, ""
    progress(-1.0, f"Reading {name} (Log Analytics export)")
    with out.open("w", encoding="utf-8") as f:
        for n, row in _rows(source, delimiter, skip):
            if cancelled():
                from console.core.errors import Cancelled

                raise Cancelled()
            for key in _TIME_COLUMNS:
                col = lower.get(key)
                raw = row.get(col) if col else None
                if raw is None:
                    continue
                t = dates.parse(raw, order)
                if t is None:
                    if key == (column or "").lower():
                        bad += 1
                        bad_first, bad_example = bad_first or n, bad_example or raw
                    row[col] = None
                else:
                    row[col] = t.isoformat().replace("+00:00", "Z")
            shaped, _cut = log_shapes.to_graph(row)
            f.write(json.dumps(shaped, ensure_ascii=False, separators=(",", ":")) + "\n")
    if bad:
        report.warnings.append(
            f"{name}, column '{column}', row {bad_first:,} after the header: {bad:,} time(s) could not be "
            f"read (e.g. '{bad_example}'); those events have no time. Check the column's format, or "
            "import again with the other --date-order."
        )
    import_source(con, out, reader.STREAM, name, report, progress, cancelled, times=False, unit="row")
