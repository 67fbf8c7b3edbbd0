"""The real AdminApiClient and scim_setup against a sandbox that misbehaves on purpose (fault mode).

Every test sets faults on one shared sandbox (real uvicorn, real SQLite) and clears them after. The
client's ``sleep=`` hook records the delays it asked for, so Retry-After and back-off are asserted
without waiting; one test measures a real wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from console.sandbox.app import openapi_document
from console.sandbox.server import SandboxServer
from console.services import api_errors as E  # noqa: N812
from console.services.api_client import AdminApiClient, RetryNotice, RetryPolicy, new_idempotency_key
from console.services.pending_deliveries import PendingDeliveries, secret_key
from console.services.scim_setup import EnableInterruptedError, enable_scim, rotate_token
from console.services.secrets import SecretStore
from console.services.store import Store
from tests.sandbox import fault_fixtures
from tests.sandbox.admin_helpers import admin_client
from tests.sandbox.scim_helpers import create_org

OP = "alice@support"

server = fault_fixtures.server  # this module's own sandbox (module scope)
clear_faults = fault_fixtures.clear_faults


@pytest.fixture
def org(server: SandboxServer) -> str:
    return create_org(server)


class Recorder:
    """The client's ``sleep`` and ``on_retry`` hooks: what it waited for, and what it told the UI."""

    def __init__(self) -> None:
        self.sleeps: list[float] = []
        self.notices: list[RetryNotice] = []

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)

    def client(self, server: SandboxServer, **kw) -> AdminApiClient:
        return AdminApiClient(server.base_url, server.operator_token, sleep=self.sleep,
                              on_retry=self.notices.append, **kw)


@pytest.fixture
def rec() -> Recorder:
    return Recorder()


def requests_seen(server: SandboxServer, rule: int = 0) -> int:
    return server.faults.stats()[rule].matched


def platform_tokens(server: SandboxServer, org_id: str) -> list[dict]:
    with admin_client(server) as c:
        return c.get(f"/orgs/{org_id}/scim").json()["tokens"]


def work_area_names(server: SandboxServer, org_id: str) -> list[str]:
    with admin_client(server) as c:
        return [w["name"] for w in c.get(f"/orgs/{org_id}/work-areas", params={"limit": 200}).json()["items"]]


def enable(client: AdminApiClient, org_id: str, secrets: SecretStore, store: Store, **kw):
    return enable_scim(client, org_id, secrets, store.audit, operator=OP,
                       deliveries=PendingDeliveries(store.engine), **kw)


def watch_for(seconds: float, check: Callable[[], None]) -> int:
    """Run ``check`` (real requests) repeatedly for ``seconds``: a late server-side effect fails it."""
    deadline = time.monotonic() + seconds
    runs = 0
    while time.monotonic() < deadline:
        check()
        runs += 1
    return runs


# ---------------------------------------------------------------- 429 and Retry-After


def test_429_retry_after_is_honoured_and_announced(server, rec) -> None:
    server.faults.set("GET admin/orgs:429,retry-after=7@1-2")
    with rec.client(server) as c:
        page = c.list_orgs()
    assert page.items
    assert rec.sleeps == [7.0, 7.0]
    assert requests_seen(server) == 3
    assert [(n.attempt, n.delay, n.reason) for n in rec.notices] == [(1, 7.0, "429 rate_limited"),
                                                                     (2, 7.0, "429 rate_limited")]
    assert rec.notices[0].message == "Throttled, retrying in 7 s"


def test_429_real_wait_is_at_least_retry_after(server) -> None:
    server.faults.set("GET admin/orgs:429,retry-after=1@1")
    with AdminApiClient(server.base_url, server.operator_token) as c:  # the real time.sleep
        t0 = time.monotonic()
        c.list_orgs()
        waited = time.monotonic() - t0
    assert 1.0 <= waited < 5.0


