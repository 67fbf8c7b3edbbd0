"""Readiness of an org for SCIM (seed steps 2–4), computed from plain data.

Pure: the caller fetches templates, work areas and users (a service or a test builds them); this
module only decides. Each check is green/amber/red with a one-line summary and the action that
fixes it, so the org page, the wizard's first page and the CLI all say the same thing.

* **Template** (seed step 3) — red unless a New User Template applies to all users and grants at
  least one work area that exists: without it, users Entra creates can log in to nothing.
* **Email discrepancies** (seed steps 2 and 4; entra-facts §3.4 rules 2 and 8) — amber findings
  that predict duplicate accounts: case-folded duplicate emails, userName ≠ primary email, users
  already linked to an IdP, users without any email. Comparison is NFC + casefold; stored values are
  never rewritten.
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from console.core.models import PlatformUser, Template, WorkArea

GREEN, AMBER, RED = "green", "amber", "red"
_RANK = {GREEN: 0, AMBER: 1, RED: 2}
MAX_EXAMPLES = 5


@dataclass(frozen=True, slots=True)
class Check:
    """One readiness check. ``fix_action`` is a stable id the UI maps to a button (or None)."""

    key: str
    name: str
    level: str
    summary: str
    fix_action: str | None = None
    fix_hint: str = ""
    examples: tuple[str, ...] = field(default_factory=tuple)  # user names / emails, at most a few

    @property
    def ok(self) -> bool:
        return self.level == GREEN


def fold(value: str | None) -> str:
    """NFC + casefold, the comparison key of entra-facts §3.4 rule 8."""
    return unicodedata.normalize("NFC", value or "").casefold().strip()


def overall(checks: Iterable[Check]) -> str:
    """The worst level (green when there are no checks)."""
    return max((c.level for c in checks), key=_RANK.__getitem__, default=GREEN)


def template_check(templates: Sequence[Template], work_areas: Sequence[WorkArea]) -> Check:
    known = {w.id for w in work_areas}
    all_users = [t for t in templates if t.applies_to_all]
    good = [t for t in all_users if any(w in known for w in t.work_area_ids)]
    name = "New User Template"
    if good:
        t = good[0]
        granted = sum(1 for w in t.work_area_ids if w in known)
        return Check("template", name, GREEN,
                     f"“{t.name}” applies to all users and grants {granted} work area(s).")
    if all_users:
        return Check("template", name, RED,
                     f"“{all_users[0].name}” applies to all users but grants no work area.",
                     fix_action="edit_template", fix_hint="Add at least one work area to the template.",
                     examples=(all_users[0].id,))
    return Check("template", name, RED, "No New User Template applies to all users.",
                 fix_action="create_template",
                 fix_hint="Create a template that applies to all users and grants at least one work area; "
                          "otherwise users Entra creates can open nothing.")


def _emails(user: PlatformUser) -> set[str]:
    found = {fold(e.value) for e in user.emails if e.value}
    if user.primary_email:
        found.add(fold(user.primary_email))
    found.discard("")
    return found


def duplicate_email_groups(users: Sequence[PlatformUser]) -> list[list[PlatformUser]]:
    """Groups of active, unmerged users sharing an email after case-folding (≥ 2 users each)."""
    by_email: dict[str, list[PlatformUser]] = defaultdict(list)
    for user in users:
        if not user.active or user.merged_into_id:
            continue
        for email in _emails(user):
            by_email[email].append(user)
    groups: dict[tuple[str, ...], list[PlatformUser]] = {}
    for members in by_email.values():
        if len(members) > 1:
            groups.setdefault(tuple(sorted(u.id for u in members)), members)
    return list(groups.values())


def email_checks(users: Sequence[PlatformUser]) -> list[Check]:
    """The quick scan: four amber-or-green checks, each pointing at the Reconciliation page."""
    live = [u for u in users if u.active and not u.merged_into_id]
    checks: list[Check] = []

    dups = duplicate_email_groups(users)
    checks.append(_finding(
        "duplicate_emails", "Duplicate emails", len(dups),
        "No two accounts share an email (ignoring case).",
        f"{len(dups)} email(s) are used by more than one account (ignoring case): Entra may match the "
        "wrong one or create a twin.",
        [", ".join(u.user_name for u in g) for g in dups]))

    mismatched = [u for u in live if u.primary_email and fold(u.user_name) != fold(u.primary_email)]
    checks.append(_finding(
        "username_mismatch", "userName ≠ primary email", len(mismatched),
        "Every userName equals its primary email.",
        f"{len(mismatched)} account(s) have a userName different from their primary email: Entra matches "
        "on userName ← userPrincipalName, so these may be duplicated.",
        [f"{u.user_name} / {u.primary_email}" for u in mismatched]))

    linked = [u for u in live if u.idp_link or u.external_id]
    checks.append(_finding(
        "idp_links", "Existing IdP links", len(linked),
        "No account is linked to an identity provider yet.",
        f"{len(linked)} account(s) are already linked to an identity provider: clear the link "
        "before switching if it belongs to a different tenant or app.",
        [u.user_name for u in linked]))

    mailless = [u for u in live if not _emails(u)]
    checks.append(_finding(
        "no_email", "Users without email", len(mailless),
        "Every account has an email.",
        f"{len(mailless)} account(s) have no email: Entra cannot match them by mail.",
        [u.user_name for u in mailless]))
    return checks


def _finding(key: str, name: str, count: int, ok_text: str, bad_text: str, examples: list[str]) -> Check:
    if not count:
        return Check(key, name, GREEN, ok_text)
    return Check(key, name, AMBER, bad_text, fix_action="open_reconciliation",
                 fix_hint="Review on the Reconciliation page (fix the platform email, clear the IdP link, "
                          "or merge).",
                 examples=tuple(examples[:MAX_EXAMPLES]))


def readiness(templates: Sequence[Template], work_areas: Sequence[WorkArea],
              users: Sequence[PlatformUser]) -> list[Check]:
    """All checks, template first (the only one that blocks)."""
    return [template_check(templates, work_areas), *email_checks(users)]


def blocking(checks: Iterable[Check]) -> list[Check]:
    return [c for c in checks if c.level == RED]
