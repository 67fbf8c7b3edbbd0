"""Property tests: filters and PATCH bodies never crash the endpoint (result or a SCIM 400)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from console.sandbox.scim_filters import parse_filter, resource_matches
from console.sandbox.scim_patch import apply_patch, parse_operations
from console.sandbox.scim_resources import ScimError
from tests.sandbox.scim_helpers import ScimOrg, patch_body, scim_org, start_server, user_body

ATTRS = st.sampled_from(
    [
        "userName",
        "externalId",
        "id",
        "displayName",
        "emails",
        "emails.value",
        "emails.type",
        "active",
        "name.givenName",
        "meta.lastModified",
        "title",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
        "nope",
    ]
)
OPS = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "EQ", "pr", "xx"])
VALUES = st.one_of(
    st.text(max_size=12).map(lambda t: '"' + t.replace('"', "") + '"'),
    st.sampled_from(["true", "false", "null", "1", "jyoung", '"work"']),
)
TERM = st.builds(lambda a, o, v: f"{a} pr" if o == "pr" else f"{a} {o} {v}", ATTRS, OPS, VALUES)
FILTERS = st.one_of(
    st.recursive(
        TERM,
        lambda inner: st.one_of(
            st.builds(lambda a, b, j: f"{a} {j} {b}", inner, inner, st.sampled_from(["and", "or", "AND"])),
            st.builds(lambda a: f"not ({a})", inner),
            st.builds(lambda a: f"emails[{a}]", inner),
        ),
        max_leaves=4,
    ),
    st.text(max_size=40),
)
RESOURCE = {
    "id": "1",
    "userName": "Jane@X.com",
    "active": False,
    "emails": [{"value": "j@x.com", "type": "work"}],
    "name": {"givenName": "Jane"},
    "meta": {"lastModified": "2026-01-01T00:00:00Z"},
    "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"manager": {"value": "m"}},
}


@settings(max_examples=300, deadline=None, database=None)
@given(FILTERS)
def test_filter_parse_and_match_never_crash(text: str) -> None:
    try:
        node = parse_filter(text)
    except ScimError as exc:
        error = exc
    else:
        assert resource_matches(node, RESOURCE) in (True, False)
        return
    assert (error.status, error.scim_type) == (400, "invalidFilter")


PATHS = st.one_of(
    st.sampled_from(
        [
            "active",
            "userName",
            "displayName",
            "name.givenName",
            'emails[type eq "work"].value',
            "emails",
            "roles",
            "members",
            'members[value eq "x"]',
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
            "id",
            "meta",
            'emails[type co "w"]',
        ]
    ),
    st.text(max_size=15),
    st.none(),
)
JSONV = st.recursive(
    st.one_of(
        st.none(), st.booleans(), st.integers(), st.text(max_size=8), st.sampled_from(["True", "false", ""])
    ),
    lambda c: st.one_of(st.lists(c, max_size=3), st.dictionaries(st.text(max_size=6), c, max_size=3)),
    max_leaves=6,
)
OP = st.fixed_dictionaries(
    {
        "op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove", "x"]),
        "path": PATHS,
        "value": JSONV,
    }
)


@settings(max_examples=300, deadline=None, database=None)
@given(st.lists(OP, min_size=1, max_size=4))
def test_patch_engine_result_or_400(ops: list[dict[str, Any]]) -> None:
    doc = {
        "userName": "a@x.com",
        "active": True,
        "emails": [{"value": "a@x.com", "type": "work", "primary": True}],
    }
    try:
        new = apply_patch(doc, parse_operations(patch_body(*ops)))
    except ScimError as exc:
        error: ScimError | None = exc
    else:
        error = None
        assert isinstance(new, dict)
    if error is not None:
        assert error.status == 400
        assert error.scim_type
    assert doc["emails"] == [{"value": "a@x.com", "type": "work", "primary": True}]  # input untouched


@pytest.fixture(scope="module")
def org(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ScimOrg]:
    srv = start_server(tmp_path_factory.mktemp("props"))
    o = scim_org(srv)
    assert (
        o.client.post("/Users", json=user_body("prop@example.com", email="prop@example.com")).status_code
        == 201
    )
    yield o
    o.close()
    srv.stop()


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(FILTERS)
def test_filters_over_http_never_500(org: ScimOrg, text: str) -> None:
    r = org.client.get("/Users", params={"filter": text})
    assert r.status_code in (200, 400), r.text
    if r.status_code == 400:
        assert r.json()["scimType"] in ("invalidFilter", "tooMany")


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(OP, min_size=1, max_size=3))
def test_patch_over_http_never_500(org: ScimOrg, ops: list[dict[str, Any]]) -> None:
    uid = org.client.get("/Users", params={"filter": 'userName eq "prop@example.com"'}).json()["Resources"]
    target = uid[0]["id"] if uid else "missing"
    r = org.client.patch(f"/Users/{target}", json=patch_body(*ops))
    assert r.status_code in (200, 400, 404, 409), r.text
    if r.status_code == 400:
        assert r.json()["status"] == "400"
