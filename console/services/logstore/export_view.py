"""Export the filtered, sorted view of a dataset to CSV or XLSX (through ``console.services.export``).

The rows stream from DuckDB in batches on the dataset's own cursor, so a million-row export keeps
memory flat and never blocks the page's queries; the exporter makes every cell formula-safe and
redacted and writes to a temporary name, so a cancelled export leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from console.core.errors import Cancelled
from console.services import export
from console.services.logstore.dataset import EXPORT_HEADERS, Dataset, LogFilter

ProgressRows = Callable[[int, int], None]  # rows written, total


def export_view(
    ds: Dataset,
    path: str | Path,
    flt: LogFilter | None = None,
    *,
    sort: str = "time",
    descending: bool = True,
    progress: ProgressRows = lambda done, total: None,
    cancelled: Callable[[], bool] = lambda: False,
    warnings: list[str] | None = None,
) -> int:
    """Write the view to ``path`` (``.xlsx`` → XLSX, anything else → CSV); returns the rows written."""
    path = Path(path)
    total, rows = ds.export_rows(flt, sort=sort, descending=descending)

    def checked() -> Iterator[tuple[Any, ...]]:
        for n, row in enumerate(rows):
            if n % 1000 == 0 and cancelled():
                raise Cancelled()
            yield row

    progress(0, total)
    try:
        written = export.write_table(
            path,
            EXPORT_HEADERS,
            checked(),
            total=total,
            progress=lambda n: progress(n, total),
            every=5000,
            sheet="Provisioning log",
            warnings=warnings,
        )
    finally:
        rows.close()
    progress(written, total)
    return written