def test_429_retry_after_is_capped(server, rec) -> None:
    server.faults.set("GET admin/orgs:429,retry-after=3600@1")
    with rec.client(server) as c:
        c.list_orgs()
    assert rec.sleeps == [120.0]


def test_429_beyond_the_budget_fails_at_once_with_the_wait(server, rec) -> None:
    server.faults.set("GET admin/orgs:429,retry-after=60")
    with rec.client(server, retries=RetryPolicy(budget=30.0)) as c, \
            pytest.raises(E.RateLimitedError) as caught:
        c.list_orgs()
    assert rec.sleeps == []
    assert caught.value.retry_after == 60.0
    assert caught.value.status == 429
    assert caught.value.where == "GET orgs"
    assert requests_seen(server) == 1


def test_429_without_retry_after_backs_off_and_gives_up_after_5_attempts(server, rec) -> None:
    server.faults.set("GET admin/orgs:429,retry-after=none")
    with rec.client(server) as c, pytest.raises(E.RateLimitedError) as caught:
        c.list_orgs()
    assert requests_seen(server) == 5
    assert len(rec.sleeps) == 4
    for attempt, delay in enumerate(rec.sleeps, start=1):  # exponential with jitter (50–100 %)
        assert 0.5 * 0.5 * 2 ** (attempt - 1) <= delay <= 0.5 * 2 ** (attempt - 1)
    assert caught.value.retry_after is None


def test_429_on_a_non_idempotent_post_is_not_retried(server, rec, org) -> None:
    server.faults.set("POST admin/orgs/*/work-areas:429,retry-after=1")
    with rec.client(server) as c, pytest.raises(E.RateLimitedError):
        c.create_work_area(org, "Sales")
    assert requests_seen(server) == 1
    assert rec.sleeps == []


# ---------------------------------------------------------------- 5xx


@pytest.mark.parametrize("status", [502, 503, 504])
def test_transient_5xx_on_get_is_retried(server, rec, status) -> None:
    server.faults.set(f"GET admin/orgs/acme:{status},retry-after=none@1")
    with rec.client(server) as c:
        assert c.get_org("acme").id == "acme"
    assert requests_seen(server) == 2
    assert rec.notices[0].reason.startswith(str(status))
    assert rec.notices[0].message.startswith("Temporary failure, retrying in")


def test_503_retry_after_is_honoured_too(server, rec) -> None:
    server.faults.set("GET admin/orgs/acme:503,retry-after=4@1")
    with rec.client(server) as c:
        c.get_org("acme")
    assert rec.sleeps == [4.0]


def test_500_is_a_bug_not_a_blip_and_is_not_retried(server, rec) -> None:
    server.faults.set("GET admin/orgs/acme:500")
    with rec.client(server) as c, pytest.raises(E.ServerError) as caught:
        c.get_org("acme")
    assert requests_seen(server) == 1
    assert caught.value.status == 500
    assert caught.value.code == "internal_error"
    assert "Injected fault" in str(caught.value)
    assert caught.value.where == "GET orgs/acme"


def test_delete_is_idempotent_and_retried(server, rec, org, secrets, store) -> None:
    with rec.client(server) as c:
        first = enable(c, org, secrets, store)
        server.faults.set("DELETE admin/orgs/*/scim/tokens/*:503-after-commit@1")
        info = c.revoke_scim_token(org, first.token_info.id)
    assert info.active is False
    assert requests_seen(server) == 2


def test_unkeyed_post_is_not_retried_on_5xx(server, rec, org) -> None:
    server.faults.set("POST admin/orgs/*/work-areas:503@1")
    with rec.client(server) as c, pytest.raises(E.ServerError):
        c.create_work_area(org, "Sales")
    assert requests_seen(server) == 1
    assert work_area_names(server, org) == []


