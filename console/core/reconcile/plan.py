"""From findings to a plan: the exact, previewable steps that fix them (a dry run until applied).

Why the plan is its own object: the operator confirms *these* steps, the apply runner executes
*these* steps, and a resumed run continues *these* steps — never a plan recomputed after half of it
happened. So every step carries what it expects (the account version the analysis saw), and the
plan has a content hash (:attr:`Plan.id`) that names it.

Rules (entra-facts §3.4 rules 4–6):

* Only the platform's support actions, never a delete: ``clear_idp_link``, ``set_primary_email``,
  ``release_email`` (placeholder rename) and ``merge`` (twin deactivated, memberships moved, SCIM id
  handled by the platform per rule 5), plus ``advice`` steps that call nothing (Entra-side changes or a
  decision only a person can make).
* A step touches only accounts of its own finding, which all come from the analysed org.
* The steps of one finding form an *item*: if one of them stops (conflict, error), the item's later
  steps are not attempted, the other items go on.
* Inside an item: release the loser's address before giving it to the winner; merge last.
* An account that one item merges away is not touched by a later item (that finding is reported as
  skipped: re-run the analysis after applying).
* Plan-level Entra advice follows the items: a full restart when links were cleared or a twin's SCIM id
  was retired; the matching-precedence change whenever duplicates were found.

:func:`effect_present` answers "did this step already happen?" from the platform's current state —
how a resumed run recognises a step whose response was lost, and why applying a plan twice changes
nothing the second time.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field

from console.core.reconcile import findings as F  # noqa: N812
from console.core.reconcile import texts
from console.core.reconcile.findings import Account, Finding, FindingClass
from console.core.reconcile.rules import identity_key, is_placeholder, pick_survivor

CLEAR_IDP_LINK = "clear_idp_link"
SET_PRIMARY_EMAIL = "set_primary_email"
RELEASE_EMAIL = "release_email"
MERGE = "merge"
ADVICE = "advice"
API_ACTIONS = (CLEAR_IDP_LINK, SET_PRIMARY_EMAIL, RELEASE_EMAIL, MERGE)
ACTIONS = (*API_ACTIONS, ADVICE)
ENTRA_ITEM = "entra"  # the item of the plan-level Entra advice


@dataclass(frozen=True, slots=True)
class PlannedStep:
    item: str                          # the finding id (or ENTRA_ITEM)
    action: str
    text: str                          # what it does, for the preview and the audit trail
    user_id: str | None = None
    expected_version: int | None = None
    email: str | None = None
    into_user_id: str | None = None
    expected_target_version: int | None = None
    advice: str | None = None          # key of texts.ADVICE for advice steps

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown action {self.action!r}")

    @property
    def calls_platform(self) -> bool:
        return self.action != ADVICE

    def user_ids(self) -> tuple[str, ...]:
        return tuple(u for u in (self.user_id, self.into_user_id) if u)

    def as_dict(self) -> dict[str, object]:
        return asdict(self)


@dataclass(frozen=True)
class Plan:
    org_id: str
    steps: tuple[PlannedStep, ...]
    findings: int = 0                                  # findings considered
    skipped: tuple[tuple[str, str], ...] = ()          # (finding id, why no step)
    classes: Mapping[str, str] = field(default_factory=dict)  # finding id -> class (for exports)

    @property
    def id(self) -> str:
        """Content hash of the org and the steps: the same plan always has the same id."""
        body = json.dumps([self.org_id, [s.as_dict() for s in self.steps]], sort_keys=True,
                          ensure_ascii=False, separators=(",", ":"))
        return hashlib.sha256(body.encode("utf-8")).hexdigest()[:32]

    @property
    def api_steps(self) -> tuple[PlannedStep, ...]:
        return tuple(s for s in self.steps if s.calls_platform)

    def user_ids(self) -> set[str]:
        return {u for s in self.steps for u in s.user_ids()}

    def counts(self) -> dict[str, int]:
        out = {a: 0 for a in ACTIONS}
        for s in self.steps:
            out[s.action] += 1
        return out


# ---- per finding
def _merge(twin: Account, survivor: Account, item: str) -> PlannedStep:
    how = ("the SCIM id Entra cached moves to the kept account" if not survivor.linked
           else "the twin's SCIM id is retired (404 → InvalidAnchor until a full restart)")
    text = (f"Merge {twin.label} into {survivor.label}: memberships move, the twin is deactivated "
            f"(not deleted), {how}.")
    return PlannedStep(item, MERGE, text, user_id=twin.id, expected_version=twin.version,
                       into_user_id=survivor.id, expected_target_version=survivor.version)


def _release(a: Account, value: str, item: str, why: str = "") -> PlannedStep:
    stored = next((e for e in a.emails if identity_key(e) == identity_key(value)), value)
    return PlannedStep(item, RELEASE_EMAIL, f"Release {stored} from {a.label}: rename it to a "
                       f"released+…@….invalid placeholder{why}.", user_id=a.id, expected_version=a.version,
                       email=stored)


def _advice(item: str, key: str, about: str = "") -> PlannedStep:
    return PlannedStep(item, ADVICE, (about + " " if about else "") + texts.ADVICE[key], advice=key)


def _twin_steps(f: Finding) -> list[PlannedStep]:
    linked = [a for a in f.accounts if a.linked]
    unlinked = [a for a in f.accounts if not a.linked]
    survivor = pick_survivor(unlinked)
    if survivor is None:
        return [_advice(f.id, texts.REACTIVATE, f"Keep {_labels(unlinked)}.")]
    others = [a for a in unlinked if a.id != survivor.id]
    # The SCIM twins merge into the account with history; without any (a case-only duplicate two
    # invites created) the other accounts do.
    twins, extra = (linked, others) if linked else (others, [])
    steps = [_merge(t, survivor, f.id) for t in sorted(twins, key=lambda a: a.id)]
    if extra:
        steps.append(_advice(f.id, texts.REVIEW_EXTRA, f"Also sharing {f.value}: {_labels(extra)}."))
    return steps


def _scim_twin_steps(f: Finding) -> list[PlannedStep]:
    survivor = pick_survivor(f.accounts)
    if survivor is None:
        return [_advice(f.id, texts.REACTIVATE, f"Keep one of {_labels(f.accounts)}.")]
    return [_merge(t, survivor, f.id) for t in sorted(f.accounts, key=lambda a: a.id) if t.id != survivor.id]


def _collision_steps(f: Finding) -> list[PlannedStep]:
    holders = [a for a in f.accounts if a.holds(f.value)]
    if f.detail == F.LOG_CONFLICT:
        return [_release(a, f.value, f.id, " so Entra's retried create succeeds (check first that it is not "
                         "the same person)") for a in holders]
    if f.entra is not None:
        losers = [a for a in holders if a.idp_object != f.entra.object_id]
    elif f.detail == F.TWO_IDP_OBJECTS and sum(a.active for a in holders) == 1:
        losers = [a for a in holders if not a.active]  # a deactivated user's address was reassigned
    else:
        losers = []
    if not losers:
        return [_advice(f.id, texts.DECIDE_OWNER, f"{f.value} is held by {_labels(holders)}.")]
    steps = [_release(a, f.value, f.id) for a in sorted(losers, key=lambda a: a.id)]
    for a in sorted(losers, key=lambda a: a.id):
        if a.idp_object and a.idp_object in f.absent_objects:
            steps.append(PlannedStep(
                f.id, CLEAR_IDP_LINK, f"Clear the IdP link of {a.label}: its Entra user "
                f"{a.idp_object} is not in the Entra export any more (a stale linked identity).",
                user_id=a.id, expected_version=a.version))
    return steps


def _stale_steps(f: Finding) -> list[PlannedStep]:
    a = f.accounts[0]
    if f.detail == F.MAIL_REMOVED:
        if a.primary_email is None or is_placeholder(a.primary_email):
            return []
        return [_release(a, a.primary_email, f.id, " (Entra removed this user's mail)")]
    if f.entra is None or not f.entra.mail:
        return []
    return [PlannedStep(f.id, SET_PRIMARY_EMAIL, f"Set the primary email of {a.label} to {f.entra.mail} "
                        f"(Entra's mail; {a.primary_email or 'none'} stays as a secondary address).",
                        user_id=a.id, expected_version=a.version, email=f.entra.mail)]


def _no_email_steps(f: Finding) -> list[PlannedStep]:
    if f.entra is None or not f.entra.mail:
        return []
    a = f.accounts[0]
    return [PlannedStep(f.id, SET_PRIMARY_EMAIL, f"Set the primary email of {a.label} to the Entra mail "
                        f"{f.entra.mail}.", user_id=a.id, expected_version=a.version, email=f.entra.mail)]


def _labels(accounts: Iterable[Account]) -> str:
    return ", ".join(a.label for a in accounts)


def steps_for(f: Finding) -> list[PlannedStep]:
    """The steps that resolve one finding (possibly none: see ``texts.recommendation``)."""
    if f.cls in (FindingClass.MANUAL_TWIN, FindingClass.CASE_ONLY):
        return _twin_steps(f)
    if f.cls is FindingClass.SCIM_TWINS:
        return _scim_twin_steps(f)
    if f.cls is FindingClass.EMAIL_COLLISION:
        return _collision_steps(f)
    if f.cls is FindingClass.STALE_EMAIL:
        return _stale_steps(f)
    if f.cls is FindingClass.NO_EMAIL:
        return _no_email_steps(f)
    return []


_ORDER = {RELEASE_EMAIL: 0, CLEAR_IDP_LINK: 1, SET_PRIMARY_EMAIL: 2, MERGE: 3, ADVICE: 4}


def build_plan(org_id: str, findings: Iterable[Finding], *, uncertain: bool = False) -> Plan:
    """The plan for ``findings`` (of one org), most specific classes first.

    A finding that is not certain (a likely twin found from names alone) gets platform steps only
    with ``uncertain`` — the operator selected it, or filtered by its confidence — never as part of
    "plan everything": merging two people who only share a name cannot be undone by Entra."""
    ordered = sorted(findings, key=lambda f: (F.CLASS_PRIORITY.index(f.cls), f.id))
    steps: list[PlannedStep] = []
    skipped: list[tuple[str, str]] = []
    classes: dict[str, str] = {}
    retired: dict[str, str] = {}    # user id -> the item that merges it away
    restart = False
    matching = False
    for f in ordered:
        classes[f.id] = str(f.cls)
        if f.confidence != F.CERTAIN and not uncertain:
            skipped.append((f.id, f"a {f.confidence} twin found from names alone: select it (or filter by "
                                  "its confidence) to plan it, after checking with the customer"))
            continue
        mine = sorted(steps_for(f), key=lambda s: _ORDER[s.action])
        if not mine:
            skipped.append((f.id, "no platform change: " + f.recommendation))
            continue
        touched = {u for s in mine if s.calls_platform for u in s.user_ids()}
        clash = sorted(touched & retired.keys())
        if clash:
            skipped.append((f.id, f"{clash[0]} is merged away by item {retired[clash[0]]} of this plan; "
                                  "run the analysis again after applying it."))
            continue
        for s in mine:
            if s.action == MERGE and s.user_id:
                retired[s.user_id] = f.id
                survivor = f.account(s.into_user_id) if s.into_user_id else None
                restart = restart or bool(survivor and survivor.linked)
            restart = restart or s.action == CLEAR_IDP_LINK
        matching = matching or f.cls in (FindingClass.MANUAL_TWIN, FindingClass.SCIM_TWINS,
                                         FindingClass.CASE_ONLY)
        steps.extend(mine)
    if restart:
        steps.append(_advice(ENTRA_ITEM, texts.RESTART_FULL))
    if matching:
        steps.append(_advice(ENTRA_ITEM, texts.MATCHING_PRECEDENCE))
    return Plan(org_id=org_id, steps=tuple(steps), findings=len(ordered), skipped=tuple(skipped),
                classes=classes)


# ---- state checks used by the apply runner
def effect_present(step: PlannedStep, users: Mapping[str, Account]) -> bool:
    """Whether the platform state in ``users`` already shows this step's effect."""
    if step.action == ADVICE or step.user_id is None:
        return False
    user = users.get(step.user_id)
    if user is None:
        return False
    if step.action == MERGE:
        return user.merged_into_id is not None and user.merged_into_id == step.into_user_id
    if step.action == RELEASE_EMAIL:
        return not any(identity_key(e) == identity_key(step.email) for e in user.emails)
    if step.action == SET_PRIMARY_EMAIL:
        return user.primary_email is not None and identity_key(user.primary_email) == identity_key(step.email)
    return not user.external_id and not user.idp_link  # CLEAR_IDP_LINK
