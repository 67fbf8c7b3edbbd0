"""Provisioning-log records in the spellings other tools write, reshaped to Graph's (docs/log-formats.md §3).

The importer's SQL reads Graph's camelCase ``provisioningObjectSummary``. Other tools write the same
data differently, and ``to_graph`` turns each of their records into that shape (pure, one record):

* **Graph PowerShell** (``Get-MgAuditLogProvisioning | ConvertTo-Json``): PascalCase names, an
  ``AdditionalProperties`` bag on every object (the open ``details`` dictionaries live in it), and —
  without ``-Depth`` — nested objects below the depth limit replaced by their .NET type name
  (``"Microsoft.Graph.PowerShell.Models.MicrosoftGraphProvisioningErrorInfo"``); those are reported,
  never shown as values. Windows PowerShell 5.1 writes dates as ``"/Date(1556938854000)/"``.
* **Log Analytics / Sentinel** (``AADProvisioningLogs``): PascalCase columns whose nested values are
  JSON *strings*; ``TimeGenerated``, ``ResultType``/``ResultSignature``/``ResultDescription`` and
  ``DurationMs`` stand in for the time, status, error code/reason and duration.
* Field names match case-insensitively everywhere except inside the open ``details`` dictionaries,
  whose keys are data (only the UPN key is folded, because the table shows it).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

# Graph's names of everything the importer reads or keeps, by lower case.
_NAMES = tuple(
    " ".join((
        "id activityDateTime tenantId jobId cycleId changeId durationInMilliseconds provisioningAction",
        "action provisioningStatusInfo statusInfo initiatedBy servicePrincipal sourceIdentity targetIdentity",
        "sourceSystem targetSystem provisioningSteps modifiedProperties status errorInformation errorInfo",
        "errorCode reason errorCategory recommendedAction additionalDetails displayName identityType",
        "details initiatorType initiatingType name description provisioningStepType oldValue newValue",
    )).split()
)
CANONICAL = {n.lower(): n for n in _NAMES}
# Values that are objects or lists in Graph's JSON (Log Analytics stores them as JSON strings).
NESTED = frozenset((
    "provisioningStatusInfo", "statusInfo", "initiatedBy", "servicePrincipal", "sourceIdentity",
    "targetIdentity", "sourceSystem", "targetSystem", "provisioningSteps", "modifiedProperties",
    "errorInformation", "errorInfo", "details",
))
# Log Analytics column (lower case) → what it stands for.
_LA_TIME = ("activitydatetime", "timegenerated")
_PS_DATE = re.compile(r"^/Date\((-?\d+)([+-]\d{4})?\)/$")
# What ConvertTo-Json writes for an object below its -Depth: the .NET type's name.
_TRUNCATED = re.compile(
    r"^(Microsoft\.Graph\.PowerShell\.Models\.\w+|System\.Collections\.\w+|System\.Object\[\])$"
)
_UPN = "userprincipalname"


def is_page(value: Any) -> bool:
    """A Graph page (``{"@odata.context": …, "value": [records]}``) rather than a record."""
    if not isinstance(value, Mapping):
        return False
    keys = {k.lower(): k for k in value}
    return isinstance(value.get(keys.get("value", "")), list) and "activitydatetime" not in keys


def page_items(page: Mapping[str, Any]) -> list[Any]:
    keys = {k.lower(): k for k in page}
    return list(page[keys["value"]])


def query_tables(value: Any) -> list[dict[str, Any]] | None:
    """The rows of a Log Analytics query API response (``{"tables": [{"columns", "rows"}]}``) as
    dicts keyed by column name, or None when ``value`` is not one."""
    if not isinstance(value, Mapping) or not isinstance(value.get("tables"), list):
        return None
    out: list[dict[str, Any]] = []
    for table in value["tables"]:
        if not isinstance(table, Mapping):
            continue
        names = [c.get("name") if isinstance(c, Mapping) else None for c in table.get("columns") or []]
        for row in table.get("rows") or []:
            if isinstance(row, list):
                out.append({n: v for n, v in zip(names, row, strict=False) if isinstance(n, str)})
    return out


def records_of(value: Any) -> list[Any]:
    """The records a top-level value holds: a Graph page's items, a query response's rows, or itself."""
    if is_page(value):
        return page_items(value)
    rows = query_tables(value)
    return [value] if rows is None else rows


def _fold(value: Any, path: str, truncated: set[str], *, open_dict: bool = False) -> Any:
    """Graph's key spelling at every level (not inside ``details``), bags merged, truncation noted."""
    if isinstance(value, str) and _TRUNCATED.match(value.strip()):
        truncated.add(path)
        return None
    if isinstance(value, list):
        return [_fold(v, f"{path}[]", truncated) for v in value]
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    items = list(value.items())
    for k, v in items:
        if k.lower() == "additionalproperties" and isinstance(v, Mapping):
            items.extend(v.items())  # PowerShell's bag: the open dictionary's real content
    for k, v in items:
        if k.lower() == "additionalproperties":
            continue
        upn = "UserPrincipalName" if k.lower() == _UPN else k
        name = upn if open_dict else CANONICAL.get(k.lower(), k)
        child = f"{path}.{name}" if path else name
        if name in NESTED and isinstance(v, str):
            v = _json_text(v, child, truncated)
        out.setdefault(name, _fold(v, child, truncated, open_dict=name == "details"))
    return out


