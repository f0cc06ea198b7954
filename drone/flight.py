"""Flying a planned mission: pre-flight checks, arm, take off, AUTO, progress, and the failsafes.

On link loss, low battery, a stop request or Ctrl-C the script commands RTL (LAND when RTL is refused
or the battery is critical) and ends with a `FlightOutcome` whose value is the process exit code.
Only standard ArduCopter behaviour is used, so the same code flies `tenken sim` and ArduPilot SITL.
"""

from __future__ import annotations

import enum
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from drone.link import VehicleLink
from drone.mission_items import mission_commands
from drone.missions import Mission, MissionLimits, validate_mission
from drone.state import VehicleState
from tenken.errors import VehicleError

log = logging.getLogger(__name__)


class FlightOutcome(enum.Enum):
    """How a flight ended; the value is the CLI exit code (2 is kept for bad input)."""

    COMPLETED = 0
    LINK_LOST = 3
    LOW_BATTERY = 4
    ABORTED = 5  # the vehicle or a pilot left the mission (mode change, disarm in the air, timeout)
    INTERRUPTED = 130  # Ctrl-C or a stop request

    @property
    def exit_code(self) -> int:
        return int(self.value)


@dataclass(frozen=True)
class FlightOptions:
    link_timeout_s: float = 5.0  # no heartbeat for this long = link lost
    relink_wait_s: float = 10.0  # after link loss, how long to keep sending RTL hoping to confirm it
    low_battery_pct: float = 25.0  # RTL below this
    critical_battery_pct: float = 12.0  # LAND below this (too little left to fly home)
    armable_timeout_s: float = 120.0
    takeoff_timeout_s: float = 120.0
    mode_timeout_s: float = 10.0
    mission_timeout_s: float | None = None  # default: 2x the estimate + 2 min
    landing_timeout_s: float = 600.0
    wait_landed: bool = True  # after a battery RTL, follow the vehicle until it has landed
    poll_s: float = 0.1


@dataclass(frozen=True)
class FlightProgress:
    phase: str  # preflight, takeoff, mission, returning, landed
    item: int  # mission item being flown (1-based, home is 0)
    total: int
    state: VehicleState


@dataclass(frozen=True)
class FlightReport:
    outcome: FlightOutcome
    message: str
    items_reached: int
    total_items: int
    estimated_s: float
    flown_s: float
    final_mode: str
    armed: bool


ProgressCallback = Callable[[FlightProgress], None]


class _Abort(Exception):
    def __init__(self, outcome: FlightOutcome, reason: str, *, command_home: bool = True) -> None:
        super().__init__(reason)
        self.outcome = outcome
        self.reason = reason
        self.command_home = command_home  # False: someone else has the vehicle; do not fight them


