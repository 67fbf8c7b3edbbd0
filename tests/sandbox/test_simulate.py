"""The Entra simulator against fresh sandbox orgs: exact effects of each scenario, and the CLI."""

from __future__ import annotations

import csv
import io
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from console.sandbox.db import ScimSettings, ScimToken, User, make_engine, make_sessionmaker
from console.sandbox.simulate import entra_export_csv, entra_state, people, simulate_entra
from console.sandbox.simulate_org import SimulationSetupError, simulate_org
from tests.sandbox.scim_helpers import create_org, start_server

N = 6


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(tmp_path_factory.mktemp("simulate"))
    yield srv
    srv.stop()


def _manual_accounts(server: Any, org_id: str, user_names: list[str]) -> None:
    with httpx.Client(
        base_url=server.admin_url, headers={"Authorization": f"Bearer {server.operator_token}"}, timeout=30
    ) as admin:
        for name in user_names:
            r = admin.post(
                f"/orgs/{org_id}/users",
                json={
                    "user_name": name,
                    "emails": [{"value": name, "type": "work", "primary": True}],
                    "created_via": "manual",
                },
            )
            assert r.status_code == 201, r.text


def _users(org: Any) -> list[User]:
    with org.session() as s:
        return list(
            s.scalars(select(User).where(User.org_id == org.org_id).options(selectinload(User.emails))).all()
        )


@pytest.mark.parametrize("dialect", ["default", "aadOptscim062020"])
def test_clean_creates_every_user_once(server: Any, new_org: Any, dialect: str) -> None:
    org = new_org()
    report = simulate_entra(org.base_url, org.token, dialect=dialect, users=N, scenario="clean", seed=3)
    assert report.ok, report.failures
    assert (report.created, report.matched, report.relinked, report.disabled) == (N, 0, 0, 1)
    assert report.group_members == N - 1  # added all, removed exactly one
    users = _users(org)
    assert len(users) == N
    assert all(u.created_via == "scim" for u in users)
    assert sorted(u.scim_id for u in users) == sorted(report.created_ids)
    assert sum(1 for u in users if not u.active) == 1
    # running the same cycle again matches everyone: no new account
    again = simulate_entra(org.base_url, org.token, dialect=dialect, users=N, scenario="clean", seed=3)
    assert again.ok
    assert again.created == 0
    assert again.matched == N
    assert len(_users(org)) == N


def test_email_mismatch_creates_exactly_the_duplicates(server: Any, new_org: Any) -> None:
    org = new_org()
    population = people(N, seed=5, scenario="email-mismatch")
    _manual_accounts(server, org.org_id, [p.mail for p in population])
    report = simulate_entra(org.base_url, org.token, users=N, scenario="email-mismatch", seed=5)
    assert report.ok, report.failures
    assert report.created == N
    assert report.matched == 0
    users = _users(org)
    manual = {u.user_name for u in users if u.created_via == "manual"}
    scim = [u for u in users if u.created_via == "scim"]
    assert manual == {p.mail for p in population}
    assert {u.user_name for u in scim} == {p.upn for p in population}
    # each twin carries the manual account's email: the duplicate pair the reconciler must find
    for u in scim:
        assert u.primary_email in manual
        assert u.external_id
        assert u.idp_link == u.external_id


def test_case_only_produces_no_duplicates(server: Any, new_org: Any) -> None:
    org = new_org()
    population = people(N, seed=7, scenario="case-only")
    _manual_accounts(server, org.org_id, [p.upn.lower() for p in population])
    report = simulate_entra(
        org.base_url, org.token, users=N, scenario="case-only", seed=7, dialect="aadOptscim062020"
    )
    assert report.ok, report.failures
    assert report.created == 0
    assert report.matched == N
    users = _users(org)
    assert len(users) == N
    assert all(u.created_via == "manual" for u in users)
    assert all(u.external_id for u in users)  # Entra's PATCH linked them


def test_rename_after_reset_relinks_by_external_id(server: Any, new_org: Any) -> None:
    org = new_org()
    report = simulate_entra(org.base_url, org.token, users=N, scenario="rename-after-reset", seed=9)
    assert report.ok, report.failures
    assert report.created == N
    assert report.relinked == N
    users = _users(org)
    assert len(users) == N  # no second account per Entra object
    assert all(u.user_name.startswith("renamed.") for u in users)
    assert len({u.external_id for u in users}) == N


def test_simulation_reports_credential_failure(server: Any, new_org: Any) -> None:
    org = new_org()
    report = simulate_entra(org.base_url, "scim_wrong", users=2)
    assert not report.ok
    assert not report.test_connection_ok
    assert report.created == 0
    assert report.statuses == {"401": 2}


