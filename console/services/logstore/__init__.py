"""Offline and live provisioning logs in DuckDB (performance-notes §6): import, persist, query.

DuckDB is the engine because it streams a 2.7 GB JSON array with an explicit schema in bounded memory
(0.5 GB) and answers filter/sort/page queries in SQL, so no Python row lists or proxy models exist.
"""

from __future__ import annotations

from console.services.logstore.catalog import DatasetInfo, LogCatalog
from console.services.logstore.dataset import DISPLAY_COLUMNS, Dataset, LogFilter, QueryResult
from console.services.logstore.errors import LogImportError, NotALogError
from console.services.logstore.importer import ImportReport

__all__ = [
    "DISPLAY_COLUMNS",
    "Dataset",
    "DatasetInfo",
    "ImportReport",
    "LogCatalog",
    "LogFilter",
    "LogImportError",
    "NotALogError",
    "QueryResult",
]
