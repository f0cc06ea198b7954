"""Stored surveys for the API tests and benches: jobs completed with known defects and segments."""

from __future__ import annotations

import math
from collections.abc import Sequence

import cv2
import numpy as np

from tenken.findings import Defect, Observation, Pose, SegmentGrade
from tenken.store import defects as defectstore
from tenken.store import job_frames as framestore
from tenken.store import jobs as jobstore
from tenken.store.db import Store

ORIGIN = (35.61, 140.11)
CLASSES = ("D00", "D10", "D20", "D40")
SEVERITIES = ("low", "medium", "high")


def crop_jpeg(width_px: int = 120, height_px: int = 80) -> bytes:
    image = np.full((height_px, width_px, 3), 100, np.uint8)
    cv2.circle(image, (width_px // 2, height_px // 2), 20, (30, 30, 30), -1)
    ok, buf = cv2.imencode(".jpg", image)
    assert ok
    return bytes(buf)


def defects_along(
    n: int, *, lat0: float = ORIGIN[0], lon0: float = ORIGIN[1], step_m: float = 4.0
) -> list[Defect]:
    """`n` defects a few metres apart heading east, classes and severities cycling."""
    metres_per_deg_lon = 111_320.0 * math.cos(math.radians(lat0))
    return [
        Defect(
            defect_id=i + 1,
            class_name=CLASSES[i % len(CLASSES)],
            severity=SEVERITIES[i % len(SEVERITIES)],
            lat=lat0 + (i % 7) * 1e-5,
            lon=lon0 + i * step_m / metres_per_deg_lon,
            error_m=2.5,
            first_frame=10 * i,
            last_frame=10 * i + 2,
            n_observations=2,
            confidence=0.5 + 0.4 * ((i % 5) / 4),
            best_frame=10 * i,
        )
        for i in range(n)
    ]


def segments_for(defects: Sequence[Defect]) -> list[SegmentGrade]:
    first, last = defects[0], defects[-1]
    middle = ((first.lat + last.lat) / 2, (first.lon + last.lon) / 2)
    return [
        SegmentGrade(
            1, 0.0, 100.0, ((first.lat, first.lon), middle), 0.9, 12.0, "I", 7.1, {"D00": 1}, "good"
        ),
        SegmentGrade(
            2,
            100.0,
            200.0,
            (middle, (last.lat, last.lon)),
            0.8,
            45.0,
            "III",
            3.0,
            {"D40": 2},
            "repair needed",
        ),
    ]


def seed_survey(
    store: Store,
    defects: Sequence[Defect],
    *,
    seen_at_s: float = 1_790_000_000.0,
    with_observations: bool = True,
    with_crops: bool = True,
) -> str:
    """A completed job holding `defects` (each seen at `seen_at_s` + its index) and two segments."""
    crop = crop_jpeg() if with_crops else None
    with store.session() as s:
        job = jobstore.create_video_job(
            s, "/media/drive.mp4", "/media/drive.gpx", detector="road", conf=None, options={}
        )
        job_id = job.id
        jobstore.start_job(
            s,
            job_id,
            [[0]],
            video_start_s=seen_at_s,
            duration_s=60.0,
            frame_size=(320, 240),
            frames_in_video=600,
        )
        members: dict[int, list[tuple[int, int]]] = {}
        if with_observations:
            frames = []
            for d in defects:
                observations = [
                    Observation(
                        f, seen_at_s + f / 10, d.class_name, d.confidence, (10, 20, 60, 80), d.lat, d.lon, 2.5
                    )
                    for f in (d.first_frame, d.last_frame)
                ]
                for f, obs in zip((d.first_frame, d.last_frame), observations, strict=True):
                    frames.append((f, Pose(seen_at_s + f / 10, d.lat, d.lon, 90.0, 5.0), [obs], []))
                members[d.defect_id] = [(d.first_frame, 0), (d.last_frame, 0)]
            framestore.save_frame_results(s, job_id, frames)
        findings = defectstore.JobFindings(
            defects=list(defects),
            segments=segments_for(defects),
            crops_jpeg={d.defect_id: crop for d in defects} if crop else {},
            members=members,
            seen_at_s={d.defect_id: seen_at_s + i for i, d in enumerate(defects)},
        )
        assert jobstore.complete_job(s, job_id, findings, report_dir=None)
    return job_id
