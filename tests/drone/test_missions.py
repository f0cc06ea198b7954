"""Mission planning and checks: pure functions, tested exhaustively."""

from __future__ import annotations

import itertools
import json
import math
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import LineString, Point, Polygon

from drone.mission_items import mission_commands, same_items, waypoints_of
from drone.missions import (
    CameraFov,
    Mission,
    MissionLimits,
    Waypoint,
    corridor,
    estimate_duration_s,
    footprint_size_m,
    line_from_geojson,
    orbit,
    polygon_from_geojson,
    survey_grid,
    validate_mission,
)
from tenken.errors import MissionError
from tenken.geo import LocalProjection, distance_m, offset_latlon

from .conftest import HOME, square_ring

CAMERA = CameraFov(73.7, 53.1)


def _xy(points, proj: LocalProjection):
    return [proj.to_xy(p.lat, p.lon) if isinstance(p, Waypoint) else proj.to_xy(*p) for p in points]


def _rect_ring(center, width_m: float, height_m: float, rotation_deg: float):
    a = math.radians(rotation_deg)
    corners = []
    for x, y in ((-width_m / 2, -height_m / 2), (width_m / 2, -height_m / 2), (width_m / 2, height_m / 2),
                 (-width_m / 2, height_m / 2)):  # fmt: skip
        east, north = x * math.cos(a) - y * math.sin(a), x * math.sin(a) + y * math.cos(a)
        corners.append(offset_latlon(*center, east, north))
    return corners


# ---- GeoJSON ---------------------------------------------------------------------------------------


def test_geojson_polygon_is_read_as_lat_lon_without_the_closing_point():
    doc = {"type": "Feature", "properties": {}, "geometry": {"type": "Polygon", "coordinates": [
        [[140.0, 35.0], [140.001, 35.0], [140.001, 35.001], [140.0, 35.0]]]}}  # fmt: skip
    assert polygon_from_geojson(json.dumps(doc)) == [(35.0, 140.0), (35.0, 140.001), (35.001, 140.001)]


def test_geojson_feature_collection_with_one_line_gives_the_corridor_line():
    doc = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "geometry": {"type": "LineString", "coordinates": [[140.0, 35.0], [140.01, 35.0]]},
            }
        ],
    }
    assert line_from_geojson(doc) == [(35.0, 140.0), (35.0, 140.01)]


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ('{"type": "Polygon", "coordinates": []}', "survey polygon is empty"),
        ('{"type": "FeatureCollection", "features": []}', "has no features"),
        ('{"type": "Point", "coordinates": [140, 35]}', "must be a GeoJSON Polygon, got Point"),
        (
            '{"type": "Polygon", "coordinates": [[[35.6, 140.1], [35.7, 140.1], [35.7, 140.2]]]}',
            "not [lon, lat]",
        ),
        ("{not json", "not valid GeoJSON"),
    ],
)
def test_bad_geojson_areas_are_one_clear_error(doc, message):
    with pytest.raises(MissionError, match=re.escape(message)):
        polygon_from_geojson(doc)


# ---- survey ----------------------------------------------------------------------------------------


def test_survey_line_spacing_follows_footprint_and_side_overlap():
    mission = survey_grid(square_ring(HOME, 50.0), altitude_m=40, camera=CAMERA, side_overlap=0.7)
    across_m, along_m = footprint_size_m(40, CAMERA)
    assert across_m == pytest.approx(60.0, abs=0.1)  # 2 * 40 * tan(36.85°)
    assert mission.line_spacing_m == pytest.approx(across_m * 0.3)
    assert mission.photo_spacing_m == pytest.approx(along_m * 0.2)
    assert mission.gimbal_pitch_deg == -90.0


def test_survey_passes_alternate_direction_like_a_lawnmower():
    mission = survey_grid(square_ring(HOME, 50.0), altitude_m=30, camera=CAMERA, lines_deg=90.0)
    proj = LocalProjection(*HOME)
    xs = [x for x, _ in _xy(mission.waypoints, proj)]
    directions = [math.copysign(1, xs[i + 1] - xs[i]) for i in range(0, len(xs) - 1, 2)]
    assert len(directions) >= 3
    assert all(a != b for a, b in itertools.pairwise(directions))


def test_survey_runs_along_the_long_side_of_a_long_field():
    ring = _rect_ring(HOME, 300.0, 60.0, rotation_deg=0.0)  # 300 m east-west, 60 m north-south
    mission = survey_grid(ring, altitude_m=30, camera=CAMERA)
    proj = LocalProjection(*HOME)
    pts = _xy(mission.waypoints, proj)
    first_pass = (pts[1][0] - pts[0][0], pts[1][1] - pts[0][1])
    assert abs(first_pass[0]) > 250 and abs(first_pass[1]) < 1


