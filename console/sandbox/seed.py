"""Seed data for the sandbox platform (deterministic: ``random.Random(42)``).

Kinds:

* ``empty`` — one empty org ``acme`` (no users, no templates, SCIM off) to create things in.
* ``small`` — ``acme`` + ``contoso`` (ready for SCIM), ``fabrikam`` (no all-users template),
  ``northwind`` (SCIM on, with every duplicate pattern of entra-facts §3.2 and failed log entries)
  and a *small* ``tailspin`` (200 users, 1 000 events). Fast (< 1 s): use it when the big org is not needed.
* ``demo`` — ``small`` with the full ``tailspin``: 50 000 users, 200 000 provisioning-log events.
* ``large`` — ``demo`` with ``tailspin`` at 200 000 users / 1 000 000 events (benchmarks only).

``seed_quick`` writes everything but Tailspin's users and log in well under a second; those are
filled by ``console.sandbox.seed_bulk`` (see there: in the background on the GUI's first start, so a
new user sees the organisations at once). All times are relative to "now" so the demo log always
looks recent; ids, names and the mix of events are the same on every run.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from console.sandbox.db import (
    AuditEntry,
    Group,
    GroupMember,
    Org,
    ProvisioningEvent,
    ScimSettings,
    Template,
    User,
    UserEmail,
    WorkArea,
    WorkAreaMembership,
    fold,
    utcnow,
)
from console.sandbox.seed_bulk import (
    FIRST,
    LAST,
    SEED_ACTOR,
    SEED_MARKER,
    TAILSPIN,
    TAILSPIN_ID,
    ascii_local,
    fill,
    pending_size,
    seeded_uuid,
)
from console.sandbox.service import audit
from console.sandbox.tokens import mint_scim_token

SEED_KINDS = ("demo", "small", "empty", "large")


def _uid(rng: random.Random) -> str:
    return "u_" + f"{rng.getrandbits(80):020x}"


def is_seeded(session: Session) -> bool:
    marker = session.scalar(select(AuditEntry.id).where(AuditEntry.action == SEED_MARKER).limit(1))
    return marker is not None or session.scalar(select(Org.id).limit(1)) is not None


def ensure_seeded(session: Session, kind: str) -> bool:
    """Seed a new database quickly (``seed_quick``); an existing one is reused untouched. Returns True
    when it seeded. Tailspin's bulk may then still be pending: ``seed_bulk.pending_size``."""
    if kind not in SEED_KINDS:
        raise ValueError(f"unknown seed {kind!r}; expected one of {', '.join(SEED_KINDS)}")
    if is_seeded(session):
        return False
    seed_quick(session, kind)
    return True


def seed(session: Session, kind: str) -> None:
    """Fill an empty database with all of seed ``kind`` (Tailspin's bulk included) and commit."""
    seed_quick(session, kind)
    size = pending_size(session)
    if size is not None:
        fill(session.get_bind(), size, exclusive=True)  # type: ignore[arg-type]


def seed_quick(session: Session, kind: str) -> None:
    """Everything but Tailspin's users and log (< 1 s), committed; the seed marker records the bulk
    still to fill (``seed_bulk.fill``)."""
    if kind not in SEED_KINDS:
        raise ValueError(f"unknown seed {kind!r}; expected one of {', '.join(SEED_KINDS)}")
    rng = random.Random(42)
    now = utcnow()
    _org(session, "acme", "Acme Corporation", ["acme.example"], now - timedelta(days=400))
    bulk = None
    if kind != "empty":
        _contoso(session, rng, now)
        _fabrikam(session, rng, now)
        _northwind(session, rng, now)
        _tailspin_shell(session, rng, now)
        size = TAILSPIN[kind]
        bulk = {"users": size.users, "events": size.events}
    audit(session, actor=SEED_ACTOR, org_id=None, action=SEED_MARKER, params={"kind": kind, "bulk": bulk})
    session.commit()


# ---------------------------------------------------------------------------------------------- helpers


def _org(session: Session, org_id: str, name: str, domains: list[str], created: datetime) -> Org:
    org = Org(id=org_id, name=name, domains=domains, created_at=created)
    session.add(org)
    session.flush()
    return org


