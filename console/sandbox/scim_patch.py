"""SCIM PATCH (RFC 7644 §3.5.2) with the Microsoft Entra tolerances, applied to a JSON document.

Paths are parsed by scim2-models' grammar (it already accepts Entra's
``emails[type eq "work"].value`` and case-insensitive ``op``). The operations are applied to the
plain stored document rather than to a scim2-models ``User`` because that model rewrites values
(see ``scim_resources``) and has no tolerance for several things Entra really sends. The semantics
match ``ScimPolicy(remove_value_as_filter=apply, unmatched_path_filter=create)`` plus what that
policy lacks (entra-facts §0, §1.5, §1.6, §1.9):

* ``op`` in any case (``Add``/``Replace``/``Remove``);
* string booleans ``"True"``/``"False"`` (any case) for ``active`` and ``primary``, anything
  else → 400 ``invalidValue``;
* pathless ``replace``/``add`` whose keys are attribute paths, dotted (``name.givenName``) or
  URN-qualified (``urn:…:enterprise:2.0:User:employeeNumber``);
* extension URNs absent from ``schemas`` (custom extensions included);
* ``manager`` as a raw string id, and removal as ``""`` or ``{"value": ""}``;
* ``replace`` on ``emails[type eq "work"].value`` creating the entry when there is none;
* ``remove`` with a ``value`` removing only the matching entries.

Group membership is handled separately (``group_member_changes``) since members are DB rows.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Any

from scim2_models import InvalidFilterException, InvalidPathException
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
from scim2_models.path.grammar import _parse_path

from console.sandbox.db import fold
from console.sandbox.scim_resources import (
    ENTERPRISE_SCHEMA,
    PATCH_SCHEMA,
    ScimError,
    canonical,
    coerce_bool,
    is_core_urn,
    normalise_document,
    split_urn,
)

_OPS = ("add", "replace", "remove")
_READ_ONLY = {"id", "meta"}


@dataclass(frozen=True)
class Target:
    """Where an operation writes: container (None = root, else an extension URN), attribute, and
    either a sub-attribute or a value filter (+ sub-attribute past the filter)."""

    urn: str | None
    attr: str
    sub_attr: str | None = None
    val_filter: FilterNode | None = None


def parse_operations(body: Any) -> list[tuple[str, str | None, Any, bool]]:
    """Validate the PatchOp envelope; return (op, path, value, has_value) per operation."""
    if not isinstance(body, dict):
        raise ScimError(400, "invalidSyntax", "PATCH body must be a JSON object")
    schemas = body.get("schemas")
    if schemas is not None and (not isinstance(schemas, list) or PATCH_SCHEMA not in schemas):
        raise ScimError(400, "invalidSyntax", f"schemas must contain {PATCH_SCHEMA}")
    ops = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(ops, list) or not ops:
        raise ScimError(400, "invalidSyntax", "Operations must be a non-empty list")
    out = []
    for raw in ops:
        if not isinstance(raw, dict):
            raise ScimError(400, "invalidSyntax", "each operation must be an object")
        lowered = {k.lower(): v for k, v in raw.items()}
        op = lowered.get("op")
        if not isinstance(op, str) or op.lower() not in _OPS:
            raise ScimError(400, "invalidValue", f"{op!r} is not a PATCH operation: add, remove or replace")
        path = lowered.get("path")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, "invalidPath", "path must be a string")
        if path is not None and not path.strip():
            path = None
        out.append((op.lower(), path, lowered.get("value"), "value" in lowered))
    return out


def summarise(operations: list[tuple[str, str | None, Any, bool]]) -> str:
    """Short human summary for the provisioning log (attribute paths, never whole values)."""
    parts = []
    for op, path, value, _has in operations:
        if path is None and isinstance(value, dict):
            parts.append(f"{op} {{{', '.join(str(k) for k in value)}}}")
        elif path is not None and path.lower() == "active":
            parts.append(f"{op} active={value!r}")
        else:
            parts.append(f"{op} {path}")
    return "; ".join(parts)[:500]


def parse_target(path: str) -> Target:
    """Resolve a PATCH path, including extension URNs scim2-models would misread."""
    urn: str | None = None
    rest = path
    split = split_urn(path)
    if split is not None:
        urn, attr = split
        if attr is None:
            if is_core_urn(urn):
                raise ScimError(400, "invalidPath", f"'{path}' names a schema, not an attribute")
            return Target(None, urn)  # the whole extension object, e.g. add/remove enterprise data
        rest = attr
        if is_core_urn(urn):
            urn = None
    try:
        node = _parse_path(rest)
    except (InvalidPathException, InvalidFilterException) as exc:
        raise ScimError(400, "invalidPath", f"invalid path '{path}': {exc}") from None
    if isinstance(node, AttrPath):
        if node.uri is not None:
            raise ScimError(400, "invalidPath", f"invalid path '{path}'")
        return Target(urn, canonical(node.attr), node.sub_attr)
    if isinstance(node, ValuePath):
        return Target(urn, canonical(node.attr_path.attr), node.sub_attr, node.val_filter)
    raise ScimError(400, "invalidPath", f"invalid path '{path}'")


def _find_key(container: dict[str, Any], name: str) -> str | None:
    lname = name.lower()
    return next((k for k in container if k.lower() == lname), None)


def _container(doc: dict[str, Any], urn: str | None, create: bool) -> dict[str, Any] | None:
    if urn is None:
        return doc
    key = _find_key(doc, urn)
    if key is None:
        if not create:
            return None
        key = ENTERPRISE_SCHEMA if urn.lower() == ENTERPRISE_SCHEMA.lower() else urn
        doc[key] = {}
    value = doc[key]
    if not isinstance(value, dict):
        raise ScimError(400, "invalidValue", f"'{urn}' must be an object")
    return value


def _sub(entry: dict[str, Any], name: str) -> Any:
    key = _find_key(entry, name)
    return entry.get(key) if key is not None else None


def _fold(value: Any) -> Any:
    """NFC + casefold, as the platform compares userNames and emails (and the SQL filters do)."""
    return fold(value) if isinstance(value, str) else value


def matches(node: FilterNode, entry: Any) -> bool:
    """Evaluate a value filter against one entry of a multi-valued attribute (case-insensitive)."""
    if isinstance(node, LogicalExpr):
        results = (matches(t, entry) for t in node.terms)
        return all(results) if node.op == LogicalOperator.and_ else any(results)
    if isinstance(node, Not):
        return not matches(node.expr, entry)
    if not isinstance(entry, dict):
        if isinstance(node, Comparison) and node.attr_path.attr.lower() == "value":
            return _compare(entry, node.op, node.value)
        return False
    if isinstance(node, Present):
        value = _sub(entry, node.attr_path.attr)
        return value not in (None, "", [], {})
    if isinstance(node, Comparison):
        value = _sub(entry, node.attr_path.attr)
        if node.attr_path.sub_attr and isinstance(value, dict):
            value = _sub(value, node.attr_path.sub_attr)
        return _compare(value, node.op, node.value)
    if isinstance(node, ValuePath):
        inner = _sub(entry, node.attr_path.attr)
        items = inner if isinstance(inner, list) else [inner]
        return any(matches(node.val_filter, i) for i in items)
    return False


def _compare(actual: Any, op: CompareOperator, expected: Any) -> bool:
    if isinstance(expected, str) and isinstance(actual, bool):
        try:
            expected = coerce_bool(expected, "filter")
        except ScimError:
            return False
    a, e = _fold(actual), _fold(expected)
    if op == CompareOperator.eq:
        return a == e
    if op == CompareOperator.ne:
        return a != e
    if actual is None:
        return False
    if op in (CompareOperator.co, CompareOperator.sw, CompareOperator.ew):
        if not (isinstance(a, str) and isinstance(e, str)):
            return False
        return {CompareOperator.co: e in a, CompareOperator.sw: a.startswith(e),
                CompareOperator.ew: a.endswith(e)}[op]
    try:
        return {CompareOperator.gt: a > e, CompareOperator.ge: a >= e,
                CompareOperator.lt: a < e, CompareOperator.le: a <= e}[op]
    except TypeError:
        return False


def _described_entry(node: FilterNode) -> dict[str, Any] | None:
    """The entry an ``eq``/``and`` filter describes (``unmatched_path_filter=create``)."""
    terms = node.terms if isinstance(node, LogicalExpr) and node.op == LogicalOperator.and_ else (node,)
    out: dict[str, Any] = {}
    for term in terms:
        if not (isinstance(term, Comparison) and term.op == CompareOperator.eq
                and term.attr_path.sub_attr is None and term.attr_path.uri is None):
            return None
        out[term.attr_path.attr] = term.value
    return out


def _is_manager(target: Target) -> bool:
    return (target.urn is not None and target.urn.lower() == ENTERPRISE_SCHEMA.lower()
            and target.attr.lower() == "manager")


def _coerce_value(target: Target, value: Any) -> Any:
    name = (target.sub_attr or target.attr).lower()
    if name in ("active", "primary") and not isinstance(value, (dict, list)):
        return coerce_bool(value, target.sub_attr or target.attr)
    if isinstance(value, list):
        return [normalise_document(v) if isinstance(v, dict) else v for v in value]
    if isinstance(value, dict) and target.sub_attr is None:
        return normalise_document(value)
    return value


def apply_patch(doc: dict[str, Any], operations: list[tuple[str, str | None, Any, bool]]) -> dict[str, Any]:
    """Apply the operations to a copy of ``doc`` atomically; return the new document."""
    new = copy.deepcopy(doc)
    for op, path, value, has_value in operations:
        if path is None:
            if op == "remove":
                raise ScimError(400, "noTarget", "remove requires a path")
            if not isinstance(value, dict):
                raise ScimError(400, "invalidValue", f"{op} without a path needs an object value")
            for key, item in value.items():
                if key.lower() == "schemas" or item is None:
                    continue
                split = split_urn(key)
                if split is not None and split[1] is None and not is_core_urn(split[0]):
                    if not isinstance(item, dict):
                        raise ScimError(400, "invalidValue", f"'{key}' must be an object")
                    for sub_key, sub_item in item.items():
                        _apply_one(new, op, Target(split[0], canonical(sub_key)), sub_item, True)
                    continue
                _apply_one(new, op, parse_target(key), item, True)
            continue
        if op != "remove" and not has_value:
            raise ScimError(400, "invalidValue", f"value is required for {op}")
        _apply_one(new, op, parse_target(path), value, has_value)
    return new


def _apply_one(doc: dict[str, Any], op: str, target: Target, value: Any, has_value: bool) -> None:
    if target.urn is None and target.attr.lower() in _READ_ONLY:
        return  # readOnly: ignored (RFC 7643 §7 "SHALL be ignored" on input)
    if target.urn is None and target.attr == "userName" and op == "remove":
        raise ScimError(400, "mutability", "userName is required and cannot be removed")
    if _is_manager(target):
        op, value = _manager_op(op, target, value)
        if op == "remove":
            target = Target(target.urn, target.attr)
    if op != "remove" or value is not None:
        value = _coerce_value(target, value)

    container = _container(doc, target.urn, create=op != "remove")
    if container is None:
        return
    key = _find_key(container, target.attr) or target.attr
    current = container.get(key)

    if target.val_filter is not None:
        _apply_filtered(container, key, current, op, target, value)
        return

    if target.sub_attr is not None:
        if current is None:
            if op == "remove":
                return
            container[key] = current = {}
        if isinstance(current, list):  # emails.value etc.: applies to every entry
            for entry in current:
                if isinstance(entry, dict):
                    _set_or_remove(entry, target.sub_attr, op, value)
            return
        if not isinstance(current, dict):
            raise ScimError(400, "invalidPath", f"'{target.attr}' has no sub-attributes")
        _set_or_remove(current, target.sub_attr, op, value)
        if not current:
            container.pop(key, None)
        return

    if op == "remove":
        if has_value and value is not None and isinstance(current, list):
            wanted = value if isinstance(value, list) else [value]
            container[key] = [e for e in current if not any(_same_entry(e, w) for w in wanted)]
            if not container[key]:
                container.pop(key)
        else:
            container.pop(key, None)
        _drop_empty_extension(doc, target.urn)
        return

    if op == "add" and isinstance(current, list):
        items = value if isinstance(value, list) else [value]
        for item in items:
            if not any(_same_entry(e, item) for e in current):
                current.append(item)
        _settle_primary(current, items)
        return
    if op == "add" and isinstance(current, dict) and isinstance(value, dict):
        current.update(value)
        return
    if isinstance(value, list):
        _settle_primary(value, value)
    container[key] = value


def _manager_op(op: str, target: Target, value: Any) -> tuple[str, Any]:
    """Manager as Entra sends it: raw string id, ``{"value": id}``; ``""``/``{"value":""}`` = remove."""
    if target.sub_attr is not None and target.sub_attr.lower() == "value":
        if value in ("", None):
            return "remove", None
        return op, value
    if op == "remove":
        return op, None
    if isinstance(value, str):
        return ("remove", None) if value == "" else (op, {"value": value})
    if isinstance(value, dict):
        inner = _sub(value, "value")
        if inner in ("", None):
            return "remove", None
        return op, value
    raise ScimError(400, "invalidValue", "manager must be a string id or an object with 'value'")


def _set_or_remove(entry: dict[str, Any], sub_attr: str, op: str, value: Any) -> None:
    key = _find_key(entry, sub_attr) or sub_attr
    if op == "remove":
        entry.pop(key, None)
    else:
        entry[key] = value


def _apply_filtered(container: dict[str, Any], key: str, current: Any, op: str, target: Target,
                    value: Any) -> None:
    assert target.val_filter is not None
    entries = current if isinstance(current, list) else []
    matched = [e for e in entries if matches(target.val_filter, e)]
    if op == "remove":
        if target.sub_attr is None:
            remaining = [e for e in entries if not any(e is m for m in matched)]
            if remaining:
                container[key] = remaining
            else:
                container.pop(key, None)
        else:
            for entry in matched:
                if isinstance(entry, dict):
                    _set_or_remove(entry, target.sub_attr, "remove", None)
        return
    if not matched:
        described = _described_entry(target.val_filter)
        if described is None:
            raise ScimError(400, "noTarget", f"no value of '{target.attr}' matches the path filter")
        entry = dict(described)
        if target.sub_attr is not None:
            entry[target.sub_attr] = value
        elif isinstance(value, dict):
            entry.update(value)
        else:
            raise ScimError(400, "invalidValue", f"the value written to '{target.attr}[…]' must be an object")
        entries = [*list(entries), entry]
        container[key] = entries
        _settle_primary(entries, [entry])
        return
    for entry in matched:
        if not isinstance(entry, dict):
            continue
        if target.sub_attr is not None:
            _set_or_remove(entry, target.sub_attr, op, value)
        elif isinstance(value, dict):
            entry.update(value)
        else:
            raise ScimError(400, "invalidValue", f"the value written to '{target.attr}[…]' must be an object")
    _settle_primary(entries, matched)


def _same_entry(entry: Any, wanted: Any) -> bool:
    """Remove-with-value matching: by ``value`` sub-attribute when both have one, else equality."""
    if isinstance(entry, dict) and isinstance(wanted, dict):
        ev, wv = _sub(entry, "value"), _sub(wanted, "value")
        if ev is not None and wv is not None:
            return _fold(ev) == _fold(wv)
        return entry == wanted
    return _fold(entry) == _fold(wanted)


def _settle_primary(entries: list[Any], marked: list[Any]) -> None:
    """A value just marked primary unmarks the others (RFC 7644 §3.5.2)."""
    newly = [m for m in marked if isinstance(m, dict) and m.get("primary") is True]
    if len(newly) > 1:
        raise ScimError(400, "invalidValue", "multiple values marked as primary")
    if newly:
        for entry in entries:
            if isinstance(entry, dict) and entry is not newly[0] and entry.get("primary") is True:
                entry["primary"] = False


def _drop_empty_extension(doc: dict[str, Any], urn: str | None) -> None:
    if urn is None:
        return
    key = _find_key(doc, urn)
    if key is not None and doc[key] == {}:
        doc.pop(key)


@dataclass
class GroupChanges:
    """The effect of a Group PATCH: attribute writes, and member actions in request order
    (``("add"|"remove"|"replace", [scim ids])`` or ``("clear", [])``)."""

    attributes: dict[str, Any]
    removed_attributes: set[str]
    member_actions: list[tuple[str, list[str]]]
    displays: dict[str, str] = field(default_factory=dict)


def group_changes(operations: list[tuple[str, str | None, Any, bool]]) -> GroupChanges:
    """Translate Group PATCH operations (both Entra dialects and the validator's forms)."""
    changes = GroupChanges({}, set(), [])
    for op, path, value, has_value in operations:
        if path is None:
            if op == "remove":
                raise ScimError(400, "noTarget", "remove requires a path")
            if not isinstance(value, dict):
                raise ScimError(400, "invalidValue", f"{op} without a path needs an object value")
            for key, item in value.items():
                if key.lower() == "schemas":
                    continue
                if canonical(key) == "members":
                    _member_op(changes, op, None, item, True)
                else:
                    changes.attributes[canonical(key)] = item
            continue
        target = parse_target(path)
        if target.attr == "members":
            _member_op(changes, op, target, value, has_value)
        elif target.urn is None and target.attr.lower() in _READ_ONLY:
            continue
        elif op == "remove":
            if target.attr == "displayName":
                raise ScimError(400, "mutability", "displayName is required")
            changes.removed_attributes.add(target.attr)
        elif target.sub_attr is not None or target.val_filter is not None or target.urn is not None:
            raise ScimError(400, "invalidPath", f"unsupported group path '{path}'")
        else:
            changes.attributes[target.attr] = value
    return changes


def _member_values(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for item in items:
        member = _sub(item, "value") if isinstance(item, dict) else item
        if not isinstance(member, str) or not member:
            raise ScimError(400, "invalidValue", "each member needs a string 'value'")
        out.append(member)
    return out


def _member_op(changes: GroupChanges, op: str, target: Target | None, value: Any, has_value: bool) -> None:
    actions = changes.member_actions
    if target is not None and target.val_filter is not None:
        if op != "remove":
            raise ScimError(400, "invalidPath", "members[...] paths are only supported for remove")
        described = _described_entry(target.val_filter)
        if described is None or {k.lower() for k in described} != {"value"}:
            raise ScimError(400, "invalidFilter", 'members removal filter must be value eq "..."')
        actions.append(("remove", [str(next(iter(described.values())))]))
        return
    if op == "remove":
        if has_value and value is not None:
            actions.append(("remove", _member_values(value)))  # only these members (Entra default job)
        else:
            actions.append(("clear", []))
        return
    changes.displays.update(member_displays(value))
    if op == "replace":
        actions.append(("replace", _member_values(value) if value else []))
        return
    actions.append(("add", _member_values(value)))


def member_displays(value: Any) -> dict[str, str]:
    """``display`` values a client sent with members (echoed back as sent)."""
    items = value if isinstance(value, list) else [value]
    out = {}
    for item in items:
        if isinstance(item, dict):
            member, display = _sub(item, "value"), _sub(item, "display")
            if isinstance(member, str) and isinstance(display, str):
                out[member] = display
    return out
