"""Enable SCIM, rotate/revoke, deliver, Test Connection — against a real sandbox over HTTP."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import keyring.backend
import keyring.errors
import pytest

from console.core.errors import UserFacingError
from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient, RetryPolicy
from console.services.connection_test import run_connection_test
from console.services.logging_setup import configure_logging, shutdown_logging
from console.services.paths import AppPaths
from console.services.pending_deliveries import PendingDeliveries, secret_key
from console.services.scim_setup import (
    EnableInterruptedError,
    KeyringUnavailableError,
    confirm_delivered,
    create_delivery_link,
    enable_scim,
    refresh_deliveries,
    revoke_token,
    rotate_token,
)
from console.services.secrets import SecretStore
from tests.sandbox.scim_helpers import create_org

OP = "alice@support"


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("scim-setup") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture
def org(server: SandboxServer) -> str:
    return create_org(server)


def client(server: SandboxServer, **kw) -> AdminApiClient:
    return AdminApiClient(server.base_url, server.operator_token, sleep=lambda _s: None, **kw)


class DropFirstResponses(httpx.BaseTransport):
    """Real HTTP: forwards every request to the sandbox, then loses the first ``n`` answers to
    matching requests (``httpx.ReadError``), as when the connection drops after the server acted."""

    def __init__(self, n: int, match: str = "/scim/enable") -> None:
        self.inner = httpx.HTTPTransport()
        self.remaining = n
        self.match = match
        self.forwarded = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = self.inner.handle_request(request)
        if self.match in request.url.path and self.remaining > 0:
            response.read()
            response.close()
            self.remaining -= 1
            self.forwarded += 1
            raise httpx.ReadError("connection reset by peer", request=request)
        return response

    def close(self) -> None:
        self.inner.close()


def enable(server, org_id, secrets, store, **kw):
    with client(server) as c:
        return enable_scim(c, org_id, secrets, store.audit, operator=OP,
                           deliveries=PendingDeliveries(store.engine), **kw)


def test_enable_keeps_token_only_in_keyring_and_audits_metadata(server, org, secrets, store) -> None:
    result = enable(server, org, secrets, store)
    info = result.token_info
    assert result.token.startswith("scim_")
    assert result.scim_base_url.endswith(f"/scim/v2/{org}")
    assert secrets.get(secret_key(org, info.id, server.instance_id)) == result.token
    pending = PendingDeliveries(store.engine).get(info.id)
    assert pending.last_four == result.token[-4:]
    assert pending.delivered_at is None
    assert timedelta(hours=71) < pending.expires_at - pending.created_at <= timedelta(hours=72)
    rec = store.audit.query()[0]
    assert rec.action == "scim.enable"
    assert rec.outcome == "ok"
    assert rec.actor == OP
    assert rec.params["token_id"] == info.id
    assert rec.params["last_four"] == info.last_four
    assert rec.params["fingerprint"] == info.fingerprint
    assert result.token not in repr(rec)
    assert result.token not in repr(result)
    with client(server) as c:
        assert [t.id for t in c.get_scim(org).tokens if t.active] == [info.id]


def test_connection_drop_mid_enable_retries_same_key_and_mints_once(server, org, secrets, store) -> None:
    drop = DropFirstResponses(1)
    attempts: list[int] = []
    with client(server, transport=drop, retries=RetryPolicy.none()) as c:
        result = enable_scim(c, org, secrets, store.audit, operator=OP,
                             deliveries=PendingDeliveries(store.engine), on_attempt=attempts.append)
    assert drop.forwarded == 1
    assert attempts == [1, 2]
    assert result.attempts == 2
    with client(server) as c:
        tokens = c.get_scim(org).tokens
    assert len(tokens) == 1
    assert tokens[0].id == result.token_info.id
    assert secrets.get(secret_key(org, tokens[0].id, server.instance_id)) == result.token


def test_enable_that_keeps_failing_reports_state_and_try_again_replays(server, org, secrets, store) -> None:
    drop = DropFirstResponses(99)
    with client(server, transport=drop, retries=RetryPolicy.none()) as c, \
            pytest.raises(EnableInterruptedError) as caught:
        enable_scim(c, org, secrets, store.audit, operator=OP, deliveries=PendingDeliveries(store.engine))
    err = caught.value
    assert drop.forwarded == 3
    assert err.state == "enabled"
    assert "SCIM is enabled" in str(err)
    assert "same token" in err.hint
    assert store.audit.query()[0].outcome == "error"
    again = enable(server, org, secrets, store, idempotency_key=err.idempotency_key)  # "Try again"
    with client(server) as c:
        tokens = c.get_scim(org).tokens
    assert [t.id for t in tokens] == [again.token_info.id]  # still exactly one token


def test_unreachable_platform_says_nothing_was_sent(org, secrets, store) -> None:
    with AdminApiClient("http://127.0.0.1:9", "scop_x", retries=RetryPolicy.none()) as c, \
            pytest.raises(EnableInterruptedError, match="request was not sent") as caught:
        enable_scim(c, org, secrets, store.audit, operator=OP, deliveries=PendingDeliveries(store.engine))
    assert caught.value.state == "not_enabled"


class RefusingKeyring(keyring.backend.KeyringBackend):
    priority = 1  # type: ignore[assignment]

    def get_password(self, service, username):
        return None

    def set_password(self, service, username, password):
        raise keyring.errors.PasswordSetError("locked")

    def delete_password(self, service, username):
        raise keyring.errors.PasswordDeleteError(username)


@pytest.mark.parametrize("store_kind", ["memory-only", "locked"])
def test_keyring_unavailable_refuses_before_minting(server, org, store, store_kind) -> None:
    secrets = SecretStore.in_memory("no OS keyring") if store_kind == "memory-only" \
        else SecretStore(RefusingKeyring())
    with pytest.raises(KeyringUnavailableError, match="Nothing was changed"):
        enable(server, org, secrets, store)
    with client(server) as c:
        assert c.get_scim(org).enabled is False
        assert c.get_scim(org).tokens == ()


def test_enable_twice_says_already_enabled(server, org, secrets, store) -> None:
    enable(server, org, secrets, store)
    with pytest.raises(UserFacingError, match="already enabled") as caught:
        enable(server, org, secrets, store)
    assert "Rotate" in caught.value.hint


def test_rotate_then_revoke_purges_the_undelivered_copy(server, org, secrets, store) -> None:
    first = enable(server, org, secrets, store)
    deliveries = PendingDeliveries(store.engine)
    with client(server) as c:
        second = rotate_token(c, org, secrets, store.audit, operator=OP, deliveries=deliveries)
        active = {t.id for t in c.get_scim(org).tokens if t.active}
        assert active == {first.token_info.id, second.token_info.id}
        with pytest.raises(UserFacingError, match="two active"):
            rotate_token(c, org, secrets, store.audit, operator=OP, deliveries=deliveries)
        revoked = revoke_token(c, org, first.token_info.id, secrets, store.audit, operator=OP,
                               deliveries=deliveries)
        assert revoked.active is False
    assert secrets.get(secret_key(org, first.token_info.id, server.instance_id)) is None
    assert secrets.get(secret_key(org, second.token_info.id, server.instance_id)) == second.token
    assert [r.action for r in store.audit.query()][:2] == ["scim.revoke", "scim.rotate"]


def test_delivery_link_works_once_then_410_and_purges_keyring(server, org, secrets, store) -> None:
    result = enable(server, org, secrets, store)
    deliveries = PendingDeliveries(store.engine)
    with client(server) as c:
        link = create_delivery_link(c, org, result.token_info.id, secrets, store.audit, operator=OP,
                                    deliveries=deliveries)
        assert link.url
        assert result.token not in link.url
        assert refresh_deliveries(c, secrets, deliveries) == []  # not opened yet: keep it
        with httpx.Client(trust_env=False) as browser:
            page = browser.get(link.url)
            assert page.status_code == 200
            assert result.token not in page.text
            shown = browser.post(link.url)
            assert shown.status_code == 200
            assert result.token in shown.text
            assert browser.post(link.url).status_code == 410
            assert browser.get(link.url).status_code == 410
        assert refresh_deliveries(c, secrets, deliveries) == [result.token_info.id]
    row = deliveries.get(result.token_info.id)
    assert row.method == "link"
    assert row.delivered_at is not None
    assert row.purged_at is not None
    assert secrets.get(secret_key(org, result.token_info.id, server.instance_id)) is None
    audit_text = repr(store.audit.query())
    assert link.url not in audit_text
    assert result.token not in audit_text


def test_copy_confirmation_and_expiry_purge(server, org, secrets, store) -> None:
    first = enable(server, org, secrets, store)
    deliveries = PendingDeliveries(store.engine)
    assert confirm_delivered(org, first.token_info.id, "copy", secrets, store.audit, operator=OP,
                             deliveries=deliveries) == [first.token_info.id]
    assert secrets.get(secret_key(org, first.token_info.id, server.instance_id)) is None
    with client(server) as c:
        second = rotate_token(c, org, secrets, store.audit, operator=OP, deliveries=deliveries)
    assert deliveries.purge(secrets) == []
    later = datetime.now(UTC) + timedelta(hours=73)
    assert deliveries.purge(secrets, now=later) == [second.token_info.id]
    assert secrets.get(secret_key(org, second.token_info.id, server.instance_id)) is None


# ---- Test Connection (entra-facts §1.2)
def test_connection_ok_with_the_right_token(server, org, secrets, store) -> None:
    result = enable(server, org, secrets, store)
    outcome = run_connection_test(result.scim_base_url, result.token)
    assert outcome.kind == "ok", outcome
    assert [p.name for p in outcome.probes] == ["Users", "Groups"]
    assert outcome.probes[0].path.startswith("/scim/v2/")
    assert "filter=userName" in outcome.probes[0].path
    assert "excludedAttributes=members" in outcome.probes[1].path
    assert result.token not in repr(outcome)


def test_connection_wrong_token_is_an_entra_credentials_error(server, org, secrets, store) -> None:
    result = enable(server, org, secrets, store)
    outcome = run_connection_test(result.scim_base_url, "scim_" + "x" * 40)
    assert not outcome.ok
    assert outcome.kind == "credentials"
    assert outcome.message.startswith("You appear to have entered invalid credentials")
    assert outcome.probes[0].status == 401


def test_connection_non_scim_url_is_service_incompatible(server) -> None:
    outcome = run_connection_test(server.admin_url + "/nothing-here", "scim_" + "y" * 40)
    assert outcome.kind in ("incompatible", "credentials")
    outcome = run_connection_test(server.base_url + "/does-not-exist", "scim_" + "y" * 40)
    assert outcome.kind == "incompatible"
    assert "ServiceIncompatible" in outcome.message
    assert "HTTP/404" in outcome.message


def test_connection_refused_is_a_network_error() -> None:
    outcome = run_connection_test("http://127.0.0.1:9/scim/v2/x", "scim_" + "z" * 40, timeout=3)
    assert outcome.kind == "network"
    assert outcome.probes[0].status == 0


def test_probes_send_no_user_agent(server, org, secrets, store) -> None:
    result = enable(server, org, secrets, store)
    seen: list[httpx.Request] = []

    class Spy(httpx.HTTPTransport):
        def handle_request(self, request):
            seen.append(request)
            return super().handle_request(request)

    assert run_connection_test(result.scim_base_url, result.token, transport=Spy()).ok
    assert seen
    assert all("user-agent" not in r.headers for r in seen)
    assert all(r.headers["authorization"] == f"Bearer {result.token}" for r in seen)
    assert re.fullmatch(r'userName eq "[0-9a-f-]{36}"', seen[0].url.params["filter"])


# ---- leak scan
def test_no_token_on_disk_after_enable_test_and_deliver(server, org, store, console_home: Path) -> None:
    paths = AppPaths.default()
    configure_logging(paths, "DEBUG", stderr=False)
    try:
        secrets = SecretStore.open()
        result = enable(server, org, secrets, store)
        assert run_connection_test(result.scim_base_url, result.token).ok
        deliveries = PendingDeliveries(store.engine)
        with client(server) as c:
            link = create_delivery_link(c, org, result.token_info.id, secrets, store.audit, operator=OP,
                                        deliveries=deliveries)
            with httpx.Client(trust_env=False) as browser:
                assert result.token in browser.post(link.url).text
            refresh_deliveries(c, secrets, deliveries)
    finally:
        shutdown_logging()
    files = [p for p in console_home.rglob("*") if p.is_file()]
    assert any(p.suffix == ".log" or ".log" in p.name for p in files), files
    platform = [p for p in server.db_path.parent.iterdir() if p.name.startswith(server.db_path.name)]
    for path in files + platform:
        data = path.read_bytes()
        assert result.token.encode() not in data, f"token leaked into {path}"
        assert link.url.encode() not in data, f"link URL leaked into {path}"
        assert result.token[5:25].encode() not in data, f"part of the token in {path}"