def _json_text(text: str, path: str, truncated: set[str]) -> Any:
    """A Log Analytics JSON-string column: its object/list; a PowerShell type name: truncated."""
    s = text.strip()
    if _TRUNCATED.match(s) or s.startswith("@{"):
        truncated.add(path)
        return None
    if s[:1] in ("{", "["):
        try:
            return json.loads(s)
        except ValueError:
            return text
    return None if s == "" else text


def _time(value: Any) -> Any:
    """PowerShell 5.1's ``/Date(ms)/`` → ISO 8601 UTC; anything else unchanged."""
    if isinstance(value, str):
        m = _PS_DATE.match(value.strip())
        if m:
            return datetime.fromtimestamp(int(m.group(1)) / 1000, UTC).isoformat().replace("+00:00", "Z")
    return value


def _blank(value: Any) -> bool:
    return value is None or (isinstance(value, str) and value.strip() in ("", "None"))


def to_graph(record: Mapping[str, Any]) -> tuple[dict[str, Any], set[str]]:
    """(Graph-shaped record, paths PowerShell truncated). Unknown keys are kept as they are."""
    truncated: set[str] = set()
    lower = {k.lower(): v for k, v in record.items()}
    out = _fold(record, "", truncated)
    if "activityDateTime" not in out or _blank(out.get("activityDateTime")):
        for key in _LA_TIME:
            if not _blank(lower.get(key)):
                out["activityDateTime"] = lower[key]
                break
    out.pop("TimeGenerated", None)
    if "activityDateTime" in out:
        out["activityDateTime"] = _time(out["activityDateTime"])
    if "durationInMilliseconds" not in out and not _blank(lower.get("durationms")):
        out["durationInMilliseconds"] = lower["durationms"]
    if isinstance(out.get("durationInMilliseconds"), str):  # a CSV cell: "1,234" or "1234"
        try:
            out["durationInMilliseconds"] = float(out["durationInMilliseconds"].replace(",", "").strip())
        except ValueError:
            out["durationInMilliseconds"] = None
    if "tenantId" not in out and not _blank(lower.get("aadtenantid")):
        out["tenantId"] = lower["aadtenantid"]
    info_key = "provisioningStatusInfo" if "provisioningStatusInfo" in out else "statusInfo"
    info = out.get(info_key)
    info = dict(info) if isinstance(info, Mapping) else {}
    err = info.get("errorInformation") or info.get("errorInfo")
    err = dict(err) if isinstance(err, Mapping) else {}
    if _blank(info.get("status")) and not _blank(lower.get("resulttype")):
        info["status"] = str(lower["resulttype"]).lower()
    if _blank(err.get("errorCode")) and not _blank(lower.get("resultsignature")):
        err["errorCode"] = lower["resultsignature"]
    if _blank(err.get("reason")) and not _blank(lower.get("resultdescription")):
        err["reason"] = lower["resultdescription"]
    if err:
        info["errorInformation" if "errorInfo" not in info else "errorInfo"] = err
    if info:
        out[info_key] = info
    return out, truncated


def needs_reshape(record: Mapping[str, Any]) -> bool:
    """True when ``record`` is not already in Graph's spelling (the SQL reads Graph's spelling only)."""
    if query_tables(record) is not None:
        return True
    if is_page(record):
        if "value" not in record:  # "Value": the SQL unnests only Graph's spelling
            return True
        return any(isinstance(r, Mapping) and needs_reshape(r) for r in page_items(record))
    shaped, truncated = to_graph(record)
    return bool(truncated) or shaped != record
