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


def _event(seq: int, status: str) -> tuple[Any, ...]:
    return (seq, datetime(2026, 11, 28, 12, seq % 60, tzinfo=UTC), "create", status, "EntryConflict",
            f"user{seq}@contoso.com <b>x</b>", f"t{seq}", "scim.job", "cyc-1", 12.5)


def test_paged_models_pass_the_model_tester_and_fetch_missing_pages_once(qtmodeltester: Any) -> None:
    from console.ui.models.events_model import PAGE, SEQ_ROLE, EventsModel

    model = EventsModel()
    asked: list[tuple[object, int]] = []
    model.fetch_page = lambda generation, page: asked.append((generation, page))
    model.set_result("v1", PAGE * 3, [_event(i, "failure" if i % 2 else "success") for i in range(PAGE)])
    qtmodeltester.check(model)
    assert model.rowCount() == PAGE * 3
    assert model.data(model.index(3, 1)) == "create"
    assert model.data(model.index(3, 0), SEQ_ROLE) == 3
    assert model.data(model.index(1, 2), Qt.ItemDataRole.ForegroundRole) is not None  # failure in red
    tip = model.data(model.index(1, 4), Qt.ItemDataRole.ToolTipRole)
    assert tip is not None and "user1@contoso.com &lt;b&gt;x&lt;/b&gt;" in tip  # noqa: PT018 - escaped
    assert model.data(model.index(PAGE + 5, 1)) is None  # not loaded yet: asked for, once
    assert model.data(model.index(PAGE + 6, 1)) is None
    assert asked == [("v1", 1)]
    model.add_page("stale", 1, [_event(i, "success") for i in range(PAGE, 2 * PAGE)])  # superseded query
    assert model.seq_at(PAGE + 5) is None
    model.add_page("v1", 1, [_event(i, "success") for i in range(PAGE, 2 * PAGE)])
    assert model.seq_at(PAGE + 5) == PAGE + 5
    qtmodeltester.check(model)
