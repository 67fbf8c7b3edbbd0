"""What the user chose → the files to import: one file, several files chosen together, a folder, a zip.

The Entra CSV download is three files (``ProvisioningLogs``, ``…_ProvisioningSteps``,
``…_ModifiedProperties``, entra-facts §2.3) that only make sense together, so CSV files are grouped
into sets here; every other file is imported on its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from console.services.logstore import reader
from console.services.logstore.errors import LogImportError, NotALogError

MAX_FOLDER_FILES = 100


@dataclass
class CsvSet:
    """The files of one Entra CSV download (any may be missing; ``names`` are for messages)."""

    main: Path | None = None
    steps: list[Path] = field(default_factory=list)
    mods: list[Path] = field(default_factory=list)
    names: dict[Path, str] = field(default_factory=dict)

    def name(self, path: Path) -> str:
        return self.names.get(path, path.name)


@dataclass
class Item:
    kind: str  # "json" (array, NDJSON, Graph pages) or "csv"
    path: Path
    name: str
    temporary: bool = False  # extracted from a zip: gone after the import
    csv: CsvSet | None = None


def _files_of(path: Path, tmp: Path, cancelled: Callable[[], bool]) -> Iterator[tuple[Path, str, bool]]:
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith("."))
        if not files:
            raise NotALogError("The folder holds no files.", file=str(path))
        if len(files) > MAX_FOLDER_FILES:
            raise LogImportError(
                f"The folder holds {len(files)} files (at most {MAX_FOLDER_FILES}).", file=str(path)
            )
        for f in files:
            yield from _files_of(f, tmp, cancelled)
        return
    if not path.exists():
        raise LogImportError("File not found.", file=str(path))
    if not path.is_file():  # a FIFO, a device (/dev/zero), a socket: never read it (it may not end)
        raise LogImportError("This is not a regular file (a pipe, device or socket); save the export to a "
                             "file and open that.", file=str(path))
    if reader.is_zip(path):
        dest = tmp / f"z{len(list(tmp.iterdir()))}"
        dest.mkdir()
        members = reader.extract_zip(path, dest, cancelled)
        if not members:
            raise NotALogError("The archive is empty.", file=path.name)
        for member in members:
            yield member, f"{path.name}:{member.name[4:]}", True
        return
    yield path, path.name, False


def expand(
    chosen: Path | Sequence[Path], tmp: Path, cancelled: Callable[[], bool] = lambda: False
) -> list[Item]:
    """The import items, JSON files first in the order chosen, then one item per CSV download."""
    from console.services.logstore import csv_import

    paths = [Path(chosen)] if isinstance(chosen, str | Path) else [Path(p) for p in chosen]
    if not paths:
        raise LogImportError("No file chosen.", file="(none)")
    items: list[Item] = []
    csvs: list[tuple[Path, str, str]] = []  # path, display name, role
    for p in paths:
        for f, name, temporary in _files_of(p, tmp, cancelled):
            role = csv_import.csv_role(f, name)
            if role is None:
                items.append(Item("json", f, name, temporary))
            else:
                csvs.append((f, name, role))
    for group in csv_import.group_sets(csvs):
        first = group.main or (group.steps + group.mods)[0]
        items.append(Item("csv", first, group.name(first), True, group))
    return items
