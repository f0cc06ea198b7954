"""Cursor-on-Target output: incidents and drone positions sent to a TAK server (pytak's transports).

The forwarder follows the live bus (so incidents raised by any worker reach TAK), turns incident
changes and drone states into CoT (`api.cot_xml`) and writes them over TCP, UDP or TLS (`cot_url`:
tcp://host:8087, udp://host:6969, tls://host:8089 with client certificates). It throttles: a drone at
most once a second; an incident when it opens or closes, when it moves or its ce changes by more
than a few metres, else at most every `incident_update_interval_s`. A closed incident is sent once
more as stale and then deleted.
"""

from __future__ import annotations

import asyncio
import configparser
import contextlib
import logging
import threading
import time
import warnings
from collections.abc import Callable
from typing import Any

from api.cot_xml import INCIDENT_COT_TYPE, delete_cot, incident_cot, incident_uid, telemetry_cot
from api.incident_throttle import UpdateThrottle
from tenken.events import INCIDENTS, TELEMETRY, EventBus
from tenken.settings import Settings

with warnings.catch_warnings():  # pytak warns about optional extras (cryptography) at import
    warnings.simplefilter("ignore")
    import pytak

log = logging.getLogger(__name__)

TELEMETRY_MIN_INTERVAL_S = 1.0  # TAK clients need no more than one position a second per drone


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

    def __init__(
        self, settings: Settings, *, reconnect_s: float = 2.0, clock: Callable[[], float] = time.time
    ) -> None:
        self.settings = settings
        self.reconnect_s = reconnect_s
        self.clock = clock
        self.sent = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_position_s: dict[str, float] = {}
        self._throttle = UpdateThrottle(settings.incident_update_interval_s)

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

    def messages(self, channel: str, data: dict[str, Any]) -> list[bytes]:
        """The CoT to send for one bus event (none when throttled or without a position)."""
        now = self.clock()
        if channel == INCIDENTS:
            return self._incident_messages(data, now)
        vehicle = str(data.get("vehicle_id", "drone"))
        if now - self._last_position_s.get(vehicle, -1e18) < TELEMETRY_MIN_INTERVAL_S:
            return []
        message = telemetry_cot(data, self.settings.cot_stale_s, now, self.settings.drone_gps_error_m)
        if message is None:
            return []
        self._last_position_s[vehicle] = now
        return [message]

    def _incident_messages(self, data: dict[str, Any], now: float) -> list[bytes]:
        message = incident_cot(data, self.settings.cot_stale_s, now)
        uid = incident_uid(data)
        if message is None or not self._throttle.due(uid, data, now):
            return []
        if data.get("state") == "closed":
            return [message, delete_cot(uid, INCIDENT_COT_TYPE, now)]
        return [message]

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
                        for message in self.messages(event.channel, event.data):
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
