"""Incidents: a sighting opens one, more sightings update it, closing is published; list and read them."""

from __future__ import annotations

from tenken.events import INCIDENTS
from tests.api.conftest import auth


def sighting(**overrides):
    body = {
        "key": "drone-1:fire:cell-42",
        "kind": "fire",
        "lat": 35.62,
        "lon": 140.12,
        "error_m": 12.0,
        "timestamp_s": 1_790_000_000.0,
        "confidence": 0.7,
        "source": "drone-1",
        "frame_ref": "flight-3/frame-120",
    }
    return body | overrides


def test_a_sighting_opens_an_incident_and_publishes_it(client, tokens, services):
    after = services.bus.last_id()
    response = client.post("/api/incidents", headers=auth(tokens["operator"]), json=sighting())
    assert response.status_code == 200
    assert response.json()["state"] == "open"
    events = services.bus.read([INCIDENTS], after, timeout_s=0)
    assert [(e.data["change"], e.data["kind"]) for e in events] == [("opened", "fire")]


def test_more_sightings_of_the_same_key_update_one_incident(client, tokens):
    first = client.post("/api/incidents", headers=auth(tokens["operator"]), json=sighting()).json()
    better = sighting(error_m=4.0, lat=35.6201, timestamp_s=1_790_000_030.0, confidence=0.9)
    second = client.post("/api/incidents", headers=auth(tokens["operator"]), json=better).json()
    assert second["id"] == first["id"]
    assert (second["error_m"], second["lat"], second["confidence"]) == (4.0, 35.6201, 0.9)
    assert second["last_seen_s"] == 1_790_000_030.0 and second["first_seen_s"] == 1_790_000_000.0
    detail = client.get(f"/api/incidents/{first['id']}", headers=auth(tokens["viewer"])).json()
    assert len(detail["observations"]) == 2


def test_closing_an_incident_publishes_the_change_and_twice_is_409(client, tokens, services):
    incident = client.post("/api/incidents", headers=auth(tokens["operator"]), json=sighting()).json()
    after = services.bus.last_id()
    closed = client.post(
        f"/api/incidents/{incident['id']}/close",
        headers=auth(tokens["operator"]),
        json={"timestamp_s": 1.79e9 + 60},
    )
    assert closed.json()["state"] == "closed"
    assert [e.data["change"] for e in services.bus.read([INCIDENTS], after, timeout_s=0)] == ["closed"]
    again = client.post(
        f"/api/incidents/{incident['id']}/close",
        headers=auth(tokens["operator"]),
        json={"timestamp_s": 1.79e9 + 61},
    )
    assert again.status_code == 409


def test_incidents_are_listed_by_state_and_kind(client, tokens):
    client.post("/api/incidents", headers=auth(tokens["operator"]), json=sighting())
    client.post(
        "/api/incidents", headers=auth(tokens["operator"]), json=sighting(key="d1:smoke:1", kind="smoke")
    )
    fires = client.get("/api/incidents", headers=auth(tokens["viewer"]), params={"kind": "fire"}).json()
    assert [i["kind"] for i in fires] == ["fire"]
    both = client.get("/api/incidents", headers=auth(tokens["viewer"]), params={"state": "open"}).json()
    assert len(both) == 2
    closed = client.get("/api/incidents", headers=auth(tokens["viewer"]), params={"state": "closed"}).json()
    assert closed == []


def test_bad_incident_input_is_422(client, tokens):
    response = client.post("/api/incidents", headers=auth(tokens["operator"]), json=sighting(kind="meteor"))
    assert response.status_code == 422
    response = client.post("/api/incidents", headers=auth(tokens["operator"]), json=sighting(lat=91))
    assert response.status_code == 422
    response = client.get(
        "/api/incidents", headers=auth(tokens["viewer"]), params={"since_s": 5, "until_s": 1}
    )
    assert response.status_code == 400


def test_an_unknown_incident_is_404(client, tokens):
    assert client.get("/api/incidents/77", headers=auth(tokens["viewer"])).status_code == 404
    closed = client.post(
        "/api/incidents/77/close", headers=auth(tokens["operator"]), json={"timestamp_s": 1.0}
    )
    assert closed.status_code == 404


def pipeline_change(event: str, **overrides):
    """An incident change as the live pipeline (`vision.live`) publishes it on the bus."""
    body = {
        "event": event,
        "incident_id": "drone-1-4",
        "source": "drone-1",
        "kind": "smoke",
        "state": "closed" if event == "closed" else "open",
        "lat": 35.63,
        "lon": 140.13,
        "error_m": 9.5,
        "first_seen_s": 1_790_000_000.0,
        "last_seen_s": 1_790_000_012.0,
        "confidence": 0.83,
        "sightings": 5,
        "best_frame_id": 120,
    }
    return body | overrides


def wait_for_incidents(client, token, predicate, timeout_s=10.0):
    """Poll the list until `predicate(list)` holds (the recorder is a background thread)."""
    import time

    deadline = time.monotonic() + timeout_s
    while True:
        found = client.get("/api/incidents", headers=auth(token)).json()
        if predicate(found) or time.monotonic() > deadline:
            return found
        time.sleep(0.05)


def test_incident_changes_from_the_live_pipeline_are_recorded_in_the_store(client, tokens, services):
    services.bus.publish(INCIDENTS, pipeline_change("opened"))
    found = wait_for_incidents(client, tokens["viewer"], lambda f: len(f) == 1)
    assert [(i["key"], i["kind"], i["state"], i["frame_ref"]) for i in found] == [
        ("drone-1-4", "smoke", "open", "drone-1/frame-120")
    ]
    services.bus.publish(INCIDENTS, pipeline_change("closed", last_seen_s=1_790_000_090.0))
    found = wait_for_incidents(client, tokens["viewer"], lambda f: f and f[0]["state"] == "closed")
    assert found[0]["state"] == "closed" and found[0]["closed_s"] == 1_790_000_090.0


def test_a_pipeline_incident_without_a_ground_position_is_not_stored(client, tokens, services):
    services.bus.publish(INCIDENTS, pipeline_change("opened", incident_id="cam-1", lat=None, lon=None))
    services.bus.publish(INCIDENTS, pipeline_change("opened", incident_id="drone-1-5"))
    found = wait_for_incidents(client, tokens["viewer"], lambda f: len(f) >= 1)
    assert [i["key"] for i in found] == ["drone-1-5"]
