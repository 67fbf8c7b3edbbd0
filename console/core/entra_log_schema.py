"""Field-name normalisation of provisioning-log records (entra-facts §2.1, pure).

Entra exports exist with two generations of names (``provisioningAction``/``provisioningStatusInfo``/
``errorInformation`` and the beta ``action``/``statusInfo``/``errorInfo``; ``initiatorType`` vs
``initiatingType``; ``servicePrincipal`` as an object or an array; step types in any case), and the
platform's own NDJSON export has a flat shape. The import engine reads ``INPUT_COLUMNS`` with an
explicit schema (fast, no auto-detect) and maps them with the same rules ``normalise`` implements
here in Python; tests check both agree.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

# The top-level keys the importer reads (everything else in a record is ignored, not an error).
# Nested objects stay JSON so both name generations inside them can be resolved afterwards.
INPUT_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "activityDateTime": "VARCHAR",
    "tenantId": "VARCHAR",
    "jobId": "VARCHAR",
    "cycleId": "VARCHAR",
    "changeId": "VARCHAR",
    "durationInMilliseconds": "JSON",
    "provisioningAction": "VARCHAR",
    "action": "VARCHAR",
    "provisioningStatusInfo": "JSON",
    "statusInfo": "JSON",
    "initiatedBy": "JSON",
    "servicePrincipal": "JSON",
    "sourceIdentity": "JSON",
    "targetIdentity": "JSON",
    "sourceSystem": "JSON",
    "targetSystem": "JSON",
    "provisioningSteps": "JSON",
    "modifiedProperties": "JSON",
    # the platform's own export (admin API /provisioning-log/export)
    "ts": "VARCHAR",
    "method": "VARCHAR",
    "path": "VARCHAR",
    "op": "VARCHAR",
    "op_summary": "VARCHAR",
    "status": "JSON",
    "outcome": "VARCHAR",
    "latency_ms": "JSON",
    "user_id": "VARCHAR",
    "scim_id": "VARCHAR",
    "user_name": "VARCHAR",
    "external_id": "VARCHAR",
    "error_code": "VARCHAR",
    "error_detail": "VARCHAR",
}

# The fast path for big JSON arrays reads only what the table shows, filters and searches, typed, so
# DuckDB never re-serialises nested JSON (measured: the nested objects are most of a record's cost).
# The UPN sits in the open ``details`` dictionary whose key case varies between exports; struct
# fields match case-sensitively, so the importer picks the spelling the file's first records use.
_ERR2 = "STRUCT(errorCode VARCHAR, reason VARCHAR)"
# A beta record may carry ``errorCode``/``reason`` flat in ``statusInfo`` (docs/log-formats.md §3).
_INFO2 = (
    f"STRUCT(status VARCHAR, errorInformation {_ERR2}, errorInfo {_ERR2}, errorCode VARCHAR, reason VARCHAR)"
)
UPN_KEYS = ("UserPrincipalName", "userPrincipalName")


def typed_columns(upn_key: str = "UserPrincipalName") -> dict[str, str]:
    """Stage-1 schema of an Entra JSON array (both name generations; absent keys cost nothing)."""
    if upn_key not in UPN_KEYS:
        raise ValueError(upn_key)
    return {
        "id": "VARCHAR",
        "activityDateTime": "TIMESTAMPTZ",
        "jobId": "VARCHAR",
        "cycleId": "VARCHAR",
        "changeId": "VARCHAR",
        "durationInMilliseconds": "DOUBLE",
        "provisioningAction": "VARCHAR",
        "action": "VARCHAR",
        "provisioningStatusInfo": _INFO2,
        "statusInfo": _INFO2,
        "sourceIdentity": f"STRUCT(id VARCHAR, displayName VARCHAR, details STRUCT({upn_key} VARCHAR))",
        "targetIdentity": "STRUCT(id VARCHAR)",
        "modifiedProperties": "JSON",
    }


# Stage 2 of the fast path: the nested objects only the details pane needs, as JSON text.
STAGE2_COLUMNS: dict[str, str] = {
    "id": "VARCHAR",
    "tenantId": "VARCHAR",
    "provisioningStatusInfo": "JSON",
    "statusInfo": "JSON",
    "initiatedBy": "JSON",
    "servicePrincipal": "JSON",
    "sourceIdentity": "JSON",
    "targetIdentity": "JSON",
    "sourceSystem": "JSON",
    "targetSystem": "JSON",
    "provisioningSteps": "JSON",
}

# The normalised event columns (order = the ``events`` view's column order).
EVENT_COLUMNS = (
    "seq",
    "event_id",
    "time",
    "action",
    "status",
    "error_code",
    "error_reason",
    "source_id",
    "source_upn",
    "source_name",
    "target_id",
    "job_id",
    "cycle_id",
    "change_id",
    "duration_ms",
    "http_status",
    "initiator_type",
    "service_principal",
    "modified_properties",
    "steps",
    "raw",
    "source_file",
    "search",
)

STATUSES = ("success", "failure", "skipped", "warning")
ACTIONS = ("create", "update", "delete", "disable", "stageddelete", "other")


def first(*values: Any) -> Any:
    """The first value that is not None (SQL ``coalesce``)."""
    return next((v for v in values if v is not None), None)


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def norm_action(value: Any) -> str | None:
    """``"Create user"`` (beta free text) and ``"create"`` both become ``"create"``."""
    if not isinstance(value, str) or not value.strip():
        return None
    word = value.strip().split()[0].lower()
    return word


def step_type(value: Any) -> str:
    """``"Import"``/``"import"``/``"IMPORT"`` → ``"import"`` (``referenceResolution`` keeps no case)."""
    return str(value or "").lower()


def service_principal(value: Any) -> Mapping[str, Any]:
    """The docs call it a collection, the examples an object: accept both."""
    if isinstance(value, list):
        value = value[0] if value else {}
    return _obj(value)


def is_platform_record(rec: Mapping[str, Any]) -> bool:
    return "method" in rec and "provisioningSteps" not in rec


def normalise(rec: Mapping[str, Any]) -> dict[str, Any]:
    """One record (either generation, or the platform's export) → the normalised event fields."""
    if is_platform_record(rec):
        status = rec.get("status")
        return {
            "event_id": None if rec.get("id") is None else str(rec.get("id")),
            "time": rec.get("ts"),
            "action": norm_action(rec.get("op") or rec.get("method")),
            "status": rec.get("outcome"),
            "error_code": rec.get("error_code"),
            "error_reason": rec.get("error_detail"),
            "source_id": rec.get("user_id"),
            "source_upn": rec.get("user_name"),
            "source_name": rec.get("user_name"),
            "target_id": rec.get("scim_id"),
            "job_id": None,
            "cycle_id": None,
            "change_id": None,
            "duration_ms": None if rec.get("latency_ms") is None else float(rec["latency_ms"]),
            "http_status": status if isinstance(status, int) else None,
            "initiator_type": None,
            "service_principal": None,
            "modified_properties": None,
            "steps": None,
        }
    # The first name *present* wins (SQL ``coalesce``): an empty string is a value, not a fallback.
    info = _obj(first(rec.get("provisioningStatusInfo"), rec.get("statusInfo")))
    err_new, err_old = _obj(info.get("errorInformation")), _obj(info.get("errorInfo"))
    src = _obj(rec.get("sourceIdentity"))
    details = _obj(src.get("details"))
    tgt = _obj(rec.get("targetIdentity"))
    init = _obj(rec.get("initiatedBy"))
    duration = rec.get("durationInMilliseconds")
    steps = rec.get("provisioningSteps")
    mods = rec.get("modifiedProperties")
    return {
        "event_id": rec.get("id"),
        "time": rec.get("activityDateTime"),
        "action": norm_action(first(rec.get("provisioningAction"), rec.get("action"))),
        "status": None if info.get("status") is None else str(info["status"]).lower(),
        "error_code": first(err_new.get("errorCode"), err_old.get("errorCode"), info.get("errorCode")),
        "error_reason": first(err_new.get("reason"), err_old.get("reason"), info.get("reason")),
        "source_id": src.get("id"),
        "source_upn": first(details.get("UserPrincipalName"), details.get("userPrincipalName")),
        "source_name": src.get("displayName"),
        "target_id": tgt.get("id"),
        "job_id": rec.get("jobId"),
        "cycle_id": rec.get("cycleId"),
        "change_id": rec.get("changeId"),
        "duration_ms": None if duration is None else float(duration),
        "http_status": None,
        "initiator_type": first(init.get("initiatorType"), init.get("initiatingType")),
        "service_principal": service_principal(rec.get("servicePrincipal")).get("displayName"),
        "modified_properties": None if mods is None else json.dumps(mods, separators=(",", ":")),
        "steps": None if steps is None else json.dumps(steps, separators=(",", ":")),
    }


def steps_of(steps_json: str | None) -> list[dict[str, Any]]:
    """Decoded steps with ``provisioningStepType`` lower-cased (for the details pane)."""
    try:
        steps = json.loads(steps_json) if steps_json else []
    except ValueError:
        return []
    out = []
    for s in steps if isinstance(steps, list) else []:
        if isinstance(s, Mapping):
            d = dict(s)
            d["provisioningStepType"] = step_type(s.get("provisioningStepType"))
            out.append(d)
    return out


def modified_of(mods_json: str | None) -> list[tuple[str, str | None, str | None]]:
    """(attribute, old, new) triples of ``modifiedProperties``."""
    try:
        mods = json.loads(mods_json) if mods_json else []
    except ValueError:
        return []
    return [
        (str(m.get("displayName", "")), m.get("oldValue"), m.get("newValue"))
        for m in (mods if isinstance(mods, list) else [])
        if isinstance(m, Mapping)
    ]
