"""SCIM filters: Entra's subset translated to indexed SQL, everything else evaluated in Python.

Entra only sends ``eq`` and ``and`` (entra-facts §1.3) on ``userName``, ``externalId``, ``id``,
``displayName``, ``emails[type eq "work"].value``, ``active`` and ``manager``. Those become SQL
on the indexed key columns (``user_name_key`` / ``user_emails.value_key`` hold the NFC+casefold
form, so matching is case-insensitive while values stay as sent) — the 50 000-user demo org must
answer a matching query in milliseconds. Any other valid filter is parsed by scim2-models and
evaluated against the rendered resources in Python, with a cap so a broad filter on a huge org is
refused with ``tooMany`` instead of scanning forever. Both paths compare strings the same way
(NFC + casefold, entra-facts §3.4 rule 8; ``id`` and ``externalId`` case-exact). ``displayName``
and ``manager`` have no key column and SQLite's ``lower()`` only folds ASCII, so their SQL term is
a superset (exact for ASCII values, every non-ASCII value a candidate) that the Python evaluator
then narrows (``SqlFilter.exact`` False).
"""

from __future__ import annotations

import re
from typing import Any, NamedTuple

from scim2_models import InvalidFilterException
from scim2_models.path.expressions import (
    AttrPath,
    CompareOperator,
    Comparison,
    FilterNode,
    LogicalExpr,
    LogicalOperator,
    Not,
    Present,
    ValuePath,
)
from scim2_models.path.grammar import _parse_filter
from sqlalchemy import ColumnElement, and_, func, or_, select
from sqlalchemy.sql import Select

from console.sandbox.db import Group, User, UserEmail, fold
from console.sandbox.scim_patch import _compare, matches
from console.sandbox.scim_resources import ENTERPRISE_SCHEMA, ScimError, is_core_urn

MAX_FILTER_LENGTH = 2000
PYTHON_SCAN_LIMIT = 20_000  # resources evaluated in Python for a filter SQL can't express

_NON_ASCII_GLOB = "*[^\x01-\x7f]*"  # SQLite GLOB: the value holds a character past ASCII


class SqlFilter(NamedTuple):
    """A filter as SQL; ``exact`` False: the rows are candidates, check them with ``resource_matches``."""

    stmt: Select[Any]
    exact: bool = True


_UNQUOTED_EQ = re.compile(r"^\s*([A-Za-z][\w.:$-]*)\s+(eq)\s+([^\s\"()\[\]]+)\s*$", re.IGNORECASE)
_LITERALS = {"true", "false", "null"}


def parse_filter(text: str) -> FilterNode:
    """Parse a filter; 400 ``invalidFilter`` when it is not valid SCIM.

    Tolerates the tutorial's unquoted ``externalId eq jyoung`` (entra-facts §1.4).
    """
    if len(text) > MAX_FILTER_LENGTH:
        raise ScimError(400, "invalidFilter", "filter is too long")
    try:
        return _parse_filter(text)
    except InvalidFilterException as exc:
        match = _UNQUOTED_EQ.match(text)
        value = match.group(3) if match else None
        if value is not None and value.lower() not in _LITERALS and not _is_number(value):
            try:
                return _parse_filter(f'{match.group(1)} eq "{value}"')  # type: ignore[union-attr]
            except InvalidFilterException:
                pass
        raise ScimError(400, "invalidFilter", f"invalid filter: {exc}") from None
    except RecursionError:
        raise ScimError(400, "invalidFilter", "filter nests too deeply") from None


def _is_number(value: str) -> bool:
    try:
        float(value)
    except ValueError:
        return False
    return True


def _eq_terms(node: FilterNode) -> list[FilterNode] | None:
    if isinstance(node, LogicalExpr):
        if node.op != LogicalOperator.and_:
            return None
        out: list[FilterNode] = []
        for term in node.terms:
            sub = _eq_terms(term)
            if sub is None:
                return None
            out.extend(sub)
        return out
    if isinstance(node, (Comparison, ValuePath)):
        return [node]
    return None


def _attr_name(path: AttrPath) -> str | None:
    if path.uri is None or is_core_urn(path.uri):
        return path.attr.lower()
    if path.uri.lower() == ENTERPRISE_SCHEMA.lower() and path.attr.lower() == "manager":
        return "manager"
    return None


def _user_condition(org_id: str, node: FilterNode) -> tuple[ColumnElement[bool], bool] | None:
    """SQL for one Entra-subset term and whether it is exact, or None when SQL can't express it."""
    cond = _exact_user_condition(org_id, node)
    if cond is not None:
        return cond, True
    if not (isinstance(node, Comparison) and node.op == CompareOperator.eq and isinstance(node.value, str)):
        return None
    name, sub = _attr_name(node.attr_path), (node.attr_path.sub_attr or "").lower()
    if name == "displayname" and not sub:
        column: Any = User.display_name
    elif name == "manager" and sub in ("", "value"):
        column = func.json_extract(User.scim_json, f'$."{ENTERPRISE_SCHEMA}".manager.value')
    else:
        return None
    # Exact for ASCII values (lower() == casefold there); any non-ASCII value is only a candidate.
    return or_(func.lower(column) == fold(node.value), column.op("GLOB")(_NON_ASCII_GLOB)), False


