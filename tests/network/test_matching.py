"""Map matching: noisy drives in either direction, crossings, leaving the network, several routes."""

from __future__ import annotations

import math
from itertools import pairwise

from tenken.geo import offset_latlon
from tenken.network.matching import match_track
from tenken.network.units import NetworkRoute
from tests.network_drives import (
    CROSSING_AT_M,
    DRIVE_A,
    DRIVE_B,
    STREET_START_M,
    beside,
    drive_poses,
    network_routes,
)


def _fixes(drive):
    poses, stations, _ = drive_poses(drive)
    return [(p.lat, p.lon) for p in poses], stations


def test_every_fix_of_a_noisy_drive_is_placed_on_its_street_within_the_gps_error():
    fixes, stations = _fixes(DRIVE_A)
    matched = match_track(fixes, network_routes())
    assert [m.route_id for m in matched] == ["R1"] * len(fixes)
    errors = [abs(m.distance_m - (STREET_START_M + s)) for m, s in zip(matched, stations, strict=True)]
    assert max(errors) < 5.0


def test_the_crossing_street_never_takes_a_fix_of_a_drive_straight_through_the_crossing():
    fixes, stations = _fixes(DRIVE_A)
    matched = match_track(fixes, network_routes())
    near_crossing = [m for m, s in zip(matched, stations, strict=True) if abs(s - CROSSING_AT_M) < 20]
    assert near_crossing and {m.route_id for m in near_crossing} == {"R1"}


def test_a_drive_in_the_other_direction_gets_the_same_route_distances():
    fixes, stations = _fixes(DRIVE_B)
    matched = match_track(fixes, network_routes())
    on = [(m, s) for m, s in zip(matched, stations, strict=True) if s >= 10]
    assert {m.route_id for m, _ in on} == {"R1"}
    assert max(abs(m.distance_m - (STREET_START_M + s)) for m, s in on) < 5.0


def test_fixes_far_beyond_the_end_of_the_network_are_off_it():
    fixes, stations = _fixes(DRIVE_B)
    matched = match_track(fixes, network_routes())
    far_off = [m for m, s in zip(matched, stations, strict=True) if s < -35]
    assert far_off and all(m.route_id is None for m in far_off)


def test_a_drive_that_turns_at_the_crossing_follows_both_routes():
    # along R1 to the crossing, then right along R2
    path = [beside(float(s), 0.0) for s in range(100, int(CROSSING_AT_M), 4)]
    path += [beside(CROSSING_AT_M, float(r)) for r in range(0, 120, 4)]
    noisy = [
        offset_latlon(lat, lon, 2.0 * math.sin(i / 7), 2.0 * math.cos(i / 5))
        for i, (lat, lon) in enumerate(path)
    ]
    matched = match_track(noisy, network_routes())
    ids = [m.route_id for m in matched]
    assert ids[:20] == ["R1"] * 20 and ids[-20:] == ["R2"] * 20
    switches = sum(1 for a, b in pairwise(ids) if a != b)
    assert switches == 1


def test_nearest_segment_per_fix_would_jump_where_the_matcher_does_not():
    # Two parallel streets 12 m apart; GPS noise pushes some fixes nearer the wrong one.
    north = NetworkRoute("N", "north", tuple(beside(float(s), -6.0) for s in range(0, 301, 10)))
    south = NetworkRoute("S", "south", tuple(beside(float(s), 6.0) for s in range(0, 301, 10)))
    fixes = [beside(float(s), 6.0 + (-7.5 if s % 40 == 0 else 1.0)) for s in range(0, 300, 4)]
    nearest = [min((north, south), key=lambda r: abs(r.locate(*f)[1])).route_id for f in fixes]
    assert "N" in nearest  # the naive rule is fooled
    assert {m.route_id for m in match_track(fixes, [north, south])} == {"S"}
