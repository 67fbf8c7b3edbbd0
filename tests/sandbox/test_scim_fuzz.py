"""Fuzzing the sandbox's SCIM endpoint over real HTTP (hypothesis): filters, PATCH bodies, raw bodies.

Invariants (entra-facts §1.3, RFC 7644 §3.12):

* any filter → 200 ListResponse or 400 ``invalidFilter``; the SQL fast path and the Python evaluator
  agree on which users match (the Python evaluator is the oracle, run here on the server's own
  rendering of every user);
* any PATCH / POST / PUT body → 2xx or a 4xx SCIM Error whose ``status`` is a string; never 500;
* after any accepted change the stored resource still parses with scim2-models, ``active`` is a
  boolean, ``userName`` a non-empty string, there is at most one primary email and no two emails of
  the same ``type``, and group members are users of the org.

Budgets are modest so the default run stays fast; ``FUZZ_EXAMPLES`` scales them for a long run.
"""

from __future__ import annotations

import os
import unicodedata
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st
from scim2_models import Context, EnterpriseUser, Group, User

from console.sandbox.scim_filters import parse_filter, resource_matches
from console.sandbox.scim_resources import ScimError
from tests.sandbox.scim_helpers import (
    ScimOrg,
    assert_scim_error,
    patch_body,
    scim_org,
    start_server,
    user_body,
)
from tests.sandbox.test_scim_properties import FILTERS, JSONV

