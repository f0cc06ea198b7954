"""Incidents against the planted truth: a simulated orbit and survey through the live pipeline.

    python bench/bench_live_incidents.py [--detector fire|colour] [--style both|procedural|imagery]
                                         [--latency-s 0.15] [--no-sweep] [--no-plain]
                                         [--tiles 2x2] [--flights orbit,survey,large,plain]

The drone flies kinematically over the synthetic world (`drone.sim.mission_frames`), its telemetry
arrives at 2 Hz and `--latency-s` late, frames are sampled every 0.2 s and run through the live
pipeline with the shipped fire model and scene classifier at their own thresholds (as `tenken serve
--live` does) or the tests' colour stand-in. The world's patches are drawn procedurally (the colour
stand-in's blobs) or as real photographs the models never trained on (`drone.sim.decals`; the
landslide photos come from ../shared/data or $TENKEN_SHARED_DATA, else a landslide is drawn); both
styles fly the same missions, printed side by side. Printed per flight and style: incidents opened
per kind against the planted patches, incidents with no patch of their kind within the merge radius,
the position error of the incident nearest each patch and the ce it claimed, and how many frames
had a sighting of each kind before confirmation (a miss never seen is the model's, not the
pipeline's). First, single views of one centred patch by size, height and angle (the models'
reach); then an orbit, a survey, the survey over patches twice as wide, and the survey over plain
ground (nothing planted: false incidents).

With `--tiles 2x2` every flight and view runs twice, the full frame alone and with that grid of
tiles (`LivePipeline(tiles=...)`, `vision.live.tiles`), printed one above the other.

Runs against whatever `vision.live` is importable (PYTHONPATH), so the same script measures the code
before and after a change; `drone/sim/mission_frames.py` is loaded from this checkout either way.
"""

from __future__ import annotations

import argparse
import importlib.util
import math
import os
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if "PYTHONPATH" not in os.environ:
    sys.path.insert(0, str(ROOT))

from drone.missions import CameraFov, orbit, survey_grid  # noqa: E402
from drone.sim.world import IMAGERY_M_PER_PX, STYLES, PlantedPatch, SyntheticWorld  # noqa: E402
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


def pipeline_for(detector_name: str, tiles: str | None = None) -> LivePipeline:
    extra: dict[str, Any] = {}
    if tiles:  # only asked of code that has tiles
        from vision.live.tiles import TileGrid

        extra["tiles"] = TileGrid.parse(tiles)
    if detector_name == "colour":
        painted = _load("painted_patches", ROOT / "tests" / "drone" / "painted_patches.py")
        return LivePipeline("drone-1", painted.PaintedPatchDetector(), kinds=painted.NAMES, **extra)
    from api.live_source import incident_detector
    from tenken.settings import load_settings
    from vision.models.classifier import load_classifier
    from vision.models.registry import get_model

    scene = get_model("scene")
    classifier = load_classifier(scene.weights_path())
    detector = incident_detector("fire", load_settings().live_conf)  # as `tenken serve --live`
    return LivePipeline("drone-1", detector, classifier=classifier, scene_threshold=scene.alert_conf, **extra)


def fly(world: SyntheticWorld, mission: Any, args: argparse.Namespace, tiles: str | None) -> dict[str, Any]:
    """Fly one mission over one world; the incidents opened (as they stand at the end) and counts."""
    states = mission_frames.telemetry_track(mission, telemetry_hz=2.0, latency_s=args.latency_s)
    # After landing the telemetry stops; the camera keeps streaming for a minute.
    at = pose_source(states)
    pipeline = pipeline_for(args.detector, tiles)
    opened: dict[str, Any] = {}
    updates = 0
    started = time.perf_counter()
    size = (640, 360) if args.detector == "colour" else (1280, 720)  # the stand-in is tuned at 640 px
    shots = list(mission_frames.fly_mission(world, mission, every_s=0.2, width_px=size[0], height_px=size[1]))
    last = shots[-1]
    shots += [mission_frames.MissionFrame(last.timestamp_s + 0.2 * k, last.image, last.true_pose)
              for k in range(1, 300)]  # fmt: skip
    seen: dict[str, int] = {}  # frames with a sighting of each kind, before confirmation
    for i, shot in enumerate(shots):
        frame = LiveFrame("drone-1", i, shot.timestamp_s, shot.image, at(shot.timestamp_s))
        for result in pipeline.finish(pipeline.submit([frame])):
            for kind in {s.kind for s in result.sightings}:
                seen[kind] = seen.get(kind, 0) + 1
            for change in result.changes:
                if change.event == "opened":
                    opened[change.incident.incident_id] = change.incident
                updates += change.event == "updated"
    final = [pipeline.tracker.incidents.get(k, v) for k, v in opened.items()]
    return {"incidents": final, "frames": len(shots), "seconds": time.perf_counter() - started,
            "updates": updates, "seen": seen}  # fmt: skip


