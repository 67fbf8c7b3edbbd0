"""Export rows to CSV or XLSX that a spreadsheet opens safely (desktop-stack §6.3).

Used by every "Export…" in the console (provisioning-log views, reconciliation findings and plans).
Imported and remote values are *data*, never formulas:

* **CSV** is written as ``utf-8-sig`` (Excel detects UTF-8 by the BOM) and every text cell that
  starts with ``= + - @ | %``, a tab, CR or NUL gets a leading ``'`` (OWASP's CSV-injection rule;
  written here in a few lines rather than adding ``defusedcsv`` for it). Numbers, dates and
  booleans pass untouched, so ``-5`` stays a number.
* **XLSX** goes through XlsxWriter with ``strings_to_formulas``/``strings_to_urls`` off and
  ``constant_memory`` on (rows are streamed; memory stays flat for a million rows), and strings
  are written with ``write_string``.
* Every text cell passes through :func:`console.core.redact.redact` first, so a token that found
  its way into an error message or a customer's file is not carried into the export.

Rows arrive as an iterable (a generator over a query result is fine) and the file is written to a
temporary name and renamed at the end: a failed or cancelled export never leaves half a file
under the chosen name.
"""

from __future__ import annotations

import csv
import os
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from console.core.errors import UserFacingError
from console.core.redact import redact

FORMULA_PREFIXES = ("=", "+", "-", "@", "|", "%", "\t", "\r", "\0")
XLSX_MAX_ROWS = 1_048_576  # Excel's sheet limit, header included
XLSX_MAX_CELL = 32_767     # Excel's cell text limit
FORMATS = ("csv", "xlsx")


class TooManyRowsError(ValueError):
    """More rows than one Excel sheet holds (``write_xlsx``)."""


def format_for(path: str | Path) -> str:
    """``csv`` or ``xlsx`` from the file name (``.csv`` when unsure)."""
    return "xlsx" if str(path).lower().endswith(".xlsx") else "csv"


def _text(value: Any) -> str:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def safe_cell(value: Any) -> Any:
    """The value as a CSV cell: redacted text, with a leading ``'`` if a spreadsheet would run it."""
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        return value
    text = redact(_text(value))
    if text.startswith(FORMULA_PREFIXES):
        return "'" + text
    return text


def write_csv(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
              progress: Callable[[int], None] | None = None, every: int = 10_000) -> int:
    """Write ``rows`` under ``header`` to ``path``; returns the number of data rows written."""
    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    count = 0
    try:
        with open(tmp, "w", encoding="utf-8-sig", newline="") as fh:
            writer = csv.writer(fh, quoting=csv.QUOTE_MINIMAL)
            writer.writerow([safe_cell(h) for h in header])
            for row in rows:
                writer.writerow([safe_cell(v) for v in row])
                count += 1
                if progress is not None and count % every == 0:
                    progress(count)
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    return count


def fit_cell(text: str) -> tuple[str, bool]:
    """``text`` within Excel's cell limit; a cut value ends with a marker saying how much is missing,
    so nobody takes a cut error message or address list for the whole one."""
    if len(text) <= XLSX_MAX_CELL:
        return text, False
    keep = XLSX_MAX_CELL - 100  # room for the marker (its number has at most 10 digits)
    marker = f"… [cut: {len(text) - keep:,} more characters; export to CSV for the whole value]"
    return text[:keep] + marker, True


def write_xlsx(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
               sheet: str = "Export", progress: Callable[[int], None] | None = None,
               every: int = 10_000, warnings: list[str] | None = None) -> int:
    """Write ``rows`` to one sheet of an XLSX workbook; returns the number of data rows written.

    Raises ``TooManyRowsError`` past Excel's row limit (the caller should offer CSV instead). Cells
    longer than Excel allows are cut with a marker (:func:`fit_cell`) and counted in ``warnings``."""
    import xlsxwriter

    target = Path(path)
    tmp = target.with_name(f".{target.name}.part")
    count = cut = 0
    try:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                              "strings_to_numbers": False, "constant_memory": True})
        try:
            ws = book.add_worksheet(sheet[:31])
            bold = book.add_format({"bold": True})
            for col, name in enumerate(header):
                ws.write_string(0, col, redact(str(name)), bold)
            ws.freeze_panes(1, 0)
            for r, row in enumerate(rows, start=1):
                if r >= XLSX_MAX_ROWS:
                    raise TooManyRowsError(f"More than {XLSX_MAX_ROWS - 1:,} rows do not fit in one Excel "
                                           "sheet; export to CSV instead.")
                for col, value in enumerate(row):
                    if value is None:
                        continue
                    if isinstance(value, bool):
                        ws.write_boolean(r, col, value)
                    elif isinstance(value, int | float):
                        ws.write_number(r, col, value)
                    else:
                        text, was_cut = fit_cell(redact(_text(value)))
                        cut += was_cut
                        ws.write_string(r, col, text)
                count = r
                if progress is not None and count % every == 0:
                    progress(count)
        finally:
            book.close()
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    if cut and warnings is not None:
        warnings.append(f"{cut:,} cell(s) longer than Excel's {XLSX_MAX_CELL:,} characters were cut; each "
                        "ends with '… [cut: N more characters …]'. Export to CSV for the whole values.")
    return count


def write_table(path: str | Path, header: Sequence[str], rows: Iterable[Sequence[Any]], *,
                total: int | None = None, **kw: Any) -> int:
    """CSV or XLSX by the file name's extension; failures as messages for the person exporting.

    ``total`` (the rows to come, when known) refuses an XLSX that cannot fit before a row is written.
    """
    path = Path(path)
    xlsx = format_for(path) == "xlsx"
    if xlsx and total is not None and total >= XLSX_MAX_ROWS:
        raise _too_many(f"{total:,} rows", path)
    try:
        if xlsx:
            return write_xlsx(path, header, rows, **kw)
        kw.pop("sheet", None)
        kw.pop("warnings", None)  # CSV keeps every value whole
        return write_csv(path, header, rows, **kw)
    except OSError as exc:
        raise UserFacingError(f"Could not write the export: {exc.strerror or exc}.",
                              where=str(path)) from None
    except TooManyRowsError:
        raise _too_many("More rows than that", path) from None


def _too_many(what: str, path: Path) -> UserFacingError:
    return UserFacingError(f"{what} do not fit in one Excel sheet (at most {XLSX_MAX_ROWS - 1:,}).",
                           where=path.name, hint="Export to CSV instead, or filter the view first.")
