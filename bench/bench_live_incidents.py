"""Incidents against the planted truth: a simulated orbit and survey through the live pipeline.

    python bench/bench_live_incidents.py [--detector fire|colour] [--latency-s 0.15]

The drone flies kinematically over the synthetic world (`drone.sim.mission_frames`), its telemetry
arrives at 2 Hz and `--latency-s` late, frames are sampled every 0.2 s and run through the live
pipeline with the shipped fire model and scene classifier (as `tenken serve --live` does) or the
tests' colour stand-in. Printed per flight: incidents opened per kind against the planted patches,
the position error of the incident nearest each patch and the ce it claimed.

Runs against whatever `vision.live` is importable (PYTHONPATH), so the same script measures the code
before and after a change; `drone/sim/mission_frames.py` is loaded from this checkout either way.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(ROOT))

from drone.missions import CameraFov, orbit, survey_grid  # noqa: E402
from drone.sim.world import PlantedPatch, SyntheticWorld  # noqa: E402
from tenken.geo import distance_m, offset_latlon  # noqa: E402
from vision.live import LiveFrame, LivePipeline  # noqa: E402


def _load(name: str, path: Path) -> Any:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


import tenken.settings  # noqa: E402

# The simulated camera's optics (73.7°) for code from before the settings' drone camera profile.
vars(tenken.settings).setdefault("DRONE_CAMERA_HFOV_DEG", 73.7)
mission_frames = _load("mission_frames", ROOT / "drone" / "sim" / "mission_frames.py")

HOME = (35.6074, 140.1065)


def pose_source(states: list[dict[str, Any]]) -> Any:
    """frame time -> DronePose | None, with this checkout's pose rules (or the old ones)."""
    try:
        from vision.live import PoseHistory, pose_from_state

        history = PoseHistory(max_age_s=2.0)
        for s in states:
            history.add(s)

        def at(t: float) -> Any:
            state = history.state_at(t)
            return pose_from_state(state) if state is not None else None

    except ImportError:  # before the one live pipeline: worker.stream_reader's history, 78° camera
        from vision.live import drone_pose_from_telemetry  # type: ignore[attr-defined]
        from worker.stream_reader import TelemetryHistory  # type: ignore[attr-defined]

        old = TelemetryHistory(None)
        for s in states:
            old.add(s)

        def at(t: float) -> Any:
            state = old.pose_at(t)
            return drone_pose_from_telemetry(state) if state is not None else None

    return at


def pipeline_for(detector_name: str) -> LivePipeline:
    if detector_name == "colour":
        painted = _load("painted_patches", ROOT / "tests" / "drone" / "painted_patches.py")
        return LivePipeline("drone-1", painted.PaintedPatchDetector(), kinds=painted.NAMES)
    from api.live_source import incident_detector
    from vision.models.classifier import load_classifier
    from vision.models.registry import get_model

    classifier = load_classifier(get_model("scene").weights_path())
    return LivePipeline("drone-1", incident_detector("fire", 0.2), classifier=classifier)


def fly(label: str, world: SyntheticWorld, mission: Any, args: argparse.Namespace) -> None:
    states = mission_frames.telemetry_track(mission, telemetry_hz=2.0, latency_s=args.latency_s)
    # After landing the telemetry stops; the camera keeps streaming for a minute.
    at = pose_source(states)
    pipeline = pipeline_for(args.detector)
    opened: dict[str, Any] = {}
    updates = 0
    started = time.perf_counter()
    size = (640, 360) if args.detector == "colour" else (1280, 720)  # the stand-in is tuned at 640 px
    shots = list(mission_frames.fly_mission(world, mission, every_s=0.2, width_px=size[0], height_px=size[1]))
    last = shots[-1]
    shots += [mission_frames.MissionFrame(last.timestamp_s + 0.2 * k, last.image, last.true_pose)
              for k in range(1, 300)]  # fmt: skip
    for i, shot in enumerate(shots):
        for change in pipeline.process(
            [LiveFrame("drone-1", i, shot.timestamp_s, shot.image, at(shot.timestamp_s))]
        ):
            if change.event == "opened":
                opened[change.incident.incident_id] = change.incident
            updates += change.event == "updated"
    final = [pipeline.tracker.incidents.get(k, v) for k, v in opened.items()]
    placed = [i for i in final if i.lat is not None]
    counts = {k: sum(1 for i in placed if i.kind == k) for k in sorted({i.kind for i in placed})}
    unplaced = len(final) - len(placed)
    planted = sorted(p.kind for p in world.patches)
    errors, ces = [], []
    for patch in world.patches:
        mine = [i for i in final if i.kind == patch.kind and i.lat is not None]
        if mine:
            best = min(mine, key=lambda i: distance_m(patch.lat, patch.lon, i.lat, i.lon))
            errors.append(distance_m(patch.lat, patch.lon, best.lat, best.lon))
            ces.append(best.error_m or 0.0)
    print(f"{label}: {len(shots)} frames in {time.perf_counter() - started:.0f} s; planted {planted}; "
          f"placed incidents opened {counts}, unplaced {unplaced}; 'updated' changes {updates}")  # fmt: skip
    if errors:
        print(f"  error to the planted patch: median {statistics.median(errors):.1f} m, "
              f"worst {max(errors):.1f} m; claimed ce {', '.join(f'{c:.1f}' for c in ces)} m; "
              f"error <= ce for "
              f"{sum(e <= c for e, c in zip(errors, ces, strict=True))}/{len(errors)}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detector", choices=("fire", "colour"), default="fire")
    parser.add_argument("--latency-s", type=float, default=0.15, help="Telemetry latency.")
    args = parser.parse_args()
    fire = PlantedPatch("fire", *offset_latlon(*HOME, 4.0, 3.0), 5.0)
    smoke = PlantedPatch("smoke", *offset_latlon(*HOME, -6.0, -5.0), 7.0)
    world = SyntheticWorld(*HOME, [fire, smoke], size_m=300.0)
    fly("orbit r=25 m alt 25 m, 2 turns", world, orbit(HOME, radius_m=25.0, altitude_m=25.0, turns=2.0), args)
    patches = [
        PlantedPatch("fire", *offset_latlon(*HOME, 25.0, 18.0), 5.0),
        PlantedPatch("smoke", *offset_latlon(*HOME, -20.0, 22.0), 7.0),
        PlantedPatch("landslide", *offset_latlon(*HOME, -22.0, -20.0), 7.0),
    ]
    world = SyntheticWorld(*HOME, patches, size_m=300.0)
    ring = [offset_latlon(*HOME, e, n) for e, n in ((-40, -40), (40, -40), (40, 40), (-40, 40))]
    mission = survey_grid(ring, altitude_m=30.0, camera=CameraFov(), side_overlap=0.5, speed_mps=8.0)
    fly("survey 80x80 m at 30 m", world, mission, args)


if __name__ == "__main__":
    main()
