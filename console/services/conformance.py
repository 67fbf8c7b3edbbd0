"""Deep conformance check of a SCIM endpoint with Entra's profile (issue 4 §3; entra-facts §5 end, §1).

"Test Connection" only proves the token and two empty filters. Before a customer switches
provisioning on, support can run this check to find what would break the first real cycle:

1. **Entra profile** — the checks listed at the end of entra-facts §5, sent the way the Entra
   provisioning service sends them (capitalised PATCH ops with string booleans *and* the
   ``aadOptscim062020`` dialect, ``emails[type eq "work"].value`` paths and filters, manager as a
   raw string, group member removal by value, ``excludedAttributes=members``, …), each judged on
   status *and* effect (read back after every write).
2. **RFC checks** with ``scim2-tester`` (discovery, CRUD, PATCH) when it is installed.

Both create test resources in the customer's org. Every resource created is recorded (our own
requests, and scim2-tester's through an httpx2 response hook on ``201`` answers) and deleted at the
end, whatever happened; the report counts what was created, cleaned and — if the endpoint refused
a delete — left behind, by id. Test users are named ``scim-console-check-<random>@example.invalid``
(``.invalid`` never delivers mail, RFC 2606). The token is only ever an Authorization header.
"""

from __future__ import annotations

import time
import uuid
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx

from console.core.errors import Cancelled
from console.core.redact import redact, register_secret
from console.services.connection_test import run_connection_test
from console.services.tls import ssl_context

SCIM_JSON = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
MS_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
PREFIX = "scim-console-check-"
PASS, FAIL, WARN, SKIP = "pass", "fail", "warn", "skip"


@dataclass(frozen=True, slots=True)
class CheckOutcome:
    group: str     # "Entra profile" | "RFC (scim2-tester)" | "Clean-up"
    name: str
    status: str    # pass | fail | warn | skip
    detail: str = ""


@dataclass
class ConformanceReport:
    checks: list[CheckOutcome] = field(default_factory=list)
    created: int = 0
    cleaned: int = 0
    leftover: list[str] = field(default_factory=list)   # "Users/<id>" the endpoint did not delete
    requests: int = 0
    p95_ms: float = 0.0
    seconds: float = 0.0
    scim2_tester: bool = False

    @property
    def counts(self) -> dict[str, int]:
        c = Counter(x.status for x in self.checks)
        return {k: c.get(k, 0) for k in (PASS, FAIL, WARN, SKIP)}

    @property
    def ok(self) -> bool:
        return not any(x.status == FAIL for x in self.checks) and not self.leftover

    def summary(self) -> str:
        c = self.counts
        text = (f"{c[PASS]} passed, {c[FAIL]} failed, {c[WARN]} warnings, {c[SKIP]} skipped "
                f"({self.requests} requests, p95 {self.p95_ms:.0f} ms, {self.seconds:.1f} s). "
                f"Test resources created {self.created}, deleted {self.cleaned}")
        return text + (f", LEFT BEHIND {len(self.leftover)}." if self.leftover else ".")

    def as_dict(self) -> dict[str, Any]:
        return {"ok": self.ok, "counts": self.counts, "created": self.created, "cleaned": self.cleaned,
                "leftover": self.leftover, "requests": self.requests, "p95_ms": round(self.p95_ms, 1),
                "seconds": round(self.seconds, 2), "scim2_tester": self.scim2_tester,
                "checks": [{"group": x.group, "name": x.name, "status": x.status, "detail": x.detail}
                           for x in self.checks]}


class _Failed(Exception):
    """A check's expectation did not hold (its message is the detail)."""


