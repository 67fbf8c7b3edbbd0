"""Reconciliation against a real sandbox over HTTP: every finding class built with the Entra simulator
and checked exactly (and none on a clean org), the seeded northwind org, log evidence from the org's
own provisioning log; then apply, resume after a lost answer, conflicts, cancel, and apply-twice
(hypothesis over random orgs: a plan stays inside its org, never deletes, and a second apply changes
nothing)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.core.models import AuditFilter
from console.core.reconcile.findings import FindingClass
from console.sandbox.server import SandboxServer
from console.sandbox.simulate import entra_export_csv, people, simulate_entra
from console.services.api_client import AdminApiClient
from console.services.logstore import LogCatalog
from console.services.reconcile import ReconcileEngine, RunStore, analyze_org, apply_run
from console.services.reconcile import runs as R  # noqa: N812
from tests import logs_data
from tests.sandbox.scim_helpers import ScimOrg, scim_org, user_body

C = FindingClass
N = 4
OP = "alice@support"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("reconcile") / "platform.db", seed="small") as s:
        yield s


def make_client(server: SandboxServer, **kw: Any) -> AdminApiClient:
    return AdminApiClient(server.base_url, server.operator_token, sleep=lambda _s: None, **kw)


@pytest.fixture(scope="module")
def client(server: SandboxServer) -> Iterator[AdminApiClient]:
    with make_client(server) as c:
        yield c


def manual(client: AdminApiClient, org: str, user_name: str, *emails: str,
           created_via: str = "manual") -> str:
    return client.create_user(org, {"user_name": user_name, "emails": list(emails),
                                    "created_via": created_via}).id


def export_file(tmp_path: Path, scenario: str, seed: int, users: int = N,
                drop: set[str] | None = None) -> Path:
    lines = entra_export_csv(users, seed=seed, scenario=scenario).split("\r\n")
    kept = [ln for ln in lines if not drop or not any(d in ln for d in drop)]
    path = tmp_path / f"entra-{scenario}-{seed}.csv"
    path.write_bytes("\r\n".join(kept).encode("utf-8"))
    return path


def found(engine: ReconcileEngine) -> set[tuple[C, frozenset[str]]]:
    return {(f.cls, frozenset(a.user_name for a in f.accounts)) for f in engine.findings()}


def analyse(client: AdminApiClient, org: str, **kw: Any) -> ReconcileEngine:
    return analyze_org(client, org, **kw)


def simulate(org: ScimOrg, scenario: str, seed: int, **kw: Any) -> None:
    report = simulate_entra(org.base_url, org.token, users=kw.pop("users", N), scenario=scenario, seed=seed,
                            **kw)
    assert report.ok, report.failures


# ---- every class, exactly
def test_a_clean_org_has_no_findings(client, new_org, tmp_path) -> None:
    org = new_org()
    simulate(org, "clean", 1)
    for export in (None, export_file(tmp_path, "clean", 1)):
        with analyse(client, org.org_id, entra_users=export) as engine:
            assert engine.summary.users == N
            assert found(engine) == set()
            assert engine.plan().steps == ()


def test_manual_accounts_and_scim_twins(client, new_org, tmp_path) -> None:  # (i)
    org = new_org()
    pop = people(N, seed=2, scenario="email-mismatch")
    for p in pop:
        manual(client, org.org_id, p.mail, p.mail)
    simulate(org, "email-mismatch", 2)
    expected = {(C.MANUAL_TWIN, frozenset({p.mail, p.upn})) for p in pop}
    for export in (None, export_file(tmp_path, "email-mismatch", 2)):
        with analyse(client, org.org_id, entra_users=export) as engine:
            assert found(engine) == expected
            assert {f.key for f in engine.findings()} == {"userName"}  # manual userName = twin's email


def test_a_lost_link_leaves_two_scim_accounts(client, new_org, tmp_path) -> None:  # (ii)
    org = new_org()
    pop = people(N, seed=3, scenario="link-lost")
    simulate(org, "link-lost", 3)
    expected = {(C.SCIM_TWINS, frozenset({p.upn, "renamed." + p.upn})) for p in pop}
    for export in (None, export_file(tmp_path, "link-lost", 3)):
        with analyse(client, org.org_id, entra_users=export) as engine:
            assert found(engine) == expected
            assert {f.value for f in engine.findings()} == {p.object_id for p in pop}
            merges = [(s.user_id, s.into_user_id) for s in engine.plan().api_steps]
            for f in engine.findings():
                old = next(a for a in f.accounts if not a.active)
                new = next(a for a in f.accounts if a.active)
                assert (old.id, new.id) in merges  # the active account is kept


def test_an_address_given_to_another_person_collides(client, new_org, tmp_path) -> None:  # (iii)
    org = new_org()
    pop = people(N, seed=4, scenario="collision")
    simulate(org, "collision", 4)
    pairs = zip(pop[0::2], pop[1::2], strict=True)
    expected = {(C.EMAIL_COLLISION, frozenset({a.upn, b.upn})) for a, b in pairs}
    with analyse(client, org.org_id) as engine:
        assert found(engine) == expected
        assert {f.detail for f in engine.findings()} == {"two_idp_objects"}
    with analyse(client, org.org_id, entra_users=export_file(tmp_path, "collision", 4)) as engine:
        assert found(engine) == expected
        releases = {(s.user_id, s.email) for s in engine.plan().api_steps}
        by_name = {a.user_name: a for f in engine.findings() for a in f.accounts}
        # Entra now gives each address to B: it is released from A, whose Entra user left
        assert releases == {(by_name[a.upn].id, a.mail) for a in pop[0::2]}


def test_case_only_twins(client, new_org) -> None:  # (iv)
    org = new_org()
    pop = people(N, seed=5)
    for i, p in enumerate(pop):
        manual(client, org.org_id, f"alias{i}", p.mail.title())  # invited under the address in Title Case
    simulate(org, "clean", 5)
    with analyse(client, org.org_id) as engine:
        assert found(engine) == {(C.CASE_ONLY, frozenset({f"alias{i}", p.mail})) for i, p in enumerate(pop)}


def test_mail_removed_in_entra_is_stale_on_the_platform(client, new_org, tmp_path) -> None:  # (v)
    org = new_org()
    pop = people(N, seed=6, scenario="mail-removed")
    simulate(org, "mail-removed", 6)
    with analyse(client, org.org_id) as engine:  # without the export only the weaker signal is visible
        assert found(engine) == {(C.USERNAME_NOT_EMAIL, frozenset({p.upn})) for p in pop}
    with analyse(client, org.org_id, entra_users=export_file(tmp_path, "mail-removed", 6)) as engine:
        assert found(engine) == {(C.STALE_EMAIL, frozenset({p.upn})) for p in pop}
        steps = {(s.action, s.email) for s in engine.plan().api_steps}
        assert steps == {("release_email", p.mail) for p in pop}


def test_user_name_differs_from_the_email(client, new_org) -> None:  # (vi)
    org = new_org()
    simulate(org, "email-mismatch", 7)
    with analyse(client, org.org_id) as engine:
        pop = people(N, seed=7, scenario="email-mismatch")
        assert found(engine) == {(C.USERNAME_NOT_EMAIL, frozenset({p.upn})) for p in pop}
        plan = engine.plan()
        assert plan.api_steps == ()
        assert len(plan.skipped) == N


def test_mail_less_users(client, new_org) -> None:  # (vii)
    org = new_org()
    simulate(org, "mail-less", 8)
    with analyse(client, org.org_id) as engine:
        pop = people(N, seed=8, scenario="mail-less")
        assert found(engine) == {(C.NO_EMAIL, frozenset({p.upn})) for p in pop}


def _import_org_log(client: AdminApiClient, org: str, tmp_path: Path) -> Any:
    path = logs_data.export_org_log(client, org, tmp_path / f"log-{org}.ndjson")
    catalog = LogCatalog(tmp_path / "logs")
    info, _report = catalog.import_file(path)
    return catalog.open(info.id)


def test_a_squatted_user_name_shows_in_the_logs(client, new_org, tmp_path) -> None:  # (iii) from the log
    org = new_org()
    pop = people(N, seed=9)
    squatter = manual(client, org.org_id, pop[0].upn, pop[0].upn, created_via="invite")
    simulate_entra(org.base_url, org.token, users=N, seed=9, matching="externalId")  # the POST answers 409
    dataset = _import_org_log(client, org.org_id, tmp_path)
    try:
        with analyse(client, org.org_id, logs=dataset) as engine:
            assert found(engine) == {(C.EMAIL_COLLISION, frozenset({pop[0].upn}))}
            f = engine.finding(engine.findings()[0].id)
            assert f.detail == "log_conflict"
            assert f.log_events >= 1
            assert {e.key for e in f.evidence if e.kind == "log"} == {"uniqueness"}
            assert [(s.action, s.user_id) for s in engine.plan().api_steps] == [("release_email", squatter)]
    finally:
        dataset.close()


def test_the_seeded_northwind_org(client, tmp_path) -> None:
    platform_only = {
        (C.SCIM_TWINS, frozenset({"tom.berg@northwind.com", "thomas.berg@northwind.com"})),
        (C.CASE_ONLY, frozenset({"mlee", "mark.lee@northwind.com"})),
        (C.USERNAME_NOT_EMAIL, frozenset({"a.khan@northwind.onmicrosoft.com"})),
        (C.NO_EMAIL, frozenset({"svc-kiosk@northwind.com"})),
    }
    twins = {
        (C.MANUAL_TWIN, frozenset({"jane.doe@northwindtraders.com", "jdoe@northwind.com"})),
        (C.MANUAL_TWIN, frozenset({"ravi.patel@northwindtraders.com", "rpatel@northwind.com"})),
        (C.MANUAL_TWIN, frozenset({"lucia.gomez@northwindtraders.com", "lgomez@northwind.com"})),
    }
    with analyse(client, "northwind") as engine:  # no export, no logs: the twins from names alone
        assert found(engine) == platform_only | twins
        by_name = {f.value: f for f in engine.findings(cls="manual_twin")}
        assert set(by_name) == {"Jane Doe", "Ravi Patel", "Lucía Gómez"}
        for f in by_name.values():
            assert (f.detail, f.key, f.confidence) == ("name_match", "displayName", "certain")
        signals = {(e.key, e.value) for e in engine.finding(by_name["Lucía Gómez"].id).evidence}
        assert ("localPart", "lucia.gomez ↔ lgomez (initial + last name)") in signals
        assert ("name", "both accounts are named Lucía Gómez") in signals
        assert ("name", "the only manual and the only SCIM account with this name") in signals
        assert ("lastLogin", "the SCIM account was never used") in signals
        assert {f.confidence for f in engine.findings() if f.detail != "name_match"} == {"certain"}
        assert len(engine.findings(confidence="certain", cls="manual_twin")) == 3
        assert engine.findings(confidence="possible") == []
    dataset = _import_org_log(client, "northwind", tmp_path)
    try:  # its provisioning log names the manual accounts the twins collided with, and the squatted address
        with analyse(client, "northwind", logs=dataset) as engine:
            assert found(engine) == platform_only | twins | {
                (C.EMAIL_COLLISION, frozenset({"sam.ortiz@northwind.com"})),
            }
            twin = engine.finding(next(f.id for f in engine.findings(cls="manual_twin")))
            assert twin.log_events == 1
    finally:
        dataset.close()


# ---- apply, resume, conflicts, cancel
class DropAnswer(httpx.BaseTransport):
    """Real HTTP to the sandbox; the answer to the ``nth`` request matching ``match`` is lost after the
    server acted (``httpx.ReadError``), as when a connection drops mid-response."""

    def __init__(self, match: str, nth: int) -> None:
        self.inner = httpx.HTTPTransport()
        self.match, self.left = match, nth

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if request.method == "POST" and request.url.path.endswith(self.match):
            self.left -= 1
            if self.left == 0:
                response.read()
                response.close()
                raise httpx.ReadError("connection reset", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


class Token:
    def __init__(self, cancel_after: int | None = None) -> None:
        self.cancel_after = cancel_after
        self.seen: list[tuple[int, int, str]] = []

    def progress(self, done: int, total: int = 0, text: str = "") -> None:
        self.seen.append((done, total, text))

    def cancelled(self) -> bool:
        finished = ("done", "already", "conflict", "failed", "blocked")
        steps = [s for s in self.seen if s[2].startswith(finished)]
        return self.cancel_after is not None and len(steps) >= self.cancel_after


def twins_org(client: AdminApiClient, new_org: Any, seed: int) -> tuple[ScimOrg, Any]:
    org = new_org()
    pop = people(N, seed=seed, scenario="email-mismatch")
    for p in pop:
        manual(client, org.org_id, p.mail, p.mail)
    simulate(org, "email-mismatch", seed)
    with analyse(client, org.org_id) as engine:
        plan = engine.plan()
    assert [s.action for s in plan.steps] == ["merge"] * N + ["advice"]
    return org, plan


def platform_audit(client: AdminApiClient, org: str) -> list[Any]:
    return list(client.list_platform_audit(org, limit=200).items)


def test_apply_merges_audits_each_step_and_a_second_apply_changes_nothing(client, new_org, store) -> None:
    org, plan = twins_org(client, new_org, 21)
    runs = RunStore(store.engine)
    token = Token()
    report = apply_run(client, runs, store.audit, runs.create(plan, actor=OP).id, token, operator=OP)
    assert report.ok, list(report.lines())
    assert report.counts()[R.DONE] == N
    assert report.counts()[R.ADVICE_SHOWN] == 1
    assert token.seen[-1][:2] == (N + 1, N + 1)
    local = store.audit.query(AuditFilter(action="reconcile.merge", org_id=org.org_id))
    assert sorted(r.params["user_id"] for r in local) == sorted(s.user_id for s in plan.api_steps)
    assert {r.outcome for r in local} == {"ok"}
    merges = [a for a in platform_audit(client, org.org_id) if a.action == "user.merge"]
    assert len(merges) == N
    for s in plan.api_steps:
        twin, kept = client.get_user(org.org_id, s.user_id), client.get_user(org.org_id, s.into_user_id)
        assert (twin.merged_into_id, twin.active) == (kept.id, False)  # deactivated, not deleted
        assert kept.external_id  # the SCIM identity Entra cached moved to the kept account
    with analyse(client, org.org_id) as engine:
        assert engine.findings(cls="manual_twin") == []
    # the same plan once more: every step is recognised as done, nothing is sent
    versions = {u.id: u.version for u in client.iter_users(org.org_id)}
    audit_before = len(platform_audit(client, org.org_id))
    again = apply_run(client, runs, store.audit, runs.create(plan, actor=OP).id, operator=OP)
    assert again.counts()[R.ALREADY_DONE] == N
    assert again.counts()[R.DONE] == 0
    assert {u.id: u.version for u in client.iter_users(org.org_id)} == versions
    assert len(platform_audit(client, org.org_id)) == audit_before


def test_a_lost_answer_interrupts_and_the_resume_detects_the_step_happened(server, client, new_org,
                                                                          store) -> None:
    org, plan = twins_org(client, new_org, 22)
    runs = RunStore(store.engine)
    run = runs.create(plan, actor=OP)
    transport = DropAnswer("/merge", nth=2)
    with make_client(server, transport=transport) as flaky:
        report = apply_run(flaky, runs, store.audit, run.id, operator=OP)
    assert report.status == R.RUN_INTERRUPTED
    assert [s.state for s in report.run.steps] == [R.DONE, R.RUNNING, R.PENDING, R.PENDING, R.PENDING]
    assert "NetworkError" in (report.stopped_reason or "")
    lines = list(report.lines())
    assert any("interrupted" in ln and "step 2" in ln for ln in lines)
    assert "1 interrupted, 3 not started" in lines[-2]
    assert runs.unfinished(org.org_id).id == run.id
    resumed = apply_run(client, runs, store.audit, run.id, operator=OP)
    assert resumed.ok
    assert [s.state for s in resumed.run.steps] == [R.DONE, R.ALREADY_DONE, R.DONE, R.DONE, R.ADVICE_SHOWN]
    assert runs.unfinished(org.org_id) is None
    merges = [a for a in platform_audit(client, org.org_id) if a.action == "user.merge"]
    assert len(merges) == N  # the lost one was not repeated
    runs_audit = store.audit.query(AuditFilter(action="reconcile.run", org_id=org.org_id))
    assert [r.outcome for r in runs_audit] == ["finished", "resumed", "interrupted", "started"]


def test_data_changed_since_the_preview_stops_only_that_item(client, new_org, store, tmp_path) -> None:
    org = new_org()
    pop = people(N, seed=23, scenario="collision")
    simulate(org, "collision", 23)
    departed = {a.object_id for a in pop[0::2]}
    export = export_file(tmp_path, "collision", 23, drop=departed)  # A's Entra users are gone: stale links
    with analyse(client, org.org_id, entra_users=export) as engine:
        plan = engine.plan()
    assert [s.action for s in plan.steps] == ["release_email", "clear_idp_link"] * 2 + ["advice"]
    first = plan.steps[0]
    changed = client.set_primary_email(org.org_id, first.user_id, "someone.else@contoso.com")  # meanwhile…
    runs = RunStore(store.engine)
    report = apply_run(client, runs, store.audit, runs.create(plan, actor=OP).id, operator=OP)
    assert report.status == R.RUN_FINISHED
    assert not report.ok
    states = [(s.state, s.step.user_id) for s in report.run.steps]
    assert states[:2] == [(R.CONFLICT, first.user_id), (R.BLOCKED, first.user_id)]
    assert [s for s, _u in states[2:]] == [R.DONE, R.DONE, R.ADVICE_SHOWN]  # restart with resetScope Full
    detail = report.run.steps[0].detail or ""
    assert "changed since the preview" in detail
    assert f"→ {changed.version}" in detail
    untouched = client.get_user(org.org_id, first.user_id)
    assert untouched.version == changed.version
    assert untouched.external_id  # the blocked step did not run
    conflict = store.audit.query(AuditFilter(action="reconcile.release_email", outcome="conflict"))
    assert [r.params["user_id"] for r in conflict] == [first.user_id]


def test_cancel_stops_between_steps_and_the_run_can_be_resumed(client, new_org, store) -> None:
    org, plan = twins_org(client, new_org, 24)
    runs = RunStore(store.engine)
    run = runs.create(plan, actor=OP)
    report = apply_run(client, runs, store.audit, run.id, Token(cancel_after=1), operator=OP)
    assert report.status == R.RUN_CANCELLED
    assert report.counts()[R.DONE] == 1
    assert report.counts()[R.PENDING] == N
    assert "cancelled" in (report.stopped_reason or "")
    assert runs.unfinished(org.org_id).id == run.id
    assert apply_run(client, runs, store.audit, run.id, operator=OP).ok


# ---- fuzzing: random orgs
NAMES = ["ann", "Ann", "bob", "cat"]
specs = st.lists(st.tuples(st.sampled_from(["manual", "invite", "scim"]), st.sampled_from(NAMES),
                           st.lists(st.sampled_from(NAMES), max_size=2), st.sampled_from(["e1", "e2", "e3"])),
                 min_size=1, max_size=7)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(specs)
def test_fuzz_plans_stay_in_their_org_never_delete_and_apply_twice_changes_nothing(server, client, store,
                                                                                   population) -> None:
    org = scim_org(server)
    try:
        for origin, name, mails, ext in population:
            emails = [f"{m}@x.com" for m in mails]
            if origin == "scim":
                body = user_body(f"{name}.{ext}@x.com", external_id=f"{org.org_id}-{ext}")
                body["emails"] = [{"value": v, "type": "work"} for v in dict.fromkeys(emails)]
                org.client.post("/Users", json=body)  # 201, or 409 when the userName is taken: both fine
            else:
                try:
                    manual(client, org.org_id, f"{name}@x.com", *dict.fromkeys(emails), created_via=origin)
                except Exception:  # noqa: BLE001 - a taken userName is part of the random input
                    pass
        with analyse(client, org.org_id) as engine:
            plan = engine.plan()
        mine = {u.id for u in client.iter_users(org.org_id)}
        others = {u.id for u in client.iter_users("northwind")}
        assert plan.user_ids() <= mine
        assert not plan.user_ids() & others
        allowed = {"clear_idp_link", "set_primary_email", "release_email", "merge", "advice"}
        assert {s.action for s in plan.steps} <= allowed
        runs = RunStore(store.engine)
        apply_run(client, runs, store.audit, runs.create(plan, actor=OP).id, operator=OP)
        versions = {u.id: u.version for u in client.iter_users(org.org_id)}
        audit_count = len(platform_audit(client, org.org_id))
        second = apply_run(client, runs, store.audit, runs.create(plan, actor=OP).id, operator=OP)
        assert second.counts()[R.DONE] == 0, list(second.lines())
        assert {u.id: u.version for u in client.iter_users(org.org_id)} == versions
        assert len(platform_audit(client, org.org_id)) == audit_count
    finally:
        org.close()


def test_unknown_org_is_a_clear_error(client) -> None:
    from console.services.api_errors import NotFoundError

    with pytest.raises(NotFoundError):
        analyse(client, "no-such-org-" + uuid.uuid4().hex[:6])
