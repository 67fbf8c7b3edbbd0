"""Cheap checks of build.spec (the real proof is .ci/build-bundle, which builds and runs it)."""

from __future__ import annotations

import ast
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "build.spec"


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def test_spec_compiles_and_builds_two_executables_in_one_collection() -> None:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    exes = _calls(tree, "EXE")
    names = {kw.value.value for call in exes for kw in call.keywords if kw.arg == "name"}
    consoles = {kw.value.value for call in exes for kw in call.keywords if kw.arg == "console"}
    assert names == {"scim-console", "scim-console-gui"}
    assert consoles == {True, False}  # one CLI, one windowed GUI
    assert len(_calls(tree, "COLLECT")) == 1


def test_spec_never_uses_upx_and_reads_the_version_from_pyproject() -> None:
    text = SPEC.read_text(encoding="utf-8")
    assert "upx=True" not in text
    assert text.count("upx=False") >= 2
    assert 'tomllib.loads((ROOT / "pyproject.toml")' in text
    version = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]
    assert version


def test_entry_scripts_and_desktop_file_exist() -> None:
    assert (ROOT / "console" / "frozen_gui.py").is_file()
    assert (ROOT / "console" / "frozen_cli.py").is_file()
    desktop = (ROOT / "resources" / "linux" / "scim-console.desktop").read_text(encoding="utf-8")
    assert "Exec=scim-console-gui" in desktop
