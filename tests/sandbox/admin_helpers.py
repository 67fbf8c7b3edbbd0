"""Helpers for the admin API tests: an authenticated httpx client and a small-seed server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from console.sandbox.server import SandboxServer


def admin_client(server: Any, token: str | None = None) -> httpx.Client:
    token = server.operator_token if token is None else token
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=server.admin_url, headers=headers, timeout=30.0, trust_env=False)


@contextmanager
def running(db_path: Path, seed: str = "small") -> Iterator[SandboxServer]:
    with SandboxServer(db_path, seed=seed) as server:
        yield server


def error_code(response: httpx.Response) -> str:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]
