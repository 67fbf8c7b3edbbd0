"""The big ``tailspin`` org's users and provisioning log, filled in chunks that each commit.

Why a separate fill: a new user's first start must list organisations within seconds, and the demo's
50 000 users and 200 000 log events take ~15 s to write. So ``seed.seed_quick`` writes the small orgs
and Tailspin's shell (org, work areas, template, SCIM settings, token) at once, and this fill adds the
bulk afterwards — before the server starts (``exclusive=True``: the CLI, tests) or on a background
thread while the sandbox already serves requests (the GUI). Each chunk is one short write transaction:
with SQLite in WAL mode readers never wait, and another writer waits at most one chunk.

The fill is complete when its marker (platform audit action ``sandbox.seed.bulk``) exists. A fill that
was interrupted (the console quit, the process was killed) leaves no marker: the next start wipes
Tailspin's partial users and events and fills again, so the result is always the full, deterministic
org (its own ``random.Random(BULK_SEED)``, independent of the small orgs).

Rows go in with ``executemany`` on the raw driver (SQLAlchemy's per-row type processing costs 2–3×);
timestamps are written in the exact text SQLAlchemy's SQLite ``DateTime`` uses, so ORM reads and range
filters see the same values.
"""

from __future__ import annotations

import json
import random
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.orm import Session

from console.sandbox.db import AuditEntry, ProvisioningEvent, utcnow
from console.sandbox.service import audit

TAILSPIN_ID = "tailspin"
SEED_MARKER = "sandbox.seed"
BULK_MARKER = "sandbox.seed.bulk"
SEED_ACTOR = "seed"
BULK_SEED = 4242
USER_CHUNK = 5_000
EVENT_CHUNK = 20_000

FIRST = ["Aaliyah", "Ben", "Carla", "Dmitri", "Elif", "Farah", "Gustavo", "Hana", "Ivan", "Jana", "Kofi",
         "Lena", "Mateo", "Nora", "Omar", "Priya", "Quentin", "Rosa", "Sven", "Tariq", "Uma", "Victor", "Wen",
         "Ximena", "Yusuf", "Zoë", "André", "Björn", "Chloé", "Đorđe", "Émilie", "Søren"]
LAST = ["Abara", "Berg", "Castillo", "Dubois", "Eriksen", "Fischer", "García", "Haddad", "Ito", "Jensen",
        "Kowalski", "Lindqvist", "Müller", "Nakamura", "O'Brien", "Petrov", "Quispe", "Rossi", "Schmidt",
        "Tanaka", "Ulloa", "Varga", "Weber", "Xu", "Yilmaz", "Zhang", "Novák", "Öztürk"]

_ASCII = str.maketrans({"é": "e", "ë": "e", "É": "E", "ö": "o", "Ö": "O", "ü": "u", "ø": "o", "Ø": "O",
                        "á": "a", "í": "i", "ç": "c", "Đ": "D", "đ": "d", "Ç": "C", "'": ""})

Progress = Callable[[int, int], None]  # (done, total) rows


@dataclass(frozen=True)
class TailspinSize:
    users: int
    events: int

    @property
    def rows(self) -> int:
        return self.users + self.events


TAILSPIN = {
    "small": TailspinSize(200, 1_000),
    "demo": TailspinSize(50_000, 200_000),
    "large": TailspinSize(200_000, 1_000_000),
}


def ascii_local(text: str) -> str:
    return text.translate(_ASCII).replace(" ", "")


def sql_ts(value: datetime) -> str:
    """The text SQLAlchemy's SQLite DateTime stores (naive UTC)."""
    return value.replace(tzinfo=None).isoformat(" ", "microseconds")  # 5× faster than strftime


def pending_size(session: Session) -> TailspinSize | None:
    """Tailspin's size when its bulk is still to be filled (a new or interrupted seed), else None.

    Databases seeded before the fill was split off carry no size in their seed marker: complete."""
    params = session.scalar(select(AuditEntry.params).where(AuditEntry.action == SEED_MARKER).limit(1))
    bulk = (params or {}).get("bulk")
    if not bulk:
        return None
    if session.scalar(select(AuditEntry.id).where(AuditEntry.action == BULK_MARKER).limit(1)) is not None:
        return None
    return TailspinSize(int(bulk["users"]), int(bulk["events"]))


