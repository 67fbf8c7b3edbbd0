"""Small provisioning-log exports written the way customers' tools write them (docs/log-formats.md).

Three events (``EVENTS``) with every field the console shows, and one writer per shape: the portal's
CSV download re-saved by Excel (en-US, en-GB, de-DE ``;`` + cp1252, "Unicode Text" UTF-16 tab), the
Log Analytics "Export to CSV" of ``AADProvisioningLogs`` (JSON-string columns, ``[UTC]`` headers,
``5/4/2019, 3:00:54.000 AM``) and its JSON, the portal JSON saved by Windows PowerShell 5.1 (UTF-16LE
with BOM), Graph PowerShell's ``ConvertTo-Json`` (PascalCase, ``AdditionalProperties``, with and
without ``-Depth``), an array of Graph pages, and beta records with a flat ``statusInfo``. CSV files
are written with Python's ``csv`` in Excel's dialects and encodings.
"""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

T = [
    datetime(2019, 5, 4, 3, 0, 54, tzinfo=UTC),
    datetime(2019, 5, 13, 15, 20, 0, tzinfo=UTC),  # day 13: settles the day/month order
    datetime(2019, 4, 5, 23, 5, 9, tzinfo=UTC),
]

EVENTS: list[dict[str, Any]] = [
    {
        "id": "e-1", "time": T[0], "action": "create", "status": "success", "error_code": None,
        "error_reason": None, "job": "job-1", "cycle": "cyc-1", "change": "chg-1", "duration": 1234.0,
        "source_id": "src-1", "source_name": "Jürgen Groß", "upn": "juergen@contoso.com",
        "target_id": "tgt-1",
        "steps": [("EntryImport", "import", "success", "Received User 'juergen@contoso.com'"),
                  ("EntryExportAdd", "export", "success", "User 'Jürgen Groß' was created")],
        "mods": [("displayName", None, "Jürgen Groß"), ("mail", None, "juergen@contoso.com")],
    },
    {
        "id": "e-2", "time": T[1], "action": "update", "status": "failure",
        "error_code": "SystemForCrossDomainIdentityManagementServiceIncompatible",
        "error_reason": "StatusCode: BadRequest Message: Processing of the HTTP request resulted in an "
                        "exception.",
        "job": "job-1", "cycle": "cyc-1", "change": "chg-2", "duration": 250.0,
        "source_id": "src-2", "source_name": "Zoë Müller", "upn": "zoe@contoso.com", "target_id": "tgt-2",
        "steps": [("EntryImport", "import", "success", "Received User 'zoe@contoso.com'"),
                  ("EntryExportUpdate", "export", "failure", "Failed to update User 'zoe@contoso.com'")],
        "mods": [("jobTitle", "Engineer", "Señor Engineer")],
    },
    {
        "id": "e-3", "time": T[2], "action": "other", "status": "skipped", "error_code": None,
        "error_reason": None, "job": "job-1", "cycle": "cyc-2", "change": "chg-3", "duration": 5.0,
        "source_id": "src-3", "source_name": "Ana Núñez", "upn": "ana@contoso.com", "target_id": None,
        "steps": [("EntrySynchronizationScoping", "scoping", "skipped", "Not in scope")],
        "mods": [],
    },
]


def iso(t: datetime) -> str:
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def graph_record(e: dict[str, Any], *, beta_flat: bool = False) -> dict[str, Any]:
    """The event as Graph's provisioningObjectSummary (v1.0), or beta with a flat ``statusInfo``."""
    err = {"errorCode": e["error_code"], "reason": e["error_reason"], "errorCategory": None,
           "recommendedAction": None, "additionalDetails": None}
    rec: dict[str, Any] = {
        "id": e["id"], "activityDateTime": iso(e["time"]), "tenantId": "ten-1", "jobId": e["job"],
        "cycleId": e["cycle"], "changeId": e["change"], "durationInMilliseconds": int(e["duration"]),
        "initiatedBy": {"id": "", "displayName": "Azure AD Provisioning Service", "initiatorType": "system"},
        "servicePrincipal": {"id": "sp-1", "displayName": "Contoso SCIM"},
        "sourceIdentity": {"id": e["source_id"], "displayName": e["source_name"], "identityType": "User",
                           "details": {"UserPrincipalName": e["upn"]}},
        "targetIdentity": {"id": e["target_id"], "displayName": e["source_name"], "identityType": "urn:user",
                           "details": {}},
        "sourceSystem": {"id": "ss", "displayName": "Azure Active Directory", "details": {}},
        "targetSystem": {"id": "ts", "displayName": "Contoso SCIM", "details": {}},
        "provisioningSteps": [
            {"name": n, "provisioningStepType": t, "status": s, "description": d, "details": {}}
            for n, t, s, d in e["steps"]
        ],
        "modifiedProperties": [{"displayName": a, "oldValue": o, "newValue": v} for a, o, v in e["mods"]],
    }
    if beta_flat:
        rec["action"] = {"create": "Create user", "update": "Update user", "other": "Other"}[e["action"]]
        rec["statusInfo"] = {"status": e["status"], "errorCode": e["error_code"], "reason": e["error_reason"]}
    else:
        rec["provisioningAction"] = e["action"]
        rec["provisioningStatusInfo"] = {"status": e["status"],
                                         "errorInformation": err if e["error_code"] else None}
    return rec


