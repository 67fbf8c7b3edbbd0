"""The deep conformance check (issue 4 §3) against the real sandbox SCIM endpoint over HTTP.

A conformant endpoint passes everything and keeps no test resource; endpoints with the bugs Entra
integrations really have (a transport in front of the sandbox rewrites the traffic to reproduce
them) fail exactly the check that covers the bug, and clean-up still happens — or is reported."""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import pytest

from console.core.errors import Cancelled
from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.conformance import FAIL, PASS, PREFIX, run_conformance
from tests.sandbox.scim_helpers import create_org, enable_scim


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("conformance") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture
def endpoint(server: SandboxServer) -> tuple[str, str, str]:
    org_id = create_org(server)
    url, token = enable_scim(server, org_id)
    return org_id, url, token


def leftovers(server: SandboxServer, org_id: str) -> list[str]:
    with AdminApiClient(server.base_url, server.operator_token) as c:
        return [u.user_name for u in c.iter_users(org_id) if PREFIX in u.user_name]


class Rewriting(httpx.BaseTransport):
    """Forwards to the real sandbox, changing requests/answers the way a buggy endpoint would."""

    def __init__(self, *, wipe_on_member_remove: bool = False, refuse_delete: bool = False) -> None:
        self.inner = httpx.HTTPTransport()
        self.wipe_on_member_remove = wipe_on_member_remove
        self.refuse_delete = refuse_delete

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if self.refuse_delete and request.method == "DELETE":
            return httpx.Response(405, json={"detail": "deletes are disabled"}, request=request)
        if self.wipe_on_member_remove and request.method == "PATCH" and "/Groups/" in request.url.path:
            body = json.loads(request.content)
            if any(op.get("op", "").lower() == "remove" and op.get("path") == "members"
                   for op in body["Operations"]):
                body["Operations"] = [{"op": "replace", "path": "members", "value": []}]
                request = httpx.Request("PATCH", request.url, headers={
                    k: v for k, v in request.headers.items() if k.lower() != "content-length"},
                    content=json.dumps(body).encode())
        return self.inner.handle_request(request)

    def close(self) -> None:
        self.inner.close()


def test_the_sandbox_passes_every_check_and_keeps_no_test_resource(server, endpoint) -> None:
    org_id, url, token = endpoint
    steps: list[str] = []
    report = run_conformance(url, token, progress=lambda _d, _t, text: steps.append(text))
    failed = [c for c in report.checks if c.status == FAIL]
    assert not failed, failed
    assert report.ok
    entra = [c.name for c in report.checks if c.group == "Entra profile"]
    assert entra == ["Discovery endpoints", "Authentication", "Test Connection probes",
                     "Create user (tutorial body)", "Filters Entra uses", "PATCH, default job dialect",
                     "PATCH, aadOptscim062020 dialect", "Manager shapes", "User without mail",
                     "Duplicate create", "Groups", "Pagination", "Delete user"]
    assert report.scim2_tester
    assert sum(1 for c in report.checks if c.group == "RFC (scim2-tester)" and c.status == PASS) > 50
    assert report.created >= 3
    assert report.cleaned == report.created
    assert report.leftover == []
    assert steps[0] == "Discovery endpoints"
    assert steps[-1] == "Deleting test resources"
    assert leftovers(server, org_id) == []
    assert token not in json.dumps(report.as_dict())


def test_a_group_member_removal_that_empties_the_group_fails_the_groups_check(server, endpoint) -> None:
    org_id, url, token = endpoint
    report = run_conformance(url, token, with_scim2_tester=False,
                             transport=Rewriting(wipe_on_member_remove=True))
    by_name = {c.name: c for c in report.checks}
    assert by_name["Groups"].status == FAIL
    assert "remove only that member" in by_name["Groups"].detail
    assert [c.name for c in report.checks if c.status == FAIL] == ["Groups"]
    assert not report.ok
    assert leftovers(server, org_id) == []


def test_an_endpoint_that_refuses_deletes_is_reported_with_what_was_left(server, endpoint) -> None:
    org_id, url, token = endpoint
    report = run_conformance(url, token, with_scim2_tester=False, transport=Rewriting(refuse_delete=True))
    assert report.leftover
    assert all(ref.startswith(("Users/", "Groups/")) for ref in report.leftover)
    assert not report.ok
    cleanup = next(c for c in report.checks if c.group == "Clean-up")
    assert cleanup.status == FAIL
    assert "left behind" in cleanup.detail
    assert "LEFT BEHIND" in report.summary()
    assert len(leftovers(server, org_id)) == sum(1 for r in report.leftover if r.startswith("Users/"))


def test_cancel_between_checks_still_cleans_up(server, endpoint) -> None:
    org_id, url, token = endpoint
    seen: list[str] = []
    with pytest.raises(Cancelled):
        run_conformance(url, token, progress=lambda _d, _t, text: seen.append(text),
                        cancelled=lambda: len(seen) >= 6)
    assert "Create user (tutorial body)" in seen
    assert leftovers(server, org_id) == []


def test_wrong_token_fails_fast_without_creating_anything(server, endpoint) -> None:
    org_id, url, _token = endpoint
    report = run_conformance(url, "scim_" + "z" * 40, with_scim2_tester=False)
    by_name = {c.name: c for c in report.checks}
    assert by_name["Test Connection probes"].status == FAIL
    assert "invalid credentials" in by_name["Test Connection probes"].detail
    assert report.created == 0
    assert leftovers(server, org_id) == []
