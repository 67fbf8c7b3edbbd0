"""Imported datasets kept under ``<data_dir>/logs/<id>.duckdb`` so reopening is a file open.

An import writes ``<id>.duckdb.part`` and renames it only when stage 1 is complete, so a crash or a
cancel never leaves a half dataset in the list. A staged import (big JSON arrays) is usable from
then on; ``finish`` adds the search text and the details later and updates the sidecar.

Leftovers of a process that was killed are dealt with by :meth:`LogCatalog.housekeep` (at start-up):
an orphan ``.duckdb.part`` (no process holds its lock) is deleted, and a dataset stopped after stage 1
is reported so the caller can offer to finish it (``finish`` resumes where the sidecar says). Every
dataset remembers the SHA-256 of what it was read from, so reopening the same file is offered the
existing dataset (:meth:`LogCatalog.find_same`) instead of a new full copy.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import duckdb

from console.services.logstore import sql
from console.services.logstore.dataset import Dataset
from console.services.logstore.importer import (
    CancelCheck,
    ImportReport,
    Progress,
    ensure_schema,
    fast_path_applies,
    import_path,
    run_watched,
)

log = logging.getLogger(__name__)


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
    complete: bool = True
    content_hash: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "source": self.source,
            "created_at": self.created_at,
            "records": self.records,
            "counts": self.counts,
            "warnings": self.warnings,
            "complete": self.complete,
            "content_hash": self.content_hash,
        }


@dataclass(frozen=True)
class Housekeeping:
    """What :meth:`LogCatalog.housekeep` found: leftovers removed, datasets left unfinished."""

    removed: list[str]
    incomplete: list[DatasetInfo]

    def messages(self) -> list[str]:
        out = []
        if self.removed:
            out.append(f"Removed {len(self.removed)} unfinished import file(s) an interrupted import left.")
        for info in self.incomplete:
            out.append(f"Dataset {info.name} ({info.id}) was interrupted before its search text and details "
                       "were read: open it to finish (CLI: 'scim-console logs finish ID').")
        return out


def content_hash(sources: Sequence[Path]) -> str | None:
    """SHA-256 over the chosen files (a folder: its files in name order), or None for anything else."""
    digest = hashlib.sha256()
    files: list[Path] = []
    for source in sources:
        if source.is_dir():
            files += sorted(p for p in source.iterdir() if p.is_file() and not p.name.startswith("."))
        elif source.is_file():
            files.append(source)
        else:
            return None
    for f in files:
        digest.update(f.name.encode() + b"\0")
        with f.open("rb") as fh:
            digest.update(hashlib.file_digest(fh, "sha256").digest())
    return digest.hexdigest() if files else None


@dataclass
class ImportJob:
    """An import between ``start_import`` (queryable) and ``save`` (listed, on disk)."""

    dataset: Dataset
    report: ImportReport
    dataset_id: str
    sources: list[Path]
    in_memory: bool
    content_hash: str | None = None


def _remove(part: Path) -> None:
    for p in (part, part.with_name(part.name + ".wal")):
        with contextlib.suppress(OSError):
            p.unlink()


def _copy_to_file(
    con: duckdb.DuckDBPyConnection, part: Path, progress: Progress, cancelled: CancelCheck
) -> None:
    """Copy every table of an in-memory dataset into a new dataset file (compressed by DuckDB)."""
    con.execute("ATTACH ? AS disk", [str(part)])
    try:
        con.execute("USE disk")
        try:
            ensure_schema(con)
        finally:
            con.execute("USE memory")
        for table in ("log_events", "log_details", "log_search", "log_order", "meta"):
            verb = "INSERT OR REPLACE" if table == "meta" else "INSERT"
            run_watched(
                con,
                f"{verb} INTO disk.{table} SELECT * FROM memory.{table}",
                [],
                progress,
                cancelled,
                "Saving the dataset",
            )
    finally:
        con.execute("DETACH disk")


def _display_name(sources: list[Path]) -> str:
    first = sources[0].name or str(sources[0])
    return first if len(sources) == 1 else f"{first} + {len(sources) - 1} more"


class LogCatalog:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def housekeep(self) -> Housekeeping:
        """Remove what a killed import left behind; list datasets stopped after stage 1.

        A ``.part`` is removed only when no process holds DuckDB's lock on it (an import running in
        another console keeps its file). The ``.spill`` directory is left alone: an in-memory import
        of another process may be using it without any ``.part`` to show for it."""
        removed: list[str] = []
        if not self.root.is_dir():
            return Housekeeping([], [])
        for part in sorted(self.root.glob("*.duckdb.part")):
            try:
                duckdb.connect(str(part)).close()
            except duckdb.IOException as exc:
                if "lock" in str(exc).lower():
                    continue  # another process is writing it
            except duckdb.Error:
                pass  # a torn file: a leftover all the same
            _remove(part)
            removed.append(part.name)
        for tmp in self.root.glob("*.json.tmp"):
            with contextlib.suppress(OSError):
                tmp.unlink()
        if removed:
            log.info("removed %d leftover import file(s): %s", len(removed), ", ".join(removed))
        return Housekeeping(removed, [i for i in self.list() if not i.complete])

    def find_same(self, sources: Sequence[Path | str]) -> DatasetInfo | None:
        """The newest dataset read from exactly this content, if any."""
        digest = content_hash([Path(s) for s in sources])
        if digest is None:
            return None
        return next((i for i in self.list() if i.content_hash == digest), None)

    @classmethod
    def for_paths(cls, paths: Any) -> LogCatalog:
        return cls(Path(paths.data_dir) / "logs")

    def _file(self, dataset_id: str) -> Path:
        if not dataset_id or not dataset_id.replace("-", "").isalnum():
            raise ValueError(f"bad dataset id {dataset_id!r}")
        return self.root / f"{dataset_id}.duckdb"

    def import_file(
        self,
        source: Path | str | Sequence[Path | str],
        progress: Progress = lambda f, t: None,
        cancelled: CancelCheck = lambda: False,
        *,
        complete: bool = True,
        date_order: str | None = None,
    ) -> tuple[DatasetInfo, ImportReport]:
        """Import a file, files chosen together (an Entra CSV download), a folder or a zip, and save it.

        With ``complete=False`` a big JSON array is saved after stage 1; ``finish`` on the opened
        dataset adds its search text and details later (the GUI does that while the user works)."""
        job = self.start_import(source, progress, cancelled, date_order=date_order)
        info = self.save(job, progress, cancelled)
        if complete and not info.complete:
            ds = self.open(info.id)
            try:
                job.report.warnings += self.finish(ds, progress, cancelled)
            finally:
                ds.close()
            info = self.info(info.id)
        return info, job.report

    def start_import(
        self,
        source: Path | str | Sequence[Path | str],
        progress: Progress = lambda f, t: None,
        cancelled: CancelCheck = lambda: False,
        *,
        date_order: str | None = None,
    ) -> ImportJob:
        """Read the input into a dataset that can be queried at once; ``save`` persists it.

        A big JSON array is read (stage 1) into an in-memory database: writing and compressing the
        columns costs another ~60 % of the read (measured), and that is better spent after the user
        can already filter. Everything else is imported straight into the dataset file."""
        sources = [Path(source)] if isinstance(source, str | Path) else [Path(s) for s in source]
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        dataset_id = datetime.now(UTC).strftime("%Y%m%d%H%M%S") + "-" + secrets.token_hex(3)
        part = self._file(dataset_id).with_name(f"{dataset_id}.duckdb.part")
        in_memory = len(sources) == 1 and fast_path_applies(sources[0])
        digest = content_hash(sources)
        con = duckdb.connect(":memory:" if in_memory else str(part))
        if in_memory:
            spill = self.root / ".spill"
            spill.mkdir(exist_ok=True, mode=0o700)
            con.execute(f"SET temp_directory='{spill.as_posix()}'")
        try:
            report = import_path(
                con, sources if len(sources) > 1 else sources[0], progress, cancelled, staged=True,
                date_order=date_order,
            )
            con.execute("INSERT OR REPLACE INTO meta VALUES ('pending', ?)", [json.dumps(report.pending)])
        except BaseException:
            con.close()
            _remove(part)
            raise
        ds = Dataset(
            con, dataset_id=dataset_id, name=_display_name(sources)
        )  # path stays None: not a stored dataset until ``save``
        return ImportJob(
            dataset=ds, report=report, dataset_id=dataset_id, sources=sources, in_memory=in_memory,
            content_hash=digest,
        )

    def save(
        self, job: ImportJob, progress: Progress = lambda f, t: None, cancelled: CancelCheck = lambda: False
    ) -> DatasetInfo:
        """Write the dataset of ``start_import`` to ``<id>.duckdb`` and list it; closes ``job.dataset``."""
        ds, report = job.dataset, job.report
        final = self._file(job.dataset_id)
        part = final.with_name(final.name + ".part")
        try:
            # A cursor of its own: the page keeps querying the dataset while it is copied.
            with ds.lock:
                con = ds.con.cursor()
            try:
                con.execute("SET TimeZone='UTC'")
                counts = dict(
                    con.execute(
                        "SELECT coalesce(status,'(none)'), count(*) FROM log_events GROUP BY 1"
                    ).fetchall()
                )
                meta = {
                    "name": ds.name,
                    "source": ", ".join(str(s) for s in job.sources),
                    "created_at": datetime.now(UTC).isoformat(),
                    "records": str(report.records),
                    "counts": json.dumps(counts),
                    "warnings": json.dumps(report.warnings),
                    "pending": json.dumps(report.pending),
                }
                con.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)", list(meta.items()))
                if not report.pending:  # complete already: number the default view now (else ``finish`` does)
                    run_watched(con, sql.ORDER_BUILD, [], progress, cancelled, "Numbering the events")
                if job.in_memory:
                    _copy_to_file(con, part, progress, cancelled)
            finally:
                con.close()
            ds.close()
        except BaseException:
            ds.close()
            _remove(part)
            raise
        part.rename(final)
        self._write_sidecar(
            final,
            {
                **meta,
                "records": report.records,
                "counts": counts,
                "warnings": report.warnings,
                "complete": not report.pending,
                "content_hash": job.content_hash,
            },
        )
        return self.info(job.dataset_id)

    def finish(
        self, ds: Dataset, progress: Progress = lambda f, t: None, cancelled: CancelCheck = lambda: False
    ) -> list[str]:
        """Complete a staged import (search text, details) and record it in the sidecar."""
        warnings = ds.complete(progress, cancelled)
        if ds.path is not None and not ds.pending:
            sidecar = ds.path.with_suffix(".json")
            meta = json.loads(sidecar.read_text(encoding="utf-8"))
            meta["warnings"] = list(meta.get("warnings", [])) + warnings
            meta["complete"] = True
            self._write_sidecar(ds.path, meta)
        return warnings

    @staticmethod
    def _write_sidecar(path: Path, meta: dict[str, Any]) -> None:
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path.with_suffix(".json"))

    def info(self, dataset_id: str) -> DatasetInfo:
        """From the sidecar ``<id>.json`` (written after the import completed): listing never opens a
        DuckDB file, so it cannot clash with a dataset the page has open."""
        path = self._file(dataset_id)
        meta = json.loads(path.with_suffix(".json").read_text(encoding="utf-8"))
        if not path.is_file():
            raise FileNotFoundError(path)
        return DatasetInfo(
            id=dataset_id,
            name=meta.get("name", dataset_id),
            source=meta.get("source", ""),
            created_at=meta.get("created_at", ""),
            records=int(meta.get("records", 0)),
            counts=dict(meta.get("counts", {})),
            warnings=list(meta.get("warnings", [])),
            path=path,
            complete=bool(meta.get("complete", True)),
            content_hash=meta.get("content_hash"),
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

    def open_ref(self, ref: str) -> Dataset:
        """A dataset by id, or ``latest`` (the newest import); a clear error when there is none."""
        from console.core.errors import UserFacingError

        if ref == "latest":
            infos = self.list()
            if not infos:
                raise UserFacingError("No imported datasets yet.", hint="Run 'scim-console logs open FILE'.")
            ref = infos[0].id
        try:
            return self.open(ref)
        except (OSError, ValueError):  # no such dataset (missing file) or a malformed id
            raise UserFacingError(f"No dataset {ref!r}.", hint="See 'scim-console logs list'.") from None

    def delete(self, dataset_id: str) -> None:
        path = self._file(dataset_id)
        for p in (path.with_suffix(".json"), path, path.with_name(path.name + ".wal")):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
