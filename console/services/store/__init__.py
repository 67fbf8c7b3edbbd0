"""The console's local store: connection profiles, the local audit trail, small app state.

``Store.open()`` resolves the database URL (argument, ``$SCIM_CONSOLE_DB_URL``, or SQLite in the
data directory), applies the SQLite durability pragmas and migrates the schema to the latest
version before anything reads it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Engine

from console.services.paths import AppPaths
from console.services.store.audit import AuditTrail
from console.services.store.engine import make_engine
from console.services.store.migrations import migrate
from console.services.store.profiles import ProfileRepo, get_state, set_state


class Store:
    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.profiles = ProfileRepo(engine)
        self.audit = AuditTrail(engine)
        self.schema_version = 0

    @classmethod
    def open(cls, url: str | None = None, paths: AppPaths | None = None) -> Store:
        engine = make_engine(url, paths)
        try:
            store = cls(engine)
            store.schema_version = migrate(engine)
        except BaseException:
            engine.dispose()
            raise
        return store

    def get_state(self, key: str, default: Any = None) -> Any:
        return get_state(self.engine, key, default)

    def set_state(self, key: str, value: Any) -> None:
        set_state(self.engine, key, value)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


__all__ = ["AuditTrail", "ProfileRepo", "Store"]
