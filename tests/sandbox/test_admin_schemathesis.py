"""Property tests of the admin API from its own OpenAPI document, against the live sandbox.

Every generated request (valid and invalid) must get a non-5xx answer. The document is the checked-in
``resources/openapi-admin.json`` (``test_admin_openapi`` proves it equals the served one), so each
operation is its own test. Path ``org_id`` is pinned to a real org (``acme``) so generated bodies reach
the handlers instead of stopping at 404. (schemathesis' own pytest plugin does not load on this pytest.)
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error

from console.sandbox.server import SandboxServer

MAX_EXAMPLES = 10
DOCUMENT = Path(__file__).resolve().parents[2] / "resources" / "openapi-admin.json"
SCHEMA = schemathesis.openapi.from_dict(json.loads(DOCUMENT.read_text(encoding="utf-8")))
OPERATIONS = [result.ok() for result in SCHEMA.get_all_operations()]


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("schemathesis") / "p.db", seed="small") as server:
        yield server


@pytest.mark.parametrize("operation", OPERATIONS, ids=lambda op: op.label)
def test_admin_api_never_answers_5xx(operation: object, live: SandboxServer) -> None:
    headers = {"Authorization": f"Bearer {live.operator_token}"}

    @given(case=operation.as_strategy())  # type: ignore[attr-defined]
    @settings(
        max_examples=MAX_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def check(case: schemathesis.Case) -> None:
        if "org_id" in (case.path_parameters or {}):
            case.path_parameters["org_id"] = "acme"
        case.call_and_validate(base_url=live.base_url, headers=headers, checks=[not_a_server_error])

    check()
