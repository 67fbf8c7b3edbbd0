"""Org overview: readiness section, Enable SCIM… launch, token list with Rotate / Revoke (confirmed)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.paths import AppPaths
from console.services.pending_deliveries import secret_key
from console.services.secrets import SecretStore
from console.services.store import Store
from console.ui.pages import org_overview
from console.ui.pages.enable_wizard import EnableWizard, SetupServices
from console.ui.pages.org_overview import OrgOverview
from tests.sandbox.scim_helpers import create_org, enable_scim
from tests.ui.test_enable_wizard import shot

TIMEOUT = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("overview") / "platform.db", seed="small") as s:
        yield s


@pytest.fixture
def overview(qtbot, runner, server) -> Iterator[OrgOverview]:
    client = AdminApiClient(server.base_url, server.operator_token)
    store = Store.open(None, AppPaths.default())
    services = SetupServices(api=lambda: client, secrets=SecretStore.open(), store=store, operator="bob")
    widget = OrgOverview(lambda: client, runner, setup_provider=lambda: services)
    widget.services = services  # for the assertions
    qtbot.addWidget(widget)
    widget.resize(640, 900)
    widget.show()
    yield widget
    runner.shutdown(timeout=10)
    client.close()
    store.close()


def load(qtbot, widget: OrgOverview, org_id: str) -> None:
    with qtbot.waitSignal(widget.sig_org_loaded, timeout=TIMEOUT):
        widget.load(org_id)


def test_readiness_red_for_fabrikam_green_for_contoso(qtbot, overview) -> None:
    with qtbot.waitSignal(overview.sig_readiness_loaded, timeout=TIMEOUT):
        load(qtbot, overview, "fabrikam")
    assert overview.checks[0].level == "red"
    assert "Blocking" in overview.readiness_status.text()
    shot(overview, "0-org-overview-fabrikam")
    assert overview.enable_button.isEnabled()  # the wizard itself blocks on red
    with qtbot.waitSignal(overview.sig_readiness_loaded, timeout=TIMEOUT):
        load(qtbot, overview, "contoso")
    assert {c.level for c in overview.checks} == {"green"}
    assert "Ready" in overview.readiness_status.text()


def test_enable_button_opens_the_wizard_for_this_org(qtbot, overview) -> None:
    load(qtbot, overview, "contoso")
    overview.enable_button.click()
    assert isinstance(overview.wizard, EnableWizard)
    assert overview.wizard.org_id == "contoso"
    assert overview.wizard.isVisible()
    qtbot.waitUntil(lambda: overview.wizard.readiness_page.checks is not None, timeout=TIMEOUT)
    overview.wizard.reject()


def test_enabled_org_lists_tokens_and_rotate_then_revoke_with_confirmation(
        qtbot, overview, server, monkeypatch: pytest.MonkeyPatch) -> None:
    org_id = create_org(server)
    enable_scim(server, org_id)
    load(qtbot, overview, org_id)
    assert not overview.enable_button.isEnabled()
    assert overview.tokens.rowCount() == 1
    assert overview.rotate_button.isEnabled()
    assert not overview.revoke_button.isEnabled()  # nothing selected

    with qtbot.waitSignal(overview.sig_org_loaded, timeout=TIMEOUT):
        overview.rotate_button.click()
    assert overview.tokens.rowCount() == 2
    dialog = overview.token_dialog
    shot(overview, "0-org-overview-tokens")
    shot(dialog, "0-rotated-token-dialog")
    assert dialog is not None
    assert dialog.token.masked
    new_id = overview.details.scim.tokens[-1].id
    held = overview.services.secrets.get(secret_key(org_id, new_id, server.instance_id))
    assert held == dialog.token.value()
    assert not overview.rotate_button.isEnabled()  # two active: revoke before rotating again
    dialog.reject()
    assert dialog.token.value() == ""

    asked: list[str] = []

    def ask(_parent: Any, _title: str, text: str, **_kw: Any) -> bool:
        asked.append(text)
        return len(asked) > 1  # "Cancel" the first time, "Revoke" the second

    monkeypatch.setattr(org_overview.ConfirmDialog, "ask", classmethod(lambda cls, *a, **k: ask(*a, **k)))
    overview.tokens.selectRow(0)
    old = overview.details.scim.tokens[0]
    assert overview.revoke_button.isEnabled()
    overview.revoke_button.click()
    assert len(asked) == 1
    assert f"…{old.last_four}" in asked[0]
    with AdminApiClient(server.base_url, server.operator_token) as c:
        assert sum(t.active for t in c.get_scim(org_id).tokens) == 2  # cancelled: nothing revoked
    with qtbot.waitSignal(overview.sig_org_loaded, timeout=TIMEOUT):
        overview.revoke_button.click()
    with AdminApiClient(server.base_url, server.operator_token) as c:
        assert [t.id for t in c.get_scim(org_id).tokens if t.active] == [new_id]
    assert "revoked" in overview.token_status.text()
    assert overview.tokens.item(0, 4).text() == "revoked"
    actions = [r.action for r in overview.services.store.audit.query()]
    assert actions[:2] == ["scim.revoke", "scim.rotate"]



def test_rotation_answered_after_switching_org_delivers_the_rotated_orgs_token(
        qtbot, overview, server) -> None:
    """The rotate answer arrives after the user opened another org: the dialog is for the org rotated."""
    rotated, other = create_org(server), "contoso"
    enable_scim(server, rotated)
    load(qtbot, overview, rotated)
    server.faults.set(f"POST admin/orgs/{rotated}/scim/tokens:latency=1s")
    try:
        overview.rotate_button.click()
        load(qtbot, overview, other)  # while the rotation is held
        qtbot.waitUntil(lambda: overview.token_dialog is not None, timeout=TIMEOUT)
    finally:
        server.faults.clear()
    dialog = overview.token_dialog
    assert overview.org_id == other
    assert dialog.panel.target.org_id == rotated
    assert rotated in dialog.windowTitle()
    new_id = dialog.panel.target.token_info.id
    held = overview.services.secrets.get(secret_key(rotated, new_id, server.instance_id))
    assert held == dialog.token.value()
    with qtbot.waitSignal(dialog.panel.sig_method_chosen, timeout=TIMEOUT) as chosen:
        dialog.panel.link_button.click()  # the keyring key names the rotated org: the link is made
    assert chosen.args == ["link"]
    assert dialog.panel.link_info.url
    dialog.reject()

def test_opening_the_org_purges_a_token_whose_link_was_opened(qtbot, overview, server) -> None:
    import httpx

    from console.services.scim_setup import create_delivery_link
    from console.services.scim_setup import enable_scim as enable_with_service

    s = overview.services
    org_id = create_org(server)
    result = enable_with_service(s.api(), org_id, s.secrets, s.store.audit, operator="bob",
                                 deliveries=s.deliveries)
    key = secret_key(org_id, result.token_info.id, server.instance_id)
    with qtbot.waitSignal(overview.sig_deliveries_loaded, timeout=TIMEOUT) as blocker:
        load(qtbot, overview, org_id)
    assert [d.token_id for d in blocker.args[0]] == [result.token_info.id]
    assert f"…{result.token_info.last_four}: pending" in overview.delivery_status.text()

    link = create_delivery_link(s.api(), org_id, result.token_info.id, s.secrets, s.store.audit,
                                operator="bob", deliveries=s.deliveries)
    with httpx.Client(trust_env=False) as browser:
        assert browser.post(link.url).status_code == 200  # the customer reveals it
    assert s.secrets.get(key) == result.token
    with qtbot.waitSignal(overview.sig_deliveries_loaded, timeout=TIMEOUT) as blocker:
        overview.refresh()
    assert blocker.args[0] == []
    assert s.secrets.get(key) is None
    assert overview.delivery_status.text() == ""


def test_follow_up_marks_onboarding_done_at_the_first_authenticated_request(qtbot, overview, server) -> None:
    from console.services.connection_test import run_connection_test

    org_id = create_org(server)
    url, token = enable_scim(server, org_id)
    load(qtbot, overview, org_id)
    assert overview.fields["followup"].text() == "Waiting for the customer's first SCIM request"
    assert run_connection_test(url, "scim_" + "b" * 40).kind == "credentials"  # refused: does not count
    load(qtbot, overview, org_id)
    assert overview.details.first_seen is None
    assert run_connection_test(url, token).ok
    load(qtbot, overview, org_id)
    assert overview.details.first_seen is not None
    assert overview.details.first_seen.status == 200
    assert "onboarding done" in overview.fields["followup"].text()


def test_a_token_still_waiting_in_the_keyring_is_delivered_from_the_org_page(qtbot, overview, server) -> None:
    import httpx

    from console.services.scim_setup import enable_scim as enable_with_keyring

    org_id = create_org(server)
    s = overview.services
    result = enable_with_keyring(s.api(), org_id, s.secrets, s.store.audit, operator="bob",
                                 deliveries=s.deliveries)
    with qtbot.waitSignal(overview.sig_deliveries_loaded, timeout=TIMEOUT):
        load(qtbot, overview, org_id)
    assert overview.waiting == {result.token_info.id}
    assert not overview.deliver_button.isEnabled()  # nothing selected
    overview.tokens.selectRow(0)
    assert overview.deliver_button.isEnabled()
    overview.deliver_button.click()
    qtbot.waitUntil(lambda: overview.token_dialog is not None and overview.token_dialog.isVisible(),
                    timeout=TIMEOUT)
    dialog = overview.token_dialog
    assert dialog.token.masked
    assert dialog.token.value() == result.token
    panel = dialog.panel
    assert result.token not in panel.message.toPlainText()
    panel.create_link()
    qtbot.waitUntil(lambda: panel.link_info is not None, timeout=TIMEOUT)
    shot(dialog, "0-deliver-dialog")
    with httpx.Client(trust_env=False) as browser:
        assert result.token in browser.post(panel.link.value()).text
    dialog.reject()
    assert dialog.token.value() == ""
    assert panel.link.value() == ""
    with qtbot.waitSignal(overview.sig_deliveries_loaded, timeout=TIMEOUT):
        overview.refresh()  # the platform says the link was opened: the keyring copy goes
    assert overview.waiting == set()
    assert s.secrets.get(secret_key(org_id, result.token_info.id, server.instance_id)) is None
    overview.tokens.selectRow(0)
    assert not overview.deliver_button.isEnabled()
