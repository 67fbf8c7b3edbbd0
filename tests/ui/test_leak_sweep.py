"""Leak sweep (issue 8): one scripted run of everything that touches a secret, then a byte scan of
every file the run could have written — logs, crash reports, the local database (and its WAL),
settings, exports, imported datasets, reconcile workspaces, temp files and the platform's own
database — for every secret the run handled: zero hits.

The run: a connection profile (operator token into the keyring) → Enable SCIM in the wizard →
Test Connection with a wrong and the right token → the deep conformance check → delivery by
one-time link (opened once), by age passphrase file and the customer guide → rotate, deliver the new
token to an age public key, revoke the old one → Entra traffic with the new token → the platform's
provisioning log exported, imported as a dataset and exported to CSV and XLSX → reconciliation
analysed, planned, applied and exported → a forced crash (GUI-thread and worker-thread exceptions
whose text carries the secrets, and the crash dialog's details).
"""

from __future__ import annotations

import tempfile
import threading
from pathlib import Path
from typing import Any

import httpx
import pyrage
import pytest
from PySide6.QtGui import QGuiApplication

from console.sandbox.server import SandboxServer
from console.sandbox.simulate import people, simulate_entra
from console.services.logging_setup import configure_logging, shutdown_logging
from console.services.logstore import LogCatalog
from console.services.logstore.export_view import export_view
from console.services.paths import AppPaths
from console.services.pending_deliveries import PendingDeliveries
from console.services.profiles import ProfileService
from console.services.reconcile import (
    RunStore,
    analyze_org,
    apply_run,
    export_findings,
    export_plan,
    export_run,
)
from console.services.scim_setup import confirm_delivered, revoke_token, rotate_token
from console.services.secrets import SecretStore
from console.services.store import Store
from console.services.token_files import write_age_file
from console.ui import errors
from console.ui.clipboard import SensitiveClipboard
from console.ui.pages.enable_wizard import EnableWizard, SetupServices
from tests import logs_data
from tests.sandbox.scim_helpers import create_org

TIMEOUT = 60_000


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Temp files of this run land in a folder of its own, so the scan can read all of them."""
    dirs = {name: tmp_path / name for name in ("tmp", "exports", "platform")}
    for d in dirs.values():
        d.mkdir()
    monkeypatch.setenv("TMPDIR", str(dirs["tmp"]))
    monkeypatch.setattr(tempfile, "tempdir", str(dirs["tmp"]))
    return dirs


def scan(roots: list[Path], secrets: dict[str, str]) -> list[str]:
    """Every (file, secret name) where the secret's bytes — or its middle 16 characters — occur."""
    needles = {}
    for name, value in secrets.items():
        needles[name] = value.encode()
        if len(value) > 24:
            middle = len(value) // 2
            needles[f"{name} (part)"] = value[middle - 8:middle + 8].encode()
    hits = []
    for root in roots:
        for path in sorted(p for p in root.rglob("*") if p.is_file()):
            data = path.read_bytes()
            hits += [f"{path}: {name}" for name, needle in needles.items() if needle in data]
    return hits


def test_no_secret_reaches_any_file_after_a_full_workflow(qtbot: Any, runner: Any, console_home: Path,
                                                         scratch: dict[str, Path],
                                                         shown_errors: list) -> None:
    paths = AppPaths.default().ensure()
    configure_logging(paths, "DEBUG", stderr=False)
    try:
        _run_and_scan(qtbot, runner, paths, console_home, scratch)
    finally:
        shutdown_logging()


