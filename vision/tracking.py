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
    if not observations:
        return []
    proj = LocalProjection(observations[0].lat, observations[0].lon)
    frames = sorted({o.frame_index for o in observations})
    by_frame: dict[int, list[int]] = {}
    for idx, obs in enumerate(observations):
        by_frame.setdefault(obs.frame_index, []).append(idx)

    tracks: list[_Track] = []
    assigned: dict[int, int] = {}
    for frame in frames:
        members = by_frame[frame]
        now_s = observations[members[0]].timestamp_s
        active = [t for t in tracks if now_s - t.last_seen_s <= max_gap_s]
        xy = [proj.to_xy(observations[i].lat, observations[i].lon) for i in members]
        cost = np.full((len(members), max(len(active), 1)), _NO_MATCH)
        for r, i in enumerate(members):
            for c, track in enumerate(active):
                if track.class_name != observations[i].class_name:
                    continue
                tx, ty = track.xy
                d = float(np.hypot(xy[r][0] - tx, xy[r][1] - ty))
                if d <= gate_m:
                    cost[r, c] = d
        matched: set[int] = set()
        if active:
            rows, cols = linear_sum_assignment(cost)
            for r, c in zip(rows, cols, strict=True):
                if cost[r, c] < _NO_MATCH:
                    obs = observations[members[r]]
                    active[c].add(*xy[r], obs.confidence, frame, obs.timestamp_s)
                    assigned[members[r]] = active[c].track_id
                    matched.add(r)
        for r, i in enumerate(members):
            if r in matched:
                continue
            obs = observations[i]
            track = _Track(len(tracks), obs.class_name, obs.confidence, 0.0, 0.0, frame, obs.timestamp_s)
            track.sum_x, track.sum_y = xy[r][0] * obs.confidence, xy[r][1] * obs.confidence
            tracks.append(track)
            assigned[i] = track.track_id
    return [dataclasses.replace(o, track_id=assigned[i]) for i, o in enumerate(observations)]