def test_patch_is_not_retried_on_5xx(server, rec, org) -> None:
    with rec.client(server) as c:
        area = c.create_work_area(org, "Ops")
        template = c.create_template(org, "All", applies_to_all=True, work_area_ids=[area.id])
        server.faults.set("PATCH admin/orgs/*/templates/*:503-after-commit")
        with pytest.raises(E.ServerError):
            c.update_template(org, template.id, name="Everyone")
    assert requests_seen(server) == 1


def test_keyed_post_to_an_endpoint_that_ignores_keys_is_not_retried(server, rec, org) -> None:
    """Only the token-minting endpoints replay an Idempotency-Key. A retried create_work_area whose
    first attempt committed used to come back as 409 work_area_exists for the user's own success."""
    server.faults.set("POST admin/orgs/*/work-areas:503-after-commit@1")
    with rec.client(server) as c, pytest.raises(E.ServerError) as caught:
        c.create_work_area(org, "Sales", idempotency_key=new_idempotency_key())
    assert requests_seen(server) == 1
    assert caught.value.status == 503
    assert work_area_names(server, org) == ["Sales"]  # it did happen; the user is told 503, not 409


def test_retry_safe_posts_are_exactly_the_ones_the_openapi_document_gives_a_key() -> None:
    def declares_key(op: dict) -> bool:
        return any(p.get("name") == "Idempotency-Key" for p in op.get("parameters", ()))

    paths = openapi_document()["paths"]
    keyed = sorted(path for path, ops in paths.items() if declares_key(ops.get("post", {})))
    assert keyed == ["/admin/v1/orgs/{org_id}/scim/enable", "/admin/v1/orgs/{org_id}/scim/tokens"]
    with AdminApiClient("http://127.0.0.1:9", "scop_x") as c:
        key = {"Idempotency-Key": "k"}
        assert c._may_retry("POST", "orgs/acme/scim/enable", key)
        assert c._may_retry("POST", "orgs/acme/scim/tokens", key)
        assert not c._may_retry("POST", "orgs/acme/scim/enable", None)
        assert not c._may_retry("POST", "orgs/acme/work-areas", key)
        assert not c._may_retry("POST", "secure-links", key)
        assert not c._may_retry("PATCH", "orgs/acme/templates/t1", None)
        assert c._may_retry("GET", "orgs", None)
        assert c._may_retry("DELETE", "orgs/acme/scim/tokens/t1", None)


# ---------------------------------------------------------------- resets and the one-token promise


def test_reset_after_commit_on_enable_yields_exactly_one_active_token(
    server, rec, org, secrets, store
) -> None:
    server.faults.set("POST admin/orgs/*/scim/enable:reset-after-commit@1")
    with rec.client(server) as c:
        result = enable(c, org, secrets, store)
    assert requests_seen(server) == 2  # cut once after commit, replayed once
    assert [n.reason for n in rec.notices] == ["connection failed"]
    tokens = platform_tokens(server, org)
    assert [(t["id"], t["active"]) for t in tokens] == [(result.token_info.id, True)]
    assert secrets.get(secret_key(org, result.token_info.id, server.instance_id)) == result.token
    assert store.audit.query()[0].action == "scim.enable"
    assert store.audit.query()[0].outcome == "ok"


def test_reset_after_commit_without_client_retries_is_retried_by_scim_setup(
    server, rec, org, secrets, store
) -> None:
    server.faults.set("POST admin/orgs/*/scim/enable:reset-after-commit@1-2")
    attempts: list[int] = []
    with rec.client(server, retries=RetryPolicy.none()) as c:
        result = enable(c, org, secrets, store, on_attempt=attempts.append)
    assert attempts == [1, 2, 3]
    assert result.attempts == 3
    assert [t["id"] for t in platform_tokens(server, org)] == [result.token_info.id]


