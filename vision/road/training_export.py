"""Reviewed findings as training data: the source frames with corrected boxes, in the RDD VOC layout.

`tenken export training` writes images/, annotations/ (Pascal VOC XML), train.txt / val.txt and
classes.txt, as the RDD2022 folders are laid out, so `tenken train road --data` reads it beside
the shipped set. The store keeps no whole frames (only each finding's evidence crop), so every
frame is decoded again from the survey's video by its timestamp, and faces and plates are blurred
before it is written. manifest.json says where every image came from and who reviewed it.

A frame is exported when a reviewed finding was seen on it (its corrected box's frame, else its
best frame). Every finding seen on that frame is labelled, except rejected ones: a frame whose
only finding was rejected is exported with no objects, a negative example.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import cv2
from sqlalchemy import select
from sqlalchemy.orm import Session

from tenken import __version__
from tenken.atomic_dir import atomic_folder
from tenken.errors import JobError
from tenken.findings import ROAD_CLASSES
from tenken.store import defects as defectstore
from tenken.store import jobs as jobstore
from tenken.store.job_frames import FrameRow
from tenken.store.reviews import REJECTED, DefectReviewRow, job_reviews
from vision.road.source_frame import private_frame
from vision.road.video import probe_video
from vision.train.datasets import hashed_split

Box = tuple[float, float, float, float]


@dataclass(frozen=True)
class LabelledFrame:
    job_id: str
    frame_index: int
    objects: tuple[tuple[str, Box], ...]
    reviews: tuple[DefectReviewRow, ...]  # the reviews that chose this frame

    @property
    def stem(self) -> str:
        return f"tenken_{self.job_id[:12]}_{self.frame_index:06d}"


def labelled_frames(session: Session, job_id: str) -> list[LabelledFrame]:
    """The frames of a survey that reviews touched, each with every kept finding's (corrected) box."""
    reviews = job_reviews(session, job_id)
    defects = {d.id: d for d in defectstore.query_defects(session, job_id=job_id, limit=10_000_000)}
    by_frame: dict[int, list[DefectReviewRow]] = {}
    for r in reviews:
        frame = r.frame_index if r.frame_index is not None else defects[r.defect_id].best_frame
        by_frame.setdefault(frame, []).append(r)
    if not by_frame:
        return []
    observations = {
        row.frame_index: row.observations
        for row in session.scalars(
            select(FrameRow).where(FrameRow.job_id == job_id, FrameRow.frame_index.in_(list(by_frame)))
        )
    }
    reviewed = {r.defect_id: r for r in reviews}
    out = []
    for frame, chosen in sorted(by_frame.items()):
        boxes: dict[int, tuple[str, Box]] = {}
        for defect in defects.values():
            review = reviewed.get(defect.id)
            if review is not None and review.verdict == REJECTED:
                continue
            if review is not None and review.box_xyxy is not None and review.frame_index == frame:
                x1, y1, x2, y2 = review.box_xyxy
                boxes[defect.id] = (defect.class_name, (x1, y1, x2, y2))
                continue
            for member_frame, k in defect.members:
                if member_frame == frame and k < len(observations.get(frame, [])):
                    bx = observations[frame][k]["box_xyxy"]
                    boxes[defect.id] = (defect.class_name, (bx[0], bx[1], bx[2], bx[3]))
        out.append(LabelledFrame(job_id, frame, tuple(boxes[i] for i in sorted(boxes)), tuple(chosen)))
    return out


