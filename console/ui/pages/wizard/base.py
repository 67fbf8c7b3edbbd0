"""What every page of the Enable SCIM wizard shares: its collaborators and a status line."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import (
    QVBoxLayout,
    QWizardPage,
)

from console.core.errors import UserFacingError
from console.ui.widgets.common import plain_label, set_status

if TYPE_CHECKING:
    from console.ui.pages.enable_wizard import EnableWizard


@dataclass
class SetupServices:
    """What the flow needs besides the runner: plain collaborators, all usable from workers."""

    api: Callable[[], Any]      # -> AdminApiClient
    secrets: Any                # SecretStore
    store: Any                  # Store (audit trail + engine)
    operator: str
    profile_id: str | None = None
    platform_url: str | None = None  # the profile's admin API URL: where a new token lives depends on it

    @property
    def token_location(self) -> str:
        """Where a token minted here waits for delivery (the OS keyring, or memory for the sandbox)."""
        return str(self.secrets.token_location(self.platform_url))

    @property
    def deliveries(self) -> Any:
        from console.services.pending_deliveries import PendingDeliveries

        return PendingDeliveries(self.store.engine)


def services_from_ctx(ctx: Any) -> SetupServices:
    """Build from the AppContext once the keyring/store have opened."""
    profiles = ctx.profiles
    if profiles is None:
        raise UserFacingError("The keyring and the local database are still opening.")
    profile = ctx.connection.profile
    return SetupServices(api=ctx.connection.api, secrets=profiles.secrets, store=profiles.store,
                         operator=(profile.operator if profile else "") or "unknown",
                         profile_id=profile.id if profile else None,
                         platform_url=profile.admin_url if profile else None)


class WizardPage(QWizardPage):
    """A page with the wizard at ``self.w``, a vertical layout and a status line."""

    def __init__(self, wizard: EnableWizard, title: str, subtitle: str) -> None:
        super().__init__()
        self.w = wizard
        self.setTitle(title)
        self.setSubTitle(subtitle)
        self.layout_ = QVBoxLayout(self)
        self.status = plain_label("", wrap=True, role="muted")
        self.status.setObjectName("status")

    def set_status(self, text: str, *, error: bool = False) -> None:
        set_status(self.status, text, error=error)


