"""Bring a store's schema to the newest revision with Alembic (migrations live in `migrations/versions`).

Every process that opens a store upgrades it first (`Store(url)`), and `tenken db upgrade` does the
same by hand. A store created before migrations existed has the tables but no `alembic_version`:
the baseline revision creates only the tables that are missing, so such a store upgrades in place
and keeps its data. Concurrent starts (API and workers on one PostgreSQL, or two processes on one
SQLite file) take a lock, so only one of them migrates and the others find the work done.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, text

from tenken.errors import ConfigError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
# Any fixed 64-bit number: the key of the PostgreSQL advisory lock held while migrating.
_PG_LOCK_KEY = 0x7E4E0_5C4E


@lru_cache(maxsize=1)
def _script() -> ScriptDirectory:
    return ScriptDirectory.from_config(_config())


def _config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revisions() -> tuple[str, ...]:
    """The revision(s) the code expects (one, unless two branches were merged without re-chaining)."""
    return tuple(sorted(_script().get_heads()))


def current_revisions(engine: Engine) -> tuple[str, ...]:
    """The revision(s) the store is at; empty for a new store or one from before migrations."""
    with engine.connect() as conn:
        return tuple(sorted(MigrationContext.configure(conn).get_current_heads()))


def _lock(conn: Connection) -> None:
    if conn.dialect.name == "postgresql":
        conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
    elif conn.dialect.name == "sqlite":
        # The write lock from the first statement on, so a second process waits (busy_timeout)
        # and then reads the revision the first one wrote.
        conn.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade_schema(engine: Engine, revision: str = "heads") -> None:
    """Apply every migration the store lacks (nothing to do costs one query)."""
    current = current_revisions(engine)
    if revision == "heads" and current == head_revisions():
        return
    known = {r.revision for r in _script().walk_revisions()}
    unknown = [r for r in current if r not in known]
    if unknown:
        raise ConfigError(
            f"the store is at schema revision {', '.join(unknown)}, which this Tenken does not know: "
            "it was upgraded by a newer Tenken; run that version (or a copy of the store)"
        )
    with engine.connect() as conn:
        _lock(conn)
        command.upgrade(_config(conn), revision)
        conn.commit()
