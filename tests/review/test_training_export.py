"""Reviewed findings become training data: frames decoded again from the survey's video, corrected
boxes in RDD VOC layout, a manifest of where each came from, and one epoch of training on it."""

from __future__ import annotations

import json
import shutil
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest

import tenken.cli
import vision.road.source_frame
from tenken.cli import main
from tenken.settings import get_settings
from tenken.store import jobs as jobstore
from tenken.store.db import Store
from tenken.store.defects import query_defects
from tenken.store.reviews import Review, review_defect
from tests.api.seed import defects_along, seed_survey
from tests.synthetic_drive import build_drive
from tests.train.conftest import FIXTURES
from vision.cli.review import register
from vision.road.source_frame import frame_jpeg, read_frame
from vision.train.datasets import ClassPolicy, read_voc


@pytest.fixture(scope="module", autouse=True)
def _commands():
    # The entry point registers these once `pip install -e .` has read pyproject; register directly.
    register(tenken.cli.app)


@pytest.fixture(scope="module")
def drive(tmp_path_factory) -> Path:
    video, _ = build_drive(tmp_path_factory.mktemp("drive"))
    return video


@pytest.fixture
def reviewed(drive, tmp_path, monkeypatch) -> str:
    """A survey of the drive's video with three reviews: a re-class with a drawn box, a rejection,
    a confirmation."""
    monkeypatch.setenv("TENKEN_DATA_DIR", str(tmp_path / "data"))
    get_settings.cache_clear()
    store = Store(get_settings().effective_database_url)
    job_id = seed_survey(store, defects_along(6))
    with store.session() as s:
        s.get(jobstore.JobRow, job_id).video_path = str(drive)
    with store.session() as s:
        ids = {row.defect_id: row.id for row in query_defects(s, job_id=job_id)}
        review_defect(
            s, ids[3], Review("reclassed", "D40", 21, (100, 120, 180, 200), "pothole"), reviewer="sato"
        )
        review_defect(s, ids[4], Review("rejected", note="shadow"), reviewer="sato")
        review_defect(s, ids[1], Review("confirmed"), reviewer="ito")
    store.dispose()
    yield job_id
    get_settings.cache_clear()


def test_a_frame_decoded_by_its_timestamp_is_the_frame_decoded_in_sequence(drive):
    capture = cv2.VideoCapture(str(drive))
    sequence = []
    while True:
        ok, image = capture.read()
        if not ok:
            break
        sequence.append(image)
    capture.release()
    assert len(sequence) > 90
    for index in (0, 37, 90, len(sequence) - 1):
        assert np.array_equal(read_frame(drive, index), sequence[index]), index


def test_export_writes_the_reviewed_frames_with_corrected_boxes_in_rdd_layout(reviewed, tmp_path, capsys):
    out = tmp_path / "reviewed"
    assert main(["export", "training", "--survey", reviewed[:10], "--out", str(out)]) == 0
    assert "wrote 3 frames" in capsys.readouterr().out
    stems = sorted(p.stem for p in (out / "images").glob("*.jpg"))
    assert len(stems) == 3 and sorted(p.stem for p in (out / "annotations").glob("*.xml")) == stems
    listed = (out / "train.txt").read_text().split() + (out / "val.txt").read_text().split()
    assert sorted(listed) == stems
    boxes = {}
    for stem in stems:
        root = ET.parse(out / "annotations" / f"{stem}.xml").getroot()
        assert root.findtext("size/width") == "320" and root.findtext("size/height") == "240"
        boxes[int(stem.rsplit("_", 1)[1])] = [
            (o.findtext("name"), [int(o.findtext(f"bndbox/{k}")) for k in ("xmin", "ymin", "xmax", "ymax")])
            for o in root.iter("object")
        ]
    # frame 21: the drawn box with the corrected class; frame 30: only the rejected finding, so no object
    assert boxes == {0: [("D00", [10, 20, 60, 80])], 21: [("D40", [100, 120, 180, 200])], 30: []}
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["surveys"] == [reviewed] and "blurred" in manifest["privacy"]
    by_frame = {i["frame_index"]: i for i in manifest["images"]}
    assert (
        by_frame[21]["reviews"][0]["detected_class"] == "D20"
        and by_frame[21]["reviews"][0]["reviewer"] == "sato"
    )
    assert by_frame[30]["reviews"][0]["verdict"] == "rejected"
    samples = read_voc(out, ClassPolicy(("D00", "D10", "D20", "D40"), frozenset({"Repair"})))
    assert len(samples) == 3

    # the folder is the user's now: a second export there is refused, not merged or replaced
    assert main(["export", "training", "--survey", reviewed, "--out", str(out)]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ")


def test_export_of_an_unknown_survey_is_one_clear_line(reviewed, tmp_path, capsys):
    assert main(["export", "training", "--survey", "nosuchsurvey", "--out", str(tmp_path / "x")]) != 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nosuchsurvey" in err[0]
    assert not (tmp_path / "x").exists()


def test_training_merges_the_export_with_the_shipped_set_for_one_epoch(reviewed, tmp_path):
    out = tmp_path / "reviewed"
    assert main(["export", "training", "--survey", reviewed, "--out", str(out)]) == 0
    shipped = tmp_path / "pavement_tiny"
    shutil.copytree(FIXTURES / "pavement_tiny", shipped)
    run = tmp_path / "run"
    args = ["train", "road", "--data", str(shipped), "--data", str(out), "--epochs", "1", "--imgsz", "160"]
    assert main([*args, "--batch", "4", "--run-dir", str(run)]) == 0
    assert (run / "train" / "weights" / "best.pt").is_file()
    converted = list((run / "data" / "images").rglob("*_tenken_*.jpg"))
    assert len(converted) == 3, "the exported frames were not all part of the training data"


def test_frames_of_one_unchanged_video_probe_it_once(drive, monkeypatch):
    probes = []
    real = vision.road.source_frame.probe_video
    monkeypatch.setattr(vision.road.source_frame, "probe_video", lambda p: probes.append(p) or real(p))
    vision.road.source_frame._probe_version.cache_clear()
    frame_jpeg(drive, 3)
    frame_jpeg(drive, 40)
    assert len(probes) == 1
