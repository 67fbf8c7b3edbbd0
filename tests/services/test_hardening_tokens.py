"""Reliability suite, tokens (issue 16 items 1-3): the adversarial review's attacks as tests.

* a SCIM token minted on one platform is never sent to another platform that has the same org id
  (two real sandboxes, CLI and service paths, pre-v5 keyring entries);
* an enable whose answer was lost is finished by a *new* run (the Idempotency-Key lives in the local
  store), and a 503 on rotate says "nothing minted";
* ``http://`` only to loopback hosts.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import insert, select

from console.cli import main
from console.core.errors import UserFacingError
from console.core.models import Profile
from console.core.platform_identity import WrongPlatformError, is_loopback_host
from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.pending_deliveries import PendingDeliveries, secret_key
from console.services.scim_setup import create_delivery_link, pending_token
from console.services.secrets import SERVICE_NAME
from console.services.store import Store
from console.services.store.schema import pending_deliveries, scim_intents
from tests.sandbox.scim_helpers import create_org
from tests.services.test_cli_commands import sandbox_env


@pytest.fixture(scope="module")
def two_platforms(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, SandboxServer]]:
    """Two real sandboxes (say staging and production); both hold an org ``contoso``."""
    root = tmp_path_factory.mktemp("two-platforms")
    with SandboxServer(root / "a.db", seed="small") as a, SandboxServer(root / "b.db", seed="small") as b:
        yield a, b


def cli(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, server: SandboxServer,
        *args: str) -> tuple[int, str]:
    for key, value in sandbox_env(server).items():
        monkeypatch.setenv(key, value)
    code = main(list(args))
    out = capsys.readouterr()
    return code, out.out + out.err


def scim_log_count(server: SandboxServer, org_id: str) -> int:
    with AdminApiClient(server.base_url, server.operator_token) as c:
        return len(list(c.list_log_events(org_id, limit=500).items))


def test_platforms_have_distinct_stable_identities(two_platforms, tmp_path) -> None:
    a, b = two_platforms
    assert a.instance_id and b.instance_id and a.instance_id != b.instance_id  # noqa: PT018
    with AdminApiClient(a.base_url, a.operator_token) as c:
        assert c.platform().id == a.instance_id
    with SandboxServer(tmp_path / "c.db", seed="empty") as first:
        identity = first.instance_id
    with SandboxServer(tmp_path / "c.db", seed="empty") as again:  # same database, a later start
        assert again.instance_id == identity


def test_cli_refuses_to_send_a_token_to_another_platform_with_the_same_org_id(
        two_platforms, capsys, monkeypatch, memory_keyring) -> None:
    a, b = two_platforms
    org = "t" + "shared" + a.instance_id[-6:]
    create_org(a, org)
    create_org(b, org)
    code, out = cli(capsys, monkeypatch, a, "scim", "enable", "--org", org, "--json")
    assert code == 0, out
    token_id = json.loads(out)["token_info"]["id"]
    token = memory_keyring.store[(SERVICE_NAME, secret_key(org, token_id, a.instance_id))]
    code, out = cli(capsys, monkeypatch, b, "scim", "enable", "--org", org, "--json")  # B's own token
    assert code == 0, out
    # B now also has a token waiting; point the CLI at B and ask to test: B's token is used, not A's.
    code, out = cli(capsys, monkeypatch, b, "scim", "test", "--org", org)
    assert code == 0, out
    # Only A's token is left waiting (B's delivered): the CLI aimed at B must refuse, naming both.
    store = Store.open()
    b_row = next(d for d in PendingDeliveries(store.engine).list(org) if d.platform_id == b.instance_id)
    PendingDeliveries(store.engine).mark_delivered(b_row.token_id, "copy")
    store.close()
    b_before = scim_log_count(b, org)
    code, out = cli(capsys, monkeypatch, b, "scim", "test", "--org", org)
    assert code == 1
    assert "another platform" in out and a.admin_url in out and b.admin_url in out  # noqa: PT018
    assert a.instance_id in out and b.instance_id in out  # noqa: PT018
    assert token not in out
    assert scim_log_count(b, org) == b_before  # not one request reached B's SCIM endpoint
    code, out = cli(capsys, monkeypatch, a, "scim", "test", "--org", org)  # on A it still works
    assert code == 0, out


def test_service_paths_refuse_another_platform_and_migrate_pre_v5_entries(two_platforms, secrets) -> None:
    a, b = two_platforms
    org = create_org(a)
    create_org(b, org)
    store = Store.open()
    deliveries = PendingDeliveries(store.engine)
    with AdminApiClient(a.base_url, a.operator_token) as ca:
        new = ca.enable_scim(org, idempotency_key="k-" + org)
    # A pre-v5 entry: no platform in the row, the old keyring key.
    now = datetime.now(UTC)
    with store.engine.begin() as conn:
        conn.execute(insert(pending_deliveries).values(
            token_id=new.token_info.id, org_id=org, last_four=new.token_info.last_four,
            fingerprint=new.token_info.fingerprint, created_at=now, expires_at=now + timedelta(hours=72)))
    secrets.set(secret_key(org, new.token_info.id), new.token)
    with AdminApiClient(b.base_url, b.operator_token) as cb:
        with pytest.raises(WrongPlatformError, match="does not hold it"):
            pending_token(secrets, org, new.token_info.id, client=cb, deliveries=deliveries)
        assert deliveries.get(new.token_info.id).platform_id is None  # B did not adopt it
    with AdminApiClient(a.base_url, a.operator_token) as ca:
        assert pending_token(secrets, org, new.token_info.id, client=ca, deliveries=deliveries) == new.token
    row = deliveries.get(new.token_info.id)
    assert row.platform_id == a.instance_id and row.platform_url == a.admin_url  # noqa: PT018
    assert secrets.get(secret_key(org, new.token_info.id)) is None  # moved to the platform-bound key
    assert secrets.get(secret_key(org, new.token_info.id, a.instance_id)) == new.token
    with AdminApiClient(b.base_url, b.operator_token) as cb, \
            pytest.raises(WrongPlatformError, match="another platform") as caught:
        create_delivery_link(cb, org, new.token_info.id, secrets, store.audit, operator="op",
                             deliveries=deliveries)
    assert a.admin_url in str(caught.value) and b.admin_url in str(caught.value)  # noqa: PT018
    store.close()


# ---- item 2: the intention outlives the process
def test_lost_enable_is_finished_by_a_new_run_with_the_same_token(
        two_platforms, capsys, monkeypatch, memory_keyring) -> None:
    a, _ = two_platforms
    org = create_org(a)
    a.faults.set(f"POST admin/orgs/{org}/scim/enable:reset-after-commit")
    try:
        code, out = cli(capsys, monkeypatch, a, "scim", "enable", "--org", org)
    finally:
        a.faults.clear()
    assert code == 1
    assert "reached the platform" in out and "did not reach the console" in out  # noqa: PT018
    assert "Run the same command again" in out
    store = Store.open()
    with store.engine.connect() as conn:
        [intent] = conn.execute(select(scim_intents).where(scim_intents.c.org_id == org)).all()
    store.close()
    assert intent.resolved_at is None and intent.platform_id == a.instance_id  # noqa: PT018
    # A new run (a new CLI invocation: nothing in memory survives but the local store).
    code, out = cli(capsys, monkeypatch, a, "scim", "enable", "--org", org, "--json")
    assert code == 0, out
    data = json.loads(out)
    with AdminApiClient(a.base_url, a.operator_token) as c:
        active = [t.id for t in c.get_scim(org).tokens if t.active]
    assert active == [data["token_info"]["id"]]  # the token nobody held is now held: one, and ours
    assert memory_keyring.store[(SERVICE_NAME, secret_key(org, active[0], a.instance_id))]
    store = Store.open()
    with store.engine.connect() as conn:
        [intent] = conn.execute(select(scim_intents).where(scim_intents.c.org_id == org)).all()
    store.close()
    assert intent.outcome == "minted" and intent.attempts == 2  # noqa: PT018
    assert intent.idempotency_key is None  # wiped once the outcome is known (the row keeps its hash)


def test_rotate_answered_503_says_nothing_was_minted(two_platforms, capsys, monkeypatch,
                                                     memory_keyring) -> None:
    a, _ = two_platforms
    org = create_org(a)
    code, out = cli(capsys, monkeypatch, a, "scim", "enable", "--org", org)
    assert code == 0, out
    a.faults.set(f"POST admin/orgs/{org}/scim/tokens:503")
    try:
        code, out = cli(capsys, monkeypatch, a, "scim", "rotate", "--org", org)
    finally:
        a.faults.clear()
    assert code == 1
    assert "No token was minted" in out
    assert "did not reach the console" not in out
    store = Store.open()
    with store.engine.connect() as conn:
        outcomes = [r.outcome for r in conn.execute(select(scim_intents).where(scim_intents.c.org_id == org))]
    store.close()
    assert sorted(outcomes) == ["minted", "not_minted"]  # the rotate is closed: a retry is a new request


# ---- item 3: http:// only for loopback
@pytest.mark.parametrize("url", ["http://example.com/admin/v1", "http://10.0.0.5:8765", "http://127.example.com",
                                 "http://[2001:db8::1]:80", "ftp://127.0.0.1", "http://0.0.0.0:8765"])
def test_http_to_a_non_loopback_host_is_refused(url: str, tmp_path) -> None:
    with pytest.raises(UserFacingError, match="https://"):
        AdminApiClient(url, "scop_x")
    store = Store.open()
    try:
        with pytest.raises(UserFacingError, match="https://"):
            store.profiles.add(Profile(id="", name="remote", admin_url=url, operator="op"))
    finally:
        store.close()


@pytest.mark.parametrize("host", ["localhost", "LOCALHOST.", "127.0.0.1", "127.8.9.10", "[::1]",
                                  "sandbox.localhost"])
def test_http_to_loopback_is_allowed(host: str) -> None:
    assert is_loopback_host(host)
    with AdminApiClient(f"http://{host}:8765", "scop_x") as c:
        assert c.admin_url == f"http://{host}:8765/admin/v1"



# ---- a platform without /health (or an older one) is known by its URL
def test_a_platform_without_an_instance_id_is_known_by_its_url() -> None:
    from tests.services.scripted_server import Reply, serve

    def error(code: str, message: str) -> dict:
        return {"error": {"code": code, "message": message, "details": {}}}

    for reply in (Reply(404, error("not_found", "no")), Reply(200, {"status": "ok"}),
                  Reply(200, "<html>not json</html>", content_type="text/html")):
        for scripted in serve():
            scripted.script("GET", "health", reply)
            with AdminApiClient(scripted.admin_url, "scop_x", retries=0) as c:
                assert c.platform().id == "url:" + c.admin_url
    for scripted in serve():
        scripted.script("GET", "health", Reply(503, error("down", "Platform down for maintenance")))
        with AdminApiClient(scripted.admin_url, "scop_x", retries=0) as c, \
                pytest.raises(UserFacingError, match="Platform down"):
            c.platform()  # unreachable is not "no identity": nothing is assumed
