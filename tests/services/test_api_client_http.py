"""AdminApiClient over real HTTP against a scripted loopback server: retries, Retry-After,
error mapping, timeouts, and that the operator token never shows up in an error."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from console.core.errors import UserFacingError
from console.services import api_errors as E  # noqa: N812
from console.services.api_client import (
    AdminApiClient,
    RetryNotice,
    RetryPolicy,
    normalize_admin_url,
    parse_retry_after,
)
from tests.services.scripted_server import Reply, ScriptedServer, serve

TOKEN = "scop_TESTtokenVALUEthatMustNeverLeak_1234567890"
ORG = {"id": "contoso", "name": "Contoso Ltd", "domains": ["contoso.com"],
       "created_at": "2026-01-01T00:00:00Z",
       "scim": {"enabled": False, "active_tokens": 0, "scim_base_url": "http://x/scim/v2/contoso"},
       "template": {"status": "ok", "template_id": "t1", "template_name": "All"},
       "user_counts": {"total": 40, "active": 38, "inactive": 2, "scim": 0, "manual": 30, "invite": 10}}
TOKEN_INFO = {"id": "tok_1", "last_four": "abcd", "fingerprint": "0123456789abcdef",
              "created_at": "2026-01-01T00:00:00Z", "expires_at": None, "last_used_at": None,
              "revoked_at": None, "active": True}


@pytest.fixture
def server() -> Iterator[ScriptedServer]:
    yield from serve()


class Recorder:
    """Stands in for time.sleep so the back-off *schedule* can be checked without waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def client(server: ScriptedServer, **kwargs) -> AdminApiClient:
    return AdminApiClient(server.admin_url, TOKEN, **kwargs)


def err(code: str, message: str, **details) -> dict:
    return {"error": {"code": code, "message": message, "details": details}}


def test_sends_bearer_user_agent_and_parses_typed_page(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(200, {"items": [ORG], "next_cursor": "c2"}))
    with client(server) as api:
        page = api.list_orgs(q="con", limit=10)
    assert page.next_cursor == "c2"
    org = page.items[0]
    assert (org.id, org.template.ok, org.user_counts.total, org.scim.enabled) == ("contoso", True, 40, False)
    seen = server.seen("GET", "orgs")[0]
    assert seen.headers["authorization"] == f"Bearer {TOKEN}"
    assert seen.headers["user-agent"].startswith("scim-support-console/")
    assert "q=con" in seen.query
    assert "limit=10" in seen.query
    assert "cursor" not in seen.query


def test_429_honours_retry_after_seconds_in_real_time(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(429, err("rate_limited", "slow down"), {"Retry-After": "1"}),
                  Reply(200, {"items": [], "next_cursor": None}))
    notices: list[RetryNotice] = []
    with client(server, on_retry=notices.append) as api:
        started = time.monotonic()
        page = api.list_orgs()
        elapsed = time.monotonic() - started
    assert len(page) == 0
    assert len(server.seen("GET", "orgs")) == 2
    assert elapsed >= 0.95
    assert [(n.attempt, n.delay, n.reason) for n in notices] == [(1, 1.0, "429 rate_limited")]
    assert notices[0].message == "Throttled, retrying in 1 s"


def test_retry_after_http_date_and_cap(server: ScriptedServer) -> None:
    soon = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    server.script("GET", "orgs/contoso",
                  Reply(503, "busy", {"Retry-After": soon}),
                  Reply(429, err("rate_limited", "x"), {"Retry-After": "999"}),
                  Reply(200, ORG))
    sleep = Recorder()
    with client(server, sleep=sleep) as api:
        assert api.get_org("contoso").name == "Contoso Ltd"
    assert 25 <= sleep.delays[0] <= 30
    assert sleep.delays[1] == 120.0  # capped


def test_5xx_gives_up_after_max_attempts_with_exponential_backoff(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(503, err("unavailable", "maintenance")))
    sleep = Recorder()
    with client(server, sleep=sleep) as api, pytest.raises(E.ServerError) as info:
        api.list_orgs()
    assert len(server.seen("GET", "orgs")) == 5
    assert len(sleep.delays) == 4
    assert all(b > a for a, b in zip(sleep.delays, sleep.delays[1:], strict=False))
    assert (info.value.status, info.value.code) == (503, "unavailable")
    assert "maintenance" in str(info.value)
    assert "GET orgs" in str(info.value)


def test_budget_stops_retrying_when_the_wait_would_exceed_it(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(429, err("rate_limited", "later"), {"Retry-After": "100"}))
    sleep = Recorder()
    with client(server, sleep=sleep, retries=RetryPolicy(budget=10)) as api, \
            pytest.raises(E.RateLimitedError) as info:
        api.list_orgs()
    assert sleep.delays == []
    assert info.value.retry_after == 100
    assert len(server.seen()) == 1


def test_non_idempotent_post_is_never_retried(server: ScriptedServer) -> None:
    server.script("POST", "orgs/acme/scim/tokens", Reply(503, err("unavailable", "x")), Reply(201, {}))
    server.script("POST", "orgs/acme/scim/enable", Reply(429, err("rate_limited", "x"), {"Retry-After": "0"}))
    sleep = Recorder()
    with client(server, sleep=sleep) as api:
        with pytest.raises(E.ServerError):
            api.mint_scim_token("acme")
        with pytest.raises(E.RateLimitedError):
            api.enable_scim("acme")
    assert len(server.seen("POST", "orgs/acme/scim/tokens")) == 1
    assert len(server.seen("POST", "orgs/acme/scim/enable")) == 1
    assert sleep.delays == []


