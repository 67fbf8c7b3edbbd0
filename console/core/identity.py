"""Identity strings (userNames, emails, names): normalisation, invisible characters, name folding.

Why one pure module: the sandbox's SCIM door refuses what the reconciler would otherwise have to
untangle later (docs/duplicates.md §2), and the reconciler compares names the same way the door
decides whether a re-POST is "plausibly the same person" — one rule, two places that use it.
"""

from __future__ import annotations

import unicodedata

# Categories no userName or email address may contain: control (Cc: NUL, TAB, ESC …), format (Cf:
# zero-width space/joiners, BOM, bidi overrides, soft hyphen) and the line/paragraph separators.
# Each makes two strings that look the same but are different accounts (docs/duplicates.md §2.2).
_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp"})


def nfc(value: str) -> str:
    """Unicode NFC: the one composed spelling of ``é`` (U+00E9, not ``e`` + U+0301)."""
    return unicodedata.normalize("NFC", value)


def char_label(ch: str) -> str:
    """``U+0430 CYRILLIC SMALL LETTER A`` — a character made visible, also when it has no name."""
    name = unicodedata.name(ch, "")
    if not name:
        name = {"\x00": "NULL"}.get(ch, f"<{unicodedata.category(ch)}>")
    return f"U+{ord(ch):04X} {name}"


def invisible_chars(value: str) -> list[tuple[int, str]]:
    """(position, label) of every control, format or separator character in ``value``."""
    return [(i, char_label(ch)) for i, ch in enumerate(value)
            if unicodedata.category(ch) in _REFUSED_CATEGORIES]


def fold_name(value: str | None) -> str:
    """A person's name for comparison: accents stripped, case folded, spaces collapsed.

    ``Lucía Gómez`` and ``lucia  gomez`` fold alike; different names stay different. Not for
    storage: stored values stay exactly as sent."""
    if not value:
        return ""
    decomposed = unicodedata.normalize("NFKD", value)
    stripped = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(stripped.casefold().split())
