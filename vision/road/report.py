"""Writing a finished road survey as a report folder, all at once (nothing half-written is left)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path
from typing import Any

from tenken import __version__
from tenken.atomic_dir import atomic_folder, check_output_folder
from tenken.report.writer import check_tile_url, is_report_folder, write_report
from vision.models.registry import ModelInfo
from vision.road.grading import MIN_SURVEYED_FRACTION
from vision.road.survey import SurveyResult
from vision.road.survey_options import SurveyOptions


def check_report_folder(out_dir: Path, inputs: tuple[Path, ...], *, overwrite: bool = False) -> None:
    """Refuse an output folder the report may not be written to or may not replace (see `atomic_folder`)."""
    check_output_folder(out_dir, overwrite=overwrite, replaceable=is_report_folder, inputs=inputs)


def write_survey_report(
    result: SurveyResult,
    out_dir: Path,
    *,
    model: ModelInfo,
    weights: Path,
    backend: str,
    conf: float,
    options: SurveyOptions,
    tile_url: str,
    overwrite: bool = False,
) -> dict[str, Any]:
    """Write crops and report files into `out_dir`; returns the summary (report.json plus paths)."""
    tile_url = check_tile_url(tile_url)  # fail before any work is written
    t0 = time.perf_counter()
    inputs = (Path(result.video), Path(result.track))
    with atomic_folder(out_dir, overwrite=overwrite, replaceable=is_report_folder, inputs=inputs) as tmp:
        crops_dir = tmp / "crops"
        crops_dir.mkdir()
        defects = []
        for defect in result.defects:
            crop = result.crops_jpeg.get(defect.defect_id)
            rel = None
            if crop is not None:
                rel = f"crops/defect_{defect.defect_id:04d}.jpg"
                (tmp / rel).write_bytes(crop)
            defects.append(dataclasses.replace(defect, crop_path=rel))
        settings = options.model_dump(mode="json")
        settings.update(
            video=result.video,
            track=result.track,
            video_start_s=result.video_start_s,
            min_surveyed_fraction=MIN_SURVEYED_FRACTION,
        )
        timings = dict(result.timings_s)
        timings["write"] = time.perf_counter() - t0
        report = write_report(
            tmp,
            defects,
            result.segments,
            result.route,
            settings,
            {
                "name": model.name,
                "version": model.version,
                "weights": weights.name,
                "backend": backend,
                "conf": conf,
                "classes": list(model.classes),
                "licence": model.licence,
                "tenken_version": __version__,
            },
            timings,
            {
                "defects": len(defects),
                "observations": result.observations,
                "frames_sampled": result.frames_sampled,
                "frames_total": result.frames_total,
            },
            tile_url,
            title=f"Road survey — {Path(result.video).name}",
            coverage=result.coverage.as_dict() if result.coverage else None,
        )
    summary = dict(report)
    summary["report"] = str(out_dir)
    summary["counts"] = dict(report["counts"], by_class=report["defects"]["by_class"])
    return summary
