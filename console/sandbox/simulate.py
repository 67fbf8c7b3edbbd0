"""An Entra ID provisioning-cycle simulator: sends Entra-shaped SCIM traffic to an endpoint.

It reproduces, deterministically from a seed, what the Entra provisioning service does in a
cycle (entra-facts §1.1–§1.8): the Test Connection probes, match-or-create per user (filter on
``userName eq <UPN>``; 0 hits → POST, else PATCH), attribute updates in the chosen PATCH dialect
(default job vs ``aadOptscim062020``), a disable, and a group with membership add/remove.

Scenarios (what each one yields against the sandbox; see tests/sandbox/test_simulate.py):

* ``clean`` — UPN == mail; every user is new: N creates, no duplicates.
* ``email-mismatch`` — UPN (``jdoe@…onmicrosoft.com``) ≠ mail. Against an org whose manual accounts
  use the mail as userName, every userName query misses and Entra POSTs: N new SCIM accounts next to
  the N manual ones — the duplicates the console's reconciler must find.
* ``case-only`` — userName is the mail in different letter case. Matching is case-insensitive, so a
  pre-existing account is found and PATCHed: no duplicates.
* ``rename-after-reset`` — a clean cycle, then every user is renamed while Entra lost its cached
  ids (``resetScope: Full``): the userName query misses and Entra re-POSTs with the same
  ``externalId`` (objectId). The sandbox re-links by externalId, so the POST answers 201 with the
  SAME id: 0 duplicates (``relinked`` = N). A platform without that guard would have 2N accounts.
"""

from __future__ import annotations

import random
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

DIALECTS = ("default", "aadOptscim062020")
SCENARIOS = ("clean", "email-mismatch", "rename-after-reset", "case-only")
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
MS_GROUP_SCHEMA = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"

_FIRST = ["Ada", "Bea", "Cyd", "Dan", "Eve", "Fay", "Gus", "Hal", "Ivy", "Jon", "Kai", "Lea", "Max", "Nia",
          "Oto", "Pia", "Quy", "Rex", "Sue", "Tom"]
_LAST = ["Adams", "Brown", "Clark", "Davis", "Evans", "Foster", "Green", "Hughes", "Irwin", "Jones",
         "King", "Lewis", "Moore", "Nash", "Owens", "Price", "Quinn", "Reed", "Stone", "Turner"]


@dataclass(frozen=True)
class Person:
    """One Entra user: objectId, UPN and mail (may differ), names."""

    object_id: str
    upn: str
    mail: str
    given_name: str
    family_name: str

    @property
    def display_name(self) -> str:
        return f"{self.given_name} {self.family_name}"


