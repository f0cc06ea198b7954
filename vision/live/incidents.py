"""Sightings -> incidents: one physical fire is one incident for the whole flight.

Sightings of the same kind within `radius_m` of an incident, or cut by the view's edge with a box
that covers it on the ground (an object larger than the view), are that incident, whichever drone saw
them and whether the incident is open, still a candidate or closed (a closed one re-opens, under the
same id, once seen again in enough frames). An incident opens only when seen in enough recent frames
and closes only after it has been in view and unseen for long enough (`vision.live.confirmation`); one
out of the camera's view keeps its state: a drone flying on does not close a fire it no longer sees.
A sighting without a position (telemetry stopped) belongs to the incident of its kind its drone saw
last, within `UNPLACED_JOIN_S`; only a camera without telemetry has incidents without a position.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from shapely.geometry import Point, Polygon
from shapely.geometry.base import BaseGeometry

from tenken.geo import LocalProjection, distance_m, footprint
from vision.live.confirmation import ConfirmationPolicy, IncidentState, update
from vision.live.sightings import MAX_GROUND_RANGE_M, LiveFrame, Sighting

DEFAULT_RADIUS_M = 40.0
# How long after a placed incident was last seen a sighting without a position from the same drone
# is still taken for it rather than opening an incident of its own.
UNPLACED_JOIN_S = 30.0
EXTENT_TOLERANCE_DEG = 2e-6  # ~0.2 m: how much an incident's extent outline may be simplified


@dataclass(frozen=True)
class Incident:
    incident_id: str
    source: str  # the drone that saw it first
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
    moments: _Moments | None = field(default=None, repr=False)  # the sightings' weighted positions
    best_sighting_error_m: float | None = field(default=None, repr=False)
    shared_error_m: float = field(default=0.0, repr=False)
    # Ground covered by its sightings cut by the view's edge, (lon, lat): an object larger than the view
    extent: BaseGeometry | None = field(default=None, repr=False)

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
    event: str  # "opened" (also a closed incident seen again), "updated" or "closed"
    incident: Incident


class IncidentTracker:
    """Turns each frame's sightings into incident changes. Pure (no I/O, no clock) and thread-safe, so
    the pipelines of several drones can share one tracker and so one map of incidents."""

    def __init__(
        self,
        source: str,
        policy: ConfirmationPolicy = ConfirmationPolicy(),
        radius_m: float = DEFAULT_RADIUS_M,
        unplaced_join_s: float = UNPLACED_JOIN_S,
    ) -> None:
        self.source = source  # the prefix of incident ids
        self.policy = policy
        self.radius_m = radius_m
        self.unplaced_join_s = unplaced_join_s
        self.incidents: dict[str, Incident] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    def _match(self, s: Sighting, source: str) -> Incident | None:
        if s.lat is None or s.lon is None:
            return self._match_unplaced(s, source)
        best: tuple[float, Incident] | None = None
        for inc in self.incidents.values():
            if inc.kind != s.kind:
                continue
            if inc.lat is None or inc.lon is None:
                continue
            d = distance_m(inc.lat, inc.lon, s.lat, s.lon)
            if d <= self.radius_m and (best is None or d < best[0]):
                best = (d, inc)
        if best is None and len(s.ground_ring) >= 3:  # cut by the view's edge: does it reach one?
            covered = _lonlat_polygon(s.ground_ring)
            for inc in self.incidents.values():
                if inc.kind != s.kind or inc.lat is None or inc.lon is None:
                    continue
                reached = covered.contains(Point(inc.lon, inc.lat)) or (
                    inc.extent is not None and covered.intersects(inc.extent)
                )
                if reached:
                    d = distance_m(inc.lat, inc.lon, s.lat, s.lon)
                    if best is None or d < best[0]:
                        best = (d, inc)
        return best[1] if best else None

    def _match_unplaced(self, s: Sighting, source: str) -> Incident | None:
        """A sighting without a position (no pose, or one too old) from `source`: its own unplaced
        incident of that kind (a fixed camera: one per kind), else the incident of that kind it saw
        last, if within `unplaced_join_s` (telemetry stopped while the camera still looks at the fire:
        the same fire, not a second incident). It never moves a placed incident."""
        recent: Incident | None = None
        for inc in self.incidents.values():
            if inc.kind != s.kind or inc.source != source:
                continue
            if inc.lat is None:
                return inc
            if s.timestamp_s - inc.last_seen_s <= self.unplaced_join_s and (
                recent is None or inc.last_seen_s > recent.last_seen_s
            ):
                recent = inc
        return recent

    def observe(self, frame: LiveFrame, sightings: Sequence[Sighting]) -> list[IncidentChange]:
        """Feed one frame's sightings; returns what changed (openings, updates of open ones, closings)."""
        with self._lock:
            return self._observe(frame, sightings)

    def _observe(self, frame: LiveFrame, sightings: Sequence[Sighting]) -> list[IncidentChange]:
        seen: set[str] = set()
        for s in sorted(sightings, key=lambda x: -x.confidence):
            if s.error_m is not None and s.error_m > self.radius_m:
                continue  # too uncertain to say which incident it is (a fast turn, a far oblique view)
            inc = self._match(s, frame.source)
            if inc is None:
                inc = Incident(
                    incident_id=f"{self.source}-{next(self._ids)}",
                    source=frame.source,
                    kind=s.kind,
                    state="candidate",
                    lat=None,
                    lon=None,
                    error_m=None,
                    first_seen_s=s.timestamp_s,
                    last_seen_s=s.timestamp_s,
                    confidence=s.confidence,
                    sightings=0,
                    best_frame_id=s.frame_id,
                )
            inc = absorb(inc, s)
            self.incidents[inc.incident_id] = inc
            seen.add(inc.incident_id)

        view = _view_polygon(frame)
        changes: list[IncidentChange] = []
        for inc_id, inc in list(self.incidents.items()):
            was_seen = inc_id in seen
            if not was_seen and (inc.state == "closed" or not _in_view(inc, frame, view)):
                continue
            state = update(inc.confirmation, was_seen, self.policy)
            new_state = inc.state
            if state.event == "opened":
                new_state = "open"
            elif state.event == "closed":
                new_state = "closed"
            elif inc.state == "candidate" and not state.active and not any(state.recent):
                del self.incidents[inc_id]  # a candidate that faded without confirmation
                continue
            inc = replace(inc, confirmation=state, state=new_state)
            self.incidents[inc_id] = inc
            if state.event is not None:
                changes.append(IncidentChange(state.event, inc))
            elif was_seen and inc.state == "open":
                changes.append(IncidentChange("updated", inc))
        return changes

    def open_incidents(self) -> list[Incident]:
        with self._lock:
            return [i for i in self.incidents.values() if i.state == "open"]


