"""Cheap checks of build.spec (the real proof is .ci/build-bundle, which builds and runs it)."""

from __future__ import annotations

import ast
import importlib.util
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = ROOT / "build.spec"


def _calls(tree: ast.AST, name: str) -> list[ast.Call]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == name]


def test_spec_compiles_and_builds_two_executables_in_one_collection() -> None:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    exes = _calls(tree, "EXE")
    names = {kw.value.value for call in exes for kw in call.keywords if kw.arg == "name"}
    consoles = {ast.unparse(kw.value) for call in exes for kw in call.keywords if kw.arg == "console"}
    assert names == {"scim-console", "scim-console-gui"}
    # the CLI launcher is console-subsystem except on macOS (the .app's windowed executable);
    # the separate GUI launcher (Windows only) is windowed
    assert consoles == {"sys.platform != 'darwin'", "False"}
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


def test_one_launcher_on_linux_and_macos_a_windowed_one_only_on_windows() -> None:
    tree = ast.parse(SPEC.read_text(encoding="utf-8"), filename=str(SPEC))
    win_branches = [n for n in ast.walk(tree) if isinstance(n, ast.If)
                    and "win32" in ast.unparse(n.test) and "!=" not in ast.unparse(n.test)]
    gui_in_win_branch = {kw.value.value for branch in win_branches for call in _calls(branch, "EXE")
                         for kw in call.keywords if kw.arg == "name"}
    assert gui_in_win_branch == {"scim-console-gui"}
    text = SPEC.read_text(encoding="utf-8")
    assert 'gui_link.symlink_to("scim-console")' in text
    assert 'STRIP = sys.platform.startswith("linux")' in text
    assert "strip=STRIP" in text


def _run_frozen_cli(argv0: str, arg: str, capsys: pytest.CaptureFixture[str],
                    monkeypatch: pytest.MonkeyPatch) -> str:
    # exec, not runpy.run_path: run_path replaces sys.argv[0], the very thing under test.
    path = ROOT / "console" / "frozen_cli.py"
    monkeypatch.setattr(sys, "argv", [argv0, arg])
    with pytest.raises(SystemExit) as exited:
        exec(compile(path.read_text(encoding="utf-8"), str(path), "exec"), {"__name__": "__main__"})
    assert exited.value.code == 0
    return capsys.readouterr().out


def test_the_one_launcher_opens_the_gui_when_started_as_scim_console_gui(
        capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    gui_help = _run_frozen_cli("/usr/bin/scim-console-gui", "--help", capsys, monkeypatch)
    assert gui_help.startswith("usage: scim-console gui")  # gui_main: the `gui` subcommand
    cli_help = _run_frozen_cli("/opt/scim-console/scim-console", "--help", capsys, monkeypatch)
    assert cli_help.startswith("usage: scim-console [-h]")
    assert "selfcheck" in cli_help


def _icu_trim():  # packaging/ is not a package: load the build helper from its file
    spec = importlib.util.spec_from_file_location("icu_trim", ROOT / "packaging" / "linux" / "icu_trim.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_icu_trim_keeps_root_collation_normalisation_and_locale_data_drops_display_names() -> None:
    # Item names as `icupkg -l` lists them for PySide6 6.11.3's ICU 73 data.
    kept = ["root.res", "de.res", "en_GB.res", "pool.res", "res_index.res", "zoneinfo64.res",
            "cnvalias.icu", "nfkc.nrm", "uts46.nrm", "likelySubtags.res", "supplementalData.res",
            "coll/root.res", "coll/ucadata.icu", "coll/res_index.res"]
    gone = ["lang/de.res", "region/fr.res", "curr/ja.res", "unit/en.res", "zone/de.res",
            "translit/root.res", "rbnf/en.res", "brkitr/root.res", "brkitr/cjdict.dict",
            "coll/de.res", "coll/zh.res", "ibm-1390_P110-2003.cnv", "gb18030.cnv", "euc-tw-2014.cnv",
            "unames.icu", "confusables.cfu", "rfc3491.spp", "rfc4518ci.spp"]
    assert _icu_trim().dropped(kept + gone) == gone
