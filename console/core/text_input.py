"""How a text file customers send is encoded and delimited (docs/log-formats.md §1, pure).

One policy for every file the console reads (log exports, users exports): a byte-order mark decides
(UTF-8, UTF-16LE/BE, UTF-32); without one, UTF-16 is recognised by its zero bytes, strict UTF-8 is
tried next, and anything else is one of the single-byte Windows code pages Excel writes — Windows-1252
unless charset-normalizer's mess ratio says another page reads the text clearly better (Cyrillic,
Greek…). The caller reads the bytes; this module only decides and decodes.
"""

from __future__ import annotations

import codecs
import csv
import re
from dataclasses import dataclass

from charset_normalizer.md import mess_ratio

# Excel's "CSV (Comma delimited)"/"Text (Tab delimited)" save in the ANSI code page of Windows' locale.
SINGLE_BYTE_PAGES = ("cp1252", "cp1250", "cp1251", "cp1253", "cp1254", "cp1257", "cp1255", "cp1256")
_PAGE_NAMES = {
    "cp1252": "Windows-1252 (Western European)",
    "cp1250": "Windows-1250 (Central European)",
    "cp1251": "Windows-1251 (Cyrillic)",
    "cp1253": "Windows-1253 (Greek)",
    "cp1254": "Windows-1254 (Turkish)",
    "cp1257": "Windows-1257 (Baltic)",
    "cp1255": "Windows-1255 (Hebrew)",
    "cp1256": "Windows-1256 (Arabic)",
}
# Another page must read the non-ASCII text at least this much less "messy" to beat Windows-1252:
# short samples (a few names) often decode equally well in several pages, and 1252 is Excel's default.
_BETTER_BY = 0.03


@dataclass(frozen=True)
class TextEncoding:
    """What a file was decided to be: ``codec`` for Python, ``label`` for people."""

    codec: str
    label: str
    bom: bool = False
    guessed: bool = False  # no BOM and not valid UTF-8: a code page chosen from the bytes' content

    @property
    def utf8(self) -> bool:
        """DuckDB reads the bytes as they are (UTF-8, with or without BOM)."""
        return self.codec in ("utf-8", "utf-8-sig")


UTF8 = TextEncoding("utf-8", "UTF-8")
UTF8_SIG = TextEncoding("utf-8-sig", "UTF-8 with BOM", bom=True)
_BOMS = (
    (codecs.BOM_UTF32_LE, TextEncoding("utf-32", "UTF-32LE with BOM", bom=True)),
    (codecs.BOM_UTF32_BE, TextEncoding("utf-32", "UTF-32BE with BOM", bom=True)),
    (codecs.BOM_UTF8, UTF8_SIG),
    (codecs.BOM_UTF16_LE, TextEncoding("utf-16", "UTF-16LE with BOM", bom=True)),
    (codecs.BOM_UTF16_BE, TextEncoding("utf-16", "UTF-16BE with BOM", bom=True)),
)


class UndecodableText(ValueError):
    """The bytes are not text in the encoding they claim (or any we accept); ``position`` says where."""

    def __init__(self, message: str, position: str) -> None:
        super().__init__(message)
        self.message = message
        self.position = position


def detect(sample: bytes, *, complete: bool = False) -> TextEncoding:
    """The encoding of a file from its first bytes (``complete``: the sample is the whole file)."""
    for bom, enc in _BOMS:
        if sample.startswith(bom):
            return enc
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return utf16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=complete)
        return UTF8
    except UnicodeDecodeError:
        pass
    if b"\x00" in sample:
        raise UndecodableText(
            "This is not a text file (it contains zero bytes but is not UTF-16).",
            position=f"byte {sample.index(0):,}",
        )
    return single_byte_page(sample)


