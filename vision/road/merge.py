"""Merging tracked observations in map space, so one physical defect is one `Defect`."""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.spatial import cKDTree

from tenken.findings import Defect, Observation
from tenken.geo import LocalProjection

SeverityRule = Callable[[str, float, float], str]  # (class name, ground size m, confidence) -> severity


@dataclass(frozen=True)
class MergeOptions:
    merge_radius_m: float = 3.0
    min_observations: int = 1
    gps_error_m: float = 3.0


def _find(parent: list[int], i: int) -> int:
    while parent[i] != i:
        parent[i] = parent[parent[i]]
        i = parent[i]
    return i


def cluster_tracks(observations: Sequence[Observation], merge_radius_m: float) -> list[list[Observation]]:
    """Groups of observations: whole tracks, joined when same class and centres within the radius."""
    tracks: dict[int, list[Observation]] = {}
    for obs in observations:
        tracks.setdefault(obs.track_id, []).append(obs)
    ids = sorted(tracks)
    if not ids:
        return []
    proj = LocalProjection(observations[0].lat, observations[0].lon)
    centres = []
    for tid in ids:
        xy = np.array([proj.to_xy(o.lat, o.lon) for o in tracks[tid]])
        w = np.array([o.confidence for o in tracks[tid]])
        centres.append((xy * w[:, None]).sum(axis=0) / w.sum())
    parent = list(range(len(ids)))
    by_class: dict[str, list[int]] = {}
    for k, tid in enumerate(ids):
        by_class.setdefault(tracks[tid][0].class_name, []).append(k)
    for members in by_class.values():  # a k-d tree per class: a long drive has thousands of tracks
        tree = cKDTree(np.array([centres[k] for k in members]).reshape(-1, 2))
        for a, b in sorted(tree.query_pairs(merge_radius_m)):
            parent[_find(parent, members[b])] = _find(parent, members[a])
    groups: dict[int, list[Observation]] = {}
    for k, tid in enumerate(ids):
        groups.setdefault(_find(parent, k), []).extend(tracks[tid])
    return [sorted(g, key=lambda o: o.frame_index) for g in groups.values()]


def ring_size_m(ring: Sequence[tuple[float, float]], proj: LocalProjection | None = None) -> float:
    """The longest extent of a ground outline, in metres (`proj`: any projection near the ring)."""
    if len(ring) < 2:
        return 0.0
    proj = proj or LocalProjection(ring[0][0], ring[0][1])
    pts = [proj.to_xy(lat, lon) for lat, lon in ring]
    return max(math.dist(p, q) for p in pts for q in pts)


def _shift_ring(
    ring: Sequence[tuple[float, float]], proj: LocalProjection, dx: float, dy: float
) -> tuple[tuple[float, float], ...]:
    out = []
    for lat, lon in ring:
        x, y = proj.to_xy(lat, lon)
        out.append(proj.to_latlon(x + dx, y + dy))
    return tuple(out)


def defect_from_cluster(
    defect_id: int,
    cluster: Sequence[Observation],
    severity_of: SeverityRule,
    gps_error_m: float,
    proj: LocalProjection | None = None,
) -> Defect:
    """One defect at the confidence- and precision-weighted mean of its observations.

    `proj` is a metric plane near the cluster (building one costs milliseconds: share it).
    """
    proj = proj or LocalProjection(cluster[0].lat, cluster[0].lon)
    xy = np.array([proj.to_xy(o.lat, o.lon) for o in cluster])
    geom_err = np.array([math.sqrt(max(o.error_m**2 - gps_error_m**2, 1e-6)) for o in cluster])
    w = np.array([o.confidence for o in cluster]) / geom_err**2
    mean = (xy * w[:, None]).sum(axis=0) / w.sum()
    spread = float(np.sqrt((((xy - mean) ** 2).sum(axis=1) * w).sum() / w.sum()))
    # GPS error is shared by neighbouring frames, so it does not shrink with more observations.
    geom = float(1.0 / math.sqrt((1.0 / geom_err**2).sum()))
    error_m = math.sqrt(gps_error_m**2 + geom**2 + spread**2)
    best = max(cluster, key=lambda o: o.confidence)
    bx, by = proj.to_xy(best.lat, best.lon)
    ring = _shift_ring(best.ground_ring, proj, mean[0] - bx, mean[1] - by) if best.ground_ring else ()
    lat, lon = proj.to_latlon(float(mean[0]), float(mean[1]))
    confidence = float(np.mean(sorted((o.confidence for o in cluster), reverse=True)[:3]))
    return Defect(
        defect_id=defect_id,
        class_name=best.class_name,
        severity=severity_of(best.class_name, ring_size_m(ring, proj), confidence),
        lat=lat,
        lon=lon,
        error_m=round(error_m, 2),
        first_frame=cluster[0].frame_index,
        last_frame=cluster[-1].frame_index,
        n_observations=len(cluster),
        confidence=round(confidence, 4),
        ground_ring=ring,
        best_frame=best.frame_index,
    )


def merge_observations(
    observations: Sequence[Observation], severity_of: SeverityRule, options: MergeOptions = MergeOptions()
) -> tuple[list[Defect], list[list[Observation]]]:
    """Defects (numbered by first sighting) and, for each, the observations it was merged from."""
    clusters = [
        c for c in cluster_tracks(observations, options.merge_radius_m) if len(c) >= options.min_observations
    ]
    clusters.sort(key=lambda c: (c[0].frame_index, c[0].class_name))
    # One plane for the whole survey: an azimuthal projection stays within millimetres over tens of km.
    proj = LocalProjection(observations[0].lat, observations[0].lon) if observations else None
    defects = [
        defect_from_cluster(i + 1, c, severity_of, options.gps_error_m, proj) for i, c in enumerate(clusters)
    ]
    return defects, clusters