def people(
    count: int, *, seed: int = 1, scenario: str = "clean", domain: str = "contoso.com"
) -> list[Person]:
    """The deterministic population a simulation sends (tests pre-create manual accounts from it)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        given, family = rng.choice(_FIRST), rng.choice(_LAST)
        mail = f"{given.lower()}.{family.lower()}{i}@{domain}"
        if scenario == "email-mismatch":
            upn = f"{given[0].lower()}{family.lower()}{i}@{domain.split('.')[0]}.onmicrosoft.com"
        elif scenario == "case-only":
            upn = f"{given}.{family}{i}@{domain.upper()}"
        else:
            upn = mail
        out.append(Person(str(uuid.UUID(int=rng.getrandbits(128), version=4)), upn, mail, given, family))
    return out


@dataclass
class SimulationReport:
    """What a simulated cycle did and what the endpoint answered."""

    scenario: str
    dialect: str
    users: int
    requests: int = 0
    created: int = 0
    matched: int = 0
    relinked: int = 0
    updated: int = 0
    disabled: int = 0
    group_id: str | None = None
    group_members: int = 0
    created_ids: list[str] = field(default_factory=list)
    statuses: dict[str, int] = field(default_factory=dict)
    failures: list[dict[str, Any]] = field(default_factory=list)
    test_connection_ok: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.test_connection_ok and not self.failures

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "ok": self.ok}


class _Sender:
    def __init__(self, client: httpx.Client, base: str, token: str, report: SimulationReport) -> None:
        self.client, self.base, self.report = client, base.rstrip("/"), report
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/scim+json",
                        "Accept": "application/scim+json"}
        self.counts: Counter[str] = Counter()

    def send(self, method: str, path: str, *, expect: tuple[int, ...], **kw: Any) -> httpx.Response:
        response = self.client.request(method, f"{self.base}{path}", headers=self.headers, **kw)
        self.report.requests += 1
        self.counts[str(response.status_code)] += 1
        if response.status_code not in expect:
            detail = ""
            ctype = response.headers.get("content-type", "")
            if ctype.startswith(("application/scim+json", "application/json")):
                body = response.json()
                detail = str(body.get("detail") or body.get("scimType") or "")[:200]
            self.report.failures.append({"method": method, "path": path.split("?")[0],
                                         "status": response.status_code, "detail": detail})
        return response


def _patch(ops: list[dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [PATCH_SCHEMA], "Operations": ops}


def _op(dialect: str, op: str) -> str:
    return op.capitalize() if dialect == "default" else op


def _create_body(p: Person, user_name: str) -> dict[str, Any]:
    return {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "externalId": p.object_id,
        "userName": user_name,
        "active": True,
        "displayName": p.display_name,
        "emails": [{"primary": True, "type": "work", "value": p.mail}],
        "meta": {"resourceType": "User"},
        "name": {"formatted": p.display_name, "familyName": p.family_name, "givenName": p.given_name},
        "roles": [],
    }


def _update_ops(dialect: str, p: Person, employee_number: str) -> list[dict[str, Any]]:
    if dialect == "default":
        return [
            {"op": "Replace", "path": "displayName", "value": p.display_name},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": p.mail},
            {"op": "Replace", "path": "name.givenName", "value": p.given_name},
            {"op": "Replace", "path": "name.familyName", "value": p.family_name},
            {"op": "Replace", "path": "externalId", "value": p.object_id},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": employee_number},
        ]
    return [
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": p.mail},
        {"op": "replace", "value": {"displayName": p.display_name, "name.givenName": p.given_name,
                                    "name.familyName": p.family_name, "externalId": p.object_id,
                                    f"{ENTERPRISE}:employeeNumber": employee_number}},
    ]


def _match_or_create(s: _Sender, p: Person, user_name: str, dialect: str, index: int,
                     known: dict[str, str]) -> str | None:
    """Entra's per-user step: query by the matching attribute, then create or update."""
    found = s.send("GET", "/Users", expect=(200,), params={"filter": f'userName eq "{user_name}"'})
    resources = found.json().get("Resources", []) if found.status_code == 200 else []
    if resources:
        s.report.matched += 1
        scim_id = resources[0]["id"]
        r = s.send("PATCH", f"/Users/{scim_id}", expect=(200, 204),
                   json=_patch(_update_ops(dialect, p, f"E{index:05d}")))
        if r.status_code in (200, 204):
            s.report.updated += 1
        return scim_id
    r = s.send("POST", "/Users", expect=(201,), json=_create_body(p, user_name))
    if r.status_code != 201:
        return None
    scim_id = r.json()["id"]
    if p.object_id in known and known[p.object_id] == scim_id:
        s.report.relinked += 1
    else:
        s.report.created += 1
        s.report.created_ids.append(scim_id)
    return scim_id


