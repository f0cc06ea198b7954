"""Incidents that match the world: a simulated survey and orbit over planted patches, through the live
pipeline with poses from late, 2 Hz telemetry. Each planted patch must become exactly one incident,
no incident may appear where nothing was planted, and each must lie within its stated error (ce).

The detector is mostly a colour stand-in for the painted patches (this is about poses,
georeferencing, merging and confirmation, not the model); one short pass flies over real photographs
(`SyntheticWorld(style="imagery")`) with the shipped fire model. bench/bench_live_incidents.py runs
the shipped models over every flight in both styles.
"""

from __future__ import annotations

import statistics

import pytest

from drone.missions import CameraFov, Mission, Waypoint, orbit, survey_grid
from drone.sim.mission_frames import fly_mission, telemetry_track
from drone.sim.world import IMAGERY_M_PER_PX, PlantedPatch, SyntheticWorld
from tenken.geo import distance_m, offset_latlon
from vision.live import Incident, LiveFrame, LivePipeline, PoseHistory, pose_from_state
from vision.live.tiles import TileGrid

from .conftest import HOME, square_ring
from .painted_patches import NAMES, PaintedPatchDetector, ShrinkingPatchDetector


def fly_through_pipeline(
    world: SyntheticWorld, mission: Mission, pipeline: LivePipeline | None = None, width_px: int = 640
) -> list[Incident]:
    """Every incident the pipeline ever opened during the mission, in its final state."""
    poses = PoseHistory(max_age_s=2.0)
    for state in telemetry_track(mission, telemetry_hz=2.0, latency_s=0.15):
        poses.add(state)
    if pipeline is None:
        pipeline = LivePipeline("drone-1", PaintedPatchDetector(), kinds=NAMES)
    opened: set[str] = set()
    frames = fly_mission(world, mission, every_s=0.2, width_px=width_px, height_px=width_px * 9 // 16)
    for i, shot in enumerate(frames):
        state = poses.state_at(shot.timestamp_s)
        pose = pose_from_state(state) if state is not None else None
        for change in pipeline.process([LiveFrame("drone-1", i, shot.timestamp_s, shot.image, pose)]):
            if change.event == "opened":
                opened.add(change.incident.incident_id)
    return [pipeline.tracker.incidents[i] for i in sorted(opened)]


def check_one_incident_per_patch(incidents: list[Incident], patches: list[PlantedPatch], label: str) -> None:
    errors, ces = [], []
    for patch in patches:
        mine = [i for i in incidents if i.kind == patch.kind]
        assert len(mine) == 1, f"{label}: {patch.kind} patch became {len(mine)} incidents: {mine}"
        inc = mine[0]
        assert inc.lat is not None and inc.lon is not None and inc.error_m is not None
        error = distance_m(patch.lat, patch.lon, inc.lat, inc.lon)
        assert error <= inc.error_m, f"{label}: {patch.kind} placed {error:.1f} m off, ce {inc.error_m:.1f} m"
        errors.append(error)
        ces.append(inc.error_m)
    stray = [i for i in incidents if i.kind not in {p.kind for p in patches}]
    assert not stray, f"{label}: incidents without a planted patch: {stray}"
    print(
        f"\n{label}: {len(incidents)} incidents for {len(patches)} patches; position error median "
        f"{statistics.median(errors):.1f} m, worst {max(errors):.1f} m; ce {min(ces):.1f}-{max(ces):.1f} m"
    )


FIRE = PlantedPatch("fire", *offset_latlon(*HOME, 4.0, 3.0), 5.0)
SMOKE = PlantedPatch("smoke", *offset_latlon(*HOME, -6.0, -5.0), 7.0)


@pytest.mark.slow
def test_an_orbit_over_one_fire_and_one_smoke_raises_one_incident_each_within_its_ce(capsys):
    world = SyntheticWorld(*HOME, [FIRE, SMOKE], size_m=300.0)
    mission = orbit(HOME, radius_m=25.0, altitude_m=25.0, points=16, turns=2.0, speed_mps=5.0)
    incidents = fly_through_pipeline(world, mission)
    with capsys.disabled():
        check_one_incident_per_patch(incidents, [FIRE, SMOKE], "orbit r=25 m, 2 turns")


@pytest.mark.slow
def test_a_survey_over_planted_patches_raises_one_incident_per_patch_within_its_ce(capsys):
    patches = [
        PlantedPatch("fire", *offset_latlon(*HOME, 25.0, 18.0), 5.0),
        PlantedPatch("smoke", *offset_latlon(*HOME, -20.0, 22.0), 7.0),
        PlantedPatch("landslide", *offset_latlon(*HOME, -22.0, -20.0), 7.0),
    ]
    world = SyntheticWorld(*HOME, patches, size_m=300.0)
    mission = survey_grid(square_ring(HOME, 40.0), altitude_m=30.0, camera=CameraFov(), side_overlap=0.5,
                          speed_mps=8.0)  # fmt: skip
    incidents = fly_through_pipeline(world, mission)
    with capsys.disabled():
        check_one_incident_per_patch(incidents, patches, "survey 80 m x 80 m at 30 m")


def test_a_pass_over_real_fire_and_smoke_photographs_with_the_shipped_model_places_one_each(capsys):
    """Photographs the fire model never trained on (drone.sim.decals), flown over north-up at 25 m:
    each becomes one incident within its ce, nothing else is raised. Kept wide (10 m radius, half of
    the view's width): from 30 m the model misses 5-7 m patches (see the fire model card)."""
    from api.live_source import incident_detector
    from tenken.settings import load_settings

    fire = PlantedPatch("fire", *offset_latlon(*HOME, 0.0, 0.0), 10.0)
    smoke = PlantedPatch("smoke", *offset_latlon(*HOME, 0.0, 40.0), 10.0)
    world = SyntheticWorld(*HOME, [fire, smoke], size_m=160.0, m_per_px=IMAGERY_M_PER_PX, style="imagery")
    assert all(d != "procedural" for d in world.drawn)  # the committed decals need no shared data
    line = [Waypoint(*offset_latlon(*HOME, 0.0, north), 25.0) for north in (-30.0, 70.0)]
    mission = Mission("line", tuple(line), altitude_m=25.0, speed_mps=5.0)
    detector = incident_detector("fire", load_settings().live_conf)
    incidents = fly_through_pipeline(world, mission, LivePipeline("drone-1", detector), width_px=1280)
    with capsys.disabled():
        check_one_incident_per_patch(incidents, [fire, smoke], "line pass at 25 m, photographs, fire model")


def test_tiles_find_a_fire_too_small_for_the_whole_frame(capsys):
    """A 3 m fire from 40 m up is 21 px of a 416 px detector input (the stand-in needs 30): the full
    frame alone never raises it; with a 2x2 grid of tiles (38 px in a tile) it is one incident."""
    fire = PlantedPatch("fire", *offset_latlon(*HOME, 6.0, 0.0), 1.5)
    world = SyntheticWorld(*HOME, [fire], size_m=160.0, m_per_px=0.05)
    line = [Waypoint(*offset_latlon(*HOME, 0.0, north), 40.0) for north in (-30.0, 30.0)]
    mission = Mission("line", tuple(line), altitude_m=40.0, speed_mps=5.0)
    plain = LivePipeline("drone-1", ShrinkingPatchDetector(), kinds=NAMES)
    assert fly_through_pipeline(world, mission, plain, width_px=1280) == []
    tiled = LivePipeline("drone-1", ShrinkingPatchDetector(), kinds=NAMES, tiles=TileGrid(2, 2))
    incidents = fly_through_pipeline(world, mission, tiled, width_px=1280)
    with capsys.disabled():
        check_one_incident_per_patch(incidents, [fire], "line pass at 40 m over a 3 m fire, 2x2 tiles")