def _work_areas(
    session: Session, rng: random.Random, org_id: str, names: Sequence[str], created: datetime
) -> list[WorkArea]:
    areas = [
        WorkArea(id=f"wa_{org_id}_{i}", org_id=org_id, name=n, created_at=created)
        for i, n in enumerate(names)
    ]
    session.add_all(areas)
    session.flush()
    return areas


def _user(
    session: Session,
    rng: random.Random,
    org_id: str,
    *,
    user_name: str,
    emails: Iterable[str] = (),
    display_name: str | None = None,
    created_via: str = "manual",
    external_id: str | None = None,
    active: bool = True,
    created: datetime,
    work_area_ids: Iterable[str] = (),
    role: str | None = "member",
    last_login: datetime | None = None,
) -> User:
    given, _, family = (display_name or "").partition(" ")
    user = User(
        id=_uid(rng),
        scim_id=seeded_uuid(rng),
        org_id=org_id,
        user_name=user_name,
        user_name_key=fold(user_name),
        display_name=display_name,
        given_name=given or None,
        family_name=family or None,
        active=active,
        external_id=external_id,
        idp_link=external_id,
        created_via=created_via,
        role=role,
        scim_json={},
        last_login_at=last_login,
        created_at=created,
        updated_at=created,
        version=1,
    )
    for position, value in enumerate(emails):
        user.emails.append(
            UserEmail(
                org_id=org_id,
                value=value,
                value_key=fold(value),
                type="work",
                primary=position == 0,
                position=position,
            )
        )
    for wa in work_area_ids:
        user.work_areas.append(WorkAreaMembership(work_area_id=wa, granted_by="seed", created_at=created))
    session.add(user)
    return user


def _person(rng: random.Random) -> tuple[str, str]:
    return rng.choice(FIRST), rng.choice(LAST)


def _staff(
    session: Session,
    rng: random.Random,
    org_id: str,
    domain: str,
    count: int,
    now: datetime,
    areas: list[WorkArea],
    *,
    via: Sequence[str] = ("manual", "invite"),
) -> list[User]:
    users = []
    used: set[str] = set()
    while len(users) < count:
        first, last = _person(rng)
        local = f"{ascii_local(first)}.{ascii_local(last)}".lower()
        if local in used:
            continue
        used.add(local)
        created = now - timedelta(days=rng.randint(20, 700), minutes=rng.randint(0, 1440))
        users.append(
            _user(
                session,
                rng,
                org_id,
                user_name=f"{local}@{domain}",
                emails=[f"{local}@{domain}"],
                display_name=f"{first} {last}",
                created_via=rng.choice(via),
                active=rng.random() > 0.08,
                created=created,
                work_area_ids=[rng.choice(areas).id] if areas else [],
                last_login=now - timedelta(hours=rng.randint(1, 2000)),
            )
        )
    session.flush()
    return users


# ---------------------------------------------------------------------------------------------- orgs


def _contoso(session: Session, rng: random.Random, now: datetime) -> None:
    _org(session, "contoso", "Contoso Ltd", ["contoso.com"], now - timedelta(days=900))
    areas = _work_areas(
        session, rng, "contoso", ["Sales", "Engineering", "Support", "Finance"], now - timedelta(days=890)
    )
    session.add_all(
        [
            Template(
                id="tpl_contoso_all",
                org_id="contoso",
                name="All staff",
                applies_to_all=True,
                role="member",
                work_area_ids=[areas[2].id],
                created_at=now - timedelta(days=800),
                updated_at=now - timedelta(days=30),
            ),
            Template(
                id="tpl_contoso_eng",
                org_id="contoso",
                name="Engineers",
                applies_to_all=False,
                role="editor",
                work_area_ids=[areas[1].id],
                created_at=now - timedelta(days=700),
                updated_at=now - timedelta(days=700),
            ),
        ]
    )
    _staff(session, rng, "contoso", "contoso.com", 40, now, areas)
    group = Group(
        id=seeded_uuid(rng),
        org_id="contoso",
        display_name="Contoso Everyone",
        display_name_key=fold("Contoso Everyone"),
        scim_json={},
    )
    session.add(group)
    session.flush()