def _pascal(value: Any, depth: int, limit: int | None, type_name: str = "") -> Any:
    """What ``ConvertTo-Json`` makes of a Graph PowerShell model: PascalCase properties, an
    ``AdditionalProperties`` bag, and objects below ``-Depth`` written as their .NET type name."""
    if isinstance(value, dict):
        if limit is not None and depth > limit:
            return f"Microsoft.Graph.PowerShell.Models.MicrosoftGraph{type_name or 'Object'}"
        out: dict[str, Any] = {}
        for k, v in value.items():
            if k == "details":  # an open dictionary: its entries live in AdditionalProperties
                out["Details"] = (
                    "Microsoft.Graph.PowerShell.Models.MicrosoftGraphDetailsInfo"
                    if limit is not None and depth + 1 > limit
                    else {"AdditionalProperties": v}
                )
                continue
            out[k[0].upper() + k[1:]] = _pascal(v, depth + 1, limit, k[0].upper() + k[1:])
        out["AdditionalProperties"] = {}
        return out
    if isinstance(value, list):
        if limit is not None and depth > limit:
            return "System.Object[]"
        return [_pascal(v, depth + 1, limit, type_name) for v in value]
    return value


def write_powershell(path: Path, *, depth: int | None, encoding: str = "utf-8") -> Path:
    """``Get-MgAuditLogProvisioning | ConvertTo-Json [-Depth n] | Out-File`` (5.1: UTF-16LE + BOM)."""
    recs = [_pascal(graph_record(e), 1, depth) for e in EVENTS]  # the array is level 0
    text = json.dumps(recs, indent=4, ensure_ascii=False)
    path.write_text(text.replace("\n", "\r\n"), encoding=encoding)
    return path


def write_portal_json(
    path: Path, *, encoding: str = "utf-8", beta_flat: bool = False, bom: bytes = b""
) -> Path:
    """The portal's minified JSON download (``encoding='utf-16'``: re-saved by PowerShell 5.1;
    ``utf-16-be`` writes no BOM, so ``bom`` can add one)."""
    data = json.dumps([graph_record(e, beta_flat=beta_flat) for e in EVENTS], ensure_ascii=False,
                      separators=(",", ":"))
    path.write_bytes(bom + data.encode(encoding))
    return path


