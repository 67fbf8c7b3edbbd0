"""The checked-in OpenAPI document equals the one the server serves."""

from __future__ import annotations

import json
from pathlib import Path

import httpx

from console.sandbox.server import SandboxServer

CHECKED_IN = Path(__file__).resolve().parents[2] / "resources" / "openapi-admin.json"
REGENERATE = ".venv/bin/python -m console.sandbox.app resources/openapi-admin.json"


def test_checked_in_openapi_matches_served(fresh_sandbox: SandboxServer) -> None:
    served = httpx.get(fresh_sandbox.admin_url + "/openapi.json", trust_env=False).json()
    checked_in = json.loads(CHECKED_IN.read_text(encoding="utf-8"))
    assert checked_in == served, f"resources/openapi-admin.json is stale; regenerate with: {REGENERATE}"


def test_openapi_covers_the_admin_contract_only(fresh_sandbox: SandboxServer) -> None:
    paths = set(httpx.get(fresh_sandbox.admin_url + "/openapi.json", trust_env=False).json()["paths"])
    assert "/admin/v1/orgs/{org_id}/scim/enable" in paths
    assert "/admin/v1/orgs/{org_id}/provisioning-log/export" in paths
    assert all(p.startswith("/admin/v1/") for p in paths)