def _fabrikam(session: Session, rng: random.Random, now: datetime) -> None:
    _org(session, "fabrikam", "Fabrikam Inc", ["fabrikam.com"], now - timedelta(days=600))
    areas = _work_areas(session, rng, "fabrikam", ["Warehouse", "Office"], now - timedelta(days=590))
    session.add(
        Template(
            id="tpl_fabrikam_wh",
            org_id="fabrikam",
            name="Warehouse crew",
            applies_to_all=False,
            role="member",
            work_area_ids=[areas[0].id],
            created_at=now - timedelta(days=500),
            updated_at=now - timedelta(days=500),
        )
    )
    _staff(session, rng, "fabrikam", "fabrikam.com", 25, now, areas)


def _northwind(session: Session, rng: random.Random, now: datetime) -> None:
    """SCIM on, with every duplicate pattern the reconciler must find (entra-facts §3.2)."""
    org_id = "northwind"
    _org(
        session,
        org_id,
        "Northwind Traders",
        ["northwind.com", "northwindtraders.com"],
        now - timedelta(days=1200),
    )
    areas = _work_areas(
        session, rng, org_id, ["Logistics", "Purchasing", "Stores", "Head office"], now - timedelta(days=1190)
    )
    session.add(
        Template(
            id="tpl_northwind_all",
            org_id=org_id,
            name="Everyone",
            applies_to_all=True,
            role="member",
            work_area_ids=[areas[3].id],
            created_at=now - timedelta(days=400),
            updated_at=now - timedelta(days=400),
        )
    )
    session.add(
        ScimSettings(org_id=org_id, enabled=True, enabled_at=now - timedelta(days=45), enabled_by=SEED_ACTOR)
    )
    _plaintext, token = mint_scim_token(session, org_id, created_by=SEED_ACTOR)
    token.created_at = now - timedelta(days=45)
    token.last_used_at = now - timedelta(minutes=35)
    # Regular SCIM-provisioned users.
    scim_users = []
    for i in range(40):
        first, last = _person(rng)
        local = f"{ascii_local(first)}.{ascii_local(last)}{i}".lower()
        ext = seeded_uuid(rng)
        scim_users.append(
            _user(
                session,
                rng,
                org_id,
                user_name=f"{local}@northwind.com",
                emails=[f"{local}@northwind.com"],
                display_name=f"{first} {last}",
                created_via="scim",
                external_id=ext,
                active=rng.random() > 0.05,
                created=now - timedelta(days=rng.randint(1, 44)),
                work_area_ids=[areas[3].id],
            )
        )
    for i in range(6):
        first, last = _person(rng)
        local = f"{ascii_local(first)}.{ascii_local(last)}.m{i}".lower()
        _user(
            session,
            rng,
            org_id,
            user_name=f"{local}@northwindtraders.com",
            emails=[f"{local}@northwindtraders.com"],
            display_name=f"{first} {last}",
            created=now - timedelta(days=rng.randint(100, 900)),
            work_area_ids=[areas[0].id],
        )
    # (i) pre-existing manual accounts + SCIM twins under another email (UPN ≠ mail).
    pairs = [
        ("Jane", "Doe", "jane.doe", "jdoe"),
        ("Ravi", "Patel", "ravi.patel", "rpatel"),
        ("Lucía", "Gómez", "lucia.gomez", "lgomez"),
    ]
    twins: list[tuple[User, User]] = []
    for first, last, mail_local, upn_local in pairs:
        manual = _user(
            session,
            rng,
            org_id,
            user_name=f"{mail_local}@northwindtraders.com",
            emails=[f"{mail_local}@northwindtraders.com"],
            display_name=f"{first} {last}",
            created=now - timedelta(days=rng.randint(300, 900)),
            work_area_ids=[areas[0].id, areas[1].id],
            role="editor",
            last_login=now - timedelta(days=1),
        )
        twin = _user(
            session,
            rng,
            org_id,
            user_name=f"{upn_local}@northwind.com",
            emails=[f"{upn_local}@northwind.com"],
            display_name=f"{first} {last}",
            created_via="scim",
            external_id=seeded_uuid(rng),
            created=now - timedelta(days=rng.randint(2, 40)),
            work_area_ids=[areas[3].id],
        )
        twins.append((manual, twin))
    # (iv) case-only duplicate.
    _user(
        session,
        rng,
        org_id,
        user_name="mlee",
        emails=["Mark.Lee@Northwind.com"],
        display_name="Mark Lee",
        created=now - timedelta(days=500),
        work_area_ids=[areas[2].id],
    )
    _user(
        session,
        rng,
        org_id,
        user_name="mark.lee@northwind.com",
        emails=["mark.lee@northwind.com"],
        display_name="Mark Lee",
        created_via="scim",
        external_id=seeded_uuid(rng),
        created=now - timedelta(days=10),
    )
    # userName ≠ primary email.
    _user(
        session,
        rng,
        org_id,
        user_name="a.khan@northwind.onmicrosoft.com",
        emails=["aisha.khan@northwind.com"],
        display_name="Aisha Khan",
        created_via="scim",
        external_id=seeded_uuid(rng),
        created=now - timedelta(days=20),
    )
    # A mail-less cloud user.
    _user(
        session,
        rng,
        org_id,
        user_name="svc-kiosk@northwind.com",
        emails=[],
        display_name="Kiosk Service",
        created_via="scim",
        external_id=seeded_uuid(rng),
        created=now - timedelta(days=30),
        role=None,
    )
    # (ii) two SCIM accounts for one Entra object (link lost, then re-created under the new userName).
    shared_ext = seeded_uuid(rng)
    _user(
        session,
        rng,
        org_id,
        user_name="tom.berg@northwind.com",
        emails=["tom.berg@northwind.com"],
        display_name="Tom Berg",
        created_via="scim",
        external_id=shared_ext,
        active=False,
        created=now - timedelta(days=40),
    )
    _user(
        session,
        rng,
        org_id,
        user_name="thomas.berg@northwind.com",
        emails=["thomas.berg@northwind.com"],
        display_name="Thomas Berg",
        created_via="scim",
        external_id=shared_ext,
        created=now - timedelta(days=3),
    )
    # (iii) collision with an unrelated account (an invite squatting the address Entra now wants).
    _user(
        session,
        rng,
        org_id,
        user_name="sam.ortiz@northwind.com",
        emails=["sam.ortiz@northwind.com"],
        display_name="Sam Ortiz (contractor)",
        created_via="invite",
        created=now - timedelta(days=200),
    )
    session.flush()
    group = Group(
        id=seeded_uuid(rng),
        org_id=org_id,
        display_name="Northwind Logistics",
        display_name_key=fold("Northwind Logistics"),
        external_id=seeded_uuid(rng),
        scim_json={},
    )
    session.add(group)
    session.flush()
    for user in scim_users[:10]:
        session.add(GroupMember(group_id=group.id, user_id=user.id))
    session.add(GroupMember(group_id=group.id, user_id=twins[0][1].id))
    session.flush()
    _northwind_log(session, rng, now, scim_users, twins, token.id)


