"""Imported datasets kept under ``<data_dir>/logs/<id>.duckdb`` so reopening is a file open.

An import writes ``<id>.duckdb.part`` and renames it only when complete, so a crash or a cancel never
leaves a half dataset in the list.
"""

from __future__ import annotations

import contextlib
import json
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from console.services.logstore.dataset import Dataset
from console.services.logstore.importer import CancelCheck, ImportReport, Progress, import_path


@dataclass(frozen=True)
class DatasetInfo:
    id: str
    name: str
    source: str
    created_at: str
    records: int
    counts: dict[str, int]
    warnings: list[str]
    path: Path

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "created_at": self.created_at,
            "records": self.records,
            "counts": self.counts,
            "warnings": self.warnings,
        }


class LogCatalog:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    @classmethod
    def for_paths(cls, paths: Any) -> LogCatalog:
        return cls(Path(paths.data_dir) / "logs")

    def _file(self, dataset_id: str) -> Path:
        if not dataset_id or not dataset_id.replace("-", "").isalnum():
            raise ValueError(f"bad dataset id {dataset_id!r}")
        return self.root / f"{dataset_id}.duckdb"

    def import_file(
        self,
        source: Path | str,
        progress: Progress = lambda f, t: None,
        cancelled: CancelCheck = lambda: False,
    ) -> tuple[DatasetInfo, ImportReport]:
        source = Path(source)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        dataset_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        final = self._file(dataset_id)
        part = final.with_name(final.name + ".part")
        con = duckdb.connect(str(part))
        try:
            report = import_path(con, source, progress, cancelled)
            counts = dict(
                con.execute("SELECT coalesce(status,'(none)'), count(*) FROM events GROUP BY 1").fetchall()
            )
            meta = {
                "name": source.name,
                "source": str(source),
                "created_at": datetime.now(UTC).isoformat(),
                "records": str(report.records),
                "counts": json.dumps(counts),
                "warnings": json.dumps(report.warnings),
            }
            con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
            con.execute("CHECKPOINT")
            con.close()
        except BaseException:
            con.close()
            for p in (part, part.with_name(part.name + ".wal")):
                with contextlib.suppress(OSError):
                    p.unlink()
            raise
        part.rename(final)
        sidecar = {**meta, "records": report.records, "counts": counts, "warnings": report.warnings}
        final.with_suffix(".json").write_text(json.dumps(sidecar, ensure_ascii=False), encoding="utf-8")
        return self.info(dataset_id), report

    def info(self, dataset_id: str) -> DatasetInfo:
        """From the sidecar ``<id>.json`` (written after the import completed): listing never opens a
        DuckDB file, so it cannot clash with a dataset the page has open."""
        path = self._file(dataset_id)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if not path.is_file():
            raise FileNotFoundError(path)
        return DatasetInfo(
            id=dataset_id, name=meta.get("name", dataset_id), source=meta.get("source", ""),
            created_at=meta.get("created_at", ""), records=int(meta.get("records", 0)),
            counts=dict(meta.get("counts", {})), warnings=list(meta.get("warnings", [])), path=path,
        )

    def list(self) -> list[DatasetInfo]:
        out = []
        for path in sorted(self.root.glob("*.duckdb"), reverse=True):
            try:
                out.append(self.info(path.stem))
            except (duckdb.Error, ValueError, OSError):
                continue  # a foreign/corrupt file is not a dataset
        return out

    def open(self, dataset_id: str) -> Dataset:
        info = self.info(dataset_id)
        ds = Dataset.open(info.path)
        ds.name = info.name
        return ds

    def delete(self, dataset_id: str) -> None:
        path = self._file(dataset_id)
        for p in (path.with_suffix(".json"), path, path.with_name(path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
