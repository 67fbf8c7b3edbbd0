"""Body-size and JSON-nesting limits on both sandbox APIs (issue 16 items 4-5), over real sockets.

Each attack of the review is repeated: a huge declared body, a huge chunked body, 200 000 ``[``
and a 5 000-deep object, unauthenticated and authenticated. The answer is a 413/400 in the
surface's own error shape, never a 401 after reading everything, never a 500.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator

import httpx
import pytest

from console.sandbox.limits import MAX_BODY_BYTES, MAX_JSON_DEPTH, json_depth_exceeds
from console.sandbox.server import SandboxServer
from tests.sandbox.scim_helpers import scim_org


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("limits") / "platform.db", seed="empty") as s:
        yield s


def raw_request(server: SandboxServer, head: str, body_chunks: Iterator[bytes]) -> tuple[int, bytes]:
    """Send ``head`` and as much of the body as the server takes; return (status, response body)."""
    with socket.create_connection(("127.0.0.1", server.port), timeout=30) as sock:
        sock.sendall(head.encode())
        try:
            for chunk in body_chunks:
                sock.sendall(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server refused and closed early: exactly what we want to see
        data = b""
        while b"\r\n\r\n" not in data:
            part = sock.recv(65536)
            if not part:
                break
            data += part
        header, _, rest = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in header.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(rest) < length:
            part = sock.recv(65536)
            if not part:
                break
            rest += part
    return int(header.split(b" ")[1]), rest


def test_declared_300_mb_body_is_refused_before_reading_or_authenticating(server) -> None:
    sent: list[int] = []

    def body() -> Iterator[bytes]:
        for _ in range(4):  # 4 KiB of the promised 300 MB; the answer must come without the rest
            sent.append(1024)
            yield b"x" * 1024

    head = ("POST /admin/v1/orgs/acme/work-areas HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            f"Content-Length: {300 * 1024 * 1024}\r\n\r\n")
    status, payload = raw_request(server, head, body())
    assert status == 413
    assert json.loads(payload)["error"]["code"] == "payload_too_large"


def test_chunked_body_over_the_limit_is_cut_off_at_the_limit(server) -> None:
    def body() -> Iterator[bytes]:
        chunk = b"a" * 65536
        for _ in range(MAX_BODY_BYTES // len(chunk) + 4):
            yield f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n"
        yield b"0\r\n\r\n"

    head = ("POST /scim/v2/acme/Users HTTP/1.1\r\nHost: x\r\nContent-Type: application/scim+json\r\n"
            "Transfer-Encoding: chunked\r\n\r\n")
    status, payload = raw_request(server, head, body())
    assert status == 413
    data = json.loads(payload)
    assert data["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"] and data["status"] == "413"  # noqa: PT018


@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_deep_json_is_400_on_scim_unauthenticated_and_authenticated(server, body: bytes) -> None:
    org = scim_org(server)
    try:
        for headers in ({}, {"Authorization": f"Bearer {org.token}"}):
            r = httpx.post(f"{org.base_url}/Users", content=body, timeout=30,
                           headers={"Content-Type": "application/scim+json", **headers})
            assert r.status_code == 400, r.text
            assert r.json()["scimType"] == "invalidSyntax"
            assert "nested deeper" in r.json()["detail"]
    finally:
        org.close()


@pytest.mark.parametrize("body", [b"[" * 200_000, b'{"a":' * 5000 + b"1" + b"}" * 5000])
def test_deep_json_is_400_on_the_admin_api(server, body: bytes) -> None:
    for headers in ({}, {"Authorization": f"Bearer {server.operator_token}"}):
        r = httpx.post(f"{server.admin_url}/orgs/acme/work-areas", content=body, timeout=30,
                       headers={"Content-Type": "application/json", **headers})
        assert r.status_code == 400, r.text
        assert r.json()["error"]["code"] == "bad_request"


def test_ordinary_requests_still_pass(server) -> None:
    org = scim_org(server)
    try:
        nested = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": "deep@example.com",
                  "name": {"givenName": "[{not nesting}]", "familyName": '\\"quoted\\"'}, "active": True}
        r = org.client.post("/Users", json=nested)
        assert r.status_code == 201, r.text
        assert r.json()["name"]["givenName"] == "[{not nesting}]"
    finally:
        org.close()


def test_depth_scan_skips_strings_and_escapes() -> None:
    assert not json_depth_exceeds(b'"' + b"[" * 1000 + b'"')
    assert not json_depth_exceeds(b'["\\"' + b"[" * 1000 + b'"]')
    assert json_depth_exceeds(b"[" * (MAX_JSON_DEPTH + 1))
    assert not json_depth_exceeds(b"[" * MAX_JSON_DEPTH + b"]" * MAX_JSON_DEPTH)
