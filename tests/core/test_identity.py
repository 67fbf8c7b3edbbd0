"""Identity strings (issue 14): invisible characters named, names folded, the live twin judgement."""

from __future__ import annotations

from console.core.identity import char_label, fold_name, invisible_chars, nfc
from console.core.reconcile.findings import Account
from console.core.reconcile.twin_match import judge, local_part_agrees


def test_invisible_characters_are_named_with_their_position() -> None:
    assert invisible_chars("z\u200bw\x00\u202e") == [
        (1, "U+200B ZERO WIDTH SPACE"), (3, "U+0000 NULL"), (4, "U+202E RIGHT-TO-LEFT OVERRIDE")]
    assert invisible_chars("ordinary name é") == []
    assert char_label("\u0430") == "U+0430 CYRILLIC SMALL LETTER A"
    assert char_label("\x07") == "U+0007 <Cc>"
    assert nfc("e\u0301") == "\u00e9"


def test_names_fold_accents_case_and_spaces_only() -> None:
    assert fold_name("  Lucía   GÓMEZ ") == fold_name("lucia gomez") == "lucia gomez"
    assert fold_name("Jane Doe") != fold_name("Jane Dow")
    assert fold_name(None) == ""


def test_local_parts_agree_on_the_patterns_entra_upns_follow() -> None:
    assert local_part_agrees("jane.doe@legacy.com", "jdoe@corp.com", "Jane Doe")
    assert local_part_agrees("jane.doe@legacy.com", "janedoe@corp.com", "Jane Doe")
    assert local_part_agrees("jd@legacy.com", "jdoe@corp.com", "Jane Doe")   # from the name
    assert not local_part_agrees("jane.doe@legacy.com", "jdoe2@corp.com", "Jane Doe")
    assert not local_part_agrees("jane.doe@legacy.com", "", "Jane Doe")


def test_judge_grades_and_skips() -> None:
    new = Account("s1", "jdoe@corp.com", ("jdoe@corp.com",), created_via="scim", external_id="o1",
                  display_name="Jane Doe", created_at="2026-01-01T00:00:00+00:00")
    old = Account("m1", "jane.doe@corp.com", ("jane.doe@corp.com",), display_name="jane doe",
                  created_at="2024-01-01T00:00:00+00:00")
    linked = Account("m2", "j.d@corp.com", ("j.d@corp.com",), display_name="Jane Doe", external_id="o9")
    [j] = judge(new, [old, linked], ["corp.com"])
    assert (j.original.id, j.confidence) == ("m1", "certain")
    assert j.evidence[:2] == ("same name: jane doe", "jane.doe ↔ jdoe (the address matches)")
    assert judge(new, [old], ["elsewhere.com"])[0].confidence == "likely"
    crowd = [Account(f"m{i}", f"x{i}@corp.com", (f"x{i}@corp.com",), display_name="Jane Doe")
             for i in range(17)]
    assert judge(new, crowd) == []  # a name shared that widely is no evidence
    assert judge(Account("s2", "a@corp.com", created_via="manual", display_name="Jane Doe"), [old]) == []
