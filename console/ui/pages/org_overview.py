"""One organisation at a glance: domains, SCIM status and token metadata, template, user counts.

Loads ``get_org`` and ``get_scim`` in one op on the org's lane (so it never interleaves with a
write to the same org) and with purpose ``org.overview`` (opening another org drops a slow
answer for the previous one). Token *values* never reach this panel: only their metadata.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QPushButton,
    QStackedWidget,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.errors import UserFacingError
from console.core.models import OrgSummary, ScimSettings
from console.ui import errors
from console.ui.models.orgs_model import template_tip
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import EmptyState, plain_label

TOKEN_COLUMNS = ("Token", "Created", "Expires", "Last used", "State")  # dates in UTC


@dataclass(frozen=True, slots=True)
class OrgDetails:
    org: OrgSummary
    scim: ScimSettings


def fmt_ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def fmt_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


class OrgOverview(QWidget):
    """Signals:
    sig_org_loaded(OrgDetails): the panel shows fresh data.
    sig_closed(): the user closed the panel.
    """

    sig_org_loaded = Signal(object)
    sig_closed = Signal()

    def __init__(self, api_provider: Callable[[], Any], runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._api = api_provider
        self._runner = runner
        self.org_id: str | None = None
        self.details: OrgDetails | None = None
        self._build()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        header = QHBoxLayout()
        self.title = plain_label("", role="page-title", selectable=True)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.sig_closed.emit)
        header.addWidget(self.title, 1)
        header.addWidget(self.refresh_button)
        header.addWidget(self.close_button)
        outer.addLayout(header)

        self.stack = QStackedWidget()
        self.empty = EmptyState("Loading…")
        body = QWidget()
        form = QFormLayout(body)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        self.fields: dict[str, Any] = {}
        for key, title in (("id", "ID"), ("domains", "Domains"), ("scim", "SCIM provisioning"),
                           ("scim_url", "SCIM endpoint"), ("template", "New user template"),
                           ("users", "Users"), ("sources", "Created via"), ("structure", "Structure")):
            label = plain_label("", wrap=True, selectable=True)
            self.fields[key] = label
            form.addRow(f"{title}:", label)
        self.tokens = QTableWidget(0, len(TOKEN_COLUMNS))
        self.tokens.setHorizontalHeaderLabels(TOKEN_COLUMNS)
        self.tokens.verticalHeader().setVisible(False)
        self.tokens.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.tokens.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.tokens.horizontalHeader().setStretchLastSection(True)
        self.tokens.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.tokens.setMaximumHeight(110)
        self.tokens.setAlternatingRowColors(True)
        self.tokens.setShowGrid(False)
        self.no_tokens = plain_label("none", role="muted")
        form.addRow("SCIM tokens:", self.no_tokens)
        body_outer = QVBoxLayout()
        body_outer.addWidget(body)
        body_outer.addWidget(self.tokens)
        body_outer.addStretch(1)
        page = QWidget()
        page.setLayout(body_outer)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(page)
        outer.addWidget(self.stack, 1)

    # ---- Public API

    def load(self, org_id: str) -> None:
        self.org_id = org_id
        self.title.setText(org_id)
        if self.details is None or self.details.org.id != org_id:
            self.empty.set_message("Loading…")
            self.stack.setCurrentWidget(self.empty)
        self.refresh()

    def refresh(self) -> None:
        if self.org_id is None:
            return
        org_id, api = self.org_id, self._api

        def _fetch(token: CancelToken) -> OrgDetails:
            client = api()
            org = client.get_org(org_id)
            token.raise_if_cancelled()
            return OrgDetails(org, client.get_scim(org_id))

        self.refresh_button.setEnabled(False)
        self._runner.run(_fetch, self._on_loaded, on_failure=self._on_failed, lane=org_id,
                         purpose="org.overview", label=f"Loading {org_id}", parent=self)

    # ---- Slots

    def _on_loaded(self, details: OrgDetails) -> None:
        self.refresh_button.setEnabled(True)
        if details.org.id != self.org_id:
            return
        self.details = details
        org, scim = details.org, details.scim
        self.title.setText(org.name)
        counts = org.user_counts
        f = self.fields
        f["id"].setText(org.id)
        f["domains"].setText(", ".join(org.domains) or "—")
        if scim.enabled:
            active = sum(1 for t in scim.tokens if t.active)
            f["scim"].setText(f"Enabled since {fmt_ts(scim.enabled_at)} · {active} active token(s)")
        else:
            f["scim"].setText("Not enabled")
        f["scim_url"].setText(scim.scim_base_url or org.scim.scim_base_url or "—")
        tpl = template_tip(org)
        if org.template.template_name:
            tpl = f"“{org.template.template_name}”: {tpl}"
        f["template"].setText(tpl)
        f["users"].setText(f"{counts.total} total · {counts.active} active · {counts.inactive} inactive")
        f["sources"].setText(f"{counts.scim} SCIM · {counts.manual} manual · {counts.invite} invite")
        structure = []
        if org.work_area_count is not None:
            structure.append(f"{org.work_area_count} work area(s)")
        if org.group_count is not None:
            structure.append(f"{org.group_count} group(s)")
        f["structure"].setText(" · ".join(structure) or "—")
        self.tokens.setRowCount(len(scim.tokens))
        for row, info in enumerate(scim.tokens):
            state = "active" if info.active else ("revoked" if info.revoked_at else "expired")
            values = (f"…{info.last_four}", fmt_date(info.created_at), fmt_date(info.expires_at),
                      fmt_date(info.last_used_at), state)
            for col, text in enumerate(values):
                item = QTableWidgetItem(text)
                item.setToolTip(f"Fingerprint {info.fingerprint}" if col == 0 else text)
                self.tokens.setItem(row, col, item)
        self.tokens.setVisible(bool(scim.tokens))
        active = sum(1 for t in scim.tokens if t.active)
        self.no_tokens.setText(f"{len(scim.tokens)} ({active} active)" if scim.tokens else "none")
        self.stack.setCurrentIndex(1)
        self.sig_org_loaded.emit(details)

    def _on_failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        text = str(exc) if isinstance(exc, UserFacingError) else "Unexpected error; see the log."
        if self.details is None or self.details.org.id != self.org_id:
            self.empty.set_message("Could not load this organisation", text)
            self.stack.setCurrentWidget(self.empty)
        if not isinstance(exc, UserFacingError):
            errors.show_error(self, exc)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.sig_closed.emit()
            return
        super().keyPressEvent(event)
