"""The Entra users export ("Download users") as Excel re-saves it, read by both of its readers — the
wizard's prediction (``core.preflight``) and ``reconcile --entra-users`` (the engine) — with the log
importer's decoding policy and the same warnings (docs/log-formats.md §1)."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest

from console.core.preflight import parse_entra_users_csv
from console.services.reconcile.engine import ReconcileEngine

HEADER = ["userPrincipalName", "displayName", "surname", "mail", "givenName", "objectId", "accountEnabled"]
ROWS = [
    ["juergen@contoso.com", "Jürgen Groß", "Groß", "juergen@contoso.com", "Jürgen", "o-1", "True"],
    ["zoe@contoso.com", "Zoë Müller", "Müller", "", "Zoë", "o-2", "False"],
    ["ana_fabrikam.com#EXT#@contoso.onmicrosoft.com", "Ana Núñez", "Núñez", "ana@fabrikam.com", "Ana", "o-3",
     "True"],
]
# Excel's "Save as" choices: (delimiter, encoding, guessed encoding → warning)
SAVES = {
    "CSV (Comma delimited), en-US": (",", "cp1252", True),
    "CSV (Comma delimited), de-DE": (";", "cp1252", True),
    "Unicode Text (.txt)": ("\t", "utf-16", False),
    "CSV UTF-8 (Comma delimited)": (",", "utf-8-sig", False),
}


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[ReconcileEngine]:
    with ReconcileEngine("corp", workdir=tmp_path) as e:
        yield e


def _write(path: Path, save: str) -> Path:
    delimiter, encoding, _ = SAVES[save]
    with path.open("w", encoding=encoding, newline="") as f:
        csv.writer(f, dialect="excel", delimiter=delimiter).writerows([HEADER, *ROWS])
    return path


@pytest.mark.parametrize("save", list(SAVES))
def test_both_readers_read_every_excel_save_alike(tmp_path: Path, engine: ReconcileEngine, save: str) -> None:
    path = _write(tmp_path / "users.csv", save)
    users, wizard_warnings = parse_entra_users_csv(path.read_bytes())
    assert [(u.upn, u.display_name, u.mail, u.object_id, u.enabled) for u in users] == [
        (r[0], r[1], r[3], r[5], r[6] == "True") for r in ROWS
    ]
    load = engine.load_entra_export(path)
    assert (load.rows, load.skipped) == (3, 0)
    got = engine.con.execute("SELECT upn, display_name, mail, object_id, enabled FROM e ORDER BY object_id")
    assert got.fetchall() == [(r[0], r[1], r[3] or None, r[5], r[6] == "True") for r in ROWS]
    guessed = SAVES[save][2]
    assert len(wizard_warnings) == len(load.warnings) == (1 if guessed else 0)
    if guessed:  # the same words from both readers (only the file's name differs)
        assert wizard_warnings[0] == load.warnings[0].replace("users.csv", "the users export")
        assert "read as Windows-1252 (Western European)" in load.warnings[0]


def test_a_sep_line_for_excel_is_skipped_by_both_readers(tmp_path: Path, engine: ReconcileEngine) -> None:
    """Scripts writing CSV for Excel put ``sep=;`` first; Excel hides it, so must we."""
    path = tmp_path / "users.csv"
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        f.write("sep=;\r\n")
        csv.writer(f, delimiter=";").writerows([HEADER, *ROWS])
    users, warnings = parse_entra_users_csv(path.read_bytes())
    assert ([u.upn for u in users], warnings) == ([r[0] for r in ROWS], [])
    load = engine.load_entra_export(path)
    assert (load.rows, load.skipped, load.warnings) == (3, 0, ())
