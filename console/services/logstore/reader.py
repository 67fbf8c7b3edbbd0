"""Format sniffing, safe zip extraction and the tolerant streaming reader.

The fast path is DuckDB reading the file itself. When it refuses the file (truncated, corrupt,
wrong encoding, nesting bomb), ``iter_records`` re-reads it in Python, streaming — never
``json.load`` of the whole file — to keep every valid record before the first corruption and to
say exactly where it stopped (desktop-stack §6.4).
"""

from __future__ import annotations

import codecs
import itertools
import json
import re
import stat
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from console.core.errors import Cancelled
from console.core.text_input import UndecodableText, detect
from console.services.logstore.errors import LogImportError, NotALogError

CHUNK_CHARS = 1 << 20
MAX_RECORD_CHARS = 64 << 20
ZIP_MAX_MEMBERS = 100
ZIP_MAX_RATIO = 200  # uncompressed/compressed; real JSON logs compress ~10-30x
ZIP_MAX_TOTAL = 16 << 30
_GRAPH_HEAD = re.compile(r'^\{\s*(?:"@odata\.[^"]*"\s*:\s*(?:"[^"]*"|null)\s*,\s*)*"value"\s*:\s*\[')

ARRAY, STREAM, GRAPH, GRAPH_ARRAY = "array", "ndjson", "graph", "graph-array"


def sniff(path: Path) -> str:
    """``array`` (a top-level JSON array), ``graph`` (Graph pages), ``graph-array`` (an array of Graph
    pages, as a script collecting pages writes) or ``ndjson``; else NotALogError. The head is decoded
    by the shared encoding policy, so a UTF-16 file is recognised as what it is."""
    with path.open("rb") as f:
        head = f.read(64 * 1024)
    try:
        codec = detect(head).codec
    except UndecodableText as exc:
        raise NotALogError(exc.message, file=path.name, position=exc.position) from None
    text = codecs.getincrementaldecoder(codec)(errors="replace").decode(head).lstrip("\ufeff \t\r\n")
    if text.startswith("["):
        return GRAPH_ARRAY if _GRAPH_HEAD.match(text[1:].lstrip()) else ARRAY
    if text.startswith("{"):
        if _GRAPH_HEAD.match(text) or ('"@odata' in text[:200] and '"value"' in text):
            return GRAPH
        return STREAM
    if "," in text.split("\n", 1)[0] or "\t" in text.split("\n", 1)[0]:
        raise NotALogError(
            "Not a provisioning log: this looks like a CSV file, but its header has none of the "
            "columns of an Entra provisioning-log download (Id, Date, Status, Change ID…).",
            file=path.name,
            position="line 1",
        )
    raise NotALogError(
        "Not a provisioning log: expected a JSON array, NDJSON or Graph pages.",
        file=path.name,
        position="byte 0",
    )


def is_zip(path: Path) -> bool:
    with path.open("rb") as f:
        return f.read(4) == b"PK\x03\x04"


def extract_zip(path: Path, dest: Path, cancelled: Callable[[], bool] = lambda: False) -> list[Path]:
    """Extract members safely: no ``..``/absolute paths/symlinks, member and byte caps counted while
    streaming (the sizes in the headers can lie)."""
    out: list[Path] = []
    budget = min(ZIP_MAX_TOTAL, max(path.stat().st_size, 1) * ZIP_MAX_RATIO)
    written = 0
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        raise LogImportError(f"Not a readable zip archive: {exc}", file=path.name) from None
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        if len(infos) > ZIP_MAX_MEMBERS:
            raise LogImportError(
                f"The archive has {len(infos)} files (at most {ZIP_MAX_MEMBERS}).", file=path.name
            )
        for n, info in enumerate(infos):
            name = PurePosixPath(info.filename.replace("\\", "/"))
            where = f"member {info.filename!r}"
            if name.is_absolute() or ".." in name.parts or re.match(r"^[A-Za-z]:", info.filename):
                raise LogImportError("The archive contains an unsafe path.", file=path.name, position=where)
            if stat.S_ISLNK(info.external_attr >> 16):
                raise LogImportError("The archive contains a symbolic link.", file=path.name, position=where)
            target = dest / f"{n:03d}_{name.name}"
            try:
                with zf.open(info) as src, target.open("wb") as dst:
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > budget:
                            raise LogImportError(
                                f"The archive expands to more than {budget:,} bytes (a zip bomb?); "
                                "extract it yourself if it is genuine.",
                                file=path.name,
                                position=where,
                            )
                        if cancelled():
                            raise Cancelled()
                        dst.write(chunk)
            except (zipfile.BadZipFile, EOFError, OSError) as exc:
                if isinstance(exc, LogImportError):
                    raise
                raise LogImportError(f"Corrupt archive: {exc}", file=path.name, position=where) from None
            out.append(target)
    return out


