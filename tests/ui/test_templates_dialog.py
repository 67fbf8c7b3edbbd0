"""The Templates view (issue 4 §1): list, create, edit with the work-area picker, against a real sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from PySide6.QtCore import Qt

from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.ui.dialogs.templates_dialog import TemplatesDialog
from tests.sandbox.scim_helpers import create_org
from tests.ui.test_enable_wizard import shot

TIMEOUT = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("templates") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture
def client(server: SandboxServer) -> Iterator[AdminApiClient]:
    with AdminApiClient(server.base_url, server.operator_token) as c:
        yield c


def open_dialog(qtbot: Any, runner: Any, org_id: str, client: AdminApiClient) -> TemplatesDialog:
    dialog = TemplatesDialog(org_id, lambda: client, runner)
    qtbot.addWidget(dialog)
    dialog.show()
    qtbot.waitUntil(lambda: dialog.state is not None, timeout=TIMEOUT)
    return dialog


def test_lists_templates_with_work_area_names(qtbot, runner, client) -> None:
    dialog = open_dialog(qtbot, runner, "fabrikam", client)
    names = [dialog.table.item(r, 0).text() for r in range(dialog.table.rowCount())]
    expected = [t.name for t in client.iter_templates("fabrikam")]
    assert names
    assert names == expected
    areas = {w.id: w.name for w in client.iter_work_areas("fabrikam")}
    first = next(client.iter_templates("fabrikam"))
    assert dialog.table.item(0, 3).text() == ", ".join(areas[i] for i in first.work_area_ids)
    assert "No template applies to all users" in dialog.status.text()
    shot(dialog, "templates-fabrikam")


def test_create_with_picker_makes_readiness_green(qtbot, runner, client, server) -> None:
    from console.core.readiness import GREEN, RED
    from console.services.org_setup import load_readiness

    org_id = create_org(server)
    a1 = client.create_work_area(org_id, "Front desk")
    a2 = client.create_work_area(org_id, "Kitchen <b>2</b>")
    assert load_readiness(client, org_id)[0].level == RED
    dialog = open_dialog(qtbot, runner, org_id, client)
    assert dialog.table.rowCount() == 0
    changed: list[Any] = []
    dialog.sig_changed.connect(changed.append)
    dialog.new_template()
    editor = dialog.editor
    assert editor is not None
    assert editor.applies_to_all.isChecked()
    assert editor.hint.text().startswith("Grant at least one work area")
    editor.filter.setText("kitch")
    visible = [editor.areas.item(i).text() for i in range(editor.areas.count())
               if not editor.areas.item(i).isHidden()]
    assert visible == ["Kitchen <b>2</b>"]  # plain text, filterable
    editor.set_areas({a2.id})
    assert editor.hint.text() == ""
    editor.name.setText("Everyone")
    shot(editor, "templates-editor")
    editor.accept()
    qtbot.waitUntil(lambda: bool(changed) and dialog.table.rowCount() == 1, timeout=TIMEOUT)
    [tpl] = list(client.iter_templates(org_id))
    assert (tpl.name, tpl.applies_to_all, tpl.work_area_ids) == ("Everyone", True, (a2.id,))
    assert dialog.table.item(0, 3).text() == "Kitchen <b>2</b>"
    assert load_readiness(client, org_id)[0].level == GREEN

    # Edit: add the other area, rename; the platform has the change.
    dialog.table.selectRow(0)
    dialog.edit_selected()
    editor = dialog.editor
    assert editor.name.text() == "Everyone"
    assert editor.selected_area_ids() == [a2.id]
    [front] = [editor.areas.item(i) for i in range(editor.areas.count())
               if editor.areas.item(i).data(Qt.ItemDataRole.UserRole) == a1.id]
    front.setCheckState(Qt.CheckState.Checked)
    editor.name.setText("Everyone (all areas)")
    editor.accept()
    qtbot.waitUntil(lambda: len(changed) == 2 and dialog.table.item(0, 0).text() == "Everyone (all areas)",
                    timeout=TIMEOUT)
    [tpl] = list(client.iter_templates(org_id))
    assert set(tpl.work_area_ids) == {a1.id, a2.id}


def test_save_failure_is_shown_and_nothing_changes(qtbot, runner, client, server) -> None:
    from PySide6.QtWidgets import QDialogButtonBox

    org_id = create_org(server)
    client.create_work_area(org_id, "Only")
    dialog = open_dialog(qtbot, runner, org_id, client)
    dialog.new_template()
    editor = dialog.editor
    editor.name.setText("x" * 201)  # the line edit caps at 200 characters (the platform's limit)
    assert len(editor.name.text()) == 200
    editor.name.setText("   ")
    assert not editor.buttons.button(QDialogButtonBox.StandardButton.Save).isEnabled()
    editor.name.setText("All users")
    # The work area vanished on the platform between loading and saving: its 422 reaches the status line.
    item = editor.areas.item(0)
    item.setData(Qt.ItemDataRole.UserRole, "wa_deleted_meanwhile")
    item.setCheckState(Qt.CheckState.Checked)
    editor.accept()
    qtbot.waitUntil(lambda: dialog.status.text() not in ("Saving…", "") and dialog.new_button.isEnabled(),
                    timeout=TIMEOUT)
    assert "Some work areas do not exist in this organisation" in dialog.status.text()
    assert list(client.iter_templates(org_id)) == []
