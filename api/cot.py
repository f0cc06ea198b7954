"""Cursor-on-Target output: incidents and drone positions sent to a TAK server with pytak.

The forwarder follows the live bus (so incidents raised by any worker reach TAK), turns each
incident change and drone state into a CoT `<event>` and writes it over TCP, UDP or TLS
(`cot_url`: tcp://host:8087, udp://host:6969, tls://host:8089 with client certificates).
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import logging
import threading
import time
import warnings
import xml.etree.ElementTree as ET
from typing import Any

from tenken.events import INCIDENTS, TELEMETRY, EventBus
from tenken.settings import Settings

with warnings.catch_warnings():  # pytak warns about optional extras (cryptography) at import
    warnings.simplefilter("ignore")
    import pytak

log = logging.getLogger(__name__)

UID_PREFIX = "tenken"
INCIDENT_COT_TYPE = "b-m-p-s-p-i"  # a spot-map point of interest: every TAK client draws it
DRONE_COT_TYPE = "a-f-A-M-H-Q"  # friendly, air, rotary-wing UAV
TELEMETRY_MIN_INTERVAL_S = 1.0  # TAK clients need no more than one position a second per drone
UNKNOWN = 9999999.0  # CoT's "not known" for hae/ce/le


def _with_detail(event: ET.Element, callsign: str, remarks: str) -> ET.Element:
    detail = event.find("detail")
    if detail is None:
        detail = ET.SubElement(event, "detail")
    ET.SubElement(detail, "contact", callsign=callsign)
    ET.SubElement(detail, "remarks").text = remarks
    return event


def incident_cot(incident: dict[str, Any], stale_s: float) -> bytes | None:
    """An incident as a CoT point of interest; a closed incident goes stale at once (TAK drops it).

    Takes both the store's events (`id`, `key`) and the live pipeline's (`incident_id`); None while
    the incident has no position on the ground.
    """
    if incident.get("lat") is None or incident.get("lon") is None:
        return None
    ident = incident.get("key") or incident.get("incident_id") or incident["id"]
    label = incident.get("id", incident.get("incident_id"))
    closed = incident.get("state") == "closed"
    event = pytak.gen_cot_xml(
        lat=incident["lat"],
        lon=incident["lon"],
        ce=float(incident.get("error_m") or UNKNOWN),
        hae=UNKNOWN,
        le=UNKNOWN,
        uid=f"{UID_PREFIX}-incident-{ident}",
        stale=1 if closed else stale_s,  # pytak treats 0 as "default"; one second is "now"
        cot_type=INCIDENT_COT_TYPE,
    )
    assert event is not None
    kind = str(incident["kind"])
    remarks = (
        f"Tenken {kind} incident {label} {incident.get('state', 'open')}: "
        f"confidence {float(incident.get('confidence', 0)):.2f}, seen by {incident.get('source', '?')}"
    )
    return ET.tostring(_with_detail(event, f"{kind.upper()} {label}", remarks))


def telemetry_cot(state: dict[str, Any], stale_s: float) -> bytes | None:
    """A drone's position as a CoT air track; None while it has no position."""
    if state.get("lat") is None or state.get("lon") is None:
        return None
    vehicle = str(state.get("vehicle_id", "drone"))
    event = pytak.gen_cot_xml(
        lat=state["lat"],
        lon=state["lon"],
        hae=UNKNOWN if state.get("alt_m") is None else float(state["alt_m"]),
        ce=UNKNOWN,
        le=UNKNOWN,
        uid=f"{UID_PREFIX}-drone-{vehicle}",
        stale=stale_s,
        cot_type=DRONE_COT_TYPE,
    )
    assert event is not None
    battery = state.get("battery_pct")
    remarks = f"mode {state.get('mode') or '?'}, battery {'?' if battery is None else f'{battery:.0f} %'}"
    _with_detail(event, vehicle, remarks)
    detail = event.find("detail")
    assert detail is not None
    ET.SubElement(
        detail,
        "track",
        course=f"{float(state.get('heading_deg') or 0.0):.1f}",
        speed=f"{float(state.get('groundspeed_mps') or 0.0):.1f}",
    )
    return ET.tostring(event)


def pytak_config(settings: Settings) -> configparser.SectionProxy:
    parser = configparser.ConfigParser(interpolation=None)
    url = settings.cot_url or ""
    # Tenken only sends: pytak's plain udp:// would also bind the server's address to listen.
    if url.startswith("udp://"):
        url = "udp+wo://" + url.removeprefix("udp://")
    values = {"COT_URL": url}
    if settings.cot_tls_cert:
        values["PYTAK_TLS_CLIENT_CERT"] = str(settings.cot_tls_cert)
    if settings.cot_tls_key:
        values["PYTAK_TLS_CLIENT_KEY"] = str(settings.cot_tls_key)
    if settings.cot_tls_ca:
        values["PYTAK_TLS_CLIENT_CAFILE"] = str(settings.cot_tls_ca)
    parser["tenken"] = values
    return parser["tenken"]


class CotForwarder:
    """A background thread that follows INCIDENTS and TELEMETRY and writes CoT to the TAK server,
    reconnecting after a lost connection (events published meanwhile are sent on reconnect)."""

    def __init__(self, settings: Settings, *, reconnect_s: float = 2.0) -> None:
        self.settings = settings
        self.reconnect_s = reconnect_s
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_position_s: dict[str, float] = {}

    def start(self, bus: EventBus) -> None:
        # Fix the starting point now, so events published while the thread starts are not skipped.
        after_id = bus.last_id()
        self._thread = threading.Thread(
            target=lambda: asyncio.run(self._run(bus, after_id)), name="cot", daemon=True
        )
        self._thread.start()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def messages(self, channel: str, data: dict[str, Any]) -> bytes | None:
        stale_s = self.settings.cot_stale_s
        if channel == INCIDENTS:
            return incident_cot(data, stale_s)
        vehicle = str(data.get("vehicle_id", "drone"))
        now = time.monotonic()
        if now - self._last_position_s.get(vehicle, -1e9) < TELEMETRY_MIN_INTERVAL_S:
            return None
        message = telemetry_cot(data, stale_s)
        if message is not None:
            self._last_position_s[vehicle] = now
        return message

    async def _run(self, bus: EventBus, after_id: str) -> None:
        last = after_id
        while not self._stop.is_set():
            try:
                _reader, writer = await pytak.protocol_factory(pytak_config(self.settings))
            except (OSError, SyntaxError) as exc:
                log.warning("TAK server %s unreachable (%s); retrying", self.settings.cot_url, exc)
                await asyncio.sleep(self.reconnect_s)
                continue
            try:
                while not self._stop.is_set():
                    events = await asyncio.to_thread(bus.read, (INCIDENTS, TELEMETRY), last, 0.5)
                    for event in events:
                        message = self.messages(event.channel, event.data)
                        if message is not None:
                            await _send(writer, message)
                            self.sent += 1
                        last = event.event_id
            except OSError as exc:
                log.warning("TAK connection lost (%s); reconnecting", exc)
                await asyncio.sleep(self.reconnect_s)
            finally:
                _close(writer)


async def _send(writer: Any, message: bytes) -> None:
    if hasattr(writer, "send"):  # pytak's UDP client
        await writer.send(message)
    else:
        writer.write(message)
        await writer.drain()


def _close(writer: Any) -> None:
    with contextlib.suppress(OSError):
        writer.close()
