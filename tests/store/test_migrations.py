"""The store's schema comes from Alembic: new stores, stores from before migrations, concurrent starts."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import sqlalchemy
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

import tenken.store.models  # noqa: F401
from tenken.cli import main
from tenken.store.auth import create_token, verify_token
from tenken.store.db import Base, Store, make_engine
from tenken.store.drone_tracks import latest_drone_states
from tenken.store.migrate import current_revisions, head_revisions, upgrade_schema


def _store_from_before_migrations(url: str) -> None:
    """What `create_all` made before Alembic: the baseline tables and no alembic_version."""
    engine = make_engine(url)
    upgrade_schema(engine, "0001_baseline")
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("DROP TABLE alembic_version"))
        conn.execute(
            sqlalchemy.text(
                "INSERT INTO jobs (id, kind, state, video_path, track_path, detector, options, "
                "frames_done, errors, created_at) VALUES ('j1', 'video', 'completed', 'v.mp4', 't.gpx', "
                "'road', '{}', 0, '[]', :now)"
            ),
            {"now": datetime(2026, 1, 1, tzinfo=UTC)},
        )
    engine.dispose()


def test_new_store_is_created_at_the_newest_revision(database_url):
    store = Store(database_url)
    assert current_revisions(store.engine) == head_revisions()
    store.dispose()


def test_store_from_before_migrations_upgrades_and_keeps_its_rows(database_url):
    _store_from_before_migrations(database_url)
    store = Store(database_url)
    assert current_revisions(store.engine) == head_revisions()
    with store.engine.connect() as conn:
        assert conn.execute(sqlalchemy.text("SELECT id FROM jobs")).scalars().all() == ["j1"]
    with store.session() as s:
        secret, _ = create_token(s, "viewer")
    with store.session() as s:
        assert verify_token(s, secret) is not None
    store.dispose()


def test_migrations_build_exactly_the_tables_the_models_declare(database_url):
    store = Store(database_url)
    with store.engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    store.dispose()
    assert diff == [], "a model changed without a migration: add one in tenken/store/migrations/versions"


def test_there_is_one_head_revision():
    assert len(head_revisions()) == 1


def test_db_upgrade_command_upgrades_an_old_store(tmp_path, monkeypatch, capsys):
    url = f"sqlite:///{tmp_path / 'tenken.sqlite3'}"
    _store_from_before_migrations(url)
    monkeypatch.setenv("TENKEN_DATA_DIR", str(tmp_path))
    from tenken.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 0
        assert f"store at {head_revisions()[0]} (was no revision)" in capsys.readouterr().out
        assert main(["db", "current"]) == 0
    finally:
        get_settings.cache_clear()
    engine = make_engine(url)
    assert current_revisions(engine) == head_revisions()
    engine.dispose()


def test_processes_starting_together_on_one_sqlite_file_all_succeed(tmp_path):
    url = f"sqlite:///{tmp_path / 'shared.sqlite3'}"
    _store_from_before_migrations(url)
    code = f"from tenken.store.db import Store; Store({url!r}).dispose()"
    procs = [subprocess.Popen([sys.executable, "-c", code], stderr=subprocess.PIPE) for _ in range(3)]
    errors = [p.communicate()[1].decode() for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0], errors
    engine = make_engine(url)
    assert current_revisions(engine) == head_revisions()
    engine.dispose()


def test_a_store_from_a_newer_tenken_is_refused_in_one_line(tmp_path, capsys, monkeypatch):
    url = f"sqlite:///{tmp_path / 'tenken.sqlite3'}"
    Store(url).dispose()
    engine = make_engine(url)
    with engine.begin() as conn:
        conn.execute(sqlalchemy.text("UPDATE alembic_version SET version_num = '0999_from_the_future'"))
    engine.dispose()
    monkeypatch.setenv("TENKEN_DATA_DIR", str(tmp_path))
    from tenken.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) != 0
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "0999_from_the_future" in err and "newer Tenken" in err


def test_db_upgrade_gives_a_store_with_drone_tracks_the_vehicle_time_index(
    database_url, tmp_path, monkeypatch, capsys
):
    engine = make_engine(database_url)
    upgrade_schema(engine, "0005_reviews_repairs")  # the revision before the index
    with engine.begin() as conn:
        for vehicle_id, t in (("drone-1", 1.0), ("drone-1", 2.0), ("drone-2", 1.5)):
            state = f'{{"vehicle_id": "{vehicle_id}", "timestamp_s": {t}}}'
            conn.execute(
                sqlalchemy.text(
                    "INSERT INTO drone_track_points (vehicle_id, timestamp_s, lat, lon, state_json) "
                    "VALUES (:v, :t, 35.6, 140.1, :s)"
                ),
                {"v": vehicle_id, "t": t, "s": state},
            )
    monkeypatch.setenv("TENKEN_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("TENKEN_DATABASE_URL", database_url)
    from tenken.settings import get_settings

    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 0
    finally:
        get_settings.cache_clear()
    assert "(was 0005_reviews_repairs)" in capsys.readouterr().out
    indexes = {
        i["name"]: i["column_names"] for i in sqlalchemy.inspect(engine).get_indexes("drone_track_points")
    }
    assert indexes["ix_drone_track_points_vehicle_time"] == ["vehicle_id", "timestamp_s", "id"]
    assert "ix_drone_track_points_vehicle_id" not in indexes  # the composite index's prefix serves it
    store = Store(database_url, create=False)
    with store.session() as s:
        assert [(d["vehicle_id"], d["timestamp_s"]) for d in latest_drone_states(s)] == [
            ("drone-1", 2.0),
            ("drone-2", 1.5),
        ]
    store.dispose()
    engine.dispose()
