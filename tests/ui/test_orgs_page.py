"""Organisations page: fakes for rendering and edge cases, the real sandbox for the real thing."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from PySide6.QtCore import Qt
from pytestqt.modeltest import ModelTester

from console.core.errors import UserFacingError
from console.services.api_client import AdminApiClient
from console.services.api_errors import AuthError
from console.ui.models.orgs_model import OrgsModel
from console.ui.pages.orgs_page import OrgsPage
from console.ui.tasks import TaskRunner
from tests.ui.conftest import FakeAdminApi, org
from tests.ui.test_enable_wizard import shot

DEMO_ORGS = {"contoso", "fabrikam", "northwind", "tailspin"}


def _page(qtbot: Any, api: Any, runner: TaskRunner) -> OrgsPage:
    page = OrgsPage(lambda: api, runner, debounce_ms=0)
    qtbot.addWidget(page)
    return page


def _ids(page: OrgsPage) -> list[str]:
    return [page.proxy.index(r, 1).data() for r in range(page.proxy.rowCount())]


# ---- unit: fake API

def test_model_passes_qt_model_tester(qapp: Any) -> None:
    model = OrgsModel()
    model.set_orgs([org("a"), org("b", scim=True, template="missing")])
    ModelTester(None).check(model)  # type: ignore[arg-type]
    assert model.index(1, 3).data() == "On · 1 token"
    assert model.index(1, 4).data() == "Missing"
    assert "no access" in model.index(1, 4).data(Qt.ItemDataRole.ToolTipRole)


def test_loading_fills_the_table_sorted_by_name(qtbot: Any, runner: TaskRunner) -> None:
    api = FakeAdminApi([org("zeta", "Zeta"), org("alpha", "Alpha", scim=True), org("mid", "Mid")])
    page = _page(qtbot, api, runner)
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=5000) as blocker:
        page.reload()
    assert blocker.args == [3]
    assert _ids(page) == ["alpha", "mid", "zeta"]
    assert page.count_label.text() == "3 organisations"
    assert page.list_stack.currentWidget() is page.table


def test_all_pages_are_fetched(qtbot: Any, runner: TaskRunner) -> None:
    api = FakeAdminApi([org(f"org{i:03d}") for i in range(450)])
    page = _page(qtbot, api, runner)
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=5000) as blocker:
        page.reload()
    assert blocker.args == [450]


def test_remote_text_is_plain_not_html(qtbot: Any, runner: TaskRunner) -> None:
    api = FakeAdminApi([org("evil", "<img src=x onerror=alert(1)>")])
    page = _page(qtbot, api, runner)
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=5000):
        page.reload()
    with qtbot.waitSignal(page.overview.sig_org_loaded, timeout=5000):
        page.open_org("evil")
    assert page.overview.title.text() == "<img src=x onerror=alert(1)>"
    assert page.overview.title.textFormat() == Qt.TextFormat.PlainText


def test_empty_search_result_shows_an_empty_state(qtbot: Any, runner: TaskRunner) -> None:
    page = _page(qtbot, FakeAdminApi([org("contoso")]), runner)
    page.search.setText("nothing-like-this")
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=5000):
        page.reload()
    assert page.list_stack.currentWidget() is page.empty
    assert "nothing-like-this" in page.empty.title.text()


def test_search_is_latest_wins(qtbot: Any, runner: TaskRunner) -> None:
    gate = threading.Event()
    api = FakeAdminApi([org("contoso"), org("slowpoke")], gate=gate)
    page = _page(qtbot, api, runner)
    page.search.setText("slow")
    page.reload()  # blocks in the fake until the gate opens
    qtbot.waitUntil(lambda: api.calls == ["slow"], timeout=5000)
    page.search.setText("contoso")
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=5000):
        page.reload()
    assert _ids(page) == ["contoso"]
    with qtbot.waitSignal(runner.sig_task_dropped, timeout=5000), \
            qtbot.assertNotEmitted(page.sig_orgs_loaded):
        gate.set()
    assert _ids(page) == ["contoso"]


def test_typing_is_debounced_into_one_request(qtbot: Any, runner: TaskRunner) -> None:
    api = FakeAdminApi([org("contoso")])
    page = OrgsPage(lambda: api, runner, debounce_ms=50)
    qtbot.addWidget(page)
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=5000):
        for text in ("c", "co", "con", "cont"):
            page.search.setText(text)
    assert api.calls == ["cont"]


def test_api_error_shows_in_place_not_raised(qtbot: Any, runner: TaskRunner,
                                            shown_errors: list[BaseException]) -> None:
    api = FakeAdminApi(fail_with=AuthError("The operator token was rejected.", status=401,
                                           code="unauthorized"))
    page = _page(qtbot, api, runner)
    with qtbot.waitSignal(runner.sig_task_failed, timeout=5000), qtbot.assertNotEmitted(page.sig_orgs_loaded):
        page.reload()
    assert page.list_stack.currentWidget() is page.empty
    assert page.empty.title.text() == "Could not load organisations"
    assert "operator token was rejected" in page.empty.text.text()
    assert shown_errors == []  # shown in place; no dialog on top


def test_unexpected_error_goes_to_the_presenter(qtbot: Any, runner: TaskRunner,
                                                shown_errors: list[BaseException]) -> None:
    page = _page(qtbot, FakeAdminApi(fail_with=RuntimeError("bug")), runner)
    with qtbot.waitSignal(runner.sig_task_failed, timeout=5000):
        page.reload()
    assert [type(e) for e in shown_errors] == [RuntimeError]


def test_not_connected_is_a_user_facing_message(qtbot: Any, runner: TaskRunner) -> None:
    def no_api() -> Any:
        raise UserFacingError("Not connected to a platform yet.")

    page = OrgsPage(no_api, runner, debounce_ms=0)
    qtbot.addWidget(page)
    with qtbot.waitSignal(runner.sig_task_failed, timeout=5000):
        page.reload()
    assert "Not connected" in page.empty.text.text()


def test_enter_opens_the_overview_of_the_current_row(qtbot: Any, runner: TaskRunner) -> None:
    page = _page(qtbot, FakeAdminApi([org("alpha"), org("beta")]), runner)
    page.show()
    qtbot.waitExposed(page)
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=5000):
        page.reload()
    page.table.setFocus()
    page.table.selectRow(1)
    page.table.setCurrentIndex(page.proxy.index(1, 0))
    with qtbot.waitSignal(page.sig_org_opened, timeout=5000) as opened:
        qtbot.keyClick(page.table, Qt.Key.Key_Return)
    assert opened.args == ["beta"]
    assert page.overview.isVisible()
    assert page.table.isColumnHidden(2)  # compact list beside the overview
    page.close_overview()
    assert not page.table.isColumnHidden(2)


# ---- integration: the real sandbox over HTTP

@pytest.fixture
def sandbox_api(sandbox: Any) -> Any:
    client = AdminApiClient(sandbox.admin_url, sandbox.operator_token)
    yield client
    client.close()


def test_real_sandbox_orgs_are_listed_with_status(qtbot: Any, runner: TaskRunner, sandbox_api: Any) -> None:
    page = _page(qtbot, sandbox_api, runner)
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=20000):
        page.reload()
    ids = set(_ids(page))
    assert ids >= DEMO_ORGS
    rows = {page.proxy.index(r, 1).data(): r for r in range(page.proxy.rowCount())}
    assert page.proxy.index(rows["contoso"], 4).data() == "Ready"
    assert page.proxy.index(rows["fabrikam"], 4).data() != "Ready"
    assert page.proxy.index(rows["northwind"], 3).data().startswith("On")
    assert page.proxy.index(rows["contoso"], 3).data() == "Off"


def test_real_sandbox_search_and_overview(qtbot: Any, runner: TaskRunner, sandbox_api: Any) -> None:
    page = _page(qtbot, sandbox_api, runner)
    page.search.setText("north")
    with qtbot.waitSignal(page.sig_orgs_loaded, timeout=20000):
        page.reload()
    assert _ids(page) == ["northwind"]
    with qtbot.waitSignal(page.overview.sig_org_loaded, timeout=20000) as loaded, \
            qtbot.waitSignal(page.overview.sig_twins_checked, timeout=20000) as twins:
        page.open_org_at(0)
    details = loaded.args[0]
    assert twins.args == [3]  # the seeded log's creates of Jane Doe's, Ravi Patel's and Lucía Gómez's twins
    flag = page.overview.twin_status.text()
    assert flag.startswith("⚠ 3 recent SCIM account(s) look like duplicates of manual accounts (")
    assert all(name in flag for name in ("Jane Doe", "Ravi Patel", "Lucía Gómez"))
    assert flag.endswith("— Reconcile emails… to review")
    shot(page, "org-page-twin-flag")
    assert details.org.id == "northwind"
    assert details.scim.enabled
    fields = page.overview.fields
    assert fields["scim"].text().startswith("Enabled since")
    assert "/scim/v2/northwind" in fields["scim_url"].text()
    assert page.overview.tokens.rowCount() >= 1
    assert page.overview.tokens.item(0, 0).text().startswith("…")
    assert sandbox_api_token_not_shown(page, sandbox_api)


def sandbox_api_token_not_shown(page: OrgsPage, client: Any) -> bool:
    texts = [label.text() for label in page.overview.fields.values()]
    return not any("scim_" in t and len(t) > 20 and "/scim/" not in t for t in texts)


def test_real_sandbox_bad_token_is_explained(qtbot: Any, runner: TaskRunner, sandbox: Any,
                                             shown_errors: list[BaseException]) -> None:
    client = AdminApiClient(sandbox.admin_url, "scop_" + "x" * 30)
    page = _page(qtbot, client, runner)
    try:
        with qtbot.waitSignal(runner.sig_task_failed, timeout=20000) as failed:
            page.reload()
    finally:
        client.close()
    assert isinstance(failed.args[1], AuthError)
    assert page.empty.title.text() == "Could not load organisations"
    assert "x" * 30 not in page.empty.text.text()
