"""Reading customers' text files by one policy (``core.text_input``; docs/log-formats.md §1).

DuckDB reads UTF-8 only, so a file in any other encoding is transcoded into a UTF-8 copy first —
streamed in 1 MiB chunks, never held whole — and a big UTF-8 file is never touched by Python.
"""

from __future__ import annotations

import codecs
import functools
from collections.abc import Callable
from pathlib import Path

from console.core.errors import Cancelled
from console.core.text_input import UTF8, TextEncoding, UndecodableText, decode, detect, single_byte_page

SAMPLE_BYTES = 1 << 20
CHUNK_BYTES = 1 << 20


def head(path: Path, n: int = SAMPLE_BYTES) -> bytes:
    with Path(path).open("rb") as f:
        return f.read(n)


def detect_file(path: Path, *, validate: bool = False) -> TextEncoding:
    """The encoding of ``path`` from its first MiB; ``validate`` also checks that a file that looks
    like UTF-8 is UTF-8 to its end (a streamed strict decode: ~1 s per GB). Without a BOM, a bad byte
    later on decides again from there (an Excel re-save does not mix encodings, so that is the file's
    code page); with a UTF-8 BOM it is an error naming the line.

    Remembered per (path, size, mtime): one import asks several times (role, shape, read) and a
    1 GB CSV should be validated once."""
    st = Path(path).stat()
    return _detect_cached(str(path), st.st_size, st.st_mtime_ns, validate)


@functools.lru_cache(maxsize=64)
def _detect_cached(path_text: str, _size: int, _mtime: int, validate: bool) -> TextEncoding:
    path = Path(path_text)
    sample = head(path)
    complete = len(sample) < SAMPLE_BYTES
    enc = detect(sample, complete=complete)
    if not enc.utf8 or not validate or (enc is UTF8 and complete):
        return enc
    bad = first_invalid_utf8(path)
    if bad is None:
        return enc
    offset, line = bad
    if enc.bom:
        raise UndecodableText(
            f"The file starts with a UTF-8 byte-order mark but byte {offset:,} is not UTF-8.",
            position=f"line {line}",
        )
    with Path(path).open("rb") as f:
        f.seek(max(0, offset - 4096))
        return single_byte_page(f.read(SAMPLE_BYTES))


def first_invalid_utf8(path: Path) -> tuple[int, int] | None:
    """(byte offset, line) of the first byte that is not UTF-8, or None (streamed)."""
    dec = codecs.getincrementaldecoder("utf-8")()
    offset = 0
    lines = 1
    with Path(path).open("rb") as f:
        while chunk := f.read(CHUNK_BYTES):
            try:
                dec.decode(chunk)
            except UnicodeDecodeError as exc:
                return offset + exc.start, lines + chunk.count(b"\n", 0, exc.start)
            offset += len(chunk)
            lines += chunk.count(b"\n")
        try:
            dec.decode(b"", final=True)
        except UnicodeDecodeError:
            return offset, lines
    return None


def utf8_copy(
    path: Path,
    enc: TextEncoding,
    out: Path,
    cancelled: Callable[[], bool] = lambda: False,
) -> Path:
    """Write ``path`` (in ``enc``) to ``out`` as UTF-8 without BOM, streamed; strict: a byte that is not
    ``enc`` raises UndecodableText naming the line."""
    dec = codecs.getincrementaldecoder(enc.codec)("strict")
    lines = 1
    offset = 0
    first = True
    with Path(path).open("rb") as src, Path(out).open("w", encoding="utf-8", newline="") as dst:
        while True:
            chunk = src.read(CHUNK_BYTES)
            if cancelled():
                raise Cancelled()
            try:
                text = dec.decode(chunk, final=not chunk)
            except UnicodeDecodeError as exc:
                raise UndecodableText(
                    f"The file is not valid {enc.label}: {exc.reason} at byte {offset + exc.start:,}.",
                    position=f"line {lines}",
                ) from None
            if first:
                text = text.lstrip("\ufeff")
                first = False
            lines += text.count("\n")
            dst.write(text)
            offset += len(chunk)
            if not chunk:
                break
    return Path(out)


def read_text(path: Path, max_bytes: int) -> tuple[str, TextEncoding]:
    """The whole text of a small file (users exports): detected, strictly decoded, BOM removed."""
    with Path(path).open("rb") as f:
        data = f.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise UndecodableText(f"The file is larger than {max_bytes // (1 << 20)} MB.", position="")
    return decode(data)
