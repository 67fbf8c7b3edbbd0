"""The sandbox platform's schema (SQLAlchemy 2 on SQLite, WAL).

This is the platform's own database, not the console's local store. It models what the production
platform holds for each customer organisation: users, their emails, groups, work areas, New User
Templates, SCIM settings and tokens, the provisioning log and the platform audit log.

Design notes (why it looks like this):

* A user has an internal ``id`` (``u_…``, used by the admin API) and a separate ``scim_id`` (the
  SCIM ``id`` Entra caches). They differ so that a merge can move the SCIM identity Entra already
  holds onto the surviving account (entra-facts §3.4 rule 5) without ever making
  ``GET /Users/{oldId}`` answer with a different person.
* ``user_name_key`` / ``value_key`` hold the NFC + casefolded form, so ``userName`` and email
  lookups are case-insensitive (RFC 7643 §4.1.1) while the stored values stay exactly as sent.
* ``scim_json`` keeps the SCIM attributes the platform has no column for (phone numbers, titles,
  enterprise and custom extensions, manager …), exactly as Entra sent them.
* ``version`` increases on every change of a user; admin actions accept ``expected_version`` so
  the console can stop an item whose data changed since its preview.
* SCIM tokens are stored only as SHA-256 hashes; one-time-link secrets only as ciphertext whose
  key is not stored (it travels in the link).
"""

from __future__ import annotations

import secrets
import unicodedata
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    create_engine,
    event,
)
from sqlalchemy.engine import Engine
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, sessionmaker

# SQLite integers are signed 64-bit: a bigger value bound to a statement raises OverflowError (a 500),
# so every integer a client sends (ids, cursors, versions, offsets) is checked against this first.
MAX_INT64 = 2**63 - 1


def utcnow() -> datetime:
    """Timezone-aware now; SQLite stores it as naive UTC, see ``UTCDateTime``."""
    return datetime.now(UTC)


def fold(value: str) -> str:
    """Comparison key for userNames and emails: NFC, then casefold (entra-facts §3.4 rule 8)."""
    return unicodedata.normalize("NFC", value).casefold()


def new_user_id() -> str:
    return "u_" + uuid.uuid4().hex[:20]


def new_scim_id() -> str:
    return str(uuid.uuid4())


def new_id(prefix: str) -> str:
    return f"{prefix}_" + secrets.token_hex(8)


class UTCDateTime(TypeDecorator[datetime]):
    """DateTime stored as naive UTC and always returned timezone-aware (SQLite drops tzinfo)."""

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


class Base(DeclarativeBase):
    pass


class Org(Base):
    __tablename__ = "orgs"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200), index=True)
    domains: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class WorkArea(Base):
    __tablename__ = "work_areas"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("wa"))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    __table_args__ = (UniqueConstraint("org_id", "name"),)


class User(Base):
    __tablename__ = "users"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_user_id)
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    scim_id: Mapped[str] = mapped_column(String(64), unique=True, default=new_scim_id)
    user_name: Mapped[str] = mapped_column(String(320))
    user_name_key: Mapped[str] = mapped_column(String(320))
    display_name: Mapped[str | None] = mapped_column(String(320))
    given_name: Mapped[str | None] = mapped_column(String(200))
    family_name: Mapped[str | None] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    external_id: Mapped[str | None] = mapped_column(String(320))
    # The SCIM identity bound to this user: the externalId (or, without one, the scim_id) Entra
    # provisioned it under. NULL = not linked to the IdP. "Clear the IdP link" sets it to NULL.
    idp_link: Mapped[str | None] = mapped_column(String(320))
    created_via: Mapped[str] = mapped_column(String(16), default="manual")  # manual|invite|scim
    role: Mapped[str | None] = mapped_column(String(64))
    scim_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_login_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    # Set when a merge deactivated this user in favour of another (kept, never deleted).
    merged_into_id: Mapped[str | None] = mapped_column(String(64))
    version: Mapped[int] = mapped_column(Integer, default=1)

    emails: Mapped[list[UserEmail]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="UserEmail.position"
    )
    work_areas: Mapped[list[WorkAreaMembership]] = relationship(
        back_populates="user", cascade="all, delete-orphan"
    )

    __table_args__ = (
        # userName is unique per org, case-insensitively (RFC 7643 uniqueness: server).
        UniqueConstraint("org_id", "user_name_key", name="uq_users_org_username"),
        Index("ix_users_org_id_id", "org_id", "id"),
        Index("ix_users_org_external_id", "org_id", "external_id"),
        Index("ix_users_org_created_via", "org_id", "created_via"),
        Index("ix_users_org_display_name", "org_id", "display_name"),
    )

    @property
    def primary_email(self) -> str | None:
        for email in self.emails:
            if email.primary:
                return email.value
        return self.emails[0].value if self.emails else None