class _Session:
    """The Entra-shaped requests, with latency bookkeeping and a record of what was created."""

    def __init__(self, base: str, token: str, transport: httpx.BaseTransport | None, timeout: float) -> None:
        self.base = base
        self.http = httpx.Client(timeout=httpx.Timeout(timeout, connect=min(5.0, timeout)),
                                 verify=ssl_context(None), follow_redirects=False, transport=transport,
                                 headers={"Authorization": f"Bearer {token}", "Accept": SCIM_JSON})
        self.latencies: list[float] = []
        self.created: list[str] = []   # "Users/<id>" / "Groups/<id>", creation order

    def send(self, method: str, path: str, *, auth: str | None = "keep", **kw: Any) -> httpx.Response:
        headers = dict(kw.pop("headers", {}))
        if auth != "keep":
            headers["Authorization"] = auth or ""
        if "json" in kw:
            headers["Content-Type"] = SCIM_JSON
        request = self.http.build_request(method, self.base + path, headers=headers, **kw)
        if auth is None:
            del request.headers["Authorization"]
        started = time.perf_counter()
        response = self.http.send(request)
        self.latencies.append((time.perf_counter() - started) * 1000)
        if method == "POST" and response.status_code == 201:
            rid = _json(response).get("id")
            if rid:
                self.created.append(f"{path.strip('/').split('/')[0]}/{rid}")
        return response

    def close(self) -> None:
        self.http.close()


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _expect(response: httpx.Response, *statuses: int) -> dict[str, Any]:
    if response.status_code not in statuses:
        body = redact(response.text[:300])
        raise _Failed(f"HTTP {response.status_code} (expected {'/'.join(map(str, statuses))}): {body}")
    return _json(response)


def _resources(body: dict[str, Any]) -> list[dict[str, Any]]:
    if LIST not in (body.get("schemas") or []):
        raise _Failed("the answer is not a SCIM ListResponse")
    return list(body.get("Resources") or [])


def _user_body(tag: str, *, with_email: bool = True) -> dict[str, Any]:
    """The create body of Microsoft's SCIM tutorial (entra-facts §1.4)."""
    body: dict[str, Any] = {
        "schemas": [USER, ENTERPRISE], "externalId": f"{tag}-oid", "userName": f"{tag}@example.invalid",
        "active": True, "displayName": f"SCIM console check {tag[-6:]}",
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Check User", "familyName": "User", "givenName": "Check"}, "roles": [],
    }
    if with_email:
        body["emails"] = [{"primary": True, "type": "work", "value": f"{tag}@example.invalid"}]
    return body


def _patch(*ops: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH], "Operations": list(ops)}


def _filter(s: _Session, resource: str, expr: str, **params: Any) -> list[dict[str, Any]]:
    return _resources(_expect(s.send("GET", f"/{resource}", params={"filter": expr, **params}), 200))


def _one(s: _Session, expr: str) -> dict[str, Any]:
    found = _filter(s, "Users", expr)
    if len(found) != 1:
        raise _Failed(f"filter {expr!r} found {len(found)} user(s), expected 1")
    return found[0]


def _work_email(user: dict[str, Any]) -> str | None:
    return next((e.get("value") for e in user.get("emails") or [] if e.get("type") == "work"), None)


