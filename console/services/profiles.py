"""Connection profiles: which platform the console talks to, and with which operator token.

The profile row (name, URL, operator name) is in the local store; the token is in the
``SecretStore`` under ``profile:<id>:operator-token`` and nowhere else. For the CLI and CI,
``SCIM_CONSOLE_URL`` + ``SCIM_CONSOLE_TOKEN`` override the active profile.
"""

from __future__ import annotations

import logging
import os
from dataclasses import replace
from typing import Any

from console.core.errors import UserFacingError
from console.core.models import Profile
from console.services.api_client import TOKEN_ENV, URL_ENV, AdminApiClient
from console.services.secrets import SecretStore
from console.services.store import Store

log = logging.getLogger(__name__)

SANDBOX_PROFILE_NAME = "Sandbox"


def token_key(profile_id: str) -> str:
    return f"profile:{profile_id}:operator-token"


class NoProfileError(UserFacingError):
    """There is no connection to use yet."""


class ProfileService:
    """Add / edit / remove / switch profiles and build API clients for them."""

    def __init__(self, store: Store, secrets: SecretStore) -> None:
        self.store = store
        self.secrets = secrets

    # ---- queries
    def list(self) -> list[Profile]:
        return self.store.profiles.list()

    def get(self, profile_id: str) -> Profile | None:
        return self.store.profiles.get(profile_id)

    def find(self, id_or_name: str) -> Profile | None:
        return self.store.profiles.get(id_or_name) or self.store.profiles.get_by_name(id_or_name)

    def active(self) -> Profile | None:
        return self.store.profiles.active()

    def has_token(self, profile: Profile) -> bool:
        return self.secrets.get(token_key(profile.id)) is not None

    # ---- changes
    def add(self, name: str, admin_url: str, operator_token: str, *, operator: str = "",
            is_sandbox: bool = False, make_active: bool = True) -> Profile:
        """Save the profile, then its token; if the token cannot be saved the profile is removed
        again so there is never a profile that silently has no credential."""
        if not operator_token.strip():
            raise UserFacingError("An operator token is required.")
        profile = self.store.profiles.add(Profile(id="", name=name, admin_url=admin_url, operator=operator,
                                                  is_sandbox=is_sandbox))
        try:
            self.secrets.set(token_key(profile.id), operator_token.strip())
        except BaseException:
            self.store.profiles.remove(profile.id)
            raise
        if make_active or self.active() is None:
            self.store.profiles.set_active(profile.id)
        log.info("profile added: %s (%s)", profile.name, profile.id)
        return profile

    def edit(self, profile_id: str, *, operator_token: str | None = None, **changes: Any) -> Profile:
        current = self.store.profiles.get(profile_id)
        if current is None:
            raise UserFacingError("This profile no longer exists.", where=profile_id)
        updated = self.store.profiles.update(replace(current, **changes)) if changes else current
        if operator_token is not None:
            if not operator_token.strip():
                raise UserFacingError("An operator token is required.")
            self.secrets.set(token_key(profile_id), operator_token.strip())
        return updated

    def remove(self, profile_id: str) -> bool:
        removed = self.store.profiles.remove(profile_id)
        self.secrets.delete(token_key(profile_id))
        return removed

    def switch(self, profile_id: str) -> Profile:
        self.store.profiles.set_active(profile_id)
        profile = self.store.profiles.get(profile_id)
        assert profile is not None
        return profile

    def ensure_sandbox_profile(self, admin_url: str, operator_token: str) -> Profile:
        """Create or update the "Sandbox" profile (each sandbox start mints a new token)."""
        existing = self.store.profiles.get_by_name(SANDBOX_PROFILE_NAME)
        if existing is None:
            return self.add(SANDBOX_PROFILE_NAME, admin_url, operator_token, operator="sandbox",
                            is_sandbox=True, make_active=False)
        profile = self.edit(existing.id, operator_token=operator_token, admin_url=admin_url, is_sandbox=True)
        return profile

    # ---- clients
    def client_for(self, profile: Profile, **kwargs: Any) -> AdminApiClient:
        token = self.secrets.get(token_key(profile.id))
        if not token:
            raise UserFacingError(f"No operator token is saved for profile '{profile.name}'.",
                                  hint="Edit the profile and enter the token again.")
        return AdminApiClient(profile.admin_url, token, **kwargs)

    def client_for_cli(self, **kwargs: Any) -> AdminApiClient:
        """Env vars when both are set (CI, scripts), else the active profile."""
        if os.environ.get(URL_ENV) or os.environ.get(TOKEN_ENV):
            return AdminApiClient.from_env(**kwargs)
        profile = self.active()
        if profile is None:
            raise NoProfileError("No active profile and SCIM_CONSOLE_URL/SCIM_CONSOLE_TOKEN are not set.",
                                 hint="Add one with 'scim-console profiles add --name N --url URL'.")
        return self.client_for(profile, **kwargs)


ConnectionManager = ProfileService
