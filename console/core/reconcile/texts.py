"""Words the support engineer reads: finding summaries, recommended resolutions, Entra-side advice.

Kept in one place so the page, the CLI and the exports say the same thing, and written in Entra's
own terms (entra-facts §3.4 rules 4–6, §3.3): keep the account with history, merge the twin into it,
release a squatted address to a placeholder (the Slack/Atlassian pattern), never hard-delete; and
on the Entra side, restart with ``resetScope: Full`` after links were cleared, and match on
``objectId → externalId`` once ``externalId`` is backfilled.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from console.core.reconcile import findings as F  # noqa: N812 - short alias for the class names

if TYPE_CHECKING:
    from console.core.reconcile.findings import Finding, FindingClass

RESTART_FULL = "restart_full"
MATCHING_PRECEDENCE = "matching_precedence"
REACTIVATE = "reactivate"
DECIDE_OWNER = "decide_owner"
REVIEW_EXTRA = "review_extra"

ADVICE: dict[str, str] = {
    RESTART_FULL: (
        "In Entra (Enterprise app → Provisioning → Restart provisioning), restart with “Clear current "
        "state and restart synchronization” (Graph: restart with resetScope Full). Entra keeps its own "
        "cached link to each SCIM id: after links were cleared or a twin was retired, the old id answers "
        "404 and Entra logs InvalidAnchor until a full restart makes it match every user again. A plain "
        "restart keeps the cached links."),
    MATCHING_PRECEDENCE: (
        "In Entra (Provisioning → Attribute mappings → User), make objectId → externalId the matching "
        "attribute with precedence 1 and userPrincipalName → userName precedence 2 — but only after every "
        "existing account has its externalId (the platform answers filter=externalId eq \"…\"). Then a "
        "rename or a changed mail updates the same account instead of creating a twin. Changing matching "
        "attributes makes Entra re-evaluate every user on the next cycle."),
    REACTIVATE: (
        "The account with history is inactive and the platform merges only into an active account: "
        "reactivate it on the platform first, then run the analysis again."),
    DECIDE_OWNER: (
        "The console cannot tell which account owns this address: ask the customer which person it "
        "belongs to, then release it from the other account(s) and push the user again from Entra "
        "(Provision on demand)."),
    REVIEW_EXTRA: (
        "More accounts share this address than one merge resolves: review the remaining account(s) with "
        "the customer after this fix."),
}


def _who(labels: Sequence[str]) -> str:
    if not labels:
        return "no account"
    if len(labels) <= 3:
        return " and ".join(labels) if len(labels) == 2 else ", ".join(labels)
    return f"{', '.join(labels[:3])} and {len(labels) - 3} more"


def summary(cls: FindingClass, detail: str, labels: Sequence[str], value: str,
            entra_upn: str | None = None, entra_mail: str | None = None) -> str:
    """One line: what is wrong, with the value that tied the accounts."""
    who = _who(labels)
    if cls is F.FindingClass.MANUAL_TWIN:
        if detail == F.NAME_MATCH:
            return f"{who} look like one person: both named {value}, no shared address"
        return f"{who} look like one person: both hold {value}"
    if cls is F.FindingClass.SCIM_TWINS:
        return f"{who} are linked to the same Entra user (externalId {value})"
    if cls is F.FindingClass.EMAIL_COLLISION:
        if detail == F.LOG_CONFLICT:
            return f"Entra cannot provision {value}: {who} holds it (conflicts in the provisioning log)"
        if detail == F.ENTRA_WANTS and entra_upn:
            return f"{value} belongs to Entra user {entra_upn} but is held by {who}"
        return f"{who} belong to different people but share {value}"
    if cls is F.FindingClass.CASE_ONLY:
        return f"{who} differ only in letter case: {value}"
    if cls is F.FindingClass.STALE_EMAIL:
        if detail == F.MAIL_REMOVED:
            return f"{who} still has {value}; Entra user {entra_upn or '?'} has no mail any more"
        return f"{who} has {value}; Entra says {entra_mail or '?'}"
    if cls is F.FindingClass.USERNAME_NOT_EMAIL:
        return f"{who}: userName differs from the primary email {value}"
    if cls is F.FindingClass.LOOKALIKE:
        return f"{who} look alike but are different identities: {value} holds confusable characters"
    return f"{who} has no email"


def recommendation(f: Finding) -> str:
    """The recommended resolution, in the rule-4 order (keep history, merge, release, never delete)."""
    return recommendation_for(f.cls, f.detail, f.entra.mail if f.entra is not None else None)


def recommendation_for(cls: FindingClass, detail: str, entra_mail: str | None = None) -> str:
    if cls in (F.FindingClass.MANUAL_TWIN, F.FindingClass.CASE_ONLY):
        return ("Keep the account with history and merge the SCIM twin into it: memberships move, the twin "
                "is deactivated (never deleted) and the SCIM id Entra cached moves to the kept account, so "
                "Entra keeps updating the same person.")
    if cls is F.FindingClass.SCIM_TWINS:
        return ("Merge the duplicate SCIM account into the one with history; the retired SCIM id answers 404 "
                "(Entra logs InvalidAnchor) until a full restart re-matches it. Then map objectId → "
                "externalId as the matching attribute so a lost link cannot create another twin.")
    if cls is F.FindingClass.EMAIL_COLLISION:
        return ("Release the address from the account that no longer owns it (renamed to a "
                "released+…@….invalid placeholder, the Slack/Atlassian pattern), then let Entra push it "
                "again. If both accounts are the same person, merge instead.")
    if cls is F.FindingClass.STALE_EMAIL:
        if detail == F.MAIL_REMOVED:
            return ("Entra removed this user's mail but never sends a clear: release the stale address "
                    "(placeholder) so it cannot collide with whoever gets it next.")
        return "Set the primary email to the address Entra has now (the old one stays as a secondary)."
    if cls is F.FindingClass.LOOKALIKE:
        return ("Ask the customer which identity is real: a lookalike is a spoofing attempt or a copy-paste "
                "accident. Rename or merge the wrong account by hand once they confirm; the SCIM door now "
                "refuses invisible characters, but letters of other scripts are legal in names.")
    if cls is F.FindingClass.USERNAME_NOT_EMAIL:
        return ("No platform change needed now. Keep the IdP link; match on objectId → externalId so a lost "
                "link or a mapping change cannot create a twin; for a manual account, align its userName "
                "with the Entra UPN before provisioning.")
    if entra_mail:
        return f"Set the primary email to the Entra mail {entra_mail}."
    return "Add a mail to the user in Entra (or on the platform); until then it cannot be matched by email."
