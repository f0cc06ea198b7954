"""The simulator's MAVLink side: a TCP server that speaks to ground stations like ArduCopter SITL does."""

from __future__ import annotations

import logging
import math
import select
import socket
import threading
import time
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from pymavlink.dialects.v20 import ardupilotmega as mav

from drone.sim.params import default_params
from drone.sim.vehicle import COPTER_MODES, MODE_NAMES, MissionItem, SimConfig, SimEvent, SimVehicle

log = logging.getLogger(__name__)

HEARTBEAT_INTERVAL_S = 1.0
MISSION_RETRY_S = 1.0
MISSION_RETRIES = 5
SIM_VERSION = (4 << 24) | (5 << 16) | (7 << 8) | 255  # reported as ArduCopter 4.5.7 (official)
EKF_GOOD = (
    mav.EKF_ATTITUDE
    | mav.EKF_VELOCITY_HORIZ
    | mav.EKF_VELOCITY_VERT
    | mav.EKF_POS_HORIZ_REL
    | mav.EKF_POS_HORIZ_ABS
    | mav.EKF_POS_VERT_ABS
    | mav.EKF_PRED_POS_HORIZ_REL
    | mav.EKF_PRED_POS_HORIZ_ABS
)
EKF_WAITING = mav.EKF_ATTITUDE | mav.EKF_CONST_POS_MODE


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


@dataclass
class _Upload:
    """A mission upload in progress (MISSION_COUNT received, items being requested)."""

    count: int
    mission_type: int
    items: list[MissionItem] = field(default_factory=list)
    last_request_s: float = 0.0
    retries: int = 0


