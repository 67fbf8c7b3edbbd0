"""Settings: declared once with types and defaults, INI file under the config dir, schema version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import QByteArray

from console.services.paths import AppPaths
from console.ui import settings as settings_mod
from console.ui.settings import OPTIONS, SCHEMA_VERSION, Settings


def test_defaults_and_ini_file_location(qapp: Any, console_home: Path) -> None:
    paths = AppPaths.default()
    s = Settings.in_dir(paths.config_dir)
    assert s.path == console_home / "config" / "settings.ini"
    for key, option in OPTIONS.items():
        assert s.get(key) == option.default
    s.set("ui/theme", "dark")
    s.sync()
    text = s.path.read_text(encoding="utf-8")
    assert "theme=dark" in text
    assert f"schema_version={SCHEMA_VERSION}" in text


def test_values_survive_reopen_and_bytes_round_trip(qapp: Any, tmp_path: Path) -> None:
    s = Settings(tmp_path / "s.ini")
    s.set("logging/level", "DEBUG")
    s.set("window/geometry", QByteArray(b"\x01\x02\x00\xff"))
    s.sync()
    again = Settings(tmp_path / "s.ini")
    assert again.get("logging/level") == "DEBUG"
    assert bytes(again.get("window/geometry").data()) == b"\x01\x02\x00\xff"
    assert again.schema_version == SCHEMA_VERSION


def test_invalid_values_fall_back_to_defaults(qapp: Any, tmp_path: Path) -> None:
    path = tmp_path / "s.ini"
    path.write_text("[meta]\nschema_version=1\n[ui]\ntheme=purple\n[logging]\nlevel=LOUD\n", encoding="utf-8")
    s = Settings(path)
    assert s.get("ui/theme") == "system"
    assert s.get("logging/level") == "INFO"
    with pytest.raises(ValueError):
        s.set("ui/theme", "purple")
    with pytest.raises(KeyError):
        s.get("no/such/option")


def test_old_schema_is_upgraded_in_order(qapp: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.ini"
    path.write_text("[meta]\nschema_version=0\n[ui]\ncolour_scheme=dark\n", encoding="utf-8")
    steps: list[int] = []

    def v0_to_v1(qs: Any) -> None:
        steps.append(0)
        qs.setValue("ui/theme", qs.value("ui/colour_scheme"))
        qs.remove("ui/colour_scheme")

    monkeypatch.setattr(settings_mod, "UPGRADES", {0: v0_to_v1})
    s = Settings(path)
    assert steps == [0]
    assert s.get("ui/theme") == "dark"
    assert s.schema_version == SCHEMA_VERSION


def test_no_option_is_a_secret() -> None:
    for key in OPTIONS:
        assert not any(word in key.lower() for word in ("token", "password", "secret"))
