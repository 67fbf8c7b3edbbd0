"""Reproduce an incident on any org of a platform: the "before SCIM" state, a SCIM token, one cycle.

Why: ``email-mismatch`` makes twins only next to manual accounts the customer had before switching
on provisioning. A trainer reproducing the incident has no such accounts, so the scenario creates
them itself through the admin API — under each person's *mail*, with their names, as a support
agent or an HR import would have — before SCIM is enabled (when it is off), so they predate it as in
real life. Then the cycle runs and the org holds exactly N manual + SCIM twin pairs.

The SCIM token comes through the admin API: enabling SCIM when it is off, otherwise minting a
rotation token that is revoked after the run, so the org never keeps two active tokens because of
us. The token is never returned or printed.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from console.sandbox.simulate import SimulationReport, people, simulate_entra


class SimulationSetupError(Exception):
    """The platform refused a step before the cycle (reading the org, a manual account, a token)."""


# What each scenario's "before SCIM" state is: the userName (and address) of the manual account
# the customer already had for each Entra person, or None when the scenario starts from nothing.
def _manual_user_name(scenario: str, mail: str, upn: str) -> str | None:
    if scenario == "email-mismatch":
        return mail          # under the mail; Entra looks for the UPN and misses
    if scenario == "case-only":
        return upn.lower()   # the same name in other letter case; Entra's query matches it
    return None


PRE_SCIM_SCENARIOS = ("email-mismatch", "case-only")


@dataclass
class OrgSimulation:
    """The cycle's report plus what was prepared before it."""

    report: SimulationReport
    manual_created: int
    manual_existing: int

    def to_dict(self) -> dict[str, Any]:
        return {**self.report.to_dict(), "manual_created": self.manual_created,
                "manual_existing": self.manual_existing}


def _error_code(r: httpx.Response) -> str:
    try:
        return str(r.json().get("error", {}).get("code", ""))
    except ValueError:
        return ""


def create_pre_scim_accounts(admin: httpx.Client, org_id: str, *, scenario: str, users: int, seed: int,
                             domain: str) -> tuple[int, int]:
    """The manual accounts the customer had before SCIM: (created, already there)."""
    created = existing = 0
    for p in people(users, seed=seed, scenario=scenario, domain=domain):
        user_name = _manual_user_name(scenario, p.mail, p.upn)
        if user_name is None:
            continue
        r = admin.post(f"/orgs/{org_id}/users", json={
            "user_name": user_name, "emails": [{"value": user_name, "type": "work", "primary": True}],
            "display_name": p.display_name, "given_name": p.given_name, "family_name": p.family_name,
            "created_via": "manual"})
        if r.status_code == 201:
            created += 1
        elif r.status_code == 409:
            existing += 1  # a second run on the same org: the account is already there
        else:
            raise SimulationSetupError(f"cannot create the manual account {user_name!r} in {org_id!r}: "
                                       f"HTTP {r.status_code} {_error_code(r)}".strip())
    return created, existing


def simulate_org(admin_url: str, operator_token: str, org_id: str, *, scenario: str = "clean",
                 users: int = 20, seed: int = 1, dialect: str = "default", matching: str = "userName",
                 domain: str = "contoso.com", client: httpx.Client | None = None) -> OrgSimulation:
    """Prepare ``scenario``'s before-SCIM state on ``org_id``, get a SCIM token, run one Entra cycle."""
    url = admin_url.rstrip("/")
    if not url.endswith("/admin/v1"):
        url += "/admin/v1"
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {operator_token}"},
                      timeout=30) as admin:
        state = admin.get(f"/orgs/{org_id}/scim")
        if state.status_code != 200:
            raise SimulationSetupError(f"cannot read SCIM state of org {org_id!r}: HTTP {state.status_code}")
        enabled = bool(state.json()["enabled"])
        created, existing = create_pre_scim_accounts(admin, org_id, scenario=scenario, users=users,
                                                     seed=seed, domain=domain)
        key = {"Idempotency-Key": uuid.uuid4().hex}
        path = f"/orgs/{org_id}/scim/tokens" if enabled else f"/orgs/{org_id}/scim/enable"
        r = admin.post(path, headers=key)
        if r.status_code != 201:
            raise SimulationSetupError(
                f"cannot get a SCIM token for {org_id!r}: HTTP {r.status_code} {_error_code(r)}".strip())
        body = r.json()
        rotation_id = body["token_info"]["id"] if enabled else None
        scim_url = body.get("scim_base_url") or state.json()["scim_base_url"]
        try:
            report = simulate_entra(scim_url, body["token"], dialect=dialect, users=users, scenario=scenario,
                                    seed=seed, matching=matching, domain=domain, client=client)
        finally:
            if rotation_id is not None:
                admin.delete(f"/orgs/{org_id}/scim/tokens/{rotation_id}")
    return OrgSimulation(report, created, existing)
