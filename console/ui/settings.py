"""UI settings, declared once with type and default, in an INI file (conventions §2.4, §4.2 item 10).

``QSettings`` in INI format at ``AppPaths.config_dir/settings.ini`` (one root with platformdirs,
no Windows registry). Holds preferences and window state only; **never secrets** (tokens live in
the SecretStore). ``schema_version`` lets a later release upgrade old files with ordered steps;
a value of the wrong type falls back to its default instead of crashing the start-up.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QSettings

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
FILE_NAME = "settings.ini"


@dataclass(frozen=True, slots=True)
class Option:
    key: str
    type: type
    default: Any
    title: str
    choices: tuple[str, ...] = ()


OPTIONS: dict[str, Option] = {o.key: o for o in (
    Option("ui/theme", str, "system", "Theme", ("system", "light", "dark")),
    Option("logging/level", str, "INFO", "Log level", ("DEBUG", "INFO", "WARNING", "ERROR")),
    Option("network/extra_ca_bundle", str, "", "Extra CA bundle (PEM file)"),
    Option("store/database_url", str, "", "Database URL (empty: local SQLite file)"),
    Option("window/geometry", QByteArray, QByteArray(), "Main window geometry"),
    Option("window/state", QByteArray, QByteArray(), "Main window state"),
    Option("orgs/header_state", QByteArray, QByteArray(), "Organisations table columns"),
)}

# Ordered upgrade steps: UPGRADES[n] turns a version-n file into version n+1.
UPGRADES: dict[int, Callable[[QSettings], None]] = {}


class Settings:
    """Typed access to the declared options; unknown keys are a programming error."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)
        self._upgrade()

    @classmethod
    def in_dir(cls, config_dir: Path) -> Settings:
        return cls(Path(config_dir) / FILE_NAME)

    def _upgrade(self) -> None:
        raw = self._qs.value("meta/schema_version", 0)
        try:
            version = int(raw)
        except (TypeError, ValueError):
            version = 0
        if version == 0 and not self._qs.allKeys():
            version = SCHEMA_VERSION  # a new file
        while version < SCHEMA_VERSION:
            step = UPGRADES.get(version)
            if step is not None:
                step(self._qs)
            version += 1
        self._qs.setValue("meta/schema_version", SCHEMA_VERSION)

    @property
    def schema_version(self) -> int:
        return int(self._qs.value("meta/schema_version", SCHEMA_VERSION))

    def get(self, key: str) -> Any:
        option = OPTIONS[key]
        value = self._qs.value(key, option.default)
        if option.type is QByteArray:
            return value if isinstance(value, QByteArray) else option.default
        try:
            value = option.type(value)
        except (TypeError, ValueError):
            log.warning("setting %s has an invalid value; using the default", key)
            return option.default
        if option.choices and value not in option.choices:
            log.warning("setting %s=%r is not one of %s; using the default", key, value, option.choices)
            return option.default
        return value

    def set(self, key: str, value: Any) -> None:
        option = OPTIONS[key]
        if option.type is not QByteArray:
            value = option.type(value)
            if option.choices and value not in option.choices:
                raise ValueError(f"{key} must be one of {option.choices}, not {value!r}")
        self._qs.setValue(key, value)

    def sync(self) -> None:
        self._qs.sync()
