"""Lookalike identities: UTS #39 confusable skeletons of userNames and emails (docs/duplicates.md §4).

Why a library: Unicode's ``confusables.txt`` (thousands of source → prototype pairs, revised with every
Unicode version) is the standard answer to "do these two strings look the same"; ``confusable_homoglyphs``
ships it as JSON and keeps it current. Its JSON lists each pair in both directions, so the prototype of a
character is recovered as the centre of its star (confusables.txt maps every source straight to a
prototype, and prototypes map to nothing), which is all a skeleton needs.

``skeleton(key)`` = NFD, control/format characters dropped (UTS #39 ignores default-ignorables), every
character replaced by its prototype, NFD again — applied to the *identity key* (NFC + casefold), so
``АLINA@x`` and ``alina@x`` meet. The engine computes skeletons in Python only for non-ASCII keys (about
1 % of an org); the ASCII keys that could share one are found by :func:`ascii_preimages` (the few ASCII
characters with another prototype: ``m``/``rn``, ``1``/``l``, ``0``…), never by scanning every key.
"""

from __future__ import annotations

import itertools
import json
import unicodedata
from collections import defaultdict
from functools import lru_cache
from importlib import resources

from console.core.identity import char_label

_IGNORED = frozenset({"Cc", "Cf", "Zl", "Zp"})
MAX_PREIMAGES = 64  # ASCII spellings tried per skeleton (a string with many l's has many)


@lru_cache(maxsize=1)
def _tables() -> tuple[dict[int, str], dict[str, tuple[str, ...]]]:
    """(code point → prototype for every confusable source; ASCII fragment → ASCII spellings of it)."""
    raw = json.loads(resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text("utf-8"))
    neighbours: dict[str, set[str]] = defaultdict(set)
    for key, entries in raw.items():
        for entry in entries:
            other = entry["c"].replace("\u200e", "")  # the JSON wraps right-to-left glyphs in LRMs
            if other and other != key:
                neighbours[key].add(other)
                neighbours[other].add(key)
    table: dict[int, str] = {}
    for node, adjacent in neighbours.items():
        if len(node) != 1:
            continue
        # A source has one neighbour, its prototype; a prototype has every source of its class.
        if len(adjacent) == 1:
            (proto,) = adjacent
            if len(neighbours[proto]) > 1 or len(proto) > 1 or proto < node:
                table[ord(node)] = proto
    for code in itertools.chain(range(0x30000), range(0xE0000, 0xE1000)):  # default-ignorables → dropped
        if unicodedata.category(chr(code)) in _IGNORED and code not in table:
            table[code] = ""
    ascii_alternatives: dict[str, list[str]] = defaultdict(list)
    for code, proto in table.items():
        if proto and code < 128 and proto.isascii() and chr(code) == chr(code).casefold():  # keys casefolded
            ascii_alternatives[proto].append(chr(code))
    return table, {k: tuple(v) for k, v in ascii_alternatives.items()}


def skeleton(key: str) -> str:
    """The UTS #39 skeleton of an identity key (see the module docstring)."""
    table, _alternatives = _tables()
    return unicodedata.normalize("NFD", unicodedata.normalize("NFD", key).translate(table))


def ascii_preimages(skel: str, limit: int = MAX_PREIMAGES) -> list[str]:
    """ASCII keys whose skeleton is ``skel`` (at most ``limit``; none when ``skel`` is not ASCII)."""
    if not skel.isascii():
        return []
    _table, alternatives = _tables()
    fragments = sorted(alternatives, key=len, reverse=True)
    choices: list[tuple[str, ...]] = []
    i = 0
    while i < len(skel):
        hit = next((f for f in fragments if skel.startswith(f, i)), None)
        if hit is None:
            choices.append((skel[i],))
            i += 1
        else:
            choices.append((hit, *alternatives[hit]))
            i += len(hit)
    return ["".join(p) for p in itertools.islice(itertools.product(*choices), limit)]


def lookalike_keys(keys: list[str]) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """For the non-ASCII identity keys of an org: (key, skeleton) of those that can look like another
    key, and (ASCII key, skeleton) of the ASCII spellings that would look like them.

    A non-ASCII key can look like an ASCII key only if its skeleton is ASCII (``аlina`` → ``alina``),
    and like another non-ASCII key only if they share a skeleton; the rest (``lucía``, ``sørina``:
    real letters whose skeleton stays non-ASCII, alone) are left out, so most orgs give the SQL
    nothing to probe."""
    by_skeleton: dict[str, list[str]] = defaultdict(list)
    for key in keys:
        by_skeleton[skeleton(key)].append(key)
    kept: list[tuple[str, str]] = []
    ascii_side: list[tuple[str, str]] = []
    for skel, members in by_skeleton.items():
        if len(members) < 2 and not skel.isascii():
            continue
        kept.extend((k, skel) for k in members)
        ascii_side.extend((k, skel) for k in ascii_preimages(skel))
    return kept, ascii_side


def unusual_characters(value: str) -> list[str]:
    """The characters of ``value`` that make it look like another identity: anything outside ASCII
    and any invisible character, each as ``position: U+0430 CYRILLIC SMALL LETTER A``."""
    return [f"{i}: {char_label(ch)}" for i, ch in enumerate(value)
            if not ch.isascii() or unicodedata.category(ch) in _IGNORED]
