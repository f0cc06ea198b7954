"""A live frame's detections placed on the ground, each with an honest error (ce) from the geometry."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from tenken.geo import distance_m, footprint, georeference_pixel
from vision.live.pose import DronePose

Box = tuple[float, float, float, float]
# How far from the drone the ground an image shows is taken to reach (a view up to the horizon is
# clipped here): for a view's, a tile's or a box's footprint alike.
MAX_GROUND_RANGE_M = 500.0
# kind, confidence, box[, cut by a tile's inner edge: the object may go on beyond the box]
BoxHit = tuple[str, float, Box] | tuple[str, float, Box, bool]
SceneHit = tuple[str, float] | tuple[str, float, Box]  # kind, probability[, region of the frame]


@dataclass(frozen=True)
class LiveFrame:
    """One frame of a live source. Where detection ran elsewhere, `image` is None and `size_px` is set."""

    source: str  # the drone or camera id
    frame_id: int
    timestamp_s: float
    image: npt.NDArray[np.uint8] | None = field(default=None, repr=False)
    pose: DronePose | None = None
    size_px: tuple[int, int] | None = None  # (width, height) when there is no image

    @property
    def width_height(self) -> tuple[int, int]:
        if self.image is not None:
            return int(self.image.shape[1]), int(self.image.shape[0])
        if self.size_px is None:
            raise ValueError("a LiveFrame needs an image or its size")
        return self.size_px


@dataclass(frozen=True)
class Sighting:
    """One detection or scene class in one frame, placed on the ground when the pose is known.

    `error_m` is the whole error of this sighting; `shared_error_m` the part every sighting from the
    same drone shares (its GNSS error), which averaging over frames does not reduce.
    """

    kind: str
    confidence: float
    frame_id: int
    timestamp_s: float
    lat: float | None = None
    lon: float | None = None
    error_m: float | None = None
    box_xyxy: Box | None = None
    shared_error_m: float = 0.0
    ground_ring: tuple[tuple[float, float], ...] = ()  # the box's footprint on the ground, (lat, lon)


def _place(
    pose: DronePose, w: int, h: int, u: float, v: float, half_width_px: float
) -> tuple[float, float, float] | None:
    """(lat, lon, error) of pixel (u, v): position and heading error of the drone, a few rows of box
    error and 2° of attitude error, and half the object's ground width (where in it the point is)."""
    cam = pose.camera(w, h)
    point = georeference_pixel(
        pose.lat,
        pose.lon,
        pose.heading_deg,
        cam,
        u,
        v,
        gps_error_m=pose.position_error_m,
        row_error_px=max(4.0, 0.01 * h),
        pitch_error_deg=2.0,  # gimbal and airframe attitude
    )
    if point is None:
        return None
    range_m = distance_m(pose.lat, pose.lon, point.lat, point.lon)
    heading_error_m = range_m * math.radians(min(pose.heading_error_deg, 90.0))
    extent_m = 0.0
    left, right = cam.ground_offset(u - half_width_px, v), cam.ground_offset(u + half_width_px, v)
    if left is not None and right is not None:
        extent_m = math.dist(left, right) / 2
    return point.lat, point.lon, math.sqrt(point.error_m**2 + heading_error_m**2 + extent_m**2)


def sightings_in_frame(
    frame: LiveFrame,
    detections: Sequence[BoxHit],
    scene: Sequence[SceneHit] = (),
) -> list[Sighting]:
    """Place a frame's detections (kind, confidence, box[, cut by a tile's edge]) and scene classes
    (kind, probability[, the region of the frame that was classified when a tile, not the view])."""
    w, h = frame.width_height
    pose = frame.pose
    out: list[Sighting] = []
    shared = 0.0 if pose is None else pose.gps_error_m
    for hit in detections:
        kind, conf, box = hit[0], hit[1], hit[2]
        cut = len(hit) > 3 and bool(hit[3])
        if pose is None:
            out.append(Sighting(kind, conf, frame.frame_id, frame.timestamp_s, box_xyxy=box))
            continue
        # Flames and smoke rise from the ground: seen obliquely, the bottom of the box is where they
        # start; seen from straight above, the box is their footprint and its centre is best.
        nadir = min(1.0, max(0.0, pose.gimbal_pitch_deg / 90.0))
        u, v = (box[0] + box[2]) / 2, box[3] - nadir * (box[3] - box[1]) / 2
        half_width_px = (box[2] - box[0]) / 2
        at_edge = box[0] <= 2 or box[1] <= 2 or box[2] >= w - 2 or box[3] >= h - 2
        if cut:  # cut by a tile's edge (and nothing held it whole): it goes on beyond the box, either way
            half_width_px = max(box[2] - box[0], box[3] - box[1])
        elif at_edge:
            half_width_px *= 2  # cut by the frame's edge: the object goes on, its centre is farther off
        placed = _place(pose, w, h, u, v, half_width_px)
        if placed is None:
            continue  # above the horizon: no ground position
        lat, lon, err = placed
        # An object cut by the edge may be larger than the view: what its box covers on the ground is
        # part of it, however far that is from where its other parts were placed.
        ring = (
            footprint(pose.lat, pose.lon, pose.heading_deg, pose.camera(w, h), MAX_GROUND_RANGE_M, box)
            if cut or at_edge
            else []
        )
        out.append(
            Sighting(kind, conf, frame.frame_id, frame.timestamp_s, lat, lon, err, box, shared, tuple(ring))
        )
    for scene_hit in scene:
        kind, prob = scene_hit[0], scene_hit[1]
        region: Box = scene_hit[2] if len(scene_hit) > 2 else (0.0, 0.0, float(w), float(h))
        if pose is None:
            out.append(Sighting(kind, prob, frame.frame_id, frame.timestamp_s))
            continue
        x0, y0, x1, y1 = region
        placed = _place(pose, w, h, (x0 + x1) / 2, (y0 + y1) / 2, 0.0)
        if placed is None:
            continue
        lat, lon, err = placed
        ring = footprint(pose.lat, pose.lon, pose.heading_deg, pose.camera(w, h), MAX_GROUND_RANGE_M, region)
        # the whole region (the view, or the tile that saw it) is the finding: its error is its size,
        # how far the ground it shows reaches from the ground at its centre
        reach = max((distance_m(lat, lon, *corner) for corner in ring), default=0.0)
        err = math.hypot(err, reach / 2)
        out.append(
            Sighting(kind, prob, frame.frame_id, frame.timestamp_s, lat, lon, err, None, shared, tuple(ring))
        )
    return out
