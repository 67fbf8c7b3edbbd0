"""AdminApiClient against the real sandbox platform (uvicorn + SQLite on 127.0.0.1): every admin
endpoint of the contract, typed results, and the platform's own error codes."""

from __future__ import annotations

import pytest

from console.core.models import LogEvent, OrgSummary, PlatformUser
from console.services import api_errors as E  # noqa: N812
from console.services.api_client import AdminApiClient, new_idempotency_key


@pytest.fixture
def api(sandbox):
    with AdminApiClient(sandbox.admin_url, sandbox.operator_token) as client:
        yield client


@pytest.fixture
def fresh_api(fresh_sandbox):
    with AdminApiClient(fresh_sandbox.admin_url, fresh_sandbox.operator_token) as client:
        yield client


def test_health_and_org_pages_cover_the_demo_orgs(api: AdminApiClient) -> None:
    assert api.health()["status"] == "ok"
    first = api.list_orgs(limit=2)
    assert len(first.items) == 2
    assert first.next_cursor
    every = list(api.iter_orgs(page_size=2))
    ids = {o.id for o in every}
    assert {"contoso", "fabrikam", "northwind", "tailspin"} <= ids
    assert len(ids) == len(every)  # no duplicates across pages
    assert all(isinstance(o, OrgSummary) for o in every)
    assert [o.id for o in api.list_orgs(q="Contoso").items] == ["contoso"]


def test_org_readiness_facts(api: AdminApiClient) -> None:
    contoso, fabrikam, northwind = (api.get_org(x) for x in ("contoso", "fabrikam", "northwind"))
    assert contoso.template.ok
    assert contoso.scim.enabled is False
    assert contoso.work_area_count
    assert contoso.work_area_count >= 1
    assert fabrikam.template.status == "missing"
    assert northwind.scim.enabled is True
    assert northwind.scim.scim_base_url.endswith("/scim/v2/northwind")
    assert northwind.user_counts.scim > 0


def test_users_paging_and_filters(api: AdminApiClient) -> None:
    users = list(api.iter_users("contoso", page_size=7))
    assert len(users) == api.get_org("contoso").user_counts.total
    assert len({u.id for u in users}) == len(users)
    assert all(isinstance(u, PlatformUser) for u in users)
    one = users[0]
    assert api.get_user("contoso", one.id) == one
    if one.primary_email:
        assert one.id in {u.id for u in api.list_users("contoso", email=one.primary_email).items}


def test_provisioning_log_newest_first_tail_and_export(api: AdminApiClient) -> None:
    page = api.list_log_events("northwind", limit=20)
    assert page.items
    assert all(isinstance(e, LogEvent) for e in page.items)
    ids = [e.id for e in page.items]
    assert ids == sorted(ids, reverse=True)
    failures = api.list_log_events("northwind", outcome="failure", limit=50)
    assert failures.items
    assert all(e.outcome == "failure" for e in failures.items)
    oldest_shown = ids[-1]
    tail = api.tail_log("northwind", after_id=oldest_shown, limit=500)
    assert [e.id for e in tail] == sorted(e.id for e in tail)
    assert all(e.id > oldest_shown for e in tail)
    with api.export_log("northwind", outcome="failure") as events:
        exported = list(events)
    assert {e["id"] for e in exported} >= {e.id for e in failures.items}


def test_wrong_token_is_an_auth_error_without_the_token(sandbox) -> None:
    wrong = "scop_" + "x" * 40
    with AdminApiClient(sandbox.admin_url, wrong) as client, pytest.raises(E.AuthError) as info:
        client.list_orgs()
    assert info.value.status == 401
    assert info.value.code == "unauthorized"
    assert wrong not in str(info.value)


def test_unknown_org_is_not_found(api: AdminApiClient) -> None:
    with pytest.raises(E.NotFoundError) as info:
        api.get_org("no-such-org")
    assert info.value.status == 404


def test_enable_scim_replays_with_the_same_key_and_conflicts_without(fresh_api: AdminApiClient) -> None:
    key = new_idempotency_key()
    first = fresh_api.enable_scim("acme", idempotency_key=key)
    again = fresh_api.enable_scim("acme", idempotency_key=key)  # e.g. the UI retried after a timeout
    assert again.token == first.token
    assert first.token.startswith("scim_")
    assert first.scim_base_url.endswith("/scim/v2/acme")
    settings = fresh_api.get_scim("acme")
    assert settings.enabled
    assert [t.id for t in settings.tokens] == [first.token_info.id]  # nothing extra minted
    with pytest.raises(E.ConflictError) as info:
        fresh_api.enable_scim("acme", idempotency_key=new_idempotency_key())
    assert info.value.code == "scim_already_enabled"


def test_token_rotation_limit_and_revoke(fresh_api: AdminApiClient) -> None:
    fresh_api.enable_scim("acme", idempotency_key=new_idempotency_key())
    second = fresh_api.mint_scim_token("acme", idempotency_key=new_idempotency_key())
    with pytest.raises(E.ConflictError) as info:
        fresh_api.mint_scim_token("acme")
    assert info.value.code == "too_many_active_tokens"
    revoked = fresh_api.revoke_scim_token("acme", second.token_info.id)
    assert revoked.active is False
    assert revoked.revoked_at is not None
    assert sum(t.active for t in fresh_api.get_scim("acme").tokens) == 1
    audit = fresh_api.list_platform_audit("acme", limit=50)
    assert any("scim" in a.action for a in audit.items)
    assert all(second.token not in repr(a.params) for a in audit.items)


def test_templates_work_areas_users_and_actions(fresh_api: AdminApiClient) -> None:
    area = fresh_api.create_work_area("acme", "Operations")
    assert [w.id for w in fresh_api.list_work_areas("acme").items] == [area.id]
    template = fresh_api.create_template("acme", "Everyone", applies_to_all=True, work_area_ids=[area.id],
                                         role="member")
    assert fresh_api.get_org("acme").template.ok
    renamed = fresh_api.update_template("acme", template.id, name="Everyone (all users)")
    assert renamed.name == "Everyone (all users)"
    user = fresh_api.create_user("acme", {"user_name": "ana@acme.example", "display_name": "Ana",
                                          "emails": [{"value": "ana@acme.example", "type": "work",
                                                      "primary": True}],
                                          "created_via": "invite"})
    assert user.work_area_ids == (area.id,)  # the all-users template applied to the invite
    updated = fresh_api.clear_idp_link("acme", user.id, expected_version=user.version)
    with pytest.raises(E.ConflictError) as info:
        fresh_api.release_email("acme", user.id, expected_version=user.version - 1)
    assert info.value.code == "version_conflict"
    released = fresh_api.release_email("acme", user.id, expected_version=updated.version)
    assert released.primary_email != "ana@acme.example"


def test_secure_link_lifecycle(fresh_api: AdminApiClient) -> None:
    link = fresh_api.create_secure_link("scim_" + "s" * 40, org_id="acme", label="SCIM token for Acme")
    assert link.url
    assert f"/s/{link.id}/" in link.url
    assert link.url not in repr(link)
    state = fresh_api.get_secure_link(link.id)
    assert (state.state, state.label, state.url) == ("pending", "SCIM token for Acme", None)
    fresh_api.revoke_secure_link(link.id)
    assert fresh_api.get_secure_link(link.id).state == "revoked"
