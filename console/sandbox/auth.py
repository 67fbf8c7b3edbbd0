"""Request-scoped database sessions and operator (admin API) authentication.

The operator token is a bearer credential (``scop_…``) checked against its SHA-256 hash; the
token's *name* becomes the actor of every audit entry, so the audit log never holds the token.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session, sessionmaker

from console.sandbox.errors import ApiError
from console.sandbox.tokens import authenticate_operator

# auto_error=False: a missing header must give our JSON 401, not FastAPI's 403.
_bearer = HTTPBearer(auto_error=False, description="Operator token (scop_…) of the sandbox platform.")


@dataclass(frozen=True)
class Operator:
    id: str
    name: str


def session_factory(request: Request) -> sessionmaker:
    return request.app.state.session_factory


def get_session(request: Request) -> Iterator[Session]:
    """One session per request; handlers commit explicitly, anything uncommitted is rolled back."""
    session = request.app.state.session_factory()
    try:
        yield session
    finally:
        session.close()


SessionDep = Annotated[Session, Depends(get_session)]


def require_operator(
    session: SessionDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Operator:
    if credentials is None or credentials.scheme.lower() != "bearer" or not credentials.credentials:
        raise ApiError(401, "unauthorized", "An operator bearer token is required.")
    row = authenticate_operator(session, credentials.credentials)
    if row is None:
        raise ApiError(401, "unauthorized", "The operator token is not valid.")
    return Operator(id=row.id, name=row.name)


OperatorDep = Annotated[Operator, Depends(require_operator)]
