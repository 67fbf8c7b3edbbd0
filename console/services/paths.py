"""Where the console keeps its files (desktop-stack §7.1).

One root per kind of file, from ``platformdirs`` (data under Local, not Roaming, AppData on
Windows: SQLite WAL must not sit on a roaming share). ``$SCIM_CONSOLE_HOME`` puts everything
under one directory instead, for tests, portable installs and support reproductions.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import platformdirs

from console import APP_ID

HOME_ENV = "SCIM_CONSOLE_HOME"


@dataclass(frozen=True, slots=True)
class AppPaths:
    config_dir: Path
    data_dir: Path
    log_dir: Path
    cache_dir: Path

    @classmethod
    def under(cls, root: Path | str) -> AppPaths:
        root = Path(root)
        return cls(root / "config", root / "data", root / "log", root / "cache")

    @classmethod
    def default(cls) -> AppPaths:
        """``$SCIM_CONSOLE_HOME`` when set, else the platform's conventional directories."""
        home = os.environ.get(HOME_ENV)
        if home:
            return cls.under(home)
        return cls(
            config_dir=Path(platformdirs.user_config_dir(APP_ID, appauthor=False)),
            data_dir=Path(platformdirs.user_data_dir(APP_ID, appauthor=False)),
            log_dir=Path(platformdirs.user_log_dir(APP_ID, appauthor=False)),
            cache_dir=Path(platformdirs.user_cache_dir(APP_ID, appauthor=False)),
        )

    @property
    def sandbox_db(self) -> Path:
        """The embedded sandbox's database (the GUI starts it; ``sandbox reset`` restores it)."""
        return self.data_dir / "sandbox.db"

    def ensure(self) -> AppPaths:
        """Create every directory (owner-only where the OS supports modes); returns self."""
        for path in (self.config_dir, self.data_dir, self.log_dir, self.cache_dir):
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
        return self
