"""An Entra ID provisioning-cycle simulator: sends Entra-shaped SCIM traffic to an endpoint.

It reproduces, deterministically from a seed, what the Entra provisioning service does in a
cycle (entra-facts §1.1–§1.8): the Test Connection probes, match-or-create per user (filter on
``userName eq <UPN>``; 0 hits → POST, else PATCH), attribute updates in the chosen PATCH dialect
(default job vs ``aadOptscim062020``), a disable, and a group with membership add/remove.

Scenarios (what each one yields against the sandbox; see tests/sandbox/test_simulate.py):

* ``clean`` — UPN == mail; every user is new: N creates, no duplicates.
* ``email-mismatch`` — UPN (``jdoe@…onmicrosoft.com``) ≠ mail. Against an org whose manual accounts
  use the mail as userName, every userName query misses and Entra POSTs: N new SCIM accounts next to
  the N manual ones — the duplicates the console's reconciler must find. ``simulate_org`` (and the
  CLI) creates those manual accounts first, so the incident reproduces on any org.
* ``case-only`` — userName is the mail in different letter case. Matching is case-insensitive, so a
  pre-existing account is found and PATCHed: no duplicates.
* ``rename-after-reset`` — a clean cycle, then every user is renamed while Entra lost its cached
  ids (``resetScope: Full``): the userName query misses and Entra re-POSTs with the same
  ``externalId`` (objectId). The sandbox re-links by externalId, so the POST answers 201 with the
  SAME id: 0 duplicates (``relinked`` = N). A platform without that guard would have 2N accounts.

Scenarios that leave the drift the reconciler classifies (issue 6; tests/services/test_reconcile_sandbox.py):

* ``mail-less`` — cloud-only users without a mail: accounts without any email (class vii).
* ``mail-removed`` — UPN ≠ mail; after the first cycle the mail is removed in Entra, and the next
  cycle sends no clear (Entra never does, entra-facts §1.12): the platform keeps the old address,
  which the Entra export no longer has (class v).
* ``link-lost`` — a clean cycle; the user is unassigned from the old app (disabled there), then a new
  provisioning job *without* an ``externalId`` mapping creates the renamed user again (the userName
  query misses, the POST has no externalId for the sandbox to re-link by); when the mapping is fixed
  Entra PATCHes ``externalId``: two SCIM accounts for one Entra object (class ii).
* ``collision`` — users in pairs A, B: A leaves (disabled), A's address is given to B and Entra
  PATCHes B's email: two accounts of different Entra users share one address (class iii).

``matching="externalId"`` makes the per-user query ``externalId eq "<objectId>"`` (the recommended
matching precedence), so a userName someone else already holds answers the POST with 409 — the
EntryConflict path of the provisioning log. :func:`entra_export_csv` writes the "Download users"
CSV of Entra's state after a scenario, for the reconciler's Entra-side rules.
"""

from __future__ import annotations

import csv
import io
import random
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx

DIALECTS = ("default", "aadOptscim062020")
SCENARIOS = ("clean", "email-mismatch", "rename-after-reset", "case-only", "mail-less", "mail-removed",
             "link-lost", "collision")
MATCHING = ("userName", "externalId")
EXPORT_HEADER = ("userPrincipalName", "displayName", "surname", "mail", "givenName", "objectId", "userType",
                 "accountEnabled")
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
    """One Entra user: objectId, UPN and mail (may differ, may be empty), names."""

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
        if scenario in ("email-mismatch", "mail-removed"):
            upn = f"{given[0].lower()}{family.lower()}{i}@{domain.split('.')[0]}.onmicrosoft.com"
        elif scenario == "case-only":
            upn = f"{given}.{family}{i}@{domain.upper()}"
        else:
            upn = mail
        if scenario == "mail-less":
            mail = ""
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
    conflicts: int = 0          # POSTs answered 409 (EntryConflict in Entra's log)
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


