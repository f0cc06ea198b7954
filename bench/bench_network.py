"""Road network: what map matching and fixed units change, measured side by side on synthetic drives.

    python bench/bench_network.py [--seeds 20]

For `--seeds` pairs of drives of one 450 m street (tests/network_drives.py: opposite directions,
different starts, wandering GPS of about 1.5 m) it reports:

- units both surveys graded: per-drive 100 m segments (no network) that cover the same road
  (start within 5 m) versus network units;
- defects whose fate (new, grown, shrunk, unchanged, not seen again) comes out right;
- fixes put on the wrong street by nearest-segment matching versus the HMM matcher, for a
  drive along one of two parallel streets 12 m apart with 4 m GPS noise;
- the time to put one survey on the network.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tenken.geo import offset_latlon
from tenken.network.compare import compare_surveys
from tenken.network.history import load_snapshot
from tenken.network.matching import match_track
from tenken.network.units import NetworkRoute
from tenken.store import network as netstore
from tenken.store.db import Store
from tests.network.test_compare_surveys import _fates
from tests.network_drives import (
    DRIVE_A,
    DRIVE_B,
    EXPECTED,
    beside,
    drive_poses,
    network_routes,
    store_drive,
)
from vision.road.network_jobs import locate_stored_survey
from vision.road.route import cut_route


def shared_drive_segments(a, b) -> int:
    """Per-drive segments of A whose start lies within 5 m of the start of one of B's."""
    pa, _, _ = drive_poses(a)
    pb, _, _ = drive_poses(b)
    sa = cut_route([(p.lat, p.lon) for p in pa])
    sb = cut_route([(p.lat, p.lon) for p in pb])
    from tenken.geo import distance_m

    return sum(any(distance_m(*x.line[0], *y.line[0]) < 5.0 for y in sb) for x in sa)


def parallel_streets(seed: int) -> tuple[int, int, int]:
    rng = random.Random(seed)
    north = NetworkRoute("N", "north", tuple(beside(float(s), -6.0) for s in range(0, 401, 10)))
    south = NetworkRoute("S", "south", tuple(beside(float(s), 6.0) for s in range(0, 401, 10)))
    fixes = [
        offset_latlon(*beside(float(s), 6.0), rng.gauss(0, 4.0), rng.gauss(0, 4.0)) for s in range(0, 400, 4)
    ]
    naive = sum(min((north, south), key=lambda r: abs(r.locate(*f)[1])).route_id != "S" for f in fixes)
    hmm = sum(m.route_id != "S" for m in match_track(fixes, [north, south]))
    return naive, hmm, len(fixes)


def city_grid(seed: int) -> tuple[int, int, int, float]:
    """A 3 km drive with a turn through a 25 km grid of 500 streets 100 m apart, 3 m GPS noise."""
    lat0, lon0 = 35.6, 140.1
    routes = []
    for i in range(250):
        routes.append(
            NetworkRoute(
                f"EW{i}", "", tuple(offset_latlon(lat0, lon0, x, i * 100.0) for x in range(0, 25001, 250))
            )
        )
        routes.append(
            NetworkRoute(
                f"NS{i}", "", tuple(offset_latlon(lat0, lon0, i * 100.0, y) for y in range(0, 25001, 250))
            )
        )
    rng = random.Random(seed)
    fixes = [
        offset_latlon(lat0, lon0, x + rng.gauss(0, 3), 1000 + rng.gauss(0, 3)) for x in range(0, 1500, 4)
    ]
    fixes += [
        offset_latlon(lat0, lon0, 1500 + rng.gauss(0, 3), 1000 + y + rng.gauss(0, 3))
        for y in range(0, 1500, 4)
    ]
    truth = ["EW10"] * 375 + ["NS15"] * 375
    near = [
        r
        for r in routes
        if r.route_id in {f"EW{i}" for i in range(5, 16)} | {f"NS{i}" for i in range(10, 21)}
    ]
    naive = sum(
        min(near, key=lambda r: abs(r.locate(*f)[1])).route_id != t for f, t in zip(fixes, truth, strict=True)
    )
    t0 = time.perf_counter()
    matched = match_track(fixes, routes)
    elapsed = time.perf_counter() - t0
    hmm = sum(m.route_id != t for m, t in zip(matched, truth, strict=True))
    return naive, hmm, len(fixes), elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=20)
    args = parser.parse_args()
    shared_seg = shared_units = total_units = right = total = naive_wrong = hmm_wrong = n_fixes = 0
    locate_s: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for seed in range(args.seeds):
            a, b = replace(DRIVE_A, seed=100 + seed), replace(DRIVE_B, seed=200 + seed)
            shared_seg += shared_drive_segments(a, b)
            store = Store(f"sqlite:///{tmp}/s{seed}.sqlite3")
            ids = store_drive(store, a), store_drive(store, b)
            with store.session() as s:
                netstore.replace_network(s, network_routes())
                for job_id in ids:
                    t = time.perf_counter()
                    locate_stored_survey(s, job_id)
                    locate_s.append(time.perf_counter() - t)
                comparison = compare_surveys(load_snapshot(s, ids[0]), load_snapshot(s, ids[1]))
            store.dispose()
            both = [u for u in comparison.units if u.then and u.now]
            shared_units += len(both)
            total_units += len(comparison.units)
            fates = _fates(comparison)
            right += sum(fates.get(k) == v for k, v in EXPECTED.items())
            total += len(EXPECTED)
            naive, hmm, n = parallel_streets(seed)
            naive_wrong, hmm_wrong, n_fixes = naive_wrong + naive, hmm_wrong + hmm, n_fixes + n
    grid = [city_grid(seed) for seed in range(min(args.seeds, 5))]
    print(f"pairs of drives: {args.seeds}")
    print(
        f"units graded by both surveys: per-drive segments {shared_seg}, "
        f"network units {shared_units} of {total_units}"
    )
    print(f"defect fates right: {right} of {total}")
    print(
        f"fixes on the wrong parallel street: nearest segment {naive_wrong}, HMM {hmm_wrong} (of {n_fixes})"
    )
    print(
        f"city grid, fixes on the wrong street: nearest segment {sum(g[0] for g in grid)}, "
        f"HMM {sum(g[1] for g in grid)} (of {sum(g[2] for g in grid)}, at crossings); "
        f"matching one 3 km drive on 500 routes: {1000 * sum(g[3] for g in grid) / len(grid):.0f} ms"
    )
    locate_s.sort()
    print(
        f"put one survey on the network: median {1000 * locate_s[len(locate_s) // 2]:.0f} ms "
        "(about 110 fixes, 9 defects)"
    )


if __name__ == "__main__":
    main()
