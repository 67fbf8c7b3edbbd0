"""The sandbox platform's ASGI app: admin API under ``/admin/v1``, SCIM 2.0 under ``/scim/v2``,
and the customer-facing one-time-link pages under ``/s``.

``create_app`` takes a session factory so tests, the CLI and ``SandboxServer`` share one code path
over any database file. The OpenAPI document covers the admin API only (the SCIM surface is
described by its own ``/Schemas`` and ``/ResourceTypes``). The outermost layer is the fault injector
(``faults``, see ``console.sandbox.faults``): it sits outside Starlette's error middleware so an
injected connection reset is a real one, not a 500.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import uuid
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI, Request
from sqlalchemy import create_engine
from sqlalchemy.orm import sessionmaker

from console import __version__
from console.sandbox import admin_links, admin_logs, admin_orgs, admin_scim, admin_users
from console.sandbox import admin_models as m
from console.sandbox.admin_indexes import ensure_admin_indexes
from console.sandbox.db import Base, PlatformInstance
from console.sandbox.errors import install_error_handlers
from console.sandbox.faults import FaultInjector, FaultMiddleware
from console.sandbox.idempotency import IdempotencyGate, purge_expired
from console.sandbox.limits import LimitsMiddleware
from console.sandbox.links import wipe_expired
from console.sandbox.scim_api import router as scim_router

log = logging.getLogger(__name__)

ADMIN_PREFIX = "/admin/v1"
SCIM_PREFIX = "/scim/v2"
API_TITLE = "Sandbox platform admin API"


class _SandboxApp(FastAPI):
    """FastAPI with the fault injector wrapped around everything (also around error handling)."""

    def build_middleware_stack(self) -> Any:
        # Limits inside the faults (an injected fault still fires first) and outside everything else,
        # so an oversized or over-deep body is refused before routing and authentication.
        return FaultMiddleware(LimitsMiddleware(super().build_middleware_stack()), self.state.faults)


def _health_router() -> APIRouter:
    router = APIRouter()

    @router.get("/health", response_model=m.Health,
                summary="Liveness and platform identity (no authentication)")
    def health(request: Request) -> dict[str, str]:
        return {"status": "ok", "version": __version__, "instance_id": request.app.state.instance_id}

    return router


def _mount_scim(app: FastAPI) -> None:
    # Left out of the OpenAPI document: SCIM describes itself (/Schemas, /ResourceTypes).
    app.include_router(scim_router, prefix=SCIM_PREFIX, include_in_schema=False)


def _housekeeping(session_factory: sessionmaker) -> str:
    """Index upkeep and expiry sweeps; returns this database's platform instance id."""
    engine = session_factory.kw.get("bind")
    if engine is not None:
        ensure_admin_indexes(engine)
    with session_factory() as session:
        wipe_expired(session)
        purge_expired(session)
        instance = session.get(PlatformInstance, 1)
        if instance is None:  # a database not made by make_engine (e.g. the OpenAPI build)
            instance = PlatformInstance(id=1, instance_id="plat_" + uuid.uuid4().hex)
            session.add(instance)
        instance_id = instance.instance_id
        session.commit()
    return instance_id


def create_app(
    session_factory: sessionmaker, *, public_base_url: str | None, faults: FaultInjector | None = None
) -> FastAPI:
    """The app; ``faults`` is the injector to consult (a new, empty one when None)."""
    app = _SandboxApp(
        title=API_TITLE,
        version=__version__,
        openapi_url=f"{ADMIN_PREFIX}/openapi.json",
        docs_url=f"{ADMIN_PREFIX}/docs",
        redoc_url=None,
        swagger_ui_oauth2_redirect_url=None,
        description="Operator API of the SCIM sandbox platform. Bearer operator token (scop_…). "
        'Errors: {"error": {"code", "message", "details"}}.',
    )
    app.state.session_factory = session_factory
    app.state.public_base_url = public_base_url.rstrip("/") if public_base_url else None
    app.state.idempotency = IdempotencyGate()
    app.state.faults = faults if faults is not None else FaultInjector()
    app.state.scim_write_gate = threading.Lock()  # one SCIM writer at a time (see scim_api._run)
    install_error_handlers(app)
    app.include_router(_health_router(), prefix=ADMIN_PREFIX, tags=["health"])
    app.include_router(admin_orgs.router, prefix=ADMIN_PREFIX, tags=["orgs"])
    app.include_router(admin_scim.router, prefix=ADMIN_PREFIX, tags=["scim"])
    app.include_router(admin_users.router, prefix=ADMIN_PREFIX, tags=["users"])
    app.include_router(admin_logs.router, prefix=ADMIN_PREFIX, tags=["provisioning-log"])
    app.include_router(admin_links.router, prefix=ADMIN_PREFIX, tags=["secure-links"])
    app.include_router(admin_links.pages)
    _mount_scim(app)
    app.state.instance_id = _housekeeping(session_factory)
    return app


def openapi_document() -> dict[str, Any]:
    """The admin API's OpenAPI document, built without a database or a server."""
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    try:
        return create_app(sessionmaker(engine), public_base_url=None).openapi()
    finally:
        engine.dispose()


def write_openapi(path: str | Path) -> None:
    Path(path).write_text(
        json.dumps(openapi_document(), indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )


if __name__ == "__main__":  # python -m console.sandbox.app resources/openapi-admin.json
    write_openapi(sys.argv[1] if len(sys.argv) > 1 else "resources/openapi-admin.json")