def report(world: SyntheticWorld, flown: dict[str, Any]) -> str:
    """Per kind: incidents on a patch / planted; strays (no patch of their kind within the patch's
    radius plus the incident's ce); errors of the incident nearest each patch against its ce."""
    final = flown["incidents"]
    placed = [i for i in final if i.lat is not None]
    on_patch: dict[int, int] = {}
    strays = []
    for inc in placed:
        near = [(distance_m(p.lat, p.lon, inc.lat, inc.lon), n) for n, p in enumerate(world.patches)
                if p.kind == inc.kind]  # fmt: skip
        d, n = min(near) if near else (math.inf, -1)
        if n >= 0 and d <= world.patches[n].radius_m + (inc.error_m or 0.0):
            on_patch[n] = on_patch.get(n, 0) + 1
        else:
            strays.append(f"{inc.kind}@{d:.0f}m" if math.isfinite(d) else inc.kind)
    unplaced = ", ".join(sorted(i.kind for i in final if i.lat is None))
    kinds = []
    for kind in sorted({p.kind for p in world.patches}):
        ids = [n for n, p in enumerate(world.patches) if p.kind == kind]
        kinds.append(f"{kind} {sum(on_patch.get(n, 0) for n in ids)}/{len(ids)}")
    errors, ces = [], []
    for patch in world.patches:
        mine = [i for i in placed if i.kind == patch.kind]
        if mine:
            best = min(mine, key=lambda i: distance_m(patch.lat, patch.lon, i.lat, i.lon))
            errors.append(distance_m(patch.lat, patch.lon, best.lat, best.lon))
            ces.append(best.error_m or 0.0)
    line = (f"incidents/planted: {', '.join(kinds) or 'nothing planted'}; strays {len(strays)}"
            f"{' (' + ', '.join(strays) + ')' if strays else ''}; unplaced {unplaced or 0}; "
            f"'updated' {flown['updates']}; {flown['frames']} frames, {flown['seconds']:.0f} s")  # fmt: skip
    seen = ", ".join(f"{k} {n}" for k, n in sorted(flown["seen"].items())) or "none"
    line += f"\n      frames with sightings (before confirmation): {seen}"
    if errors:
        line += (f"\n      error median {statistics.median(errors):.1f} m, worst {max(errors):.1f} m; "
                 f"ce {', '.join(f'{c:.1f}' for c in ces)} m; error <= ce "
                 f"{sum(e <= c for e, c in zip(errors, ces, strict=True))}/{len(errors)}")  # fmt: skip
    return line


def world_for(style: str, patches: list[PlantedPatch]) -> SyntheticWorld:
    # Photographs need a finer ground than the procedural blobs: 0.1 m/px is about what the detector
    # sees at 30 m (1280 px over 45 m, shrunk to 416 px).
    m_per_px = IMAGERY_M_PER_PX if style == "imagery" else 0.25
    return SyntheticWorld(*HOME, patches, size_m=300.0, m_per_px=m_per_px, style=style)


def compare(label: str, patches: list[PlantedPatch], mission: Any, args: argparse.Namespace) -> None:
    print(label)
    for style in STYLES if args.style == "both" else (args.style,):
        world = world_for(style, patches)
        pairs = zip(world.patches, world.drawn, strict=True)
        drawn = sorted({f"{p.kind}: {Path(d).name[:24]}" for p, d in pairs if d != "procedural"})
        for tiles in _tilings(args):
            label = f"{style} {tiles}" if tiles else style
            print(f"  {label:14s}  {report(world, fly(world, mission, args, tiles))}", flush=True)
        if drawn:
            print(f"      decals: {'; '.join(drawn)}")


def _tilings(args: argparse.Namespace) -> list[str | None]:
    return [None, args.tiles] if args.tiles else [None]


def single_views(kind: str, radius_m: float, alt_m: float, style: str, pitch_deg: float) -> list[LiveFrame]:
    """A patch in the middle of the view at four headings, once per decal of its kind (once if
    procedural): straight below (gimbal -90) or seen obliquely from as far back as the drone is high
    (gimbal -45)."""
    from drone.sim.camera import render_view
    from drone.sim.decals import decals_of
    from drone.sim.vehicle import SimPose

    views = []
    for n in range(len(decals_of(kind)) if style == "imagery" else 1):
        planted = [PlantedPatch(kind, *HOME, radius_m)] * (n + 1)  # the last one gets decal n
        world = SyntheticWorld(*HOME, planted, size_m=160.0, m_per_px=IMAGERY_M_PER_PX, style=style)
        back = alt_m / math.tan(math.radians(-pitch_deg))
        for k in range(4):
            heading = 90.0 * k
            rad = math.radians(heading)
            lat, lon = offset_latlon(*HOME, -back * math.sin(rad), -back * math.cos(rad))
            pose = SimPose(0.0, lat, lon, alt_m, heading, pitch_deg)
            views.append(LiveFrame("sweep", k, 0.0, render_view(world, pose, width_px=1280, height_px=720)))
    return views


