"""Build the bundled sample drive: a synthetic motorbike video over RDD2022 road surfaces, with its GPX.

Each RDD2022 China_MotorBike *val* image (never seen in training) is projected onto the road plane
(inverse perspective mapping with the `motorbike` camera profile), the ground patches are laid end
to end along a 168 m route in Chiba, and the video is rendered from that camera moving along it.
The annotated damage boxes are projected the same way and written as the ground truth
(`drive.truth.geojson`, one feature per annotated box centre) for comparing positions.

Run from the repository root:  python samples/make_sample_drive.py /path/to/rdd2022_china_motorbike
Images: RDD2022 (Arya et al. 2022), CC BY-SA 4.0; this derived video and its truth file are CC BY-SA 4.0.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np

from vision.road.survey_options import CAMERA_PROFILES
from vision.road.synthetic import CurvedRoute, RoadStrip, ground_to_image, write_drive

OUT = Path(__file__).resolve().parent
SIZE_PX = 416
RES_M = 0.01
HALF_WIDTH_M = 1.75
TILE_NEAR_M, TILE_FAR_M = 1.0, 3.8  # each source image supplies this stretch of road ahead of it
N_TILES = 60
FIRST_TILE_M = 5.0
DAMAGE = ("D00", "D10", "D20", "D40")
ROUTE = CurvedRoute(35.61328, 140.11230, 70.0, turn_deg_per_m=0.25)  # a street near Chiba station


def build_strip(data: Path, stems: list[str]) -> tuple[RoadStrip, list[dict]]:
    camera = CAMERA_PROFILES["motorbike"].model(SIZE_PX, SIZE_PX)
    g2i = ground_to_image(camera)
    tile_m = TILE_FAR_M - TILE_NEAR_M
    strip = RoadStrip.blank(FIRST_TILE_M + len(stems) * tile_m + 10.0, HALF_WIDTH_M, RES_M, (98, 100, 102))
    truth: list[dict] = []
    for k, stem in enumerate(stems):
        image = cv2.imread(str(data / "images" / f"{stem}.jpg"))
        near = FIRST_TILE_M + k * tile_m
        camera_station = near - TILE_NEAR_M  # where the source camera stood
        r0 = round(strip.pixel(near + tile_m, 0)[1])
        r1 = round(strip.pixel(near, 0)[1])
        width = strip.texture.shape[1]
        tex = np.float32([[0, r0], [width, r0], [width, r1], [0, r1]])
        ground = np.float32(
            [[c * RES_M - HALF_WIDTH_M, strip.length_m - r * RES_M - camera_station] for c, r in tex]
        )
        img = cv2.perspectiveTransform(ground[None], g2i)[0]
        tile = cv2.warpPerspective(
            image,
            cv2.getPerspectiveTransform(img, tex - np.float32([0, r0])),
            (width, r1 - r0),
            borderMode=cv2.BORDER_REPLICATE,
        )
        strip.texture[r0:r1] = tile
        for obj in ET.parse(data / "annotations" / f"{stem}.xml").getroot().iter("object"):
            name = obj.findtext("name")
            if name not in DAMAGE:
                continue
            x1, y1, x2, y2 = (
                float(obj.findtext(f"bndbox/{c}") or 0) for c in ("xmin", "ymin", "xmax", "ymax")
            )
            corners = np.float32([[[x1, y1], [x2, y1], [x2, y2], [x1, y2]]])
            pts = cv2.perspectiveTransform(corners, np.linalg.inv(g2i))[0]
            right = float((pts[:, 0].min() + pts[:, 0].max()) / 2)
            station = camera_station + float((pts[:, 1].min() + pts[:, 1].max()) / 2)
            if near <= station <= near + tile_m and abs(right) <= HALF_WIDTH_M:
                truth.append(
                    {"class": name, "station_m": station - FIRST_TILE_M, "right_m": right, "source": stem}
                )
    return strip, truth


def main(data: Path) -> None:
    stems = data.joinpath("val.txt").read_text().split()[:N_TILES]
    strip, truth = build_strip(data, stems)
    camera = CAMERA_PROFILES["motorbike"].model(SIZE_PX, SIZE_PX)
    distance_m = N_TILES * (TILE_FAR_M - TILE_NEAR_M)
    n = write_drive(
        strip,
        camera,
        ROUTE,
        OUT / "drive.mp4",
        OUT / "drive.gpx",
        start_station_m=FIRST_TILE_M,
        distance_m=distance_m,
        speed_mps=5.0,
        fps=6.0,
        start_time=datetime(2026, 10, 14, 1, 30, 0, tzinfo=UTC),
    )
    features = []
    for k, item in enumerate(truth):
        lat, lon = ROUTE.point_beside(item["station_m"], item["right_m"])
        features.append(
            {
                "type": "Feature",
                "id": k + 1,
                "geometry": {"type": "Point", "coordinates": [round(lon, 8), round(lat, 8)]},
                "properties": {
                    "class": item["class"],
                    "source_image": item["source"],
                    "station_m": round(item["station_m"], 2),
                },
            }
        )
    (OUT / "drive.truth.geojson").write_text(
        json.dumps({"type": "FeatureCollection", "features": features}, indent=1)
    )
    print(f"{n} frames, {len(features)} annotated defects, {distance_m:.0f} m")


if __name__ == "__main__":
    main(Path(sys.argv[1]))