def absorb(inc: Incident, s: Sighting) -> Incident:
    """Fold a sighting into an incident: position weighted by precision, best frame by confidence.

    The error (ce) keeps the part all sightings share (the drone's GNSS error), which averaging does
    not reduce, shrinks the independent part (box, attitude, heading, timing) with more sightings,
    and adds how far the sightings scatter around the mean (a large or partly seen object). Box
    errors are not truly independent (a model that boxes a whole smoky view does so every frame),
    so it never claims less than half the best single sighting's error.
    """
    lat, lon, err = inc.lat, inc.lon, inc.error_m
    moments, shared, best_error = inc.moments, inc.shared_error_m, inc.best_sighting_error_m
    if s.lat is not None and s.lon is not None and s.error_m is not None:
        own = math.sqrt(max(s.error_m**2 - s.shared_error_m**2, 0.25))  # at least 0.5 m per sighting
        w = 1.0 / own**2
        if moments is None:
            moments = _Moments(s.lat, s.lon)
            shared = s.shared_error_m
        else:
            shared = min(shared, s.shared_error_m)
        moments = moments.add(s.lat, s.lon, w)
        lat, lon = moments.mean_latlon()
        best_error = s.error_m if best_error is None else min(best_error, s.error_m)
        err = max(math.sqrt(shared**2 + 1.0 / moments.w + moments.scatter_m2()), best_error / 2)
    extent = inc.extent
    if len(s.ground_ring) >= 3:
        seen = _lonlat_polygon(s.ground_ring)
        extent = seen if extent is None else extent.union(seen).simplify(EXTENT_TOLERANCE_DEG)
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
        moments=moments,
        shared_error_m=shared,
        best_sighting_error_m=best_error,
        extent=extent,
    )


def _lonlat_polygon(ring: Sequence[tuple[float, float]]) -> Polygon:
    """A (lat, lon) ring as a shapely polygon in (lon, lat); repaired when the ring crosses itself."""
    polygon = Polygon([(lon, lat) for lat, lon in ring])
    return polygon if polygon.is_valid else polygon.buffer(0)


@dataclass(frozen=True)
class _Moments:
    """Precision-weighted sums of sighting positions in metres around the first sighting."""

    lat0: float
    lon0: float
    w: float = 0.0
    wx: float = 0.0
    wy: float = 0.0
    wrr: float = 0.0

    def add(self, lat: float, lon: float, weight: float) -> _Moments:
        x, y = LocalProjection(self.lat0, self.lon0).to_xy(lat, lon)
        return replace(
            self,
            w=self.w + weight,
            wx=self.wx + weight * x,
            wy=self.wy + weight * y,
            wrr=self.wrr + weight * (x * x + y * y),
        )

    def mean_latlon(self) -> tuple[float, float]:
        return LocalProjection(self.lat0, self.lon0).to_latlon(self.wx / self.w, self.wy / self.w)

    def scatter_m2(self) -> float:
        """Weighted mean squared distance of the sightings from their mean."""
        mx, my = self.wx / self.w, self.wy / self.w
        return max(self.wrr / self.w - mx * mx - my * my, 0.0)


def _in_view(inc: Incident, frame: LiveFrame, view: Polygon | None) -> bool:
    if inc.lat is None or inc.lon is None:
        return inc.source == frame.source and frame.pose is None  # a fixed camera sees all it ever saw
    if view is None:
        return False  # a frame without a pose cannot say what it does not see
    return bool(view.contains(Point(inc.lon, inc.lat)))


def _view_polygon(frame: LiveFrame) -> Polygon | None:
    """The frame's ground footprint in (lon, lat), as incident extents are; None without a pose."""
    pose = frame.pose
    if pose is None:
        return None
    w, h = frame.width_height
    ring = footprint(pose.lat, pose.lon, pose.heading_deg, pose.camera(w, h), MAX_GROUND_RANGE_M)
    return _lonlat_polygon(ring) if len(ring) >= 3 else None
