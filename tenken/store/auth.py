"""API tokens: stored as SHA-256 hashes with a role (viewer < operator < admin); the secret is shown once."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Boolean, DateTime, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenken.errors import ConfigError
from tenken.store.db import Base

ROLES = ("viewer", "operator", "admin")
TOKEN_PREFIX = "tk_"


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # A random 32-byte secret needs no salt or slow hash: SHA-256 of it cannot be brute-forced.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    name: str
    role: str
    created_at: datetime
    revoked: bool


def role_rank(role: str) -> int:
    """viewer 0, operator 1, admin 2.

    >>> role_rank("operator") > role_rank("viewer")
    True
    """
    if role not in ROLES:
        raise ConfigError(f"unknown role {role!r}; use one of {', '.join(ROLES)}")
    return ROLES.index(role)


def hash_token(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def _info(row: ApiToken) -> TokenInfo:
    return TokenInfo(row.id, row.name, row.role, row.created_at, row.revoked)


def create_token(session: Session, role: str, name: str = "") -> tuple[str, TokenInfo]:
    """A new token; returns the secret (only now: the store keeps its hash) and its record."""
    role_rank(role)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name or f"{role} token",
        role=role,
        token_hash=hash_token(secret),
        created_at=datetime.now(UTC),
        revoked=False,
    )
    session.add(row)
    session.flush()
    return secret, _info(row)


def verify_token(session: Session, secret: str) -> TokenInfo | None:
    """The record of a valid, unrevoked token, or None."""
    if not secret:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if row is None or row.revoked:
        return None
    return _info(row)


def list_tokens(session: Session) -> list[TokenInfo]:
    return [_info(r) for r in session.scalars(select(ApiToken).order_by(ApiToken.id))]


def revoke_token(session: Session, token_id: int) -> bool:
    """Revoke a token by id; False when there is no such token."""
    row = session.get(ApiToken, token_id)
    if row is None:
        return False
    row.revoked = True
    return True