def _northwind_log(
    session: Session,
    rng: random.Random,
    now: datetime,
    users: list[User],
    twins: list[tuple[User, User]],
    token_id: str,
) -> None:
    base = "/scim/v2/northwind"
    events: list[ProvisioningEvent] = []
    t = now - timedelta(days=3)
    step = timedelta(days=3) / 320

    def add(**kw: Any) -> None:
        nonlocal t
        t += step * (0.5 + rng.random())
        kw.setdefault("latency_ms", round(rng.uniform(3, 60), 1))
        kw.setdefault("outcome", "success" if kw["status"] < 400 else "failure")
        events.append(ProvisioningEvent(org_id="northwind", ts=t, token_id=token_id, **kw))

    for _ in range(100):
        u = rng.choice(users)
        add(
            method="GET",
            path=f'{base}/Users?filter=userName eq "{u.user_name}"',
            op="query",
            op_summary=f"filter userName eq {u.user_name}",
            status=200,
            user_id=u.id,
            scim_id=u.scim_id,
            user_name=u.user_name,
            external_id=u.external_id,
        )
        add(
            method="PATCH",
            path=f"{base}/Users/{u.scim_id}",
            op="update",
            op_summary='Replace displayName, emails[type eq "work"].value',
            status=200,
            user_id=u.id,
            scim_id=u.scim_id,
            user_name=u.user_name,
            external_id=u.external_id,
        )
        if rng.random() < 0.3:
            add(
                method="PATCH",
                path=f"{base}/Users/{u.scim_id}",
                op="update",
                op_summary="no change",
                status=200,
                outcome="skipped",
                user_id=u.id,
                scim_id=u.scim_id,
                user_name=u.user_name,
            )
    for manual, twin in twins:
        add(
            method="GET",
            path=f'{base}/Users?filter=userName eq "{twin.user_name}"',
            op="query",
            op_summary=f"filter userName eq {twin.user_name}",
            status=200,
            user_name=twin.user_name,
            external_id=twin.external_id,
        )
        add(
            method="POST",
            path=f"{base}/Users",
            op="create",
            op_summary=f"create {twin.user_name}",
            status=201,
            user_id=twin.id,
            scim_id=twin.scim_id,
            user_name=twin.user_name,
            external_id=twin.external_id,
        )
        add(
            method="PATCH",
            path=f"{base}/Users/{twin.scim_id}",
            op="update",
            op_summary=f'Replace emails[type eq "work"].value = {manual.user_name}',
            status=409,
            user_id=twin.id,
            scim_id=twin.scim_id,
            user_name=twin.user_name,
            external_id=twin.external_id,
            error_code="uniqueness",
            error_detail=f"Email {manual.user_name} is already used by another user in this organisation.",
        )
    for _ in range(25):
        add(
            method="POST",
            path=f"{base}/Users",
            op="create",
            op_summary="create sam.ortiz@northwind.com",
            status=409,
            user_name="sam.ortiz@northwind.com",
            external_id="b6f2c1de-4c5e-4a52-9d61-5e0f1d7a9c11",
            error_code="uniqueness",
            error_detail="userName sam.ortiz@northwind.com is already taken.",
        )
    for _ in range(8):
        add(
            method="PATCH",
            path=f"{base}/Users/00000000-0000-4000-8000-000000000000",
            op="update",
            op_summary="Replace active",
            status=404,
            error_code="invalidAnchor",
            error_detail="Resource 00000000-0000-4000-8000-000000000000 not found.",
        )
    add(
        method="POST",
        path=f"{base}/Users",
        op="create",
        op_summary="create (no userName)",
        status=400,
        error_code="invalidValue",
        error_detail="Attribute 'userName' is required.",
    )
    add(
        method="GET",
        path=f"{base}/ServiceProviderConfig",
        op="discovery",
        op_summary="ServiceProviderConfig",
        status=200,
    )
    session.add_all(events)
    session.flush()


