"""Every integer parameter of both sandbox APIs, swept with huge, negative and non-numeric values.

The admin API's integer query parameters are read from its own OpenAPI document (so a new one is
swept without editing this file); the SCIM API's are ``startIndex`` and ``count`` on every list and
``.search`` endpoint. Whatever the value, the answer is never a 5xx: a value the API can use is
answered normally, anything else gets the API's stable error shape (admin: 422
``validation_error`` or 400 ``invalid_cursor``; SCIM: 400 ``invalidValue``). SQLite integers are
signed 64-bit, so a digit string past 2**63-1 used to reach the database and fail there (a 500).
"""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from console.sandbox.server import SandboxServer
from tests.sandbox.scim_helpers import SCIM_JSON, enable_scim

DOCUMENT = Path(__file__).resolve().parents[2] / "resources" / "openapi-admin.json"
INT64 = 2**63 - 1

# Values a client (or a fuzzer) may send where an integer is expected.
HOSTILE = [
    "9116992555847437067598061910259400704",  # the after_id that answered 500
    str(INT64 + 1),
    str(INT64),
    "-" + str(INT64 + 1),
    "-1",
    "0",
    "9" * 5000,  # beyond Python's int-from-str digit limit
    "abc",
    "1e3",
    "1.5",
    "0x10",
    "1_000",  # int() would take it
    "\uff11\uff12",  # fullwidth digits: int() would take them too
    " 7",
    "+5",
    "",
]


def _admin_integer_params() -> list[tuple[str, str]]:
    document = json.loads(DOCUMENT.read_text(encoding="utf-8"))
    found = []
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for parameter in operation.get("parameters", []):
                schema = parameter.get("schema", {})
                types = [schema.get("type"), *(alt.get("type") for alt in schema.get("anyOf", []))]
                if parameter["in"] == "query" and "integer" in types:
                    assert method == "get", f"sweep only knows GETs; add {method} {path}"
                    found.append((path, parameter["name"]))
    return found


ADMIN_PARAMS = _admin_integer_params()


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[SandboxServer, str, str]]:
    with SandboxServer(tmp_path_factory.mktemp("intparams") / "p.db", seed="small") as server:
        scim_base, token = enable_scim(server, "acme")
        yield server, scim_base, token


def _assert_stable_error(response: httpx.Response, codes: set[str], key: str) -> None:
    body = response.json()
    code = body["error"]["code"] if key == "admin" else body.get("scimType")
    assert code in codes, response.text
    if key == "scim":
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
        assert body["status"] == str(response.status_code)


def test_the_sweep_covers_every_integer_query_parameter_of_the_admin_api() -> None:
    names = {name for _path, name in ADMIN_PARAMS}
    assert names == {"limit", "after_id", "status"}, names  # a new one is swept automatically
    assert len(ADMIN_PARAMS) >= 8


@pytest.mark.parametrize(("path", "name"), ADMIN_PARAMS, ids=[f"{p}?{n}" for p, n in ADMIN_PARAMS])
def test_admin_integer_parameters_never_answer_5xx(live: Any, path: str, name: str) -> None:
    server, _scim, _token = live
    url = server.base_url + path.replace("{org_id}", "acme")
    headers = {"Authorization": f"Bearer {server.operator_token}"}
    with httpx.Client(timeout=30, trust_env=False, headers=headers) as client:
        for value in HOSTILE:
            response = client.get(url, params={name: value})
            assert response.status_code < 500, (name, value[:40], response.text)
            if response.status_code != 200:
                assert response.status_code == 422, (name, value[:40], response.status_code)
                _assert_stable_error(response, {"validation_error"}, "admin")
        # The one that used to reach SQLite: out of range, not a server error.
        if name == "after_id":
            response = client.get(url, params={name: str(INT64 + 1)})
            assert response.status_code == 422
            assert "after_id" in response.json()["error"]["message"]
            assert client.get(url, params={name: str(INT64)}).json()["items"] == []


@pytest.mark.parametrize("value", [str(INT64 + 1), "9" * 40, "-5", "abc", "1e3"])
def test_admin_cursors_that_decode_to_an_out_of_range_integer_are_invalid_not_5xx(live: Any,
                                                                                   value: str) -> None:
    server, _scim, _token = live
    cursor = base64.urlsafe_b64encode(f"plog:{value}".encode()).decode().rstrip("=")
    response = httpx.get(f"{server.admin_url}/orgs/northwind/provisioning-log", params={"cursor": cursor},
                         headers={"Authorization": f"Bearer {server.operator_token}"}, trust_env=False)
    assert response.status_code == 400, response.text
    _assert_stable_error(response, {"invalid_cursor"}, "admin")


def test_admin_body_versions_out_of_range_are_validation_errors(live: Any) -> None:
    server, _scim, _token = live
    headers = {"Authorization": f"Bearer {server.operator_token}"}
    users = httpx.get(f"{server.admin_url}/orgs/northwind/users", headers=headers, trust_env=False).json()
    user_id = users["items"][0]["id"]
    for version in (INT64 + 1, -1, 10**30):
        response = httpx.post(f"{server.admin_url}/orgs/northwind/users/{user_id}/primary-email",
                              json={"email": "x@example.com", "expected_version": version},
                              headers=headers, trust_env=False)
        assert response.status_code == 422, response.text
        _assert_stable_error(response, {"validation_error"}, "admin")


SCIM_LISTS = ["Users", "Groups"]
SCIM_SEARCHES = ["Users/.search", "Groups/.search", ".search"]
# Values the SCIM API can use: RFC 7644 §3.4.2.4 reads startIndex < 1 as 1 and count < 0 as 0.
USABLE = {str(INT64), "-1", "0", "+5", "-" + str(INT64)}


@pytest.mark.parametrize("resource", SCIM_LISTS)
@pytest.mark.parametrize("name", ["startIndex", "count"])
def test_scim_paging_parameters_never_answer_5xx(live: Any, resource: str, name: str) -> None:
    _server, scim_base, token = live
    with httpx.Client(timeout=30, trust_env=False, headers={"Authorization": f"Bearer {token}"}) as client:
        for value in HOSTILE:
            response = client.get(f"{scim_base}/{resource}", params={name: value})
            assert response.status_code < 500, (name, value[:40], response.text)
            if value in USABLE or value == "":
                assert response.status_code == 200, (name, value[:40], response.text)
                body = response.json()
                assert body["startIndex"] >= 1
                assert 0 <= body["itemsPerPage"] <= body["totalResults"] or body["totalResults"] == 0
            else:
                assert response.status_code == 400, (name, value[:40], response.text)
                _assert_stable_error(response, {"invalidValue"}, "scim")
                assert name in response.json()["detail"]


@pytest.mark.parametrize("path", SCIM_SEARCHES)
def test_scim_search_bodies_with_hostile_paging_values_never_answer_5xx(live: Any, path: str) -> None:
    _server, scim_base, token = live
    headers = {"Authorization": f"Bearer {token}", "Content-Type": SCIM_JSON}
    values: list[Any] = [10**30, -(10**30), INT64 + 1, 1e300, "abc", True, None, [1], {"a": 1}, INT64, -1]
    with httpx.Client(timeout=30, trust_env=False, headers=headers) as client:
        for name in ("startIndex", "count"):
            for value in values:
                body = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], name: value}
                response = client.post(f"{scim_base}/{path}", content=json.dumps(body))
                assert response.status_code < 500, (path, name, value, response.text)
                if response.status_code != 200:
                    assert response.status_code == 400
                    _assert_stable_error(response, {"invalidValue"}, "scim")
