"""What the composition root hands to the main window: plain collaborators, no globals."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from console.ui.connection import Connection
from console.ui.settings import Settings
from console.ui.tasks import TaskRunner


@dataclass
class AppContext:
    paths: Any                      # console.services.paths.AppPaths
    settings: Settings
    runner: TaskRunner
    connection: Connection
    profiles: Any                   # console.services.profiles.ProfileService (None in some tests)
    audit_provider: Callable[[], Any]
    keyring_status: str = ""
    apply_theme: Callable[[str], None] | None = None
    apply_log_level: Callable[[str], None] | None = None