def _entra_checks(s: _Session, token: str, scim_url: str, tag: str,
                  transport: httpx.BaseTransport | None) -> list[tuple[str, Callable[[], str]]]:
    """The ordered checks; each returns a short detail on success or raises _Failed."""
    state: dict[str, Any] = {}

    def discovery() -> str:
        r = s.send("GET", "/ServiceProviderConfig")
        _expect(r, 200)
        ctype = r.headers.get("content-type", "").split(";")[0].strip()
        if ctype != SCIM_JSON:
            raise _Failed(f"Content-Type is {ctype or 'missing'}, not {SCIM_JSON}")
        for path in ("/Schemas", "/ResourceTypes"):
            _resources(_expect(s.send("GET", path), 200))
        return "ServiceProviderConfig, Schemas and ResourceTypes answer; lists are ListResponses"

    def auth() -> str:
        for label, header in (("no token", None), ("a wrong token", "Bearer scim_" + "x" * 40)):
            r = s.send("GET", "/Users", auth=header, params={"count": 1})
            if r.status_code != 401:
                raise _Failed(f"{label} gave HTTP {r.status_code}, expected 401")
            body = _json(r)
            if body and (ERROR not in (body.get("schemas") or []) or not isinstance(body.get("status"), str)):
                raise _Failed(f"{label}: the 401 body is not a SCIM Error with status as a string")
        return "no token and a wrong token are refused with 401"

    def test_connection() -> str:
        result = run_connection_test(scim_url, token, transport=transport)
        if not result.ok:
            raise _Failed(result.message)
        return "both Test Connection probes answer 200 with an empty ListResponse"

    def create() -> str:
        body = _expect(s.send("POST", "/Users", json=_user_body(tag)), 201)
        if not body.get("id"):
            raise _Failed("the created user has no id")
        state["id"] = body["id"]
        meta = "" if body.get("meta", {}).get("created") else " (no meta.created)"
        return f"201 with id {body['id']}{meta}"

    def filters() -> str:
        uid = state["id"]
        for expr in (f'userName eq "{tag}@example.invalid"',
                     f'userName eq "{tag.upper()}@EXAMPLE.INVALID"',
                     f'externalId eq "{tag}-oid"',
                     f'emails[type eq "work"].value eq "{tag}@example.invalid"'):
            if _one(s, expr)["id"] != uid:
                raise _Failed(f"filter {expr!r} found another user")
        return "userName (exact and other case), externalId and emails[type eq \"work\"].value"

    def patch_default() -> str:
        uid = state["id"]
        _expect(s.send("PATCH", f"/Users/{uid}", json=_patch(
            {"op": "Replace", "path": "displayName", "value": "Check Renamed"},
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"{tag}.new@example.invalid"},
            {"op": "Replace", "path": "name.familyName", "value": "Renamed"},
            {"op": "Add", "path": f"{ENTERPRISE}:employeeNumber", "value": "E-42"},
            {"op": "Replace", "path": "active", "value": "False"})), 200, 204)
        user = _expect(s.send("GET", f"/Users/{uid}"), 200)
        if user.get("active") is not False:
            raise _Failed(f"active is {user.get('active')!r} after Replace active \"False\"")
        if _work_email(user) != f"{tag}.new@example.invalid" or user.get("displayName") != "Check Renamed":
            raise _Failed("the replaced values did not stick")
        if user.get(ENTERPRISE, {}).get("employeeNumber") != "E-42":
            raise _Failed("the enterprise employeeNumber was not stored")
        found = _one(s, f'userName eq "{tag}@example.invalid"')
        if found.get("active") is not False:
            raise _Failed("a disabled user must still be found by userName, with active false")
        return "capitalised ops, string boolean, work-email path; disabled user still found"

    def patch_flagged() -> str:
        uid = state["id"]
        _expect(s.send("PATCH", f"/Users/{uid}", json=_patch(
            {"op": "replace", "value": {"displayName": "Check Flagged", "name.givenName": "Flag",
                                        f"{ENTERPRISE}:department": "QA"}},
            {"op": "replace", "path": "active", "value": True})), 200, 204)
        user = _expect(s.send("GET", f"/Users/{uid}"), 200)
        if (user.get("displayName"), user.get("name", {}).get("givenName"), user.get("active")) != \
                ("Check Flagged", "Flag", True):
            raise _Failed("pathless replace with attribute paths as keys did not apply")
        if user.get(ENTERPRISE, {}).get("department") != "QA":
            raise _Failed("the enterprise department (URN key) was not applied")
        return "aadOptscim062020: lowercase ops, JSON boolean, pathless replace with paths as keys"

    def manager() -> str:
        uid = state["id"]
        path = f"{ENTERPRISE}:manager"
        _expect(s.send("PATCH", f"/Users/{uid}", json=_patch({"op": "add", "path": path, "value": uid})),
                200, 204)
        got = _expect(s.send("GET", f"/Users/{uid}"), 200).get(ENTERPRISE, {}).get("manager")
        if not got or (got.get("value") if isinstance(got, dict) else got) != uid:
            raise _Failed(f"manager as a raw string id was not stored (got {got!r})")
        _expect(s.send("PATCH", f"/Users/{uid}", json=_patch({"op": "replace", "path": path, "value": ""})),
                200, 204)
        got = _expect(s.send("GET", f"/Users/{uid}"), 200).get(ENTERPRISE, {}).get("manager")
        if got and (got.get("value") if isinstance(got, dict) else got):
            raise _Failed(f"replace with \"\" did not remove the manager (got {got!r})")
        return "raw-string manager added, removed with \"\""

    def mailless() -> str:
        other = f"{tag}-nomail"
        body = _expect(s.send("POST", "/Users", json=_user_body(other, with_email=False)), 201)
        state["mailless"] = body["id"]
        _expect(s.send("PATCH", f"/Users/{body['id']}", json=_patch(
            {"op": "Replace", "path": 'emails[type eq "work"].value', "value": f"{other}@example.invalid"})),
            200, 204)
        user = _expect(s.send("GET", f"/Users/{body['id']}"), 200)
        if _work_email(user) != f"{other}@example.invalid":
            raise _Failed("Replace of emails[type eq \"work\"].value on a user without one must create it")
        return "a user without mail is created; Replace on the missing work email creates it"

    def duplicate() -> str:
        # Same userName, another externalId: a uniqueness conflict (RFC 7644 §3.3).
        other = dict(_user_body(tag), externalId=f"{tag}-other-oid")
        body = _expect(s.send("POST", "/Users", json=other), 409)
        if body.get("scimType") != "uniqueness":
            raise _Failed(f"409 without scimType \"uniqueness\" (got {body.get('scimType')!r})")
        # Same externalId again (Entra re-POSTs after losing its cached id): 409, or the SAME account
        # back (re-link by externalId, entra-facts §3.4 rule 10) — never a second account.
        r = s.send("POST", "/Users", json=_user_body(tag))
        if r.status_code == 201 and _json(r).get("id") != state["id"]:
            raise _Failed("a second POST with the same externalId created another account (a duplicate)")
        if r.status_code not in (201, 409):
            raise _Failed(f"a second POST with the same externalId gave HTTP {r.status_code}")
        relinked = "re-linked to the same account" if r.status_code == 201 else "409"
        return f"same userName → 409 uniqueness; same externalId → {relinked}"

    def groups() -> str:
        uid, second = state["id"], state["mailless"]
        body = _expect(s.send("POST", "/Groups", json={
            "schemas": [GROUP, MS_GROUP], "externalId": f"{tag}-grp", "displayName": f"{PREFIX}{tag[-6:]}",
            "meta": {"resourceType": "Group"}}), 201)
        gid = body["id"]
        if body.get("members"):
            raise _Failed("a new group must start with no members")
        add = [{"$ref": None, "value": uid}, {"$ref": None, "value": second}]
        _expect(s.send("PATCH", f"/Groups/{gid}",
                       json=_patch({"op": "Add", "path": "members", "value": add})), 200, 204)
        found = _filter(s, "Groups", f'displayName eq "{PREFIX}{tag[-6:]}"', excludedAttributes="members")
        if len(found) != 1 or "members" in found[0]:
            raise _Failed("the group filter with excludedAttributes=members must return it without members")
        _expect(s.send("PATCH", f"/Groups/{gid}", json=_patch(
            {"op": "Remove", "path": "members", "value": [{"value": uid}]})), 200, 204)
        members = {m.get("value") for m in _expect(s.send("GET", f"/Groups/{gid}"), 200).get("members") or []}
        if members != {second}:
            raise _Failed("Remove members with a value must remove only that member "
                          f"(left {sorted(members)})")
        _expect(s.send("DELETE", f"/Groups/{gid}"), 204)
        _expect(s.send("GET", f"/Groups/{gid}"), 404)
        return "create (Microsoft schema URI), add, filter without members, remove by value, delete"

    def pagination() -> str:
        body = _expect(s.send("GET", "/Users", params={"startIndex": 1, "count": 5}), 200)
        items = _resources(body)
        total = int(body.get("totalResults") or 0)
        if len(items) > 5:
            raise _Failed(f"count=5 returned {len(items)} resources")
        if total >= 5 and len(items) != 5:
            raise _Failed(f"count=5 with {total} users returned {len(items)}")
        return f"startIndex=1&count=5 → {len(items)} of {total}"

    def delete() -> str:
        uid = state["id"]
        _expect(s.send("DELETE", f"/Users/{uid}"), 204)
        _expect(s.send("GET", f"/Users/{uid}"), 404)
        return "204, then 404"

    return [("Discovery endpoints", discovery), ("Authentication", auth),
            ("Test Connection probes", test_connection), ("Create user (tutorial body)", create),
            ("Filters Entra uses", filters), ("PATCH, default job dialect", patch_default),
            ("PATCH, aadOptscim062020 dialect", patch_flagged), ("Manager shapes", manager),
            ("User without mail", mailless), ("Duplicate create", duplicate), ("Groups", groups),
            ("Pagination", pagination), ("Delete user", delete)]