def sweep(args: argparse.Namespace) -> None:
    """Single views of one patch: how often the models raise its kind (detector boxes at their
    threshold, scene class at its alert threshold), and how often they raise another kind."""
    pipelines = [(t, pipeline_for(args.detector, t)) for t in _tilings(args)]
    styles = STYLES if args.style == "both" else (args.style,)
    print("single views, 4 headings x each decal: views raising the patch's kind [views raising another]")
    print(f"  {'kind':10s} {'radius':>6s} {'alt':>4s} {'tiles':5s}  " + "  ".join(
        f"{f'{style} {view}':17s}" for style in styles for view in ("nadir", "45°")))  # fmt: skip
    for kind in ("fire", "smoke", "landslide"):
        for radius in (5.0, 10.0, 15.0):
            for alt in (15.0, 30.0):
                views = {(style, pitch): single_views(kind, radius, alt, style, pitch)
                         for style in styles for pitch in (-90.0, -45.0)}  # fmt: skip
                for tiles, pipeline in pipelines:
                    cells = []
                    for frames in views.values():
                        raised = [
                            {s.kind for s in r.sightings} for r in pipeline.finish(pipeline.submit(frames))
                        ]
                        hits, other = sum(kind in r for r in raised), sum(bool(r - {kind}) for r in raised)
                        cells.append(f"{f'{hits:2d}/{len(raised):<2d} [{other}]':17s}")
                    print(f"  {kind:10s} {radius:4.0f} m {alt:3.0f}m {tiles or 'off':5s}  {'  '.join(cells)}",
                          flush=True)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--detector", choices=("fire", "colour"), default="fire")
    parser.add_argument("--style", choices=("both", *STYLES), default="both")
    parser.add_argument("--latency-s", type=float, default=0.15, help="Telemetry latency.")
    parser.add_argument("--no-plain", action="store_true", help="Skip the survey over plain ground.")
    parser.add_argument("--no-sweep", action="store_true", help="Skip the single views by size and height.")
    parser.add_argument(
        "--tiles", default=None, help="Also run with this grid of tiles (e.g. 2x2), side by side."
    )
    parser.add_argument("--flights", default="orbit,survey,large,plain", help="Which flights to fly.")
    args = parser.parse_args()
    flights = set(args.flights.split(","))
    if not args.no_sweep and args.detector == "fire":
        sweep(args)
    fire = PlantedPatch("fire", *offset_latlon(*HOME, 4.0, 3.0), 5.0)
    smoke = PlantedPatch("smoke", *offset_latlon(*HOME, -6.0, -5.0), 7.0)
    if "orbit" in flights:
        compare("orbit r=25 m alt 25 m, 2 turns", [fire, smoke],
                orbit(HOME, radius_m=25.0, altitude_m=25.0, turns=2.0), args)  # fmt: skip
    patches = [
        PlantedPatch("fire", *offset_latlon(*HOME, 25.0, 18.0), 5.0),
        PlantedPatch("smoke", *offset_latlon(*HOME, -20.0, 22.0), 7.0),
        PlantedPatch("landslide", *offset_latlon(*HOME, -22.0, -20.0), 7.0),
    ]
    ring = [offset_latlon(*HOME, e, n) for e, n in ((-40, -40), (40, -40), (40, 40), (-40, 40))]
    mission = survey_grid(ring, altitude_m=30.0, camera=CameraFov(), side_overlap=0.5, speed_mps=8.0)
    if "survey" in flights:
        compare("survey 80x80 m at 30 m", patches, mission, args)
    # The shipped models see a photograph from 30 m only when it spans a good part of the frame
    # (a fire of 10 m is 22 % of the 45 m wide view, shrunk to 92 of the detector's 416 pixels):
    # the same survey over patches twice as wide tells the pipeline's misses from the model's.
    large = [replace(p, radius_m=2 * p.radius_m) for p in patches]
    if "large" in flights:
        compare("survey 80x80 m at 30 m, patches twice as wide", large, mission, args)
    if not args.no_plain and "plain" in flights:
        args_plain = argparse.Namespace(**{**vars(args), "style": "procedural"})
        compare("survey 80x80 m at 30 m over plain ground (both styles alike)", [], mission, args_plain)


if __name__ == "__main__":
    main()
