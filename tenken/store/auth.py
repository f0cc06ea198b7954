"""API tokens: stored as SHA-256 hashes with a role (viewer < operator < admin); the secret is shown once.

A stream ticket stands in for a token where a browser must put the secret in a URL (EventSource):
it is short-lived, so one that ends up in a log or a proxy's history is soon worthless.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, delete, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from tenken.errors import ConfigError
from tenken.store.db import Base, as_utc

ROLES = ("viewer", "operator", "admin")
TOKEN_PREFIX = "tk_"
TICKET_PREFIX = "st_"
MAX_TOKEN_LIFETIME_S = 10 * 365 * 86400.0


class ApiToken(Base):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # A random 32-byte secret needs no salt or slow hash: SHA-256 of it cannot be brute-forced.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class StreamTicket(Base):
    __tablename__ = "stream_tickets"

    ticket_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    token_id: Mapped[int] = mapped_column(ForeignKey("api_tokens.id", ondelete="CASCADE"), index=True)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


@dataclass(frozen=True)
class TokenInfo:
    token_id: int
    name: str
    role: str
    created_at: datetime
    revoked: bool
    expires_at: datetime | None = None

    def valid_at(self, moment: datetime) -> bool:
        return not self.revoked and (self.expires_at is None or as_utc(self.expires_at) > moment)


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
    expires_at = None if row.expires_at is None else as_utc(row.expires_at)
    return TokenInfo(row.id, row.name, row.role, as_utc(row.created_at), row.revoked, expires_at)


def create_token(
    session: Session, role: str, name: str = "", expires_in_s: float | None = None
) -> tuple[str, TokenInfo]:
    """A new token, valid for `expires_in_s` (None: until revoked); returns the secret (only now:
    the store keeps its hash) and its record."""
    role_rank(role)
    if expires_in_s is not None and not 0 < expires_in_s <= MAX_TOKEN_LIFETIME_S:
        raise ConfigError(f"a token's lifetime must be between 0 and {MAX_TOKEN_LIFETIME_S:.0f} s")
    now = datetime.now(UTC)
    secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
    row = ApiToken(
        name=name or f"{role} token",
        role=role,
        token_hash=hash_token(secret),
        created_at=now,
        revoked=False,
        expires_at=None if expires_in_s is None else now + timedelta(seconds=expires_in_s),
    )
    session.add(row)
    session.flush()
    return secret, _info(row)


def verify_token(session: Session, secret: str) -> TokenInfo | None:
    """The record of a valid token (not revoked, not expired), or None."""
    if not secret:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_token(secret)))
    if row is None or not _info(row).valid_at(datetime.now(UTC)):
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


def issue_ticket(session: Session, token: TokenInfo, ttl_s: float) -> tuple[str, datetime]:
    """A stream ticket for a token, valid for `ttl_s` (never past the token's own expiry); returns
    its secret and when it expires."""
    now = datetime.now(UTC)
    session.execute(delete(StreamTicket).where(StreamTicket.expires_at < now))  # keep the table small
    secret = TICKET_PREFIX + secrets.token_urlsafe(24)
    expires_at = now + timedelta(seconds=ttl_s)
    if token.expires_at is not None:
        expires_at = min(expires_at, token.expires_at)
    session.add(StreamTicket(ticket_hash=hash_token(secret), token_id=token.token_id, expires_at=expires_at))
    session.flush()
    return secret, expires_at


def verify_ticket(session: Session, secret: str) -> TokenInfo | None:
    """The token behind an unexpired stream ticket, if that token is still valid; else None."""
    if not secret.startswith(TICKET_PREFIX):
        return None
    ticket = session.get(StreamTicket, hash_token(secret))
    if ticket is None or as_utc(ticket.expires_at) <= datetime.now(UTC):
        return None
    row = session.get(ApiToken, ticket.token_id)
    if row is None or not _info(row).valid_at(datetime.now(UTC)):
        return None
    return _info(row)


def valid_token_ids(session: Session, token_ids: Collection[int]) -> set[int]:
    """Which of `token_ids` are still valid (exist, not revoked, not expired): open streams check this."""
    if not token_ids:
        return set()
    now = datetime.now(UTC)
    rows = session.scalars(select(ApiToken).where(ApiToken.id.in_(list(token_ids))))
    return {row.id for row in rows if _info(row).valid_at(now)}
