"""The Enable SCIM wizard driven with pytest-qt against a real sandbox over HTTP.

Screenshots of each page go to ``$SCIM_SCREENSHOTS_DIR`` when set (looked at by hand)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from PySide6.QtCore import QCoreApplication
from PySide6.QtGui import QGuiApplication
from PySide6.QtWidgets import QWidget

from console.sandbox.server import SandboxServer
from console.services.api_client import AdminApiClient, RetryPolicy
from console.services.logging_setup import configure_logging, shutdown_logging
from console.services.paths import AppPaths
from console.services.pending_deliveries import PendingDeliveries, secret_key
from console.services.secrets import SecretStore
from console.services.store import Store
from console.ui.clipboard import SENSITIVE_HINTS, SensitiveClipboard
from console.ui.pages.enable_wizard import EnableWizard, SetupServices
from tests.sandbox.scim_helpers import create_org
from tests.services.test_scim_setup import DropFirstResponses

TIMEOUT = 20_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SandboxServer]:
    with SandboxServer(tmp_path_factory.mktemp("wizard") / "platform.db", seed="small") as s:
        yield s


_CLIENTS: list[AdminApiClient] = []


@pytest.fixture(autouse=True)
def _close_clients(runner: Any) -> Iterator[None]:
    """Close the API clients the test made (every op has finished by then)."""
    yield
    while _CLIENTS:
        _CLIENTS.pop().close()


def make_services(server: SandboxServer, store: Store, secrets: Any = None,
                  transport: httpx.BaseTransport | None = None) -> SetupServices:
    kw: dict[str, Any] = {"sleep": lambda _s: None}
    if transport is not None:
        kw.update(transport=transport, retries=RetryPolicy.none())
    client = AdminApiClient(server.base_url, server.operator_token, **kw)
    _CLIENTS.append(client)
    return SetupServices(api=lambda: client, secrets=secrets or SecretStore.open(), store=store,
                         operator="alice@support", profile_id=None)


def shot(widget: QWidget, name: str) -> None:
    out = os.environ.get("SCIM_SCREENSHOTS_DIR")
    if out:
        QCoreApplication.processEvents()  # children added to a visible layout show on the next loop pass
        Path(out).mkdir(parents=True, exist_ok=True)
        assert widget.grab().save(str(Path(out) / f"{name}.png"))


@pytest.fixture
def clipboard(qapp: Any) -> Iterator[SensitiveClipboard]:
    cb = SensitiveClipboard(clear_after_ms=45_000)
    yield cb
    cb.clear_if_ours()
    cb.deleteLater()


def open_wizard(qtbot, org_id: str, name: str, services: SetupServices, runner, clipboard) -> EnableWizard:
    wizard = EnableWizard(org_id, name, services, runner, clipboard=clipboard)
    qtbot.addWidget(wizard)
    wizard.show()
    return wizard


@pytest.fixture
def file_logging() -> Iterator[None]:
    configure_logging(AppPaths.default(), "DEBUG", stderr=False)
    yield
    shutdown_logging()


def test_happy_path_through_every_page(qtbot, runner, server, store, clipboard, file_logging,
                                       console_home: Path, tmp_path: Path) -> None:
    services = make_services(server, store)
    wizard = open_wizard(qtbot, "contoso", "Contoso Ltd", services, runner, clipboard)
    page = wizard.readiness_page
    qtbot.waitUntil(lambda: page.checks is not None, timeout=TIMEOUT)
    assert next(c.level for c in page.checks) == "green"
    assert page.isComplete()
    assert "Ready" in page.status.text()
    shot(wizard, "1-readiness-contoso")

    wizard.next()
    enable = wizard.enable_page
    assert not enable.isComplete()
    shot(wizard, "2a-enable-before")
    with qtbot.waitSignals([enable.completeChanged, wizard.sig_enabled], timeout=TIMEOUT):
        enable.enable_button.click()
    result = wizard.result
    assert enable.token.masked
    assert enable.token.value() == result.token
    assert result.token not in enable.status.text()
    assert result.scim_base_url == enable.url.text()
    held = services.secrets.get(secret_key("contoso", result.token_info.id, server.instance_id))
    assert held == result.token
    shot(wizard, "2b-enable-done")

    enable.token.copy()  # Copy: sensitive hints, our value on the clipboard
    mime = QGuiApplication.clipboard().mimeData()
    assert mime.text() == result.token
    assert bytes(mime.data("x-kde-passwordManagerHint")) == SENSITIVE_HINTS["x-kde-passwordManagerHint"]

    wizard.next()
    assert not wizard.button(wizard.WizardButton.BackButton).isEnabled()  # committed
    test = wizard.test_page
    test.run_test(token="scim_" + "w" * 40)  # a wrong token first: Entra's credentials wording
    qtbot.waitUntil(lambda: test.outcome is not None, timeout=TIMEOUT)
    assert test.outcome.kind == "credentials"
    assert test.status.text().startswith("You appear to have entered invalid credentials")
    shot(wizard, "3a-test-wrong-token")
    test.outcome = None
    test.test_button.click()
    qtbot.waitUntil(lambda: test.outcome is not None, timeout=TIMEOUT)
    assert test.outcome.ok, test.outcome
    assert "✔ GET /scim/v2/contoso/Users?filter=userName eq" in test.details.text()
    shot(wizard, "3b-test-ok")

    wizard.next()
    deliver = wizard.deliver_page.panel
    assert result.token not in deliver.message.toPlainText()
    deliver.link_button.click()
    qtbot.waitUntil(lambda: deliver.link_info is not None, timeout=TIMEOUT)
    url = deliver.link.value()
    assert deliver.link.masked
    assert url.startswith(server.base_url + "/s/")
    message = deliver.message.toPlainText()
    assert result.scim_base_url in message
    assert result.token not in message
    assert url not in message
    shot(wizard, "4-deliver-link")
    with httpx.Client(trust_env=False) as browser:
        assert result.token in browser.post(url).text
        assert browser.post(url).status_code == 410

    wizard.next()
    assert "SCIM is enabled for Contoso Ltd" in wizard.done_page.summary.text()
    assert result.token not in wizard.done_page.summary.text()
    done = wizard.done_page
    done.save_guide(str(tmp_path / "guide.html"))
    qtbot.waitUntil(lambda: bool(done.saved), timeout=TIMEOUT)
    guide_html = (tmp_path / "guide.html").read_text(encoding="utf-8")
    guide_pdf = (tmp_path / "guide.pdf").read_bytes()
    assert result.scim_base_url in guide_html
    assert "Test Connection" in guide_html
    assert guide_pdf.startswith(b"%PDF")
    assert len(guide_pdf) > 5_000
    for data in (guide_html.encode(), guide_pdf):
        assert result.token.encode() not in data
        assert url.encode() not in data
    shot(wizard, "5-done")
    wizard.accept()
    assert enable.token.value() == ""
    assert deliver.link.value() == ""
    assert QGuiApplication.clipboard().text() != result.token  # cleared on close (it was still ours)
    with AdminApiClient(server.base_url, server.operator_token) as c:
        assert len(c.get_scim("contoso").tokens) == 1

    # Leak scan: logs, local DB (+WAL), settings under the console home and the platform's DB.
    shutdown_logging()
    files = [p for p in console_home.rglob("*") if p.is_file()]
    assert any(".log" in p.name for p in files)
    platform = [p for p in server.db_path.parent.iterdir() if p.name.startswith(server.db_path.name)]
    for path in files + platform:
        data = path.read_bytes()
        for secret in (result.token, result.token[5:25], url):
            assert secret.encode() not in data, f"secret leaked into {path}"
    for record in store.audit.query():
        assert result.token not in repr(record)
        assert url not in repr(record)


def test_missing_template_blocks_and_is_fixed_inline(qtbot, runner, server, store, clipboard) -> None:
    wizard = open_wizard(qtbot, "fabrikam", "Fabrikam Inc", make_services(server, store), runner, clipboard)
    page = wizard.readiness_page
    qtbot.waitUntil(lambda: page.checks is not None, timeout=TIMEOUT)
    assert page.checks[0].level == "red"
    assert not page.isComplete()
    assert page.fix_button.isVisible()
    assert "Fix the blocking item" in page.status.text()
    shot(wizard, "1b-readiness-fabrikam-red")
    with qtbot.waitSignal(page.completeChanged, timeout=TIMEOUT):
        page.fix_button.click()
    assert page.checks[0].level == "green"
    assert page.isComplete()
    assert wizard.button(wizard.WizardButton.NextButton).isEnabled()


def test_connection_drop_during_enable_still_one_token(qtbot, runner, server, store, clipboard) -> None:
    org_id = create_org(server)
    drop = DropFirstResponses(1)
    wizard = open_wizard(qtbot, org_id, "Dropped", make_services(server, store, transport=drop), runner,
                         clipboard)
    with qtbot.waitSignal(wizard.enable_page.completeChanged, timeout=TIMEOUT):
        wizard.enable_page.enable()
    assert drop.forwarded == 1
    assert wizard.result.attempts == 2
    with AdminApiClient(server.base_url, server.operator_token) as c:
        assert [t.id for t in c.get_scim(org_id).tokens] == [wizard.result.token_info.id]


def test_keyring_unavailable_refuses_and_mints_nothing(qtbot, runner, server, store, clipboard) -> None:
    org_id = create_org(server)
    services = make_services(server, store, secrets=SecretStore.in_memory("no OS keyring"))
    wizard = open_wizard(qtbot, org_id, "No keyring", services, runner, clipboard)
    page = wizard.enable_page
    page.enable()
    qtbot.waitUntil(lambda: page.enable_button.isEnabled(), timeout=TIMEOUT)
    assert "cannot be kept safely" in page.status.text()
    assert "Nothing was changed" in page.status.text()
    assert wizard.result is None
    assert not page.isComplete()
    with AdminApiClient(server.base_url, server.operator_token) as c:
        assert c.get_scim(org_id).enabled is False
    assert PendingDeliveries(store.engine).list(org_id) == []


def test_clipboard_clears_only_our_value(qtbot, qapp) -> None:
    cb = SensitiveClipboard(clear_after_ms=50)
    clip = QGuiApplication.clipboard()
    cb.copy("scim_secret_value_1")
    qtbot.waitUntil(lambda: clip.text() == "", timeout=5_000)
    cb.copy("scim_secret_value_2")
    clip.setText("something the user copied")
    qtbot.waitUntil(lambda: not cb.holding, timeout=5_000)
    assert clip.text() == "something the user copied"
    cb.deleteLater()


def test_entra_export_prediction_on_the_readiness_page(qtbot, runner, server, store, clipboard,
                                                      tmp_path: Path) -> None:
    from tests.core.test_preflight import export

    with AdminApiClient(server.base_url, server.operator_token) as c:
        known = next(iter(c.iter_users("northwind")))
    rows = [(known.user_name.upper(), "Known", known.primary_email or "", "o1", True),
            ("someone.new@northwind.example", "New", "someone.new@northwind.example", "o2", True),
            ("x123@northwind.onmicrosoft.com", "Twin", known.primary_email or "", "o3", True),
            ("<b>html</b>@x.com", "<img src=x>", "", "o4", True)]
    path = tmp_path / "users.csv"
    path.write_bytes(export(rows))
    wizard = open_wizard(qtbot, "northwind", "Northwind", make_services(server, store), runner, clipboard)
    page = wizard.readiness_page
    qtbot.waitUntil(lambda: page.checks is not None, timeout=TIMEOUT)
    page.load_export(str(path))
    qtbot.waitUntil(lambda: page.predictions is not None, timeout=TIMEOUT)
    assert "1 will match an existing account, 2 will be created new, 1 will become duplicates" in \
        page.prediction_summary.text()
    table = page.prediction_table
    assert table.rowCount() == 4
    assert table.item(0, 1).text() == "duplicate"
    assert table.item(0, 0).text() == "x123@northwind.onmicrosoft.com"
    assert table.item(0, 2).text() == known.user_name
    shot(wizard, "1c-readiness-prediction")

    path.write_bytes(b"name,email\nA,a@x.com\n")
    page.predictions = None
    page.load_export(str(path))
    qtbot.waitUntil(lambda: page.export_button.isEnabled(), timeout=TIMEOUT)
    assert "userPrincipalName" in page.prediction_summary.text()


def test_deliver_as_age_file_with_a_passphrase_for_a_second_channel(qtbot, runner, server, store, clipboard,
                                                                    tmp_path: Path) -> None:
    import pyrage

    org_id = create_org(server)
    services = make_services(server, store)
    wizard = open_wizard(qtbot, org_id, "Age Corp", services, runner, clipboard)
    wizard.readiness_page.checks = []  # readiness is covered above; go straight to Enable
    wizard.next()
    with qtbot.waitSignal(wizard.enable_page.completeChanged, timeout=TIMEOUT):
        wizard.enable_page.enable()
    result = wizard.result
    wizard.next()
    wizard.test_page.run_test()  # the Test page is complete once a test has run
    qtbot.waitUntil(lambda: wizard.test_page.outcome is not None, timeout=TIMEOUT)
    wizard.next()
    deliver = wizard.deliver_page.panel
    assert wizard.currentPage() is wizard.deliver_page
    deliver.age_button.setChecked(True)
    assert deliver.age_box.isVisible()
    path = tmp_path / "scim-token.age"
    deliver.save_age_file(str(path))
    qtbot.waitUntil(lambda: deliver.age_delivery is not None, timeout=TIMEOUT)
    phrase = deliver.passphrase.value()
    assert deliver.passphrase.masked
    assert deliver.passphrase.isVisible()
    assert pyrage.passphrase.decrypt(path.read_bytes(), phrase).decode() == result.token
    message = deliver.message.toPlainText()
    assert "passphrase by phone or text message" in message
    assert phrase not in message
    assert result.token not in message
    assert phrase not in deliver.status.text()
    assert wizard.deliver_page.isComplete()
    shot(wizard, "4b-deliver-age-passphrase")
    deliver.confirm.setChecked(True)
    qtbot.waitUntil(lambda: "removed from the keyring" in deliver.status.text(), timeout=TIMEOUT)
    assert services.secrets.get(secret_key(org_id, result.token_info.id, server.instance_id)) is None
    wizard.next()
    assert "passphrase by a second channel" in wizard.done_page.summary.text()
    wizard.accept()
    assert deliver.passphrase.value() == ""


def _to_test_page(qtbot, wizard) -> Any:
    wizard.readiness_page.checks = []  # readiness is covered above
    wizard.next()
    with qtbot.waitSignal(wizard.enable_page.completeChanged, timeout=TIMEOUT):
        wizard.enable_page.enable()
    wizard.next()
    return wizard.test_page


def test_deep_conformance_check_runs_with_progress_and_cancels_cleanly(qtbot, runner, server, store,
                                                                      clipboard) -> None:
    from console.services.conformance import PREFIX

    org_id = create_org(server)
    wizard = open_wizard(qtbot, org_id, "Deep Check", make_services(server, store), runner, clipboard)
    page = _to_test_page(qtbot, wizard)
    page.rfc_box.setChecked(False)
    page.run_deep_check()
    assert page.deep_cancel.isVisible()
    assert not page.deep_button.isEnabled()
    qtbot.waitUntil(lambda: page.report is not None, timeout=60_000)
    assert page.report.ok, page.report.checks
    assert page.deep_summary.text().startswith("✔ ")
    assert page.deep_table.rowCount() == len(page.report.checks) >= 13
    assert not page.deep_cancel.isVisible()
    assert wizard.result.token not in page.deep_summary.text()
    shot(wizard, "3c-test-deep-check")

    page.report = None
    page.run_deep_check()
    page.cancel_deep_check()
    qtbot.waitUntil(lambda: page.deep_button.isEnabled(), timeout=60_000)
    assert page.report is None
    assert page.deep_summary.text().startswith("Cancelled")
    with AdminApiClient(server.base_url, server.operator_token) as c:
        assert [u.user_name for u in c.iter_users(org_id) if PREFIX in u.user_name] == []


def test_align_predicted_duplicates_then_entra_matches_instead_of_creating_twins(
        qtbot, runner, server, store, clipboard, tmp_path: Path, monkeypatch) -> None:
    from console.sandbox.simulate import people, simulate_entra
    from console.ui.dialogs.confirm import ConfirmDialog
    from tests.core.test_preflight import export
    from tests.sandbox.scim_helpers import enable_scim

    org_id = create_org(server)
    population = people(5, seed=23, scenario="email-mismatch")
    with AdminApiClient(server.base_url, server.operator_token) as c:
        made = [c.create_user(org_id, {"user_name": p.mail, "emails": [p.mail], "created_via": "manual"})
                for p in population]
    path = tmp_path / "users.csv"
    path.write_bytes(export([(p.upn, p.display_name, p.mail, p.object_id, True) for p in population]))
    wizard = open_wizard(qtbot, org_id, "Align Ltd", make_services(server, store), runner, clipboard)
    page = wizard.readiness_page
    page.load_export(str(path))
    qtbot.waitUntil(lambda: page.predictions is not None, timeout=TIMEOUT)
    assert "5 will become duplicates" in page.prediction_summary.text()
    assert page.align_button.isVisible()
    assert not page.align_button.isEnabled()  # nothing selected
    page.prediction_table.selectAll()
    assert len(page.selected_fixable()) == 5
    asked: list[str] = []
    monkeypatch.setattr(ConfirmDialog, "ask", classmethod(lambda cls, _p, _t, text, **_k: asked.append(text)
                                                          or True))
    # The platform fails: said next to the button, the prediction stays, Align can be tried again.
    server.faults.set(f"POST admin/orgs/{org_id}/users/*/user-name:500")
    try:
        page.align_selected()
        qtbot.waitUntil(lambda: page.align_status.text() != "", timeout=TIMEOUT)
    finally:
        server.faults.clear()
    assert "HTTP 500" in page.align_status.text()  # the platform's own words, with the request
    assert "5 will become duplicates" in page.prediction_summary.text()
    assert page.align_button.isEnabled()
    asked.clear()
    # One account changes after the prediction: that one must be left alone and reported.
    with AdminApiClient(server.base_url, server.operator_token) as c:
        c.set_primary_email(org_id, made[0].id, made[0].user_name)
    page.predictions = None
    page.align_selected()
    qtbot.waitUntil(lambda: page.predictions is not None, timeout=TIMEOUT)  # predicted again afterwards
    assert population[1].upn in asked[0]
    assert "Aligned 4 of 5" in page.align_status.text()
    assert "changed since the prediction" in page.align_status.text()
    assert "4 will match an existing account, 0 will be created new, 1 will become duplicates" in \
        page.prediction_summary.text()
    assert page.selected_fixable() == []  # a new prediction starts with nothing selected
    qtbot.waitUntil(lambda: page.checks is not None and page.recheck_button.isEnabled(), timeout=TIMEOUT)
    mismatch = next(c for c in page.checks if c.key == "username_mismatch")
    assert mismatch.level == "amber"  # the aligned accounts' userName now differs from their email
    shot(wizard, "1d-readiness-aligned")
    records = [r for r in store.audit.query() if r.action == "preflight.align_user_name"]
    assert sorted(r.outcome for r in records) == ["error", "ok", "ok", "ok", "ok"]

    # Entra's cycle now matches the four aligned accounts: no twin for them.
    url, token = enable_scim(server, org_id)
    report = simulate_entra(url, token, users=5, scenario="email-mismatch", seed=23)
    assert report.ok, report.failures
    assert report.matched == 4
    assert report.created == 1
