"""The sandbox's fault mode, observed over real HTTP: status, headers, timing and partial bodies."""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from console.sandbox.faults import FaultInjector, FaultSpecError, InjectedReset, parse_spec, short_route
from console.sandbox.server import SandboxServer
from tests.sandbox.admin_helpers import admin_client, error_code
from tests.sandbox.scim_helpers import ScimOrg, create_org, scim_org


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("faults") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture(autouse=True)
def no_faults_left(request: pytest.FixtureRequest) -> Iterator[None]:
    yield
    if "server" in request.fixturenames:
        request.getfixturevalue("server").faults.clear()


@pytest.fixture
def admin(server: SandboxServer) -> Iterator[httpx.Client]:
    with admin_client(server) as client:
        yield client


@pytest.fixture(scope="module")
def scim(server: SandboxServer) -> Iterator[ScimOrg]:
    org = scim_org(server)
    yield org
    org.close()


def _read_until_broken(client: httpx.Client, method: str, url: str, **kw) -> tuple[httpx.Response, bytes]:
    """Stream a response whose connection is cut: the headers and the bytes that did arrive."""
    received = bytearray()
    with client.stream(method, url, **kw) as response, pytest.raises(httpx.RemoteProtocolError):
        received.extend(b"".join(_chunks(response, received)))
    return response, bytes(received)


def _chunks(response: httpx.Response, received: bytearray) -> Iterator[bytes]:
    for chunk in response.iter_raw():
        received.extend(chunk)  # kept even when the next read breaks
        yield b""


# ---------------------------------------------------------------- the spec language


def test_spec_parses_every_fault_kind_and_trigger() -> None:
    rules = parse_spec(
        "POST admin/orgs/*/scim/enable:reset-after-commit@1; scim/*/Users:429,retry-after=2@every3;"
        " *:latency=200ms@p0.1; admin/*:500@2-3; admin/*/export:slow-read=5kBps;"
        " /s/*:503-after-commit,retry-after=none; admin/orgs:reset,bytes=10; seed=7"
    )
    kinds = [(r.method, r.fault.kind, r.fault.after_commit, r.when.kind) for r in rules]
    assert kinds == [
        ("POST", "reset", True, "range"),
        (None, "status", False, "every"),
        (None, "latency", False, "p"),
        (None, "status", False, "range"),
        (None, "slow-read", False, "always"),
        (None, "status", True, "always"),
        (None, "reset", False, "always"),
    ]
    assert rules[1].fault.retry_after == "2"
    assert rules[2].fault.seconds == pytest.approx(0.2)
    assert (rules[3].when.first, rules[3].when.last) == (2, 3)
    assert rules[4].fault.rate == 5000
    assert rules[5].fault.retry_after is None
    assert rules[5].full_path is True
    assert rules[6].fault.cut_bytes == 10
    assert parse_spec("admin/*:429")[0].fault.retry_after == "1"  # a 429 always says when to come back
    assert parse_spec("admin/*:500")[0].fault.retry_after is None
    assert parse_spec(" ; ;") == []


