"""A long drive made with the sample drive's method, for benchmarks (generated, never committed).

`samples/make_sample_drive.py` projects RDD2022 images onto the road plane and films that road
with the `motorbike` camera. The RDD images are not in the repository, but the sample drive's own
frames were filmed by that very camera: projected back onto the road plane they give the same
road surface. Laid end to end they make a ~165 m loop of road that the camera drives round and
round (an OpenCV warp cannot read a longer strip) while the GPS track goes on along a long route:
a drive of any length with the sample's look, defect density and track style.

    python bench/long_drive.py --minutes 10    # prints the video and track paths (cached)
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vision.road.survey_options import CAMERA_PROFILES  # noqa: E402
from vision.road.synthetic import CurvedRoute, RoadStrip, ground_to_image, render_frame  # noqa: E402

SAMPLE = ROOT / "samples" / "drive.mp4"
SPEED_MPS, FPS = 5.0, 6.0  # as the sample drive
RES_M, HALF_WIDTH_M = 0.01, 1.75
TILE_NEAR_M, TILE_FAR_M = 1.0, 3.8  # the stretch of road ahead of a frame that it supplies
FIRST_TILE_M = 5.0
ROUTE = CurvedRoute(35.61328, 140.11230, 70.0, turn_deg_per_m=0.05)
LOOKAHEAD_TILES = 14  # tiles repeated after the loop's end, so the view across the wrap is seamless
CACHE = Path.home() / ".cache" / "tenken" / "bench"


def sample_tiles() -> list[np.ndarray]:
    """Frames of the sample drive one tile length apart (the camera moves 5/6 m per frame)."""
    capture = cv2.VideoCapture(str(SAMPLE))
    frames = []
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    step = (TILE_FAR_M - TILE_NEAR_M) / (SPEED_MPS / FPS)
    # The last frames look past the end of the sample's road (blank): leave their tiles out.
    last = len(frames) - 1 - round(2 * TILE_FAR_M / (SPEED_MPS / FPS))
    return [frames[round(k * step)] for k in range(int(last / step) + 1)]


def build_strip(tiles: list[np.ndarray], n_tiles: int) -> RoadStrip:
    size = tiles[0].shape[0]
    g2i = ground_to_image(CAMERA_PROFILES["motorbike"].model(size, size))
    tile_m = TILE_FAR_M - TILE_NEAR_M
    strip = RoadStrip.blank(FIRST_TILE_M + n_tiles * tile_m + 10.0, HALF_WIDTH_M, RES_M, (98, 100, 102))
    width = strip.texture.shape[1]
    for k in range(n_tiles):
        near = FIRST_TILE_M + k * tile_m
        camera_station = near - TILE_NEAR_M
        r0, r1 = round(strip.pixel(near + tile_m, 0)[1]), round(strip.pixel(near, 0)[1])
        tex = np.float32([[0, r0], [width, r0], [width, r1], [0, r1]])
        ground = np.float32(
            [[c * RES_M - HALF_WIDTH_M, strip.length_m - r * RES_M - camera_station] for c, r in tex]
        )
        img = cv2.perspectiveTransform(ground[None], g2i)[0]
        strip.texture[r0:r1] = cv2.warpPerspective(
            tiles[k % len(tiles)],
            cv2.getPerspectiveTransform(img, tex - np.float32([0, r0])),
            (width, r1 - r0),
            borderMode=cv2.BORDER_REPLICATE,
        )
    return strip


def long_drive(minutes: float) -> tuple[Path, Path]:
    """Video and GPX of a `minutes` long drive, built once and kept in the benchmark cache."""
    CACHE.mkdir(parents=True, exist_ok=True)
    video, track = CACHE / f"drive-{minutes:g}min.mp4", CACHE / f"drive-{minutes:g}min.gpx"
    if video.is_file() and track.is_file():
        return video, track
    tiles = sample_tiles()
    strip = build_strip(tiles, len(tiles) + LOOKAHEAD_TILES)
    loop_m = len(tiles) * (TILE_FAR_M - TILE_NEAR_M)
    size = tiles[0].shape[0]
    camera = CAMERA_PROFILES["motorbike"].model(size, size)
    n_frames = int(minutes * 60 * FPS)
    partial = video.with_suffix(".partial.mp4")
    writer = cv2.VideoWriter(str(partial), cv2.VideoWriter.fourcc(*"mp4v"), FPS, (size, size))
    try:
        for i in range(n_frames):
            writer.write(render_frame(strip, camera, FIRST_TILE_M + (i * SPEED_MPS / FPS) % loop_m))
    finally:
        writer.release()
    start_s = datetime(2026, 10, 14, 1, 30, 0, tzinfo=UTC).timestamp()
    points = []
    lat, lon, heading = ROUTE.pose(0.0)
    for t in range(int(n_frames / FPS) + 2):  # 1 Hz, walking the route on from the last point
        if t:
            lat, lon, heading = CurvedRoute(lat, lon, heading, ROUTE.turn_deg_per_m).pose(SPEED_MPS)
        stamp = datetime.fromtimestamp(start_s + t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
        points.append(f'<trkpt lat="{lat:.8f}" lon="{lon:.8f}"><ele>10.0</ele><time>{stamp}</time></trkpt>')
    track.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<gpx version="1.1" creator="tenken" xmlns="http://www.topografix.com/GPX/1/1">\n'
        "<trk><name>long synthetic drive</name><trkseg>\n" + "\n".join(points) + "\n</trkseg></trk></gpx>\n"
    )
    partial.rename(video)
    return video, track


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--minutes", type=float, default=10.0)
    print(*long_drive(parser.parse_args().minutes))
