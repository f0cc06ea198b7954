"""Drone cards after a restart: each drone's latest stored state, before and after migration 0006.

    python bench/bench_drone_tracks.py [--points 200000] [--drones 8] [--repeat 20] [--postgresql URL]

Seeds `--points` track points over `--drones` drones into a store at revision 0005 (indexes on
vehicle_id and on timestamp_s), times the GROUP BY query `latest_drone_states` used then, upgrades
the same store to the newest revision (one index on vehicle_id, timestamp_s, id) and times today's
`latest_drone_states` (a loose index scan) in the same run. SQLite in a temporary folder; PostgreSQL
too when `--postgresql` names a server (a schema of its own, dropped at the end). Reports the median
milliseconds of each and their ratio; both answers are checked to be the same states.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import sqlalchemy
from sqlalchemy import insert, text

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tenken.store.db import Store, make_engine
from tenken.store.drone_tracks import DroneTrackPointRow, latest_drone_states
from tenken.store.migrate import upgrade_schema

BEFORE_REVISION = "0005_reviews_repairs"
# latest_drone_states as it was before 0006: the newest time of each drone over every point
GROUP_BY_LATEST = text(
    "SELECT p.state_json FROM drone_track_points p JOIN (SELECT vehicle_id, max(timestamp_s) AS t "
    "FROM drone_track_points GROUP BY vehicle_id) newest "
    "ON p.vehicle_id = newest.vehicle_id AND p.timestamp_s = newest.t"
)


def seed(url: str, n_points: int, n_drones: int) -> None:
    engine = make_engine(url)
    upgrade_schema(engine, BEFORE_REVISION)
    rows = [
        {
            "vehicle_id": f"drone-{i % n_drones}",
            "timestamp_s": 1.8e9 + i // n_drones,
            "lat": 35.6 + 1e-6 * i,
            "lon": 140.1,
            "state_json": json.dumps({"vehicle_id": f"drone-{i % n_drones}", "n": i, "battery_pct": 50.0}),
        }
        for i in range(n_points)
    ]
    with engine.begin() as conn:
        for start in range(0, len(rows), 20_000):
            conn.execute(insert(DroneTrackPointRow), rows[start : start + 20_000])
    analyze(engine)
    engine.dispose()


def analyze(engine: sqlalchemy.Engine) -> None:
    """PostgreSQL's statistics, as autovacuum would have them on a store that has run a while."""
    if engine.dialect.name == "postgresql":
        with engine.begin() as conn:
            conn.execute(text("ANALYZE drone_track_points"))


def median_ms(fn: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    result = fn()  # warm the caches once
    samples = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        samples.append(time.perf_counter() - t0)
    return 1000 * statistics.median(samples), result


def measure(url: str, n_points: int, n_drones: int, repeat: int) -> tuple[float, float]:
    seed(url, n_points, n_drones)
    old = Store(url, create=False)
    with old.session() as s:
        before_ms, before = median_ms(
            lambda: sorted(json.loads(t)["n"] for (t,) in s.execute(GROUP_BY_LATEST)), repeat
        )
    old.dispose()
    store = Store(url)  # upgrades to the newest revision, as every start does
    analyze(store.engine)
    with store.session() as s:
        after_ms, after = median_ms(lambda: sorted(st["n"] for st in latest_drone_states(s)), repeat)
    store.dispose()
    assert before == after == list(range(n_points - n_drones, n_points)), (before, after)
    return before_ms, after_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--points", type=int, default=200_000)
    parser.add_argument("--drones", type=int, default=8)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--postgresql", default="", help="e.g. postgresql+psycopg://postgres@127.0.0.1/test")
    args = parser.parse_args()
    print(
        f"latest state of {args.drones} drones over {args.points} track points     before ms  after ms  ratio"
    )
    with tempfile.TemporaryDirectory() as folder:
        before_ms, after_ms = measure(
            f"sqlite:///{folder}/store.sqlite3", args.points, args.drones, args.repeat
        )
    print(f"  {'SQLite':<62}{before_ms:>9.2f} {after_ms:>9.2f} {before_ms / after_ms:>6.0f}x")
    if args.postgresql:
        schema = f"tenken_bench_{uuid.uuid4().hex[:10]}"
        admin = sqlalchemy.create_engine(args.postgresql)
        with admin.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        try:
            url = f"{args.postgresql}?options=-csearch_path%3D{schema}"
            before_ms, after_ms = measure(url, args.points, args.drones, args.repeat)
            print(f"  {'PostgreSQL':<62}{before_ms:>9.2f} {after_ms:>9.2f} {before_ms / after_ms:>6.0f}x")
        finally:
            with admin.begin() as conn:
                conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
            admin.dispose()


if __name__ == "__main__":
    main()
