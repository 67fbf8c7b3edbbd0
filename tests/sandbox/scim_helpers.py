"""Helpers shared by the SCIM endpoint tests: a SCIM-enabled org on a real sandbox over HTTP."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from console.sandbox.db import Org, make_engine, make_sessionmaker

SCIM_JSON = "application/scim+json"


@dataclass
class ScimOrg:
    """An org with SCIM enabled: its SCIM base URL, a token and an httpx client bound to both."""

    org_id: str
    base_url: str
    token: str
    db_path: Path
    client: httpx.Client
    _engine: Any = None

    def session(self) -> Any:
        if self._engine is None:
            self._engine = make_engine(self.db_path)
        return make_sessionmaker(self._engine)()

    def close(self) -> None:
        self.client.close()
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


def create_org(server: Any, org_id: str | None = None) -> str:
    """Create an empty org directly in the sandbox DB (the admin API has no org creation)."""
    org_id = org_id or "t" + uuid.uuid4().hex[:10]
    engine = make_engine(server.db_path)
    with make_sessionmaker(engine)() as session:
        session.add(Org(id=org_id, name=f"Test {org_id}", domains=["example.com"]))
        session.commit()
    engine.dispose()
    return org_id


def enable_scim(server: Any, org_id: str) -> tuple[str, str]:
    """Enable SCIM through the admin API; returns (scim_base_url, token)."""
    response = httpx.post(
        f"{server.admin_url}/orgs/{org_id}/scim/enable",
        headers={"Authorization": f"Bearer {server.operator_token}", "Idempotency-Key": uuid.uuid4().hex},
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return body["scim_base_url"], body["token"]


def scim_org(server: Any, org_id: str | None = None) -> ScimOrg:
    org_id = org_id or create_org(server)
    base, token = enable_scim(server, org_id)
    assert base == f"{server.scim_base_url}/{org_id}"
    client = httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    return ScimOrg(org_id, base, token, Path(server.db_path), client)


def user_body(
    user_name: str,
    *,
    external_id: str | None = None,
    email: str | None = None,
    active: Any = True,
    **extra: Any,
) -> dict[str, Any]:
    """The tutorial's create body (entra-facts §1.4)."""
    body: dict[str, Any] = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
        ],
        "userName": user_name,
        "active": active,
        "meta": {"resourceType": "User"},
        "name": {"formatted": "Given Family", "familyName": "Family", "givenName": "Given"},
        "roles": [],
    }
    if external_id is not None:
        body["externalId"] = external_id
    if email is not None:
        body["emails"] = [{"primary": True, "type": "work", "value": email}]
    body.update(extra)
    return body


def patch_body(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": list(operations)}


def module_server_and_org(label: str) -> tuple[Any, Any]:
    """The ``server`` (one empty sandbox per test module, from ``start_server``) and ``org`` (a fresh
    SCIM-enabled org per test, its client closed after) fixtures of the SCIM endpoint test modules:
    ``server, org = module_server_and_org("scim-api")`` at module level."""
    import pytest

    @pytest.fixture(scope="module")
    def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
        srv = start_server(tmp_path_factory.mktemp(label))
        yield srv
        srv.stop()

    @pytest.fixture
    def org(server: Any) -> Iterator[ScimOrg]:
        o = scim_org(server)
        yield o
        o.close()

    return server, org


def start_server(tmp_path: Path) -> Any:
    """A running sandbox on an empty DB (seed ``empty``), shared by one test module for speed;
    every test isolates itself by working in its own freshly created org."""
    from console.sandbox.server import SandboxServer

    return SandboxServer(db_path=tmp_path / "platform.db", seed="empty").start()


def with_scim_twins(org: ScimOrg, server: Any, n: int, seed: int) -> ScimOrg:
    """Fill ``org`` so Entra made a SCIM twin of each of ``n`` manual accounts (finding class (i)).

    The manual accounts are under each person's mail; Entra's default matching looks for the UPN,
    finds nothing and creates a second account (the email-mismatch scenario)."""
    from console.sandbox.simulate import people, simulate_entra
    from console.services.api_client import AdminApiClient

    with AdminApiClient(server.base_url, server.operator_token) as client:
        for p in people(n, seed=seed, scenario="email-mismatch"):
            client.create_user(org.org_id, {"user_name": p.mail, "emails": [p.mail], "created_via": "manual"})
    report = simulate_entra(org.base_url, org.token, users=n, scenario="email-mismatch", seed=seed)
    assert report.ok, report.failures
    return org


ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


def assert_scim_error(r: Any, *statuses: int, scim_type: str | None = None) -> dict[str, Any]:
    """``r`` is a SCIM error (RFC 7644 §3.12) with one of ``statuses``; returns its body."""
    assert r.status_code in statuses, (r.status_code, r.text)
    assert r.headers["content-type"].startswith(SCIM_JSON)
    body = r.json()
    assert body["schemas"] == [ERROR_SCHEMA]
    assert body["status"] == str(r.status_code)  # a string
    if scim_type is not None:
        assert body["scimType"] == scim_type
    return body
