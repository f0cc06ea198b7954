"""The quick-look mosaic of a simulated survey over a synthetic world with fire patches at known places."""

from __future__ import annotations

import random
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import rasterio
from pyproj import Transformer

from drone.sim.world import SyntheticWorld
from tenken.errors import DataError
from tenken.geo import CameraModel, distance_m, offset_latlon
from tests.live_video.flight import LAT0, LON0, marker_world, red_blob_centroids, survey_flight
from vision.live import DronePose
from vision.live.quicklook import QuickLook, usable_top_row


def planted_centres(world: SyntheticWorld) -> list[tuple[float, float]]:
    """Where the flame cores really are: blob centroids in the world texture (the outline is irregular)."""
    out = []
    for col, row in red_blob_centroids(world.texture):
        x = (col - world.size_px / 2) * world.m_per_px
        y = (world.size_px / 2 - row) * world.m_per_px
        out.append(world.proj.to_latlon(x, y))
    return out


def found_in_geotiff(path: Path) -> list[tuple[float, float]]:
    """Flame cores found in the GeoTIFF, placed with nothing but its own CRS and geotransform."""
    with rasterio.open(path) as ds:
        rgba, crs, transform = ds.read(), ds.crs, ds.transform
    bgr = np.ascontiguousarray(np.moveaxis(rgba[:3][::-1], 0, -1))
    to_ll = Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    out = []
    for col, row in red_blob_centroids(bgr):
        lon, lat = to_ll.transform(*(transform @ (col, row)))
        out.append((lat, lon))
    return out


def position_errors_m(found: list[tuple[float, float]], truth: list[tuple[float, float]]) -> list[float]:
    return [min(distance_m(t[0], t[1], f[0], f[1]) for f in found) for t in truth]


@pytest.fixture(scope="module")
def world() -> SyntheticWorld:
    return marker_world()


@pytest.mark.parametrize("gimbal_deg", [90.0, 60.0])
def test_geotiff_places_planted_features_within_half_a_metre(
    world: SyntheticWorld, tmp_path: Path, gimbal_deg: float
) -> None:
    look = QuickLook(m_per_px=0.25)
    for image, pose in survey_flight(world, gimbal_below_horizon_deg=gimbal_deg):
        look.add(image, pose)
    tif = look.write_geotiff(tmp_path / "flight.tif")
    truth = planted_centres(world)
    found = found_in_geotiff(tif)
    assert len(found) == len(truth) == 5
    assert max(position_errors_m(found, truth)) < 0.5  # measured 0.08 m (nadir), 0.07 m (60°)


def test_geotiff_error_with_noisy_telemetry_stays_within_the_pose_error(
    world: SyntheticWorld, tmp_path: Path
) -> None:
    """GPS off by up to 2 m, heading by 2°, gimbal by 2°: features move by about that much, not more."""
    rng = random.Random(3)
    look = QuickLook(m_per_px=0.25)
    for image, pose in survey_flight(world):
        noisy = replace(
            pose,
            lat=pose.lat + rng.uniform(-2, 2) / 111_000,
            lon=pose.lon + rng.uniform(-2, 2) / 90_000,
            heading_deg=pose.heading_deg + rng.uniform(-2, 2),
            gimbal_pitch_deg=pose.gimbal_pitch_deg - rng.uniform(0, 2),
        )
        look.add(image, noisy)
    found = found_in_geotiff(look.write_geotiff(tmp_path / "noisy.tif"))
    errors = position_errors_m(found, planted_centres(world))
    assert max(errors) < 6.0  # measured 2.2 m; budget: 2.8 m GPS + 2° of 60 m altitude (2.1 m) + heading


def test_geotiff_is_rgba_in_a_utm_zone_and_labelled_quick_look(world: SyntheticWorld, tmp_path: Path) -> None:
    look = QuickLook(m_per_px=0.5)
    for image, pose in list(survey_flight(world))[:5]:
        look.add(image, pose)
    with rasterio.open(look.write_geotiff(tmp_path / "q.tif")) as ds:
        assert ds.crs.to_epsg() == 32654  # Tokyo is in UTM zone 54 north
        assert ds.count == 4 and ds.transform.a == 0.5 and ds.transform.e == -0.5
        assert "not an orthophoto" in ds.tags()["TIFFTAG_IMAGEDESCRIPTION"]
        alpha = ds.read(4)
    assert 0 < (alpha > 0).mean() < 1  # painted where flown, transparent elsewhere


def test_overlay_png_bounds_contain_the_flight(world: SyntheticWorld, tmp_path: Path) -> None:
    look = QuickLook(m_per_px=0.5)
    for image, pose in survey_flight(world, half_size_m=40.0):
        look.add(image, pose)
    bounds = look.write_overlay_png(tmp_path / "q.png")
    png = cv2.imread(str(tmp_path / "q.png"), cv2.IMREAD_UNCHANGED)
    assert png is not None and png.shape[2] == 4
    assert bounds.south < LAT0 < bounds.north and bounds.west < LON0 < bounds.east
    assert distance_m(bounds.south, LON0, bounds.north, LON0) < 250  # 80 m flown + the view + margin


def test_view_of_the_horizon_is_cut_below_it() -> None:
    level = CameraModel(height_m=50, pitch_deg=10.0, hfov_deg=70, width_px=640, height_px=360)
    top = usable_top_row(level, min_depression_deg=20.0, max_range_m=1000.0)
    assert top is not None and level.horizon_row() < top  # rows at 10°-20° below the horizon are dropped
    far = usable_top_row(level, min_depression_deg=20.0, max_range_m=150.0)
    assert far is not None and far > top


def test_a_frame_looking_at_the_sky_paints_nothing() -> None:
    look = QuickLook(min_depression_deg=40.0)  # a level camera's lowest row is 21° below the horizon
    pose = DronePose(0.0, LAT0, LON0, 50.0, 0.0, gimbal_pitch_deg=0.0, hfov_deg=70.0)
    assert look.add(np.zeros((360, 640, 3), np.uint8), pose) is False
    with pytest.raises(DataError):
        look.write_geotiff("/nonexistent/never.tif")


def test_steeper_view_wins_where_frames_overlap() -> None:
    look = QuickLook(m_per_px=0.5)
    nadir = DronePose(0.0, LAT0, LON0, 50.0, 0.0, 90.0, 70.0)
    oblique = DronePose(1.0, LAT0, LON0, 50.0, 0.0, 70.0, 70.0)
    look.add(np.full((360, 640, 3), 200, np.uint8), nadir)
    look.add(np.full((360, 640, 3), 50, np.uint8), oblique)  # later, but seen at a slant
    rgba = look.rgba()
    both = look.latlon_to_pixel(*offset_latlon(LAT0, LON0, 0.0, 10.0))  # 10 m ahead: in both views
    only_oblique = look.latlon_to_pixel(*offset_latlon(LAT0, LON0, 0.0, 35.0))
    assert rgba[int(both[1]), int(both[0]), 0] == 200
    assert rgba[int(only_oblique[1]), int(only_oblique[0]), 0] == 50
