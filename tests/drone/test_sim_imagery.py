"""The simulator's real imagery: decals the shipped models never trained on, planted where the world says.

Checks that need the offline data folder (../shared/data beside the repo, or $TENKEN_SHARED_DATA) skip
when it is absent; the committed fire and smoke decals are checked on any clone.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import urllib.request
from pathlib import Path

import cv2
import numpy as np
import pytest

from drone.sim import decals
from drone.sim.camera import render_view
from drone.sim.vehicle import SimPose
from drone.sim.world import PATCH_KINDS, PlantedPatch, SyntheticWorld
from tenken.geo import offset_latlon
from vision.train.scene import group_split, source_group

from .conftest import HOME

SHARED = decals.shared_data_dir()
needs_shared_data = pytest.mark.skipif(
    not (SHARED / decals.FIRE8).is_dir() or not (SHARED / decals.CDD).is_dir(),
    reason=f"no offline data at {SHARED} (set TENKEN_SHARED_DATA)",
)


def dhash(image: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    small = cv2.resize(grey, (9, 8), interpolation=cv2.INTER_AREA).astype(np.int16)
    return (small[:, 1:] > small[:, :-1]).ravel()


def test_every_decal_comes_from_a_source_both_shipped_models_hold_out() -> None:
    assert {d.kind for d in decals.DECALS} == {"fire", "smoke", "landslide"}  # no flood imagery exists
    for decal in decals.DECALS:
        assert group_split(source_group(Path(decal.source))) == "val", f"{decal.source} was trained on"


def test_committed_decals_are_small_and_attributed() -> None:
    attribution = (decals.HERE / "ATTRIBUTION.md").read_text()
    committed = [d for d in decals.DECALS if d.committed]
    assert committed and all(d.kind in ("fire", "smoke") for d in committed)  # CC BY 4.0 only
    for decal in committed:
        assert decal.file.stat().st_size < 60_000, decal.file
        assert decal.file.name in attribution and Path(decal.source).name in attribution
        assert decals.load(decal) is not None
    on_disk = {p.name for p in decals.HERE.glob("*.jpg")}
    assert on_disk == {d.file.name for d in committed}


@needs_shared_data
def test_committed_decals_are_the_labelled_boxes_of_their_sources() -> None:
    for decal in (d for d in decals.DECALS if d.committed):
        fresh, shipped = decals.cut(decal), decals.load(decal)
        assert fresh is not None and shipped is not None
        assert fresh.shape == shipped.shape, decal.file
        assert float(np.abs(fresh.astype(np.int16) - shipped).mean()) < 4.0  # JPEG re-encoding only


@needs_shared_data
def test_no_decal_has_a_near_copy_among_the_training_images() -> None:
    """Held-out groups of single photos can still have a near-identical frame in training (consecutive
    `img_*` frames of one clip): the decals must be at least 11 bits of difference hash from all."""
    root = SHARED / decals.FIRE8 / "images"
    train = [p for p in sorted(root.rglob("*.jpg")) if group_split(source_group(p)) == "train"]
    hashes = np.stack([dhash(cv2.imread(str(p), cv2.IMREAD_GRAYSCALE)) for p in train])
    for decal in (d for d in decals.DECALS if d.source.startswith(decals.FIRE8)):
        source = cv2.imread(str(SHARED / decal.source))
        nearest = int((hashes != dhash(source)).sum(axis=1).min())
        assert nearest >= 11, f"{decal.source}: a training image is {nearest} bits away"


def patches() -> list[PlantedPatch]:
    return [
        PlantedPatch(kind, *offset_latlon(*HOME, east, 10.0), 6.0)
        for kind, east in zip(PATCH_KINDS, (-45.0, -15.0, 15.0, 45.0), strict=True)
    ]


def test_imagery_world_pastes_each_photo_centred_on_its_patch_and_draws_flood() -> None:
    world = SyntheticWorld(*HOME, patches(), size_m=200.0, m_per_px=0.1, style="imagery")
    plain = SyntheticWorld(*HOME, [], size_m=200.0, m_per_px=0.1)
    assert world.drawn[3] == "procedural"  # flood: no imagery exists
    for patch, drawn in zip(world.patches[:2], world.drawn[:2], strict=True):
        decal = next(d for d in decals.decals_of(patch.kind) if d.source == drawn)
        photo = decals.load(decal)
        assert photo is not None
        # the middle of the patch is the middle of the photograph, scaled to the patch's diameter
        cx, cy = (round(v) for v in world.to_px(patch.lat, patch.lon))
        r = int(0.3 * patch.radius_m / world.m_per_px)
        seen = world.texture[cy - r : cy + r, cx - r : cx + r].astype(np.float32)
        side = 2 * patch.radius_m / world.m_per_px / max(photo.shape[:2])
        scaled = cv2.resize(photo, None, fx=side, fy=side, interpolation=cv2.INTER_AREA)
        my, mx = scaled.shape[0] // 2, scaled.shape[1] // 2
        expected = scaled[my - r : my + r, mx - r : mx + r].astype(np.float32)
        assert np.abs(seen - expected).mean() < 12.0, patch.kind
        assert np.abs(seen - plain.texture[cy - r : cy + r, cx - r : cx + r]).mean() > 20.0
        # outside the patch the ground is untouched
        far = int(1.2 * patch.radius_m / world.m_per_px)
        assert np.array_equal(world.texture[cy, cx + far], plain.texture[cy, cx + far])


def test_procedural_style_is_unchanged_and_imagery_falls_back_without_the_data(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    default = SyntheticWorld(*HOME, patches(), size_m=200.0)
    procedural = SyntheticWorld(*HOME, patches(), size_m=200.0, style="procedural")
    assert np.array_equal(default.texture, procedural.texture)
    assert default.drawn == ["procedural"] * 4
    monkeypatch.setenv("TENKEN_SHARED_DATA", str(tmp_path))  # no landslide photographs there
    world = SyntheticWorld(*HOME, patches(), size_m=200.0, style="imagery")
    assert world.drawn[0].startswith(decals.FIRE8) and world.drawn[1].startswith(decals.FIRE8)
    assert world.drawn[2:] == ["procedural", "procedural"]
    with pytest.raises(ValueError, match="style"):
        SyntheticWorld(*HOME, [], size_m=100.0, style="photo")


def test_the_gimbal_camera_sees_the_photograph_straight_below() -> None:
    fire = PlantedPatch("fire", *HOME, 8.0)
    world = SyntheticWorld(*HOME, [fire], size_m=100.0, m_per_px=0.1, style="imagery")
    plain = SyntheticWorld(*HOME, [], size_m=100.0, m_per_px=0.1)
    pose = SimPose(0.0, *HOME, 20.0, 0.0, -90.0)
    view, ground = (render_view(w, pose, width_px=640, height_px=360) for w in (world, plain))
    centre = (slice(150, 210), slice(290, 350))
    assert np.abs(view[centre].astype(np.int16) - ground[centre]).mean() > 20.0
    assert np.array_equal(view[:20, :20], ground[:20, :20])  # the corner is the field


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_tenken_sim_world_imagery_serves_photographs_and_says_which_patch_is_which() -> None:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "TENKEN_SHARED_DATA": str(SHARED)}
    args = ["sim", "--port", "0", "--camera-port", str(free_port()), "--world", "imagery", "--print-patches"]
    proc = subprocess.Popen([sys.executable, "-m", "tenken.cli", *args], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)  # fmt: skip
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline() for _ in range(3)]
        assert lines[0].startswith("simulator: tcp:127.0.0.1:"), lines
        camera = lines[1].split()[1]
        drawn = {f["properties"]["kind"]: f["properties"]["drawn"] for f in json.loads(lines[2])["features"]}
        assert drawn["fire"].startswith(decals.FIRE8) and drawn["smoke"].startswith(decals.FIRE8)
        assert drawn["flood"] == "procedural"
        with urllib.request.urlopen(camera.replace("stream.mjpg", "frame.jpg"), timeout=10) as reply:
            assert cv2.imdecode(np.frombuffer(reply.read(), np.uint8), cv2.IMREAD_COLOR) is not None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()


def test_tenken_sim_refuses_an_unknown_world_in_one_line() -> None:
    done = subprocess.run([sys.executable, "-m", "tenken.cli", "sim", "--port", "0", "--world", "photo"],
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2
    assert "--world must be one of procedural, imagery" in done.stderr + done.stdout