@dataclass
class Stop:
    """Why the tolerant reader stopped early (None when it read to the end)."""

    message: str
    position: str


@dataclass
class ReadState:
    records: int = 0
    skipped: int = 0
    encoding: str = "utf-8"
    stop: Stop | None = None


def _text_chunks(path: Path, encoding: str) -> Iterator[str]:
    with path.open("r", encoding=encoding, errors="strict", newline="") as f:
        while chunk := f.read(CHUNK_CHARS):
            yield chunk


def iter_records(
    path: Path,
    kind: str,
    state: ReadState,
    encoding: str = "utf-8-sig",
    cancelled: Callable[[], bool] = lambda: False,
) -> Iterator[dict[str, Any]]:
    """Yield record objects; on corruption set ``state.stop`` (file position) and end.

    Raises UnicodeDecodeError when the file is not in ``encoding``; the caller then restarts with
    Windows-1252 (a common re-save of the file) from scratch.
    """
    state.encoding = encoding
    return _iter(path, kind, state, encoding, cancelled)


def _iter(
    path: Path, kind: str, state: ReadState, encoding: str, cancelled: Callable[[], bool]
) -> Iterator[dict[str, Any]]:
    dec = json.JSONDecoder()
    chunks = _text_chunks(path, encoding)
    buf = ""
    base = 0  # characters dropped from the front of buf
    lines_before = 0  # newlines in the dropped part
    eof = False
    pos = 0
    array = kind in (ARRAY, GRAPH_ARRAY)
    started = not array
    first = True

    def more() -> bool:
        nonlocal buf, eof
        try:
            buf += next(chunks)
            return True
        except StopIteration:
            eof = True
            return False

    def where(p: int) -> str:
        line = lines_before + buf.count("\n", 0, p) + 1
        return f"line {line}, character {base + p:,}"

    more()
    while True:
        if cancelled():
            raise Cancelled()
        if pos > CHUNK_CHARS:
            lines_before += buf.count("\n", 0, pos)
            base += pos
            buf = buf[pos:]
            pos = 0
        while pos < len(buf) and buf[pos] in " \t\r\n\ufeff":
            pos += 1
        if pos >= len(buf):
            if more():
                continue
            if array and started:
                state.stop = Stop("The file ends before the closing ']' (truncated?).", where(pos))
            elif array:
                state.stop = Stop("The file is empty.", where(pos))
            return
        ch = buf[pos]
        item_start = pos
        if not started:
            if ch != "[":
                state.stop = Stop(f"Expected '[' but found {ch!r}.", where(pos))
                return
            started = True
            pos += 1
            continue
        if array:
            if ch == "]":
                return
            if not first:
                if ch != ",":
                    state.stop = Stop(f"Expected ',' or ']' but found {ch!r}.", where(pos))
                    return
                pos += 1
                while True:
                    while pos < len(buf) and buf[pos] in " \t\r\n":
                        pos += 1
                    if pos < len(buf) or not more():
                        break
        try:
            value, end = dec.raw_decode(buf, pos)
        except json.JSONDecodeError as exc:
            need_more = exc.pos >= len(buf) - 1 or exc.msg.startswith("Unterminated")
            if need_more and not eof and len(buf) - pos < MAX_RECORD_CHARS:
                more()
                pos = item_start
                continue
            if need_more and len(buf) - pos >= MAX_RECORD_CHARS:
                state.stop = Stop(f"A record is larger than {MAX_RECORD_CHARS:,} characters.", where(pos))
            elif eof and need_more:
                state.stop = Stop("The file ends in the middle of a record (truncated).", where(pos))
            else:
                state.stop = Stop(f"Malformed JSON: {exc.msg}.", where(exc.pos))
            return
        except RecursionError:
            state.stop = Stop("Nesting too deep (a nesting bomb?).", where(pos))
            return
        first = False
        pos = end
        if isinstance(value, dict) and isinstance(value.get("value"), list) and kind in (GRAPH, GRAPH_ARRAY):
            for item in value["value"]:
                if isinstance(item, dict):
                    state.records += 1
                    yield item
                else:
                    state.skipped += 1
        elif isinstance(value, dict):
            state.records += 1
            yield value
        else:
            state.skipped += 1


def head_records(path: Path, kind: str, n: int = 20) -> list[dict[str, Any]]:
    """The first ``n`` records (a few MB read at most); [] when the head does not decode."""
    try:
        return list(itertools.islice(iter_records(path, kind, ReadState()), n))
    except (UnicodeDecodeError, OSError):
        return []