def _cli(server: Any, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "SCIM_CONSOLE_URL": server.admin_url, "SCIM_CONSOLE_TOKEN": server.operator_token}
    return subprocess.run(
        [sys.executable, "-m", "console", "sandbox", "simulate-entra", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_cli_enables_scim_and_prints_json(server: Any) -> None:
    org_id = create_org(server)
    result = _cli(server, "--org", org_id, "--users", "3", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["ok"]
    assert report["created"] == 3
    assert "scim_" not in result.stdout + result.stderr
    assert server.operator_token not in result.stdout


def test_cli_rotation_token_is_revoked_after_run(server: Any, new_org: Any) -> None:
    org = new_org()  # enabled: one active token
    result = _cli(server, "--org", org.org_id, "--users", "2", "--scenario", "clean")
    assert result.returncode == 0, result.stderr
    assert "created=2" in result.stdout
    with org.session() as s:
        tokens = s.scalars(select(ScimToken).where(ScimToken.org_id == org.org_id)).all()
    assert len(tokens) == 2
    assert sum(1 for t in tokens if t.revoked_at is None) == 1
    assert org.client.get("/Users").status_code == 200  # the customer's token still works


def test_cli_without_env_fails_cleanly(server: Any) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SCIM_CONSOLE_")}
    result = subprocess.run(
        [sys.executable, "-m", "console", "sandbox", "simulate-entra", "--org", "x"],
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
        check=False,
    )
    assert result.returncode != 0
    assert "SCIM_CONSOLE_URL" in result.stderr


# ---- the drift scenarios the reconciler classifies (issue 6)
def test_mail_less_users_get_no_email(server: Any, new_org: Any) -> None:
    org = new_org()
    report = simulate_entra(org.base_url, org.token, users=N, scenario="mail-less", seed=11)
    assert report.ok, report.failures
    assert report.created == N
    assert all(not u.emails for u in _users(org))


def test_mail_removed_keeps_the_old_address_and_the_export_has_none(server: Any, new_org: Any) -> None:
    org = new_org()
    report = simulate_entra(org.base_url, org.token, users=N, scenario="mail-removed", seed=12)
    assert report.ok, report.failures
    assert (report.created, report.matched) == (N, N)  # the second cycle found everyone, sent no clear
    population = {p.object_id: p for p in people(N, seed=12, scenario="mail-removed")}
    for u in _users(org):
        assert u.primary_email == population[u.external_id].mail
    state = entra_state(N, seed=12, scenario="mail-removed")
    assert all(p.mail == "" for p, _enabled in state)


def test_link_lost_leaves_two_scim_accounts_per_entra_user(server: Any, new_org: Any) -> None:
    org = new_org()
    report = simulate_entra(org.base_url, org.token, users=N, scenario="link-lost", seed=13)
    assert report.ok, report.failures
    assert report.created == 2 * N
    users = _users(org)
    by_ext: dict[str, list[User]] = {}
    for u in users:
        by_ext.setdefault(u.external_id, []).append(u)
    assert len(by_ext) == N
    for twins in by_ext.values():
        old, new = sorted(twins, key=lambda u: u.user_name.startswith("renamed."))
        assert not old.active
        assert new.active
        assert new.user_name == "renamed." + old.user_name
        assert new.idp_link == new.external_id  # the PATCHed externalId became the link


def test_collision_gives_a_departed_users_address_to_another(server: Any, new_org: Any) -> None:
    org = new_org()
    report = simulate_entra(org.base_url, org.token, users=N, scenario="collision", seed=14)
    assert report.ok, report.failures
    population = people(N, seed=14, scenario="collision")
    by_ext = {u.external_id: u for u in _users(org)}
    for a, b in zip(population[0::2], population[1::2], strict=True):
        assert not by_ext[a.object_id].active
        assert by_ext[a.object_id].primary_email == a.mail == by_ext[b.object_id].primary_email
    state = entra_state(N, seed=14, scenario="collision")
    exported = {p.object_id: (p.mail, enabled) for p, enabled in state}
    assert exported[population[0].object_id] == ("", False)
    assert exported[population[1].object_id] == (population[0].mail, True)


def test_matching_on_external_id_gets_a_409_for_a_squatted_user_name(server: Any, new_org: Any) -> None:
    org = new_org()
    population = people(3, seed=15)
    _manual_accounts(server, org.org_id, [population[0].upn])  # e.g. an invite under that address
    report = simulate_entra(org.base_url, org.token, users=3, seed=15, matching="externalId")
    assert report.conflicts == 1
    assert report.created == 2
    assert [f["status"] for f in report.failures] == [409]
    with pytest.raises(ValueError):
        simulate_entra(org.base_url, org.token, users=1, matching="mail")


def test_entra_export_csv_is_the_download_users_shape() -> None:
    text = entra_export_csv(4, seed=3, scenario="link-lost")
    assert text.startswith("\ufeffuserPrincipalName,displayName,")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    assert len(rows) == 4
    assert all(r["userPrincipalName"].startswith("renamed.") for r in rows)
    assert {r["objectId"] for r in rows} == {p.object_id for p in people(4, seed=3, scenario="link-lost")}


def test_cli_writes_the_entra_export(server: Any, tmp_path: Any) -> None:
    org_id = create_org(server)
    target = tmp_path / "users.csv"
    result = _cli(server, "--org", org_id, "--users", "2", "--scenario", "mail-less",
                  "--entra-export", str(target))
    assert result.returncode == 0, result.stderr
    assert "conflicts=0" in result.stdout
    assert target.read_bytes().decode("utf-8") == entra_export_csv(2, scenario="mail-less")


# ---- reproduce on demand (issue 14): the scenario makes its own "before SCIM" state
def _pairs(org_id: str, server: Any) -> tuple[list[User], list[User]]:
    engine = make_engine(server.db_path)
    with make_sessionmaker(engine)() as s:
        rows = s.scalars(select(User).where(User.org_id == org_id).options(selectinload(User.emails))).all()
        for r in rows:
            s.expunge(r)
    engine.dispose()
    return [u for u in rows if u.created_via == "manual"], [u for u in rows if u.created_via == "scim"]


def test_cli_email_mismatch_reproduces_exactly_n_twins_on_a_fresh_org(server: Any) -> None:
    org_id = create_org(server)  # SCIM off, no users: what a trainer starts from
    result = _cli(server, "--org", org_id, "--scenario", "email-mismatch", "--users", "7", "--json")
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["manual_created"], report["manual_existing"], report["created"]) == (7, 0, 7)
    manual, scim = _pairs(org_id, server)
    population = people(7, seed=1, scenario="email-mismatch")
    assert sorted(u.user_name for u in manual) == sorted(p.mail for p in population)
    assert sorted(u.user_name for u in scim) == sorted(p.upn for p in population)
    by_mail = {u.user_name: u for u in manual}
    for twin in scim:  # each SCIM account carries its manual twin's address and names
        original = by_mail[twin.primary_email]
        assert (original.given_name, original.family_name) == (twin.given_name, twin.family_name)
        assert original.created_at < twin.created_at
    engine = make_engine(server.db_path)
    with make_sessionmaker(engine)() as s:
        settings = s.get(ScimSettings, org_id)
    engine.dispose()
    assert settings is not None
    assert settings.enabled
    assert settings.enabled_at is not None
    assert all(u.created_at <= settings.enabled_at for u in manual)  # they predate SCIM


def test_cli_email_mismatch_text_output_names_the_prepared_accounts(server: Any) -> None:
    org_id = create_org(server)
    result = _cli(server, "--org", org_id, "--scenario", "email-mismatch", "--users", "3", "--seed", "4")
    assert result.returncode == 0, result.stderr
    assert "before SCIM: manual accounts created=3 already there=0" in result.stdout
    assert "created=3 matched=0" in result.stdout
    again = _cli(server, "--org", org_id, "--scenario", "email-mismatch", "--users", "3", "--seed", "4")
    assert again.returncode == 0, again.stderr  # a second run: everyone is matched, no new twin
    assert "before SCIM: manual accounts created=0 already there=3" in again.stdout
    assert "created=0 matched=3" in again.stdout
    manual, scim = _pairs(org_id, server)
    assert (len(manual), len(scim)) == (3, 3)


def test_library_reproduces_on_an_org_with_scim_already_on(server: Any, new_org: Any) -> None:
    org = new_org()
    run = simulate_org(server.admin_url, server.operator_token, org.org_id, scenario="email-mismatch",
                       users=5, seed=8, domain="fabrikam.com")
    assert run.report.ok, run.report.failures
    assert (run.manual_created, run.report.created, run.report.matched) == (5, 5, 0)
    manual, scim = _pairs(org.org_id, server)
    assert {u.primary_email for u in scim} == {u.user_name for u in manual}
    assert all(u.user_name.endswith("@fabrikam.com") for u in manual)
    assert org.client.get("/Users").status_code == 200  # the rotation token went, the org's stayed


def test_library_case_only_prepares_accounts_that_are_matched(server: Any) -> None:
    org_id = create_org(server)
    run = simulate_org(server.admin_url, server.operator_token, org_id, scenario="case-only", users=4, seed=2)
    assert (run.manual_created, run.report.created, run.report.matched) == (4, 0, 4)
    manual, scim = _pairs(org_id, server)
    assert (len(manual), len(scim)) == (4, 0)


def test_library_names_a_refused_setup_step(server: Any) -> None:
    with pytest.raises(SimulationSetupError, match=r"cannot read SCIM state of org 'nope': HTTP 404"):
        simulate_org(server.admin_url, server.operator_token, "nope", scenario="email-mismatch", users=1)