def _exact_user_condition(org_id: str, node: FilterNode) -> ColumnElement[bool] | None:
    if isinstance(node, ValuePath):
        if node.attr_path.attr.lower() != "emails" or node.sub_attr is not None:
            return None
        terms = _eq_terms(node.val_filter)
        if not terms:
            return None
        conds: list[ColumnElement[bool]] = [UserEmail.org_id == org_id]
        for term in terms:
            if not isinstance(term, Comparison) or term.op != CompareOperator.eq or not isinstance(
                term.value, str
            ):
                return None
            sub = term.attr_path.attr.lower()
            if sub == "value":
                conds.append(UserEmail.value_key == fold(term.value))
            elif sub == "type":
                conds.append(func.lower(UserEmail.type) == term.value.lower())
            else:
                return None
        # IN (uncorrelated) so SQLite drives the lookup from ix_user_emails_org_value_key.
        return User.id.in_(select(UserEmail.user_id).where(*conds))
    if not isinstance(node, Comparison) or node.op != CompareOperator.eq:
        return None
    name = _attr_name(node.attr_path)
    sub = (node.attr_path.sub_attr or "").lower()
    value = node.value
    if name == "active" and not sub:
        if isinstance(value, str):
            if value.lower() not in ("true", "false"):
                return None
            value = value.lower() == "true"
        return User.active.is_(value) if isinstance(value, bool) else None
    if not isinstance(value, str):
        return None
    if name == "username" and not sub:
        return User.user_name_key == fold(value)
    if name == "externalid" and not sub:
        return User.external_id == value  # caseExact (RFC 7643 §3.1)
    if name == "id" and not sub:
        return User.scim_id == value
    if name == "emails" and sub in ("", "value"):
        return User.id.in_(
            select(UserEmail.user_id).where(UserEmail.org_id == org_id, UserEmail.value_key == fold(value))
        )
    return None


def user_sql(org_id: str, node: FilterNode | None) -> SqlFilter | None:
    """``SELECT users`` for the filter when it is in the SQL subset (None filter = all users)."""
    stmt = select(User).where(User.org_id == org_id)
    if node is None:
        return SqlFilter(stmt)
    terms = _eq_terms(node)
    if not terms:
        return None
    conds = []
    exact = True
    for term in terms:
        found = _user_condition(org_id, term)
        if found is None:
            return None
        conds.append(found[0])
        exact = exact and found[1]
    return SqlFilter(stmt.where(and_(*conds)), exact)


def group_sql(org_id: str, node: FilterNode | None) -> Select[Any] | None:
    stmt = select(Group).where(Group.org_id == org_id)
    if node is None:
        return stmt
    terms = _eq_terms(node)
    if not terms:
        return None
    for term in terms:
        if not isinstance(term, Comparison) or term.op != CompareOperator.eq or not isinstance(
            term.value, str
        ) or term.attr_path.sub_attr or (term.attr_path.uri and not is_core_urn(term.attr_path.uri)):
            return None
        name = term.attr_path.attr.lower()
        if name == "displayname":
            stmt = stmt.where(Group.display_name_key == fold(term.value))
        elif name == "externalid":
            stmt = stmt.where(Group.external_id == term.value)
        elif name == "id":
            stmt = stmt.where(Group.id == term.value)
        else:
            return None
    return stmt


def _lookup(resource: dict[str, Any], path: AttrPath) -> Any:
    container: Any = resource
    uri = path.uri
    if uri is None and not any(k.lower() == path.attr.lower() for k in resource):
        uri = ENTERPRISE_SCHEMA  # Entra's unqualified ``manager eq "…"`` (entra-facts §1.4), as in SQL
    if uri is not None and not is_core_urn(uri):
        key = next((k for k in resource if k.lower() == uri.lower()), None)
        container = resource.get(key) if key else None
        if not isinstance(container, dict):
            return None
    key = next((k for k in container if k.lower() == path.attr.lower()), None)
    value = container.get(key) if key else None
    if path.sub_attr is None:
        return value
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        if isinstance(item, dict):
            sub = next((k for k in item if k.lower() == path.sub_attr.lower()), None)
            if sub is not None:
                out.append(item[sub])
    return out


_CASE_EXACT = {"id", "externalid"}


def resource_matches(node: FilterNode, resource: dict[str, Any]) -> bool:
    """Evaluate a filter on a rendered resource (RFC 7644 §3.4.2.2 semantics, case-insensitive
    strings except caseExact ``id``/``externalId``; multi-valued = any value matches)."""
    if isinstance(node, LogicalExpr):
        results = (resource_matches(t, resource) for t in node.terms)
        return all(results) if node.op == LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not resource_matches(node.expr, resource)
    if isinstance(node, Present):
        value = _lookup(resource, node.attr_path)
        return value not in (None, "", [], {})
    if isinstance(node, ValuePath):
        value = _lookup(resource, node.attr_path)
        items = value if isinstance(value, list) else [value]
        return any(matches(node.val_filter, item) for item in items if item is not None)
    if isinstance(node, Comparison):
        value = _lookup(resource, node.attr_path)
        if isinstance(value, dict) and "value" in value:
            value = value["value"]
        values = value if isinstance(value, list) else [value]
        values = [v.get("value") if isinstance(v, dict) else v for v in values] or [None]
        exact = node.attr_path.attr.lower() in _CASE_EXACT and node.attr_path.sub_attr is None
        for item in values:
            if exact and isinstance(item, str) and isinstance(node.value, str):
                if node.op == CompareOperator.eq and item == node.value:
                    return True
                if node.op == CompareOperator.ne and item != node.value:
                    return True
                ordered = node.op not in (CompareOperator.eq, CompareOperator.ne)
                if ordered and _compare(item, node.op, node.value):
                    return True
            elif _compare(item, node.op, node.value):
                return True
        return False
    return False