def _run_and_scan(qtbot: Any, runner: Any, paths: AppPaths, console_home: Path,
                  scratch: dict[str, Path]) -> None:
    found: dict[str, str] = {}
    with SandboxServer(scratch["platform"] / "platform.db", seed="small") as server, \
            Store.open(None, paths) as store:
        found["operator token"] = server.operator_token
        secrets = SecretStore.open()
        profiles = ProfileService(store, secrets)
        profile = profiles.add("Production", server.admin_url, server.operator_token, operator="eve@support")
        with profiles.client_for(profile) as client:
            org_id = create_org(server)
            services = SetupServices(api=lambda: client, secrets=secrets, store=store, operator="eve@support",
                                     profile_id=profile.id)

            # ---- the wizard: enable, test (wrong + right + deep), deliver (link, age passphrase), guide
            clipboard = SensitiveClipboard(clear_after_ms=45_000)
            wizard = EnableWizard(org_id, "Leak Test Ltd", services, runner, clipboard=clipboard)
            qtbot.addWidget(wizard)
            wizard.show()
            client.create_work_area(org_id, "Front office")
            qtbot.waitUntil(lambda: wizard.readiness_page.checks is not None, timeout=TIMEOUT)
            assert not wizard.readiness_page.isComplete()  # no all-users template yet: fixed inline
            wizard.readiness_page.create_template()
            qtbot.waitUntil(lambda: wizard.readiness_page.isComplete(), timeout=TIMEOUT)
            wizard.next()
            with qtbot.waitSignal(wizard.sig_enabled, timeout=TIMEOUT):
                wizard.enable_page.enable()
            first = wizard.result
            found["first SCIM token"] = first.token
            wizard.enable_page.token.copy()
            wizard.next()
            test = wizard.test_page
            test.run_test(token="scim_" + "x" * 43)
            qtbot.waitUntil(lambda: test.outcome is not None, timeout=TIMEOUT)
            test.outcome = None
            test.run_test()
            qtbot.waitUntil(lambda: test.outcome is not None and test.outcome.ok, timeout=TIMEOUT)
            test.run_deep_check()
            qtbot.waitUntil(lambda: test.report is not None, timeout=120_000)
            assert test.report.ok, test.report.checks
            wizard.next()
            panel = wizard.deliver_page.panel
            panel.create_link()
            qtbot.waitUntil(lambda: panel.link_info is not None, timeout=TIMEOUT)
            found["one-time link"] = panel.link.value()
            found["one-time link key"] = panel.link.value().rsplit("/", 1)[1]
            with httpx.Client(trust_env=False) as browser:
                assert first.token in browser.post(panel.link.value()).text
            panel.save_age_file(str(scratch["exports"] / "scim-token.age"))
            qtbot.waitUntil(lambda: panel.age_delivery is not None, timeout=TIMEOUT)
            found["age passphrase"] = panel.passphrase.value()
            wizard.next()
            wizard.done_page.save_guide(str(scratch["exports"] / "guide.html"))
            qtbot.waitUntil(lambda: bool(wizard.done_page.saved), timeout=TIMEOUT)
            wizard.accept()
            clipboard.clear_if_ours()

            # ---- rotate, deliver the new token to a public key, revoke the old one
            deliveries = PendingDeliveries(store.engine)
            second = rotate_token(client, org_id, secrets, store.audit, operator="eve@support",
                                  deliveries=deliveries, profile_id=profile.id)
            found["second SCIM token"] = second.token
            identity = pyrage.x25519.Identity.generate()
            write_age_file(org_id, second.token_info.id, scratch["exports"] / "rotated.age", secrets,
                           store.audit, operator="eve@support", deliveries=deliveries, client=client,
                           recipient=str(identity.to_public()))
            confirm_delivered(org_id, second.token_info.id, "age-file", secrets, store.audit,
                              operator="eve@support", deliveries=deliveries)
            revoke_token(client, org_id, first.token_info.id, secrets, store.audit, operator="eve@support",
                         deliveries=deliveries)

            # ---- Entra traffic with the new token, duplicates to reconcile
            for p in people(4, seed=77, scenario="email-mismatch"):
                client.create_user(org_id, {"user_name": p.mail, "emails": [p.mail], "created_via": "manual"})
            report = simulate_entra(second.scim_base_url, second.token, users=4, scenario="email-mismatch",
                                    seed=77)
            assert report.ok, report.failures

            # ---- logs: platform export → dataset → CSV/XLSX
            log_file = logs_data.export_org_log(client, org_id, scratch["exports"] / "platform-log.ndjson")
            info, _report = LogCatalog.for_paths(paths).import_file(log_file)
            dataset = LogCatalog.for_paths(paths).open(info.id)
            try:
                assert export_view(dataset, scratch["exports"] / "log.csv") > 0
                assert export_view(dataset, scratch["exports"] / "log.xlsx") > 0
            finally:
                dataset.close()

            # ---- reconcile: analyse, plan, apply, export
            with analyze_org(client, org_id, workdir=paths.cache_dir) as engine:
                plan = engine.plan()
                assert plan.api_steps
                runs = RunStore(store.engine)
                run = runs.create(plan, actor="eve@support", profile_id=profile.id)
                applied = apply_run(client, runs, store.audit, run.id, operator="eve@support",
                                    profile_id=profile.id)
                assert applied.ok, list(applied.lines())
                export_findings(engine, scratch["exports"] / "findings.xlsx")
                export_plan(plan, scratch["exports"] / "plan.csv")
                export_run(applied, scratch["exports"] / "run.csv")

            # ---- a forced crash, on the GUI thread and on a worker thread, and its details dialog
            text = " ".join(found.values())
            try:
                raise RuntimeError(f"forced crash while holding {text}")
            except RuntimeError as exc:
                errors._excepthook(RuntimeError, exc, exc.__traceback__)
                crash = exc
            worker = threading.Thread(target=lambda: (_ for _ in ()).throw(ValueError(f"worker: {text}")),
                                      name="leaky-worker")
            hook, threading.excepthook = threading.excepthook, errors._thread_excepthook
            try:
                worker.start()
                worker.join()
            finally:
                threading.excepthook = hook
            box = errors._build_dialog(None, crash)
            assert box is not None
            details = box.detailedText()
            box.deleteLater()
            (scratch["exports"] / "crash-details.txt").write_text(details, encoding="utf-8")
            for name, value in found.items():
                assert value not in details, f"{name} in the crash details"
            assert first.token not in QGuiApplication.clipboard().text()
        shutdown_logging()

        assert any(p.suffix == ".log" or ".log" in p.name for p in paths.log_dir.iterdir())
        assert (paths.data_dir / "logs").is_dir()
        roots = [console_home, scratch["tmp"], scratch["exports"], scratch["platform"]]
        canary = scratch["tmp"] / "canary.bin"  # the scan itself can find a secret
        canary.write_bytes(b"x" + found["second SCIM token"][8:-4].encode() + b"x")
        assert scan([scratch["tmp"]], found) == [f"{canary}: second SCIM token (part)"]
        canary.unlink()
        names = {p.name for r in roots for p in r.rglob("*") if p.is_file()}
        assert {"console.db", "platform.db", "scim-token.age", "log.xlsx", "findings.xlsx",
                "guide.pdf"} <= names
        hits = scan(roots, found)
        assert hits == [], "secrets found in files:\n" + "\n".join(hits)
        files = sum(1 for r in roots for p in r.rglob("*") if p.is_file())
        print(f"leak sweep: {len(found)} secrets × {files} files scanned, 0 hits")
        # And the keyring keeps nothing the run no longer needs: both SCIM tokens are gone from it.
        assert [d.purged_at is not None for d in PendingDeliveries(store.engine).list(org_id)] == [True, True]