SCALE = float(os.environ.get("FUZZ_EXAMPLES", "1"))
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def fuzz(n: int) -> Any:
    return settings(max_examples=max(1, int(n * SCALE)), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


# ---------------------------------------------------------------- a varied org

PEOPLE = [
    ("Jane.Doe@Contoso.com", "jdoe", "Jane Doe", [("jane@contoso.com", "work"), ("jd@home.example", "home")]),
    ("jane.doe@contoso.com.au", "JDOE", "JANE DOE", [("jane@contoso.com.au", "work")]),
    ("Éloïse@contoso.com", "e1", "Éloïse Ünal", [("Éloïse@contoso.com", "work")]),
    ("E\u0301loi\u0308se@fabrikam.com", "e2", "E\u0301loi\u0308se", [("eloise@fabrikam.com", "work")]),
    ("STRASSE@contoso.com", "s1", "Straße", [("strasse@contoso.com", "work")]),
    ("ıİ@contoso.com", "i1", "İlker", [("ilker@contoso.com", "other")]),
    ("noemail@contoso.com", "n1", "No Mail", []),
    ("quote\"d@contoso.com", "q1", 'Quote "Q"', [("q@contoso.com", "work")]),
]
USER_NAMES = [p[0] for p in PEOPLE]


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    srv = start_server(tmp_path_factory.mktemp("fuzz"))
    yield srv
    srv.stop()


@pytest.fixture(scope="module")
def people(server: Any) -> Iterator[ScimOrg]:
    """The curated org the filter tests read (never written to, so the oracle sees few users)."""
    o = scim_org(server)
    for n, (user_name, external_id, display, emails) in enumerate(PEOPLE):
        body = user_body(user_name, external_id=external_id, active=n % 3 != 0, displayName=display)
        body["emails"] = [{"value": v, "type": t, "primary": i == 0} for i, (v, t) in enumerate(emails)]
        if n == 1:
            body[ENTERPRISE] = {"manager": {"value": "mgr-1"}, "department": "Sales"}
        r = o.client.post("/Users", json=body)
        assert r.status_code == 201, r.text
    yield o
    o.close()


@pytest.fixture(scope="module")
def org(server: Any) -> Iterator[ScimOrg]:
    """The scratch org the write fuzzers create their users and groups in."""
    o = scim_org(server)
    yield o
    o.close()


def everyone(org: ScimOrg) -> list[dict[str, Any]]:
    r = org.client.get("/Users", params={"count": 1000})
    assert r.status_code == 200
    return r.json()["Resources"]


def assert_user_is_valid(resource: dict[str, Any]) -> None:
    # Entra's custom extensions (entra-facts §1.6) are objects kept as sent; scim2-models knows the rest.
    custom = {k for k in resource if k.startswith("urn:") and k != ENTERPRISE}
    assert all(isinstance(resource[k], dict) for k in custom)
    known = {k: v for k, v in resource.items() if k not in custom}
    known["schemas"] = [u for u in resource["schemas"] if u not in custom]
    User[EnterpriseUser].model_validate(known, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert isinstance(resource["userName"], str)
    assert resource["userName"].strip()
    assert isinstance(resource.get("active", True), bool)
    emails = resource.get("emails", [])
    assert all(isinstance(e.get("value"), str) for e in emails)
    assert sum(1 for e in emails if e.get("primary") is True) <= 1
    types = [e["type"].lower() for e in emails if isinstance(e.get("type"), str)]
    assert len(types) == len(set(types)), f"two emails of one type: {emails}"
    assert not any(k.startswith("__") for k in resource)  # internal markers never leak


# ---------------------------------------------------------------- filters

WORDS = st.sampled_from(
    ["Jane.Doe@Contoso.com", "jane.doe@contoso.com", "JANE DOE", "jdoe", "JDOE", "Éloïse@contoso.com",
     "e\u0301loi\u0308se@fabrikam.com", "ÉLOÏSE ÜNAL", "strasse@contoso.com", "STRAßE", "straße", "İlker",
     "ilker", "work", "home", "contoso", "@", "", "mgr-1", "Sales", "true", "False"]
)
ATTRS = st.sampled_from(
    ["userName", "username", "externalId", "displayName", "emails", "emails.value", "emails.type",
     "active", "id", "name.givenName", "title", f"{ENTERPRISE}:manager", f"{ENTERPRISE}:department",
     "urn:ietf:params:scim:schemas:core:2.0:User:userName", "meta.created", "emails.primary"]
)
OPS = st.sampled_from(["eq", "ne", "co", "sw", "ew", "gt", "ge", "lt", "le", "Eq", "pr"])
LITERAL = st.one_of(
    WORDS.map(lambda w: '"' + w.replace("\\", "\\\\").replace('"', '\\"') + '"'),
    st.sampled_from(["true", "false", "null", "1", "2.5", "-3", "jdoe", '"2026-01-01T00:00:00Z"']),
)
TERM = st.builds(lambda a, o, v: f"{a} pr" if o == "pr" else f"{a} {o} {v}", ATTRS, OPS, LITERAL)
VALUE_PATH = st.builds(
    lambda t, v, o: f'emails[type {o} "{t}" and value {o} {v}]', st.sampled_from(["work", "home", "WORK"]),
    LITERAL, st.sampled_from(["eq", "co", "sw", "ne"]))
ENTRA_SUBSET = st.one_of(
    st.builds(lambda a, v: f'{a} eq {v}', st.sampled_from(["userName", "externalId", "displayName",
                                                           "id", "active", f"{ENTERPRISE}:manager"]),
              LITERAL),
    st.builds(lambda v: f'emails[type eq "work"].value eq {v}', LITERAL),
    st.builds(lambda v: f'emails[type eq "work" and value eq {v}]', LITERAL),
    st.builds(lambda v: f'emails eq {v}', LITERAL),
)
RICH = st.recursive(
    st.one_of(TERM, VALUE_PATH, ENTRA_SUBSET),
    lambda inner: st.one_of(
        st.builds(lambda a, b, j: f"{a} {j} {b}", inner, inner, st.sampled_from(["and", "or", "AND", "Or"])),
        st.builds(lambda a: f"not ({a})", inner),
        st.builds(lambda a: f"({a})", inner),
    ),
    max_leaves=5,
)
GARBAGE = st.one_of(
    st.text(max_size=60),
    st.text(alphabet='[]()"\\ eqandornotpr.:$', max_size=40),
    st.builds(lambda a, cut: a[:cut], RICH, st.integers(0, 60)),  # truncated valid filters
)
ANY_FILTER = st.one_of(ENTRA_SUBSET, RICH, FILTERS, GARBAGE)


def expected_ids(text: str, resources: list[dict[str, Any]]) -> set[str] | None:
    if not text:
        return {r["id"] for r in resources}  # an empty filter is no filter
    try:
        node = parse_filter(text)
    except ScimError:
        return None
    return {r["id"] for r in resources if resource_matches(node, r)}


@fuzz(250)
@given(text=ANY_FILTER)
def test_any_filter_lists_or_is_invalid_and_sql_agrees_with_python(people: ScimOrg, text: str) -> None:
    note(f"filter: {text!r}")
    r = people.client.get("/Users", params={"filter": text, "count": 1000})
    expected = expected_ids(text, everyone(people))
    if r.status_code == 400:
        assert assert_scim_error(r, 400)["scimType"] == "invalidFilter"
        assert expected is None, f"the server refused a filter its own parser accepts: {text!r}"
        return
    assert r.status_code == 200, (r.status_code, r.text)
    body = r.json()
    assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
    assert body["totalResults"] == len(body["Resources"])
    assert expected is not None
    assert {u["id"] for u in body["Resources"]} == expected, text


@fuzz(120)
@given(text=ANY_FILTER, kind=st.sampled_from(["Groups", "Users/.search", "Groups/.search", ".search"]))
def test_any_filter_on_groups_and_search_is_never_a_500(people: ScimOrg, text: str, kind: str) -> None:
    if kind.endswith(".search"):
        search = {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"], "filter": text}
        r = people.client.post(f"/{kind}", json=search)
    else:
        r = people.client.get(f"/{kind}", params={"filter": text, "excludedAttributes": "members"})
    if r.status_code != 200:
        assert assert_scim_error(r, 400)["scimType"] == "invalidFilter"


# ---------------------------------------------------------------- PATCH on users

PATHS = st.one_of(
    st.sampled_from([
        "active", "userName", "displayName", "externalId", "name", "name.givenName", "name.familyName",
        "emails", 'emails[type eq "work"].value', 'emails[type eq "work"]', 'emails[type eq "home"].value',
        'emails[type eq "work"].primary', 'emails[value co "@"]', "emails.value", "emails.type",
        "emails.primary", 'emails[primary eq true].type', "roles", 'roles[primary eq "True"].value',
        "phoneNumbers", 'phoneNumbers[type eq "mobile"].value', "title", "nickName", "id", "meta",
        "meta.created", "schemas", ENTERPRISE, f"{ENTERPRISE}:manager", f"{ENTERPRISE}:manager.value",
        f"{ENTERPRISE}:employeeNumber", "urn:ietf:params:scim:schemas:extension:Custom:2.0:User:badge",
        "urn:ietf:params:scim:schemas:core:2.0:User:displayName", "groups", "password", "x509Certificates",
        "emails[type eq work].value", "emails[", 'emails[type eq "work"].value.x', "name.givenName.x",
    ]),
    st.text(max_size=20),
)
EMAIL = st.fixed_dictionaries(
    {"value": st.one_of(st.sampled_from(["a@x.com", "B@X.com", "c@y.org"]), st.integers(), st.none())},
    optional={"type": st.sampled_from(["work", "home", "Work", "other", 3]),
              "primary": st.sampled_from([True, False, "True", "false", "yes", None])},
)
VALUES = st.one_of(
    JSONV,
    st.sampled_from(["True", "False", "true", "", "x@y.com", "mgr-2"]),
    EMAIL,
    st.lists(EMAIL, max_size=3),
    st.fixed_dictionaries({}, optional={
        "displayName": st.text(max_size=5), "name.givenName": st.text(max_size=5),
        "active": st.sampled_from([True, "False", "maybe"]),
        'emails[type eq "work"].value': st.sampled_from(["w@x.com", ""]),
        f"{ENTERPRISE}:employeeNumber": st.sampled_from(["42", 42]),
        ENTERPRISE: st.fixed_dictionaries({}, optional={"department": st.text(max_size=3),
                                                        "manager": st.sampled_from(["m", {"value": ""}])}),
        "emails": st.lists(EMAIL, max_size=2), "userName": st.sampled_from(["", "new@x.com", 5]),
    }),
)
OPERATION = st.fixed_dictionaries(
    {"op": st.sampled_from(["add", "Add", "replace", "Replace", "remove", "Remove", "REPLACE"])},
    optional={"path": st.one_of(PATHS, st.none()), "value": VALUES},
)
PATCH_BODIES = st.one_of(
    st.lists(OPERATION, min_size=1, max_size=4).map(lambda ops: patch_body(*ops)),
    st.fixed_dictionaries({"Operations": st.lists(OPERATION, max_size=2)},
                          optional={"schemas": st.one_of(st.lists(st.text(max_size=5), max_size=2), JSONV)}),
    JSONV,
)


def new_user(org: ScimOrg, **extra: Any) -> dict[str, Any]:
    name = f"fz-{uuid.uuid4().hex[:10]}@example.com"
    body = user_body(name, external_id=uuid.uuid4().hex, email=name, **extra)
    r = org.client.post("/Users", json=body)
    assert r.status_code == 201, r.text
    return r.json()


@fuzz(250)
@given(body=PATCH_BODIES)
def test_any_user_patch_is_ok_or_a_scim_4xx_and_the_user_stays_valid(org: ScimOrg, body: Any) -> None:
    note(f"PATCH body: {body!r}")
    user = new_user(org, displayName="Before", **{ENTERPRISE: {"manager": {"value": "m0"}}})
    r = org.client.patch(f"/Users/{user['id']}", json=body)
    if r.status_code == 200:
        assert_user_is_valid(r.json())
    else:
        assert_scim_error(r, 400, 409)
    stored = org.client.get(f"/Users/{user['id']}")
    assert stored.status_code == 200
    assert_user_is_valid(stored.json())
    if r.status_code == 200:
        assert {k: v for k, v in r.json().items() if k != "meta"} == \
            {k: v for k, v in stored.json().items() if k != "meta"}
    else:  # atomic: a refused PATCH changes nothing
        assert {k: v for k, v in stored.json().items() if k != "meta"} == \
            {k: v for k, v in user.items() if k != "meta"}


# ---------------------------------------------------------------- POST / PUT bodies

USER_DOCS = st.one_of(
    JSONV,
    st.fixed_dictionaries(
        {"userName": st.one_of(st.sampled_from(["", "  ", "ok@x.com"]), st.text(max_size=8), st.integers())},
        optional={"active": st.sampled_from([True, False, "True", "no", 1, None]),
                  "emails": st.one_of(st.lists(EMAIL, max_size=3), JSONV),
                  "externalId": st.one_of(st.text(max_size=5), st.integers()),
                  "name": st.one_of(JSONV, st.fixed_dictionaries({}, optional={"givenName": JSONV})),
                  "displayName": JSONV, ENTERPRISE: JSONV, "schemas": JSONV, "meta": JSONV, "id": JSONV,
                  "roles": JSONV, "groups": JSONV},
    ),
)


def _unique(doc: Any) -> Any:
    if isinstance(doc, dict) and isinstance(doc.get("userName"), str) and doc["userName"].strip():
        return {**doc, "userName": f"{uuid.uuid4().hex[:6]}-{doc['userName']}"}
    return doc


@fuzz(200)
@given(doc=USER_DOCS, method=st.sampled_from(["POST", "PUT"]))
def test_any_user_document_on_post_or_put_is_ok_or_a_scim_4xx(org: ScimOrg, doc: Any, method: str) -> None:
    doc = _unique(doc)
    note(f"{method} body: {doc!r}")
    if method == "POST":
        r = org.client.post("/Users", json=doc)
        ok = 201
    else:
        target = new_user(org)
        r = org.client.put(f"/Users/{target['id']}", json=doc)
        ok = 200
    if r.status_code == ok:
        assert_user_is_valid(r.json())
        stored = org.client.get(f"/Users/{r.json()['id']}")
        assert_user_is_valid(stored.json())
    else:
        assert_scim_error(r, 400, 409)


@fuzz(100)
@given(raw=st.one_of(st.binary(max_size=40), st.text(max_size=40).map(str.encode)),
       route=st.sampled_from(["POST /Users", "PATCH /Users/{id}", "PUT /Users/{id}", "POST /Groups",
                              "PATCH /Groups/{gid}", "POST /Users/.search"]))
def test_raw_bytes_bodies_never_crash(org: ScimOrg, raw: bytes, route: str) -> None:
    method, path = route.split(" ")
    note(f"{route} body: {raw!r}")
    user = new_user(org)
    path = path.format(id=user["id"], gid="missing-group")
    r = org.client.request(method, path, content=raw, headers={"Content-Type": "application/scim+json"})
    if r.status_code >= 300:
        assert_scim_error(r, 400, 404, 409)


# ---------------------------------------------------------------- PATCH on groups

MEMBER_PATHS = st.one_of(
    st.sampled_from(["members", 'members[value eq "{uid}"]', 'members[value eq "nobody"]', "displayName",
                     "externalId", "members.value", 'members[display eq "x"]', "id", "meta"]),
    st.text(max_size=12),
)


@st.composite
def group_patch(draw: st.DrawFn) -> dict[str, Any]:
    ops = []
    for _ in range(draw(st.integers(1, 3))):
        path = draw(st.one_of(MEMBER_PATHS, st.none()))
        value = draw(st.one_of(
            st.lists(st.fixed_dictionaries({"value": st.sampled_from(["{uid}", "nobody", "", 5])},
                                           optional={"$ref": st.none(), "display": st.text(max_size=4)}),
                     max_size=3),
            st.sampled_from(["{uid}", "New name", "", None]),
            st.fixed_dictionaries({}, optional={"displayName": st.sampled_from(["G2", "", 7]),
                                                "members": st.lists(st.fixed_dictionaries(
                                                    {"value": st.just("{uid}")}), max_size=2)}),
            JSONV,
        ))
        op = {"op": draw(st.sampled_from(["Add", "Remove", "Replace", "add", "remove"]))}
        if path is not None:
            op["path"] = path
        if draw(st.booleans()):
            op["value"] = value
        ops.append(op)
    return patch_body(*ops)


def _fill(value: Any, uid: str) -> Any:
    if isinstance(value, str):
        return value.replace("{uid}", uid)
    if isinstance(value, list):
        return [_fill(v, uid) for v in value]
    if isinstance(value, dict):
        return {k: _fill(v, uid) for k, v in value.items()}
    return value


@fuzz(200)
@given(body=group_patch())
def test_any_group_patch_is_204_or_a_scim_4xx_and_members_stay_real(org: ScimOrg, body: dict) -> None:
    user = new_user(org)
    g = org.client.post("/Groups", json={"displayName": f"G-{uuid.uuid4().hex[:8]}",
                                         "members": [{"value": user["id"]}]})
    assert g.status_code == 201, g.text
    before = g.json()
    note(f"PATCH body: {_fill(body, user['id'])!r}")
    r = org.client.patch(f"/Groups/{before['id']}", json=_fill(body, user["id"]))
    if r.status_code != 204:
        assert_scim_error(r, 400, 409)
    stored = org.client.get(f"/Groups/{before['id']}")
    assert stored.status_code == 200
    group = stored.json()
    Group.model_validate(group, scim_ctx=Context.RESOURCE_QUERY_RESPONSE)
    assert isinstance(group["displayName"], str)
    assert group["displayName"].strip()
    assert {m["value"] for m in group.get("members", [])} <= {user["id"]}
    if r.status_code != 204:
        assert {k: v for k, v in group.items() if k != "meta"} == \
            {k: v for k, v in before.items() if k != "meta"}


# ---------------------------------------------------------------- the SQL subset, exhaustively


def _variants(value: str) -> set[str]:
    return {value, value.upper(), value.lower(), value.casefold(), unicodedata.normalize("NFD", value),
            unicodedata.normalize("NFC", value).upper(), value.swapcase()}


def _quoted(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def test_every_entra_filter_on_every_stored_value_agrees_with_the_python_evaluator(people: ScimOrg) -> None:
    """Entra's filters (eq on userName, externalId, displayName, emails, id, manager; entra-facts §1.3)
    run as SQL; each stored value, in several case and normalisation forms, must select exactly the
    users the RFC semantics (the Python evaluator) select."""
    resources = everyone(people)
    filters: set[str] = set()
    for r in resources:
        for attr, value in (("userName", r["userName"]), ("externalId", r.get("externalId")),
                            ("displayName", r.get("displayName")), ("id", r["id"])):
            for v in _variants(value) if isinstance(value, str) else ():
                filters.add(f"{attr} eq {_quoted(v)}")
        for e in r.get("emails", []):
            for v in _variants(e["value"]):
                filters.add(f'emails[type eq "work"].value eq {_quoted(v)}')
                filters.add(f"emails eq {_quoted(v)}")
                filters.add(f"userName eq {_quoted(r['userName'])} and emails.value eq {_quoted(v)}")
    for v in _variants("mgr-1"):
        filters.add(f"{ENTERPRISE}:manager eq {_quoted(v)}")
        filters.add(f"manager eq {_quoted(v)}")  # unqualified, as Entra's manager check sends it
        filters.add(f"id eq {_quoted(resources[1]['id'])} and {ENTERPRISE}:manager eq {_quoted(v)}")
    mismatches = []
    for text in sorted(filters):
        r = people.client.get("/Users", params={"filter": text, "count": 1000})
        assert r.status_code == 200, (text, r.text)
        got = {u["id"] for u in r.json()["Resources"]}
        if got != expected_ids(text, resources):
            mismatches.append(text)
    assert len(filters) > 100
    assert mismatches == [], "\n".join(mismatches)


# ---------------------------------------------------------------- regressions found by the fuzzers


@pytest.mark.parametrize(
    ("body", "detail"),
    [
        (patch_body({"op": "add", "value": {"value": "a@x.com"}}), "value: Extra inputs are not permitted"),
        (patch_body({"op": "add", "path": "roles", "value": False}), "roles"),
        (patch_body({"op": "add", "path": "emails", "value": [{"value": "second@x.com", "type": "work"}]}),
         "emails: more than one value of type 'work'"),
        (patch_body({"op": "replace", "path": 'emails[type eq "work"].value', "value": "not-an-email"}),
         "emails[0].value: value is not a valid email address"),
        (patch_body({"op": "replace", "path": "title", "value": 5}), "title: Input should be a valid string"),
        (patch_body({"op": "add", "path": "urn:ietf:params:scim:schemas:extension:Custom:2.0:User",
                     "value": 5}), "must be an object"),
    ],
)
def test_patch_that_would_store_an_unreadable_user_is_refused(org: ScimOrg, body: Any, detail: str) -> None:
    user = new_user(org)
    r = org.client.patch(f"/Users/{user['id']}", json=body)
    error = assert_scim_error(r, 400)
    assert error["scimType"] == "invalidValue"
    assert detail in error["detail"]
    assert {k: v for k, v in org.client.get(f"/Users/{user['id']}").json().items() if k != "meta"} == \
        {k: v for k, v in user.items() if k != "meta"}


def test_post_with_a_wrongly_typed_core_attribute_is_refused(org: ScimOrg) -> None:
    name = f"roles-{uuid.uuid4().hex[:6]}@example.com"
    r = org.client.post("/Users", json={"userName": name, "roles": False})
    assert assert_scim_error(r, 400)["scimType"] == "invalidValue"
    assert org.client.get("/Users", params={"filter": f'userName eq "{name}"'}).json()["totalResults"] == 0


def test_group_patch_adding_an_undefined_attribute_is_refused(org: ScimOrg) -> None:
    g = org.client.post("/Groups", json={"displayName": f"G-{uuid.uuid4().hex[:6]}"}).json()
    r = org.client.patch(f"/Groups/{g['id']}", json=patch_body({"op": "Add", "path": "A", "value": []}))
    assert "A: Extra inputs are not permitted" in assert_scim_error(r, 400)["detail"]
    assert "A" not in org.client.get(f"/Groups/{g['id']}").json()


def test_entra_custom_extension_attributes_are_still_stored_as_sent(org: ScimOrg) -> None:
    user = new_user(org)
    custom = "urn:ietf:params:scim:schemas:extension:Custom:2.0:User"
    r = org.client.patch(f"/Users/{user['id']}", json=patch_body(
        {"op": "Add", "path": f"{custom}:badge", "value": "B-7"},
        {"op": "Replace", "path": f"{ENTERPRISE}:employeeNumber", "value": "42"}))
    assert r.status_code == 200, r.text
    stored = org.client.get(f"/Users/{user['id']}").json()
    assert stored[custom] == {"badge": "B-7"}
    assert stored[ENTERPRISE]["employeeNumber"] == "42"


@pytest.mark.parametrize(
    ("text", "user_name"),
    [
        ('displayName eq "ÉLOÏSE ÜNAL"', "Éloïse@contoso.com"),    # SQLite lower() folds ASCII only
        ('displayName eq "Éloïse Ünal"', "Éloïse@contoso.com"),    # … so even the exact value missed
        ('displayName eq "strasse"', "STRASSE@contoso.com"),        # casefold: ß = ss
        # Python path: NFC too; the decomposed userName was stored in its NFC spelling (scim_door)
        ('userName co "ÉLOÏSE@FABRIKAM"', "\u00c9lo\u00efse@fabrikam.com"),
        (f'{ENTERPRISE}:manager eq "MGR-1"', "jane.doe@contoso.com.au"),
    ],
)
def test_filters_fold_case_and_normalisation_like_the_platform(
    people: ScimOrg, text: str, user_name: str
) -> None:
    r = people.client.get("/Users", params={"filter": text})
    assert r.status_code == 200, r.text
    assert [u["userName"] for u in r.json()["Resources"]] == [user_name]
