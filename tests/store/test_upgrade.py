"""A store created by an older Tenken keeps working after an upgrade that added nullable columns."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
import sqlalchemy

from tenken.store.auth import create_token, hash_token, verify_token
from tenken.store.db import Store

PG_URL = "postgresql+psycopg://postgres@127.0.0.1/test"
# api_tokens as Tenken created it before tokens could expire.
OLD_SCHEMA = sqlalchemy.MetaData()
sqlalchemy.Table(
    "api_tokens",
    OLD_SCHEMA,
    sqlalchemy.Column("id", sqlalchemy.Integer, primary_key=True),
    sqlalchemy.Column("name", sqlalchemy.String(200), nullable=False),
    sqlalchemy.Column("role", sqlalchemy.String(16), nullable=False),
    sqlalchemy.Column("token_hash", sqlalchemy.String(64), nullable=False, unique=True),
    sqlalchemy.Column("created_at", sqlalchemy.DateTime(timezone=True), nullable=False),
    sqlalchemy.Column("revoked", sqlalchemy.Boolean, nullable=False),
)


@pytest.fixture(params=["sqlite", "postgresql"])
def old_database(request, tmp_path) -> Iterator[str]:
    """A database holding one token in the old api_tokens table; yields its URL."""
    if request.param == "sqlite":
        url, cleanup = f"sqlite:///{tmp_path / 'old.sqlite3'}", None
    else:
        schema = f"tenken_upgrade_{uuid.uuid4().hex[:10]}"
        cleanup = sqlalchemy.create_engine(PG_URL)
        with cleanup.begin() as conn:
            conn.execute(sqlalchemy.text(f'CREATE SCHEMA "{schema}"'))
        url = f"{PG_URL}?options=-csearch_path%3D{schema}"
    engine = sqlalchemy.create_engine(url)
    OLD_SCHEMA.create_all(engine)
    with engine.begin() as conn:
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO api_tokens (name, role, token_hash, created_at, revoked) "
                "VALUES ('wall screen', 'viewer', :hash, CURRENT_TIMESTAMP, false)"
            ),
            {"hash": hash_token("tk_old-secret")},
        )
    engine.dispose()
    yield url
    if cleanup is not None:
        with cleanup.begin() as conn:
            conn.execute(sqlalchemy.text(f'DROP SCHEMA "{schema}" CASCADE'))
        cleanup.dispose()


def test_an_old_token_still_signs_in_and_new_tokens_can_expire(old_database):
    store = Store(old_database)  # what `tenken serve` does at start-up
    with store.session() as s:
        old = verify_token(s, "tk_old-secret")
        assert old is not None and old.name == "wall screen" and old.expires_at is None
        _, shift = create_token(s, "viewer", "one shift", expires_in_s=3600)
        assert shift.expires_at is not None
    Store(old_database).dispose()  # a second start finds nothing left to add
    store.dispose()
