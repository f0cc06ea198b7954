"""API tokens: who am I (any role), and creating, listing and revoking tokens (admin)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException, status

from api.deps import Admin, SessionDep, Viewer
from api.query_params import RowId
from api.schemas import TokenCreate, TokenCreated, TokenOut
from tenken.store.auth import TokenInfo, create_token, list_tokens, revoke_token

router = APIRouter(prefix="/api", tags=["auth"])


def _out(info: TokenInfo) -> TokenOut:
    return TokenOut(
        id=info.token_id,
        name=info.name,
        role=info.role,  # type: ignore[arg-type]  # checked against ROLES when stored
        created_at=info.created_at,
        revoked=info.revoked,
    )


@router.get("/me", response_model=TokenOut, summary="The calling token")
def me(token: Viewer) -> TokenOut:
    return _out(token)


@router.post("/tokens", response_model=TokenCreated, status_code=status.HTTP_201_CREATED)
def create(body: TokenCreate, _admin: Admin, session: SessionDep) -> TokenCreated:
    secret, info = create_token(session, body.role, body.name)
    return TokenCreated(token=secret, **_out(info).model_dump())


@router.get("/tokens", response_model=list[TokenOut])
def index(_admin: Admin, session: SessionDep) -> list[TokenOut]:
    return [_out(t) for t in list_tokens(session)]


@router.delete("/tokens/{token_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke(token_id: RowId, _admin: Admin, session: SessionDep) -> None:
    if not revoke_token(session, token_id):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no token {token_id}")
