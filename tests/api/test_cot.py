"""Cursor-on-Target: incidents and drone positions reach a TAK server (a local TCP listener) as CoT XML."""

from __future__ import annotations

import socket
import threading
import xml.etree.ElementTree as ET

import pytest
import takproto

from api.cot import CotForwarder
from api.cot_xml import incident_cot, telemetry_cot
from tenken.events import INCIDENTS, TELEMETRY, InProcessBus
from tenken.geo import distance_m
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


def parsed(message: bytes):
    """A CoT event as TAK parses it: takproto (the TAK protocol codec) reads the XML into the protobuf
    `CotEvent` that ATAK/WinTAK exchange. It is lenient, so the schema's required parts are checked."""
    root = ET.fromstring(message)
    assert root.tag == "event" and root.get("version") == "2.0"
    assert all(root.get(a) for a in ("uid", "type", "how", "time", "start", "stale"))
    point = root.find("point")
    assert point is not None and all(point.get(a) for a in ("lat", "lon", "hae", "ce", "le"))
    return takproto.parse_proto(takproto.xml2proto(message)).cotEvent


class Clock:
    def __init__(self, now_s: float = 1_700_000_000.0) -> None:
        self.now_s = now_s

    def __call__(self) -> float:
        return self.now_s


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
    event = parsed(ET.tostring(incident))
    assert (event.lat, event.lon, event.ce) == (35.6201, 140.1202, 8.0)
    assert event.detail.contact.callsign == "FIRE 7"
    assert "confidence 0.91" in incident.find("detail/remarks").text
    assert drone.get("type") == "a-f-A-M-H-Q" and drone.get("uid") == "tenken-drone-drone-1"
    assert drone.find("detail/track").get("course") == "270.0"


def test_incident_positions_keep_their_full_precision():
    # pytak's gen_cot_xml wrote 4 decimals: this point would have moved ~8 m.
    event = parsed(incident_cot(INCIDENT | {"lat": 35.620149, "lon": 140.120249}, stale_s=60, now_s=0))
    assert distance_m(event.lat, event.lon, 35.620149, 140.120249) < 0.01


def test_height_above_home_is_never_sent_as_height_above_the_ellipsoid():
    drone = parsed(telemetry_cot(STATE, stale_s=60, now_s=0, gps_error_m=3.0))
    incident = parsed(incident_cot(INCIDENT, stale_s=60, now_s=0))
    assert drone.hae == incident.hae == 9999999.0  # CoT's "unknown"
    assert drone.ce == 3.0
    with_hae = parsed(telemetry_cot(STATE | {"alt_hae_m": 102.5}, stale_s=60, now_s=0, gps_error_m=3.0))
    assert with_hae.hae == 102.5


def test_an_error_of_zero_is_sent_as_zero_not_unknown():
    assert parsed(incident_cot(INCIDENT | {"error_m": 0.0}, stale_s=60, now_s=0)).ce == 0.0
    assert parsed(incident_cot(INCIDENT | {"error_m": None}, stale_s=60, now_s=0)).ce == 9999999.0


def test_a_closed_incident_goes_stale_at_once_and_is_deleted():
    forwarder = CotForwarder(load_settings(cot_url="tcp://127.0.0.1:1"), clock=Clock())
    assert len(forwarder.messages(INCIDENTS, INCIDENT)) == 1
    stale, delete = forwarder.messages(INCIDENTS, INCIDENT | {"state": "closed"})
    stale_event, delete_event = parsed(stale), parsed(delete)
    assert stale_event.uid == "tenken-incident-7" and stale_event.staleTime == stale_event.startTime
    assert delete_event.type == "t-x-d-d"
    link = ET.fromstring(delete).find("detail/link")
    assert (
        link.get("uid") == "tenken-incident-7"
        and ET.fromstring(delete).find("detail/__forcedelete") is not None
    )
    assert forwarder.messages(INCIDENTS, INCIDENT | {"state": "closed"}) == []  # deleted once


def test_incident_updates_are_sent_on_change_or_every_interval():
    clock = Clock()
    forwarder = CotForwarder(
        load_settings(cot_url="tcp://127.0.0.1:1", incident_update_interval_s=5.0), clock=clock
    )
    sent = []
    for _ in range(30):  # three updates a second, the incident standing still
        sent.append(forwarder.messages(INCIDENTS, INCIDENT | {"change": "updated"}))
        clock.now_s += 1 / 3
    assert sum(1 for m in sent if m) == 2  # the first, then one after 5 s
    moved = forwarder.messages(INCIDENTS, INCIDENT | {"lat": INCIDENT["lat"] + 0.0001})
    assert len(moved) == 1  # 11 m: sent at once


def test_a_drone_without_a_position_sends_nothing():
    assert telemetry_cot(STATE | {"lat": None}, stale_s=60, now_s=0, gps_error_m=3.0) is None


def test_drone_positions_are_thinned_to_one_a_second_per_drone():
    forwarder = CotForwarder(load_settings(cot_url="tcp://127.0.0.1:1"), clock=Clock())
    sent = [forwarder.messages(TELEMETRY, STATE) for _ in range(5)]
    other = forwarder.messages(TELEMETRY, STATE | {"vehicle_id": "drone-2"})
    assert sum(len(m) for m in sent) == 1 and len(other) == 1


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
    assert parsed(incident_cot(change, stale_s=60, now_s=0)).uid == "tenken-incident-drone-1-3"
    assert incident_cot(change | {"lat": None}, stale_s=60, now_s=0) is None


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
