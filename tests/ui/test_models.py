"""Qt's own model checks (QAbstractItemModelTester via pytest-qt) on the console's table models."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from PySide6.QtCore import Qt

from console.core.models import AuditRecord
from console.ui.models.audit_model import RECORD_ROLE, AuditModel
from console.ui.models.orgs_model import ORG_ROLE, OrgsModel
from tests.ui.conftest import org


def test_orgs_model_passes_qt_model_tester(qtmodeltester: Any) -> None:
    model = OrgsModel()
    model.set_orgs([org("a"), org("b", scim=True, template="missing")])
    qtmodeltester.check(model)
    model.append_orgs([org("c")])
    qtmodeltester.check(model)
    assert model.org_ids() == ["a", "b", "c"]
    assert model.data(model.index(1, 0), ORG_ROLE).id == "b"
    assert model.org_at(5) is None


def test_audit_model_passes_qt_model_tester(qtmodeltester: Any) -> None:
    model = AuditModel()
    records = [
        AuditRecord(id=i, ts=datetime(2026, 11, 28, 12, i, tzinfo=UTC), actor="alice", action="scim.enable",
                    outcome="ok", org_id="contoso", params={"token_last_four": "AbCd"}, detail="line\nbreak")
        for i in range(3)
    ]
    model.set_records(records)
    qtmodeltester.check(model)
    assert model.rowCount() == 3
    details = model.data(model.index(0, 5), Qt.ItemDataRole.DisplayRole)
    assert details == 'line break · {"token_last_four": "AbCd"}'
    assert model.data(model.index(2, 0), RECORD_ROLE).id == 2
    assert model.record_at(3) is None
