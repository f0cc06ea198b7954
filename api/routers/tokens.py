"""API tokens: who am I and stream tickets (any role), and creating, listing and revoking tokens (admin)."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, status

from api.deps import Admin, ServicesDep, SessionDep, Viewer
from api.query_params import RowId
from api.schemas import StreamTicketOut, TokenCreate, TokenCreated, TokenOut
from tenken.store.auth import TokenInfo, create_token, issue_ticket, list_tokens, revoke_token

router = APIRouter(prefix="/api", tags=["auth"])


def _out(info: TokenInfo) -> TokenOut:
    return TokenOut(
        id=info.token_id,
        name=info.name,
        role=info.role,  # type: ignore[arg-type]  # checked against ROLES when stored
        created_at=info.created_at,
        revoked=info.revoked,
        expires_at=info.expires_at,
    )


@router.get("/me", response_model=TokenOut, summary="The calling token")
def me(token: Viewer) -> TokenOut:
    return _out(token)


@router.post(
    "/stream-tickets",
    response_model=StreamTicketOut,
    status_code=status.HTTP_201_CREATED,
    summary="A short-lived ticket to open an event stream without putting the token in its URL",
)
def stream_ticket(token: Viewer, services: ServicesDep, session: SessionDep) -> StreamTicketOut:
    """EventSource cannot send `Authorization`; a ticket in its URL instead of the token means an
    access log or proxy history that records the URL holds nothing usable for long. The stream
    it opens lasts as long as the token behind it: revoking the token ends it."""
    ttl_s = services.settings.stream_ticket_ttl_s
    secret, expires_at = issue_ticket(session, token, ttl_s)
    left_s = (expires_at - datetime.now(UTC)).total_seconds()
    return StreamTicketOut(ticket=secret, expires_at=expires_at, expires_in_s=round(max(0.0, left_s), 3))


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create(body: TokenCreate, _admin: Admin, session: SessionDep) -> TokenCreated:
    secret, info = create_token(session, body.role, body.name, body.expires_in_s)
    return TokenCreated(token=secret, **_out(info).model_dump())


@router.get("/tokens", response_model=list[TokenOut])
def index(_admin: Admin, session: SessionDep) -> list[TokenOut]:
    return [_out(t) for t in list_tokens(session)]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(token_id: RowId, _admin: Admin, session: SessionDep) -> None:
    if not revoke_token(session, token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id}")
