"""The active connection: which profile, its admin-API client, and whether it answers.

Pages get ``connection.api`` as their ``api_provider`` and call it *inside* their worker
functions, so building the client (a keyring read) and every request stay off the GUI thread.
Switching profiles is latest-wins: a slow health check of the previous profile is dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, Signal

from console.core.errors import UserFacingError
from console.core.models import Profile
from console.ui.tasks import CancelToken, TaskRunner

log = logging.getLogger(__name__)

DISCONNECTED, CONNECTING, CONNECTED, ERROR = "disconnected", "connecting", "connected", "error"

ClientFactory = Callable[[Profile], Any]


class NotConnectedError(UserFacingError):
    """No profile is active (yet)."""


class Connection(QObject):
    """Holds the active profile and its client.

    Signals:
        sig_state_changed(state, detail): "disconnected" / "connecting" / "connected" / "error".
        sig_profile_changed(profile): a different profile became active (``None``: none).
        sig_connected(): the active profile answered its health check (pages reload on this).
    """

    sig_state_changed = Signal(str, str)
    sig_profile_changed = Signal(object)
    sig_connected = Signal()

    def __init__(self, runner: TaskRunner, client_factory: ClientFactory,
                 parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._factory = client_factory
        self._profile: Profile | None = None
        self._client: Any = None
        self.state = DISCONNECTED
        self.detail = ""

    # ---- Public API

    @property
    def profile(self) -> Profile | None:
        return self._profile

    def api(self) -> Any:
        """The current client (worker threads call this); raises when there is none."""
        client = self._client
        if client is None:
            raise NotConnectedError("Not connected to a platform yet.",
                                    hint="Choose or add a connection in File → Connections….")
        return client

    def set_state(self, state: str, detail: str = "") -> None:
        self.state, self.detail = state, detail
        self.sig_state_changed.emit(state, detail)

    def connect_to(self, profile: Profile | None) -> None:
        """Make ``profile`` active: build its client and check health off the GUI thread."""
        old, self._client = self._client, None
        self._profile = profile
        self.sig_profile_changed.emit(profile)
        if old is not None:
            self._runner.run(lambda _t: old.close(), label="Closing the previous connection")
        if profile is None:
            self.set_state(DISCONNECTED, "")
            return
        self.set_state(CONNECTING, "")
        factory = self._factory

        def _open(token: CancelToken) -> Any:
            client = factory(profile)
            if token.cancelled():
                client.close()
                token.raise_if_cancelled()
            try:
                client.health()
            except BaseException:
                client.close()
                raise
            return client

        self._runner.run(_open, lambda client: self._on_opened(profile, client),
                         on_failure=self._on_failed, purpose="connection",
                         label=f"Connecting to {profile.name}")

    def retry(self) -> None:
        self.connect_to(self._profile)

    def close(self) -> None:
        client, self._client = self._client, None
        if client is not None:
            try:
                client.close()
            except Exception:
                log.debug("closing the client failed", exc_info=True)

    # ---- Slots

    def _on_opened(self, profile: Profile, client: Any) -> None:
        if profile is not self._profile:  # switched again meanwhile
            client.close()
            return
        self._client = client
        self.set_state(CONNECTED, "")
        self.sig_connected.emit()

    def _on_failed(self, exc: BaseException) -> None:
        text = str(exc) if isinstance(exc, UserFacingError) else f"{type(exc).__name__}"
        log.warning("connection to %s failed: %s", self._profile.name if self._profile else "?", text)
        self.set_state(ERROR, text)
