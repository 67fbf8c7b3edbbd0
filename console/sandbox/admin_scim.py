"""Admin API: switch SCIM on for an org and manage its bearer tokens.

Token-minting endpoints are idempotent per ``Idempotency-Key`` (see ``idempotency``): a retry after
a lost response returns the same token and mints nothing. Tokens are shown once and stored as hashes;
the audit log records only id, last four and fingerprint.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Request
from fastapi.responses import JSONResponse
from sqlalchemy import select
from sqlalchemy.orm import Session

from console.sandbox import admin_models as m
from console.sandbox.admin_common import get_org, public_base
from console.sandbox.admin_views import scim_base_url, token_info
from console.sandbox.auth import OperatorDep, SessionDep
from console.sandbox.db import ScimSettings, ScimToken, utcnow
from console.sandbox.errors import conflict, not_found
from console.sandbox.idempotency import run_idempotent
from console.sandbox.service import audit
from console.sandbox.tokens import (
    DEFAULT_SCIM_TOKEN_LIFETIME,
    MAX_ACTIVE_SCIM_TOKENS,
    active_scim_tokens,
    mint_scim_token,
)

router = APIRouter()

IdempotencyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="Client-chosen unique key; a retry with the same key replays the first response.",
    ),
]


def _mint(
    session: Session, org_id: str, actor: str, lifetime_days: int | None, action: str
) -> dict[str, Any]:
    if len(active_scim_tokens(session, org_id)) >= MAX_ACTIVE_SCIM_TOKENS:
        raise conflict(
            "too_many_active_tokens",
            f"This organisation already has {MAX_ACTIVE_SCIM_TOKENS} active SCIM tokens; revoke one first.",
            max_active=MAX_ACTIVE_SCIM_TOKENS,
        )
    lifetime = timedelta(days=lifetime_days) if lifetime_days else DEFAULT_SCIM_TOKEN_LIFETIME
    plaintext, row = mint_scim_token(session, org_id, created_by=actor, lifetime=lifetime)
    info = token_info(row)
    audit(
        session,
        actor=actor,
        org_id=org_id,
        action=action,
        target=row.id,
        params={
            "token_id": row.id,
            "last_four": row.last_four,
            "fingerprint": row.fingerprint,
            "expires_at": row.expires_at.isoformat() if row.expires_at else None,
        },
    )
    return {"token": plaintext, "token_info": info}


@router.post(
    "/orgs/{org_id}/scim/enable",
    response_model=m.ScimEnabled,
    status_code=201,
    summary="Enable SCIM and mint the first token (idempotent per Idempotency-Key)",
    responses={409: {"description": "scim_already_enabled"}, 422: {"description": "idempotency_key_reused"}},
)
def enable_scim(
    org_id: str,
    request: Request,
    op: OperatorDep,
    session: SessionDep,
    body: Annotated[m.ScimEnableIn | None, Body()] = None,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    get_org(session, org_id)
    session.close()
    base = public_base(request)
    payload = body.model_dump() if body else {}

    def action(s: Session) -> tuple[int, dict[str, Any]]:
        settings = s.get(ScimSettings, org_id)
        if settings is not None and settings.enabled:
            raise conflict("scim_already_enabled", f"SCIM is already enabled for {org_id}.", org_id=org_id)
        if settings is None:
            settings = ScimSettings(org_id=org_id)
            s.add(settings)
        settings.enabled = True
        settings.enabled_at = utcnow()
        settings.enabled_by = op.name
        minted = _mint(s, org_id, op.name, payload.get("token_lifetime_days"), "scim.token.create")
        audit(
            s,
            actor=op.name,
            org_id=org_id,
            action="scim.enable",
            target=org_id,
            params={"token_id": minted["token_info"]["id"]},
        )
        return 201, {"scim_base_url": scim_base_url(base, org_id), **minted}

    replay = run_idempotent(
        request.app.state.session_factory,
        request.app.state.idempotency,
        idempotency_key,
        f"POST /orgs/{org_id}/scim/enable",
        payload,
        action,
    )
    return JSONResponse(replay.body, status_code=replay.status_code, headers={"Cache-Control": "no-store"})


@router.get("/orgs/{org_id}/scim", response_model=m.ScimState, summary="SCIM settings and token metadata")
def scim_state(org_id: str, request: Request, session: SessionDep, _op: OperatorDep) -> dict[str, object]:
    get_org(session, org_id)
    settings = session.get(ScimSettings, org_id)
    tokens = session.scalars(
        select(ScimToken).where(ScimToken.org_id == org_id).order_by(ScimToken.created_at, ScimToken.id)
    ).all()
    now = utcnow()
    return {
        "enabled": bool(settings and settings.enabled),
        "enabled_at": settings.enabled_at if settings else None,
        "scim_base_url": scim_base_url(public_base(request), org_id),
        "tokens": [token_info(t, now) for t in tokens],
    }


@router.post(
    "/orgs/{org_id}/scim/tokens",
    response_model=m.NewToken,
    status_code=201,
    summary="Mint an additional SCIM token (rotation; at most 2 active)",
    responses={409: {"description": "too_many_active_tokens"}},
)
def create_token(
    org_id: str,
    request: Request,
    op: OperatorDep,
    session: SessionDep,
    body: Annotated[m.ScimEnableIn | None, Body()] = None,
    idempotency_key: IdempotencyHeader = None,
) -> JSONResponse:
    get_org(session, org_id)
    session.close()
    payload = body.model_dump() if body else {}

    def action(s: Session) -> tuple[int, dict[str, Any]]:
        return 201, _mint(s, org_id, op.name, payload.get("token_lifetime_days"), "scim.token.create")

    replay = run_idempotent(
        request.app.state.session_factory,
        request.app.state.idempotency,
        idempotency_key,
        f"POST /orgs/{org_id}/scim/tokens",
        payload,
        action,
    )
    return JSONResponse(replay.body, status_code=replay.status_code, headers={"Cache-Control": "no-store"})


@router.delete(
    "/orgs/{org_id}/scim/tokens/{token_id}", response_model=m.TokenInfo, summary="Revoke a SCIM token"
)
def revoke_token(org_id: str, token_id: str, session: SessionDep, op: OperatorDep) -> dict[str, object]:
    get_org(session, org_id)
    token = session.get(ScimToken, token_id)
    if token is None or token.org_id != org_id:
        raise not_found("token", token_id)
    changed = token.revoked_at is None
    if changed:
        token.revoked_at = utcnow()
    audit(
        session,
        actor=op.name,
        org_id=org_id,
        action="scim.token.revoke",
        target=token.id,
        params={"token_id": token.id, "last_four": token.last_four, "fingerprint": token.fingerprint},
        outcome="ok" if changed else "noop",
    )
    session.commit()
    return token_info(token)
