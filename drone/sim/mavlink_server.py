"""The simulator's MAVLink side: a TCP server that speaks to ground stations like ArduCopter SITL does."""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
from dataclasses import dataclass
from types import TracebackType
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.commands import CommandHandler
from drone.sim.mission_protocol import MissionProtocol
from drone.sim.params import PARAM_TYPES, coerce, default_params
from drone.sim.streams import TelemetryStreams
from drone.sim.vehicle import SimVehicle
from drone.sim.vehicle_types import SimConfig, SimEvent

log = logging.getLogger(__name__)

SYSTEM_ID = 1
COMPONENT_ID = mav.MAV_COMP_ID_AUTOPILOT1


class _Broadcast:
    """File-like target for the MAVLink encoder: writes every packet to all connected clients."""

    def __init__(self, server: SimServer) -> None:
        self._server = server

    def write(self, buf: bytes) -> None:
        self._server._send_bytes(bytes(buf))


@dataclass
class _Client:
    sock: socket.socket
    parser: Any


class SimServer:
    """Serve a `SimVehicle` over MAVLink/TCP. `port=0` picks a free port (read `.port` after `start()`).

    Every packet goes to every connected ground station; replies carry the asker's system and component
    as targets, as ArduPilot addresses them. `stream_hz` is the telemetry rate (simulated time) until a
    ground station asks for another.

    >>> with SimServer(port=0, speedup=10) as sim:   # doctest: +SKIP
    ...     vehicle = dronekit.connect(f"tcp:127.0.0.1:{sim.port}", wait_ready=True)
    """

    def __init__(
        self,
        vehicle: SimVehicle | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 5760,
        speedup: float = 1.0,
        stream_hz: float = 4.0,
    ) -> None:
        self.vehicle = vehicle or SimVehicle(SimConfig())
        self.host = host
        self.port = port
        self.speedup = speedup
        self.params = default_params(self.vehicle.config, stream_hz)
        self._param_names = list(self.params)
        self._clients: list[_Client] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._send_lock = threading.Lock()
        self._mav = mav.MAVLink(_Broadcast(self), srcSystem=SYSTEM_ID, srcComponent=COMPONENT_ID)
        self._mav.WIRE_PROTOCOL_VERSION = "2.0"
        self.streams = TelemetryStreams(self._mav, self.vehicle, self.params, speedup)
        self.missions = MissionProtocol(self._mav, self.vehicle)
        self.commands = CommandHandler(self._mav, self.vehicle, self.streams)
        self._handlers = self._message_handlers()
        self.uplink_up = True
        self.downlink_up = True
        self.received: list[str] = []  # message types from ground stations, for tests and debugging
        self._last_gcs_heartbeat_s = 0.0
        self._gcs_failsafe = False
        self._battery_failsafe = False

    def _message_handlers(self) -> dict[str, Any]:
        m, c = self.missions, self.commands
        return {
            "HEARTBEAT": self._on_heartbeat,
            "PARAM_REQUEST_LIST": self._on_param_request_list,
            "PARAM_REQUEST_READ": self._on_param_request_read,
            "PARAM_SET": self._on_param_set,
            "REQUEST_DATA_STREAM": self._on_request_data_stream,
            "COMMAND_LONG": c.on_command_long,
            "COMMAND_INT": c.on_command_int,
            "SET_MODE": c.on_set_mode,
            "MOUNT_CONTROL": c.on_mount_control,
            "SET_POSITION_TARGET_GLOBAL_INT": c.on_set_position_target_global_int,
            "MISSION_REQUEST_LIST": m.on_mission_request_list,
            "MISSION_REQUEST": m.on_mission_request,
            "MISSION_REQUEST_INT": m.on_mission_request_int,
            "MISSION_COUNT": m.on_mission_count,
            "MISSION_WRITE_PARTIAL_LIST": m.on_mission_write_partial_list,
            "MISSION_ITEM": m.on_mission_item,
            "MISSION_ITEM_INT": m.on_mission_item_int,
            "MISSION_ACK": m.on_mission_ack,
            "MISSION_CLEAR_ALL": m.on_mission_clear_all,
            "MISSION_SET_CURRENT": m.on_mission_set_current,
        }

    # ---- lifecycle ------------------------------------------------------------------------------------

    def start(self) -> SimServer:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((self.host, self.port))
        listener.listen(4)
        self.port = listener.getsockname()[1]
        self._listener = listener
        self._running.set()
        self._thread = threading.Thread(target=self._run, name="tenken-sim", daemon=True)
        self._thread.start()
        log.info("simulator listening on tcp:%s:%d (speed-up %.1fx)", self.host, self.port, self.speedup)
        return self

    def stop(self) -> None:
        self._running.clear()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
        for client in self._clients:
            client.sock.close()
        self._clients.clear()
        if self._listener is not None:
            self._listener.close()

    def __enter__(self) -> SimServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # ---- link faults (tests) --------------------------------------------------------------------------

    def drop_link(self, *, uplink: bool = True, downlink: bool = True) -> None:
        """Radio silence: packets in the chosen directions vanish; TCP stays open like a radio modem."""
        if uplink:
            self.uplink_up = False
        if downlink:
            self.downlink_up = False

    def restore_link(self) -> None:
        self.uplink_up = self.downlink_up = True

    def disconnect_clients(self) -> None:
        with self._send_lock:
            for client in self._clients:
                client.sock.close()
            self._clients.clear()

    # ---- main loop ------------------------------------------------------------------------------------

    def _run(self) -> None:
        last = time.monotonic()
        while self._running.is_set():
            self._poll_sockets(0.01)
            now = time.monotonic()
            with self.vehicle.lock:
                self.vehicle.step((now - last) * self.speedup)
                last = now
                self._run_failsafes(now)
                self.streams.send_due(self.vehicle.time_s)
                self._send_events()
                self.missions.retry(now)

    def _run_failsafes(self, now: float) -> None:
        """ArduCopter's own failsafes (FS_GCS_ENABLE, BATT_FS_LOW_ACT), off by default as on a new vehicle."""
        v = self.vehicle
        v.failsafe = self._gcs_failsafe or self._battery_failsafe
        if not v.armed or v.landed:
            return
        heard_gcs = self._last_gcs_heartbeat_s > 0 and not self._gcs_failsafe
        silent = now - self._last_gcs_heartbeat_s > self.params["FS_GCS_TIMEOUT"]
        flying_home = v.mode in ("RTL", "LAND")
        if self.params["FS_GCS_ENABLE"] >= 1 and heard_gcs and silent and not flying_home:
            self._gcs_failsafe = True
            v.events.append(SimEvent("statustext", text="GCS Failsafe", severity=mav.MAV_SEVERITY_CRITICAL))
            if not v.set_mode("RTL", source="failsafe"):
                v.set_mode("LAND", source="failsafe")
        action = int(self.params["BATT_FS_LOW_ACT"])
        low_mah = self.params["BATT_LOW_MAH"]
        remaining_mah = v.config.battery_capacity_mah - v.battery_used_mah
        if action and low_mah > 0 and remaining_mah < low_mah and not self._battery_failsafe:
            self._battery_failsafe = True
            v.events.append(
                SimEvent("statustext", text="Battery 1 is low", severity=mav.MAV_SEVERITY_CRITICAL)
            )
            if action == 1 or not v.set_mode("RTL", source="failsafe"):
                v.set_mode("LAND", source="failsafe")

    def _poll_sockets(self, timeout_s: float) -> None:
        assert self._listener is not None
        socks = [self._listener, *[c.sock for c in self._clients]]
        try:
            readable, _, _ = select.select(socks, [], [], timeout_s)
        except (OSError, ValueError):
            self._clients = [c for c in self._clients if c.sock.fileno() >= 0]
            return
        for sock in readable:
            if sock is self._listener:
                conn, addr = self._listener.accept()
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                conn.settimeout(1.0)
                parser = mav.MAVLink(None, srcSystem=SYSTEM_ID, srcComponent=COMPONENT_ID)
                parser.robust_parsing = True
                with self._send_lock:
                    self._clients.append(_Client(conn, parser))
                log.info("ground station connected from %s:%d", *addr)
                continue
            client = next(c for c in self._clients if c.sock is sock)
            try:
                data = sock.recv(65536)
            except OSError:
                data = b""
            if not data:
                self._drop_client(client)
                continue
            if not self.uplink_up:
                continue
            try:
                messages = client.parser.parse_buffer(data) or []
            except mav.MAVError as exc:
                log.debug("bad packet from ground station: %s", exc)
                continue
            with self.vehicle.lock:
                for msg in messages:
                    self._handle(msg)

    def _drop_client(self, client: _Client) -> None:
        with self._send_lock:
            if client in self._clients:
                self._clients.remove(client)
        client.sock.close()
        log.info("ground station disconnected")

    def _send_bytes(self, buf: bytes) -> None:
        if not self.downlink_up:
            return
        with self._send_lock:
            for client in list(self._clients):
                try:
                    client.sock.sendall(buf)
                except OSError:
                    self._clients.remove(client)
                    client.sock.close()

    def _send_events(self) -> None:
        events = self.vehicle.events
        while events:
            event = events.popleft()
            if event.kind == "statustext":
                self._mav.statustext_send(event.severity, event.text.encode()[:50])
            elif event.kind == "mission_item_reached":
                self._mav.mission_item_reached_send(event.value)
            elif event.kind == "mission_current":
                self.streams.send_mission_current()
            elif event.kind == "home":
                self.streams.send_home()

    # ---- incoming messages ----------------------------------------------------------------------------

    def _handle(self, msg: Any) -> None:
        kind = msg.get_type()
        self.received.append(kind)
        target = getattr(msg, "target_system", 0)
        if target not in (0, SYSTEM_ID):
            return  # for another vehicle on the same link
        handler = self._handlers.get(kind)
        if handler is not None:
            handler(msg)

    def _on_heartbeat(self, msg: Any) -> None:
        if msg.type == mav.MAV_TYPE_GCS:
            self._last_gcs_heartbeat_s = time.monotonic()
            self._gcs_failsafe = False

    def _on_request_data_stream(self, msg: Any) -> None:
        if msg.start_stop in (0, 1):
            self.streams.request_data_stream(msg.req_stream_id, msg.req_message_rate, bool(msg.start_stop))

    # ---- parameters -----------------------------------------------------------------------------------

    def _on_param_request_list(self, msg: Any) -> None:
        for index in range(len(self._param_names)):
            self._send_param(index)

    def _on_param_request_read(self, msg: Any) -> None:
        if msg.param_index >= 0:
            if msg.param_index < len(self._param_names):
                self._send_param(msg.param_index)
            return
        name = _param_name(msg.param_id)
        if name in self.params:
            self._send_param(self._param_names.index(name))

    def _on_param_set(self, msg: Any) -> None:
        name = _param_name(msg.param_id)
        if name not in self.params:
            self._mav.statustext_send(mav.MAV_SEVERITY_WARNING, f"Unknown parameter {name}".encode()[:50])
            return
        if not math.isfinite(msg.param_value):
            return  # ArduPilot ignores NaN and infinite values
        self.params[name] = coerce(name, float(msg.param_value))
        if name == "WPNAV_SPEED":
            self.vehicle.speed_mps = max(0.5, self.params[name] / 100.0)
        self._send_param(self._param_names.index(name))

    def _send_param(self, index: int) -> None:
        name = self._param_names[index]
        self._mav.param_value_send(
            name.encode(), self.params[name], PARAM_TYPES[name], len(self._param_names), index
        )


def _param_name(raw: str | bytes) -> str:
    return raw.rstrip("\x00") if isinstance(raw, str) else raw.decode(errors="replace").rstrip("\x00")