def test_enable_that_never_gets_an_answer_reports_enabled_and_try_again_replays(
    server, rec, org, secrets, store
) -> None:
    server.faults.set("POST admin/orgs/*/scim/enable:reset-after-commit")
    with rec.client(server) as c, pytest.raises(EnableInterruptedError) as caught:
        enable(c, org, secrets, store)
    err = caught.value
    assert err.state == "enabled"
    assert requests_seen(server) == 15  # 3 scim_setup attempts × 5 client attempts, one key
    assert "broke before its answer arrived" in str(err)
    assert len(platform_tokens(server, org)) == 1
    assert store.audit.query()[0].outcome == "error"
    server.faults.clear()
    with rec.client(server) as c:
        again = enable(c, org, secrets, store, idempotency_key=err.idempotency_key)
    assert [t["id"] for t in platform_tokens(server, org)] == [again.token_info.id]


def test_enable_refused_before_the_handler_reports_not_enabled(server, rec, org, secrets, store) -> None:
    server.faults.set("POST admin/orgs/*/scim/enable:500")
    with rec.client(server) as c, pytest.raises(EnableInterruptedError) as caught:
        enable(c, org, secrets, store)
    assert caught.value.state == "not_enabled"
    assert platform_tokens(server, org) == []


def test_503_after_commit_on_enable_is_replayed_not_reminted(server, rec, org, secrets, store) -> None:
    server.faults.set("POST admin/orgs/*/scim/enable:503-after-commit,retry-after=2@1")
    with rec.client(server) as c:
        result = enable(c, org, secrets, store)
    assert rec.sleeps == [2.0]
    assert [t["id"] for t in platform_tokens(server, org)] == [result.token_info.id]


def test_rotate_under_reset_after_commit_mints_one_more_token_not_two(
    server, rec, org, secrets, store
) -> None:
    with rec.client(server) as c:
        first = enable(c, org, secrets, store)
        server.faults.set("POST admin/orgs/*/scim/tokens:reset-after-commit@1")
        second = rotate_token(c, org, secrets, store.audit, operator=OP,
                              deliveries=PendingDeliveries(store.engine))
    active = sorted(t["id"] for t in platform_tokens(server, org) if t["active"])
    assert active == sorted([first.token_info.id, second.token_info.id])
    assert secrets.get(secret_key(org, second.token_info.id, server.instance_id)) == second.token


def test_rotate_never_leaves_an_active_token_the_console_does_not_hold(
    server, rec, org, secrets, store
) -> None:
    """rotate used to mint first and GET the SCIM settings after: a failing GET lost the new token
    (active on the platform, never in the keyring, never audited). Now the GET comes first."""
    with rec.client(server) as c:
        first = enable(c, org, secrets, store)
        server.faults.set("GET admin/orgs/*/scim:500@1")
        deliveries = PendingDeliveries(store.engine)
        with pytest.raises(E.ServerError):
            rotate_token(c, org, secrets, store.audit, operator=OP, deliveries=deliveries)
        active = [t["id"] for t in platform_tokens(server, org) if t["active"]]
        assert active == [first.token_info.id]  # nothing minted: the failure came before the mint
        second = rotate_token(c, org, secrets, store.audit, operator=OP, deliveries=deliveries)  # again
    for token_id in (t["id"] for t in platform_tokens(server, org) if t["active"]):
        held = secrets.get(secret_key(org, token_id, server.instance_id))
        assert held, f"active token {token_id} is not held by the console"
    assert second.scim_base_url.endswith(f"/scim/v2/{org}")


def test_reset_on_a_non_idempotent_post_is_not_retried_and_says_it_may_have_happened(
    server, rec, org
) -> None:
    server.faults.set("POST admin/orgs/*/work-areas:reset-after-commit")
    with rec.client(server) as c, pytest.raises(E.NetworkError) as caught:
        c.create_work_area(org, "Support")
    assert requests_seen(server) == 1
    assert work_area_names(server, org) == ["Support"]
    message = str(caught.value)
    assert "broke before its answer arrived" in message
    assert "may have been carried out" in message
    assert caught.value.where == f"POST orgs/{org}/work-areas"
    assert server.operator_token not in message


