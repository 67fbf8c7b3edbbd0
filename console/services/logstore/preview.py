"""First rows of a file in ~100 ms while the full import runs (performance-notes §3.2 head probe).

Reads only the first ``n`` records with the streaming reader into an in-memory dataset, so the page
can show them at once; the finished import then replaces the preview.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path

from console.services import text_files
from console.services.logstore import reader
from console.services.logstore.dataset import Dataset
from console.services.logstore.errors import LogImportError
from console.services.logstore.importer import ImportReport, import_one


def preview(path: Path, n: int = 200) -> Dataset | None:
    """An in-memory dataset of the first ``n`` records, or None (zip, unreadable, not a log)."""
    path = Path(path)
    try:
        if reader.is_zip(path):
            return None
        kind = reader.sniff(path)
        state = reader.ReadState()
        codec = text_files.detect_file(path).codec  # a UTF-16 export previews too (shared policy)
        records = list(itertools.islice(reader.iter_records(path, kind, state, codec), n))
    except (OSError, UnicodeDecodeError, ValueError, LogImportError):
        return None
    if not records:
        return None
    ds = Dataset.in_memory(f"preview-{path.name}", f"Preview of {path.name}")
    with tempfile.TemporaryDirectory(prefix="logstore-preview-") as tmp:
        out = Path(tmp) / "head.ndjson"
        out.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
        try:
            with ds.lock:
                import_one(
                    ds.con, out, ImportReport(), lambda f, t: None, lambda: False, display_name=path.name
                )
        except Exception:  # noqa: BLE001 - a preview is best effort; the real import reports errors
            ds.close()
            return None
    return ds