def _run_scim2_tester(base: str, token: str, created: list[str]) -> list[CheckOutcome]:
    try:
        import httpx2
        from scim2_client.engines.httpx2 import SyncSCIMClient
        from scim2_tester import Status, check_server
    except ImportError:
        return [CheckOutcome("RFC (scim2-tester)", "scim2-tester", SKIP, "scim2-tester is not installed")]

    def record(response: Any) -> None:
        if response.request.method == "POST" and response.status_code == 201:
            response.read()
            try:
                rid = response.json().get("id")
            except ValueError:
                return
            kind = response.request.url.path.rstrip("/").rsplit("/", 1)[-1]
            if rid and kind in ("Users", "Groups"):
                created.append(f"{kind}/{rid}")

    with httpx2.Client(base_url=base + "/", headers={"Authorization": f"Bearer {token}"}, timeout=30,
                       event_hooks={"response": [record]}) as http:
        client = SyncSCIMClient(http)
        try:
            client.discover()
            results = check_server(client)
        except Exception as exc:  # noqa: BLE001 - a broken endpoint is a finding, not a crash
            return [CheckOutcome("RFC (scim2-tester)", "discovery", FAIL,
                                 redact(f"{type(exc).__name__}: {exc}"))]
    status = {Status.ERROR: FAIL, Status.CRITICAL: FAIL, Status.SKIPPED: SKIP, Status.DEVIATION: WARN}
    out = []
    for r in results:
        detail = redact(str(r.reason or r.description or ""))[:300]
        out.append(CheckOutcome("RFC (scim2-tester)", str(r.title), status.get(r.status, PASS), detail))
    return out


