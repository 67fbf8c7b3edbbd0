"""Connection profiles in the local store. No secrets: the operator token lives in the keyring."""

from __future__ import annotations

import uuid
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError

from console.core.errors import UserFacingError
from console.core.models import Profile
from console.core.platform_identity import check_transport
from console.core.redact import redact
from console.services.store.schema import app_state, profiles

ACTIVE_KEY = "active_profile_id"


class ProfileError(UserFacingError):
    """A profile could not be saved (duplicate name, unsafe URL, unknown id)."""


def _check(profile: Profile) -> None:
    if not profile.name.strip():
        raise ProfileError("A profile needs a name.")
    url = profile.admin_url.strip()
    try:
        check_transport(url, redact(url))
    except UserFacingError as exc:
        raise ProfileError(exc.message, where=exc.where, hint=exc.hint) from None
    if redact(url) != url or "@" in url.split("//", 1)[1].split("/", 1)[0]:
        # A credential in the URL would be written to the database in plain text.
        raise ProfileError("The URL must not contain a token, password or user info; the token is stored "
                           "separately in the OS keyring.", where=redact(url))


def _row(profile: Profile) -> dict[str, Any]:
    return {"id": profile.id, "name": profile.name.strip(),
            "admin_url": profile.admin_url.strip().rstrip("/"), "operator": profile.operator,
            "is_sandbox": profile.is_sandbox, "created_at": profile.created_at}


def _profile(row: Any) -> Profile:
    return Profile(id=row.id, name=row.name, admin_url=row.admin_url, operator=row.operator,
                   is_sandbox=bool(row.is_sandbox), created_at=row.created_at)


class ProfileRepo:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(self) -> list[Profile]:
        with self._engine.connect() as conn:
            return [_profile(r) for r in conn.execute(select(profiles).order_by(profiles.c.name))]

    def get(self, profile_id: str) -> Profile | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(profiles).where(profiles.c.id == profile_id)).first()
        return _profile(row) if row else None

    def get_by_name(self, name: str) -> Profile | None:
        with self._engine.connect() as conn:
            row = conn.execute(select(profiles).where(profiles.c.name == name.strip())).first()
        return _profile(row) if row else None

    def add(self, profile: Profile) -> Profile:
        """Insert; an empty ``id`` gets a fresh one and an empty ``created_at`` now."""
        profile = replace(profile, id=profile.id or uuid.uuid4().hex[:12],
                          created_at=profile.created_at or datetime.now(UTC))
        _check(profile)
        try:
            with self._engine.begin() as conn:
                conn.execute(insert(profiles).values(**_row(profile)))
        except IntegrityError:
            raise ProfileError(f"A profile named '{profile.name}' already exists.") from None
        return self.get(profile.id) or profile

    def update(self, profile: Profile) -> Profile:
        _check(profile)
        values = _row(profile)
        values.pop("created_at")
        values.pop("id")
        try:
            with self._engine.begin() as conn:
                result = conn.execute(update(profiles).where(profiles.c.id == profile.id).values(**values))
        except IntegrityError:
            raise ProfileError(f"A profile named '{profile.name}' already exists.") from None
        if result.rowcount == 0:
            raise ProfileError("This profile no longer exists.", where=profile.id)
        return self.get(profile.id) or profile

    def remove(self, profile_id: str) -> bool:
        with self._engine.begin() as conn:
            removed = conn.execute(delete(profiles).where(profiles.c.id == profile_id)).rowcount > 0
        if self._active_id() == profile_id:
            self._set_state(ACTIVE_KEY, None)
        return removed

    def active(self) -> Profile | None:
        active_id = self._active_id()
        return self.get(active_id) if active_id else None

    def set_active(self, profile_id: str | None) -> None:
        if profile_id is not None and self.get(profile_id) is None:
            raise ProfileError("Unknown profile.", where=profile_id)
        self._set_state(ACTIVE_KEY, profile_id)

    # ---- app_state helpers
    def _active_id(self) -> str | None:
        with self._engine.connect() as conn:
            value = conn.execute(select(app_state.c.value).where(app_state.c.key == ACTIVE_KEY)).scalar()
        return str(value) if value else None

    def _set_state(self, key: str, value: Any) -> None:
        set_state(self._engine, key, value)


def set_state(engine: Engine, key: str, value: Any) -> None:
    """Upsert one ``app_state`` entry (portable: delete + insert in one transaction)."""
    with engine.begin() as conn:
        conn.execute(delete(app_state).where(app_state.c.key == key))
        conn.execute(insert(app_state).values(key=key, value=value, updated_at=datetime.now(UTC)))


def get_state(engine: Engine, key: str, default: Any = None) -> Any:
    with engine.connect() as conn:
        row = conn.execute(select(app_state.c.value).where(app_state.c.key == key)).first()
    return default if row is None else row.value
