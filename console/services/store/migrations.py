"""Explicit schema version ladder of the local store (conventions §4.2 item 11).

Each step takes the database from version N-1 to N inside ONE transaction (DDL included; see
``engine.py`` for SQLite) and records N in ``schema_version``; a failing step leaves the database
exactly at N-1. Steps are frozen once released: never edit one, add the next. For every released
version a real database file lives in ``tests/data/db/v{N}.sqlite`` and a test upgrades it.

* v1 — profiles, append-only ``audit_trail`` (ts, actor, profile, org, action, params, outcome),
  ``app_state`` key/value, ``schema_version``.
* v2 — the audit viewer: ``audit_trail.detail`` (why an action failed, shown in the viewer and
  searched by its text filter) and indexes for its filters (time; org + time; action + time),
  which turn "newest 200 for org X" from a full scan into an index range.
* v3 — ``pending_deliveries``: SCIM tokens waiting to reach the customer (token id, last four,
  fingerprint, expiry, how and when delivered, when purged from the keyring). Never the token.
* v4 — ``reconcile_runs`` and ``reconcile_steps``: an applied reconciliation plan and the state of
  each of its steps (pending → running → done / already done / conflict / failed / blocked), so an
  interrupted run can be resumed and reports exactly what was and was not done. No secrets: ids,
  addresses, versions and messages only.
* v5 — the platform a pending SCIM token belongs to (``pending_deliveries.platform_id`` and
  ``platform_url``; older rows are bound when first used, see ``pending_deliveries.adopt_legacy``),
  and ``scim_intents``: an enable/rotate whose outcome is not known yet, with its Idempotency-Key,
  so a retry from any process repeats the same key. No secrets.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Connection,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.engine import Engine

from console.core.errors import UserFacingError
from console.services.store.schema import SCHEMA_VERSION, UTCDateTime

log = logging.getLogger(__name__)

Step = Callable[[Connection], None]


class SchemaTooNewError(UserFacingError):
    """The database was written by a newer console; this one must not touch it."""


def _append_only_triggers(conn: Connection) -> None:
    """UPDATE and DELETE on audit_trail abort (desktop-stack §6.6)."""
    dialect = conn.dialect.name
    if dialect == "sqlite":
        for op in ("UPDATE", "DELETE"):
            conn.exec_driver_sql(
                f"CREATE TRIGGER audit_trail_no_{op.lower()} BEFORE {op} ON audit_trail "
                f"BEGIN SELECT RAISE(ABORT, 'audit_trail is append-only'); END"
            )
    elif dialect == "postgresql":
        conn.exec_driver_sql(
            "CREATE FUNCTION audit_trail_append_only() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN RAISE EXCEPTION 'audit_trail is append-only'; END $$"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER audit_trail_append_only BEFORE UPDATE OR DELETE ON audit_trail "
            "FOR EACH ROW EXECUTE FUNCTION audit_trail_append_only()"
        )
    else:  # pragma: no cover - other databases are not supported
        log.warning("no append-only trigger for dialect %s", dialect)


def v1(conn: Connection) -> None:
    md = MetaData()  # frozen copy of the v1 tables: do not import the current schema here
    Table("schema_version", md,
          Column("version", Integer, primary_key=True, autoincrement=False),
          Column("applied_at", UTCDateTime, nullable=False))
    Table("profiles", md,
          Column("id", String(64), primary_key=True),
          Column("name", String(200), nullable=False, unique=True),
          Column("admin_url", String(2000), nullable=False),
          Column("operator", String(200), nullable=False),
          Column("is_sandbox", Boolean, nullable=False),
          Column("created_at", UTCDateTime, nullable=False))
    Table("audit_trail", md,
          Column("id", Integer, primary_key=True, autoincrement=True),
          Column("ts", UTCDateTime, nullable=False),
          Column("actor", String(200), nullable=False),
          Column("profile_id", String(64)),
          Column("org_id", String(200)),
          Column("action", String(100), nullable=False),
          Column("params", JSON, nullable=False),
          Column("outcome", String(40), nullable=False))
    Table("app_state", md,
          Column("key", String(200), primary_key=True),
          Column("value", JSON),
          Column("updated_at", UTCDateTime, nullable=False))
    md.create_all(conn)
    _append_only_triggers(conn)


def v2(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE audit_trail ADD COLUMN detail TEXT")
    md = MetaData()
    audit = Table("audit_trail", md, Column("ts", UTCDateTime), Column("org_id", String(200)),
                  Column("action", String(100)), Column("detail", Text))
    for index in (Index("ix_audit_trail_ts", audit.c.ts),
                  Index("ix_audit_trail_org_ts", audit.c.org_id, audit.c.ts),
                  Index("ix_audit_trail_action_ts", audit.c.action, audit.c.ts)):
        index.create(conn)


def v3(conn: Connection) -> None:
    md = MetaData()  # frozen copy of the v3 table
    Table("pending_deliveries", md,
          Column("token_id", String(100), primary_key=True),
          Column("org_id", String(200), nullable=False),
          Column("profile_id", String(64)),
          Column("last_four", String(8), nullable=False),
          Column("fingerprint", String(100), nullable=False),
          Column("created_at", UTCDateTime, nullable=False),
          Column("expires_at", UTCDateTime, nullable=False),
          Column("delivered_at", UTCDateTime),
          Column("method", String(40)),
          Column("link_id", String(100)),
          Column("purged_at", UTCDateTime),
          Index("ix_pending_deliveries_org", "org_id"))
    md.create_all(conn)


def v4(conn: Connection) -> None:
    md = MetaData()  # frozen copy of the v4 tables
    Table("reconcile_runs", md,
          Column("id", String(40), primary_key=True),
          Column("org_id", String(200), nullable=False),
          Column("profile_id", String(64)),
          Column("plan_id", String(64), nullable=False),
          Column("actor", String(200), nullable=False),
          Column("status", String(20), nullable=False),
          Column("created_at", UTCDateTime, nullable=False),
          Column("updated_at", UTCDateTime, nullable=False),
          Column("summary", JSON, nullable=False),
          Index("ix_reconcile_runs_org_status", "org_id", "status"))
    Table("reconcile_steps", md,
          Column("run_id", String(40), primary_key=True),
          Column("seq", Integer, primary_key=True, autoincrement=False),
          Column("item", String(64), nullable=False),
          Column("action", String(40), nullable=False),
          Column("step", JSON, nullable=False),
          Column("state", String(20), nullable=False),
          Column("detail", Text),
          Column("result_version", Integer),
          Column("updated_at", UTCDateTime, nullable=False))
    md.create_all(conn)


def v5(conn: Connection) -> None:
    conn.exec_driver_sql("ALTER TABLE pending_deliveries ADD COLUMN platform_id VARCHAR(200)")
    conn.exec_driver_sql("ALTER TABLE pending_deliveries ADD COLUMN platform_url VARCHAR(2000)")
    md = MetaData()  # frozen copy of the v5 table
    Table("scim_intents", md,
          Column("intent_id", String(64), primary_key=True),
          Column("idempotency_key", String(100)),
          Column("kind", String(20), nullable=False),
          Column("org_id", String(200), nullable=False),
          Column("platform_id", String(200), nullable=False),
          Column("platform_url", String(2000), nullable=False),
          Column("profile_id", String(64)),
          Column("created_at", UTCDateTime, nullable=False),
          Column("attempts", Integer, nullable=False),
          Column("last_error", Text),
          Column("resolved_at", UTCDateTime),
          Column("outcome", String(40)),
          Index("ix_scim_intents_open", "platform_id", "org_id", "kind"))
    md.create_all(conn)


STEPS: tuple[Step, ...] = (v1, v2, v3, v4, v5)
assert len(STEPS) == SCHEMA_VERSION, "schema.SCHEMA_VERSION must equal the number of migration steps"


def current_version(conn: Connection) -> int:
    if not inspect(conn).has_table("schema_version"):
        return 0
    return int(conn.execute(text("SELECT MAX(version) FROM schema_version")).scalar() or 0)


def migrate(engine: Engine, *, steps: Sequence[Step] = STEPS, target: int | None = None) -> int:
    """Upgrade one version at a time up to ``target`` (default: latest); returns the version."""
    target = len(steps) if target is None else target
    with engine.connect() as conn:
        version = current_version(conn)
    if version > len(steps):
        raise SchemaTooNewError(
            f"The local database has schema version {version}, newer than this console supports "
            f"({len(steps)}).", hint="Update the console, or point SCIM_CONSOLE_DB_URL at another database.")
    while version < target:
        step = steps[version]
        with engine.begin() as conn:  # one transaction per step: all or nothing
            step(conn)
            conn.execute(text("INSERT INTO schema_version (version, applied_at) VALUES (:v, :t)"),
                         {"v": version + 1, "t": datetime.now(UTC).replace(tzinfo=None)})
        version += 1
        log.info("local store migrated to schema v%d (%s)", version, step.__name__)
    return version


def applied_versions(engine: Engine) -> list[int]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT version FROM schema_version ORDER BY version")).scalars()
        return [int(v) for v in rows]
