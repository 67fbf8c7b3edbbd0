"""Records in other tools' spellings reshaped to Graph's (core.log_shapes; docs/log-formats.md §3)."""

from __future__ import annotations

import itertools
import json

import pytest

from console.core.entra_log_schema import normalise
from console.core.log_shapes import is_page, needs_reshape, to_graph
from tests import logs_data


@pytest.mark.parametrize("variant", ["v1", "beta"])
def test_graph_spelled_records_are_left_alone(variant: str) -> None:
    """What keeps a 1 GB portal array on DuckDB's fast path: nothing in it needs reshaping."""
    for rec in itertools.islice(logs_data.records(200, variant=variant), 200):
        assert not needs_reshape(rec)
        assert to_graph(rec) == (rec, set())


def test_powershell_pascal_case_and_additional_properties() -> None:
    rec = {
        "Id": "e-1", "ActivityDateTime": "/Date(1556938854000)/", "ProvisioningAction": "create",
        "ProvisioningStatusInfo": {"Status": "failure", "AdditionalProperties": {},
                                   "ErrorInformation": {"ErrorCode": "X", "Reason": "why",
                                                        "AdditionalProperties": {}}},
        "SourceIdentity": {"Id": "s", "DisplayName": "Zoë",
                           "Details": {"AdditionalProperties": {"userprincipalname": "zoe@x.com",
                                                                "Department": "R&D"}}},
        "AdditionalProperties": {},
    }
    assert needs_reshape(rec)
    shaped, cut = to_graph(rec)
    assert cut == set()
    n = normalise(shaped)
    assert (n["event_id"], n["time"], n["action"], n["status"], n["error_code"], n["error_reason"],
            n["source_upn"], n["source_name"]) == (
        "e-1", "2019-05-04T03:00:54Z", "create", "failure", "X", "why", "zoe@x.com", "Zoë")
    assert shaped["sourceIdentity"]["details"] == {"UserPrincipalName": "zoe@x.com", "Department": "R&D"}


def test_log_analytics_json_strings_and_stand_in_columns() -> None:
    row = {
        "TimeGenerated": "2019-05-04T03:00:54Z", "Id": "e-2", "ResultType": "Failure",
        "ResultSignature": "SystemForCrossDomainIdentityManagementServiceIncompatible",
        "ResultDescription": "bad request", "DurationMs": "1,234", "AADTenantId": "t",
        "SourceIdentity": json.dumps(
            {"id": "s", "displayName": "A", "details": {"UserPrincipalName": "a@x"}}),
        "ProvisioningSteps": json.dumps([{"name": "EntryImport", "provisioningStepType": "import"}]),
        "ProvisioningStatusInfo": "",
    }
    shaped, cut = to_graph(row)
    assert cut == set()
    n = normalise(shaped)
    keys = ("time", "status", "error_code", "error_reason", "duration_ms", "source_upn")
    assert tuple(n[k] for k in keys) == (
        "2019-05-04T03:00:54Z", "failure", "SystemForCrossDomainIdentityManagementServiceIncompatible",
        "bad request", 1234.0, "a@x")
    assert json.loads(n["steps"]) == [{"name": "EntryImport", "provisioningStepType": "import"}]
    ok, _ = to_graph({"Id": "e", "ResultType": "Success", "ResultSignature": "None"})
    assert normalise(ok)["error_code"] is None


def test_depth_truncation_is_reported_never_shown() -> None:
    rec = {"Id": "e", "ProvisioningStatusInfo": {
        "Status": "failure",
        "ErrorInformation": "Microsoft.Graph.PowerShell.Models.MicrosoftGraphProvisioningErrorInfo"},
        "ProvisioningSteps": ["Microsoft.Graph.PowerShell.Models.MicrosoftGraphProvisioningStep"],
        "SourceIdentity": {"Details": "System.Collections.Hashtable"}}
    shaped, cut = to_graph(rec)
    assert cut == {"provisioningStatusInfo.errorInformation", "provisioningSteps[]", "sourceIdentity.details"}
    assert normalise(shaped)["error_code"] is None


def test_flat_beta_status_info_keeps_its_error_code() -> None:
    rec = {"id": "e", "action": "Create user",
           "statusInfo": {"status": "Failure", "errorCode": "E1", "reason": "r"}}
    assert not needs_reshape(rec)  # the SQL reads it as it is
    n = normalise(rec)
    assert (n["action"], n["status"], n["error_code"], n["error_reason"]) == ("create", "failure", "E1", "r")


def test_pages() -> None:
    assert is_page({"@odata.context": "x", "value": []})
    assert not is_page({"id": "e", "value": [], "activityDateTime": "t"})