@settings(max_examples=40, deadline=None)
@given(
    width_m=st.floats(40, 400),
    height_m=st.floats(40, 400),
    rotation_deg=st.floats(0, 180),
    altitude_m=st.floats(20, 120),
    side_overlap=st.floats(0.0, 0.8),
)
def test_survey_covers_the_whole_area_and_stays_inside_it(
    width_m, height_m, rotation_deg, altitude_m, side_overlap
):
    ring = _rect_ring(HOME, width_m, height_m, rotation_deg)
    mission = survey_grid(ring, altitude_m=altitude_m, camera=CAMERA, side_overlap=side_overlap)
    proj = LocalProjection(*HOME)
    area = Polygon(_xy(ring, proj))
    pts = _xy(mission.waypoints, proj)
    assert all(area.buffer(0.5).contains(Point(p)) for p in pts)
    across_m, _ = footprint_size_m(altitude_m, CAMERA)
    seen = LineString(pts).buffer(across_m / 2, cap_style="flat") if len(pts) > 1 else Point(pts[0])
    assert area.difference(seen).area <= 0.01 * area.area


@settings(max_examples=25, deadline=None)
@given(low=st.floats(20, 60), extra=st.floats(1, 60))
def test_flying_higher_never_needs_more_waypoints(low, extra):
    ring = square_ring(HOME, 150.0)
    assert len(survey_grid(ring, altitude_m=low + extra, camera=CAMERA).waypoints) <= len(
        survey_grid(ring, altitude_m=low, camera=CAMERA).waypoints
    )


def test_concave_area_pass_is_split_where_it_leaves_the_polygon():
    # A "U": the passes across the notch must stop at its edges.
    proj = LocalProjection(*HOME)
    u_xy = [(-60, -40), (60, -40), (60, 40), (20, 40), (20, -10), (-20, -10), (-20, 40), (-60, 40)]
    ring = [proj.to_latlon(x, y) for x, y in u_xy]
    mission = survey_grid(ring, altitude_m=10, camera=CAMERA, side_overlap=0.5, lines_deg=90.0)
    notch = Polygon([(-20, -10), (20, -10), (20, 40), (-20, 40)]).buffer(-1.0)
    pts = _xy(mission.waypoints, proj)
    assert not any(notch.contains(Point(p)) for p in pts)
    assert len(pts) % 2 == 0 and len(pts) > 2 * 4


def test_self_intersecting_polygon_is_rejected():
    a, b, c, d = square_ring(HOME, 30.0)
    with pytest.raises(MissionError, match="crosses itself"):
        survey_grid([a, c, b, d], altitude_m=30, camera=CAMERA)


@pytest.mark.parametrize("ring", [[], [HOME], [HOME, offset_latlon(*HOME, 10, 0)]])
def test_polygon_with_fewer_than_three_corners_is_rejected(ring):
    with pytest.raises(MissionError, match="at least 3 corners"):
        survey_grid(ring, altitude_m=30, camera=CAMERA)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"altitude_m": 0}, "altitude must be above 0 m"),
        ({"altitude_m": 30, "speed_mps": 0}, "speed must be in"),
        ({"altitude_m": 30, "side_overlap": 1.0}, "side overlap must be in"),
        ({"altitude_m": 30, "front_overlap": -0.1}, "front overlap must be in"),
    ],
)
def test_bad_survey_settings_are_rejected(kwargs, message):
    with pytest.raises(MissionError, match=message):
        survey_grid(square_ring(HOME, 30.0), camera=CAMERA, **kwargs)


def test_camera_field_of_view_must_be_plausible():
    with pytest.raises(MissionError, match="hfov_deg must be between"):
        CameraFov(0.0, 50.0)


# ---- corridor and orbit ----------------------------------------------------------------------------


def test_narrow_corridor_is_one_pass_along_the_line():
    line = [HOME, offset_latlon(*HOME, 200, 0), offset_latlon(*HOME, 200, 150)]
    mission = corridor(line, altitude_m=40, camera=CAMERA, width_m=20)
    flown = [(w.lat, w.lon) for w in mission.waypoints]
    assert len(flown) == len(line)
    for (lat, lon), (plat, plon) in zip(flown, line, strict=True):
        assert distance_m(lat, lon, plat, plon) < 0.01
    assert mission.path_length_m == pytest.approx(350, abs=0.5)