class SimServer:
    """Serve a `SimVehicle` over MAVLink/TCP. `port=0` picks a free port (read `.port` after `start()`).

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
        stream_hz: float = 10.0,
    ) -> None:
        self.vehicle = vehicle or SimVehicle(SimConfig())
        self.host = host
        self.port = port
        self.speedup = speedup
        self.stream_hz = stream_hz
        self.params = default_params(self.vehicle.config)
        self._param_names = list(self.params)
        self._requested_hz = 0.0
        self._clients: list[_Client] = []
        self._listener: socket.socket | None = None
        self._thread: threading.Thread | None = None
        self._running = threading.Event()
        self._send_lock = threading.Lock()
        self._mav = mav.MAVLink(_Broadcast(self), srcSystem=1, srcComponent=1)
        self._mav.WIRE_PROTOCOL_VERSION = "2.0"
        self._upload: _Upload | None = None
        self._last_heartbeat_s = 0.0
        self._last_stream_s = 0.0
        self._last_slow_s = 0.0
        self.uplink_up = True
        self.downlink_up = True
        self.received: list[str] = []  # message types from ground stations, for tests and debugging
        self._last_gcs_heartbeat_s = 0.0
        self._gcs_failsafe = False
        self._battery_failsafe = False

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
                self._send_due(now)
                self._send_events()
                self._retry_upload(now)

    def _run_failsafes(self, now: float) -> None:
        """ArduCopter's own failsafes (FS_GCS_ENABLE, BATT_FS_LOW_ACT), off by default as on a new vehicle."""
        v = self.vehicle
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
                parser = mav.MAVLink(None, srcSystem=1, srcComponent=1)
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

    # ---- outgoing streams -----------------------------------------------------------------------------

    def _send_due(self, now: float) -> None:
        if now - self._last_heartbeat_s >= HEARTBEAT_INTERVAL_S:
            self._last_heartbeat_s = now
            self._send_heartbeat()
        rate = max(self.stream_hz, self._requested_hz)
        if now - self._last_stream_s >= 1.0 / rate:
            self._last_stream_s = now
            self._send_state()
        if now - self._last_slow_s >= 1.0:
            self._last_slow_s = now
            self._send_slow()

    def _boot_ms(self) -> int:
        return int(self.vehicle.time_s * 1000) & 0xFFFFFFFF

    def _send_heartbeat(self) -> None:
        v = self.vehicle
        base = mav.MAV_MODE_FLAG_CUSTOM_MODE_ENABLED | mav.MAV_MODE_FLAG_STABILIZE_ENABLED
        if v.mode in ("GUIDED", "AUTO", "RTL", "LAND", "LOITER"):
            base |= mav.MAV_MODE_FLAG_GUIDED_ENABLED
        if v.armed:
            base |= mav.MAV_MODE_FLAG_SAFETY_ARMED
        status = mav.MAV_STATE_ACTIVE if v.armed else mav.MAV_STATE_STANDBY
        self._mav.heartbeat_send(
            mav.MAV_TYPE_QUADROTOR, mav.MAV_AUTOPILOT_ARDUPILOTMEGA, base, COPTER_MODES[v.mode], status, 3
        )

    def _send_state(self) -> None:
        v = self.vehicle
        locked = v.gps_fix >= 3
        lat, lon = v.latlon if locked else (0.0, 0.0)
        lat_e7, lon_e7 = round(lat * 1e7), round(lon * 1e7)
        amsl_mm = int((v.config.home_amsl_m + v.alt_m) * 1000)
        yaw = math.radians(((v.heading_deg + 180.0) % 360.0) - 180.0)
        self._mav.global_position_int_send(
            self._boot_ms(), lat_e7, lon_e7, amsl_mm, int(v.alt_m * 1000),
            int(v.vy_mps * 100), int(v.vx_mps * 100), int(-v.vz_mps * 100), int(v.heading_deg * 100) % 36000,
        )  # fmt: skip
        cog = int(math.degrees(math.atan2(v.vx_mps, v.vy_mps)) % 360 * 100) if v.groundspeed_mps > 0.1 else 0
        self._mav.gps_raw_int_send(
            int(v.time_s * 1e6), v.gps_fix, lat_e7, lon_e7, amsl_mm, 80 if locked else 9999,
            120 if locked else 9999, int(v.groundspeed_mps * 100), cog, 12 if locked else 3,
        )  # fmt: skip
        self._mav.attitude_send(self._boot_ms(), 0.0, math.radians(v.pitch_deg), yaw, 0.0, 0.0, 0.0)
        self._mav.vfr_hud_send(
            v.groundspeed_mps, v.groundspeed_mps, int(v.heading_deg) % 360,
            (50 if not v.landed else 0) if v.armed else 0, v.config.home_amsl_m + v.alt_m, v.vz_mps,
        )  # fmt: skip
        sensors = (
            mav.MAV_SYS_STATUS_SENSOR_3D_GYRO
            | mav.MAV_SYS_STATUS_SENSOR_3D_ACCEL
            | mav.MAV_SYS_STATUS_SENSOR_GPS
            | mav.MAV_SYS_STATUS_SENSOR_BATTERY
        )
        health = sensors if locked else sensors & ~mav.MAV_SYS_STATUS_SENSOR_GPS
        pct = int(v.battery_pct) if v.config.battery_reports_pct else -1
        self._mav.sys_status_send(
            sensors, sensors, health, 250, int(v.battery_voltage_v * 1000), int(v.current_a * 100),
            pct, 0, 0, 0, 0, 0, 0,
        )  # fmt: skip
        self._mav.mount_status_send(0, 0, int(v.gimbal_pitch_deg * 100), 0, int(v.heading_deg * 100), 2)

    def _send_slow(self) -> None:
        v = self.vehicle
        cells = [int(v.battery_voltage_v / v.config.battery_cells * 1000)] * v.config.battery_cells
        pct = int(v.battery_pct) if v.config.battery_reports_pct else -1
        self._mav.battery_status_send(
            0, mav.MAV_BATTERY_FUNCTION_ALL, mav.MAV_BATTERY_TYPE_LIPO, 32767,
            cells + [65535] * (10 - len(cells)), int(v.current_a * 100), int(v.battery_used_mah), -1, pct,
        )  # fmt: skip
        flags = EKF_GOOD if v.ekf_ok else EKF_WAITING
        self._mav.ekf_status_report_send(flags, 0.1, 0.1, 0.1, 0.1, 0.0)
        self._mav.mission_current_send(v.mission_seq, v.mission_count)
        if v.home_set:
            self._send_home()

    def _send_home(self) -> None:
        v = self.vehicle
        lat, lon = v.home_latlon
        self._mav.home_position_send(
            round(lat * 1e7), round(lon * 1e7), int(v.config.home_amsl_m * 1000), 0.0, 0.0, 0.0,
            [1.0, 0.0, 0.0, 0.0], 0.0, 0.0, 0.0,
        )  # fmt: skip

    def _send_events(self) -> None:
        events = self.vehicle.events
        while events:
            event = events.popleft()
            if event.kind == "statustext":
                self._mav.statustext_send(event.severity, event.text.encode()[:50])
            elif event.kind == "mission_item_reached":
                self._mav.mission_item_reached_send(event.value)
            elif event.kind == "mission_current":
                self._mav.mission_current_send(event.value, self.vehicle.mission_count)
            elif event.kind == "home":
                self._send_home()

    # ---- incoming messages ----------------------------------------------------------------------------

    def _handle(self, msg: Any) -> None:
        kind = msg.get_type()
        self.received.append(kind)
        handler = getattr(self, f"_on_{kind.lower()}", None)
        if handler is not None:
            handler(msg)

    def _on_heartbeat(self, msg: Any) -> None:
        if msg.type == mav.MAV_TYPE_GCS:
            self._last_gcs_heartbeat_s = time.monotonic()
            self._gcs_failsafe = False

    def _ack(self, command: int, result: int) -> None:
        self._mav.command_ack_send(command, result)

    def _on_param_request_list(self, msg: Any) -> None:
        for index in range(len(self._param_names)):
            self._send_param(index)

    def _on_param_request_read(self, msg: Any) -> None:
        if msg.param_index >= 0:
            if msg.param_index < len(self._param_names):
                self._send_param(msg.param_index)
            return
        name = msg.param_id.rstrip("\x00") if isinstance(msg.param_id, str) else msg.param_id.decode()
        if name in self.params:
            self._send_param(self._param_names.index(name))

    def _on_param_set(self, msg: Any) -> None:
        name = msg.param_id.rstrip("\x00") if isinstance(msg.param_id, str) else msg.param_id.decode()
        if name not in self.params:
            self._mav.statustext_send(mav.MAV_SEVERITY_WARNING, f"Unknown parameter {name}".encode()[:50])
            return
        self.params[name] = float(msg.param_value)
        if name == "WPNAV_SPEED":
            self.vehicle.speed_mps = max(0.5, msg.param_value / 100.0)
        self._send_param(self._param_names.index(name))

    def _send_param(self, index: int) -> None:
        name = self._param_names[index]
        self._mav.param_value_send(
            name.encode(), self.params[name], mav.MAV_PARAM_TYPE_REAL32, len(self._param_names), index
        )

    def _on_request_data_stream(self, msg: Any) -> None:
        if msg.start_stop and msg.req_message_rate > 0:
            self._requested_hz = float(min(msg.req_message_rate, 50))

    def _on_set_mode(self, msg: Any) -> None:
        name = MODE_NAMES.get(msg.custom_mode)
        if name is not None:
            self.vehicle.set_mode(name)

    def _on_mount_control(self, msg: Any) -> None:
        self.vehicle.set_gimbal(msg.input_a / 100.0)

    def _on_set_position_target_global_int(self, msg: Any) -> None:
        self.vehicle.goto(msg.lat_int / 1e7, msg.lon_int / 1e7, msg.alt)

    def _on_command_long(self, msg: Any) -> None:
        v, cmd = self.vehicle, msg.command
        ok, denied = mav.MAV_RESULT_ACCEPTED, mav.MAV_RESULT_DENIED
        if cmd == mav.MAV_CMD_COMPONENT_ARM_DISARM:
            force = int(msg.param2) == 21196
            failure = v.arm() if msg.param1 >= 0.5 else v.disarm(force=force)
            if failure:
                self._mav.statustext_send(mav.MAV_SEVERITY_CRITICAL, failure.encode()[:50])
            self._ack(cmd, denied if failure else ok)
        elif cmd == mav.MAV_CMD_NAV_TAKEOFF:
            failure = v.takeoff(msg.param7)
            self._ack(cmd, denied if failure else ok)
        elif cmd == mav.MAV_CMD_DO_SET_MODE:
            name = MODE_NAMES.get(int(msg.param2))
            self._ack(cmd, ok if name is not None and v.set_mode(name) else denied)
        elif cmd == mav.MAV_CMD_NAV_RETURN_TO_LAUNCH:
            self._ack(cmd, ok if v.set_mode("RTL") else denied)
        elif cmd == mav.MAV_CMD_NAV_LAND:
            self._ack(cmd, ok if v.set_mode("LAND") else denied)
        elif cmd == mav.MAV_CMD_MISSION_START:
            self._ack(cmd, ok if v.set_mode("AUTO") else denied)
        elif cmd == mav.MAV_CMD_DO_CHANGE_SPEED:
            if msg.param2 > 0:
                v.speed_mps = msg.param2
            self._ack(cmd, ok)
        elif cmd == mav.MAV_CMD_DO_MOUNT_CONTROL:
            v.set_gimbal(msg.param1)
            self._ack(cmd, ok)
        elif cmd == mav.MAV_CMD_REQUEST_AUTOPILOT_CAPABILITIES:
            self._send_version()
            self._ack(cmd, ok)
        elif cmd == mav.MAV_CMD_REQUEST_MESSAGE:
            if int(msg.param1) == mav.MAVLINK_MSG_ID_AUTOPILOT_VERSION:
                self._send_version()
            elif int(msg.param1) == mav.MAVLINK_MSG_ID_HOME_POSITION and v.home_set:
                self._send_home()
            self._ack(cmd, ok)
        elif cmd in (mav.MAV_CMD_SET_MESSAGE_INTERVAL, mav.MAV_CMD_GET_HOME_POSITION):
            if cmd == mav.MAV_CMD_GET_HOME_POSITION and v.home_set:
                self._send_home()
            self._ack(cmd, ok)
        else:
            self._ack(cmd, mav.MAV_RESULT_UNSUPPORTED)

    def _send_version(self) -> None:
        caps = (
            mav.MAV_PROTOCOL_CAPABILITY_MISSION_INT
            | mav.MAV_PROTOCOL_CAPABILITY_COMMAND_INT
            | mav.MAV_PROTOCOL_CAPABILITY_PARAM_FLOAT
            | mav.MAV_PROTOCOL_CAPABILITY_SET_POSITION_TARGET_GLOBAL_INT
            | mav.MAV_PROTOCOL_CAPABILITY_MAVLINK2
        )
        self._mav.autopilot_version_send(caps, SIM_VERSION, 0, 0, 0, bytes(8), bytes(8), bytes(8), 0, 0, 0)

    # ---- mission protocol -----------------------------------------------------------------------------

    def _on_mission_request_list(self, msg: Any) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        count = self.vehicle.mission_count if mission_type == mav.MAV_MISSION_TYPE_MISSION else 0
        self._mav.mission_count_send(msg.get_srcSystem(), msg.get_srcComponent(), count, mission_type)

    def _on_mission_request(self, msg: Any) -> None:
        self._send_mission_item(msg, as_int=False)

    def _on_mission_request_int(self, msg: Any) -> None:
        self._send_mission_item(msg, as_int=True)

    def _send_mission_item(self, msg: Any, *, as_int: bool) -> None:
        if self._upload is not None:
            return  # ArduPilot refuses downloads during an upload
        v = self.vehicle
        if not 0 <= msg.seq < v.mission_count:
            self._mav.mission_ack_send(
                msg.get_srcSystem(), msg.get_srcComponent(), mav.MAV_MISSION_INVALID_SEQUENCE
            )
            return
        item = v.mission_item(msg.seq)
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        current = 1 if msg.seq == v.mission_seq else 0
        params = (item.param1, item.param2, item.param3, item.param4)
        if as_int:
            self._mav.mission_item_int_send(
                sysid, compid, item.seq, item.frame, item.command, current, item.autocontinue, *params,
                round(item.lat * 1e7), round(item.lon * 1e7), item.alt_m,
            )  # fmt: skip
        else:
            self._mav.mission_item_send(
                sysid, compid, item.seq, item.frame, item.command, current, item.autocontinue, *params,
                item.lat, item.lon, item.alt_m,
            )  # fmt: skip

    def _on_mission_clear_all(self, msg: Any) -> None:
        self.vehicle.clear_mission()
        self._mav.mission_ack_send(msg.get_srcSystem(), msg.get_srcComponent(), mav.MAV_MISSION_ACCEPTED)

    def _on_mission_set_current(self, msg: Any) -> None:
        self.vehicle.set_mission_current(msg.seq)

    def _on_mission_count(self, msg: Any) -> None:
        mission_type = getattr(msg, "mission_type", 0)
        if mission_type != mav.MAV_MISSION_TYPE_MISSION:
            self._mav.mission_ack_send(
                msg.get_srcSystem(), msg.get_srcComponent(), mav.MAV_MISSION_UNSUPPORTED, mission_type
            )
            return
        if msg.count == 0:
            self.vehicle.clear_mission()
            self._mav.mission_ack_send(msg.get_srcSystem(), msg.get_srcComponent(), mav.MAV_MISSION_ACCEPTED)
            return
        self._upload = _Upload(msg.count, mission_type)
        self._request_next_item(time.monotonic())

    def _request_next_item(self, now: float) -> None:
        assert self._upload is not None
        self._upload.last_request_s = now
        # Like ArduPilot, request with MISSION_REQUEST; MISSION_ITEM and MISSION_ITEM_INT are both accepted.
        self._mav.mission_request_send(255, 0, len(self._upload.items))

    def _retry_upload(self, now: float) -> None:
        upload = self._upload
        if upload is None or now - upload.last_request_s < MISSION_RETRY_S:
            return
        upload.retries += 1
        if upload.retries > MISSION_RETRIES:
            self._upload = None
            self._mav.mission_ack_send(255, 0, mav.MAV_MISSION_OPERATION_CANCELLED)
            return
        self._request_next_item(now)

    def _on_mission_item(self, msg: Any) -> None:
        if msg.current == 2 and self._upload is None:  # DroneKit's simple_goto: a guided-mode target
            self.vehicle.goto(msg.x, msg.y, msg.z)
            self._mav.mission_ack_send(msg.get_srcSystem(), msg.get_srcComponent(), mav.MAV_MISSION_ACCEPTED)
            return
        self._store_item(msg, msg.x, msg.y)

    def _on_mission_item_int(self, msg: Any) -> None:
        self._store_item(msg, msg.x / 1e7, msg.y / 1e7)

    def _store_item(self, msg: Any, lat: float, lon: float) -> None:
        upload = self._upload
        if upload is None:
            return
        if msg.seq != len(upload.items):
            self._request_next_item(time.monotonic())
            return
        sysid, compid = msg.get_srcSystem(), msg.get_srcComponent()
        if not (-90.0 <= lat <= 90.0):
            self._upload = None
            self._mav.mission_ack_send(sysid, compid, mav.MAV_MISSION_INVALID_PARAM5_X)
            return
        if not (-180.0 <= lon <= 180.0):
            self._upload = None
            self._mav.mission_ack_send(sysid, compid, mav.MAV_MISSION_INVALID_PARAM6_Y)
            return
        upload.items.append(
            MissionItem(msg.seq, msg.frame, msg.command, msg.param1, msg.param2, msg.param3, msg.param4,
                        lat, lon, msg.z, msg.autocontinue)
        )  # fmt: skip
        upload.retries = 0
        if len(upload.items) < upload.count:
            self._request_next_item(time.monotonic())
            return
        self._upload = None
        self.vehicle.set_mission(upload.items)
        self._mav.mission_ack_send(sysid, compid, mav.MAV_MISSION_ACCEPTED)
