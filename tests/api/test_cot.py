"""Cursor-on-Target: incidents and drone positions reach a TAK server (a local TCP listener) as CoT XML."""

from __future__ import annotations

import socket
import threading
import xml.etree.ElementTree as ET

import pytest

from api.cot import CotForwarder, incident_cot, telemetry_cot
from tenken.events import INCIDENTS, TELEMETRY, InProcessBus
from tenken.settings import load_settings

INCIDENT = {
    "change": "opened",
    "id": 7,
    "kind": "fire",
    "state": "open",
    "lat": 35.6201,
    "lon": 140.1202,
    "error_m": 8.0,
    "confidence": 0.91,
    "source": "drone-1",
}
STATE = {
    "vehicle_id": "drone-1",
    "lat": 35.63,
    "lon": 140.13,
    "alt_m": 60.0,
    "heading_deg": 270.0,
    "groundspeed_mps": 4.5,
    "battery_pct": 76.0,
    "mode": "AUTO",
}


class TakListener:
    """A TCP server that collects every complete CoT <event> it receives."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.events: list[ET.Element] = []
        self.got = threading.Condition()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        conn, _ = self.sock.accept()
        buffer = b""
        with conn:
            while chunk := conn.recv(65536):
                buffer += chunk
                while b"</event>" in buffer:
                    raw, buffer = buffer.split(b"</event>", 1)
                    start = raw.find(b"<event")
                    with self.got:
                        self.events.append(ET.fromstring(raw[start:] + b"</event>"))
                        self.got.notify_all()

    def wait_for(self, n: int, timeout_s: float = 10.0) -> list[ET.Element]:
        with self.got:
            self.got.wait_for(lambda: len(self.events) >= n, timeout_s)
            return list(self.events)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def tak():
    listener = TakListener()
    yield listener
    listener.close()


def test_an_incident_and_a_drone_position_reach_the_tak_server_as_cot(tak):
    bus = InProcessBus()
    forwarder = CotForwarder(load_settings(cot_url=f"tcp://127.0.0.1:{tak.port}", cot_stale_s=90))
    forwarder.start(bus)
    try:
        bus.publish(INCIDENTS, INCIDENT)
        bus.publish(TELEMETRY, STATE)
        incident, drone = tak.wait_for(2)
    finally:
        forwarder.close()
    assert incident.tag == "event" and incident.get("uid") == "tenken-incident-7"
    point = incident.find("point")
    assert (float(point.get("lat")), float(point.get("lon")), float(point.get("ce"))) == (
        35.6201,
        140.1202,
        8.0,
    )
    assert incident.find("detail/contact").get("callsign") == "FIRE 7"
    assert "confidence 0.91" in incident.find("detail/remarks").text
    assert drone.get("type") == "a-f-A-M-H-Q" and drone.get("uid") == "tenken-drone-drone-1"
    assert float(drone.find("point").get("hae")) == 60.0
    assert drone.find("detail/track").get("course") == "270.0"


def test_a_closed_incident_goes_stale_at_once():
    closed = ET.fromstring(incident_cot(INCIDENT | {"state": "closed"}, stale_s=600))
    still_open = ET.fromstring(incident_cot(INCIDENT, stale_s=600))
    assert closed.get("stale") < still_open.get("stale")
    assert "closed" in closed.find("detail/remarks").text


def test_a_drone_without_a_position_sends_nothing():
    assert telemetry_cot(STATE | {"lat": None}, stale_s=60) is None


def test_drone_positions_are_thinned_to_one_a_second_per_drone():
    forwarder = CotForwarder(load_settings(cot_url="tcp://127.0.0.1:1"))
    sent = [forwarder.messages(TELEMETRY, STATE) for _ in range(5)]
    other = forwarder.messages(TELEMETRY, STATE | {"vehicle_id": "drone-2"})
    assert sum(m is not None for m in sent) == 1 and other is not None


def test_a_live_pipeline_incident_is_sent_under_its_pipeline_id():
    change = {
        "event": "opened",
        "incident_id": "drone-1-3",
        "kind": "smoke",
        "state": "open",
        "lat": 35.6,
        "lon": 140.1,
        "error_m": 9.0,
        "confidence": 0.8,
        "source": "drone-1",
    }
    event = ET.fromstring(incident_cot(change, stale_s=60))
    assert event.get("uid") == "tenken-incident-drone-1-3"
    assert incident_cot(change | {"lat": None}, stale_s=60) is None


def test_cot_also_goes_out_over_udp():
    receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    receiver.bind(("127.0.0.1", 0))
    receiver.settimeout(10)
    bus = InProcessBus()
    forwarder = CotForwarder(load_settings(cot_url=f"udp://127.0.0.1:{receiver.getsockname()[1]}"))
    forwarder.start(bus)
    try:
        bus.publish(INCIDENTS, INCIDENT)
        datagram, _ = receiver.recvfrom(65536)
    finally:
        forwarder.close()
        receiver.close()
    assert ET.fromstring(datagram).get("uid") == "tenken-incident-7"