class MissionFlight:
    """One flight of one mission over one link. `run()` returns a report; MissionError/VehicleError before
    arming mean the vehicle never left the ground."""

    def __init__(
        self,
        link: VehicleLink,
        mission: Mission,
        limits: MissionLimits,
        options: FlightOptions | None = None,
        *,
        progress: ProgressCallback | None = None,
        stop: threading.Event | None = None,
    ) -> None:
        self.link = link
        self.mission = mission
        self.limits = limits
        self.options = options or FlightOptions()
        self.progress = progress
        self.stop = stop or threading.Event()
        self.total_items = 0
        self.max_item = 0
        self.estimated_s = 0.0
        self._started = time.monotonic()

    # ---- the flight -----------------------------------------------------------------------------------

    def run(self) -> FlightReport:
        self._started = time.monotonic()
        link, opts = self.link, self.options
        link.link_timeout_s = opts.link_timeout_s
        link.wait_armable(opts.armable_timeout_s, min_battery_pct=opts.low_battery_pct)
        state = link.snapshot()
        # Without a charge estimate (voltage-only monitor) plan on a full battery; the autopilot's
        # BATT_LOW_VOLT failsafe then has to guard the flight.
        battery_pct = 100.0 if state.battery_pct is None else state.battery_pct
        if state.battery_pct is None:
            log.warning("the vehicle reports no battery percentage; the battery check assumes a full one")
        self.estimated_s = validate_mission(
            self.mission, self.limits, home=link.home, battery_pct=battery_pct
        )
        items = mission_commands(self.mission)
        self.total_items = len(items)
        link.upload_mission(items)
        link.vehicle.commands.next = 1
        self._report("preflight", state)
        try:
            link.arm()
            self._report("takeoff", link.snapshot())
            link.takeoff(
                self.mission.altitude_m,
                timeout_s=opts.takeoff_timeout_s,
                check=lambda: self._check_failsafes(link.snapshot()),
            )
            link.set_mode("AUTO", timeout_s=opts.mode_timeout_s)
            self._watch_mission()
        except KeyboardInterrupt:
            return self._fail_safe(FlightOutcome.INTERRUPTED, "interrupted (Ctrl-C)")
        except _Abort as abort:
            if not abort.command_home:
                return self._follow(abort.outcome, abort.reason)
            return self._fail_safe(abort.outcome, abort.reason)
        except VehicleError as exc:
            if self._link_lost():
                return self._fail_safe(FlightOutcome.LINK_LOST, f"link lost ({exc})")
            if link.armed:
                return self._fail_safe(FlightOutcome.ABORTED, str(exc))
            raise
        return self._finish(FlightOutcome.COMPLETED, "mission complete, landed and disarmed")

    def _report(self, phase: str, state: VehicleState) -> None:
        if self.progress is not None:
            self.progress(FlightProgress(phase, self.max_item, self.total_items, state))

    def _link_lost(self) -> bool:
        return self.link.seconds_since_heartbeat > self.options.link_timeout_s

    def _check_failsafes(self, state: VehicleState) -> None:
        opts = self.options
        if self.stop.is_set():
            raise _Abort(FlightOutcome.INTERRUPTED, "stop requested")
        age = self.link.seconds_since_heartbeat
        if age > opts.link_timeout_s:
            raise _Abort(FlightOutcome.LINK_LOST, f"link lost: no heartbeat for {age:.1f} s")
        if state.battery_pct is not None and state.battery_pct < opts.low_battery_pct:
            raise _Abort(FlightOutcome.LOW_BATTERY, f"battery low: {state.battery_pct:.0f} %")

    def _watch_mission(self) -> None:
        opts = self.options
        timeout_s = opts.mission_timeout_s or 2.0 * self.estimated_s + 120.0
        deadline = time.monotonic() + timeout_s
        last_item = -1
        while True:
            state = self.link.snapshot()
            self._check_failsafes(state)
            self.max_item = max(self.max_item, self.link.mission_next)
            if not state.armed:
                if self.max_item >= self.total_items:
                    return
                raise _Abort(FlightOutcome.ABORTED, f"vehicle disarmed at mission item {self.max_item}")
            if state.mode != "AUTO":
                # A pilot's mode switch or the autopilot's own failsafe (battery, fence, GCS) wins:
                # commanding RTL now could override a LAND chosen for a dying battery or a pilot's hold.
                low = state.battery_pct is not None and state.battery_pct < opts.low_battery_pct
                raise _Abort(
                    FlightOutcome.LOW_BATTERY if low else FlightOutcome.ABORTED,
                    f"vehicle left AUTO (now {state.mode}): pilot or autopilot took over",
                    command_home=False,
                )
            if time.monotonic() > deadline:
                raise _Abort(FlightOutcome.ABORTED, f"mission not finished after {timeout_s:.0f} s")
            if self.max_item != last_item:
                last_item = self.max_item
                phase = "returning" if self.max_item >= self.total_items else "mission"
                self._report(phase, state)
            time.sleep(opts.poll_s)

    # ---- failsafes --------------------------------------------------------------------------------------

    def _fail_safe(self, outcome: FlightOutcome, reason: str) -> FlightReport:
        """Bring the vehicle back (RTL, or LAND) and report. A second Ctrl-C here ends at once."""
        log.warning("%s: commanding the vehicle home", reason)
        link, opts = self.link, self.options
        if not link.armed and not self._link_lost():
            return self._finish(outcome, f"{reason}; vehicle already on the ground")
        try:
            if outcome is FlightOutcome.LINK_LOST or self._link_lost():
                return self._fail_safe_blind(reason)
            state = link.snapshot()
            critical = state.battery_pct is not None and state.battery_pct < opts.critical_battery_pct
            action = self._command_home(land=critical)
            if outcome in (FlightOutcome.LOW_BATTERY, FlightOutcome.ABORTED) and opts.wait_landed:
                self._wait_landed()
                return self._finish(outcome, f"{reason}; {action} commanded, landed")
            return self._finish(outcome, f"{reason}; {action} commanded and confirmed")
        except KeyboardInterrupt:
            return self._finish(
                FlightOutcome.INTERRUPTED, f"{reason}; interrupted again while commanding RTL"
            )
        except VehicleError as exc:
            return self._finish(outcome, f"{reason}; {exc}")

    def _follow(self, outcome: FlightOutcome, reason: str) -> FlightReport:
        """Someone else flies the vehicle now: report, and for an autopilot return wait for the landing."""
        log.warning("%s: not commanding anything", reason)
        mode = self.link.mode
        if mode in ("RTL", "LAND", "SMART_RTL") and self.options.wait_landed:
            try:
                self._wait_landed()
                return self._finish(outcome, f"{reason}; it returned and landed")
            except (VehicleError, KeyboardInterrupt) as exc:
                return self._finish(outcome, f"{reason}; {exc or 'interrupted'}")
        return self._finish(outcome, f"{reason}; the script stopped, the vehicle stays in {mode}")

    def _command_home(self, *, land: bool) -> str:
        """RTL, falling back to LAND when the vehicle refuses RTL (no home, no position)."""
        link, timeout = self.link, self.options.mode_timeout_s
        if not land:
            try:
                link.set_mode("RTL", timeout_s=timeout)
                return "RTL"
            except VehicleError as exc:
                log.warning("RTL refused (%s); landing where it is", exc)
        link.set_mode("LAND", timeout_s=timeout)
        return "LAND"

    def _fail_safe_blind(self, reason: str) -> FlightReport:
        """The downlink is gone: keep sending RTL (the uplink may still work) and confirm it if the link
        comes back within `relink_wait_s`. Either way the autopilot's own GCS failsafe is the backstop."""
        link, opts = self.link, self.options
        deadline = time.monotonic() + opts.relink_wait_s
        while time.monotonic() < deadline:
            link.request_mode("RTL")
            if link.seconds_since_heartbeat < 2.0 and link.mode in ("RTL", "LAND"):
                return self._finish(
                    FlightOutcome.LINK_LOST, f"{reason}; RTL commanded and confirmed after link returned"
                )
            time.sleep(0.5)
        return self._finish(
            FlightOutcome.LINK_LOST,
            f"{reason}; RTL commanded but not confirmed (no link for {opts.relink_wait_s:g} s more); "
            "the autopilot's GCS failsafe must bring it home",
        )

    def _wait_landed(self) -> None:
        opts = self.options
        deadline = time.monotonic() + opts.landing_timeout_s
        while self.link.armed:
            if self.link.seconds_since_heartbeat > opts.link_timeout_s:
                raise VehicleError("link lost while returning; the vehicle continues its RTL on its own")
            if time.monotonic() > deadline:
                raise VehicleError(f"still airborne after {opts.landing_timeout_s:g} s")
            time.sleep(opts.poll_s)

    def _finish(self, outcome: FlightOutcome, message: str) -> FlightReport:
        state = self.link.snapshot()
        if not state.armed:
            self._report("landed", state)
        return FlightReport(
            outcome, message, self.max_item, self.total_items, self.estimated_s,
            time.monotonic() - self._started, state.mode, state.armed,
        )  # fmt: skip
