"""`EvidenceAhead` groups closed tracks as the map-space merge will, at a cost that grows with the
tracks nearby rather than with every track so far, and starts the same crops as the plain rule."""

from __future__ import annotations

import math
import random
from concurrent.futures import Future

import pytest

from vision.road.survey_overlap import EvidenceAhead
from vision.road.tracking import ClosedTrack

RADIUS_M = 3.0


class Recorder:
    """A pool that starts nothing (so every cancel succeeds) and records what was asked of it."""

    def __init__(self) -> None:
        self.log: list[tuple[str, int]] = []

    def submit(self, fn, crop, box) -> Future:
        self.log.append(("start", crop))
        future: Future = Future()
        future.add_done_callback(lambda f: self.log.append(("cancel", crop)))
        return future

    def shutdown(self, **kwargs) -> None:
        pass


def grouped(tracks: list[ClosedTrack]) -> tuple[list[tuple[str, int]], set[int]]:
    """(crops started and cancelled, in order; crops kept) when `tracks` close in this order."""
    ahead = EvidenceAhead(gate_m=4.0, merge_radius_m=RADIUS_M, workers=1)
    ahead._pool.shutdown()
    pool = ahead._pool = Recorder()  # type: ignore[assignment]
    for t in tracks:
        ahead._keys.append((t.best_key, 0))
        ahead._pending[t.best_key] = (t.best_key, (0, 0, 1, 1))  # type: ignore[assignment]
        ahead._join(t)
    return pool.log, {frame for frame, _ in ahead.crops}


def plain_rule(tracks: list[ClosedTrack]) -> tuple[list[tuple[str, int]], set[int]]:
    """The grouping spelled out: every new track against every centre of every group so far."""
    log: list[tuple[str, int]] = []
    kept: set[int] = set()
    groups: list[tuple[str, list[tuple[float, float]], int, float]] = []
    for t in tracks:
        near = [
            g for g in groups if g[0] == t.class_name and any(math.dist(c, t.xy) <= RADIUS_M for c in g[1])
        ]
        centres, best, conf = [t.xy], t.best_key, t.best_confidence
        for g in near:
            groups.remove(g)
            centres += g[1]
            dropped = best if g[3] >= conf else g[2]
            if g[3] >= conf:
                best, conf = g[2], g[3]
            if dropped in kept:
                kept.discard(dropped)
                log.append(("cancel", dropped))
        groups.append((t.class_name, centres, best, conf))
        if best not in kept:
            kept.add(best)
            log.append(("start", best))
    return log, kept


def random_tracks(seed: int, n: int, span_m: float) -> list[ClosedTrack]:
    rng = random.Random(seed)
    return [
        ClosedTrack(
            track_id=i,
            class_name=rng.choice(["D00", "D40"]),
            xy=(rng.uniform(-span_m, span_m), rng.uniform(-2.0, 2.0)),
            best_key=i,
            best_confidence=rng.choice([0.3, 0.5, 0.5, 0.7, 0.9]),  # ties: the later group's crop wins
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("seed", range(20))
def test_the_grid_groups_tracks_and_picks_crops_as_the_plain_rule_does(seed):
    tracks = random_tracks(seed, n=300, span_m=60.0)  # dense: chains of tracks join into long groups
    assert grouped(tracks) == plain_rule(tracks)


def test_tracks_exactly_one_radius_apart_across_cell_edges_join_into_one_group():
    xs = [0.0, RADIUS_M, 2 * RADIUS_M, -RADIUS_M, 3 * RADIUS_M + 1e-9]  # the last is just too far
    tracks = [ClosedTrack(k, "D40", (x, 0.0), k, 0.1 * (k + 1)) for k, x in enumerate(xs)]
    log, kept = grouped(tracks)
    assert (log, kept) == plain_rule(tracks)
    assert kept == {3, 4}


def test_each_track_is_compared_with_the_centres_near_it_not_every_centre(monkeypatch):
    checks = 0
    dist = math.dist

    def counted(a, b):
        nonlocal checks
        checks += 1
        return dist(a, b)

    tracks = [ClosedTrack(k, "D40", (10.0 * k, 0.0), k, 0.5) for k in range(2000)]  # 20 km of road
    monkeypatch.setattr(math, "dist", counted)
    _, kept = grouped(tracks)
    assert len(kept) == 2000
    assert checks <= 3 * len(tracks)  # comparing with every earlier centre takes 2 million
