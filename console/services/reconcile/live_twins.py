"""Catch a duplicate live (issue 14): a SCIM create that is a likely twin of a manual account, flagged
the moment the provisioning log shows it, before the customer reports it (docs/duplicates.md §5).

For each successful ``POST /Users`` among newly polled events: read the account it created, ask the
admin API for the org's manual and invited accounts with that display name (its ``q`` search), and
judge them with ``console.core.reconcile.twin_match``. A few requests per create, none per other event.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from console.core.reconcile.findings import Account
from console.core.reconcile.twin_match import judge


@dataclass(frozen=True, slots=True)
class TwinAlert:
    org_id: str
    event_id: int
    new: Account
    original: Account
    confidence: str
    evidence: tuple[str, ...]

    @property
    def text(self) -> str:
        who = self.original.display_name or self.original.user_name
        return (f"Possible duplicate of {who} ({self.original.user_name}, {self.original.created_via}): "
                f"SCIM just created {self.new.user_name} — {self.confidence}; open in Reconciliation")

    def target(self) -> dict[str, str]:
        """What the logs page hands to the Reconciliation page (``sig_open_reconciliation``)."""
        return {"org_id": self.org_id, "upn": self.new.user_name,
                "email": self.original.primary_email or self.original.user_name}


def _is_create(event: Any) -> bool:
    path = str(getattr(event, "path", "") or "").split("?", 1)[0].rstrip("/")
    return (getattr(event, "method", "") == "POST" and getattr(event, "status", 0) == 201
            and path.endswith("/Users") and bool(getattr(event, "user_id", None)))


def check_events(api: Any, org_id: str, events: Iterable[Any]) -> list[TwinAlert]:
    """Alerts for the SCIM creates among ``events`` that look like a manual account's twin."""
    creates = [e for e in events if _is_create(e)]
    if not creates:
        return []
    domains = tuple(getattr(api.get_org(org_id), "domains", ()) or ())
    alerts = []
    for event in creates:
        new = Account.from_platform_user(api.get_user(org_id, event.user_id))
        if new.created_via != "scim" or not new.display_name:
            continue
        candidates = [Account.from_platform_user(u) for via in ("manual", "invite")
                      for u in api.list_users(org_id, q=new.display_name, created_via=via, limit=20).items]
        for j in judge(new, candidates, domains)[:1]:
            alerts.append(TwinAlert(org_id, int(event.id), new, j.original, j.confidence, j.evidence))
    return alerts


def recent_alerts(api: Any, org_id: str, *, max_creates: int = 20) -> list[TwinAlert]:
    """For the org page: the newest ``max_creates`` SCIM creates of the log (one page), judged the
    same way, one alert per manual account."""
    page = api.list_log_events(org_id, limit=500)
    creates = [e for e in page.items if _is_create(e)][:max_creates]
    seen: set[str] = set()
    out = []
    for alert in check_events(api, org_id, creates):
        if alert.original.id not in seen:
            seen.add(alert.original.id)
            out.append(alert)
    return out