# ---------------------------------------------------------------------------------------------- tailspin


def _tailspin_shell(session: Session, rng: random.Random, now: datetime) -> None:
    """The big org without its users and log: those come from ``seed_bulk.fill`` (in the background
    on the GUI's first start, so the small orgs are listed at once)."""
    org_id = TAILSPIN_ID
    _org(session, org_id, "Tailspin Toys", ["tailspintoys.com"], now - timedelta(days=1500))
    names = ["Design", "Manufacturing", "Retail", "Marketing", "IT", "Legal", "Finance", "Customer care"]
    areas = _work_areas(session, rng, org_id, names, now - timedelta(days=1500))
    session.add(
        Template(
            id="tpl_tailspin_all",
            org_id=org_id,
            name="Tailspin default",
            applies_to_all=True,
            role="member",
            work_area_ids=[areas[2].id],
            created_at=now - timedelta(days=300),
            updated_at=now - timedelta(days=300),
        )
    )
    session.add(
        ScimSettings(org_id=org_id, enabled=True, enabled_at=now - timedelta(days=60), enabled_by=SEED_ACTOR)
    )
    _plain, token = mint_scim_token(session, org_id, created_by=SEED_ACTOR)
    token.last_used_at = now - timedelta(minutes=5)
    session.flush()


def counts(session: Session, org_id: str) -> dict[str, int]:
    """Row counts of an org (used by tests and the CLI's start-up line)."""
    return {
        "users": session.scalar(select(func.count()).select_from(User).where(User.org_id == org_id)) or 0,
        "events": session.scalar(
            select(func.count()).select_from(ProvisioningEvent).where(ProvisioningEvent.org_id == org_id)
        )
        or 0,
    }