def test_routes_match_the_short_path_and_globs_cross_slashes() -> None:
    assert short_route("/admin/v1/orgs/acme/scim/enable") == "admin/orgs/acme/scim/enable"
    assert short_route("/scim/v2/acme/Users/1") == "scim/acme/Users/1"
    assert short_route("/s/abc") == "s/abc"
    [enable] = parse_spec("POST admin/orgs/*/scim/enable:500")
    assert enable.matches("POST", "/admin/v1/orgs/acme/scim/enable")
    assert not enable.matches("GET", "/admin/v1/orgs/acme/scim/enable")
    assert not enable.matches("POST", "/admin/v1/orgs/acme/scim/enable/x")
    [users] = parse_spec("scim/*/Users:429")
    assert users.matches("GET", "/scim/v2/acme/Users")
    assert not users.matches("GET", "/scim/v2/acme/Users/123")
    [urn] = parse_spec("scim/*/Schemas/urn:ietf:params:scim:schemas:core:2.0:User:503")
    assert urn.matches("GET", "/scim/v2/acme/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("admin/*", r"item 1 'admin/\*': expected ROUTE:FAULT"),
        ("admin/*:teapot", "unknown fault 'teapot'"),
        ("admin/*:418", "unknown fault '418'"),
        ("a:latency=fast", "latency must be a duration like 200ms or 1.5s, got 'fast'"),
        ("a:latency", "latency needs a value"),
        ("a:slow-read=5kbps", "slow-read must be a positive rate"),
        ("a:429,retry-after=soon", "retry-after must be seconds ≥ 0 or 'none', got 'soon'"),
        ("a:reset,retry-after=1", r"reset takes no parameter retry-after \(allowed: bytes\)"),
        ("a:reset,bytes=-1", "bytes must be a whole number ≥ 0"),
        ("a:latency=1s,bytes=1", "latency takes no parameter bytes"),
        ("a:500,oops", "parameter 'oops' must look like name=value"),
        ("a:500@0", "@N must be a whole number ≥ 1, got '0'"),
        ("a:500@3-1", "@N-M needs N ≤ M"),
        ("a:500@every", "@everyN must be a whole number ≥ 1"),
        ("a:500@p1.5", "probability between 0 and 1"),
        ("a:500@", "'@' must be followed by"),
        ("admin/*:500; GET PUT a:500", "item 2 'GET PUT a:500': route 'GET PUT a' must be"),
        ("seed=x; a:500", "seed must be an integer"),
    ],
)
def test_spec_errors_say_which_item_and_what_was_expected(spec: str, expected: str) -> None:
    with pytest.raises(FaultSpecError, match=expected) as caught:
        parse_spec(spec)
    assert str(caught.value).startswith("fault spec item ")


def test_a_bad_spec_fails_in_the_constructor_before_anything_is_bound(tmp_path: Path) -> None:
    with pytest.raises(FaultSpecError, match="unknown fault"):
        SandboxServer(tmp_path / "p.db", seed="empty", faults="admin/*:boom")
    assert not (tmp_path / "p.db").exists()


def test_probability_draws_are_seeded_and_reproducible() -> None:
    def pattern(seed: int | None) -> list[bool]:
        injector = FaultInjector("admin/*:503@p0.3", seed=seed)
        return [injector.decide("GET", "/admin/v1/orgs") is not None for _ in range(400)]

    first = pattern(None)
    assert first == pattern(None) == pattern(0)
    assert first != pattern(1)
    assert 0.2 < sum(first) / len(first) < 0.4
    injector = FaultInjector("seed=1; admin/*:503@p0.3")
    assert [injector.decide("GET", "/admin/v1/orgs") is not None for _ in range(400)] == pattern(1)


def test_counters_nth_range_and_every() -> None:
    injector = FaultInjector("admin/a:500@2; admin/a:503@4-5; admin/a:latency=1ms@every3")
    fired = [injector.decide("GET", "/admin/v1/a") for _ in range(7)]
    summary = [(d.terminal.status if d and d.terminal else None, bool(d and d.latency)) for d in fired]
    assert summary == [(None, False), (500, False), (None, True), (503, False), (503, False),
                       (None, True), (None, False)]
    assert [s.fired for s in injector.stats()] == [1, 2, 2]
    assert [s.matched for s in injector.stats()] == [7, 7, 7]
    assert injector.fired == 5


# ---------------------------------------------------------------- each fault over real HTTP


def test_health_is_never_faulted(server: SandboxServer, admin: httpx.Client) -> None:
    server.faults.set("*:503; /admin/v1/health:reset")
    assert admin.get("/health").status_code == 200
    assert admin.get("/orgs").status_code == 503
    assert server.faults.stats()[1].matched == 0


def test_a_server_started_with_faults_on_everything_still_starts(tmp_path: Path) -> None:
    with SandboxServer(tmp_path / "p.db", seed="empty", faults="*:reset") as srv, admin_client(srv) as c:
        with pytest.raises(httpx.RemoteProtocolError):
            c.get("/orgs")
        assert c.get("/health").status_code == 200


def test_latency_delays_only_the_matching_route(server: SandboxServer, admin: httpx.Client) -> None:
    server.faults.set("admin/orgs/acme:latency=300ms")
    t0 = time.perf_counter()
    slow = admin.get("/orgs/acme")
    slow_s = time.perf_counter() - t0
    fast = admin.get("/orgs/contoso")
    assert slow.status_code == fast.status_code == 200
    assert slow.headers["x-sandbox-fault"] == "admin/orgs/acme:latency=300ms"
    assert "x-sandbox-fault" not in fast.headers
    assert slow_s >= 0.3  # a lower bound: a loaded machine only makes it longer
    # (that the other route was not slowed is the missing x-sandbox-fault header, not a time)


def test_latency_longer_than_the_read_timeout_is_a_read_timeout(server: SandboxServer) -> None:
    server.faults.set("admin/orgs:latency=1s")
    with admin_client(server) as c, pytest.raises(httpx.ReadTimeout):
        c.get("/orgs", timeout=httpx.Timeout(5.0, read=0.2))


def test_scim_429_every_third_request_with_retry_after(server: SandboxServer, scim: ScimOrg) -> None:
    server.faults.set("scim/*/Users:429,retry-after=2@every3")
    statuses = [scim.client.get("/Users", params={"filter": 'userName eq "x"'}) for _ in range(6)]
    assert [r.status_code for r in statuses] == [200, 200, 429, 200, 200, 429]
    throttled = statuses[2]
    assert throttled.headers["retry-after"] == "2"
    assert throttled.headers["content-type"] == "application/scim+json"
    body = throttled.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert body["status"] == "429"  # SCIM: a string
    assert throttled.headers["x-sandbox-fault"] == "scim/*/Users:429,retry-after=2@every3"
    assert scim.client.get("/Groups").status_code == 200  # another route: untouched


def test_admin_5xx_has_the_admin_error_shape_and_fires_on_the_nth(
    server: SandboxServer, admin: httpx.Client
) -> None:
    server.faults.set("admin/*:503@2; admin/*:502,retry-after=none@3")
    responses = [admin.get("/orgs") for _ in range(4)]
    assert [r.status_code for r in responses] == [200, 503, 502, 200]
    assert error_code(responses[1]) == "service_unavailable"
    assert responses[1].headers["retry-after"] == "1"
    assert "retry-after" not in responses[2].headers
    assert error_code(responses[2]) == "bad_gateway"
    assert responses[1].json()["error"]["details"] == {"fault": "admin/*:503@2"}


def test_status_fault_before_the_handler_changes_nothing(server: SandboxServer, admin: httpx.Client) -> None:
    name = f"wa-{uuid.uuid4().hex[:6]}"
    server.faults.set("POST admin/orgs/acme/work-areas:500")
    assert admin.post("/orgs/acme/work-areas", json={"name": name}).status_code == 500
    server.faults.clear()
    names = [w["name"] for w in admin.get("/orgs/acme/work-areas", params={"limit": 200}).json()["items"]]
    assert name not in names


def test_status_after_commit_runs_the_handler_then_fails(server: SandboxServer, admin: httpx.Client) -> None:
    name = f"wa-{uuid.uuid4().hex[:6]}"
    server.faults.set("POST admin/orgs/acme/work-areas:504-after-commit")
    r = admin.post("/orgs/acme/work-areas", json={"name": name})
    assert r.status_code == 504
    assert error_code(r) == "gateway_timeout"
    server.faults.clear()
    names = [w["name"] for w in admin.get("/orgs/acme/work-areas", params={"limit": 200}).json()["items"]]
    assert name in names


def test_reset_sends_part_of_the_body_then_closes(server: SandboxServer, admin: httpx.Client) -> None:
    whole = admin.get("/orgs").content
    server.faults.set("admin/orgs:reset,bytes=40")
    response, received = _read_until_broken(admin, "GET", "/orgs")
    assert response.status_code == 200
    assert int(response.headers["content-length"]) == len(whole)
    assert response.headers["x-sandbox-fault"] == "admin/orgs:reset,bytes=40"
    assert received == whole[:40]
    server.faults.set("admin/orgs:reset")
    response, received = _read_until_broken(admin, "GET", "/orgs")
    assert received == whole[: len(whole) // 2]  # the default cut: half the body
    server.faults.clear()
    assert admin.get("/orgs").content == whole  # the same client simply reconnects


def test_reset_after_commit_on_enable_mints_exactly_one_token(
    server: SandboxServer, admin: httpx.Client
) -> None:
    org = create_org(server)
    server.faults.set("POST admin/orgs/*/scim/enable:reset-after-commit@1")
    key = uuid.uuid4().hex
    response, received = _read_until_broken(admin, "POST", f"/orgs/{org}/scim/enable",
                                            headers={"Idempotency-Key": key})
    assert response.status_code == 201
    assert 0 < len(received) < int(response.headers["content-length"])
    state = admin.get(f"/orgs/{org}/scim").json()
    assert state["enabled"] is True  # the effect happened although the answer was lost
    assert [t["active"] for t in state["tokens"]] == [True]
    again = admin.post(f"/orgs/{org}/scim/enable", headers={"Idempotency-Key": key})  # @1: not cut now
    assert again.status_code == 201
    assert again.json()["token_info"]["id"] == state["tokens"][0]["id"]  # replayed, not minted
    assert len(admin.get(f"/orgs/{org}/scim").json()["tokens"]) == 1


def test_reset_mid_stream_cuts_the_ndjson_export(server: SandboxServer, admin: httpx.Client) -> None:
    server.faults.set("admin/orgs/tailspin/provisioning-log/export:reset,bytes=5000")
    response, received = _read_until_broken(admin, "GET", "/orgs/tailspin/provisioning-log/export")
    assert response.status_code == 200
    assert len(received) == 5000
    lines = received.split(b"\n")
    assert all(json.loads(line) for line in lines[:-1])  # whole events, then a torn one
    assert len(lines) > 2


def test_reset_leaves_no_traceback_in_the_server_log(
    server: SandboxServer, admin: httpx.Client, caplog: pytest.LogCaptureFixture
) -> None:
    server.faults.set("admin/orgs:reset")
    with caplog.at_level(logging.DEBUG):
        with pytest.raises(httpx.RemoteProtocolError):
            admin.get("/orgs")
        assert admin.get("/orgs/acme").status_code == 200  # the server is fine afterwards
    assert not [r for r in caplog.records if r.exc_info and isinstance(r.exc_info[1], InjectedReset)]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_slow_read_trickles_the_body(server: SandboxServer, admin: httpx.Client) -> None:
    size = len(admin.get("/openapi.json").content)
    rate = size * 2.0  # bytes per second: the whole body should take about 0.5 s
    server.faults.set(f"admin/openapi.json:slow-read={rate:.0f}Bps")
    t0 = time.perf_counter()
    chunks: list[tuple[float, int]] = []
    with admin.stream("GET", "/openapi.json") as response:
        for chunk in response.iter_raw():
            chunks.append((time.perf_counter() - t0, len(chunk)))
    total_s = time.perf_counter() - t0
    assert response.headers["x-sandbox-fault"].startswith("admin/openapi.json:slow-read=")
    assert sum(n for _t, n in chunks) == size
    assert total_s >= 0.45
    assert len(chunks) >= 5
    assert chunks[-1][0] - chunks[0][0] >= 0.3  # the body trickled in after the status (lower bounds only)


def test_slow_read_with_a_short_read_timeout_is_a_read_timeout_and_the_trickle_stops(tmp_path: Path) -> None:
    srv = SandboxServer(tmp_path / "p.db", seed="empty", faults="admin/openapi.json:slow-read=2Bps").start()
    try:
        with admin_client(srv) as c, pytest.raises(httpx.ReadTimeout):
            c.get("/openapi.json", timeout=httpx.Timeout(5.0, read=0.3))
    finally:
        thread = srv._thread
        srv.stop()
    # 40 kB at 2 B/s would take hours: the trickle noticed the client left, so the server thread
    # ended within stop()'s join instead of being left behind still trickling.
    assert thread is not None
    assert not thread.is_alive()


def test_slow_read_also_trickles_an_injected_error(server: SandboxServer, admin: httpx.Client) -> None:
    server.faults.set("admin/orgs:503; admin/orgs:slow-read=400Bps")
    t0 = time.perf_counter()
    r = admin.get("/orgs")
    assert r.status_code == 503
    assert time.perf_counter() - t0 >= len(r.content) / 400 * 0.9
    assert r.headers["x-sandbox-fault"] == "admin/orgs:503 | admin/orgs:slow-read=400Bps"


def test_probability_over_http_follows_the_seed(server: SandboxServer, admin: httpx.Client) -> None:
    def run() -> list[int]:
        server.faults.set("admin/orgs:503,retry-after=none@p0.5", seed=42)
        return [admin.get("/orgs").status_code for _ in range(20)]

    first = run()
    assert first == run()
    assert set(first) == {200, 503}
    draws = random.Random("42:1:admin/orgs:503,retry-after=none@p0.5")  # seed : rule number : rule
    expected = [draws.random() < 0.5 for _ in range(20)]
    assert [s == 503 for s in first] == expected


# ---------------------------------------------------------------- switching at runtime


def test_set_and_clear_at_runtime_restart_the_counters(server: SandboxServer, admin: httpx.Client) -> None:
    assert server.faults.spec is None
    server.faults.set("admin/orgs:503@2")
    assert [admin.get("/orgs").status_code for _ in range(3)] == [200, 503, 200]
    server.faults.set("admin/orgs:503@2")  # counters start again
    assert [admin.get("/orgs").status_code for _ in range(2)] == [200, 503]
    assert server.faults.spec == "admin/orgs:503@2"
    server.faults.clear()
    assert server.faults.spec is None
    assert server.faults.active is False
    assert [admin.get("/orgs").status_code for _ in range(3)] == [200, 200, 200]
    with pytest.raises(FaultSpecError):
        server.faults.set("admin/orgs:nope")
    assert server.faults.spec is None  # a bad spec changes nothing


def test_switching_from_another_thread_while_requests_run(server: SandboxServer) -> None:
    stop = threading.Event()
    seen: list[int] = []

    def hammer() -> None:
        with admin_client(server) as c:
            while not stop.is_set():
                seen.append(c.get("/orgs/acme").status_code)

    workers = [threading.Thread(target=hammer) for _ in range(3)]
    for w in workers:
        w.start()
    deadline = time.monotonic() + 60
    toggles = 0
    try:
        while len(seen) < 150 and time.monotonic() < deadline:
            server.faults.set("admin/orgs/acme:503@every2") if toggles % 2 else server.faults.clear()
            toggles += 1
    finally:
        stop.set()
        for w in workers:
            w.join()
    assert len(seen) >= 150
    assert toggles > 2
    assert set(seen) <= {200, 503}


# ---------------------------------------------------------------- the CLI


def _serve(args: list[str], home: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "SCIM_CONSOLE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    return subprocess.Popen([sys.executable, "-m", "console", "sandbox", "serve", *args],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            cwd=Path(__file__).resolve().parents[2])


def test_cli_serve_with_faults(console_home: Path, tmp_path: Path) -> None:
    spec = "admin/orgs:503,retry-after=3@1"
    proc = _serve(["--json", "--port", "0", "--seed", "empty", "--db", str(tmp_path / "f.db"),
                   "--faults", spec], console_home)
    try:
        assert proc.stdout is not None
        info = json.loads(proc.stdout.readline())
        assert info["faults"] == spec
        headers = {"Authorization": f"Bearer {info['operator_token']}"}
        first = httpx.get(info["admin_url"] + "/orgs", headers=headers, trust_env=False)
        second = httpx.get(info["admin_url"] + "/orgs", headers=headers, trust_env=False)
        assert (first.status_code, first.headers["retry-after"]) == (503, "3")
        assert second.status_code == 200
        proc.terminate()
        _out, err = proc.communicate(timeout=20)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 0, err


def test_cli_serve_with_a_bad_spec_fails_with_one_line(console_home: Path, tmp_path: Path) -> None:
    proc = _serve(["--port", "0", "--seed", "empty", "--db", str(tmp_path / "f.db"),
                   "--faults", "admin/*:500@every0"], console_home)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert out == ""
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "fault spec item 1 'admin/*:500@every0': @everyN must be a whole number ≥ 1" in lines[0]
    assert not (tmp_path / "f.db").exists()

