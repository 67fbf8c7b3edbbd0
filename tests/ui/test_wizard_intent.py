"""The Enable SCIM wizard finishes an enable whose answer was lost in an earlier session (issue 16
item 2): the Idempotency-Key lives in the local store, not in the closed wizard."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient
from console.services.paths import AppPaths
from console.services.pending_deliveries import secret_key
from console.services.store import Store
from console.ui.pages.enable_wizard import EnableWizard
from tests.sandbox import fault_fixtures
from tests.sandbox.scim_helpers import create_org
from tests.ui.test_under_faults import ENABLE, TIMEOUT, services

server = fault_fixtures.server
clear_faults = fault_fixtures.clear_faults


@pytest.fixture
def client(server: SandboxServer) -> Iterator[AdminApiClient]:
    with AdminApiClient(server.base_url, server.operator_token) as c:
        yield c


def open_enable_page(qtbot, org_id: str, client: AdminApiClient, store: Store, runner) -> EnableWizard:
    wizard = EnableWizard(org_id, "Lost answer", services(client, store), runner)
    qtbot.addWidget(wizard)
    wizard.show()
    wizard.readiness_page.checks = []
    wizard.next()
    return wizard


def test_a_new_wizard_receives_the_token_the_lost_answer_carried(qtbot, runner, server, client,
                                                                 store) -> None:
    org_id = create_org(server)
    server.faults.set(f"{ENABLE}:reset-after-commit")
    first = open_enable_page(qtbot, org_id, client, store, runner)
    first.enable_page.enable()
    qtbot.waitUntil(lambda: first.enable_page.enable_button.isEnabled(), timeout=TIMEOUT)
    assert first.result is None
    assert "did not reach the console" in first.enable_page.status.text()
    first.close()  # the operator gives up and closes the wizard (or the app)
    server.faults.clear()
    # A new session: a new client and a new store object over the same local database file.
    with AdminApiClient(server.base_url, server.operator_token) as fresh, \
            Store.open(None, AppPaths.default().ensure()) as again:
        second = open_enable_page(qtbot, org_id, fresh, again, runner)
        with qtbot.waitSignal(second.sig_enabled, timeout=TIMEOUT):
            second.enable_page.enable()
        minted = second.result.token_info.id
        assert [t.id for t in fresh.get_scim(org_id).tokens if t.active] == [minted]
        held = second.services.secrets.get(secret_key(org_id, minted, server.instance_id))
        assert held == second.result.token
