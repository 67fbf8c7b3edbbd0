"""Deterministic generator of Entra-shaped provisioning-log exports (performance-notes §7.1 idea).

``records(n, seed=..., variant="v1"|"beta")`` yields provisioningObjectSummary dicts; ``variant="beta"``
uses the historic names (``action``/``statusInfo``/``errorInfo``/``initiatingType``, servicePrincipal
as an array, step types capitalised). Writers produce a JSON array (minified, like the portal
download), NDJSON or Graph pages. ``expected(n, ...)`` gives the counts the tests check against.

    python -m tests.logs_data N OUT.json [--format json|ndjson|graph] [--variant v1|beta]
    python -m tests.logs_data N OUTDIR --format csv     (the portal's three CSV files)

``write_csv`` writes the same records as the portal's CSV download: ``ProvisioningLogs`` plus
``…_ProvisioningSteps`` and ``…_ModifiedProperties`` joined on the change id. Microsoft does not publish
the headers (entra-facts §2.3), so ``CSV_HEADERS`` has two spellings the importer must both accept.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

START = datetime(2026, 10, 1, tzinfo=UTC)
SPAN_S = 30 * 86400
FIRST = [
    "Ada",
    "Alan",
    "Grace",
    "Linus",
    "Ken",
    "Barbara",
    "Edsger",
    "Margaret",
    "Wei",
    "Priya",
    "Olu",
    "Sven",
    "Yuki",
    "Lucia",
    "Omar",
    "Nina",
]
LAST = [
    "Lovelace",
    "Turing",
    "Hopper",
    "Torvalds",
    "Thompson",
    "Liskov",
    "Dijkstra",
    "Hamilton",
    "Chen",
    "Patel",
    "Okafor",
    "Larsen",
]
STATUS = ["success"] * 78 + ["skipped"] * 14 + ["failure"] * 6 + ["warning"] * 2
ACTIONS = ["create"] * 15 + ["update"] * 60 + ["delete"] * 5 + ["disable"] * 5 + ["other"] * 15
ERRORS = [
    "EntryConflict",
    "TooManyRequests",
    "InternalServerError",
    "InvalidAnchor",
    "DuplicateTargetEntries",
    "SystemForCrossDomainIdentityManagementServiceIncompatible",
    "MandatoryFieldsMissing",
]
ATTRS = [
    "userName",
    "active",
    "displayName",
    'emails[type eq "work"].value',
    "name.givenName",
    "name.familyName",
    "externalId",
    "department",
]
JOBS = ["scim.0a1b2c3d.contoso", "scim.0a1b2c3d.fabrikam", "Workday2AAD.0a1b2c3d.hr"]


def _guid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def error_text(code: str, status: int, detail: str, retries: int, when: str) -> str:
    """The §2.4 error text format (what Entra puts in errorInformation.reason)."""
    scim = json.dumps(
        {
            "scimType": "uniqueness" if status == 409 else "invalidSyntax",
            "detail": detail,
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
            "status": str(status),
        }
    )
    word = {409: "Conflict", 400: "BadRequest", 429: "TooManyRequests", 500: "InternalServerError"}[status]
    return (
        f"Error code: {code}\nError message: StatusCode: {word} Message: Processing of the HTTP request "
        f"resulted in an exception. Web Response: {scim}. This operation was retried {retries} times. "
        f"It will be retried again after this date: {when} UTC"
    )


def record(i: int, n: int, rng: random.Random, variant: str = "v1") -> dict[str, Any]:
    first, last = rng.choice(FIRST), rng.choice(LAST)
    upn = f"{first.lower()}.{last.lower()}{rng.randrange(5000)}@contoso.com"
    name = f"{first} {last}"
    ts = START + timedelta(seconds=i * SPAN_S / max(n, 1))
    status = rng.choice(STATUS)
    action = rng.choice(ACTIONS)
    job = JOBS[i % len(JOBS)]
    err = None
    if status == "failure":
        code = ERRORS[i % len(ERRORS)]
        http = {"EntryConflict": 409, "TooManyRequests": 429, "InternalServerError": 500}.get(code, 400)
        err = {
            "errorCode": code,
            "errorCategory": "nonServiceFailure",
            "reason": error_text(
                code,
                http,
                f"userName {upn} already exists" if http == 409 else "bad",
                i % 4,
                "2026-11-02T21:49:50.5340673Z",
            ),
            "additionalDetails": None,
            "recommendedAction": None,
        }
    step_type = (lambda t: t.capitalize()) if variant == "beta" else (lambda t: t)
    steps = [
        {
            "name": "EntryImport",
            "provisioningStepType": step_type("import"),
            "status": "success",
            "description": f"Received User '{upn}' change of type ({action.title()})",
            "details": {},
        },
        {
            "name": "EntrySynchronizationScoping",
            "provisioningStepType": step_type("scoping"),
            "status": "success",
            "description": "Determine if User in scope",
            "details": {"Active in the source system": "True"},
        },
    ]
    if status != "skipped":
        steps.append(
            {
                "name": "EntryExportUpdate",
                "provisioningStepType": step_type("export"),
                "status": status,
                "description": f"User '{upn}' export {status}",
                "details": {"ReportableIdentifier": upn},
            }
        )
    mods = [
        {
            "displayName": a,
            "oldValue": None if rng.random() < 0.3 else f"old-{rng.getrandbits(20):x}",
            "newValue": upn if a == "userName" else f"val-{rng.getrandbits(24):x}",
        }
        for a in rng.sample(ATTRS, rng.randint(1, 4))
    ]
    sp = {"id": "sp-1", "displayName": "Contoso SCIM"}
    rec: dict[str, Any] = {
        "id": f"evt-{i:08d}",
        "activityDateTime": ts.strftime("%Y-%m-%dT%H:%M:%S.%f") + "Z",
        "tenantId": "tenant-1",
        "jobId": job,
        "cycleId": f"cyc-{i * 20 // max(n, 1):03d}",
        "changeId": _guid(rng),
        "durationInMilliseconds": int(rng.expovariate(1 / 900)),
        "sourceIdentity": {
            "id": _guid(rng),
            "displayName": name,
            "identityType": "User",
            "details": {"UserPrincipalName": upn},
        },
        "targetIdentity": {
            "id": f"{rng.getrandbits(40):x}",
            "displayName": name,
            "identityType": "User",
            "details": {},
        },
        "provisioningSteps": steps,
        "modifiedProperties": mods,
    }
    if variant == "beta":
        rec["action"] = action.title()
        rec["statusInfo"] = {"status": status, "errorInfo": err}
        rec["initiatedBy"] = {
            "id": "",
            "displayName": "Azure AD Provisioning Service",
            "initiatingType": "system",
        }
        rec["servicePrincipal"] = [sp]
    else:
        rec["provisioningAction"] = action
        rec["provisioningStatusInfo"] = {"status": status, "errorInformation": err}
        rec["initiatedBy"] = {
            "id": "",
            "displayName": "Azure AD Provisioning Service",
            "initiatorType": "system",
        }
        rec["servicePrincipal"] = sp
    return rec


def records(n: int, *, seed: int = 42, variant: str = "v1") -> Iterator[dict[str, Any]]:
    rng = random.Random(seed)
    for i in range(n):
        yield record(i, n, rng, variant)


def expected(n: int, *, seed: int = 42, variant: str = "v1") -> dict[str, Any]:
    """Counts the tests compare imports and queries against."""
    status: Counter[str] = Counter()
    codes: Counter[str] = Counter()
    for r in records(n, seed=seed, variant=variant):
        info = r.get("provisioningStatusInfo") or r.get("statusInfo")
        status[info["status"]] += 1
        err = info.get("errorInformation") or info.get("errorInfo")
        if err:
            codes[err["errorCode"]] += 1
    return {"status": dict(status), "codes": dict(codes), "total": n}


def write(
    path: Path | str, n: int, *, fmt: str = "json", variant: str = "v1", seed: int = 42, page_size: int = 100
) -> Path:
    path = Path(path)
    dumps = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False).encode
    with path.open("w", encoding="utf-8") as f:
        if fmt == "json":
            f.write("[")
            for i, r in enumerate(records(n, seed=seed, variant=variant)):
                f.write(("," if i else "") + dumps(r))
            f.write("]")
        elif fmt == "ndjson":
            for r in records(n, seed=seed, variant=variant):
                f.write(dumps(r) + "\n")
        elif fmt == "graph":  # concatenated Graph pages, one page per line (as saved by scripts)
            batch: list[dict[str, Any]] = []
            for r in records(n, seed=seed, variant=variant):
                batch.append(r)
                if len(batch) == page_size:
                    f.write(
                        dumps(
                            {
                                "@odata.context": "x",
                                "value": batch,
                                "@odata.nextLink": "https://graph.microsoft.com/next",
                            }
                        )
                        + "\n"
                    )
                    batch = []
            if batch or n == 0:
                f.write(dumps({"@odata.context": "x", "value": batch}) + "\n")
        else:
            raise ValueError(fmt)
    return path


# Two header spellings: what the portal's column pickers show, and Graph/Log Analytics names.
CSV_HEADERS = {
    "portal": {
        "main": [
            "Date (UTC)",
            "Id",
            "Job ID",
            "Cycle ID",
            "Change ID",
            "Action",
            "Status",
            "Error Code",
            "Status Reason",
            "Source Identity",
            "Source ID",
            "User Principal Name",
            "Target Identity",
            "Target ID",
            "Duration (ms)",
            "Initiated By",
            "Service Principal Name",
            "Tenant ID",
            "Source System",
            "Target System",
            "Ticket Notes",
        ],
        "steps": ["Change ID", "Step", "Name", "Type", "Status", "Description", "Details"],
        "mods": ["Change ID", "Display Name", "Old Value", "New Value"],
    },
    "graph": {
        "main": [
            "activityDateTime",
            "id",
            "jobId",
            "cycleId",
            "changeId",
            "provisioningAction",
            "provisioningStatusInfo.status",
            "ResultSignature",
            "ResultDescription",
            "sourceIdentity.displayName",
            "sourceIdentity.id",
            "userPrincipalName",
            "targetIdentity.displayName",
            "targetIdentity.id",
            "DurationMs",
            "initiatedBy",
            "servicePrincipal",
            "tenantId",
            "sourceSystem",
            "targetSystem",
            "ticket_notes",
        ],
        "steps": [
            "changeId",
            "stepNumber",
            "provisioningStepName",
            "provisioningStepType",
            "status",
            "description",
            "details",
        ],
        "mods": ["changeId", "propertyName", "oldValue", "newValue"],
    },
}


def csv_rows(
    rec: dict[str, Any], variant: str = "portal"
) -> tuple[list[Any], list[list[Any]], list[list[Any]]]:
    """One record as its main row, step rows and modified-property rows."""
    info = rec.get("provisioningStatusInfo") or rec.get("statusInfo")
    err = info.get("errorInformation") or info.get("errorInfo") or {}
    when = datetime.strptime(rec["activityDateTime"][:19], "%Y-%m-%dT%H:%M:%S")
    date = (
        when.strftime("%m/%d/%Y %I:%M:%S %p").lstrip("0").replace("/0", "/")
        if variant == "portal"
        else rec["activityDateTime"]
    )
    action = rec.get("provisioningAction") or rec.get("action")
    main = [
        date,
        rec["id"],
        rec["jobId"],
        rec["cycleId"],
        rec["changeId"],
        str(action).title(),
        str(info["status"]).title(),
        err.get("errorCode", ""),
        err.get("reason", ""),
        rec["sourceIdentity"]["displayName"],
        rec["sourceIdentity"]["id"],
        rec["sourceIdentity"]["details"]["UserPrincipalName"],
        rec["targetIdentity"]["displayName"],
        rec["targetIdentity"]["id"],
        rec["durationInMilliseconds"],
        "Azure AD Provisioning Service",
        "Contoso SCIM",
        rec["tenantId"],
        "Azure Active Directory",
        "Contoso",
        f"note {rec['id']}",
    ]
    steps = [
        [
            rec["changeId"],
            n,
            s["name"],
            s["provisioningStepType"].title(),
            s["status"].title(),
            s["description"],
            json.dumps(s["details"]),
        ]
        for n, s in enumerate(rec["provisioningSteps"], 1)
    ]
    mods = [
        [rec["changeId"], m["displayName"], m["oldValue"] or "", m["newValue"] or ""]
        for m in rec["modifiedProperties"]
    ]
    return main, steps, mods


def write_csv(
    directory: Path | str,
    n: int,
    *,
    variant: str = "portal",
    seed: int = 42,
    prefix: str = "ProvisioningLogs",
) -> tuple[Path, Path, Path]:
    """The three files of a portal CSV download of ``records(n)`` (main, steps, modified properties)."""
    d = Path(directory)
    d.mkdir(parents=True, exist_ok=True)
    heads = CSV_HEADERS[variant]
    paths = (
        d / f"{prefix}.csv",
        d / f"{prefix}_ProvisioningSteps.csv",
        d / f"{prefix}_ModifiedProperties.csv",
    )
    files = [p.open("w", encoding="utf-8-sig", newline="") for p in paths]
    try:
        writers = [csv.writer(f) for f in files]
        for w, key in zip(writers, ("main", "steps", "mods"), strict=True):
            w.writerow(heads[key])
        for rec in records(n, seed=seed):
            main, steps, mods = csv_rows(rec, variant)
            writers[0].writerow(main)
            writers[1].writerows(steps)
            writers[2].writerows(mods)
    finally:
        for f in files:
            f.close()
    return paths


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int)
    ap.add_argument("out")
    ap.add_argument("--format", default="json")
    ap.add_argument("--variant", default="v1")
    a = ap.parse_args()
    if a.format == "csv":
        write_csv(a.out, a.n, variant="graph" if a.variant == "graph" else "portal")
    else:
        write(a.out, a.n, fmt=a.format, variant=a.variant)


if __name__ == "__main__":
    main()


# ---- the platform's own log, through the admin API
def export_org_log(client: Any, org_id: str, path: Path | str) -> Path:
    """The org's provisioning log as the platform's NDJSON export (``client``: an AdminApiClient)."""
    path = Path(path)
    with client.export_log(org_id) as events, open(path, "w", encoding="utf-8") as fh:
        for event in events:
            fh.write(json.dumps(event) + "\n")
    return path


def log_total(client: Any, org_id: str) -> int:
    """How many events the platform's log of ``org_id`` holds (read through the export)."""
    with client.export_log(org_id) as events:
        return sum(1 for _ in events)
