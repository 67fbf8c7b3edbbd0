"""Platform and file text is shown verbatim, tooltips included (issue 16 item 7).

Qt renders a tooltip as rich text whenever ``Qt.mightBeRichText`` says it might be, so a display
name like ``<b>Eve</b>`` used to show as bold "Eve", an ``<img src=file:…>`` as an image, and an
escaped ``Smith &amp; Sons`` (not detected as rich) as the entity itself. This walks every table
model's DisplayRole and ToolTipRole with hostile strings and checks what a person would see.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from PySide6.QtCore import QAbstractItemModel
from PySide6.QtGui import Qt, QTextDocument

from console.core.models import AuditRecord
from console.ui.models.audit_model import AuditModel
from console.ui.models.events_model import PAGE, EventsModel
from console.ui.models.orgs_model import OrgsModel
from console.ui.widgets.common import plain_tip
from tests.ui.conftest import org

HOSTILE = ("<b>Eve</b> Admin", "<img src='file:///etc/passwd'>", "Smith & Sons", "a &lt; b",
           "<a href='https://evil.example'>click</a>", "  two  spaces", "<!DOCTYPE html><h1>x</h1>")


def shown(tooltip: str) -> str:
    """What Qt's tooltip shows for ``tooltip``: rendered as HTML when Qt thinks it might be."""
    if not Qt.mightBeRichText(tooltip):
        return tooltip
    doc = QTextDocument()
    doc.setHtml(tooltip)
    return doc.toPlainText().replace("\u2028", "\n").replace("\u00a0", " ")


def walk(model: QAbstractItemModel) -> tuple[list[str], list[str]]:
    display, tips = [], []
    for r in range(model.rowCount()):
        for c in range(model.columnCount()):
            index = model.index(r, c)
            d = model.data(index, Qt.ItemDataRole.DisplayRole)
            t = model.data(index, Qt.ItemDataRole.ToolTipRole)
            if isinstance(d, str):
                display.append(d)
            if isinstance(t, str) and t:
                tips.append(shown(t))
    return display, tips


def _orgs() -> OrgsModel:
    model = OrgsModel()
    model.set_orgs([org(f"o{i}", name=h, domains=(h,)) for i, h in enumerate(HOSTILE)])
    return model


def _audit() -> AuditModel:
    model = AuditModel()
    when = datetime(2026, 12, 1, tzinfo=UTC)
    model.set_records([AuditRecord(id=i, ts=when, actor=h, action="scim.enable", outcome="ok", org_id=h,
                                   params={}, detail=h) for i, h in enumerate(HOSTILE)])
    return model


def _events() -> EventsModel:
    model = EventsModel()
    rows = [(i, datetime(2026, 12, 1, tzinfo=UTC), "create", "failure", "EntryConflict", "user@x.com " + h,
             "target " + h, "scim.job", "cycle " + h, 1.0) for i, h in enumerate(HOSTILE)]
    model.set_result("g", len(rows), rows + [] * PAGE)
    return model


@pytest.mark.parametrize("make", [_orgs, _audit, _events], ids=["orgs", "audit", "events"])
def test_every_models_text_is_shown_verbatim_in_cells_and_tooltips(qapp: Any, make: Any) -> None:
    display, tips = walk(make())
    assert tips, "the model has tooltips to check"
    def norm(text: str) -> str:  # cells show one line: runs of whitespace may be folded, nothing else
        return " ".join(text.split())

    for hostile in map(norm, HOSTILE):
        assert any(hostile in norm(d) for d in display), f"{hostile!r} not displayed verbatim"
        assert any(hostile in norm(t) for t in tips), f"{hostile!r} not shown verbatim in a tooltip: {tips}"


@pytest.mark.parametrize("text", [*HOSTILE, "line one\nline two", "x" * 5000])
def test_plain_tip_shows_exactly_the_text(qapp: Any, text: str) -> None:
    tip = plain_tip(text)
    assert tip is not None
    assert shown(tip) == text
    assert plain_tip("") is None and plain_tip(None) is None  # noqa: PT018
