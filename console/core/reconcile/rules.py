"""The reconciler's comparison rules (entra-facts §3.4 rules 1, 4, 7, 8), pure.

* **Keys**: userNames and emails compare as NFC + casefold (rule 8) — :func:`identity_key`, the same
  ``fold`` the readiness checks and the Entra-export prediction use. Stored values are never
  rewritten; keys exist only for comparing. The SQL engine computes the same key: for ASCII text
  casefold is ``lower`` and ``str.strip`` removes exactly :data:`ASCII_WHITESPACE`, so DuckDB does
  those rows itself and asks Python for the (rare) non-ASCII values — the results are identical by
  construction, and a property test holds both to it.
* **Identity key order** (rule 1): the platform's stored IdP link, then ``externalId``, then
  ``userName``, then any email. A finding names the strongest key that tied its accounts.
* **Placeholders**: an address renamed by "release email" (``released+…@….invalid``) or a merged
  twin's ``merged+…`` userName is not an identity any more (RFC 2606 ``.invalid`` never delivers).
* **Survivor** (rule 4): keep the account with history — active (the platform merges only into an
  active account), not created by SCIM (it pre-existed), with more work-area access, used most
  recently, oldest; the id breaks ties so the choice is deterministic.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from console.core.readiness import fold

if TYPE_CHECKING:
    from console.core.reconcile.findings import Account

IDP_LINK, EXTERNAL_ID, USER_NAME, EMAIL = "idp_link", "externalId", "userName", "email"
KEY_ORDER = (IDP_LINK, EXTERNAL_ID, USER_NAME, EMAIL)

PLACEHOLDER_SUFFIX = ".invalid"
# What str.strip() removes from an ASCII string (str.isspace() over U+0000..U+007F).
ASCII_WHITESPACE = "".join(chr(c) for c in range(128) if chr(c).isspace())


def identity_key(value: str | None) -> str:
    """NFC + casefold (+ strip): the comparison key of userNames and emails."""
    return fold(value)


def is_placeholder(value: str | None) -> bool:
    return identity_key(value).endswith(PLACEHOLDER_SUFFIX)


def strongest_key(keys: Iterable[str]) -> str:
    """The first of ``keys`` in the rule-1 order (unknown names sort last)."""
    ranked = sorted(keys, key=lambda k: KEY_ORDER.index(k) if k in KEY_ORDER else len(KEY_ORDER))
    if not ranked:
        raise ValueError("no key")
    return ranked[0]


def history_rank(a: Account) -> tuple[object, ...]:
    """Sort key: the account with the most history first (see the module docstring)."""
    return (
        not a.active,
        a.created_via == "scim",
        -a.work_areas,
        a.last_login_at is None,
        _neg(a.last_login_at),
        a.created_at is None,
        a.created_at or "",
        a.id,
    )


def _neg(text: str | None) -> tuple[int, ...]:
    """Descending order for ISO timestamps inside an ascending sort key."""
    return tuple(-ord(ch) for ch in (text or ""))


def pick_survivor(accounts: Iterable[Account]) -> Account | None:
    """The account to keep (rule 4), or None when no candidate is active (merge needs an active target)."""
    ranked = sorted((a for a in accounts if a.merged_into_id is None), key=history_rank)
    return ranked[0] if ranked and ranked[0].active else None
