"""scim2-tester's RFC compliance checks against a sandbox org over real HTTP."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

from tests.sandbox.scim_helpers import scim_org, start_server


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(tmp_path_factory.mktemp("scim2-tester"))
    yield srv
    srv.stop()


def test_scim2_tester_reports_no_error_or_critical(server: Any) -> None:
    org = scim_org(server)
    org.close()
    with httpx2.Client(
        base_url=org.base_url + "/", headers={"Authorization": f"Bearer {org.token}"}, timeout=30
    ) as http:
        client = SyncSCIMClient(http)
        client.discover()
        results = check_server(client)
    counts = Counter(r.status.name for r in results)
    print("scim2-tester statuses:", dict(sorted(counts.items())))
    bad = [r for r in results if r.status in (Status.ERROR, Status.CRITICAL)]
    for r in bad:
        print("BAD", r.status.name, r.title, "|", r.reason, "|", str(r.data)[:300])
    assert results
    assert not bad
