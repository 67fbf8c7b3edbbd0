"""The self-check runs every probe for real (Qt in a subprocess, the keyring, a temp store, the
OS trust store, an embedded sandbox) and reports failures instead of raising."""

from __future__ import annotations

import subprocess
import sys

import keyring
import pytest
from keyring.backends import null

from console.services.selfcheck import CHECKS, run_selfcheck
from console.services.store.schema import SCHEMA_VERSION


def test_all_checks_pass_on_this_machine() -> None:
    results = run_selfcheck()
    assert [r.name for r in results] == [name for name, _, _ in CHECKS]
    failed = [f"{r.name}: {r.detail}" for r in results if not r.ok]
    assert failed == []
    by_name = {r.name: r for r in results}
    assert "offscreen" in by_name["qt-offscreen"].detail
    assert "MemoryKeyring (persistent)" in by_name["keyring"].detail
    assert by_name["local-store"].detail.startswith(f"schema v{SCHEMA_VERSION}")
    tls = by_name["tls-truststore"].detail
    assert "OS CA certificates" in tls or "verifier" in tls
    assert "health ok" in by_name["sandbox"].detail
    for r in results:
        print(f"{r.name:<15} {r.seconds:6.2f}s {r.detail}")


def test_insecure_keyring_is_a_warning_not_a_failure() -> None:
    keyring.set_keyring(null.Keyring())
    (result,) = run_selfcheck(["keyring"])
    assert result.ok is False
    assert result.required is False
    assert "stores nothing" in result.detail


def test_broken_qt_platform_is_reported(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("QT_QPA_PLATFORM", "no-such-platform")
    (result,) = run_selfcheck(["qt-offscreen"])
    assert result.ok is False
    assert result.required is True
    assert "Qt platform plugin failed to load" in result.detail


def test_selfcheck_keeps_the_services_layer_qt_free() -> None:
    code = ("import sys; from console.services.selfcheck import run_selfcheck;"
            "r = run_selfcheck(['qt-offscreen', 'local-store']); assert all(x.ok for x in r), r;"
            "assert not any(m.startswith(('PySide6', 'shiboken6')) for m in sys.modules), 'Qt imported';"
            "assert 'console.sandbox' not in sys.modules, 'sandbox imported eagerly'")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr


def test_require_keyring_turns_an_insecure_keyring_into_a_failure() -> None:
    """The bundle's CI runs ``selfcheck --require-keyring`` under a real Secret Service."""
    keyring.set_keyring(null.Keyring())
    [result] = run_selfcheck(["keyring"], require_keyring=True)
    assert result.required
    assert not result.ok