def voc_xml(filename: str, width: int, height: int, objects: Sequence[tuple[str, Box]]) -> str:
    """A Pascal VOC annotation as the RDD2022 files write it (integer pixel corners)."""
    parts = [
        "<annotation>",
        "\t<folder>images</folder>",
        f"\t<filename>{escape(filename)}</filename>",
        f"\t<size>\n\t\t<width>{width}</width>\n\t\t<height>{height}</height>\n\t\t<depth>3</depth>\n\t</size>",
        "\t<segmented>0</segmented>",
    ]
    for name, (x1, y1, x2, y2) in objects:
        xmin, ymin = max(0, round(x1)), max(0, round(y1))
        xmax, ymax = min(width, round(x2)), min(height, round(y2))
        parts.append(
            f"\t<object>\n\t\t<name>{escape(name)}</name>\n\t\t<pose>Unspecified</pose>\n"
            "\t\t<truncated>0</truncated>\n\t\t<difficult>0</difficult>\n"
            f"\t\t<bndbox>\n\t\t\t<xmin>{xmin}</xmin>\n\t\t\t<ymin>{ymin}</ymin>\n"
            f"\t\t\t<xmax>{xmax}</xmax>\n\t\t\t<ymax>{ymax}</ymax>\n\t\t</bndbox>\n\t</object>"
        )
    parts.append("</annotation>\n")
    return "\n".join(parts)


def export_training(
    session: Session, job_ids: Sequence[str], out_dir: Path, *, val_fraction: float = 0.15
) -> dict[str, object]:
    """Write the reviewed frames of the surveys to `out_dir` (a new folder); returns the manifest."""
    if not 0.0 <= val_fraction < 1.0:
        raise JobError(f"--val-fraction must be in [0, 1), got {val_fraction}")
    plan = []
    for job_id in job_ids:
        job = jobstore.get_job(session, job_id)
        if job.state != jobstore.COMPLETED:
            raise JobError(f"survey {job_id} is {job.state}; only completed surveys have reviewed findings")
        frames = labelled_frames(session, job_id)
        if frames:
            plan.append((job, frames))
    if not plan:
        raise JobError("no reviewed findings in the given surveys; review some on the map page first")
    items: list[dict[str, object]] = []
    splits: dict[str, list[str]] = {"train": [], "val": []}
    with atomic_folder(out_dir) as tmp:
        (tmp / "images").mkdir()
        (tmp / "annotations").mkdir()
        for job, frames in plan:
            info = probe_video(job.video_path)
            for frame in frames:
                image = private_frame(job.video_path, frame.frame_index, info)
                height, width = image.shape[:2]
                cv2.imwrite(str(tmp / "images" / f"{frame.stem}.jpg"), image, [cv2.IMWRITE_JPEG_QUALITY, 92])
                xml = voc_xml(f"{frame.stem}.jpg", width, height, frame.objects)
                (tmp / "annotations" / f"{frame.stem}.xml").write_text(xml, encoding="utf-8")
                split = hashed_split(frame.stem, val_fraction)
                splits[split].append(frame.stem)
                items.append(
                    {
                        "image": f"images/{frame.stem}.jpg",
                        "split": split,
                        "survey": job.id,
                        "video": job.video_path,
                        "frame_index": frame.frame_index,
                        "video_time_s": round(info.frame_time_s(frame.frame_index), 4),
                        "objects": [
                            {"class": n, "box_xyxy": [round(v, 1) for v in b]} for n, b in frame.objects
                        ],
                        "reviews": [
                            {
                                "defect": r.defect_id,
                                "verdict": r.verdict,
                                "class": r.class_name,
                                "detected_class": r.detected_class,
                                "box_corrected": r.box_xyxy is not None,
                                "reviewer": r.reviewer,
                                "reviewed_at": r.reviewed_at.isoformat(),
                                "note": r.note,
                            }
                            for r in frame.reviews
                        ],
                    }
                )
        for split, stems in splits.items():
            (tmp / f"{split}.txt").write_text("".join(f"{s}\n" for s in stems), encoding="utf-8")
        (tmp / "classes.txt").write_text("".join(f"{c}\n" for c in ROAD_CLASSES), encoding="utf-8")
        manifest: dict[str, object] = {
            "kind": "tenken reviewed findings (RDD VOC layout)",
            "tenken_version": __version__,
            "exported_at": datetime.now(UTC).isoformat(),
            "surveys": [job.id for job, _ in plan],
            "privacy": "faces and licence plates blurred (vision.road.privacy) before writing",
            "source": "frames decoded again from each survey's video by timestamp",
            "images": items,
        }
        (tmp / "manifest.json").write_text(
            json.dumps(manifest, indent=1, ensure_ascii=False), encoding="utf-8"
        )
    return manifest