def _create_body(p: Person, user_name: str, *, external_id: bool = True) -> dict[str, Any]:
    body: dict[str, Any] = {
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
    if not p.mail:  # Entra sends no attribute whose source is empty
        del body["emails"]
    if not external_id:
        del body["externalId"]
    return body


def _update_ops(dialect: str, p: Person, employee_number: str) -> list[dict[str, Any]]:
    email = 'emails[type eq "work"].value'
    if dialect == "default":
        ops = [
            {"op": "Replace", "path": "displayName", "value": p.display_name},
            {"op": "Replace", "path": email, "value": p.mail},
            {"op": "Replace", "path": "name.givenName", "value": p.given_name},
            {"op": "Replace", "path": "name.familyName", "value": p.family_name},
            {"op": "Replace", "path": "externalId", "value": p.object_id},
            {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": employee_number},
        ]
    else:
        ops = [
            {"op": "replace", "path": email, "value": p.mail},
            {"op": "replace", "value": {"displayName": p.display_name, "name.givenName": p.given_name,
                                        "name.familyName": p.family_name, "externalId": p.object_id,
                                        f"{ENTERPRISE}:employeeNumber": employee_number}},
        ]
    # An empty source attribute is simply not sent: Entra never clears a value (entra-facts §1.12).
    return [op for op in ops if p.mail or op.get("path") != email]


def _match_or_create(s: _Sender, p: Person, user_name: str, dialect: str, index: int,
                     known: dict[str, str], *, matching: str = "userName",
                     send_external_id: bool = True) -> str | None:
    """Entra's per-user step: query by the matching attribute, then create or update."""
    query = f'externalId eq "{p.object_id}"' if matching == "externalId" else f'userName eq "{user_name}"'
    found = s.send("GET", "/Users", expect=(200,), params={"filter": query})
    resources = found.json().get("Resources", []) if found.status_code == 200 else []
    if resources:
        s.report.matched += 1
        scim_id = resources[0]["id"]
        r = s.send("PATCH", f"/Users/{scim_id}", expect=(200, 204),
                   json=_patch(_update_ops(dialect, p, f"E{index:05d}")))
        if r.status_code in (200, 204):
            s.report.updated += 1
        return scim_id
    r = s.send("POST", "/Users", expect=(201,), json=_create_body(p, user_name, external_id=send_external_id))
    if r.status_code != 201:
        if r.status_code == 409:
            s.report.conflicts += 1
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
    matching: str = "userName",
) -> SimulationReport:
    """Run one simulated Entra provisioning cycle against ``scim_url`` (an org's SCIM base)."""
    if dialect not in DIALECTS:
        raise ValueError(f"dialect must be one of {DIALECTS}")
    if scenario not in SCENARIOS:
        raise ValueError(f"scenario must be one of {SCENARIOS}")
    if matching not in MATCHING:
        raise ValueError(f"matching must be one of {MATCHING}")
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
            scim_id = _match_or_create(s, p, p.upn, dialect, i, known, matching=matching)
            if scim_id:
                known[p.object_id] = scim_id
                ids.append(scim_id)

        if scenario == "rename-after-reset":
            # Links lost (restart with resetScope: Full) and every user renamed in Entra.
            for i, p in enumerate(population):
                renamed = _renamed(p)
                _match_or_create(s, renamed, renamed.upn, dialect, i, known, matching=matching)
        elif scenario in ("mail-removed", "link-lost", "collision"):
            _drift(s, scenario, dialect, population, known)

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


def _renamed(p: Person) -> Person:
    return Person(p.object_id, f"renamed.{p.upn}", f"renamed.{p.mail}" if p.mail else "", p.given_name,
                  p.family_name)


def _drift(s: _Sender, scenario: str, dialect: str, population: list[Person], known: dict[str, str]) -> None:
    """The later cycles of the drift scenarios (see the module docstring)."""
    active = "False" if dialect == "default" else False
    if scenario == "mail-removed":  # next cycle: the mail is gone in Entra, nothing clears it here
        for i, p in enumerate(population):
            gone = Person(p.object_id, p.upn, "", p.given_name, p.family_name)
            _match_or_create(s, gone, gone.upn, dialect, i, known)
    elif scenario == "link-lost":
        for p in population:  # unassigned from the old app
            if p.object_id in known:
                s.send("PATCH", f"/Users/{known[p.object_id]}", expect=(200, 204), json=_patch(
                    [{"op": _op(dialect, "replace"), "path": "active", "value": active}]))
        fresh: dict[str, str] = {}
        for i, p in enumerate(population):  # a new job without the externalId mapping, users renamed
            renamed = _renamed(p)
            scim_id = _match_or_create(s, renamed, renamed.upn, dialect, i, fresh, send_external_id=False)
            if scim_id:  # the mapping is fixed: Entra PATCHes externalId onto the new account
                s.send("PATCH", f"/Users/{scim_id}", expect=(200, 204), json=_patch(
                    [{"op": _op(dialect, "replace"), "path": "externalId", "value": p.object_id}]))
    elif scenario == "collision":
        for a, b in zip(population[0::2], population[1::2], strict=False):
            if a.object_id not in known or b.object_id not in known:
                continue
            s.send("PATCH", f"/Users/{known[a.object_id]}", expect=(200, 204), json=_patch(
                [{"op": _op(dialect, "replace"), "path": "active", "value": active}]))
            s.send("PATCH", f"/Users/{known[b.object_id]}", expect=(200, 204), json=_patch(
                [{"op": _op(dialect, "replace"), "path": 'emails[type eq "work"].value', "value": a.mail}]))


def entra_state(users: int, *, seed: int = 1, scenario: str = "clean",
                domain: str = "contoso.com") -> list[tuple[Person, bool]]:
    """Entra's users (and whether each is enabled) after a scenario: what its export would list."""
    population = people(users, seed=seed, scenario=scenario, domain=domain)
    if scenario in ("rename-after-reset", "link-lost"):
        return [(_renamed(p), True) for p in population]
    if scenario == "mail-removed":
        return [(Person(p.object_id, p.upn, "", p.given_name, p.family_name), True) for p in population]
    if scenario == "collision":
        out = [(p, True) for p in population]
        for j in range(0, len(population) - 1, 2):
            a, b = population[j], population[j + 1]
            out[j] = (Person(a.object_id, a.upn, "", a.given_name, a.family_name), False)
            out[j + 1] = (Person(b.object_id, b.upn, a.mail, b.given_name, b.family_name), True)
        return out
    return [(p, True) for p in population]


def entra_export_csv(users: int, *, seed: int = 1, scenario: str = "clean",
                     domain: str = "contoso.com") -> str:
    """The Entra admin centre's "Download users" CSV (a subset of its columns) after a scenario."""
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(EXPORT_HEADER)
    for p, enabled in entra_state(users, seed=seed, scenario=scenario, domain=domain):
        w.writerow([p.upn, p.display_name, p.family_name, p.mail, p.given_name, p.object_id, "Member",
                    "TRUE" if enabled else "FALSE"])
    return "\ufeff" + buf.getvalue()


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
