"""The live drone chain: posed frames -> fire/smoke detections and scene classes -> confirmed incidents.

Frames come from the drone's camera with the vehicle pose at their timestamp (altitude above
ground, heading, gimbal pitch, field of view). Every detection is placed on the ground with the
drone camera model; sightings of the same kind within `radius_m` are one incident, which opens
only when seen in enough recent frames and closes only after it has been in view and unseen for
long enough (`vision.confirmation`). An incident that is out of the camera's view keeps its state:
a drone flying on does not close a fire it can no longer see.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from shapely.geometry import Point, Polygon

from tenken.geo import CameraModel, LocalProjection, distance_m, footprint, georeference_pixel
from vision.confirmation import ConfirmationPolicy, IncidentState, update
from vision.detector import Detector

LIVE_KINDS = ("fire", "smoke", "landslide", "flood", "person")
SCENE_KINDS = ("fire", "smoke", "landslide", "flood")  # classes of the scene classifier that are incidents


@dataclass(frozen=True)
class DronePose:
    """The camera's pose when a frame was taken. `gimbal_pitch_deg` is degrees below the horizon."""

    timestamp_s: float
    lat: float
    lon: float
    alt_m: float  # above the ground the camera looks at
    heading_deg: float
    gimbal_pitch_deg: float = 90.0
    hfov_deg: float = 78.0
    gps_error_m: float = 3.0

    def camera(self, width_px: int, height_px: int) -> CameraModel:
        return CameraModel(max(self.alt_m, 0.5), self.gimbal_pitch_deg, self.hfov_deg, width_px, height_px)


def drone_pose_from_telemetry(state: dict[str, Any], hfov_deg: float = 78.0) -> DronePose | None:
    """A `DronePose` from a telemetry event (MAVLink gimbal convention: 0 level, -90 straight down)."""
    try:
        lat, lon = float(state["lat"]), float(state["lon"])
        alt_m, heading = float(state["alt_m"]), float(state.get("heading_deg") or 0.0)
    except (KeyError, TypeError, ValueError):
        return None
    gimbal = state.get("gimbal_pitch_deg")
    below_horizon = 90.0 if gimbal is None else min(max(-float(gimbal), 0.0), 90.0)
    return DronePose(
        float(state.get("timestamp_s") or 0.0), lat, lon, alt_m, heading, below_horizon, hfov_deg
    )


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
    """One detection or scene class in one frame, placed on the ground when the pose is known."""

    kind: str
    confidence: float
    frame_id: int
    timestamp_s: float
    lat: float | None = None
    lon: float | None = None
    error_m: float | None = None
    box_xyxy: tuple[float, float, float, float] | None = None


@dataclass(frozen=True)
class Incident:
    incident_id: str
    source: str
    kind: str
    state: str  # "candidate", "open" or "closed"
    lat: float | None
    lon: float | None
    error_m: float | None
    first_seen_s: float
    last_seen_s: float
    confidence: float
    sightings: int
    best_frame_id: int
    confirmation: IncidentState = field(default_factory=IncidentState.initial, repr=False)

    def as_event(self) -> dict[str, Any]:
        return {
            "incident_id": self.incident_id,
            "source": self.source,
            "kind": self.kind,
            "state": self.state,
            "lat": self.lat,
            "lon": self.lon,
            "error_m": None if self.error_m is None else round(self.error_m, 1),
            "first_seen_s": self.first_seen_s,
            "last_seen_s": self.last_seen_s,
            "confidence": round(self.confidence, 3),
            "sightings": self.sightings,
            "best_frame_id": self.best_frame_id,
        }


@dataclass(frozen=True)
class IncidentChange:
    event: str  # "opened", "updated" or "closed"
    incident: Incident


