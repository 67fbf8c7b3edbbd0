"""The platform's own provisioning log, live: keyset pages into an in-memory dataset, then tail.

Events go through the same DuckDB import as files (the platform export shape), so filters, sorting,
counts and the details pane behave identically for live and imported logs. ``load_recent`` shows the
newest page at once; ``load_older`` then walks the keyset cursor back through the whole log in
batches (the page calls it until it returns no cursor), and ``poll`` appends what arrived since.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from console.core.errors import Cancelled
from console.services.logstore.dataset import Dataset
from console.services.logstore.importer import ImportReport, import_one

PAGE_SIZE = 500  # the admin API's maximum page
FIRST_PAGE = 500
BATCH_EVENTS = 5000  # one load_older call: ten pages, then the view refreshes


@dataclass(frozen=True)
class LiveLoad:
    """A dataset with the newest events, and where to continue back in time (None: all loaded)."""

    dataset: Dataset
    older_cursor: str | None
    loaded: int


def _event_dict(event: Any) -> dict[str, Any]:
    data = dataclasses.asdict(event) if dataclasses.is_dataclass(event) else dict(event)
    for k, v in list(data.items()):
        if isinstance(v, datetime):
            data[k] = v.isoformat()
    return data


def _insert(ds: Dataset, events: list[Any], org_id: str) -> int:
    if not events:
        return 0
    with tempfile.TemporaryDirectory(prefix="logstore-live-") as tmp:
        path = Path(tmp) / "live.ndjson"
        with path.open("w", encoding="utf-8") as f:
            for e in events:
                f.write(json.dumps(_event_dict(e), ensure_ascii=False) + "\n")
        report = ImportReport()
        with ds.lock:
            import_one(ds.con, path, report, lambda f, t: None, lambda: False, display_name=f"live:{org_id}")
    return report.records


def load_recent(api: Any, org_id: str, *, first_page: int = FIRST_PAGE) -> LiveLoad:
    """The newest page of an org's log (keyset pages run newest first)."""
    ds = Dataset.in_memory(f"live-{org_id}", f"Live: {org_id}")
    try:
        page = api.list_log_events(org_id, limit=min(PAGE_SIZE, first_page))
        n = _insert(ds, list(page.items), org_id)
    except BaseException:
        ds.close()
        raise
    return LiveLoad(ds, page.next_cursor, n)


def load_older(
    api: Any,
    org_id: str,
    ds: Dataset,
    cursor: str,
    *,
    max_events: int = BATCH_EVENTS,
    cancelled: Callable[[], bool] = lambda: False,
) -> tuple[int, str | None]:
    """Up to ``max_events`` older events from ``cursor`` on: (how many were added, the next cursor)."""
    added = 0
    next_cursor: str | None = cursor
    while next_cursor and added < max_events:
        if cancelled():
            raise Cancelled()
        page = api.list_log_events(org_id, limit=PAGE_SIZE, cursor=next_cursor)
        added += _insert(ds, list(page.items), org_id)
        next_cursor = page.next_cursor
    return added, next_cursor


def poll(api: Any, org_id: str, ds: Dataset, on_events: Callable[[list[Any]], None] | None = None) -> int:
    """Follow mode: append events newer than the newest one we have; returns how many arrived.
    ``on_events`` sees each batch (the live twin check reads the SCIM creates among them)."""
    added = 0
    while True:
        batch = api.tail_log(org_id, ds.max_event_number(), limit=PAGE_SIZE)
        added += _insert(ds, batch, org_id)
        if on_events is not None and batch:
            on_events(list(batch))
        if len(batch) < PAGE_SIZE:
            return added