@settings(max_examples=25, deadline=None)
@given(width_m=st.floats(0, 400), altitude_m=st.floats(20, 100))
def test_corridor_passes_cover_the_requested_width(width_m, altitude_m):
    line = [HOME, offset_latlon(*HOME, 300, 0)]
    mission = corridor(line, altitude_m=altitude_m, camera=CAMERA, width_m=width_m, side_overlap=0.6)
    across_m, _ = footprint_size_m(altitude_m, CAMERA)
    proj = LocalProjection(*HOME)
    norths = sorted({round(y, 3) for _, y in _xy(mission.waypoints, proj)})
    covered = (norths[-1] - norths[0]) + across_m
    assert covered >= width_m - 1e-6
    assert len(norths) == 1 or (norths[1] - norths[0]) == pytest.approx(across_m * 0.4, abs=0.01)


def test_orbit_circles_the_point_at_the_radius_looking_at_it():
    center = offset_latlon(*HOME, 40, 60)
    mission = orbit(center, radius_m=50, altitude_m=50, points=12, turns=1.5)
    assert len(mission.waypoints) == 19  # 12 * 1.5 + the closing point
    for w in mission.waypoints:
        assert distance_m(center[0], center[1], w.lat, w.lon) == pytest.approx(50, abs=0.05)
    assert mission.gimbal_pitch_deg == pytest.approx(-45.0)
    assert mission.roi == center


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [({"radius_m": 0}, "radius must be above 0"), ({"radius_m": 30, "points": 2}, "at least 3 points"),
     ({"radius_m": 30, "turns": 0}, "turns must be above 0")],
)  # fmt: skip
def test_bad_orbits_are_rejected(kwargs, message):
    with pytest.raises(MissionError, match=message):
        orbit(HOME, altitude_m=30, **kwargs)


# ---- checks ----------------------------------------------------------------------------------------


def _line_mission(n: int, altitude_m: float = 30.0, spacing_m: float = 10.0) -> Mission:
    wps = tuple(Waypoint(*offset_latlon(*HOME, i * spacing_m, 0), altitude_m) for i in range(n))
    return Mission("survey", wps, altitude_m, 10.0)


def test_altitude_above_the_ceiling_is_rejected():
    with pytest.raises(MissionError, match="altitude 151 m is above the 150 m ceiling"):
        validate_mission(_line_mission(3, altitude_m=151), MissionLimits())


def test_too_many_waypoints_is_rejected():
    with pytest.raises(MissionError, match="has 11 waypoints, more than the 10 allowed"):
        validate_mission(_line_mission(11), MissionLimits(max_waypoints=10))


def test_empty_mission_is_rejected():
    with pytest.raises(MissionError, match="no waypoints"):
        validate_mission(Mission("survey", (), 30, 10), MissionLimits())


def test_mission_longer_than_the_battery_allows_is_rejected():
    mission = _line_mission(101, spacing_m=100.0)  # 10 km at 10 m/s = 1000 s
    limits = MissionLimits(endurance_s=1200, reserve_pct=25)
    with pytest.raises(MissionError, match=r"needs about 17\.\d min at 10 m/s .* allows 15\.0 min"):
        validate_mission(mission, limits)


def test_battery_check_counts_the_legs_from_and_back_to_home():
    mission = _line_mission(2)
    near = estimate_duration_s(mission, MissionLimits())
    far_home = offset_latlon(*HOME, 0, -1000)
    assert estimate_duration_s(mission, MissionLimits(), far_home) == pytest.approx(
        near + 2 * 1000 / 10, abs=1
    )


def test_battery_check_uses_the_charge_left():
    mission = _line_mission(31, spacing_m=100.0)  # 300 s of cruise
    assert validate_mission(mission, MissionLimits(), battery_pct=100) > 300
    with pytest.raises(MissionError, match=r"battery \(40 %"):
        validate_mission(mission, MissionLimits(), battery_pct=40)


# ---- mission items ---------------------------------------------------------------------------------


def test_mission_items_take_off_set_speed_and_camera_then_fly_and_return():
    from pymavlink.dialects.v20 import ardupilotmega as mav

    mission = orbit(HOME, radius_m=30, altitude_m=30, points=4)
    items = mission_commands(mission)
    first = [
        mav.MAV_CMD_NAV_TAKEOFF,
        mav.MAV_CMD_DO_CHANGE_SPEED,
        mav.MAV_CMD_DO_MOUNT_CONTROL,
        mav.MAV_CMD_DO_SET_ROI,
    ]
    assert [i.command for i in items[:4]] == first
    assert items[-1].command == mav.MAV_CMD_NAV_RETURN_TO_LAUNCH
    planned = [c for w in mission.waypoints for c in (w.lat, w.lon, w.alt_m)]
    encoded = [c for w in waypoints_of(items) for c in (w.lat, w.lon, w.alt_m)]
    assert encoded == pytest.approx(planned, abs=1e-7)  # MISSION_ITEM_INT: 1e-7 degree resolution
    assert same_items(items, items)
    assert not same_items(items, items[:-1])
