"""What the reconciler found: the seven finding classes and the frozen records they are made of.

A finding is a fact about *platform accounts* (issue 6, entra-facts §3.4 rule 3): which accounts,
which identity key tied them (rule 1), what evidence says so (the Entra export row, the provisioning
log events) and therefore which class it is. The engine that finds them is DuckDB SQL in
``console.services.reconcile``; this module only names and describes them, so the CLI, the Qt page,
exports and tests all speak the same words.

Accounts are *snapshots* taken when the analysis read the platform: ``version`` is the version the
plan's ``expected_version`` is built from, so applying a fix to an account that changed since the
preview stops that item instead of overwriting someone else's change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum

from console.core.models import PlatformUser
from console.core.reconcile.rules import identity_key, is_placeholder


class FindingClass(StrEnum):
    """The classes (i)–(vii) of issue 6, in the issue's order."""

    MANUAL_TWIN = "manual_twin"              # (i) pre-existing manual account + SCIM-created twin
    SCIM_TWINS = "scim_twins"                # (ii) two SCIM accounts for one IdP object
    EMAIL_COLLISION = "email_collision"      # (iii) an address held by an unrelated account
    CASE_ONLY = "case_only"                  # (iv) duplicate accounts whose addresses differ only in case
    STALE_EMAIL = "stale_email"              # (v) the platform kept an address Entra removed or changed
    USERNAME_NOT_EMAIL = "username_not_email"  # (vi) userName ≠ primary email: a future duplicate
    NO_EMAIL = "no_email"                    # (vii) an account without any email
    LOOKALIKE = "lookalike"                  # (viii) identities equal after confusable folding (UTS #39)


HIGH, MEDIUM, LOW = "high", "medium", "low"
SEVERITY_RANK = {HIGH: 1, MEDIUM: 2, LOW: 3}


@dataclass(frozen=True, slots=True)
class ClassInfo:
    roman: str
    label: str
    severity: str
    why: str          # why it matters, one sentence, for the page and the exports

    @property
    def rank(self) -> int:
        return ROMAN.index(self.roman) + 1


ROMAN = ("i", "ii", "iii", "iv", "v", "vi", "vii", "viii")

CLASS_INFO: dict[FindingClass, ClassInfo] = {
    FindingClass.MANUAL_TWIN: ClassInfo(
        "i", "Manual account + SCIM twin", HIGH,
        "Entra's userName query missed the existing account and created a second one (entra-facts §3.2.1)."),
    FindingClass.SCIM_TWINS: ClassInfo(
        "ii", "Two SCIM accounts for one Entra user", HIGH,
        "The link was lost (restart, new app, re-assignment) and Entra created the person again (§3.2.3)."),
    FindingClass.EMAIL_COLLISION: ClassInfo(
        "iii", "Address held by an unrelated account", HIGH,
        "Entra's push for this address fails with 409 or lands on the wrong person (§3.2.5)."),
    FindingClass.CASE_ONLY: ClassInfo(
        "iv", "Duplicate differing only in letter case", HIGH,
        "The same address in another case: a case-sensitive comparison created or missed it (§3.2.4)."),
    FindingClass.STALE_EMAIL: ClassInfo(
        "v", "Stale email (Entra mail removed or changed)", MEDIUM,
        "Entra never sends a clear, so the old address stays and can collide later (§3.2.9)."),
    FindingClass.USERNAME_NOT_EMAIL: ClassInfo(
        "vi", "userName ≠ primary email", LOW,
        "If the link is lost or matching moves to mail, Entra will not find this account (§3.2.6)."),
    FindingClass.NO_EMAIL: ClassInfo(
        "vii", "No email", LOW,
        "Mail-less users cannot be matched by email and get no notifications (§3.4 rule 2)."),
    FindingClass.LOOKALIKE: ClassInfo(
        "viii", "Lookalike identities (confusable characters)", HIGH,
        "Two identities that render alike (a Cyrillic а, a dotless ı, a zero-width space) are different "
        "accounts: a spoofing attempt or a copy-paste accident (docs/duplicates.md §4)."),
}

# When one set of accounts is found by several rules, the most specific class names it.
CLASS_PRIORITY = (
    FindingClass.SCIM_TWINS,
    FindingClass.EMAIL_COLLISION,
    FindingClass.CASE_ONLY,
    FindingClass.LOOKALIKE,
    FindingClass.MANUAL_TWIN,
    FindingClass.STALE_EMAIL,
    FindingClass.USERNAME_NOT_EMAIL,
    FindingClass.NO_EMAIL,
)

# Sub-kinds (``Finding.detail``): why the engine put a finding in its class.
TWO_IDP_OBJECTS = "two_idp_objects"        # (iii) accounts of different Entra users share an address
UNLINKED_ACCOUNTS = "unlinked_accounts"    # (iii) accounts without any IdP link share an address
ENTRA_WANTS = "entra_wants"                # (iii)/(i)/(iv) an Entra user's UPN/mail is held elsewhere
LOG_CONFLICT = "log_conflict"              # (iii) Entra's pushes failed with a conflict for this address
MAIL_REMOVED = "mail_removed"              # (v) the Entra user has no mail any more
MAIL_CHANGED = "mail_changed"              # (v) the Entra user's mail is another address now
SHARED_ADDRESS = "shared_address"          # (i)/(iv) two accounts hold the same address on the platform
SHARED_EXTERNAL_ID = "shared_external_id"  # (ii)
CONFUSABLE = "confusable"                  # (viii) equal UTS #39 skeletons, different keys
NAME_MATCH = "name_match"                  # (i) no shared key: names, local parts, dates tie the two

