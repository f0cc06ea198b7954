"""The drones' tracks and latest states are recorded from the live bus and served from the store."""

from __future__ import annotations

import time

from tenken.events import TELEMETRY
from tests.api.conftest import auth


def state(t: float, i: int, **extra: object) -> dict:
    return {
        "type": "vehicle_state",
        "vehicle_id": "drone-3",
        "timestamp_s": t + i * 0.25,
        "lat": 35.6 + 0.0001 * i,
        "lon": 140.1,
        "alt_m": 30.0,
        "battery_pct": 64.0,
        "mode": "AUTO",
        "armed": True,
    } | extra


def wait_for(predicate, timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


def test_a_track_published_at_4_hz_is_kept_a_point_a_second_and_served_oldest_first(client, services, tokens):
    t = time.time()
    for i in range(20):  # 5 s of telemetry at 4 Hz, landing at the end
        services.bus.publish(TELEMETRY, state(t, i, **({"mode": "LAND"} if i == 19 else {})))
    url = "/api/telemetry/drone-3/track"
    assert wait_for(lambda: len(client.get(url, headers=auth(tokens["viewer"])).json()["points"]) == 6)
    points = client.get(url, headers=auth(tokens["viewer"])).json()["points"]
    times = [p[0] for p in points]
    assert times == sorted(times) and times[0] == t and times[-1] == t + 19 * 0.25  # the landing is kept


def test_a_restarted_command_post_still_knows_each_drones_last_state(client, services, tokens):
    t = time.time()
    services.bus.publish(TELEMETRY, state(t, 0))
    assert wait_for(lambda: services.recorder.track_points >= 1)
    with services.lock:
        services.latest_telemetry.clear()  # what a restart forgets
    drones = {d["vehicle_id"]: d for d in client.get("/api/telemetry", headers=auth(tokens["viewer"])).json()}
    assert drones["drone-3"]["battery_pct"] == 64.0 and drones["drone-3"]["mode"] == "AUTO"


def test_a_bad_vehicle_id_is_a_422_naming_it(client, tokens):
    response = client.get("/api/telemetry/no%20spaces/track", headers=auth(tokens["viewer"]))
    assert response.status_code == 422 and "vehicle_id" in response.json()["detail"]