def fill(engine: Engine, size: TailspinSize, *, progress: Progress | None = None,
         cancelled: Callable[[], bool] = lambda: False, exclusive: bool = False) -> bool:
    """Fill Tailspin's users and log; returns False when ``cancelled()`` stopped it (no marker).

    ``exclusive``: nothing else uses the database yet, so the log's indexes are dropped during the
    load and built once afterwards (about twice as fast as maintaining four b-trees row by row)."""
    report = progress or (lambda _done, _total: None)
    rng = random.Random(BULK_SEED)
    now = utcnow()
    with engine.connect() as conn:
        # A bigger page cache keeps the growing index b-trees in memory during the load (~30 % faster).
        conn.exec_driver_sql("PRAGMA cache_size=-262144")
        _wipe_partial(conn)
        token_id = conn.exec_driver_sql(
            "SELECT id FROM scim_tokens WHERE org_id = ? ORDER BY created_at, id LIMIT 1", (TAILSPIN_ID,)
        ).scalar()
        areas = [r[0] for r in conn.exec_driver_sql(
            "SELECT id FROM work_areas WHERE org_id = ? ORDER BY id", (TAILSPIN_ID,))]
        report(0, size.rows)
        brief = _users(conn, rng, now, size, areas, report, cancelled)
        if brief is None:
            return False
        indexes = list(ProvisioningEvent.__table__.indexes) if exclusive else []
        for index in indexes:
            index.drop(conn)
        done = _events(conn, rng, now, size, brief, token_id, report, cancelled)
        for index in indexes:
            index.create(conn)
        conn.commit()
        conn.exec_driver_sql("PRAGMA cache_size=-2000")  # back to SQLite's default for this pooled connection
        if not done:
            return False
    with Session(engine) as session:
        audit(session, actor=SEED_ACTOR, org_id=TAILSPIN_ID, action=BULK_MARKER,
              params={"users": size.users, "events": size.events})
        session.commit()
    report(size.rows, size.rows)
    return True


def _wipe_partial(conn: Connection) -> None:
    """What an interrupted fill left behind (nothing on a new database)."""
    users = "SELECT id FROM users WHERE org_id = ?"
    conn.exec_driver_sql("DELETE FROM provisioning_log WHERE org_id = ?", (TAILSPIN_ID,))
    conn.exec_driver_sql(f"DELETE FROM work_area_memberships WHERE user_id IN ({users})", (TAILSPIN_ID,))
    conn.exec_driver_sql(f"DELETE FROM group_members WHERE user_id IN ({users})", (TAILSPIN_ID,))
    conn.exec_driver_sql("DELETE FROM user_emails WHERE org_id = ?", (TAILSPIN_ID,))
    conn.exec_driver_sql("DELETE FROM users WHERE org_id = ?", (TAILSPIN_ID,))
    conn.commit()


def seeded_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


