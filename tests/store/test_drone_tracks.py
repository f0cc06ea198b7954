"""Each drone's latest stored state (the map's drone cards after a restart), on both databases."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import event

from tenken.store.db import Store
from tenken.store.drone_tracks import DroneTrackPointRow, latest_drone_states


def point(vehicle_id: str, t: float, **state: object) -> DroneTrackPointRow:
    body = {"vehicle_id": vehicle_id, "timestamp_s": t} | state
    return DroneTrackPointRow(
        vehicle_id=vehicle_id, timestamp_s=t, lat=35.6, lon=140.1, state_json=json.dumps(body)
    )


def test_each_drone_has_its_newest_point_and_the_later_stored_on_a_tie(database_url):
    store = Store(database_url)
    with store.session() as s:
        s.add_all([point("drone-2", t, mode="AUTO") for t in (3.0, 1.0, 2.0)])
        s.add_all([point("drone-1", 5.0, mode="AUTO"), point("drone-1", 4.0, mode="GUIDED")])
        s.add(point("drone-1", 5.0, mode="LAND"))  # the mode changed within the same second
        s.add(point("drone-3", 0.5, mode="LOITER"))
    with store.session() as s:
        states = latest_drone_states(s)
    store.dispose()
    assert [(d["vehicle_id"], d["timestamp_s"], d["mode"]) for d in states] == [
        ("drone-1", 5.0, "LAND"),
        ("drone-2", 3.0, "AUTO"),
        ("drone-3", 0.5, "LOITER"),
    ]


def test_a_store_without_tracks_has_no_drone_states(database_url):
    store = Store(database_url)
    with store.session() as s:
        assert latest_drone_states(s) == []
    store.dispose()


def test_the_latest_states_are_looked_up_in_the_index_not_read_from_every_point(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.sqlite3'}")
    with store.session() as s:
        s.add_all([point(f"drone-{i % 3}", float(i)) for i in range(30)])
    statements: list[tuple[str, Any]] = []
    event.listen(store.engine, "before_cursor_execute", lambda *a: statements.append((a[2], a[3])))
    with store.session() as s:
        assert len(latest_drone_states(s)) == 3
    sql, params = statements[-1]
    with store.engine.connect() as conn:
        plan = [row[3] for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, params)]
    store.dispose()
    touching = [step for step in plan if "drone_track_points" in step]
    assert touching and all(step.startswith("SEARCH") for step in touching), plan
