"""The platform's own provisioning log, live: pages and the follow/tail mode into an in-memory dataset.

Events go through the same DuckDB import as files (the platform export shape), so filters, sorting,
counts and the details pane behave identically for live and imported logs.
"""

from __future__ import annotations

import dataclasses
import json
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from console.services.logstore.dataset import Dataset
from console.services.logstore.importer import ImportReport, import_one

INITIAL_EVENTS = 2000


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


def load_recent(api: Any, org_id: str, *, max_events: int = INITIAL_EVENTS) -> Dataset:
    """The newest ``max_events`` events of an org (keyset pages, newest first)."""
    ds = Dataset.in_memory(f"live-{org_id}", f"Live: {org_id}")
    events: list[Any] = []
    cursor = None
    while len(events) < max_events:
        page = api.list_log_events(org_id, limit=min(500, max_events - len(events)), cursor=cursor)
        events.extend(page.items)
        cursor = page.next_cursor
        if not cursor:
            break
    _insert(ds, list(reversed(events)), org_id)
    return ds


def poll(api: Any, org_id: str, ds: Dataset) -> int:
    """Follow mode: append events newer than the newest one we have; returns how many arrived."""
    added = 0
    while True:
        batch = api.tail_log(org_id, ds.max_event_number(), limit=500)
        added += _insert(ds, batch, org_id)
        if len(batch) < 500:
            return added
