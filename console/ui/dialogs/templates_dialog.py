"""The Templates view of one org: list New User Templates, create and edit them (issue 4 §1).

Seed step 3 asks for a template that applies to all users and grants work areas, so that every
user Entra provisions can open something. The readiness check says whether one exists; this is
where support fixes it when the one-click default ("All users" + the first work area) is not what
the customer wants. Loading and saving run on the org's lane through the TaskRunner; the editor
only collects values.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QHeaderView,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from console.core.errors import UserFacingError
from console.core.models import Template
from console.services.org_setup import TemplatesState, load_templates, save_template
from console.ui.tasks import TaskRunner
from console.ui.widgets.common import plain_label, plain_tip

COLUMNS = ("Name", "Applies to", "Role", "Work areas")


class TemplateEditor(QDialog):
    """Name, "applies to all users", role and a searchable, checkable work-area list."""

    def __init__(self, state: TemplatesState, template: Template | None = None,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.template = template
        self.setWindowTitle("Edit New User Template" if template else "New User Template")
        layout = QVBoxLayout(self)
        form = QFormLayout()
        self.name = QLineEdit(template.name if template else "All users")
        self.name.setMaxLength(200)
        self.applies_to_all = QCheckBox("Applies to all users (required for SCIM)")
        self.applies_to_all.setChecked(template.applies_to_all if template else True)
        self.role = QLineEdit((template.role if template else None) or "member")
        self.role.setMaxLength(64)
        form.addRow("Name:", self.name)
        form.addRow("", self.applies_to_all)
        form.addRow("Role:", self.role)
        layout.addLayout(form)
        layout.addWidget(plain_label("Work areas new users get access to:"))
        self.filter = QLineEdit()
        self.filter.setPlaceholderText("Filter work areas…")
        self.filter.setClearButtonEnabled(True)
        self.filter.textChanged.connect(self._apply_filter)
        layout.addWidget(self.filter)
        self.areas = QListWidget()
        chosen = set(template.work_area_ids) if template else set()
        for area in state.work_areas:
            item = QListWidgetItem(area.name)  # QListWidgetItem text is plain, never rich text
            item.setData(Qt.ItemDataRole.UserRole, area.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if area.id in chosen else Qt.CheckState.Unchecked)
            self.areas.addItem(item)
        self.areas.itemChanged.connect(self._validate)
        layout.addWidget(self.areas, 1)
        self.hint = plain_label("", role="muted", wrap=True)
        layout.addWidget(self.hint)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Save
                                        | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout.addWidget(self.buttons)
        self.name.textChanged.connect(self._validate)
        self.applies_to_all.toggled.connect(self._validate)
        self.resize(460, 520)
        self._validate()

    def selected_area_ids(self) -> list[str]:
        return [self.areas.item(i).data(Qt.ItemDataRole.UserRole) for i in range(self.areas.count())
                if self.areas.item(i).checkState() == Qt.CheckState.Checked]

    def set_areas(self, ids: set[str]) -> None:
        for i in range(self.areas.count()):
            item = self.areas.item(i)
            item.setCheckState(Qt.CheckState.Checked if item.data(Qt.ItemDataRole.UserRole) in ids
                               else Qt.CheckState.Unchecked)

    def values(self) -> dict[str, Any]:
        return {"template_id": self.template.id if self.template else None, "name": self.name.text(),
                "applies_to_all": self.applies_to_all.isChecked(), "role": self.role.text(),
                "work_area_ids": self.selected_area_ids()}

    def _apply_filter(self, text: str) -> None:
        needle = text.casefold().strip()
        for i in range(self.areas.count()):
            item = self.areas.item(i)
            item.setHidden(bool(needle) and needle not in item.text().casefold())

    def _validate(self, *_: Any) -> None:
        save = self.buttons.button(QDialogButtonBox.StandardButton.Save)
        save.setEnabled(bool(self.name.text().strip()))
        if not self.applies_to_all.isChecked():
            self.hint.setText("Only a template that applies to all users makes the SCIM readiness check "
                              "green.")
        elif not self.selected_area_ids():
            self.hint.setText("Grant at least one work area, or provisioned users can open nothing.")
        else:
            self.hint.setText("")


class TemplatesDialog(QDialog):
    """Signals: sig_changed(Template): a template was created or changed (re-check readiness)."""

    sig_changed = Signal(object)

    def __init__(self, org_id: str, api: Callable[[], Any], runner: TaskRunner,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.org_id, self._api, self._runner = org_id, api, runner
        self.state: TemplatesState | None = None
        self.editor: TemplateEditor | None = None
        self.setWindowTitle(f"New User Templates — {org_id}")
        layout = QVBoxLayout(self)
        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QTableWidget.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QTableWidget.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableWidget.SelectionMode.SingleSelection)
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.horizontalHeader().setSectionResizeMode(0, QHeaderView.ResizeMode.Interactive)
        self.table.setColumnWidth(0, 180)
        self.table.itemSelectionChanged.connect(self._update_buttons)
        self.table.doubleClicked.connect(lambda _i: self.edit_selected())
        layout.addWidget(self.table, 1)
        self.status = plain_label("", role="muted", wrap=True)
        layout.addWidget(self.status)
        row = QHBoxLayout()
        self.new_button = QPushButton("New…")
        self.new_button.clicked.connect(self.new_template)
        self.edit_button = QPushButton("Edit…")
        self.edit_button.clicked.connect(self.edit_selected)
        close = QPushButton("Close")
        close.clicked.connect(self.accept)
        row.addWidget(self.new_button)
        row.addWidget(self.edit_button)
        row.addStretch(1)
        row.addWidget(close)
        layout.addLayout(row)
        self.resize(640, 360)
        self._update_buttons()
        self.reload()

    # ---- loading
    def reload(self) -> None:
        api, org_id = self._api, self.org_id
        self.status.setText("Loading templates and work areas…")
        self.new_button.setEnabled(False)
        self._runner.run(lambda _t: load_templates(api(), org_id), self._on_loaded,
                         on_failure=self._on_failed, lane=org_id, purpose=f"templates.load.{org_id}",
                         label="Loading templates", parent=self)

    def _on_loaded(self, state: TemplatesState) -> None:
        self.state = state
        self.table.setRowCount(len(state.templates))
        for r, t in enumerate(state.templates):
            areas = state.area_names(t.work_area_ids)
            values = (t.name, "All users" if t.applies_to_all else "Some users", t.role or "member",
                      ", ".join(areas) if areas else "— none —")
            for c, value in enumerate(values):
                item = QTableWidgetItem(value)
                item.setToolTip(plain_tip(value) or "")
                self.table.setItem(r, c, item)
        all_users = [t for t in state.templates if t.applies_to_all and t.work_area_ids]
        self.status.setText(
            f"{len(state.templates)} template(s), {len(state.work_areas)} work area(s). "
            + ("A template applies to all users." if all_users else
               "No template applies to all users with a work area: create one (New…)."))
        self._update_buttons()

    def _on_failed(self, exc: BaseException) -> None:
        self.status.setText(str(exc) if isinstance(exc, UserFacingError)
                            else "Unexpected error; see the log.")
        self._update_buttons()

    # ---- editing
    def selected(self) -> Template | None:
        rows = self.table.selectionModel().selectedRows()
        if self.state is None or not rows:
            return None
        return self.state.templates[rows[0].row()]

    def new_template(self) -> None:
        self._open_editor(None)

    def edit_selected(self) -> None:
        template = self.selected()
        if template is not None:
            self._open_editor(template)

    def _open_editor(self, template: Template | None) -> None:
        if self.state is None:
            return
        self.editor = TemplateEditor(self.state, template, self)
        self.editor.accepted.connect(self._save_from_editor)
        self.editor.open()

    def _save_from_editor(self) -> None:
        assert self.editor is not None
        values, api, org_id = self.editor.values(), self._api, self.org_id
        self.status.setText("Saving…")
        self.new_button.setEnabled(False)
        self.edit_button.setEnabled(False)
        self._runner.run(lambda _t: save_template(api(), org_id, **values), self._on_saved,
                         on_failure=self._on_failed, lane=org_id, label="Saving template", parent=self)

    def _on_saved(self, template: Template) -> None:
        self.sig_changed.emit(template)
        self.reload()

    def _update_buttons(self) -> None:
        self.new_button.setEnabled(self.state is not None)
        self.edit_button.setEnabled(self.selected() is not None)
