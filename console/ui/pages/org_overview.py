"""One organisation at a glance: domains, SCIM status and token metadata, template, user counts,
SCIM readiness, and the SCIM token lifecycle (enable wizard, rotate, revoke with confirmation).

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
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QGroupBox,
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
from console.ui.dialogs.confirm import ConfirmDialog
from console.ui.models.orgs_model import template_tip
from console.ui.tasks import CancelToken, TaskRunner
from console.ui.widgets.common import EmptyState, plain_label, plain_tip, set_status
from console.ui.widgets.delivery_panel import DeliveryPanel, DeliveryTarget
from console.ui.widgets.readiness_view import LEVEL_MARK, ReadinessView
from console.ui.widgets.secret_field import SecretField

TOKEN_COLUMNS = ("Token", "Created", "Expires", "Last used", "State")  # dates in UTC


@dataclass(frozen=True, slots=True)
class OrgDetails:
    org: OrgSummary
    scim: ScimSettings
    first_seen: Any = None  # LogEvent: the customer's first authenticated SCIM request (issue 4 §7)


def find_first_seen(client: Any, org_id: str, pages: int = 4) -> Any:
    """Oldest-first scan of the provisioning log (a few pages) for the first authenticated request."""
    from console.core.onboarding import first_authenticated

    after = 0
    for _ in range(pages):
        events = client.tail_log(org_id, after, limit=500)
        hit = first_authenticated(events)
        if hit is not None or len(events) < 500:
            return hit
        after = events[-1].id
    return None


def fmt_ts(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "—"


def fmt_date(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d") if value else "—"


class DeliveryDialog(QDialog):
    """A token shown once (masked, Reveal, Copy) with the ways to deliver it (link, age file, copy).

    Opened after a rotation and for a token still waiting in the keyring (its wizard was closed
    before delivery). Closing forgets the value here; the keyring keeps it until delivered/expired."""

    def __init__(self, target: DeliveryTarget, intro: str, services: Any, runner: TaskRunner,
                 parent: QWidget | None = None, *, clipboard: Any = None) -> None:
        super().__init__(parent)
        from console.ui.clipboard import SensitiveClipboard

        clipboard = clipboard or SensitiveClipboard.instance()
        self.setWindowTitle(f"Deliver SCIM token …{target.token_info.last_four} — {target.org_id}")
        layout = QVBoxLayout(self)
        layout.addWidget(plain_label(intro, wrap=True))
        layout.addWidget(plain_label("SCIM endpoint (Tenant URL):"))
        layout.addWidget(plain_label(target.scim_base_url, selectable=True))
        self.token = SecretField(clipboard=clipboard)
        self.token.set_value(target.token)
        layout.addWidget(self.token)
        self.panel = DeliveryPanel(services, runner, clipboard)
        self.panel.set_target(target)
        layout.addWidget(self.panel, 1)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.resize(760, 620)
        self.finished.connect(self._forget)

    def _forget(self, _code: int = 0) -> None:
        self.token.clear()
        self.panel.forget()


class OrgOverview(QWidget):
    """Signals:
    sig_org_loaded(OrgDetails): the panel shows fresh data.
    sig_closed(): the user closed the panel.
    """

    sig_org_loaded = Signal(object)
    sig_closed = Signal()

    sig_readiness_loaded = Signal(object)
    sig_open_reconciliation = Signal(str)  # org id: review its email discrepancies
    sig_twins_checked = Signal(int)  # recent SCIM creates that look like a manual account's twin
    sig_token_changed = Signal(str)  # "rotated" | "revoked"
    sig_deliveries_loaded = Signal(object)  # undelivered tokens still in the keyring

    def __init__(self, api_provider: Callable[[], Any], runner: TaskRunner,
                 parent: QWidget | None = None, *, setup_provider: Callable[[], Any] | None = None) -> None:
        super().__init__(parent)
        self._api = api_provider
        self._runner = runner
        #: -> console.ui.pages.enable_wizard.SetupServices; None disables enable/rotate/revoke
        self.setup_provider = setup_provider
        self.org_id: str | None = None
        self.details: OrgDetails | None = None
        self.checks: list[Any] | None = None
        self.wizard: Any = None
        self.token_dialog: DeliveryDialog | None = None
        self.waiting: set[str] = set()  # token ids still in the keyring, waiting for delivery
        self.templates_dialog: Any = None
        self._build()

    def _build(self) -> None:
        outer = QVBoxLayout(self)
        header = QHBoxLayout()
        self.title = plain_label("", role="page-title", selectable=True)
        self.refresh_button = QPushButton("&Refresh")
        self.refresh_button.clicked.connect(self.refresh)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.sig_closed.emit)
        self.enable_button = QPushButton("Enable SCIM…")
        self.enable_button.setEnabled(False)
        self.enable_button.clicked.connect(self.open_enable_wizard)
        header.addWidget(self.title, 1)
        header.addWidget(self.enable_button)
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
                           ("followup", "Customer connected"), ("users", "Users"),
                           ("sources", "Created via"), ("structure", "Structure")):
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
        self.tokens.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.tokens.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.tokens.itemSelectionChanged.connect(self._update_buttons)
        token_buttons = QHBoxLayout()
        self.deliver_button = QPushButton("Deliver…")
        self.deliver_button.setToolTip("Send a token that is still waiting in the keyring to the customer.")
        self.deliver_button.clicked.connect(self.deliver_selected)
        self.rotate_button = QPushButton("Rotate…")
        self.rotate_button.setToolTip("Create a second token; the current one stays active until revoked.")
        self.rotate_button.clicked.connect(self.rotate)
        self.revoke_button = QPushButton("Revoke…")
        self.revoke_button.clicked.connect(self.revoke_selected)
        token_buttons.addStretch(1)
        token_buttons.addWidget(self.deliver_button)
        token_buttons.addWidget(self.rotate_button)
        token_buttons.addWidget(self.revoke_button)
        self.token_status = plain_label("", role="muted", wrap=True)
        self.delivery_status = plain_label("", role="muted", wrap=True)

        self.readiness_box = QGroupBox("SCIM readiness")
        box_layout = QVBoxLayout(self.readiness_box)
        self.readiness_view = ReadinessView()
        box_layout.addWidget(self.readiness_view)
        row = QHBoxLayout()
        self.readiness_status = plain_label("", role="muted", wrap=True)
        self.readiness_button = QPushButton("Check readiness")
        self.readiness_button.clicked.connect(self.check_readiness)
        row.addWidget(self.readiness_status, 1)
        self.templates_button = QPushButton("Templates…")
        self.templates_button.setToolTip("List, create and edit this organisation's New User Templates")
        self.templates_button.clicked.connect(self.open_templates)
        self.reconcile_button = QPushButton("Reconcile emails…")
        self.reconcile_button.setToolTip("Find duplicate and mismatched accounts on the Reconciliation page")
        self.reconcile_button.clicked.connect(self._open_reconciliation)
        row.addWidget(self.reconcile_button)
        row.addWidget(self.templates_button)
        row.addWidget(self.readiness_button)
        box_layout.addLayout(row)

        body_outer = QVBoxLayout()
        body_outer.addWidget(body)
        body_outer.addWidget(self.tokens)
        body_outer.addLayout(token_buttons)
        body_outer.addWidget(self.token_status)
        body_outer.addWidget(self.delivery_status)
        self.twin_status = plain_label("", wrap=True)  # the live twin flag (issue 14)
        body_outer.addWidget(self.twin_status)
        body_outer.addWidget(self.readiness_box)
        body_outer.addStretch(1)
        page = QWidget()
        page.setLayout(body_outer)
        self.stack.addWidget(self.empty)
        self.stack.addWidget(page)
        outer.addWidget(self.stack, 1)

    # ---- Public API

    def load(self, org_id: str) -> None:
        if org_id != self.org_id:
            self._show_checks(None)
            self.token_status.setText("")
            self.delivery_status.setText("")
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
            scim = client.get_scim(org_id)
            first = find_first_seen(client, org_id) if scim.enabled else None
            return OrgDetails(org, scim, first)

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
        if not scim.enabled:
            f["followup"].setText("—")
        elif details.first_seen is not None:
            f["followup"].setText(f"✔ First authenticated SCIM request {fmt_ts(details.first_seen.ts)} "
                                  "— onboarding done")
        else:
            f["followup"].setText("Waiting for the customer's first SCIM request")
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
                item.setToolTip(plain_tip(f"Fingerprint {info.fingerprint}" if col == 0 else text) or "")
                self.tokens.setItem(row, col, item)
        self.tokens.setVisible(bool(scim.tokens))
        active = sum(1 for t in scim.tokens if t.active)
        self.no_tokens.setText(f"{len(scim.tokens)} ({active} active)" if scim.tokens else "none")
        self.stack.setCurrentIndex(1)
        self._update_buttons()
        if scim.enabled:
            self.refresh_deliveries()
            self.check_twins()
        else:
            self.twin_status.setText("")
        if not scim.enabled and self.checks is None:
            self.check_readiness()  # onboarding candidates: show readiness without a click
        self.sig_org_loaded.emit(details)

    def check_twins(self) -> None:
        """Flag recent SCIM creates that look like twins of manual accounts (``live_twins``)."""
        from console.services.reconcile import live_twins

        org_id, api = self.org_id, self._api
        if org_id is None:
            return

        def _check(_t: CancelToken) -> tuple[str, list[Any]]:
            return org_id, live_twins.recent_alerts(api(), org_id)

        self._runner.run(_check, self._on_twins, on_failure=lambda _e: self.twin_status.setText(""),
                         lane=org_id, purpose="org.twins", label=f"Checking {org_id} for duplicates",
                         parent=self)

    def _on_twins(self, result: tuple[str, list[Any]]) -> None:
        org_id, alerts = result
        if org_id != self.org_id:
            return
        if not alerts:
            self.twin_status.setText("")
        else:
            names = ", ".join(a.original.display_name or a.original.user_name for a in alerts[:3])
            more = f" and {len(alerts) - 3} more" if len(alerts) > 3 else ""
            set_status(self.twin_status, f"⚠ {len(alerts)} recent SCIM account(s) look like duplicates of "
                                         f"manual accounts ({names}{more}) — Reconcile emails… to review",
                       error=True)
            self.twin_status.setToolTip("\n".join(a.text for a in alerts))
        self.sig_twins_checked.emit(len(alerts))

    def _on_failed(self, exc: BaseException) -> None:
        self.refresh_button.setEnabled(True)
        text = str(exc) if isinstance(exc, UserFacingError) else "Unexpected error; see the log."
        if self.details is None or self.details.org.id != self.org_id:
            self.empty.set_message("Could not load this organisation", text)
            self.stack.setCurrentWidget(self.empty)
        if not isinstance(exc, UserFacingError):
            errors.show_error(self, exc)

    # ---- SCIM readiness and token lifecycle

    def _update_buttons(self) -> None:
        d = self.details
        can = self.setup_provider is not None and d is not None and d.org.id == self.org_id
        enabled = bool(d and d.scim.enabled)
        self.enable_button.setEnabled(can and not enabled)
        self.enable_button.setToolTip("" if self.setup_provider is not None
                                      else "Available once the keyring and the local database are open.")
        active = sum(1 for t in d.scim.tokens if t.active) if d else 0
        self.rotate_button.setEnabled(can and enabled and active < 2)
        selected = self.selected_token()
        self.revoke_button.setEnabled(can and selected is not None and selected.active)
        self.deliver_button.setEnabled(can and selected is not None and selected.active
                                       and selected.id in self.waiting)

    def selected_token(self) -> Any:
        rows = {i.row() for i in self.tokens.selectedIndexes()}
        if self.details is None or len(rows) != 1:
            return None
        row = rows.pop()
        tokens = self.details.scim.tokens
        return tokens[row] if row < len(tokens) else None

    def refresh_deliveries(self) -> None:
        """Purge delivered/expired tokens from the keyring and show what still waits for the customer."""
        if self.setup_provider is None or self.org_id is None:
            return
        try:
            s = self.setup_provider()
        except UserFacingError:
            return  # services still opening: the next refresh does it
        from console.services.scim_setup import refresh_deliveries

        org_id = self.org_id

        def _refresh(_t: CancelToken) -> tuple[str, str, list[Any]]:
            refresh_deliveries(s.api(), s.secrets, s.deliveries)
            return org_id, s.token_location, [d for d in s.deliveries.list(org_id) if d.purged_at is None]

        self._runner.run(_refresh, self._on_deliveries, on_failure=lambda _e: None, lane=org_id,
                         purpose="org.deliveries", label="Checking token deliveries", parent=self)

    def _on_deliveries(self, result: tuple[str, str, list[Any]]) -> None:
        org_id, location, waiting = result
        if org_id != self.org_id:
            return
        self.waiting = {d.token_id for d in waiting}
        self.delivery_status.setText("\n".join(
            f"Token …{d.last_four}: {d.state}, kept in {location} until delivered "
            f"(at most until {fmt_ts(d.expires_at)})." for d in waiting))
        self._update_buttons()
        self.sig_deliveries_loaded.emit(waiting)

    def check_readiness(self) -> None:
        if self.org_id is None:
            return
        from console.services.org_setup import load_readiness

        org_id, api = self.org_id, self._api
        self.readiness_button.setEnabled(False)
        self.readiness_status.setText("Checking templates and users…")
        self._runner.run(lambda t: (org_id, load_readiness(api(), org_id, progress=t.progress)),
                         self._on_readiness,
                         on_progress=lambda _d, _t, text: self.readiness_status.setText(f"Checking: {text}…"),
                         on_failure=self._on_readiness_failed, lane=org_id, purpose="org.readiness",
                         label=f"Checking readiness of {org_id}", parent=self)

    def _on_readiness(self, result: tuple[str, list[Any]]) -> None:
        org_id, checks = result
        self.readiness_button.setEnabled(True)
        if org_id != self.org_id:
            return
        self._show_checks(checks)
        self.sig_readiness_loaded.emit(checks)

    def _on_readiness_failed(self, exc: BaseException) -> None:
        self.readiness_button.setEnabled(True)
        self.readiness_status.setText(str(exc) if isinstance(exc, UserFacingError) else "Could not check.")

    def _show_checks(self, checks: list[Any] | None) -> None:
        from console.core.readiness import overall
        self.checks = checks
        self.readiness_view.set_checks(checks)
        if checks is None:
            self.readiness_status.setText("Not checked yet.")
            return
        self.readiness_status.setText(f"Overall: {LEVEL_MARK[overall(checks)]}")

    def _open_reconciliation(self) -> None:
        if self.org_id is not None:
            self.sig_open_reconciliation.emit(self.org_id)

    def open_templates(self) -> None:
        if self.org_id is None:
            return
        from console.ui.dialogs.templates_dialog import TemplatesDialog

        self.templates_dialog = TemplatesDialog(self.org_id, self._api, self._runner, self)
        self.templates_dialog.sig_changed.connect(lambda _t: (self.check_readiness(), self.refresh()))
        self.templates_dialog.open()

    def _services(self) -> Any:
        """The setup services, or None (after telling the user why) when they are not ready."""
        if self.setup_provider is None:
            return None
        try:
            return self.setup_provider()
        except UserFacingError as exc:
            errors.show_error(self, exc)
            return None

    def open_enable_wizard(self) -> None:
        services = self._services() if self.details is not None else None
        if services is None or self.details is None:
            return
        from console.ui.pages.enable_wizard import EnableWizard

        org = self.details.org
        self.wizard = EnableWizard(org.id, org.name, services, self._runner, self)
        self.wizard.sig_enabled.connect(lambda _r: self.refresh())
        self.wizard.finished.connect(lambda _c: self.refresh())
        self.wizard.show()

    def rotate(self) -> None:
        s, org_id = self._services(), self.org_id
        if s is None or org_id is None:
            return
        from console.services.scim_setup import rotate_token

        self.rotate_button.setEnabled(False)
        self._runner.run(lambda _t: rotate_token(s.api(), org_id, s.secrets, s.store.audit,
                                                 operator=s.operator, deliveries=s.deliveries,
                                                 profile_id=s.profile_id),
                         lambda result: self._on_rotated(s, result), on_failure=self._on_token_failed,
                         lane=org_id, label=f"Rotating the SCIM token of {org_id}", parent=self)

    def _on_rotated(self, s: Any, result: Any) -> None:
        info = result.token_info
        self.token_status.setText(f"New token …{info.last_four} created; the old one stays "
                                  "active until you revoke it.")
        self._open_delivery(s, result.org_id, result.token, info, result.scim_base_url, (
            f"Token …{info.last_four} (fingerprint {info.fingerprint}) is active alongside the old one. "
            "Deliver it, then revoke the old token once the customer has switched."))
        self.sig_token_changed.emit("rotated")
        self.refresh()

    def _open_delivery(self, s: Any, org_id: str, token: str, info: Any, scim_url: str, intro: str) -> None:
        """Deliver ``org_id``'s token: the org the job was for, even if the page has moved on since."""
        details = self.details if self.details is not None and self.details.org.id == org_id else None
        name = (details.org.name if details else None) or org_id
        target = DeliveryTarget(org_id, name, scim_url, info, token)
        self.token_dialog = DeliveryDialog(target, intro, s, self._runner, self)
        self.token_dialog.panel.sig_confirmed.connect(self.refresh_deliveries)
        self.token_dialog.show()

    def deliver_selected(self) -> None:
        """Deliver a token still waiting in the keyring (read there on a worker)."""
        info, s, org_id = self.selected_token(), self._services(), self.org_id
        if info is None or s is None or org_id is None or info.id not in self.waiting:
            return
        from console.services.scim_setup import pending_token

        url = (self.details.scim.scim_base_url if self.details else None) or ""
        self.deliver_button.setEnabled(False)
        def _read(token: str) -> None:
            self._update_buttons()
            self._open_delivery(s, org_id, token, info, url,
                                f"Token …{info.last_four} has not reached the customer yet.")

        self._runner.run(lambda _t: pending_token(s.secrets, org_id, info.id, client=s.api(),
                                                  deliveries=s.deliveries), _read,
                         on_failure=self._on_token_failed, lane=org_id,
                         label="Reading the token from the keyring", parent=self)

    def revoke_selected(self) -> None:
        info = self.selected_token()
        if info is None or self.org_id is None:
            return
        if not ConfirmDialog.ask(self, "Revoke SCIM token",
                                 f"Revoke token …{info.last_four} of {self.org_id}? Entra stops provisioning "
                                 "at once if it still uses this token. This cannot be undone."):
            return
        s, org_id, token_id = self._services(), self.org_id, info.id
        if s is None:
            return
        from console.services.scim_setup import revoke_token

        self.revoke_button.setEnabled(False)
        self._runner.run(lambda _t: revoke_token(s.api(), org_id, token_id, s.secrets, s.store.audit,
                                                 operator=s.operator, deliveries=s.deliveries,
                                                 profile_id=s.profile_id),
                         self._on_revoked, on_failure=self._on_token_failed, lane=org_id,
                         label=f"Revoking a SCIM token of {org_id}", parent=self)

    def _on_revoked(self, info: Any) -> None:
        self.token_status.setText(f"Token …{info.last_four} revoked.")
        self.sig_token_changed.emit("revoked")
        self.refresh()

    def _on_token_failed(self, exc: BaseException) -> None:
        self._update_buttons()
        self.token_status.setText(str(exc) if isinstance(exc, UserFacingError) else "Unexpected error.")
        if not isinstance(exc, UserFacingError):
            errors.show_error(self, exc)

    def keyPressEvent(self, event: Any) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.sig_closed.emit()
            return
        super().keyPressEvent(event)
