"""Admin API for one-time secure links, and the customer-facing ``/s/{id}/{key}`` pages.

The pages are deliberately plain HTML with no scripts or external resources. Every response carries
``Cache-Control: no-store`` and ``Referrer-Policy: no-referrer`` (the key is in the URL path).
"""

from __future__ import annotations

import html

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from console.sandbox import admin_models as m
from console.sandbox import links
from console.sandbox.admin_common import public_base
from console.sandbox.admin_views import link_view
from console.sandbox.auth import OperatorDep, SessionDep
from console.sandbox.db import Org, SecureLink
from console.sandbox.errors import invalid, not_found
from console.sandbox.service import audit

router = APIRouter()
pages = APIRouter(include_in_schema=False)

_PAGE_HEADERS = {
    "Cache-Control": "no-store, max-age=0",
    "Pragma": "no-cache",
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'",
    "X-Robots-Tag": "noindex, nofollow",
}


@router.post(
    "/secure-links",
    response_model=m.SecureLinkCreated,
    status_code=201,
    summary="Create a one-time link for a secret (the key lives only in the returned url)",
)
def create_secure_link(
    body: m.SecureLinkIn,
    request: Request,
    session: SessionDep,
    op: OperatorDep,
) -> dict[str, object]:
    if body.org_id is not None and session.get(Org, body.org_id) is None:
        raise invalid("unknown_org", f"No organisation {body.org_id!r}.", org_id=body.org_id)
    links.wipe_expired(session)
    row, key = links.create_link(
        session,
        secret=body.secret,
        org_id=body.org_id,
        label=body.label,
        expires_in_hours=body.expires_in_hours,
        created_by=op.name,
    )
    audit(
        session,
        actor=op.name,
        org_id=body.org_id,
        action="secure_link.create",
        target=row.id,
        params={"link_id": row.id, "label": body.label, "expires_at": row.expires_at.isoformat()},
    )
    session.commit()
    return {"id": row.id, "url": f"{public_base(request)}/s/{row.id}/{key}", "expires_at": row.expires_at}


def _load(session: SessionDep, link_id: str) -> SecureLink:
    row = session.get(SecureLink, link_id)
    if row is None:
        raise not_found("secure_link", link_id)
    if links.wipe_if_spent(row):
        session.commit()
    return row


@router.get("/secure-links/{link_id}", response_model=m.SecureLinkInfo, summary="State of a secure link")
def get_secure_link(link_id: str, session: SessionDep, _op: OperatorDep) -> dict[str, object]:
    return link_view(_load(session, link_id))


@router.delete("/secure-links/{link_id}", response_model=m.SecureLinkInfo, summary="Revoke a secure link")
def revoke_secure_link(link_id: str, session: SessionDep, op: OperatorDep) -> dict[str, object]:
    row = _load(session, link_id)
    links.revoke(row)
    audit(
        session,
        actor=op.name,
        org_id=row.org_id,
        action="secure_link.revoke",
        target=row.id,
        params={"link_id": row.id},
    )
    session.commit()
    return link_view(row)


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    doc = (
        "<!doctype html><html lang=en><head><meta charset=utf-8>"
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        '<meta name="robots" content="noindex, nofollow">'
        f"<title>{html.escape(title)}</title>"
        "<style>body{font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto;padding:0 1rem}"
        "pre{background:#f3f3f3;padding:1rem;white-space:pre-wrap;word-break:break-all}"
        "button{font-size:1.1rem;padding:.5rem 1.5rem}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(doc, status_code=status, headers=_PAGE_HEADERS)


_GONE = (
    "<p>This link has already been opened, has expired or was revoked. "
    "Ask your support contact for a new one.</p>"
)
_NOT_FOUND = "<p>This link is not valid. Check that you copied the whole address.</p>"


@pages.get("/s/{link_id}/{key}")
def show_link(link_id: str, key: str, session: SessionDep) -> HTMLResponse:
    """Landing page: never reveals and never burns (link previews and scanners only GET)."""
    try:
        row = links.check(session, link_id, key)
    except links.LinkGone:
        session.commit()
        return _page("Link no longer available", _GONE, 410)
    except links.LinkNotFound:
        return _page("Link not found", _NOT_FOUND, 404)
    label = f"<p>For: <b>{html.escape(row.label)}</b></p>" if row.label else ""
    return _page(
        "A secret was shared with you",
        (
            f"{label}<p>The secret can be shown <b>only once</b>. Have a safe place ready to store it "
            "(for example your identity provider's provisioning settings), then press Reveal.</p>"
            '<form method="post"><button type="submit">Reveal</button></form>'
        ),
    )


@pages.post("/s/{link_id}/{key}")
def reveal_link(link_id: str, key: str, session: SessionDep) -> HTMLResponse:
    try:
        row, secret = links.reveal(session, link_id, key)
    except links.LinkGone:
        session.commit()
        return _page("Link no longer available", _GONE, 410)
    except links.LinkNotFound:
        return _page("Link not found", _NOT_FOUND, 404)
    audit(
        session,
        actor="secure-link-recipient",
        org_id=row.org_id,
        action="secure_link.view",
        target=row.id,
        params={"link_id": row.id},
    )
    session.commit()
    return _page(
        "Your secret",
        (
            f"<pre id=secret>{html.escape(secret)}</pre>"
            "<p>Copy it now. This page will not show it again and the link no longer works.</p>"
        ),
    )
