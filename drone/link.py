"""The vehicle link: one interface over DroneKit for connecting, arming, modes, missions and state."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import dronekit
from dronekit import CommandInt, VehicleMode

from drone.mission_items import same_items
from drone.state import VehicleState
from tenken.errors import VehicleError

log = logging.getLogger(__name__)

# DroneKit raises these from its own threads and calls; all mean "the link or the vehicle failed us".
_LINK_ERRORS = (dronekit.APIException, dronekit.TimeoutError, OSError, TimeoutError)


def _wait_until(condition: Callable[[], bool], timeout_s: float, interval_s: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout_s
    while True:
        if condition():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval_s)


def _connect_with_deadline(url: str, timeout_s: float) -> dronekit.Vehicle:
    """dronekit.connect can wait forever for a vehicle that sends heartbeats but no parameters;
    run it in a thread so the caller always gets an answer within `timeout_s`."""
    result: dict[str, Any] = {}
    abandoned = threading.Event()

    def attempt() -> None:
        try:
            vehicle = dronekit.connect(
                url, wait_ready=True, timeout=timeout_s, heartbeat_timeout=timeout_s,
                still_waiting_callback=lambda missing: log.info("waiting for %s", sorted(missing)),
            )  # fmt: skip
        except Exception as exc:  # any failure of connect is reported to the caller below
            result["error"] = exc
            return
        if abandoned.is_set():
            vehicle.close()
        else:
            result["vehicle"] = vehicle

    thread = threading.Thread(target=attempt, name="tenken-connect", daemon=True)
    thread.start()
    thread.join(timeout_s + 1.0)
    if "vehicle" in result:
        vehicle: dronekit.Vehicle = result["vehicle"]
        return vehicle
    abandoned.set()
    reason = result.get("error") or f"no complete answer within {timeout_s:g} s"
    raise VehicleError(f"cannot connect to {url}: {reason}")


class VehicleLink:
    """A connected vehicle (ArduCopter, SITL or `tenken sim`) behind a small, blocking, typed interface.

    Every wait has a timeout and fails with a VehicleError naming what did not happen.
    """

    def __init__(self, vehicle: dronekit.Vehicle, url: str, *, link_timeout_s: float = 5.0) -> None:
        self.vehicle = vehicle
        self.url = url
        self.link_timeout_s = link_timeout_s  # waits give up early when the vehicle has gone silent
        self.status_texts: deque[str] = deque(maxlen=20)
        # DroneKit closes the connection after `heartbeat_timeout` s of silence; the flight script handles
        # link loss itself and must keep sending RTL into a silent link, so switch that off once connected.
        vehicle._heartbeat_error = 0

        def on_text(_: Any, __: str, msg: Any) -> None:
            text = msg.text if isinstance(msg.text, str) else msg.text.decode(errors="replace")
            self.status_texts.append(text.rstrip("\x00"))

        vehicle.add_message_listener("STATUSTEXT", on_text)

    @classmethod
    def connect(cls, url: str, *, timeout_s: float = 60.0) -> VehicleLink:
        """Connect and download parameters and the first state (DroneKit's wait_ready)."""
        return cls(_connect_with_deadline(url, timeout_s), url)

    def close(self) -> None:
        try:
            self.vehicle.close()
        except _LINK_ERRORS as exc:
            log.debug("closing the link: %s", exc)

    # ---- state ----------------------------------------------------------------------------------------

    @property
    def seconds_since_heartbeat(self) -> float:
        age = self.vehicle.last_heartbeat
        return math.inf if age is None else float(age)

    @property
    def mode(self) -> str:
        mode = self.vehicle.mode
        return mode.name if mode is not None else "UNKNOWN"

    @property
    def armed(self) -> bool:
        return bool(self.vehicle.armed)

    @property
    def mission_next(self) -> int:
        """Sequence number of the mission item being flown (MISSION_CURRENT; 0 is home)."""
        return int(self.vehicle.commands.next)

    @property
    def home(self) -> tuple[float, float] | None:
        home = self.vehicle.home_location
        if home is None or home.lat is None or home.lon is None or (home.lat == 0 and home.lon == 0):
            return None
        return float(home.lat), float(home.lon)

    def snapshot(self) -> VehicleState:
        """The latest state DroneKit has received, stamped with this machine's clock."""
        v = self.vehicle
        loc = v.location.global_relative_frame
        has_fix = loc.lat is not None and loc.lon is not None and not (loc.lat == 0 and loc.lon == 0)
        att = v.attitude
        battery = v.battery
        return VehicleState(
            timestamp_s=time.time(),
            lat=float(loc.lat) if has_fix and loc.lat is not None else None,
            lon=float(loc.lon) if has_fix and loc.lon is not None else None,
            alt_m=float(loc.alt) if has_fix and loc.alt is not None else None,
            heading_deg=float(v.heading) if v.heading is not None else None,
            pitch_deg=math.degrees(att.pitch) if att.pitch is not None else None,
            roll_deg=math.degrees(att.roll) if att.roll is not None else None,
            gimbal_pitch_deg=v.gimbal.pitch,
            battery_voltage_v=float(battery.voltage) if battery and battery.voltage is not None else None,
            # Voltage-only battery monitors report -1 % ("unknown").
            battery_pct=float(battery.level)
            if battery and battery.level is not None and battery.level >= 0
            else None,
            mode=self.mode,
            armed=self.armed,
            groundspeed_mps=float(v.groundspeed) if v.groundspeed is not None else None,
        )

    def armable_problems(self, *, min_satellites: int = 6, min_battery_pct: float = 0.0) -> list[str]:
        """Why the vehicle is not ready to arm; empty when it is. Checks more than DroneKit's is_armable:
        a recent heartbeat, a 3D fix with enough satellites, EKF, a real position, home and battery."""
        v = self.vehicle
        problems = []
        if self.seconds_since_heartbeat > 3.0:
            problems.append(f"no heartbeat for {self.seconds_since_heartbeat:.0f} s")
        if self.mode in ("INITIALISING", "UNKNOWN"):
            problems.append("autopilot still initialising")
        gps = v.gps_0
        if gps.fix_type is None or gps.fix_type < 3:
            problems.append(f"GPS fix type {gps.fix_type} (need 3D fix)")
        elif (gps.satellites_visible or 0) < min_satellites:
            problems.append(f"{gps.satellites_visible} satellites (need {min_satellites})")
        if not v.is_armable or not v.ekf_ok:
            problems.append("EKF has no position yet")
        state = self.snapshot()
        if not state.has_position:
            problems.append("no position")
        if self.home is None:
            problems.append("no home position")
        if state.battery_pct is None and state.battery_voltage_v is None:
            problems.append("no battery reading")
        elif state.battery_pct is not None and state.battery_pct < min_battery_pct:
            problems.append(f"battery {state.battery_pct:.0f} % (need {min_battery_pct:g} %)")
        return problems

    def refresh_home(self, timeout_s: float = 10.0) -> tuple[float, float] | None:
        """Download the mission to learn home (item 0), as ArduPilot reports it."""
        try:
            self.vehicle.commands.download()
            self.vehicle.commands.wait_ready(timeout=timeout_s)
        except _LINK_ERRORS as exc:
            raise VehicleError(f"could not download the mission to read home: {exc}") from None
        return self.home

    def wait_armable(self, timeout_s: float = 120.0, *, min_satellites: int = 6,
                     min_battery_pct: float = 0.0) -> None:  # fmt: skip
        """Block until `armable_problems()` is empty (polling home from the vehicle), or raise."""
        deadline = time.monotonic() + timeout_s
        problems: list[str] = []
        last_home_poll = 0.0
        while time.monotonic() < deadline:
            if (
                self.home is None
                and time.monotonic() - last_home_poll > 2.0
                and self.seconds_since_heartbeat < 3
            ):
                last_home_poll = time.monotonic()
                self.refresh_home(timeout_s=max(1.0, min(10.0, deadline - time.monotonic())))
            problems = self.armable_problems(min_satellites=min_satellites, min_battery_pct=min_battery_pct)
            if not problems:
                return
            time.sleep(0.2)
        raise VehicleError(f"vehicle not armable after {timeout_s:g} s: {'; '.join(problems)}")

    # ---- commands -------------------------------------------------------------------------------------

    def request_mode(self, name: str) -> None:
        """Send a mode change without waiting (what failsafes do when the link may be gone)."""
        try:
            self.vehicle.mode = VehicleMode(name)
        except (*_LINK_ERRORS, KeyError, TypeError) as exc:
            log.warning("could not send mode %s: %s", name, exc)

    def set_mode(self, name: str, timeout_s: float = 10.0) -> None:
        """Change mode and wait until the vehicle reports it, re-sending every second."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._ensure_link()
            self.request_mode(name)
            if _wait_until(lambda: self.mode == name, min(1.0, max(deadline - time.monotonic(), 0.0))):
                return
        raise VehicleError(f"vehicle did not enter {name} within {timeout_s:g} s{self._last_text()}")

    def _ensure_link(self) -> None:
        if self.seconds_since_heartbeat > self.link_timeout_s:
            raise VehicleError(f"link lost: no heartbeat for {self.seconds_since_heartbeat:.1f} s")

    def _last_text(self) -> str:
        return f" (autopilot: {self.status_texts[-1]})" if self.status_texts else ""

    def arm(self, timeout_s: float = 15.0) -> None:
        """Arm in GUIDED, re-sending the command every 2 s until the heartbeat says armed."""
        if self.mode != "GUIDED":
            self.set_mode("GUIDED", timeout_s=min(timeout_s, 10.0))
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            self._ensure_link()
            self.vehicle.armed = True
            if _wait_until(lambda: self.armed, min(2.0, max(deadline - time.monotonic(), 0.0))):
                return
        raise VehicleError(f"vehicle refused to arm within {timeout_s:g} s{self._last_text()}")

    def takeoff(
        self, altitude_m: float, timeout_s: float = 60.0, *, check: Callable[[], None] | None = None
    ) -> None:
        """Take off in GUIDED and wait until 95 % of `altitude_m` is reached.

        `check` runs at every poll while climbing; whatever it raises (a failsafe) ends the wait.
        """
        self.vehicle.simple_takeoff(altitude_m)

        def climbed() -> bool:
            self._ensure_link()
            if check is not None:
                check()
            if not self.armed:
                raise VehicleError(f"vehicle disarmed during take-off{self._last_text()}")
            alt = self.vehicle.location.global_relative_frame.alt
            return alt is not None and alt >= 0.95 * altitude_m

        if not _wait_until(climbed, timeout_s):
            raise VehicleError(f"vehicle did not reach {altitude_m:g} m within {timeout_s:g} s")

    def set_gimbal_pitch(self, pitch_deg: float) -> None:
        self.vehicle.gimbal.rotate(pitch_deg, 0, 0)

    def download_mission(self, timeout_s: float = 30.0) -> list[Any]:
        """The mission items the vehicle holds, without the home slot."""
        cmds = self.vehicle.commands
        try:
            cmds.download()
            cmds.wait_ready(timeout=timeout_s)
        except _LINK_ERRORS as exc:
            raise VehicleError(f"mission download failed: {exc}") from None
        return [cmds[i] for i in range(len(cmds))]

    def upload_mission(self, items: Sequence[CommandInt], timeout_s: float = 30.0) -> None:
        """Replace the vehicle's mission with `items`, then download it again to check it arrived whole."""
        cmds = self.vehicle.commands
        self.download_mission(timeout_s)  # DroneKit keeps the downloaded home as item 0
        cmds.clear()
        for item in items:
            cmds.add(item)
        try:
            cmds.upload(timeout=timeout_s)
        except _LINK_ERRORS as exc:
            raise VehicleError(f"mission upload failed: {exc!r}") from None
        held = self.download_mission(timeout_s)
        if not same_items(items, held):
            raise VehicleError(
                f"mission check failed: uploaded {len(items)} items, vehicle holds {len(held)} different ones"
                f"{self._last_text()}"
            )
        log.info("mission of %d items uploaded and verified", len(items))
