"""Screenshot of the console on a fresh sandbox (not a test).

    python tests/ui/screenshot.py out.png [--seed demo|small] [--theme light|dark] [--open contoso]

Starts the app offscreen with ``SCIM_CONSOLE_HOME`` in a temp dir, waits until the orgs page shows
the sandbox orgs, optionally opens one org's overview, saves ``window.grab()`` and quits.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("out")
    parser.add_argument("--seed", default="demo")
    parser.add_argument("--theme", default="light")
    parser.add_argument("--open", dest="open_org", default="")
    parser.add_argument("--timeout", type=float, default=90.0)
    parser.add_argument("--page", type=int, default=0, help="navigation row to show (0 = Organisations)")
    args = parser.parse_args()

    home = tempfile.mkdtemp(prefix="console-shot-")
    os.environ["SCIM_CONSOLE_HOME"] = home
    import keyring
    from keyring.backends import null  # noqa: F401 - make sure keyring's module loads

    from tests.conftest import MemoryKeyring  # the tests' in-memory keyring: no real keyring touched

    keyring.set_keyring(MemoryKeyring())

    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from console.ui.app import build_gui

    app = QApplication(sys.argv[:1])
    gui = build_gui(app, sandbox=True, sandbox_seed=args.seed, hooks=False)
    assert gui is not None
    gui.window.set_theme(args.theme)
    gui.window.resize(1280, 760)
    gui.window.show()
    result = {"ok": False}

    def save() -> None:
        result["ok"] = gui.window.grab().save(args.out)
        app.quit()

    def on_loaded(count: int) -> None:
        if count == 0:
            return
        if args.page:
            gui.window.nav.setCurrentRow(args.page)
        if args.open_org:
            gui.window.orgs_page.overview.sig_org_loaded.connect(lambda _d: QTimer.singleShot(200, save))
            gui.window.orgs_page.open_org(args.open_org)
        else:
            QTimer.singleShot(200, save)

    gui.window.orgs_page.sig_orgs_loaded.connect(on_loaded)
    QTimer.singleShot(int(args.timeout * 1000), app.quit)
    app.exec()
    gui.shutdown()
    print(f"saved={result['ok']} {args.out}")
    return 0 if result["ok"] else 1


if __name__ == "__main__":
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", ".."))
    sys.exit(main())
