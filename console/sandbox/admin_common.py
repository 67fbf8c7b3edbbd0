"""Small helpers shared by the admin API routers."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query, Request
from sqlalchemy.orm import Session

from console.sandbox.admin_views import DEFAULT_LIMIT, MAX_LIMIT
from console.sandbox.db import Org
from console.sandbox.errors import not_found

LimitQ = Annotated[int, Query(ge=1, le=MAX_LIMIT, description="Page size (default 50, max 500).")]
CursorQ = Annotated[str | None, Query(max_length=500, description="Opaque cursor from next_cursor.")]
DEFAULT_PAGE = DEFAULT_LIMIT


def public_base(request: Request) -> str:
    """The platform's public base URL: configured, or the one this request came in on."""
    configured = getattr(request.app.state, "public_base_url", None)
    return (configured or str(request.base_url)).rstrip("/")


def get_org(session: Session, org_id: str) -> Org:
    org = session.get(Org, org_id)
    if org is None:
        raise not_found("org", org_id)
    return org
