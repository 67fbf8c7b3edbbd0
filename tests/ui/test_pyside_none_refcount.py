"""Regression guard for PySide6 6.12.0 on CPython 3.11: a property setter called from Python
decremented ``None``'s refcount once per call, until the interpreter aborted. pyproject pins
PySide6-Essentials to a build shown clean here; this test fails if an upgrade brings the bug back.
Run in a subprocess: the buggy build can abort the interpreter."""

from __future__ import annotations

import os
import subprocess
import sys

CODE = (
    "import sys; from PySide6.QtCore import QObject; o=QObject(); s=sys.getrefcount(None); "
    "[o.setObjectName('x') for _ in range(5000)]; print(sys.getrefcount(None)-s)"
)


def test_none_refcount_is_stable_across_qt_property_calls() -> None:
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
    proc = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 0, f"interpreter died (rc={proc.returncode}): {proc.stderr[-2000:]}"
    delta = int(proc.stdout.strip().splitlines()[-1])
    assert -50 <= delta <= 50, f"None's refcount drifted by {delta} over 5000 calls (PySide6 refcount bug)"