def test_post_with_idempotency_key_is_retried_with_the_same_key(server: ScriptedServer) -> None:
    body = {"scim_base_url": "http://x/scim/v2/acme", "token": "scim_" + "A" * 43, "token_info": TOKEN_INFO}
    server.script("POST", "orgs/acme/scim/enable", Reply(502, "bad gateway"), Reply(201, body))
    with client(server, sleep=Recorder()) as api:
        new = api.enable_scim("acme", idempotency_key="key-123", token_lifetime_days=30)
    assert new.token_info.fingerprint == "0123456789abcdef"
    assert "token=" not in repr(new)
    assert new.token not in repr(new)
    keys = [r.headers.get("idempotency-key") for r in server.seen("POST", "orgs/acme/scim/enable")]
    assert keys == ["key-123", "key-123"]
    assert json.loads(server.seen("POST")[0].body) == {"token_lifetime_days": 30}


@pytest.mark.parametrize(("status", "kind"), [
    (400, E.BadRequestError), (401, E.AuthError), (403, E.AuthError), (404, E.NotFoundError),
    (409, E.ConflictError), (410, E.GoneError), (422, E.BadRequestError), (500, E.ServerError),
])
def test_status_maps_to_typed_error(server: ScriptedServer, status: int, kind: type) -> None:
    server.script("GET", "orgs/x", Reply(status, err("some_code", "Human sentence.", field="name")))
    with client(server, retries=0) as api, pytest.raises(kind) as info:
        api.get_org("x")
    assert isinstance(info.value, E.ApiError)
    assert isinstance(info.value, UserFacingError)
    assert (info.value.status, info.value.code) == (status, "some_code")
    assert dict(info.value.details) == {"field": "name"}
    assert info.value.message == "Human sentence."


def test_token_never_appears_in_errors_even_if_the_server_echoes_it(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(401, err("unauthorized", f"token {TOKEN} is not valid")))
    with client(server) as api, pytest.raises(E.AuthError) as info:
        api.list_orgs()
    text = f"{info.value} {info.value!r} {info.value.hint} {info.value.where}"
    assert TOKEN not in text
    assert "[REDACTED]" in str(info.value)
    assert TOKEN not in repr(api)


def test_non_json_error_body_still_gives_a_sentence(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(502, "<html>Bad gateway</html>", content_type="text/html"))
    with client(server, retries=0) as api, pytest.raises(E.ServerError) as info:
        api.list_orgs()
    assert info.value.code == "http_502"
    assert "502" in info.value.message


def test_timeout_is_typed_and_retried_for_get(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(200, {"items": []}, delay=2.0))
    notices: list[RetryNotice] = []
    with client(server, timeout=0.2, retries=1, on_retry=notices.append, sleep=Recorder()) as api, \
            pytest.raises(E.TimeoutError_):
        api.list_orgs()
    assert [n.reason for n in notices] == ["timeout"]
    assert len(server.seen("GET", "orgs")) == 2


def test_connection_refused_is_a_network_error() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with AdminApiClient(f"http://127.0.0.1:{port}", TOKEN, retries=0) as api, \
            pytest.raises(E.NetworkError) as info:
        api.health()
    assert info.value.status == 0
    assert TOKEN not in str(info.value)


def test_redirects_are_not_followed(server: ScriptedServer) -> None:
    server.script("GET", "orgs", Reply(302, "", {"Location": "http://evil.invalid/steal"}))
    with client(server) as api, pytest.raises(E.ApiError) as info:
        api.list_orgs()
    assert info.value.status == 302
    assert len(server.seen()) == 1


def test_export_streams_ndjson(server: ScriptedServer) -> None:
    lines = "".join(f'{{"id": {i}, "status": 201}}\n' for i in range(1000))
    server.script("GET", "orgs/contoso/provisioning-log/export",
                  Reply(200, lines, content_type="application/x-ndjson"))
    with client(server) as api, api.export_log("contoso", outcome="failure") as events:
        ids = [e["id"] for e in events]
    assert ids == list(range(1000))
    assert "outcome=failure" in server.seen()[0].query


def test_parse_retry_after_forms() -> None:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Thu, 01 Jan 2026 00:00:10 GMT", now=now) == 10.0
    assert parse_retry_after("Wed, 31 Dec 2025 00:00:00 GMT", now=now) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after(None) is None


def test_url_normalisation_and_token_validation(monkeypatch: pytest.MonkeyPatch) -> None:
    assert normalize_admin_url("https://p.example/") == "https://p.example/admin/v1"
    assert normalize_admin_url("https://p.example/admin/v1/") == "https://p.example/admin/v1"
    with pytest.raises(UserFacingError):
        normalize_admin_url("ftp://p.example")
    with pytest.raises(UserFacingError) as info:
        AdminApiClient("https://p.example", "scop_abc\r\nX-Evil: 1")
    assert "scop_abc" not in str(info.value)
    monkeypatch.setenv("SCIM_CONSOLE_URL", "https://p.example")
    with pytest.raises(UserFacingError, match="SCIM_CONSOLE_TOKEN"):
        AdminApiClient.from_env()
