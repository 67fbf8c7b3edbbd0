"""The one decoding policy for customers' files (core.text_input; docs/log-formats.md §1)."""

from __future__ import annotations

import codecs

import pytest

from console.core.text_input import UndecodableText, decode, detect, sniff_delimiter, warning

TEXT = "userPrincipalName,displayName\nzoe@contoso.com,Zoë Müller\n"


@pytest.mark.parametrize(("data", "codec", "label", "guessed"), [
    (TEXT.encode("utf-8"), "utf-8", "UTF-8", False),
    (codecs.BOM_UTF8 + TEXT.encode("utf-8"), "utf-8-sig", "UTF-8 with BOM", False),
    (TEXT.encode("utf-16"), "utf-16", "UTF-16LE with BOM", False),  # Excel "Unicode Text", PS 5.1
    (codecs.BOM_UTF16_BE + TEXT.encode("utf-16-be"), "utf-16", "UTF-16BE with BOM", False),
    (TEXT.encode("utf-16-le"), "utf-16-le", "UTF-16LE without BOM", True),
    (TEXT.encode("utf-16-be"), "utf-16-be", "UTF-16BE without BOM", True),
    (TEXT.encode("cp1252"), "cp1252", "Windows-1252 (Western European)", True),  # Excel "CSV (Comma…)"
    ("id,name\n1,Петров Иван Сергеевич,ivan@x.com\n".encode("cp1251"), "cp1251", "Windows-1251 (Cyrillic)",
     True),
    ("id,name\n1,Ελένη Παπαδοπούλου\n".encode("cp1253"), "cp1253", "Windows-1253 (Greek)", True),
])
def test_detects_and_decodes_every_encoding_excel_and_powershell_write(
    data: bytes, codec: str, label: str, guessed: bool
) -> None:
    enc = detect(data, complete=True)
    assert (enc.codec, enc.label, enc.guessed) == (codec, label, guessed)
    text, _ = decode(data)
    assert not text.startswith("\ufeff")
    assert text.splitlines()[0].startswith(("userPrincipalName", "id"))


def test_text_that_reads_as_well_in_other_pages_stays_windows_1252_and_says_so() -> None:
    """German names decode identically in 1250 and 1252: Excel's default stands, with the warning."""
    enc = detect("x,Jürgen Groß\n".encode("cp1252"), complete=True)
    assert enc.codec == "cp1252"
    note = warning("users.csv", enc)
    assert note is not None
    assert note.startswith("users.csv: not UTF-8; read as Windows-1252 (Western European)")
    assert "CSV UTF-8" in note


def test_declared_encodings_need_no_warning() -> None:
    assert warning("f.csv", detect(TEXT.encode("utf-16"))) is None
    assert warning("f.csv", detect(TEXT.encode("utf-8"))) is None


def test_binary_and_contradicting_bytes_are_refused_with_their_position() -> None:
    with pytest.raises(UndecodableText, match="not a text file") as info:
        detect(b"PK\x03\x04\x00\x00\x14\x00\x00\x00\xff\xfe\x00\x01" * 10, complete=True)
    assert info.value.position == "byte 4"
    with pytest.raises(UndecodableText, match="not valid UTF-8 with BOM") as info:
        decode(codecs.BOM_UTF8 + b"a,b\nc,caf\xe9\n")
    assert info.value.position == "line 2"
    with pytest.raises(UndecodableText, match="not valid UTF-16LE with BOM"):
        decode(codecs.BOM_UTF16_LE + "ab".encode("utf-16-le") + b"\x00")  # odd length


@pytest.mark.parametrize(("header", "delimiter"), [
    ("Date (UTC),Id,Status", ","),
    ("Date (UTC);Id;Status", ";"),  # de-DE / fr-FR Excel
    ("Date (UTC)\tId\tStatus", "\t"),  # "Unicode Text"
    ('"Name, full";Id;Status', ";"),  # a comma inside quotes does not count
    ("userPrincipalName", ","),
])
def test_delimiter_is_the_one_the_header_holds_most_of(header: str, delimiter: str) -> None:
    assert sniff_delimiter(header) == delimiter
