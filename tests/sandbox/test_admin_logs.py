"""Admin API: provisioning log — keyset pages, filters, tail mode and the NDJSON export."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from console.sandbox.server import SandboxServer
from tests.sandbox.admin_helpers import admin_client, error_code


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("small") / "p.db", seed="small") as server:
        yield server


@pytest.fixture
def client(small: SandboxServer) -> Iterator[httpx.Client]:
    with admin_client(small) as c:
        yield c


def _events(client: httpx.Client, org: str = "northwind", **params: Any) -> dict[str, Any]:
    r = client.get(f"/orgs/{org}/provisioning-log", params=params)
    assert r.status_code == 200, r.text
    return r.json()


def _count(server: SandboxServer, where: str = "1=1", org: str = "northwind") -> int:
    with sqlite3.connect(server.db_path) as conn:
        return conn.execute(
            f"SELECT count(*) FROM provisioning_log WHERE org_id = ? AND {where}", (org,)
        ).fetchone()[0]


def test_newest_first_keyset_pages_cover_everything_once(client: httpx.Client, small: SandboxServer) -> None:
    ids: list[int] = []
    cursor = None
    while True:
        page = _events(client, limit=100, **({"cursor": cursor} if cursor else {}))
        ids += [e["id"] for e in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert ids == sorted(ids, reverse=True)
    assert len(ids) == len(set(ids)) == _count(small)
    first = _events(client, limit=1)["items"][0]
    assert set(first) == {
        "id",
        "ts",
        "method",
        "path",
        "op",
        "op_summary",
        "status",
        "outcome",
        "latency_ms",
        "user_id",
        "scim_id",
        "user_name",
        "external_id",
        "error_code",
        "error_detail",
    }


def test_filters(client: httpx.Client, small: SandboxServer) -> None:
    failures = _events(client, outcome="failure", limit=500)["items"]
    assert failures
    assert all(e["outcome"] == "failure" for e in failures)
    assert len(failures) == _count(small, "outcome = 'failure'")
    conflicts = _events(client, status=409, limit=500)["items"]
    assert conflicts
    assert all(e["status"] == 409 and e["error_code"] == "uniqueness" for e in conflicts)
    posts = _events(client, method="post", op="create", limit=500)["items"]
    assert posts
    assert all(e["method"] == "POST" and e["op"] == "create" for e in posts)
    squatter = _events(client, user="SAM.ORTIZ@northwind.com", limit=500)["items"]
    assert len(squatter) == 25
    jdoe = _events(client, q="jdoe@", limit=500)["items"]
    assert jdoe
    assert all(
        "jdoe@" in ((e["user_name"] or "") + (e["error_detail"] or "") + e["path"]).lower() for e in jdoe
    )
    by_id = _events(client, user=jdoe[0]["user_id"], limit=500)["items"]
    assert by_id
    assert all(e["user_id"] == jdoe[0]["user_id"] for e in by_id)


def test_time_window(client: httpx.Client) -> None:
    items = _events(client, limit=500)["items"]
    newest = datetime.fromisoformat(items[0]["ts"].replace("Z", "+00:00"))
    since = (newest - timedelta(hours=6)).isoformat()
    window = _events(client, since=since, limit=500)["items"]
    assert window
    assert all(
        datetime.fromisoformat(e["ts"].replace("Z", "+00:00")) >= newest - timedelta(hours=6) for e in window
    )
    assert _events(client, until=(datetime.now(UTC) - timedelta(days=30)).isoformat())["items"] == []
    r = client.get("/orgs/northwind/provisioning-log", params={"since": "yesterday"})
    assert r.status_code == 422
    assert error_code(r) == "validation_error"
    r = client.get("/orgs/northwind/provisioning-log", params={"outcome": "maybe"})
    assert r.status_code == 422


def test_tail_mode_returns_only_newer_events_oldest_first(client: httpx.Client) -> None:
    page = _events(client, limit=10)["items"]
    anchor = page[5]["id"]
    tail = _events(client, after_id=anchor)["items"]
    assert [e["id"] for e in tail] == sorted(e["id"] for e in page[:5])
    assert _events(client, after_id=page[0]["id"])["items"] == []


def test_bad_cursor(client: httpx.Client) -> None:
    r = client.get("/orgs/northwind/provisioning-log", params={"cursor": "bm9wZQ"})
    assert r.status_code == 400
    assert error_code(r) == "invalid_cursor"


def test_ndjson_export_streams_every_matching_event(small: SandboxServer) -> None:
    with admin_client(small) as c, c.stream("GET", "/orgs/tailspin/provisioning-log/export") as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("application/x-ndjson")
        rows = [json.loads(line) for line in r.iter_lines() if line]
    assert len(rows) == _count(small, org="tailspin") == 1000
    assert [row["id"] for row in rows] == sorted((row["id"] for row in rows), reverse=True)
    with admin_client(small) as c:
        r = c.get("/orgs/northwind/provisioning-log/export", params={"outcome": "failure"})
    lines = [json.loads(line) for line in r.text.splitlines()]
    assert len(lines) == _count(small, "outcome = 'failure'")
    assert all(x["outcome"] == "failure" for x in lines)
    assert (
        httpx.get(small.admin_url + "/orgs/northwind/provisioning-log/export", trust_env=False).status_code
        == 401
    )
