"""`tenken fly survey|corridor|orbit`: plan a mission, check it, and fly it over a MAVLink link."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path

import typer

from drone.missions import (
    CameraFov,
    Mission,
    MissionLimits,
    corridor,
    line_from_geojson,
    orbit,
    polygon_from_geojson,
    survey_grid,
    validate_mission,
)
from tenken.errors import ConfigError, MissionError
from tenken.settings import DRONE_CAMERA_HFOV_DEG, get_settings

log = logging.getLogger(__name__)

fly_app = typer.Typer(
    help=(
        "Fly a mission with an ArduCopter vehicle (real, SITL on tcp:127.0.0.1:5760, or `tenken sim`).\n\n"
        "Waits until the vehicle is armable, checks the mission, arms, takes off, flies it in AUTO and "
        "lands at home. Link loss, low battery or Ctrl-C command RTL. Exit codes: 0 completed, 2 bad "
        "input or vehicle refused before take-off, 3 link lost, 4 low battery, 5 aborted, 130 interrupted."
    ),
    no_args_is_help=True,
)

CONNECT = typer.Option(
    "tcp:127.0.0.1:5760", "--connect", help="MAVLink connection string (DroneKit/pymavlink)."
)
ALTITUDE = typer.Option(40.0, "--altitude-m", help="Flight altitude above home, metres.")
SPEED = typer.Option(8.0, "--speed-mps", help="Ground speed along the mission, m/s.")
HFOV = typer.Option(DRONE_CAMERA_HFOV_DEG, "--hfov-deg", help="Camera horizontal field of view.")
VFOV = typer.Option(53.1, "--vfov-deg", help="Camera vertical field of view.")
DRY_RUN = typer.Option(False, "--dry-run", help="Plan and check only; print the route as GeoJSON.")
CONNECT_TIMEOUT = typer.Option(60.0, "--connect-timeout-s", help="Give up connecting after this long.")
ARMABLE_TIMEOUT = typer.Option(
    120.0, "--armable-timeout-s", help="Give up waiting for GPS/EKF after this long."
)
LINK_TIMEOUT = typer.Option(
    None, "--link-timeout-s", help="No heartbeat this long = link lost (default: setting)."
)
LOW_BATTERY = typer.Option(None, "--low-battery-pct", help="RTL below this battery level (default: setting).")
RELINK_WAIT = typer.Option(10.0, "--relink-wait-s", help="After link loss, keep sending RTL this long.")
TELEMETRY_URL = typer.Option(
    None,
    "--telemetry-url",
    help="Command-post API (tenken serve) to post the drone's state to, e.g. http://host:8600.",
)
TELEMETRY_TOKEN = typer.Option(
    None, "--telemetry-token", envvar="TENKEN_TELEMETRY_TOKEN", help="Operator API token for --telemetry-url."
)


@dataclass(frozen=True)
class FlyArgs:
    """How to reach the vehicle and when to give up: the options every `tenken fly` command shares."""

    connect: str
    dry_run: bool = False
    connect_timeout_s: float = 60.0
    armable_timeout_s: float = 120.0
    link_timeout_s: float | None = None
    low_battery_pct: float | None = None
    relink_wait_s: float = 10.0
    telemetry_url: str | None = None
    telemetry_token: str | None = None


def _read_geojson(path: Path) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read {path}: {exc.strerror}") from None


def _limits() -> MissionLimits:
    s = get_settings()
    return MissionLimits(
        ceiling_m=s.drone_ceiling_m,
        max_waypoints=s.drone_max_waypoints,
        endurance_s=s.drone_endurance_s,
        reserve_pct=s.drone_reserve_pct,
    )


def route_geojson(mission: Mission) -> dict[str, object]:
    """The planned route as a GeoJSON Feature ([lon, lat] order), for --dry-run and map previews."""
    return {
        "type": "Feature",
        "geometry": {"type": "LineString", "coordinates": [[w.lon, w.lat] for w in mission.waypoints]},
        "properties": {
            "kind": mission.kind, "altitude_m": mission.altitude_m, "speed_mps": mission.speed_mps,
            "waypoints": len(mission.waypoints), "length_m": round(mission.path_length_m, 1),
            "gimbal_pitch_deg": round(mission.gimbal_pitch_deg, 1),
        },
    }  # fmt: skip


def _fly(mission: Mission, args: FlyArgs) -> None:
    limits = _limits()
    estimated_s = validate_mission(mission, limits)  # before any connection: bad input never arms anything
    if args.dry_run:
        typer.echo(json.dumps(route_geojson(mission)))
        typer.echo(
            f"{mission.kind}: {len(mission.waypoints)} waypoints, {mission.path_length_m:.0f} m, "
            f"about {estimated_s / 60:.1f} min (without the legs from and to home)",
            err=True,
        )
        return
    # Imported here so `--dry-run` and `--help` work without DroneKit installed.
    from drone.flight import FlightOptions, FlightProgress, MissionFlight
    from drone.link import VehicleLink

    settings = get_settings()
    if args.telemetry_url and not args.telemetry_token:
        raise ConfigError(
            "--telemetry-url needs --telemetry-token (or TENKEN_TELEMETRY_TOKEN): an operator token"
        )
    options = FlightOptions(
        link_timeout_s=args.link_timeout_s
        if args.link_timeout_s is not None
        else settings.drone_link_timeout_s,
        low_battery_pct=args.low_battery_pct
        if args.low_battery_pct is not None
        else settings.drone_low_battery_pct,
        armable_timeout_s=args.armable_timeout_s,
        relink_wait_s=args.relink_wait_s,
    )

    def show(p: FlightProgress) -> None:
        s = p.state
        where = (
            f"{s.lat:.6f},{s.lon:.6f} alt {s.alt_m:.1f} m" if s.has_position and s.alt_m is not None else "-"
        )
        battery = f"{s.battery_pct:.0f} %" if s.battery_pct is not None else "?"
        typer.echo(f"[{p.phase}] item {p.item}/{p.total} {s.mode} {where} battery {battery}")

    typer.echo(f"connecting to {args.connect} ...")
    link = VehicleLink.connect(args.connect, timeout_s=args.connect_timeout_s)
    bridge = None
    try:
        if args.telemetry_url and args.telemetry_token:
            from drone.telemetry import TelemetryBridge
            from drone.telemetry_http import api_publisher

            publish = api_publisher(args.telemetry_url, args.telemetry_token)
            bridge = TelemetryBridge(link.snapshot, publish, publish_hz=2.0).start()
        report = MissionFlight(link, mission, limits, options, progress=show).run()
    finally:
        if bridge is not None:
            bridge.stop()
        link.close()
    typer.echo(f"{report.outcome.name}: {report.message} (items {report.items_reached}/{report.total_items}, "
               f"{report.flown_s:.0f} s)")  # fmt: skip
    if report.outcome.exit_code:
        raise typer.Exit(report.outcome.exit_code)


@fly_app.command("survey")
def fly_survey(
    area: Path = typer.Option(..., "--area", help="GeoJSON file with the survey Polygon."),
    connect: str = CONNECT,
    altitude_m: float = ALTITUDE,
    speed_mps: float = SPEED,
    side_overlap: float = typer.Option(
        0.7, "--side-overlap", help="Overlap between neighbouring passes (0-0.95)."
    ),
    front_overlap: float = typer.Option(0.8, "--front-overlap", help="Overlap between frames along a pass."),
    lines_deg: float = typer.Option(
        None, "--lines-deg", help="Pass direction, degrees from north (default: long axis)."
    ),
    hfov_deg: float = HFOV,
    vfov_deg: float = VFOV,
    dry_run: bool = DRY_RUN,
    connect_timeout_s: float = CONNECT_TIMEOUT,
    armable_timeout_s: float = ARMABLE_TIMEOUT,
    link_timeout_s: float = LINK_TIMEOUT,
    low_battery_pct: float = LOW_BATTERY,
    relink_wait_s: float = RELINK_WAIT,
    telemetry_url: str = TELEMETRY_URL,
    telemetry_token: str = TELEMETRY_TOKEN,
) -> None:
    """Lawnmower survey over a polygon, camera straight down."""
    ring = polygon_from_geojson(_read_geojson(area))
    mission = survey_grid(
        ring, altitude_m=altitude_m, camera=CameraFov(hfov_deg, vfov_deg), side_overlap=side_overlap,
        front_overlap=front_overlap, speed_mps=speed_mps, lines_deg=lines_deg,
    )  # fmt: skip
    args = FlyArgs(connect, dry_run, connect_timeout_s, armable_timeout_s, link_timeout_s, low_battery_pct,
                   relink_wait_s, telemetry_url, telemetry_token)  # fmt: skip
    _fly(mission, args)


@fly_app.command("corridor")
def fly_corridor(
    line: Path = typer.Option(..., "--line", help="GeoJSON file with the road LineString."),
    connect: str = CONNECT,
    altitude_m: float = ALTITUDE,
    speed_mps: float = SPEED,
    width_m: float = typer.Option(
        0.0, "--width-m", help="Width of ground to see along the line (0 = one pass)."
    ),
    side_overlap: float = typer.Option(0.6, "--side-overlap", help="Overlap between parallel passes."),
    hfov_deg: float = HFOV,
    vfov_deg: float = VFOV,
    dry_run: bool = DRY_RUN,
    connect_timeout_s: float = CONNECT_TIMEOUT,
    armable_timeout_s: float = ARMABLE_TIMEOUT,
    link_timeout_s: float = LINK_TIMEOUT,
    low_battery_pct: float = LOW_BATTERY,
    relink_wait_s: float = RELINK_WAIT,
    telemetry_url: str = TELEMETRY_URL,
    telemetry_token: str = TELEMETRY_TOKEN,
) -> None:
    """Fly along a road or river, in enough parallel passes to cover --width-m."""
    points = line_from_geojson(_read_geojson(line))
    mission = corridor(
        points, altitude_m=altitude_m, camera=CameraFov(hfov_deg, vfov_deg), width_m=width_m,
        side_overlap=side_overlap, speed_mps=speed_mps,
    )  # fmt: skip
    args = FlyArgs(connect, dry_run, connect_timeout_s, armable_timeout_s, link_timeout_s, low_battery_pct,
                   relink_wait_s, telemetry_url, telemetry_token)  # fmt: skip
    _fly(mission, args)


def _parse_latlon(text: str) -> tuple[float, float]:
    try:
        lat_s, lon_s = text.split(",")
        lat, lon = float(lat_s), float(lon_s)
    except ValueError:
        raise MissionError(f"--center must be 'lat,lon' in degrees, got {text!r}") from None
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise MissionError(f"--center {text!r} is not a latitude,longitude pair")
    return lat, lon


@fly_app.command("orbit")
def fly_orbit(
    center: str = typer.Option(..., "--center", help="Point to circle, 'lat,lon'."),
    radius_m: float = typer.Option(50.0, "--radius-m", help="Orbit radius, metres."),
    connect: str = CONNECT,
    altitude_m: float = ALTITUDE,
    speed_mps: float = typer.Option(5.0, "--speed-mps", help="Ground speed, m/s."),
    points: int = typer.Option(16, "--points", help="Waypoints per turn."),
    turns: float = typer.Option(1.0, "--turns", help="Number of turns."),
    counter_clockwise: bool = typer.Option(False, "--ccw", help="Fly counter-clockwise."),
    dry_run: bool = DRY_RUN,
    connect_timeout_s: float = CONNECT_TIMEOUT,
    armable_timeout_s: float = ARMABLE_TIMEOUT,
    link_timeout_s: float = LINK_TIMEOUT,
    low_battery_pct: float = LOW_BATTERY,
    relink_wait_s: float = RELINK_WAIT,
    telemetry_url: str = TELEMETRY_URL,
    telemetry_token: str = TELEMETRY_TOKEN,
) -> None:
    """Circle a point with the camera on it (a fire seen from every side)."""
    mission = orbit(
        _parse_latlon(center), radius_m=radius_m, altitude_m=altitude_m, points=points, turns=turns,
        clockwise=not counter_clockwise, speed_mps=speed_mps,
    )  # fmt: skip
    args = FlyArgs(connect, dry_run, connect_timeout_s, armable_timeout_s, link_timeout_s, low_battery_pct,
                   relink_wait_s, telemetry_url, telemetry_token)  # fmt: skip
    _fly(mission, args)


def register(app: typer.Typer) -> None:
    app.add_typer(fly_app, name="fly")
