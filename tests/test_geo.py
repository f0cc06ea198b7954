"""Flat-ground camera geometry and georeferencing against hand-computed cases."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tenken.geo import (
    CameraModel,
    LocalProjection,
    bearing_deg,
    distance_m,
    footprint,
    georeference_pixel,
    offset_latlon,
    rotate_to_east_north,
)


def cam(pitch_deg: float, height_m: float = 1.5) -> CameraModel:
    return CameraModel(height_m=height_m, pitch_deg=pitch_deg, hfov_deg=90.0, width_px=100, height_px=100)


def test_straight_down_camera_sees_its_own_foot_at_the_centre():
    assert cam(90).ground_offset(50, 50) == pytest.approx((0.0, 0.0), abs=1e-9)


def test_straight_down_camera_right_edge_is_height_times_tan_half_fov():
    # hfov 90: the right edge is 45 degrees off the axis, so height * tan(45) to the right.
    assert cam(90).ground_offset(100, 50) == pytest.approx((0.0, 1.5))


def test_centre_pixel_at_45_degrees_pitch_is_one_height_ahead():
    assert cam(45).ground_offset(50, 50) == pytest.approx((1.5, 0.0))


def test_centre_pixel_at_30_degrees_pitch():
    assert cam(30).ground_offset(50, 50) == pytest.approx((1.5 / math.tan(math.radians(30)), 0.0))


def test_level_camera_bottom_row_looks_45_degrees_down():
    # vfov is 90 for a square image with hfov 90: the bottom row is 45 degrees below the axis.
    assert cam(0).ground_offset(50, 100) == pytest.approx((1.5, 0.0))


def test_pixels_at_or_above_the_horizon_have_no_ground_point():
    assert cam(0).ground_offset(50, 50) is None
    assert cam(0).ground_offset(50, 10) is None
    assert cam(0).horizon_row() == pytest.approx(50.0)


def test_horizon_row_moves_up_as_the_camera_tilts_down():
    assert cam(20).horizon_row() < cam(10).horizon_row() < cam(0).horizon_row()


def test_heading_rotates_forward_offset_into_east_north():
    assert rotate_to_east_north(1.0, 0.0, 90.0) == pytest.approx((1.0, 0.0))
    assert rotate_to_east_north(1.0, 0.0, 0.0) == pytest.approx((0.0, 1.0))
    assert rotate_to_east_north(0.0, 1.0, 0.0) == pytest.approx((1.0, 0.0))  # right of north is east
    assert rotate_to_east_north(0.0, 1.0, 90.0) == pytest.approx((0.0, -1.0))  # right of east is south


def test_georeferenced_point_is_ahead_along_the_heading():
    lat, lon = 35.6, 140.1
    point = georeference_pixel(lat, lon, 90.0, cam(45), 50, 50, gps_error_m=0.0)
    assert point is not None
    assert distance_m(lat, lon, point.lat, point.lon) == pytest.approx(1.5, abs=1e-3)
    assert bearing_deg(lat, lon, point.lat, point.lon) == pytest.approx(90.0, abs=0.01)


def test_error_estimate_grows_with_range_and_includes_gps_error():
    camera = CameraModel(1.3, 15.0, 70.0, 640, 480)
    near = georeference_pixel(35.6, 140.1, 0.0, camera, 320, 470, gps_error_m=3.0)
    far = georeference_pixel(35.6, 140.1, 0.0, camera, 320, 200, gps_error_m=3.0)
    assert near is not None and far is not None
    assert 3.0 < near.error_m < far.error_m


def test_offset_latlon_round_trips_through_local_projection():
    proj = LocalProjection(35.0, 139.0)
    lat, lon = offset_latlon(35.0, 139.0, 30.0, -40.0)
    assert proj.to_xy(lat, lon) == pytest.approx((30.0, -40.0), abs=1e-3)


@given(
    st.floats(min_value=5, max_value=44),  # with half the vfov (45) still short of straight down
    st.floats(min_value=0, max_value=100),
    st.floats(min_value=51, max_value=100),
)
def test_ground_points_below_the_centre_row_are_in_front(pitch, u, v):
    off = cam(pitch).ground_offset(u, v)
    assert off is not None and off[0] > -1e-9


def test_footprint_of_a_downward_drone_camera_is_a_quadrilateral_around_it():
    drone = CameraModel(height_m=100.0, pitch_deg=90.0, hfov_deg=90.0, width_px=100, height_px=100)
    ring = footprint(35.0, 139.0, 0.0, drone)
    assert len(ring) == 4
    for lat, lon in ring:
        assert distance_m(35.0, 139.0, lat, lon) == pytest.approx(100.0 * math.sqrt(2), rel=1e-3)