def sightings_in_frame(
    frame: LiveFrame,
    detections: Sequence[tuple[str, float, tuple[float, float, float, float]]],
    scene: Sequence[tuple[str, float]] = (),
) -> list[Sighting]:
    """Place a frame's detections (kind, confidence, box) and scene classes (kind, probability)."""
    w, h = frame.width_height
    pose = frame.pose
    cam = pose.camera(w, h) if pose else None
    out: list[Sighting] = []

    def place(u: float, v: float) -> tuple[float | None, float | None, float | None]:
        if pose is None or cam is None:
            return None, None, None
        point = georeference_pixel(
            pose.lat,
            pose.lon,
            pose.heading_deg,
            cam,
            u,
            v,
            gps_error_m=pose.gps_error_m,
            row_error_px=max(4.0, 0.01 * h),
            pitch_error_deg=2.0,  # gimbal and airframe attitude
        )
        if point is None:
            return None, None, None
        return point.lat, point.lon, point.error_m

    for kind, conf, box in detections:
        # Flames and smoke rise from the ground: seen obliquely, the bottom of the box is where they
        # start; seen from straight above, the box is their footprint and its centre is best.
        nadir = 1.0 if pose is None else min(1.0, max(0.0, pose.gimbal_pitch_deg / 90.0))
        u, v = (box[0] + box[2]) / 2, box[3] - nadir * (box[3] - box[1]) / 2
        lat, lon, err = place(u, v)
        if pose is not None and lat is None:
            continue  # above the horizon: no ground position
        out.append(Sighting(kind, conf, frame.frame_id, frame.timestamp_s, lat, lon, err, box))
    for kind, prob in scene:
        lat, lon, err = place(w / 2, h / 2)
        if lat is not None and lon is not None and pose is not None and cam is not None:
            # the whole view is the finding: its error is the view's size
            ring = footprint(pose.lat, pose.lon, pose.heading_deg, cam, max_range_m=500.0)
            spread = max((distance_m(lat, lon, a, b) for a, b in ring), default=0.0)
            err = math.hypot(err or 0.0, spread / 2)
        out.append(Sighting(kind, prob, frame.frame_id, frame.timestamp_s, lat, lon, err, None))
    return out


class IncidentTracker:
    """Turns each frame's sightings into incident changes. Pure: no I/O, no clock."""

    def __init__(
        self, source: str, policy: ConfirmationPolicy = ConfirmationPolicy(), radius_m: float = 40.0
    ) -> None:
        self.source = source
        self.policy = policy
        self.radius_m = radius_m
        self.incidents: dict[str, Incident] = {}
        self._ids = itertools.count(1)

    def _match(self, s: Sighting) -> Incident | None:
        best: tuple[float, Incident] | None = None
        for inc in self.incidents.values():
            if inc.kind != s.kind or inc.state == "closed":
                continue
            if s.lat is None or inc.lat is None or s.lon is None or inc.lon is None:
                if s.lat is None and inc.lat is None:
                    return inc  # no positions at all (fixed camera): one incident per kind
                continue
            d = distance_m(inc.lat, inc.lon, s.lat, s.lon)
            if d <= self.radius_m and (best is None or d < best[0]):
                best = (d, inc)
        return best[1] if best else None

    def _in_view(self, inc: Incident, view: Polygon | None, proj: LocalProjection | None) -> bool:
        if view is None or proj is None or inc.lat is None or inc.lon is None:
            return True  # no pose: a fixed camera sees everything it ever saw
        return bool(view.contains(Point(proj.to_xy(inc.lat, inc.lon))))

    def observe(self, frame: LiveFrame, sightings: Sequence[Sighting]) -> list[IncidentChange]:
        """Feed one frame's sightings; returns what changed (openings, updates of open ones, closings)."""
        seen: dict[str, Incident] = {}
        for s in sorted(sightings, key=lambda x: -x.confidence):
            inc = self._match(s)
            if inc is None:
                inc = Incident(
                    incident_id=f"{self.source}-{next(self._ids)}",
                    source=self.source,
                    kind=s.kind,
                    state="candidate",
                    lat=s.lat,
                    lon=s.lon,
                    error_m=s.error_m,
                    first_seen_s=s.timestamp_s,
                    last_seen_s=s.timestamp_s,
                    confidence=s.confidence,
                    sightings=0,
                    best_frame_id=s.frame_id,
                )
            inc = _absorb(inc, s)
            self.incidents[inc.incident_id] = inc
            seen[inc.incident_id] = inc

        view, proj = _view_polygon(frame)
        changes: list[IncidentChange] = []
        for inc_id, inc in list(self.incidents.items()):
            if inc.state == "closed":
                continue
            was_seen = inc_id in seen
            if not was_seen and not self._in_view(inc, view, proj):
                continue
            state = update(inc.confirmation, was_seen, self.policy)
            new_state = inc.state
            if state.event == "opened":
                new_state = "open"
            elif state.event == "closed":
                new_state = "closed"
            elif not state.active and not any(state.recent):
                del self.incidents[inc_id]  # a candidate that faded without confirmation
                continue
            inc = replace(inc, confirmation=state, state=new_state)
            self.incidents[inc_id] = inc
            if state.event == "opened":
                changes.append(IncidentChange("opened", inc))
            elif state.event == "closed":
                changes.append(IncidentChange("closed", inc))
            elif was_seen and inc.state == "open":
                changes.append(IncidentChange("updated", inc))
        return changes

    def open_incidents(self) -> list[Incident]:
        return [i for i in self.incidents.values() if i.state == "open"]


