"""Engine, sessions and the declarative base shared by every table of the store."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from tenken.errors import ConfigError


class Base(DeclarativeBase):
    """Every table of the store derives from this; the migrations (`tenken.store.migrate`) create them."""


def as_utc(moment: datetime) -> datetime:
    """A stored time as an aware UTC one: SQLite hands back naive datetimes for timezone-aware columns."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _sqlite_pragmas(dbapi_connection: object, _record: object) -> None:
    cursor = dbapi_connection.cursor()  # type: ignore[attr-defined]
    # WAL lets readers (the API) work while a writer (the pipeline) commits; busy_timeout waits
    # for a lock instead of failing at once.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def make_engine(url: str) -> Engine:
    """An engine for `url`; SQLite files get their folder created and WAL mode."""
    if url.startswith("sqlite:///") and url != "sqlite:///:memory:":
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        engine = create_engine(url, pool_pre_ping=True, future=True)
    except Exception as exc:  # sqlalchemy raises ArgumentError / NoSuchModuleError for bad URLs
        raise ConfigError(f"database URL {url!r} is not usable: {exc}") from None
    if engine.dialect.name == "sqlite":
        event.listen(engine, "connect", _sqlite_pragmas)
    return engine


def create_schema(engine: Engine) -> None:
    """Bring the store to the newest schema: apply the Alembic migrations it lacks."""
    from tenken.store.migrate import upgrade_schema

    upgrade_schema(engine)


class Store:
    """The store of one process: an engine and a session factory."""

    def __init__(self, url: str, *, create: bool = True) -> None:
        self.url = url
        self.engine = make_engine(url)
        if create:
            create_schema(self.engine)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session that commits on success and rolls back on error."""
        with self._sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        self.engine.dispose()
