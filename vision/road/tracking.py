"""Linking detections across frames: a tracker for a static world, associating on the ground.

Road defects do not move: between two sampled frames a few metres apart their boxes jump and grow,
so image-space IoU links them poorly, but their ground positions agree. Each track keeps the
confidence-weighted mean of its ground positions; new observations join the nearest track of the
same class within a gate (Hungarian assignment), otherwise start a new one.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import linear_sum_assignment

from tenken.findings import Observation
from tenken.geo import LocalProjection

_NO_MATCH = 1e9


@dataclass
class _Track:
    track_id: int
    class_name: str
    sum_w: float
    sum_x: float
    sum_y: float
    last_frame: int
    last_seen_s: float

    @property
    def xy(self) -> tuple[float, float]:
        return self.sum_x / self.sum_w, self.sum_y / self.sum_w

    def add(self, x: float, y: float, weight: float, frame: int, seen_s: float) -> None:
        self.sum_w += weight
        self.sum_x += weight * x
        self.sum_y += weight * y
        self.last_frame = frame
        self.last_seen_s = seen_s


@dataclass(frozen=True)
class ClosedTrack:
    """A track that can take no more observations: where it is and its most confident observation."""

    track_id: int
    class_name: str
    xy: tuple[float, float]  # confidence-weighted centre, metres in the tracker's local plane
    best_key: int
    best_confidence: float


class Tracker:
    """The tracker fed frame by frame, so a survey can act on tracks as soon as they close.

    `add_frame` takes one frame's observations (frames in order); `closed_tracks` names the tracks
    that can take no more observations, each with its most confident observation.
    """

    def __init__(self, *, gate_m: float = 4.0, max_gap_s: float = 4.0) -> None:
        self.gate_m, self.max_gap_s = gate_m, max_gap_s
        self._proj: LocalProjection | None = None
        self._tracks: list[_Track] = []
        # Frames come in time order, so a track past `max_gap_s` never matches again: each frame
        # looks only at the live ones, and `closed_tracks` only at those not yet reported.
        self._live: list[_Track] = []
        self._unreported: list[_Track] = []
        self._best: list[tuple[float, int]] = []  # per track: (confidence, key of that observation)
        self.track_of: list[int] = []  # per observation added, in order: its track id

    def add_frame(self, frame: int, observations: Sequence[Observation], keys: Sequence[int] = ()) -> None:
        """Link one frame's observations; `keys` (default: running indices) name them in `closed_tracks`."""
        if not observations:
            return
        if self._proj is None:
            self._proj = LocalProjection(observations[0].lat, observations[0].lon)
        first = len(self.track_of)
        keys = list(keys) or list(range(first, first + len(observations)))
        now_s = observations[0].timestamp_s
        self._live = [t for t in self._live if now_s - t.last_seen_s <= self.max_gap_s]
        active = list(self._live)
        xy = [self._proj.to_xy(o.lat, o.lon) for o in observations]
        cost = np.full((len(observations), max(len(active), 1)), _NO_MATCH)
        for r, obs in enumerate(observations):
            for c, track in enumerate(active):
                if track.class_name != obs.class_name:
                    continue
                tx, ty = track.xy
                d = float(np.hypot(xy[r][0] - tx, xy[r][1] - ty))
                if d <= self.gate_m:
                    cost[r, c] = d
        assigned: dict[int, int] = {}
        if active:
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] < _NO_MATCH:
                    obs = observations[r]
                    active[c].add(*xy[r], obs.confidence, frame, obs.timestamp_s)
                    assigned[r] = active[c].track_id
        for r, obs in enumerate(observations):
            if r not in assigned:
                track = _Track(
                    len(self._tracks), obs.class_name, obs.confidence, 0.0, 0.0, frame, obs.timestamp_s
                )
                track.sum_x, track.sum_y = xy[r][0] * obs.confidence, xy[r][1] * obs.confidence
                self._tracks.append(track)
                self._live.append(track)
                self._unreported.append(track)
                self._best.append((-1.0, -1))
                assigned[r] = track.track_id
            tid = assigned[r]
            self.track_of.append(tid)
            if obs.confidence > self._best[tid][0]:  # the first of equals, as `max` picks
                self._best[tid] = (obs.confidence, keys[r])

    def closed_tracks(self, now_s: float) -> list[ClosedTrack]:
        """Tracks closed by `now_s` (not seen for more than `max_gap_s`), each reported once."""
        out = []
        still_open = []
        for track in self._unreported:
            if now_s - track.last_seen_s > self.max_gap_s:
                confidence, key = self._best[track.track_id]
                out.append(ClosedTrack(track.track_id, track.class_name, track.xy, key, confidence))
            else:
                still_open.append(track)
        self._unreported = still_open
        return out


def link_observations(
    observations: Sequence[Observation],
    *,
    gate_m: float = 4.0,
    max_gap_s: float = 4.0,
) -> list[Observation]:
    """The same observations with `track_id` set; input must be in frame order.

    A track not seen for `max_gap_s` seconds is closed: passing the same place again later starts
    new tracks, which the map-space merge then joins.
    """
    tracker = Tracker(gate_m=gate_m, max_gap_s=max_gap_s)
    by_frame: dict[int, list[int]] = {}
    for idx, obs in enumerate(observations):
        by_frame.setdefault(obs.frame_index, []).append(idx)
    track_of: dict[int, int] = {}
    for frame in sorted(by_frame):
        members = by_frame[frame]
        start = len(tracker.track_of)
        tracker.add_frame(frame, [observations[i] for i in members])
        track_of.update(zip(members, tracker.track_of[start:], strict=True))
    return [dataclasses.replace(o, track_id=track_of[i]) for i, o in enumerate(observations)]