def test_reset_on_get_is_retried_and_the_message_says_the_connection_broke(server, rec) -> None:
    server.faults.set("GET admin/orgs:reset")
    with rec.client(server, retries=RetryPolicy(attempts=2)) as c, pytest.raises(E.NetworkError) as caught:
        c.list_orgs()
    assert requests_seen(server) == 2
    assert "broke before its answer arrived" in str(caught.value)
    assert "may have been carried out" not in str(caught.value)  # a GET changes nothing
    server.faults.set("GET admin/orgs:reset@1")
    with rec.client(server) as c:
        assert c.list_orgs().items


def test_export_stream_cut_midway_is_a_network_error(server, rec) -> None:
    server.faults.set("admin/orgs/tailspin/provisioning-log/export:reset,bytes=20000")
    events: list[dict] = []
    with rec.client(server) as c, c.export_log("tailspin") as stream, \
            pytest.raises(E.NetworkError, match="export stream broke") as caught:
        events.extend(stream)
    assert 0 < len(events) < 1000
    assert caught.value.where == "GET orgs/tailspin/provisioning-log/export"


def test_export_under_slow_read_completes(server, rec) -> None:
    with rec.client(server) as c, c.export_log("northwind") as stream:
        whole = list(stream)
    server.faults.set("admin/orgs/northwind/provisioning-log/export:slow-read=200kBps")
    with rec.client(server) as c, c.export_log("northwind") as stream:
        slow = list(stream)
    assert slow == whole
    assert server.faults.stats()[0].fired == 1


# ---------------------------------------------------------------- timeouts


def test_timeout_is_a_typed_error_after_the_retries(server, rec) -> None:
    server.faults.set("GET admin/orgs:latency=2s")
    with rec.client(server, timeout=0.3, retries=RetryPolicy(attempts=2)) as c, \
            pytest.raises(E.TimeoutError_) as caught:
        c.list_orgs()
    assert requests_seen(server) == 2
    assert [n.reason for n in rec.notices] == ["timeout"]
    assert str(caught.value) == "The platform did not answer in time (ReadTimeout). (GET orgs)"
    assert caught.value.status == 0


def test_slow_body_past_the_read_timeout_is_a_timeout(server, rec) -> None:
    server.faults.set("GET admin/openapi.json:slow-read=2Bps")
    with rec.client(server, timeout=0.3, retries=RetryPolicy.none()) as c, pytest.raises(E.TimeoutError_):
        c._json("GET", "openapi.json")


def test_timeout_on_a_non_idempotent_post_is_not_retried_and_warns(server, rec, org) -> None:
    server.faults.set("POST admin/orgs/*/work-areas:latency=1s")
    with rec.client(server, timeout=0.3) as c, pytest.raises(E.TimeoutError_) as caught:
        c.create_work_area(org, "Late")
    assert requests_seen(server) == 1
    assert "may have been carried out" in str(caught.value)

    def still_one_or_none() -> None:
        assert work_area_names(server, org) in ([], ["Late"])

    watch_for(1.5, still_one_or_none)
    assert work_area_names(server, org) == ["Late"]  # the server finished it after the client gave up


def test_enable_timeout_retry_with_the_same_key_mints_once_even_when_both_arrive(
    server, rec, org, secrets, store
) -> None:
    """The first enable is held 1 s (the client gives up at 0.3 s and retries at once with the same
    key, which mints); then the first one reaches the handler too and must replay, not mint."""
    server.faults.set("POST admin/orgs/*/scim/enable:latency=1s@1")
    with rec.client(server, timeout=0.3) as c:
        result = enable(c, org, secrets, store)
    assert [n.reason for n in rec.notices] == ["timeout"]

    def exactly_the_one_token() -> None:
        assert [t["id"] for t in platform_tokens(server, org)] == [result.token_info.id]

    assert watch_for(1.5, exactly_the_one_token) > 1

