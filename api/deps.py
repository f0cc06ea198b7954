"""Request dependencies: the shared services, a database session, and the caller's token and role."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import Depends, HTTPException, Query, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.orm import Session

from api.services import Services
from tenken.store.auth import TokenInfo, role_rank, verify_ticket, verify_token

_bearer = HTTPBearer(auto_error=False, description="An API token: `Authorization: Bearer tk_...`.")


def get_services(request: Request) -> Services:
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_session(services: ServicesDep) -> Iterator[Session]:
    with services.store.session() as session:
        yield session


# Commit before the response leaves: a client that got 201 (a stream ticket, a job) may use it at once,
# and a failed commit is a 5xx instead of a lost write after a success reply.
SessionDep = Annotated[Session, Depends(get_session, scope="function")]


def current_token(
    request: Request,
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    token: Annotated[
        str | None,
        Query(description="The API token, for GET requests that cannot set headers (<img>)."),
    ] = None,
    ticket: Annotated[
        str | None,
        Query(
            description="A short-lived stream ticket (POST /api/stream-tickets) in place of the token, "
            "for GET requests that cannot set headers (EventSource)."
        ),
    ] = None,
) -> TokenInfo:
    """The caller's token: from `Authorization: Bearer`, or `?ticket=` / `?token=` on GET requests only."""
    secret = credentials.credentials if credentials is not None else None
    in_url = request.method in ("GET", "HEAD")
    with services.store.session() as session:
        if secret is None and ticket is not None and in_url:
            info = verify_ticket(session, ticket)
            what = "invalid or expired stream ticket (or its token was revoked)"
        else:
            if secret is None and token is not None and in_url:
                secret = token
            if not secret:
                raise HTTPException(
                    status.HTTP_401_UNAUTHORIZED,
                    "missing API token: send `Authorization: Bearer <token>` "
                    "(create one with `tenken token create`)",
                    headers={"WWW-Authenticate": "Bearer"},
                )
            info = verify_token(session, secret)
            what = "invalid or revoked API token"
    if info is None:
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, what, headers={"WWW-Authenticate": "Bearer"})
    return info


def require(role: str) -> Callable[[TokenInfo], TokenInfo]:
    """A dependency admitting tokens of `role` or a higher one."""
    needed = role_rank(role)

    def check(info: Annotated[TokenInfo, Depends(current_token)]) -> TokenInfo:
        if role_rank(info.role) < needed:
            raise HTTPException(
                status.HTTP_403_FORBIDDEN,
                f"this needs a {role} token or higher; yours is a {info.role} token",
            )
        return info

    return check


Viewer = Annotated[TokenInfo, Depends(require("viewer"))]
Operator = Annotated[TokenInfo, Depends(require("operator"))]
Admin = Annotated[TokenInfo, Depends(require("admin"))]
