"""Placing detections on the ground: flat-road georeferencing of boxes, with an error estimate."""

from __future__ import annotations

import math
from dataclasses import dataclass

from tenken.findings import Observation, Pose
from tenken.geo import CameraModel, georeference_pixel, offset_latlon, rotate_to_east_north
from vision.models.detections import Detections


@dataclass(frozen=True)
class GeorefOptions:
    gps_error_m: float = 3.0  # phone or dash-cam GPS, open sky
    row_error_px: float = 3.0  # how far a box edge may be off
    pitch_error_deg: float = 1.0  # road not perfectly flat, car pitching
    max_range_m: float = 25.0  # beyond this a few pixels are metres: too uncertain to place
    horizon_margin_px: float = 8.0  # rows below the horizon treated as unusable


def box_ground_ring(
    pose: Pose, camera: CameraModel, box: tuple[float, float, float, float], margin_px: float
) -> tuple[tuple[float, float], ...]:
    """The (lat, lon) outline of a box's footprint on the road, its top clipped below the horizon."""
    x1, y1, x2, y2 = box
    top = max(y1, camera.horizon_row() + margin_px)
    if top >= y2:
        return ()
    ring: list[tuple[float, float]] = []
    for u, v in ((x1, y2), (x2, y2), (x2, top), (x1, top)):
        off = camera.ground_offset(u, v)
        if off is None:
            return ()
        east, north = rotate_to_east_north(off[0], off[1], pose.heading_deg)
        ring.append(offset_latlon(pose.lat, pose.lon, east, north))
    return tuple(ring)


def georeference_detections(
    detections: Detections,
    pose: Pose,
    camera: CameraModel,
    frame_index: int,
    options: GeorefOptions = GeorefOptions(),
) -> list[Observation]:
    """One `Observation` per box whose centre lies on the road within range; others are dropped."""
    horizon = camera.horizon_row()
    observations: list[Observation] = []
    for i in range(len(detections)):
        x1, y1, x2, y2 = (float(v) for v in detections.xyxy[i])
        u, v = (x1 + x2) / 2, (y1 + y2) / 2
        if v <= horizon + options.horizon_margin_px:
            continue
        offset = camera.ground_offset(u, v)
        if offset is None or math.hypot(*offset) > options.max_range_m:
            continue
        point = georeference_pixel(
            pose.lat,
            pose.lon,
            pose.heading_deg,
            camera,
            u,
            v,
            gps_error_m=options.gps_error_m,
            row_error_px=options.row_error_px,
            pitch_error_deg=options.pitch_error_deg,
        )
        if point is None:
            continue
        observations.append(
            Observation(
                frame_index=frame_index,
                timestamp_s=pose.timestamp_s,
                class_name=detections.class_name(i),
                confidence=float(detections.confidence[i]),
                box_xyxy=(x1, y1, x2, y2),
                lat=point.lat,
                lon=point.lon,
                error_m=point.error_m,
                ground_ring=box_ground_ring(pose, camera, (x1, y1, x2, y2), options.horizon_margin_px),
            )
        )
    return observations
