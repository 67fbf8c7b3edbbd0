"""Request body and JSON nesting limits for both sandbox APIs, before routing and authentication.

Without them an unauthenticated client could make the sandbox read a 300 MB body into memory
before answering 401, and a body of 200 000 ``[`` reached ``json.loads`` and died in a
``RecursionError`` (a 500). The sandbox may be exposed through a tunnel (README), so:

* a declared ``Content-Length`` above :data:`MAX_BODY_BYTES` is refused at once (413) without
  reading a byte of the body;
* a body without one (chunked) is read only up to the limit, then refused (413) and the connection
  is not read further;
* a JSON body nested deeper than :data:`MAX_JSON_DEPTH` is refused (400) before any parser sees it.
  The scan is a linear byte walk that skips strings, so it cannot itself recurse or blow up.

Everything here is plain ASGI, so it runs for every route (admin, SCIM, link pages) and ahead of
the bearer-token checks. Error bodies use each surface's own shape (docs/sandbox-limits.md).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY_BYTES = 1024 * 1024  # Entra's largest requests (a user with every attribute) are a few kB
MAX_JSON_DEPTH = 64  # SCIM resources nest 3-4 levels; PATCH values a couple more

_SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def json_depth_exceeds(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """True when ``raw`` opens more than ``limit`` nested arrays/objects (strings are skipped)."""
    depth = 0
    in_string = escaped = False
    for byte in raw:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:  # quote
                in_string = False
        elif byte == 0x22:
            in_string = True
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > limit:
                return True
        elif byte in (0x5D, 0x7D):  # ] }
            depth -= 1
    return False


async def _reply(scope: Scope, send: Send, status: int, message: str, code: str) -> None:
    if str(scope.get("path", "")).startswith("/scim/"):
        body: dict[str, Any] = {"schemas": [_SCIM_ERROR], "status": str(status), "detail": message}
        if status == 400:
            body["scimType"] = "invalidSyntax"
        media = b"application/scim+json"
    else:
        body = {"error": {"code": code, "message": message, "details": {}}}
        media = b"application/json"
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", media), (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": payload})


class LimitsMiddleware:
    """Refuse over-large and over-deep bodies before the app (and its authentication) runs."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES,
                 max_depth: int = MAX_JSON_DEPTH) -> None:
        self.app = app
        self.max_body = max_body
        self.max_depth = max_depth

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        too_big = f"The request body is larger than {self.max_body} bytes."
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    await _reply(scope, send, 400, "Content-Length is not a number.", "bad_request")
                    return
                if declared > self.max_body:
                    await _reply(scope, send, 413, too_big, "payload_too_large")
                    return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                await _reply(scope, send, 413, too_big, "payload_too_large")
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        raw = b"".join(chunks)
        if json_depth_exceeds(raw, self.max_depth):
            await _reply(scope, send, 400, f"The JSON body is nested deeper than {self.max_depth} levels.",
                         "bad_request")
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": raw, "more_body": False}
            return await receive()  # after the body: wait for the disconnect, as the server would

        await self.app(scope, replay, send)
