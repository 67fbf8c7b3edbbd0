"""One likely-twin judgement, in Python: the live flag's version of the engine's ``TWIN_STEP``.

Why a second copy of the rule: the engine judges a whole org in SQL, the live flag judges one SCIM
create the moment it arrives (docs/duplicates.md §3) against the few manual accounts with that name.
Both use the same signals and the same grading; tests/services/test_reconcile_twins.py holds this one
to the engine's results on the same pairs.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from console.core.identity import fold_name
from console.core.reconcile.findings import CERTAIN, LIKELY, POSSIBLE, Account

_NOT_ALNUM = re.compile(r"[^a-z0-9]")


def _local(address: str) -> str:
    return _NOT_ALNUM.sub("", fold_name(address.split("@", 1)[0]))


def local_part_agrees(manual_address: str, scim_user_name: str, name: str) -> bool:
    """``jane.doe`` ↔ ``janedoe`` / ``jdoe``; or the name's initial + family / given + family."""
    scim = _local(scim_user_name)
    if not scim:
        return False
    tokens = [t for t in re.split(r"[^a-z0-9]+", fold_name(manual_address.split("@", 1)[0])) if t]
    words = fold_name(name).split(" ")
    candidates = {_local(manual_address)}
    if len(tokens) >= 2:
        candidates.add(tokens[0][0] + tokens[-1])
    if len(words) >= 2:
        candidates |= {_NOT_ALNUM.sub("", words[0][:1] + words[-1]), _NOT_ALNUM.sub("", words[0] + words[-1])}
    return scim in candidates


@dataclass(frozen=True, slots=True)
class TwinJudgement:
    original: Account
    confidence: str
    evidence: tuple[str, ...]


def judge(new: Account, candidates: Sequence[Account],
          org_domains: Sequence[str] = ()) -> list[TwinJudgement]:
    """The manual accounts among ``candidates`` that ``new`` (a SCIM-created account) is a likely twin
    of, most confident first; empty when its name is shared too widely to mean anything."""
    name = fold_name(new.display_name)
    if not name or new.created_via != "scim":
        return []
    same = [c for c in candidates if c.id != new.id and c.created_via != "scim" and not c.linked
            and c.merged_into_id is None and fold_name(c.display_name) == name]
    if not same or len(same) > 16:
        return []
    domains = {d.lower() for d in org_domains}
    out = []
    for c in same:
        address = c.primary_email or c.user_name
        local = local_part_agrees(address, new.user_name, new.display_name or "")
        one = len(same) == 1
        predates = bool(c.created_at and new.created_at and c.created_at < new.created_at)
        outside = bool(domains) and address.rsplit("@", 1)[-1].lower() not in domains
        if not local and not one:
            continue
        if local and one and predates and not outside:
            level = CERTAIN
        elif local + one + predates >= 2 and (local or not outside):
            level = LIKELY
        else:
            level = POSSIBLE
        evidence = [f"same name: {c.display_name}",
                    f"{address.split('@', 1)[0]} ↔ {new.user_name.split('@', 1)[0]}"
                    + (" (the address matches)" if local else " (the addresses do not match)")]
        if predates:
            evidence.append("the manual account predates the SCIM one")
        if outside:
            evidence.append(f"{address.rsplit('@', 1)[-1]} is none of the organisation's domains")
        out.append(TwinJudgement(c, level, tuple(evidence)))
    rank = {CERTAIN: 0, LIKELY: 1, POSSIBLE: 2}
    return sorted(out, key=lambda j: (rank[j.confidence], j.original.user_name))