class UserEmail(Base):
    __tablename__ = "user_emails"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    org_id: Mapped[str] = mapped_column(String(64))
    value: Mapped[str] = mapped_column(String(320))
    value_key: Mapped[str] = mapped_column(String(320))
    type: Mapped[str | None] = mapped_column(String(32))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    position: Mapped[int] = mapped_column(Integer, default=0)

    user: Mapped[User] = relationship(back_populates="emails")

    __table_args__ = (Index("ix_user_emails_org_value_key", "org_id", "value_key"),)


class WorkAreaMembership(Base):
    __tablename__ = "work_area_memberships"

    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    work_area_id: Mapped[str] = mapped_column(
        ForeignKey("work_areas.id", ondelete="CASCADE"), primary_key=True
    )
    granted_by: Mapped[str | None] = mapped_column(String(64))  # template id, "manual", "merge"
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    user: Mapped[User] = relationship(back_populates="work_areas")


class Group(Base):
    __tablename__ = "groups"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=new_scim_id)  # SCIM id
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"))
    display_name: Mapped[str] = mapped_column(String(320))
    display_name_key: Mapped[str] = mapped_column(String(320))
    external_id: Mapped[str | None] = mapped_column(String(320))
    scim_json: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(Integer, default=1)

    members: Mapped[list[GroupMember]] = relationship(
        back_populates="group", cascade="all, delete-orphan"
    )

    __table_args__ = (
        UniqueConstraint("org_id", "display_name_key", name="uq_groups_org_display_name"),
    )


class GroupMember(Base):
    __tablename__ = "group_members"

    group_id: Mapped[str] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)

    group: Mapped[Group] = relationship(back_populates="members")

    __table_args__ = (Index("ix_group_members_user", "user_id"),)


class Template(Base):
    """A New User Template. One that ``applies_to_all`` is applied to every user created by SCIM
    or invite: the user gets its work areas and role."""

    __tablename__ = "templates"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("tpl"))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(200))
    applies_to_all: Mapped[bool] = mapped_column(Boolean, default=False)
    role: Mapped[str] = mapped_column(String(64), default="member")
    work_area_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)


class ScimSettings(Base):
    __tablename__ = "scim_settings"

    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), primary_key=True)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    enabled_by: Mapped[str | None] = mapped_column(String(200))