def _absorb(inc: Incident, s: Sighting) -> Incident:
    """Fold a sighting into an incident: position weighted by precision, best frame by confidence."""
    lat, lon, err = inc.lat, inc.lon, inc.error_m
    if s.lat is not None and s.lon is not None and s.error_m is not None:
        if lat is None or lon is None or err is None or inc.sightings == 0:
            lat, lon, err = s.lat, s.lon, s.error_m
        else:
            wa, wb = 1.0 / err**2, 1.0 / s.error_m**2
            lat = (lat * wa + s.lat * wb) / (wa + wb)
            lon = (lon * wa + s.lon * wb) / (wa + wb)
            # the GPS part of the error is shared between frames: never below the better sighting's half
            err = max(math.sqrt(1.0 / (wa + wb)), min(err, s.error_m) / 2)
    best = s.frame_id if s.confidence >= inc.confidence else inc.best_frame_id
    return replace(
        inc,
        lat=lat,
        lon=lon,
        error_m=err,
        last_seen_s=max(inc.last_seen_s, s.timestamp_s),
        confidence=max(inc.confidence, s.confidence),
        sightings=inc.sightings + 1,
        best_frame_id=best,
    )


def _view_polygon(frame: LiveFrame) -> tuple[Polygon | None, LocalProjection | None]:
    pose = frame.pose
    if pose is None:
        return None, None
    w, h = frame.width_height
    ring = footprint(pose.lat, pose.lon, pose.heading_deg, pose.camera(w, h), max_range_m=500.0)
    if len(ring) < 3:
        return None, None
    proj = LocalProjection(pose.lat, pose.lon)
    return Polygon([proj.to_xy(lat, lon) for lat, lon in ring]), proj


Publish = Callable[[str, dict[str, Any]], object]


class LivePipeline:
    """Detector + optional scene classifier + incident tracking for one live source, publishing changes."""

    def __init__(
        self,
        source: str,
        detector: Detector | None,
        *,
        classifier: Any | None = None,
        publish: Publish | None = None,
        policy: ConfirmationPolicy = ConfirmationPolicy(),
        radius_m: float = 40.0,
        scene_threshold: float = 0.6,
        kinds: Sequence[str] = ("fire", "smoke", "landslide", "flood"),
    ) -> None:
        self.detector = detector
        self.classifier = classifier
        self.publish = publish
        self.kinds = set(kinds)
        self.scene_threshold = scene_threshold
        self.tracker = IncidentTracker(source, policy, radius_m)

    def process(self, frames: Sequence[LiveFrame]) -> list[IncidentChange]:
        """Run one batch of frames (in time order) and publish every incident change."""
        if not frames:
            return []
        images = [f.image for f in frames if f.image is not None]
        if len(images) != len(frames):
            raise ValueError("LivePipeline.process needs the frames' images")
        dets = self.detector.predict(images) if self.detector is not None else [None] * len(frames)
        scenes: list[list[tuple[str, float]]] = [[] for _ in frames]
        if self.classifier is not None:
            from vision.classifier import classify

            for i, result in enumerate(classify(self.classifier, images)):
                wanted = result.label in SCENE_KINDS and result.label in self.kinds
                if wanted and result.confidence >= self.scene_threshold:
                    scenes[i].append((result.label, result.confidence))
        changes: list[IncidentChange] = []
        for frame, d, scene in zip(frames, dets, scenes, strict=True):
            boxes = []
            if d is not None:
                for i in range(len(d)):
                    kind = d.class_name(i)
                    if kind in self.kinds:
                        x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
                        boxes.append((kind, float(d.confidence[i]), (x1, y1, x2, y2)))
            sightings = sightings_in_frame(frame, boxes, scene)
            frame_changes = self.tracker.observe(frame, sightings)
            changes.extend(frame_changes)
            if self.publish is not None:
                for change in frame_changes:
                    self.publish("incidents", {"event": change.event, **change.incident.as_event()})
        return changes
