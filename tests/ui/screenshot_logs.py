"""Screenshots of the Provisioning logs page on sandbox data (not a test; look at the PNGs).

    QT_QPA_PLATFORM=offscreen .venv/bin/python tests/ui/screenshot_logs.py OUTDIR [--theme light|dark]

Starts a small sandbox, sends an Entra "email-mismatch" cycle to northwind (whose seeded log already
has failed requests), then saves: the live log of northwind with a failed event's details, the same
view's charts, and an imported generated Entra export filtered to EntryConflict, with its charts.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--theme", default="light")
    a = ap.parse_args()
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)

    from PySide6.QtWidgets import QApplication

    from console.sandbox.server import SandboxServer
    from console.sandbox.simulate import simulate_entra
    from console.services.api_client import AdminApiClient
    from console.services.paths import AppPaths
    from console.ui.pages.logs_page import LogsPage
    from console.ui.tasks import TaskRunner
    from console.ui.theme import apply_theme
    from tests import logs_data
    from tests.ui import gui_probe

    app = QApplication([])
    apply_theme(app, a.theme)
    tmp = Path(tempfile.mkdtemp(prefix="logs-shot-"))

    def wait(cond, ms: int = 30000) -> None:
        gui_probe.wait(cond, ms)

    with SandboxServer(tmp / "sb.sqlite", seed="small") as sb:
        api = AdminApiClient(sb.admin_url, sb.operator_token)
        token = api.mint_scim_token("northwind").token
        simulate_entra(
            f"{sb.scim_base_url}/northwind",
            token,
            scenario="email-mismatch",
            users=40,
            domain="northwind.com",
        )
        runner = TaskRunner(show_delay_ms=0)
        page = LogsPage(AppPaths.under(tmp / "home"), runner, lambda: api, debounce_ms=0)
        page.resize(1400, 900)
        page.show()
        page.org.setText("northwind")
        page.open_live("northwind")
        wait(lambda: "loaded" in page.message.text() or "Tick Follow" in page.message.text())
        page.status.setCurrentIndex(page.status.findData("failure"))
        wait(
            lambda: (
                page.shown is page.dataset
                and page.model.rowCount() > 0
                and page.model.index(0, 2).data() == "failure"
            )
        )
        page.table.selectRow(0)
        wait(lambda: bool(page.details.toPlainText()))
        page.grab().save(str(out / "logs-live-details.png"))
        updated: list[int] = []
        page.sig_charts_updated.connect(lambda: updated.append(1))
        page.status.setCurrentIndex(0)
        page.tabs.setCurrentWidget(page.charts)
        wait(lambda: bool(updated) and page.model.index(0, 2).data() != "failure")
        app.processEvents()
        page.grab().save(str(out / "logs-live-charts.png"))

        export = logs_data.write(tmp / "entra-export.json", 20000)
        page.tabs.setCurrentIndex(0)
        page.import_file(export)
        wait(lambda: page.dataset is not None and page.dataset.path is not None and page._phase is None)
        page.error_code.setText("EntryConflict")
        wait(
            lambda: (
                page.shown is page.dataset
                and page.model.rowCount() > 0
                and page.model.index(0, 3).data() == "EntryConflict"
            )
        )
        page.table.selectRow(0)
        wait(lambda: "EntryConflict" in page.details.toPlainText())
        page.grab().save(str(out / "logs-export-conflict.png"))
        page.error_code.setText("")
        updated.clear()
        page.tabs.setCurrentWidget(page.charts)
        wait(lambda: bool(updated) and len(page.charts.data.errors) > 1 and page.model.rowCount() == 20000)
        app.processEvents()
        page.grab().save(str(out / "logs-export-charts.png"))
        runner.shutdown(10)
        api.close()
    print(f"saved to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
