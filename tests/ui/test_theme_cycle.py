"""Switching themes after any wizard or dialog was open must not crash (it segfaulted: exit 139)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_dialog_and_the_wizard_then_every_theme_in_one_process(console_home: Path) -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-X", "faulthandler", "-m", "tests.ui.drivers.theme_cycle"],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stderr[-3000:]}"
    assert "cycled 6 themes" in done.stdout