_USER_SQL = (
    "INSERT INTO users (id, org_id, scim_id, user_name, user_name_key, display_name, given_name, "
    "family_name, active, external_id, idp_link, created_via, role, scim_json, last_login_at, "
    "created_at, updated_at, merged_into_id, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)
_EMAIL_SQL = ('INSERT INTO user_emails (user_id, org_id, value, value_key, type, "primary", position) '
              "VALUES (?,?,?,?,?,?,?)")
_MEMBER_SQL = ("INSERT INTO work_area_memberships (user_id, work_area_id, granted_by, created_at) "
               "VALUES (?,?,?,?)")


def _users(conn: Connection, rng: random.Random, now: datetime, size: TailspinSize, areas: list[str],
           report: Progress, cancelled: Callable[[], bool]) -> list[tuple[str, str, str, str | None]] | None:
    """Insert the users (one commit per chunk); returns (id, scim_id, user_name, external_id) of each."""
    brief: list[tuple[str, str, str, str | None]] = []
    empty_json = json.dumps({})
    for chunk_start in range(0, size.users, USER_CHUNK):
        if cancelled():
            return None
        users: list[tuple[Any, ...]] = []
        emails: list[tuple[Any, ...]] = []
        members: list[tuple[Any, ...]] = []
        for i in range(chunk_start, min(size.users, chunk_start + USER_CHUNK)):
            first, last = FIRST[rng.randrange(len(FIRST))], LAST[rng.randrange(len(LAST))]
            user_name = f"{ascii_local(first)}.{ascii_local(last)}.{i}".lower() + "@tailspintoys.com"
            scim = rng.random() < 0.95
            ext = seeded_uuid(rng) if scim else None
            created = sql_ts(now - timedelta(days=1 + (size.users - i) * 1400 / size.users))
            uid = f"u_{i:08d}{rng.getrandbits(48):012x}"
            scim_id = seeded_uuid(rng)
            active = 1 if rng.random() > 0.03 else 0
            users.append((uid, TAILSPIN_ID, scim_id, user_name, user_name, f"{first} {last}", first, last,
                          active, ext, ext, "scim" if scim else "manual", "member", empty_json, None,
                          created, created, None, 1))
            emails.append((uid, TAILSPIN_ID, user_name, user_name, "work", 1, 0))
            if rng.random() < 0.1:
                alias = f"{ascii_local(first)[0]}{ascii_local(last)}{i}@tailspin.example".lower()
                emails.append((uid, TAILSPIN_ID, alias, alias, "other", 0, 1))
            members.append((uid, areas[rng.randrange(len(areas))], SEED_ACTOR, created))
            brief.append((uid, scim_id, user_name, ext))
        conn.exec_driver_sql(_USER_SQL, users)
        conn.exec_driver_sql(_EMAIL_SQL, emails)
        conn.exec_driver_sql(_MEMBER_SQL, members)
        conn.commit()
        report(len(brief), size.rows)
    return brief


_OPS = [  # (weight, method, op, status, outcome, error_code, detail template)
    (40, "GET", "query", 200, "success", None, None),
    (30, "PATCH", "update", 200, "success", None, None),
    (8, "POST", "create", 201, "success", None, None),
    (8, "GET", "get", 200, "success", None, None),
    (5, "PATCH", "update", 200, "skipped", None, None),
    (2, "PATCH", "update", 204, "success", None, None),
    (2, "POST", "create", 409, "failure", "uniqueness", "userName {u} is already taken."),
    (1, "PATCH", "update", 409, "failure", "uniqueness", "Email {u} is already used by another user."),
    (1, "PATCH", "update", 400, "failure", "invalidValue", "Attribute 'active' must be a boolean."),
    (1, "GET", "get", 404, "failure", "invalidAnchor", "Resource {s} not found."),
    (1, "DELETE", "delete", 204, "success", None, None),
    (1, "GET", "discovery", 200, "success", None, None),
]

_EVENT_SQL = (
    "INSERT INTO provisioning_log (org_id, ts, method, path, op, op_summary, status, outcome, latency_ms, "
    "user_id, scim_id, user_name, external_id, error_code, error_detail, token_id) "
    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)"
)


def _events(conn: Connection, rng: random.Random, now: datetime, size: TailspinSize,
            users: Sequence[tuple[str, str, str, str | None]], token_id: str | None, report: Progress,
            cancelled: Callable[[], bool]) -> bool:
    """The last 30 days of Tailspin's provisioning log, oldest first (one commit per chunk)."""
    base = f"/scim/v2/{TAILSPIN_ID}"
    weights = [w for w, *_ in _OPS]
    picks = rng.choices(range(len(_OPS)), weights=weights, k=size.events)
    start = now - timedelta(days=30)
    span = timedelta(days=30).total_seconds()
    rows: list[tuple[Any, ...]] = []
    for n, pick in enumerate(picks):
        _w, method, op, status, outcome, code, detail = _OPS[pick]
        uid, scim_id, user_name, ext = users[rng.randrange(len(users))]
        ts = sql_ts(start + timedelta(seconds=span * n / size.events))
        if op == "query":
            path = f'{base}/Users?filter=userName eq "{user_name}"'
            summary = f"filter userName eq {user_name}"
        elif op == "create":
            path, summary = f"{base}/Users", f"create {user_name}"
        elif op == "discovery":
            path, summary = f"{base}/ServiceProviderConfig", "ServiceProviderConfig"
            uid = scim_id = user_name = ext = None  # type: ignore[assignment]
        else:
            path = f"{base}/Users/{scim_id}"
            summary = "Replace active, displayName" if op == "update" else op
        latency = round(rng.uniform(2, 80), 1)
        rows.append((TAILSPIN_ID, ts, method, path, op, summary, status, outcome, latency,
                     uid, scim_id, user_name, ext, code,
                     detail.format(u=user_name, s=scim_id) if detail else None, token_id))
        if len(rows) >= EVENT_CHUNK or n == size.events - 1:
            if cancelled():
                return False
            conn.exec_driver_sql(_EVENT_SQL, rows)
            conn.commit()
            rows = []
            report(len(users) + n + 1, size.rows)
    return True
