"""Admin API: organisations, their work areas, New User Templates and platform audit log."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from console.sandbox import admin_models as m
from console.sandbox.admin_common import DEFAULT_PAGE, CursorQ, LimitQ, get_org, public_base
from console.sandbox.admin_views import (
    audit_view,
    keyset_page,
    org_detail,
    org_summary,
    template_view,
    work_area_view,
)
from console.sandbox.auth import OperatorDep, SessionDep
from console.sandbox.db import AuditEntry, Org, Template, WorkArea, utcnow
from console.sandbox.errors import conflict, invalid, not_found
from console.sandbox.service import audit

router = APIRouter()


@router.get("/orgs", response_model=m.OrgPage, summary="List organisations")
def list_orgs(
    request: Request,
    session: SessionDep,
    _op: OperatorDep,
    q: Annotated[str | None, Query(max_length=200, description="Substring of id or name")] = None,
    limit: LimitQ = DEFAULT_PAGE,
    cursor: CursorQ = None,
) -> dict[str, object]:
    stmt = select(Org)
    if q:
        needle = q.casefold()
        stmt = stmt.where(or_(func.instr(func.lower(Org.name), needle) > 0, func.instr(Org.id, needle) > 0))
    base = public_base(request)
    return keyset_page(session, stmt, Org.id, kind="org", limit=limit, cursor=cursor,
                       view=lambda org: org_summary(session, org, base))


@router.get("/orgs/{org_id}", response_model=m.OrgDetail, summary="One organisation")
def get_org_detail(org_id: str, request: Request, session: SessionDep, _op: OperatorDep) -> dict[str, object]:
    return org_detail(session, get_org(session, org_id), public_base(request))


@router.get("/orgs/{org_id}/work-areas", response_model=m.WorkAreaPage, summary="List work areas")
def list_work_areas(
    org_id: str,
    session: SessionDep,
    _op: OperatorDep,
    limit: LimitQ = DEFAULT_PAGE,
    cursor: CursorQ = None,
) -> dict[str, object]:
    get_org(session, org_id)
    stmt = select(WorkArea).where(WorkArea.org_id == org_id)
    return keyset_page(session, stmt, WorkArea.id, kind="wa", limit=limit, cursor=cursor,
                       view=work_area_view)


@router.post(
    "/orgs/{org_id}/work-areas", response_model=m.WorkAreaOut, status_code=201, summary="Create a work area"
)
def create_work_area(
    org_id: str, body: m.WorkAreaIn, session: SessionDep, op: OperatorDep
) -> dict[str, object]:
    get_org(session, org_id)
    name = body.name.strip()
    if not name:
        raise invalid("invalid_name", "name must not be blank.")
    exists = session.scalar(select(WorkArea.id).where(WorkArea.org_id == org_id, WorkArea.name == name))
    if exists:
        raise conflict("work_area_exists", f"A work area named {name!r} already exists.", id=exists)
    area = WorkArea(org_id=org_id, name=name)
    session.add(area)
    try:
        session.flush()
    except IntegrityError:
        session.rollback()
        raise conflict("work_area_exists", f"A work area named {name!r} already exists.") from None
    audit(
        session,
        actor=op.name,
        org_id=org_id,
        action="work_area.create",
        target=area.id,
        params={"name": name},
    )
    session.commit()
    return work_area_view(area)


def _check_work_areas(session: SessionDep, org_id: str, ids: list[str]) -> list[str]:
    unique = list(dict.fromkeys(ids))
    if not unique:
        return []
    known = set(
        session.scalars(select(WorkArea.id).where(WorkArea.org_id == org_id, WorkArea.id.in_(unique)))
    )
    missing = [i for i in unique if i not in known]
    if missing:
        raise invalid(
            "unknown_work_area", "Some work areas do not exist in this organisation.", missing=missing
        )
    return unique


@router.get("/orgs/{org_id}/templates", response_model=m.TemplatePage, summary="List New User Templates")
def list_templates(
    org_id: str,
    session: SessionDep,
    _op: OperatorDep,
    limit: LimitQ = DEFAULT_PAGE,
    cursor: CursorQ = None,
) -> dict[str, object]:
    get_org(session, org_id)
    stmt = select(Template).where(Template.org_id == org_id)
    return keyset_page(session, stmt, Template.id, kind="tpl", limit=limit, cursor=cursor,
                       view=template_view)


@router.post(
    "/orgs/{org_id}/templates",
    response_model=m.TemplateOut,
    status_code=201,
    summary="Create a New User Template",
)
def create_template(
    org_id: str, body: m.TemplateIn, session: SessionDep, op: OperatorDep
) -> dict[str, object]:
    get_org(session, org_id)
    ids = _check_work_areas(session, org_id, body.work_area_ids)
    tpl = Template(
        org_id=org_id,
        name=body.name.strip() or body.name,
        applies_to_all=body.applies_to_all,
        role=body.role,
        work_area_ids=ids,
    )
    session.add(tpl)
    session.flush()
    audit(
        session,
        actor=op.name,
        org_id=org_id,
        action="template.create",
        target=tpl.id,
        params={
            "name": tpl.name,
            "applies_to_all": tpl.applies_to_all,
            "work_area_ids": ids,
            "role": tpl.role,
        },
    )
    session.commit()
    return template_view(tpl)


@router.patch(
    "/orgs/{org_id}/templates/{template_id}",
    response_model=m.TemplateOut,
    summary="Change a New User Template",
)
def patch_template(
    org_id: str,
    template_id: str,
    body: m.TemplatePatch,
    session: SessionDep,
    op: OperatorDep,
) -> dict[str, object]:
    get_org(session, org_id)
    tpl = session.get(Template, template_id)
    if tpl is None or tpl.org_id != org_id:
        raise not_found("template", template_id)
    changes = body.model_dump(exclude_unset=True, exclude_none=True)
    if "work_area_ids" in changes:
        changes["work_area_ids"] = _check_work_areas(session, org_id, changes["work_area_ids"])
    for name, value in changes.items():
        setattr(tpl, name, value)
    tpl.updated_at = utcnow()
    audit(session, actor=op.name, org_id=org_id, action="template.update", target=tpl.id, params=changes)
    session.commit()
    return template_view(tpl)


@router.get("/orgs/{org_id}/audit", response_model=m.AuditPage, summary="Platform audit log (newest first)")
def list_audit(
    org_id: str,
    session: SessionDep,
    _op: OperatorDep,
    limit: LimitQ = DEFAULT_PAGE,
    cursor: CursorQ = None,
) -> dict[str, object]:
    get_org(session, org_id)
    stmt = select(AuditEntry).where(AuditEntry.org_id == org_id)
    return keyset_page(session, stmt, AuditEntry.id, kind="audit", limit=limit, cursor=cursor,
                       view=audit_view, newest_first=True)
