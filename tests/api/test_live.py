"""The live stream (server-sent events) and telemetry ingest, against a real uvicorn server."""

from __future__ import annotations

import json

import httpx
import pytest

from tenken.events import FINDINGS, JOBS, TELEMETRY
from tests.api.conftest import auth


def read_events(response, n):
    """The first `n` events of an SSE response, as (id, event, data)."""
    events, current = [], {}
    for line in response.iter_lines():
        if line.startswith(":") or line.startswith("retry:"):
            continue
        if not line:
            if "data" in current:
                events.append((current.get("id"), current.get("event"), json.loads(current["data"])))
                if len(events) == n:
                    return events
            current = {}
            continue
        key, _, value = line.partition(": ")
        current[key] = value
    raise AssertionError(f"stream ended after {len(events)} events")


def telemetry(**overrides):
    body = {
        "type": "vehicle_state",
        "vehicle_id": "drone-1",
        "timestamp_s": 1_790_000_000.0,
        "lat": 35.62,
        "lon": 140.12,
        "alt_m": 60.0,
        "heading_deg": 90.0,
        "battery_pct": 81.0,
        "mode": "AUTO",
        "armed": True,
        "footprint": {
            "type": "Polygon",
            "coordinates": [[[140.12, 35.62], [140.121, 35.62], [140.121, 35.621], [140.12, 35.62]]],
        },
    }
    return body | overrides


def test_the_stream_needs_a_token(live_server):
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        assert http.get("/api/stream").status_code == 401
        assert http.get("/api/stream?token=tk_wrong").status_code == 401


def test_an_unknown_channel_is_400(live_server, tokens):
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        response = http.get("/api/stream", params={"token": tokens["viewer"], "channels": "findings,gossip"})
    assert response.status_code == 400
    assert "gossip" in response.json()["detail"]


def test_posted_telemetry_reaches_a_stream_client(live_server, tokens, services):
    with (
        httpx.Client(base_url=live_server.url, timeout=10) as http,
        http.stream(
            "GET", "/api/stream", params={"token": tokens["viewer"], "channels": "telemetry"}
        ) as stream,
    ):
        assert stream.headers["content-type"].startswith("text/event-stream")
        posted = http.post("/api/telemetry", headers=auth(tokens["operator"]), json=telemetry())
        assert posted.status_code == 200
        [(event_id, event, data)] = read_events(stream, 1)
    assert event_id == posted.json()["event_id"] and event == TELEMETRY
    assert data["vehicle_id"] == "drone-1" and data["footprint"]["type"] == "Polygon"


def test_the_stream_carries_findings_incidents_and_jobs_in_order(live_server, tokens, services):
    with (
        httpx.Client(base_url=live_server.url, timeout=10) as http,
        http.stream("GET", "/api/stream", headers=auth(tokens["viewer"])) as stream,
    ):
        services.bus.publish(FINDINGS, {"kind": "defect", "id": 1, "lat": 35.6, "lon": 140.1})
        services.bus.publish(JOBS, {"job_id": "j1", "state": "running"})
        http.post(
            "/api/incidents",
            headers=auth(tokens["operator"]),
            json={
                "key": "k",
                "kind": "smoke",
                "lat": 35.6,
                "lon": 140.1,
                "error_m": 5,
                "timestamp_s": 1.0,
                "confidence": 0.8,
                "source": "drone-1",
            },
        )
        events = read_events(stream, 3)
    assert [e[1] for e in events] == ["findings", "jobs", "incidents"]


def test_a_client_resumes_after_last_event_id_without_losing_events(live_server, tokens, services):
    first = services.bus.publish(FINDINGS, {"n": 1})
    services.bus.publish(FINDINGS, {"n": 2})
    services.bus.publish(FINDINGS, {"n": 3})
    with httpx.Client(base_url=live_server.url, timeout=10) as http:
        headers = {**auth(tokens["viewer"]), "Last-Event-ID": first}
        with http.stream("GET", "/api/stream", headers=headers) as stream:
            events = read_events(stream, 2)
    assert [e[2]["n"] for e in events] == [2, 3]


def test_latest_telemetry_of_each_drone_is_kept_for_new_pages(client, tokens):
    client.post("/api/telemetry", headers=auth(tokens["operator"]), json=telemetry(timestamp_s=1.0))
    client.post("/api/telemetry", headers=auth(tokens["operator"]), json=telemetry(timestamp_s=2.0))
    client.post(
        "/api/telemetry", headers=auth(tokens["operator"]), json=telemetry(vehicle_id="drone-2", lat=None)
    )
    latest = client.get("/api/telemetry", headers=auth(tokens["viewer"])).json()
    assert {d["vehicle_id"]: d["timestamp_s"] for d in latest}["drone-1"] == 2.0
    assert len(latest) == 2


@pytest.mark.parametrize(
    "bad", [{"lat": 95.0}, {"timestamp_s": "soon"}, {"vehicle_id": "../x"}, {"footprint": {"type": "Point"}}]
)
def test_malformed_telemetry_is_422(client, tokens, bad):
    response = client.post("/api/telemetry", headers=auth(tokens["operator"]), json=telemetry(**bad))
    assert response.status_code == 422


def test_many_open_streams_neither_block_other_requests_nor_miss_events(live_server, tokens, services):
    import asyncio

    n_clients = 60  # more than the worker threads FastAPI runs plain routes on (40)

    async def scenario():
        async with httpx.AsyncClient(base_url=live_server.url, timeout=20) as http:
            streams, opened = [], []
            for _ in range(n_clients):
                cm = http.stream("GET", "/api/stream", params={"token": tokens["viewer"], "channels": "jobs"})
                response = await cm.__aenter__()
                streams.append(cm)
                opened.append(response)
            me = await http.get("/api/me", headers=auth(tokens["viewer"]))
            event_id = services.bus.publish(JOBS, {"job_id": "j9", "state": "completed"})

            async def first_event_id(response):
                async for line in response.aiter_lines():
                    if line.startswith("id: "):
                        return line[4:]
                return None

            ids = await asyncio.gather(*(first_event_id(r) for r in opened))
            for cm in streams:
                await cm.__aexit__(None, None, None)
            return me.status_code, ids, event_id

    status, ids, event_id = asyncio.run(scenario())
    assert status == 200
    assert ids == [event_id] * n_clients
