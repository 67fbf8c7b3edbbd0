"""The local store's *current* schema (SQLAlchemy Core), used by the repositories.

The database is created and upgraded only by ``migrations.py``, one version at a time; this
module must always describe what the newest migration produces (a test compares the two).

Nothing secret is stored here: profiles have no token column (tokens live in the OS keyring) and
audit ``params`` are scrubbed before insert (``audit.scrub``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
)

SCHEMA_VERSION = 5


class UTCDateTime(TypeDecorator[datetime]):
    """Stored as naive UTC (SQLite keeps no offset), always returned timezone-aware."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is not None:
            value = value.astimezone(UTC).replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is not None and value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value


metadata = MetaData()

schema_version = Table(
    "schema_version", metadata,
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("applied_at", UTCDateTime, nullable=False),
)

profiles = Table(
    "profiles", metadata,
    Column("id", String(64), primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("admin_url", String(2000), nullable=False),
    Column("operator", String(200), nullable=False, default=""),
    Column("is_sandbox", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
)

audit_trail = Table(
    "audit_trail", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ts", UTCDateTime, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("profile_id", String(64)),   # no FK: removing a profile must not touch its history
    Column("org_id", String(200)),
    Column("action", String(100), nullable=False),
    Column("params", JSON, nullable=False),
    Column("outcome", String(40), nullable=False),
    Column("detail", Text),             # v2
    Index("ix_audit_trail_ts", "ts"),                     # v2
    Index("ix_audit_trail_org_ts", "org_id", "ts"),       # v2
    Index("ix_audit_trail_action_ts", "action", "ts"),    # v2
)

app_state = Table(
    "app_state", metadata,
    Column("key", String(200), primary_key=True),
    Column("value", JSON),
    Column("updated_at", UTCDateTime, nullable=False),
)

# v3: SCIM tokens waiting to reach the customer; the token itself lives only in the OS keyring
# (``org:<org_id>:scim-token:<token_id>``) until delivered or expired, then it is purged.
pending_deliveries = Table(
    "pending_deliveries", metadata,
    Column("token_id", String(100), primary_key=True),
    Column("org_id", String(200), nullable=False),
    Column("profile_id", String(64)),
    Column("last_four", String(8), nullable=False),
    Column("fingerprint", String(100), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Column("method", String(40)),                 # "link" | "copy" | "age-file"
    Column("link_id", String(100)),               # the platform's one-time link, when method == "link"
    Column("purged_at", UTCDateTime),             # removed from the keyring
    Column("platform_id", String(200)),           # v5: the platform that minted it (NULL: before v5)
    Column("platform_url", String(2000)),         # v5: its admin URL, for messages
    Index("ix_pending_deliveries_org", "org_id"),
)

# v5: an enable/rotate whose outcome is not known yet, with the Idempotency-Key it was sent with
# (console.services.scim_intents). The key is not a secret on its own: the platform replays the
# token only to a caller that also holds a valid operator token.
scim_intents = Table(
    "scim_intents", metadata,
    Column("intent_id", String(64), primary_key=True),  # SHA-256 of the key: findable after it is wiped
    Column("idempotency_key", String(100)),            # NULL once the outcome is known
    Column("kind", String(20), nullable=False),        # "enable" | "rotate"
    Column("org_id", String(200), nullable=False),
    Column("platform_id", String(200), nullable=False),
    Column("platform_url", String(2000), nullable=False),
    Column("profile_id", String(64)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
    Column("resolved_at", UTCDateTime),
    Column("outcome", String(40)),                     # "minted" | "not_minted" | "abandoned"
    Index("ix_scim_intents_open", "platform_id", "org_id", "kind"),
)

# v4: applied reconciliation plans and the state of each step (console.services.reconcile.runs).
reconcile_runs = Table(
    "reconcile_runs", metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(200), nullable=False),
    Column("profile_id", String(64)),
    Column("plan_id", String(64), nullable=False),     # Plan.id: the content hash of the confirmed steps
    Column("actor", String(200), nullable=False),
    Column("status", String(20), nullable=False),      # running|interrupted|cancelled|finished|abandoned
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("summary", JSON, nullable=False),           # counts per step state, set at each stop
    Index("ix_reconcile_runs_org_status", "org_id", "status"),
)

reconcile_steps = Table(
    "reconcile_steps", metadata,
    Column("run_id", String(40), primary_key=True),
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("item", String(64), nullable=False),        # the finding id (steps of one item stop together)
    Column("action", String(40), nullable=False),
    Column("step", JSON, nullable=False),              # the PlannedStep as confirmed
    Column("state", String(20), nullable=False),       # pending | running | done | already_done | advice |
                                                       # conflict | failed | blocked
    Column("detail", Text),                            # what happened, in words
    Column("result_version", Integer),                 # the user's version after this step (chains the next)
    Column("updated_at", UTCDateTime, nullable=False),
)
