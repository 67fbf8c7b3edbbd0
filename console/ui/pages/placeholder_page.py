"""Pages whose features arrive in a later release: a clean empty state that says what they will do.

Better than a missing menu entry: support engineers see where the feature will live and can
plan for it, and the navigation does not change shape when it arrives.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QVBoxLayout, QWidget

from console.ui.widgets.common import EMPTY_STATE_WIDTH, fit_wrapped, plain_label


class PlaceholderPage(QWidget):
    def __init__(self, title: str, summary: str, points: Sequence[str],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.title = title
        layout = QVBoxLayout(self)
        layout.setContentsMargins(12, 12, 12, 12)
        layout.addWidget(plain_label(title, role="page-title"))
        layout.addStretch(1)
        heading = plain_label("Coming in a later release", role="empty-title")
        body = plain_label(summary, role="muted", wrap=True)
        for label in (heading, body):
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
        labels = [heading, body] + [plain_label(f"•  {p}", wrap=True) for p in points]
        for i, label in enumerate(labels):
            label.setFixedWidth(EMPTY_STATE_WIDTH)
            if i == 2:
                layout.addSpacing(8)
            layout.addWidget(label, 0, Qt.AlignmentFlag.AlignHCenter)
        fit_wrapped(*labels)
        layout.addStretch(2)


def provisioning_logs_page() -> PlaceholderPage:
    return PlaceholderPage(
        "Provisioning logs",
        "See every SCIM request Microsoft Entra ID made to an organisation, and why some failed.",
        ("Filter by time, status, operation and user; follow new requests live",
         "Explain common Entra errors (409 uniqueness, 404 after merges) in plain words",
         "Export the filtered events for a ticket (secrets redacted)"),
    )


def reconciliation_page() -> PlaceholderPage:
    return PlaceholderPage(
        "Reconciliation",
        "Find and fix accounts that block provisioning: duplicates, case-only twins, missing emails.",
        ("Compare platform users with an Entra export and list the differences",
         "Merge a manual account into its SCIM twin, release or change a primary email",
         "Preview every change, then apply with an audit entry for each"),
    )