def _cleanup(s: _Session, created: list[str], report: ConformanceReport) -> None:
    for ref in reversed(dict.fromkeys(created)):  # newest first (groups before their members)
        try:
            r = s.send("DELETE", f"/{ref}")
            if r.status_code in (204, 200, 404):
                report.cleaned += 1
            else:
                report.leftover.append(ref)
        except httpx.HTTPError:
            report.leftover.append(ref)
    report.checks.append(CheckOutcome(
        "Clean-up", "Test resources deleted", FAIL if report.leftover else PASS,
        f"left behind: {', '.join(report.leftover)}" if report.leftover else f"{report.cleaned} deleted"))


def run_conformance(scim_url: str, token: str, *, with_scim2_tester: bool = True,
                    progress: Callable[[int, int, str], None] | None = None,
                    cancelled: Callable[[], bool] | None = None,
                    transport: httpx.BaseTransport | None = None, timeout: float = 30.0) -> ConformanceReport:
    """Run every check; HTTP trouble inside a check is that check's failure, never an exception.

    Raises ``Cancelled`` between checks when ``cancelled()`` turns true — after cleaning up."""
    register_secret(token)
    base = scim_url.strip().rstrip("/")
    tag = PREFIX + uuid.uuid4().hex[:12]
    report = ConformanceReport()
    started = time.perf_counter()
    s = _Session(base, token, transport, timeout)
    checks = _entra_checks(s, token, base, tag, transport)
    total = len(checks) + (1 if with_scim2_tester else 0) + 1
    stop = False
    try:
        for i, (name, check) in enumerate(checks):
            if cancelled is not None and cancelled():
                stop = True
                break
            if progress is not None:
                progress(i, total, name)
            try:
                report.checks.append(CheckOutcome("Entra profile", name, PASS, check()))
            except _Failed as exc:
                report.checks.append(CheckOutcome("Entra profile", name, FAIL, str(exc)))
            except (httpx.HTTPError, KeyError, TypeError, ValueError) as exc:
                report.checks.append(CheckOutcome("Entra profile", name, FAIL,
                                                  redact(f"{type(exc).__name__}: {exc}")))
        if with_scim2_tester and not stop:
            if progress is not None:
                progress(len(checks), total, "RFC checks (scim2-tester)")
            report.scim2_tester = True
            report.checks.extend(_run_scim2_tester(base, token, s.created))
    finally:
        if progress is not None:
            progress(total - 1, total, "Deleting test resources")
        _cleanup(s, s.created, report)
        report.created = len(dict.fromkeys(s.created))
        report.requests = len(s.latencies)
        ordered = sorted(s.latencies)
        report.p95_ms = ordered[int(0.95 * (len(ordered) - 1))] if ordered else 0.0
        report.seconds = time.perf_counter() - started
        s.close()
    if stop:
        raise Cancelled()
    return report