def simulate_entra(
    scim_url: str,
    token: str,
    *,
    dialect: str = "default",
    users: int = 20,
    scenario: str = "clean",
    seed: int = 1,
    client: httpx.Client | None = None,
    domain: str = "contoso.com",
) -> SimulationReport:
    """Run one simulated Entra provisioning cycle against ``scim_url`` (an org's SCIM base)."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}")
    rng = random.Random(seed * 7919)
    report = SimulationReport(scenario=scenario, dialect=dialect, users=users)
    started = time.perf_counter()
    own = client is None
    http = client or httpx.Client(timeout=30)
    try:
        s = _Sender(http, scim_url, token, report)
        # Test Connection (§1.2): random-GUID probes on /Users and /Groups → 200 + empty ListResponse.
        probe_u = s.send("GET", "/Users", expect=(200,),
                         params={"filter": f'userName eq "{uuid.UUID(int=rng.getrandbits(128), version=4)}"'})
        probe_g = s.send("GET", "/Groups", expect=(200,), params={
            "excludedAttributes": "members",
            "filter": f'displayName eq "{uuid.UUID(int=rng.getrandbits(128), version=4)}"'})
        report.test_connection_ok = all(
            r.status_code == 200 and r.json().get("totalResults") == 0 for r in (probe_u, probe_g))
        if not report.test_connection_ok:
            return report

        population = people(users, seed=seed, scenario=scenario, domain=domain)
        known: dict[str, str] = {}
        ids: list[str] = []
        for i, p in enumerate(population):
            scim_id = _match_or_create(s, p, p.upn, dialect, i, known)
            if scim_id:
                known[p.object_id] = scim_id
                ids.append(scim_id)

        if scenario == "rename-after-reset":
            # Links lost (restart with resetScope: Full) and every user renamed in Entra.
            for i, p in enumerate(population):
                renamed = Person(p.object_id, f"renamed.{p.upn}", f"renamed.{p.mail}", p.given_name,
                                 p.family_name)
                _match_or_create(s, renamed, renamed.upn, dialect, i, known)

        if ids:  # disable one user (unassigned / soft-deleted in Entra)
            value: Any = "False" if dialect == "default" else False
            r = s.send("PATCH", f"/Users/{ids[-1]}", expect=(200, 204),
                       json=_patch([{"op": _op(dialect, "replace"), "path": "active", "value": value}]))
            if r.status_code in (200, 204):
                report.disabled += 1

        _group_cycle(s, dialect, seed, ids, report)
    finally:
        report.statuses = dict(sorted(s.counts.items())) if "s" in locals() else {}
        report.seconds = round(time.perf_counter() - started, 3)
        if own:
            http.close()
    return report


def _group_cycle(s: _Sender, dialect: str, seed: int, ids: list[str], report: SimulationReport) -> None:
    name = f"Simulated Group {seed}"
    found = s.send("GET", "/Groups", expect=(200,),
                   params={"excludedAttributes": "members", "filter": f'displayName eq "{name}"'})
    resources = found.json().get("Resources", []) if found.status_code == 200 else []
    if resources:
        group_id = resources[0]["id"]
    else:
        r = s.send("POST", "/Groups", expect=(201,), json={
            "schemas": [GROUP_SCHEMA, MS_GROUP_SCHEMA], "externalId": str(uuid.UUID(int=seed, version=4)),
            "displayName": name, "meta": {"resourceType": "Group"}})
        if r.status_code != 201:
            return
        group_id = r.json()["id"]
    report.group_id = group_id
    if not ids:
        return
    s.send("PATCH", f"/Groups/{group_id}", expect=(204, 200), json=_patch([
        {"op": _op(dialect, "add"), "path": "members", "value": [{"$ref": None, "value": i} for i in ids]}]))
    leaving = ids[0]
    if dialect == "default":
        op = {"op": "Remove", "path": "members", "value": [{"value": leaving}]}
    else:
        op = {"op": "remove", "path": f'members[value eq "{leaving}"]'}
    s.send("PATCH", f"/Groups/{group_id}", expect=(204, 200), json=_patch([op]))
    check = s.send("GET", f"/Groups/{group_id}", expect=(200,))
    if check.status_code == 200:
        report.group_members = len(check.json().get("members", []))
