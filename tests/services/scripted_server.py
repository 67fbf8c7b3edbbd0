"""A tiny real HTTP server on 127.0.0.1 whose answers a test scripts in advance.

Used for what the sandbox cannot be asked to do on demand: 429 with Retry-After, 5xx bursts,
slow answers, non-JSON bodies. It records every request so tests can assert what was sent
(headers, how many attempts). The listening socket is bound before the server thread starts, so
connections queue in the backlog and no test has to wait for start-up.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import uvicorn


@dataclass
class Reply:
    status: int = 200
    body: Any = None                   # dict/list → JSON; str/bytes → sent as is
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0                 # seconds before answering (timeouts)
    content_type: str | None = None


@dataclass
class Seen:
    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes


class ScriptedServer:
    def __init__(self, *, certfile: str | None = None, keyfile: str | None = None) -> None:
        self.scripts: dict[tuple[str, str], list[Reply]] = defaultdict(list)
        self.requests: list[Seen] = []
        self._lock = threading.Lock()
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(64)
        self.port = self._sock.getsockname()[1]
        scheme = "https" if certfile else "http"
        self.base_url = f"{scheme}://127.0.0.1:{self.port}"
        self.admin_url = self.base_url + "/admin/v1"
        config = uvicorn.Config(self._app, log_level="warning", lifespan="off", access_log=False,
                                interface="asgi3", ssl_certfile=certfile, ssl_keyfile=keyfile)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [self._sock]},
                                        daemon=True)

    def script(self, method: str, path: str, *replies: Reply) -> None:
        """Queue replies for ``method path`` (path without /admin/v1); the last one repeats."""
        with self._lock:
            self.scripts[(method.upper(), "/admin/v1/" + path.lstrip("/"))].extend(replies)

    def seen(self, method: str | None = None, path: str | None = None) -> list[Seen]:
        full = None if path is None else "/admin/v1/" + path.lstrip("/")
        return [r for r in self.requests
                if (method is None or r.method == method) and (full is None or r.path == full)]

    async def _app(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        assert scope["type"] == "http"
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        method, path = scope["method"], scope["path"]
        with self._lock:
            self.requests.append(Seen(method, path, scope["query_string"].decode(), headers, body))
            queue = self.scripts.get((method, path))
            missing = Reply(404, {"error": {"code": "not_found", "message": f"no script: {method} {path}"}})
            reply = (queue.pop(0) if len(queue) > 1 else queue[0]) if queue else missing
        if reply.delay:
            await asyncio.sleep(reply.delay)
        if isinstance(reply.body, (dict, list)):
            payload, ctype = json.dumps(reply.body).encode(), "application/json"
        elif isinstance(reply.body, str):
            payload, ctype = reply.body.encode(), "text/plain"
        else:
            payload, ctype = (reply.body or b""), "application/octet-stream"
        out_headers = [(b"content-type", (reply.content_type or ctype).encode())]
        out_headers += [(k.lower().encode(), v.encode()) for k, v in reply.headers.items()]
        await send({"type": "http.response.start", "status": reply.status, "headers": out_headers})
        await send({"type": "http.response.body", "body": payload})

    def start(self) -> ScriptedServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self._sock.close()


def serve(**kwargs: str) -> Iterator[ScriptedServer]:
    server = ScriptedServer(**kwargs).start()
    try:
        yield server
    finally:
        server.stop()
