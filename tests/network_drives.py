"""Two synthetic surveys of one street, stored as completed jobs: different start, direction and GPS noise.

The street R1 (450 m, bending 45°, kilometre post 1000 m at its start) is crossed at 200 m by R2.
Drive A goes along R1 from 15 m to 435 m; drive B comes back from 440 m to its start and goes on
60 m beyond it, off the network. Each drive's GPS wanders (a slow random walk, different seeds)
and its defects are placed by that same GPS, as georeferencing does. Between the drives some
defects were repaired, some are new, some grew.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from datetime import UTC, datetime

from tenken.findings import Defect, Pose
from tenken.geo import offset_latlon
from tenken.network.units import NetworkRoute
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from vision.road.grading import severity_of
from vision.road.survey_options import SurveyOptions
from vision.road.synthetic import CurvedRoute

STREET = CurvedRoute(35.61, 140.11, 45.0, turn_deg_per_m=0.1)
STREET_M = 450.0
STREET_START_M = 1000.0
CROSSING_AT_M = 200.0
FRAME_SIZE = (320, 240)


def _centre(station_m: float) -> tuple[float, float, float]:
    """(lat, lon, heading) on R1's centreline; before its start the street runs on straight."""
    if station_m >= 0:
        return STREET.pose(station_m)
    h = math.radians(STREET.start_heading_deg)
    lat, lon = offset_latlon(
        STREET.start_lat, STREET.start_lon, station_m * math.sin(h), station_m * math.cos(h)
    )
    return lat, lon, STREET.start_heading_deg


def beside(station_m: float, right_m: float) -> tuple[float, float]:
    lat, lon, heading = _centre(station_m)
    h = math.radians(heading)
    return offset_latlon(lat, lon, right_m * math.cos(h), -right_m * math.sin(h))


def network_routes() -> list[NetworkRoute]:
    r1 = tuple(beside(float(s), 0.0) for s in range(0, int(STREET_M) + 1, 5))
    r2 = tuple(beside(CROSSING_AT_M, float(r)) for r in range(-150, 151, 10))
    return [
        NetworkRoute("R1", "Sakura-dori", r1, start_m=STREET_START_M),
        NetworkRoute("R2", "Minami-dori", r2),
    ]


def network_geojson() -> dict:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"route_id": r.route_id, "name": r.name, "start_m": r.start_m},
                "geometry": {"type": "LineString", "coordinates": [[lon, lat] for lat, lon in r.points]},
            }
            for r in network_routes()
        ],
    }


@dataclass(frozen=True)
class Planted:
    key: str
    class_name: str
    station_m: float  # along R1 from its start
    right_m: float
    length_m: float  # along the road
    width_m: float


def _ring(p: Planted, shift: tuple[float, float]) -> tuple[tuple[float, float], ...]:
    corners = [(-1, -1), (1, -1), (1, 1), (-1, 1), (-1, -1)]
    out = []
    for a, b in corners:
        lat, lon = beside(p.station_m + a * p.length_m / 2, p.right_m + b * p.width_m / 2)
        out.append(offset_latlon(lat, lon, *shift))
    return tuple(out)


# Keys say what happens between A and B; each drive sees its own list.
PERSISTING = Planted("persisting", "D40", 50.0, 0.6, 0.4, 0.4)
SHRUNK_THEN = Planted("shrunk", "D10", 90.0, -0.2, 0.15, 2.4)
SHRUNK_NOW = Planted("shrunk", "D10", 90.0, -0.2, 0.15, 1.0)
GROWN_THEN = Planted("grown", "D40", 120.0, -0.6, 0.3, 0.3)
GROWN_NOW = Planted("grown", "D40", 120.0, -0.6, 0.65, 0.65)
CRACK_THEN = Planted("crack_grown", "D00", 180.0, 0.8, 1.0, 0.1)
CRACK_NOW = Planted("crack_grown", "D00", 180.4, 0.8, 2.6, 0.1)
TWIN_LEFT = Planted("twin_left", "D40", 222.0, -0.8, 0.4, 0.4)
TWIN_RIGHT = Planted("twin_right", "D40", 222.0, 0.7, 0.4, 0.4)
REPAIRED = Planted("repaired", "D20", 260.0, 0.0, 1.5, 1.2)
GONE = Planted("gone", "D40", 330.0, 0.5, 0.5, 0.5)
NEW_CRACK = Planted("new_crack", "D00", 300.0, -0.4, 2.0, 0.1)
NEW_POTHOLE = Planted("new_pothole", "D40", 385.0, 0.2, 0.5, 0.5)
# Beyond where B started (B never saw it), and before where A started (A never saw it).
EDGE_THEN = Planted("edge_then", "D40", 447.5, 0.3, 0.4, 0.4)
EDGE_NOW = Planted("edge_now", "D40", 5.0, -0.3, 0.4, 0.4)