def _utf16_without_bom(sample: bytes) -> TextEncoding | None:
    """UTF-16 of mostly ASCII text has a zero in every other byte (which side says the byte order)."""
    head = sample[:4096]
    if len(head) < 4:
        return None
    even, odd = head[0::2], head[1::2]
    zeros_even, zeros_odd = even.count(0) / len(even), odd.count(0) / len(odd)
    if zeros_odd > 0.3 and zeros_even < 0.05:
        return TextEncoding("utf-16-le", "UTF-16LE without BOM", guessed=True)
    if zeros_even > 0.3 and zeros_odd < 0.05:
        return TextEncoding("utf-16-be", "UTF-16BE without BOM", guessed=True)
    return None


def single_byte_page(sample: bytes) -> TextEncoding:
    """Windows-1252 unless another Excel code page reads the non-ASCII lines clearly better."""
    lines = [ln for ln in sample.split(b"\n") if any(b > 0x7F for b in ln)]
    text_bytes = b"\n".join(lines)[: 64 * 1024]
    scores: list[tuple[float, int, str]] = []
    for order, page in enumerate(SINGLE_BYTE_PAGES):
        try:
            text = text_bytes.decode(page)
        except UnicodeDecodeError:
            continue
        scores.append((mess_ratio(text, 1.0), order, page))
    base = next((s for s, _o, p in scores if p == "cp1252"), 1.0)
    best_score, _order, best = min(scores) if scores else (1.0, 0, "cp1252")
    page = best if best != "cp1252" and best_score <= base - _BETTER_BY else "cp1252"
    return TextEncoding(page, _PAGE_NAMES[page], guessed=True)


def decode(data: bytes, enc: TextEncoding | None = None) -> tuple[str, TextEncoding]:
    """The whole text of a (small) file, strictly: an undecodable byte is an error with its line."""
    enc = enc or detect(data, complete=True)
    try:
        text = data.decode(enc.codec)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise UndecodableText(
            f"The file is not valid {enc.label}: {exc.reason} (bytes {exc.start:,}–{exc.end:,}).",
            position=f"line {line}",
        ) from None
    return text.lstrip("\ufeff"), enc


def warning(file: str, enc: TextEncoding) -> str | None:
    """What to tell the user about an encoding that was guessed, not declared (None: nothing to say)."""
    if not enc.guessed:
        return None
    if enc.codec.startswith("utf-16"):
        return (
            f"{file}: no byte-order mark; read as {enc.label} from its zero bytes. If the text looks "
            "wrong, save the file again as “CSV UTF-8” (or JSON in UTF-8)."
        )
    return (
        f"{file}: not UTF-8; read as {enc.label}, chosen from its bytes. Check accented names; if they "
        "look wrong, save the file again as “CSV UTF-8 (Comma delimited)” and import it again."
    )


_SEP_LINE = re.compile(r'^"?sep=(.)"?[,;\t]*\r?$')


def split_header(text: str) -> tuple[str, str, int]:
    """(header line, delimiter, lines before it) of a CSV's decoded head.

    Tools that write CSV for Excel may put ``sep=;`` on the first line (Excel reads it as the
    delimiter and hides it); the header is then the second line."""
    lines = text.split("\n", 2)
    first = lines[0].rstrip("\r")
    m = _SEP_LINE.match(first)
    if m:
        header = lines[1].rstrip("\r") if len(lines) > 1 else ""
        return header, m.group(1), 1
    return first, sniff_delimiter(first), 0


def sniff_delimiter(header: str) -> str:
    """``,`` ``;`` or tab: the one the header line (outside quotes) holds most of; ``,`` by default.

    Excel writes ``;`` where the decimal separator is a comma (de-DE, fr-FR…) and tab for "Unicode
    Text"; a header line is the most reliable sample (data rows may hold any of them in text)."""
    best, best_n = ",", 0
    for delim in (",", ";", "\t"):
        row = next(csv.reader([header], delimiter=delim), [])
        if len(row) - 1 > best_n:
            best, best_n = delim, len(row) - 1
    return best
