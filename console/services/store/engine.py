"""The local store's SQLAlchemy engine: SQLite by default, PostgreSQL when a URL says so.

SQLite settings (desktop-stack §6.6), applied on *every* connection through the ``connect``
event: WAL, ``synchronous=FULL`` (a committed audit row survives power loss), ``foreign_keys``,
and a ``busy_timeout`` so a second reader/writer waits instead of failing.

pysqlite does not open a transaction before DDL, so a failed migration step would leave half a
schema behind. We take over transaction control (SQLAlchemy's documented pysqlite recipe):
the driver's implicit BEGIN is off and SQLAlchemy emits ``BEGIN`` itself, so DDL is
transactional and each migration step is all-or-nothing.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.pool import StaticPool

from console.services.paths import AppPaths

DB_URL_ENV = "SCIM_CONSOLE_DB_URL"
DB_FILE = "console.db"
BUSY_TIMEOUT_MS = 5000


def resolve_url(url: str | None = None, paths: AppPaths | None = None) -> str:
    """Argument, else ``$SCIM_CONSOLE_DB_URL``, else ``sqlite:///<data_dir>/console.db``."""
    if url:
        return url
    env = os.environ.get(DB_URL_ENV, "").strip()
    if env:
        return env
    paths = (paths or AppPaths.default()).ensure()
    return f"sqlite:///{Path(paths.data_dir) / DB_FILE}"


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None  # we emit BEGIN ourselves (see module docstring)
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    finally:
        cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    connection.exec_driver_sql("BEGIN")


def make_engine(url: str | None = None, paths: AppPaths | None = None) -> Engine:
    resolved = resolve_url(url, paths)
    parsed = make_url(resolved)
    if parsed.get_backend_name() != "sqlite":
        return create_engine(resolved, pool_pre_ping=True)
    database = parsed.database or ""
    in_memory = database in ("", ":memory:") or database.startswith("file::memory:")
    kwargs: dict[str, Any] = {"connect_args": {"check_same_thread": False}}
    if in_memory:
        kwargs["poolclass"] = StaticPool  # one shared connection, or each checkout sees an empty DB
    else:
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(resolved, **kwargs)
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def sqlite_pragmas(engine: Engine) -> dict[str, Any]:
    """Current pragma values of one connection (self-check and tests)."""
    with engine.connect() as conn:
        return {
            name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
            for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")
        }