THEN = (PERSISTING, SHRUNK_THEN, GROWN_THEN, CRACK_THEN, TWIN_LEFT, TWIN_RIGHT, REPAIRED, GONE, EDGE_THEN)
NOW = (PERSISTING, SHRUNK_NOW, GROWN_NOW, CRACK_NOW, TWIN_LEFT, TWIN_RIGHT, NEW_CRACK, NEW_POTHOLE, EDGE_NOW)
EXPECTED = {
    "persisting": "unchanged",
    "shrunk": "shrunk",
    "grown": "grown",
    "crack_grown": "grown",
    "twin_left": "unchanged",
    "twin_right": "unchanged",
    "repaired": "not_seen_again",
    "gone": "not_seen_again",
    "new_crack": "new",
    "new_pothole": "new",
    "edge_then": "not_surveyed_again",
    "edge_now": "first_surveyed",
}


@dataclass(frozen=True)
class Drive:
    name: str
    from_m: float
    to_m: float
    seed: int
    start: datetime
    planted: tuple[Planted, ...]
    sigma_m: float = 1.5
    step_m: float = 4.0


DRIVE_A = Drive("A", 15.0, 435.0, 7, datetime(2025, 10, 1, 9, 0, tzinfo=UTC), THEN)
DRIVE_B = Drive("B", 440.0, -60.0, 11, datetime(2026, 10, 3, 14, 0, tzinfo=UTC), NOW)


def _gps_bias(drive: Drive, n: int) -> list[tuple[float, float]]:
    """A slowly wandering GPS error (east, north) in metres: AR(1), about `sigma_m` across."""
    rng = random.Random(drive.seed)
    rho = 0.97
    e = [rng.gauss(0, drive.sigma_m), rng.gauss(0, drive.sigma_m)]
    out = []
    for _ in range(n):
        out.append((e[0], e[1]))
        e = [rho * v + math.sqrt(1 - rho * rho) * rng.gauss(0, drive.sigma_m) for v in e]
    return out


def drive_poses(drive: Drive) -> tuple[list[Pose], list[float], list[tuple[float, float]]]:
    """Fixes of the drive as it recorded them, their true stations on R1 and the GPS error of each."""
    sign = 1.0 if drive.to_m > drive.from_m else -1.0
    n = int(abs(drive.to_m - drive.from_m) / drive.step_m) + 1
    stations = [drive.from_m + sign * i * drive.step_m for i in range(n)]
    bias = _gps_bias(drive, n)
    poses = []
    for i, (station, (east, north)) in enumerate(zip(stations, bias, strict=True)):
        lat, lon = beside(station, 0.0)
        lat, lon = offset_latlon(lat, lon, east, north)
        heading = (_centre(station)[2] + (0.0 if sign > 0 else 180.0)) % 360.0
        t = drive.start.timestamp() + i * drive.step_m / 8.0
        poses.append(Pose(t, lat, lon, heading, 8.0))
    return poses, stations, bias


def drive_defects(drive: Drive) -> list[tuple[Defect, int]]:
    """The drive's defects, placed by its GPS (shifted by the error where it saw them), with the
    position of the frame that saw each best."""
    _, stations, bias = drive_poses(drive)
    out = []
    for k, p in enumerate(drive.planted):
        at = min(range(len(stations)), key=lambda i: abs(stations[i] - p.station_m))
        shift = bias[at]
        lat, lon = offset_latlon(*beside(p.station_m, p.right_m), *shift)
        size = max(p.length_m, p.width_m)
        defect = Defect(
            defect_id=k + 1,
            class_name=p.class_name,
            severity=severity_of(p.class_name, size, 0.9),
            lat=lat,
            lon=lon,
            error_m=3.0,
            first_frame=at,
            last_frame=at,
            n_observations=3,
            confidence=0.9,
            ground_ring=_ring(p, shift),
            best_frame=at,
        )
        out.append((defect, at))
    return out


def store_drive(store: Store, drive: Drive) -> str:
    """The drive as a completed job in the store (frames with poses, merged defects); its id."""
    poses, _, _ = drive_poses(drive)
    defects = drive_defects(drive)
    with store.session() as s:
        job = jobstore.create_video_job(
            s, f"drive-{drive.name}.mp4", f"drive-{drive.name}.gpx", detector="road", conf=None,
            options=SurveyOptions().model_dump(mode="json"),
        )  # fmt: skip
        job_id = job.id
        frames = list(range(len(poses)))
        jobstore.start_job(
            s, job_id, [frames], video_start_s=poses[0].timestamp_s, duration_s=len(poses) / 2.0,
            frame_size=FRAME_SIZE, frames_in_video=len(poses),
        )  # fmt: skip
        framestore.save_frame_results(s, job_id, [(i, pose, [], []) for i, pose in enumerate(poses)])
        jobstore.finish_chunk(s, job_id, 0)
        findings = defectstore.JobFindings(
            [d for d, _ in defects], [], {}, {d.defect_id: [(at, 0)] for d, at in defects},
            {d.defect_id: poses[at].timestamp_s for d, at in defects},
        )  # fmt: skip
        assert jobstore.complete_job(s, job_id, findings, report_dir=None)
    return job_id