# How sure a finding is (docs/duplicates.md §3). A finding tied by an identity key (a shared address,
# externalId, the Entra export) is certain; a likely twin found from names alone is graded by its
# evidence, so a namesake is never "certain" on a name.
CERTAIN, LIKELY, POSSIBLE = "certain", "likely", "possible"
CONFIDENCES = (CERTAIN, LIKELY, POSSIBLE)


@dataclass(frozen=True, slots=True)
class Account:
    """A platform user as the analysis saw it (``emails`` primary first)."""

    id: str
    user_name: str
    emails: tuple[str, ...] = ()
    active: bool = True
    created_via: str = "manual"
    version: int = 1
    display_name: str | None = None
    scim_id: str | None = None
    external_id: str | None = None
    idp_link: str | None = None
    merged_into_id: str | None = None
    work_areas: int = 0
    last_login_at: str | None = None
    created_at: str | None = None

    @property
    def primary_email(self) -> str | None:
        return self.emails[0] if self.emails else None

    @property
    def linked(self) -> bool:
        """Linked to an IdP object: the platform would route Entra's requests for it here."""
        return bool(self.idp_link or self.external_id)

    @property
    def idp_object(self) -> str | None:
        """The Entra object this account stands for (``externalId``, else the stored link)."""
        return self.external_id or self.idp_link

    @property
    def keys(self) -> frozenset[str]:
        """Identity keys (userName and every real email, NFC + casefolded; placeholders excluded)."""
        values = [self.user_name, *self.emails]
        return frozenset(k for k in (identity_key(v) for v in values if v and not is_placeholder(v)) if k)

    def holds(self, value: str) -> bool:
        """Whether ``value`` is this account's userName or one of its emails (case-insensitively)."""
        return identity_key(value) in self.keys

    @property
    def label(self) -> str:
        origin = "SCIM" if self.created_via == "scim" else self.created_via
        state = "" if self.active else ", inactive"
        return f"{self.user_name} ({origin}{state})"

    @classmethod
    def from_platform_user(cls, u: PlatformUser) -> Account:
        primary = u.primary_email
        emails = [e.value for e in u.emails if e.value]
        if primary and primary in emails:
            emails.remove(primary)
            emails.insert(0, primary)
        return cls(
            id=u.id, user_name=u.user_name, emails=tuple(emails), active=u.active,
            created_via=u.created_via, version=u.version, display_name=u.display_name, scim_id=u.scim_id,
            external_id=u.external_id, idp_link=u.idp_link, merged_into_id=u.merged_into_id,
            work_areas=len(u.work_area_ids),
            last_login_at=u.last_login_at.isoformat() if u.last_login_at else None,
            created_at=u.created_at.isoformat() if u.created_at else None,
        )


@dataclass(frozen=True, slots=True)
class EntraRecord:
    """One row of the customer's Entra users export."""

    object_id: str
    upn: str
    mail: str = ""
    enabled: bool = True
    display_name: str = ""


@dataclass(frozen=True, slots=True)
class Evidence:
    """One reason the finding exists.

    ``kind``: ``"key"`` (an identity key tied an account: ``key`` is ``idp_link`` / ``externalId`` /
    ``userName`` / ``email``, ``value`` the stored value), ``"entra"`` (the export row says so: ``key``
    is the Entra attribute), ``"log"`` (a provisioning-log event: ``key`` is its error code) or
    ``"twin"`` (a likely twin's signal: ``key`` is ``name`` / ``localPart`` / ``created`` /
    ``domain`` / ``lastLogin``, ``value`` says what was seen) or ``"lookalike"`` (``value`` lists the
    characters of one account's identity that make it look like another's).
    """

    kind: str
    key: str
    value: str
    user_id: str | None = None
    detail: str = ""
    event_seq: int | None = None
    time: str | None = None


@dataclass(frozen=True, slots=True)
class Finding:
    id: str
    cls: FindingClass
    key: str                  # the identity key that tied it (rule 1): idp_link/externalId/userName/email
    value: str                # that key's value as stored
    accounts: tuple[Account, ...]
    detail: str = ""
    entra: EntraRecord | None = None
    evidence: tuple[Evidence, ...] = field(default_factory=tuple)
    # IdP objects of these accounts that the Entra export does not contain (only with an export).
    absent_objects: frozenset[str] = field(default_factory=frozenset)
    log_events: int = 0
    confidence: str = CERTAIN

    @property
    def info(self) -> ClassInfo:
        return CLASS_INFO[self.cls]

    @property
    def severity(self) -> str:
        return self.info.severity

    def account(self, user_id: str) -> Account:
        return next(a for a in self.accounts if a.id == user_id)

    @property
    def summary(self) -> str:
        from console.core.reconcile.texts import summary

        return summary(self.cls, self.detail, [a.label for a in self.accounts], self.value,
                       self.entra.upn if self.entra else None, self.entra.mail if self.entra else None)

    @property
    def recommendation(self) -> str:
        from console.core.reconcile.texts import recommendation

        return recommendation(self)