def write_graph_pages(path: Path) -> Path:
    """An array of Graph page objects, as a script that collects ``@odata.nextLink`` pages writes."""
    recs = [graph_record(e) for e in EVENTS]
    pages = [
        {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/provisioning",
         "@odata.nextLink": "https://graph.microsoft.com/v1.0/auditLogs/provisioning?$skiptoken=x",
         "value": recs[:2]},
        {"@odata.context": "https://graph.microsoft.com/v1.0/$metadata#auditLogs/provisioning",
         "value": recs[2:]},
    ]
    path.write_text(json.dumps(pages, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


# ---- the portal's CSV download, re-saved by Excel in a locale
PORTAL_MAIN = ["Date (UTC)", "Id", "Job ID", "Cycle ID", "Change ID", "Action", "Status", "Error Code",
               "Error Reason", "Source Identity Id", "Source Identity Name", "User Principal Name",
               "Target Identity Id", "Duration (ms)"]
PORTAL_STEPS = ["Change ID", "Step", "Name", "Type", "Status", "Description"]
PORTAL_MODS = ["Change ID", "Display Name", "Old Value", "New Value"]
# Excel's "Save as" per locale: (delimiter, encoding, date format, dialect)
LOCALES = {
    "en-US": (",", "cp1252", "%-m/%-d/%Y %-H:%M"),
    "en-GB": (",", "cp1252", "%d/%m/%Y %H:%M"),
    "de-DE": (";", "cp1252", "%d.%m.%Y %H:%M"),
    "unicode-text": ("\t", "utf-16", "%-m/%-d/%Y %-H:%M"),  # Excel "Unicode Text": UTF-16LE + BOM, tab
    "csv-utf8": (",", "utf-8-sig", "%-m/%-d/%Y %-H:%M"),
}


def write_portal_csv(directory: Path, locale: str, *, events: list[dict[str, Any]] | None = None,
                     suffix: str = ".csv") -> list[Path]:
    """The three files of the portal's CSV download after Excel opened and saved them in ``locale``
    (Excel drops the seconds: its default cell format for times is ``h:mm``)."""
    delim, encoding, fmt = LOCALES[locale]
    events = EVENTS if events is None else events
    directory.mkdir(parents=True, exist_ok=True)
    names = ("ProvisioningLogs", "ProvisioningLogs_ProvisioningSteps", "ProvisioningLogs_ModifiedProperties")
    paths = [directory / f"{n}{suffix}" for n in names]
    rows_main = [PORTAL_MAIN] + [
        [e["time"].strftime(fmt), e["id"], e["job"], e["cycle"], e["change"], e["action"].capitalize(),
         e["status"].capitalize(), e["error_code"] or "", e["error_reason"] or "", e["source_id"],
         e["source_name"], e["upn"], e["target_id"] or "", f"{e['duration']:.0f}"]
        for e in events
    ]
    rows_steps = [PORTAL_STEPS] + [
        [e["change"], str(i + 1), n, t.capitalize(), s.capitalize(), d]
        for e in events for i, (n, t, s, d) in enumerate(e["steps"])
    ]
    rows_mods = [PORTAL_MODS] + [[e["change"], a, o or "", v or ""] for e in events for a, o, v in e["mods"]]
    for path, rows in zip(paths, (rows_main, rows_steps, rows_mods), strict=True):
        with path.open("w", encoding=encoding, newline="") as f:
            csv.writer(f, dialect="excel", delimiter=delim).writerows(rows)
    return paths


# ---- Log Analytics / Sentinel: AADProvisioningLogs
LA_COLUMNS = ["TenantId", "SourceSystem", "TimeGenerated [UTC]", "ActivityDateTime [UTC]", "Id", "JobId",
              "CycleId", "ChangeId", "ProvisioningAction", "DurationMs", "InitiatedBy", "ServicePrincipal",
              "SourceIdentity", "TargetIdentity", "ProvisioningStatusInfo", "ProvisioningSteps",
              "ModifiedProperties", "ResultType", "ResultSignature", "ResultDescription", "OperationName",
              "Type"]


def la_time(t: datetime) -> str:
    """Log Analytics' CSV time: ``5/4/2019, 3:00:54.000 AM``."""
    hour = t.hour % 12 or 12
    half = "AM" if t.hour < 12 else "PM"
    return f"{t.month}/{t.day}/{t.year}, {hour}:{t.minute:02d}:{t.second:02d}.000 {half}"


def la_row(e: dict[str, Any], *, csv_times: bool) -> dict[str, Any]:
    rec = graph_record(e)
    j = lambda v: json.dumps(v, ensure_ascii=False)  # noqa: E731 - the table keeps nested values as JSON text
    t = la_time(e["time"]) if csv_times else e["time"].strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "TenantId": "ten-1", "SourceSystem": "Azure AD", "TimeGenerated [UTC]": t,
        "ActivityDateTime [UTC]": t,
        "Id": e["id"], "JobId": e["job"], "CycleId": e["cycle"], "ChangeId": e["change"],
        "ProvisioningAction": e["action"], "DurationMs": str(int(e["duration"])),
        "InitiatedBy": j(rec["initiatedBy"]), "ServicePrincipal": j(rec["servicePrincipal"]),
        "SourceIdentity": j(rec["sourceIdentity"]), "TargetIdentity": j(rec["targetIdentity"]),
        "ProvisioningStatusInfo": j(rec["provisioningStatusInfo"]),
        "ProvisioningSteps": j(rec["provisioningSteps"]), "ModifiedProperties": j(rec["modifiedProperties"]),
        "ResultType": e["status"].capitalize(), "ResultSignature": e["error_code"] or "None",
        "ResultDescription": e["error_reason"] or "", "OperationName": "Provisioning activity",
        "Type": "AADProvisioningLogs",
    }


def write_log_analytics_csv(path: Path, *, events: list[dict[str, Any]] | None = None) -> Path:
    """Log Analytics' "Export → CSV (all columns)": UTF-8 with BOM, comma, CRLF."""
    events = EVENTS if events is None else events
    with path.open("w", encoding="utf-8-sig", newline="") as f:
        w = csv.DictWriter(f, fieldnames=LA_COLUMNS, dialect="excel")
        w.writeheader()
        for e in events:
            w.writerow(la_row(e, csv_times=True))
    return path


def write_log_analytics_json(path: Path) -> Path:
    """The same rows as JSON (the query API / ``Invoke-AzOperationalInsightsQuery | ConvertTo-Json``)."""
    rows = []
    for e in EVENTS:
        r = la_row(e, csv_times=False)
        rows.append({k.replace(" [UTC]", ""): v for k, v in r.items()})
    path.write_text(json.dumps(rows, indent=2, ensure_ascii=False), encoding="utf-8")
    return path


def write_log_analytics_api(path: Path) -> Path:
    """The Log Analytics query API's response (``az monitor log-analytics query`` raw output, REST):
    ``{"tables": [{"name": "PrimaryResult", "columns": [{"name", "type"}], "rows": [[…]]}]}``."""
    rows = [{k.replace(" [UTC]", ""): v for k, v in la_row(e, csv_times=False).items()} for e in EVENTS]
    names = list(rows[0])
    columns = [{"name": n, "type": "datetime" if "Time" in n else "string"} for n in names]
    doc = {"tables": [{"name": "PrimaryResult", "columns": columns,
                       "rows": [[r[n] for n in names] for r in rows]}]}
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path