class ScimToken(Base):
    """A SCIM bearer token. Only its SHA-256 hash is stored; at most 2 active per org."""

    __tablename__ = "scim_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("tok"))
    org_id: Mapped[str] = mapped_column(ForeignKey("orgs.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    last_four: Mapped[str] = mapped_column(String(4))
    fingerprint: Mapped[str] = mapped_column(String(16))  # first 16 hex chars of SHA-256
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class OperatorToken(Base):
    """An admin-API (operator) credential of the sandbox. Stored only as a hash."""

    __tablename__ = "operator_tokens"

    id: Mapped[str] = mapped_column(String(64), primary_key=True, default=lambda: new_id("op"))
    name: Mapped[str] = mapped_column(String(200))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())  # NULL only in pre-expiry DBs


class PlatformInstance(Base):
    """This database's platform identity (one row): a random id minted with the database, so the
    console can tell two platforms apart even when both hold an org with the same id
    (docs/platform-identity.md)."""

    __tablename__ = "platform_instance"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    instance_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class IdempotencyRecord(Base):
    """Replay store for ``Idempotency-Key``. A response that carries a secret is stored only as
    ciphertext under a key derived from the Idempotency-Key itself (which only the client knows),
    so a retried enable returns the same token without the database ever holding it in clear."""

    __tablename__ = "idempotency_records"

    key_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    scope: Mapped[str] = mapped_column(String(200))  # e.g. "POST /orgs/{id}/scim/enable"
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int] = mapped_column(Integer)
    response_ciphertext: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SecureLink(Base):
    """A one-time link. The secret is ciphertext; the key is only in the link the customer gets.
    The ciphertext is wiped when the link is read, expires or is revoked."""

    __tablename__ = "secure_links"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    org_id: Mapped[str | None] = mapped_column(String(64), index=True)
    label: Mapped[str | None] = mapped_column(String(200))
    ciphertext: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(200))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    viewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ProvisioningEvent(Base):
    """One SCIM request as the platform saw it. Never holds the bearer token."""

    __tablename__ = "provisioning_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    org_id: Mapped[str] = mapped_column(String(64))
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(1000))
    op: Mapped[str] = mapped_column(String(32))  # create|update|delete|query|get|discovery|...
    op_summary: Mapped[str | None] = mapped_column(Text)
    status: Mapped[int] = mapped_column(Integer)
    outcome: Mapped[str] = mapped_column(String(16))  # success|failure|skipped
    latency_ms: Mapped[float] = mapped_column(default=0.0)
    user_id: Mapped[str | None] = mapped_column(String(64))
    scim_id: Mapped[str | None] = mapped_column(String(64))
    user_name: Mapped[str | None] = mapped_column(String(320))
    external_id: Mapped[str | None] = mapped_column(String(320))
    error_code: Mapped[str | None] = mapped_column(String(64))  # scimType or platform code
    error_detail: Mapped[str | None] = mapped_column(Text)
    token_id: Mapped[str | None] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_plog_org_id", "org_id", "id"),
        Index("ix_plog_org_ts", "org_id", "ts"),
        Index("ix_plog_org_outcome_id", "org_id", "outcome", "id"),
        Index("ix_plog_org_user", "org_id", "user_id"),
    )


class AuditEntry(Base):
    """The platform audit log: every admin action, append-only."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ts: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    actor: Mapped[str] = mapped_column(String(200))
    org_id: Mapped[str | None] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str | None] = mapped_column(String(200))
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    outcome: Mapped[str] = mapped_column(String(32), default="ok")


def _set_sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")  # sandbox data; WAL+NORMAL stays consistent
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.close()


def make_engine(db_path: Path | str) -> Engine:
    """Engine for a sandbox database file (created if missing), with the schema in place."""
    url = f"sqlite:///{db_path}"
    engine = create_engine(url, connect_args={"check_same_thread": False}, pool_size=10)
    event.listen(engine, "connect", _set_sqlite_pragmas)
    Base.metadata.create_all(engine)
    with engine.begin() as conn:
        conn.exec_driver_sql(
            "CREATE TRIGGER IF NOT EXISTS audit_log_no_update BEFORE UPDATE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
        )
        conn.exec_driver_sql(
            "CREATE TRIGGER IF NOT EXISTS audit_log_no_delete BEFORE DELETE ON audit_log "
            "BEGIN SELECT RAISE(ABORT, 'audit log is append-only'); END"
        )
        if "expires_at" not in {c[1] for c in conn.exec_driver_sql("PRAGMA table_info(operator_tokens)")}:
            conn.exec_driver_sql("ALTER TABLE operator_tokens ADD COLUMN expires_at DATETIME")
        conn.exec_driver_sql(
            "INSERT OR IGNORE INTO platform_instance (id, instance_id, created_at) VALUES (1, ?, ?)",
            ("plat_" + uuid.uuid4().hex, utcnow().replace(tzinfo=None).isoformat(sep=" ")),
        )
    return engine


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)
