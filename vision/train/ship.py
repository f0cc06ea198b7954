"""Install a trained checkpoint as a shipped model, in exactly the form Tenken commits.

One call writes `models/<task>/`: `<task>.onnx` (fp16-stored weights, the only weights file), the
threshold chosen on val in `model.json` with the figures it was chosen on, every runtime format's
figures in `metrics.json` (OpenVINO and .pt are built from the ONNX file, as the runtime builds them),
and thumbnails of the worst false alarms and misses in `failures/`. The card text stays the author's.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tenken.errors import ModelError
from vision.models.runtime import DEFAULT_RUNTIME, RuntimeOptions
from vision.train.export import export_onnx, write_model_json
from vision.train.tasks import TaskSpec, get_task

FORMATS = ("onnx", "openvino", "pt")


@dataclass(frozen=True)
class ShipData:
    """What the shipped figures and threshold are measured on."""

    data: tuple[Path, ...]  # training sources: their val split is scored
    heldout: tuple[Path, ...] = ()  # scored in full (e.g. negatives from sources training never saw)
    max_false_alarm_rate: float | None = None  # None: the shipping budget

    @property
    def names(self) -> list[str]:
        return [str(p) for p in (*self.data, *self.heldout)]


def ship_model(
    task_name: str,
    best_pt: Path,
    measured_on: ShipData,
    out_dir: Path,
    *,
    version: str | None = None,
    licence: str | None = None,
    imgsz: int | None = None,
    formats: Sequence[str] = FORMATS,
    runtime: RuntimeOptions = DEFAULT_RUNTIME,
) -> dict[str, Any]:
    """Export `best_pt` into `out_dir`, score each format (detectors on `runtime`'s device and
    threads), choose the threshold, write model.json."""
    if not best_pt.is_file():
        raise ModelError(f"weights not found: {best_pt}")
    task = get_task(task_name)
    previous = _previous_meta(out_dir)
    version = version or previous.get("version")
    licence = licence or previous.get("licence")
    if not version or not licence:
        raise ModelError(
            f"{out_dir}: no model.json to keep a version and licence from; give --version and --licence"
        )
    size = imgsz or task.imgsz
    onnx_path = export_onnx(best_pt, size, out_dir / f"{task_name}.onnx")
    figures: dict[str, dict[str, Any]] = {}
    reports: dict[str, Any] = {}
    for fmt in formats:
        weights = _weights_for(onnx_path, fmt)
        doc, report = (
            _classifier_figures(weights, measured_on)
            if task.kind == "classify"
            else _detector_figures(weights, measured_on, task.classes, size, runtime)
        )
        figures[fmt], reports[fmt] = doc, report
    main = "onnx" if "onnx" in figures else next(iter(figures))
    point = _operating_point(task, figures[main], reports[main], measured_on)
    for fmt, report in reports.items():
        figures[fmt]["at_shipped_conf"] = _figures_at(task, report, point["conf"])
    _write_failures(task, reports[main], point["conf"], out_dir / "failures")
    (out_dir / "metrics.json").write_text(
        json.dumps({"operating_point": point, "formats": figures}, indent=2) + "\n"
    )
    write_model_json(out_dir, _model_meta(task, figures, main, point, onnx_path.name, version, licence, size))
    return {"operating_point": point, "formats": figures}


def stale_files(out_dir: Path, task_name: str) -> list[Path]:
    """Weights of the old three-format layout that the registry no longer reads (git rm them)."""
    candidates = [out_dir / f"{task_name}.pt", out_dir / f"{task_name}_openvino_model"]
    return [p for p in candidates if p.exists()]


def _previous_meta(out_dir: Path) -> dict[str, Any]:
    path = out_dir / "model.json"
    if not path.is_file():
        return {}
    try:
        return dict(json.loads(path.read_text()))
    except ValueError:
        raise ModelError(f"{path}: not valid JSON") from None


def _weights_for(onnx_path: Path, fmt: str) -> Path:
    from vision.models.cache import openvino_from_onnx, pt_from_onnx

    if fmt == "onnx":
        return onnx_path
    if fmt == "openvino":
        return openvino_from_onnx(onnx_path)
    if fmt == "pt":
        return pt_from_onnx(onnx_path)
    raise ModelError(f"unknown weights format {fmt!r} (choose from {', '.join(FORMATS)})")


def _operating_point(
    task: TaskSpec, doc: dict[str, Any], report: Any, measured_on: ShipData
) -> dict[str, Any]:
    from vision.train.operating_point import (
        MAX_FALSE_ALARM_RATE,
        detector_operating_point,
        scene_operating_point,
    )

    budget = measured_on.max_false_alarm_rate or MAX_FALSE_ALARM_RATE
    where = {"data": measured_on.names, "split": doc.get("split", "val"), "images": doc["images"]}
    if task.threshold_rule == "f1":
        return {"rule": "F1-optimal box confidence", "conf": doc["best_conf"], "f1": doc["f1"], **where}
    if task.kind == "classify":
        point = scene_operating_point(report.probs, report.true, report.labels, max_false_alarm_rate=budget)
    else:
        scores = report.scores
        point = detector_operating_point(
            scores.max_conf, scores.present, task.classes, max_false_alarm_rate=budget
        )
    return {**point.as_json(), **where}


def _figures_at(task: TaskSpec, report: Any, conf: float) -> dict[str, Any]:
    """Image-level figures (detector) or alerts (scene) at the shipped threshold."""
    if task.kind == "classify":
        from vision.train.scene_eval import alerts_json

        return alerts_json(report, conf)
    from vision.train.evaluate import image_level_json

    return {"conf": conf, "image_level": image_level_json(report, task.classes, conf)}


def _model_meta(
    task: TaskSpec,
    figures: dict[str, dict[str, Any]],
    main: str,
    point: dict[str, Any],
    onnx_name: str,
    version: str,
    licence: str,
    size: int,
) -> dict[str, Any]:
    doc = figures[main]
    if task.kind == "classify":
        classes = doc["confusion"]["labels"]
        metrics: dict[str, Any] = {"accuracy": doc["accuracy"]}
    else:
        classes = list(task.classes)
        metrics = {k: doc[k] for k in ("f1", "precision", "recall", "map50")}
        metrics["f1_conf"] = doc["conf"]
    metrics["speed_ms_per_image"] = {f: figures[f]["predict_ms_per_image"] for f in figures}
    meta: dict[str, Any] = {
        "name": task.name,
        "version": version,
        "task": task.kind,
        "classes": classes,
        "imgsz": size,
        "conf": point["conf"],
    }
    if task.kind == "classify":
        meta["alert_conf"] = point["conf"]
    meta.update(
        {
            "operating_point": point,
            "weights": {"onnx": onnx_name},
            "licence": licence,
            "metrics": metrics,
            "card": "MODEL_CARD.md",
        }
    )
    return meta


def _write_failures(task: TaskSpec, report: Any, conf: float, out: Path) -> None:
    from vision.train.failures import detector_failures, scene_failures, write_failures

    if task.kind == "classify":
        found = scene_failures(
            [(i.image, i.crop) for i in report.items], report.probs, report.true, report.labels, conf
        )
    else:
        s = report.scores
        found = detector_failures(s.images, s.max_conf, s.present, task.classes, conf)
    write_failures(found, out, conf)


def _detector_figures(
    path: Path, measured_on: ShipData, classes: tuple[str, ...], imgsz: int, runtime: RuntimeOptions
) -> tuple[dict[str, Any], Any]:
    from vision.models.detector import load_detector
    from vision.train.evaluate import eval_policy, evaluate_detector, load_eval_samples, report_json

    detector = load_detector(path, names=classes, imgsz=imgsz, runtime=runtime)
    eval_set = load_eval_samples(
        measured_on.data, eval_policy(classes, detector.names), "val", measured_on.heldout
    )
    report = evaluate_detector(detector, eval_set.samples, classes)
    doc = report_json(report, path.name, measured_on.names, 0.5)
    doc["split"] = eval_set.split
    return doc, report


def _classifier_figures(path: Path, measured_on: ShipData) -> tuple[dict[str, Any], Any]:
    from vision.models.classifier import load_classifier
    from vision.models.registry import DEFAULT_ALERT_CONF
    from vision.train.scene_eval import confusion_json, evaluate_classifier, load_scene_eval_items

    items, _ = load_scene_eval_items(measured_on.data, "val", measured_on.heldout)
    report = evaluate_classifier(load_classifier(path), items)
    doc = confusion_json(report, path.name, measured_on.names, DEFAULT_ALERT_CONF)
    doc["split"] = "val"
    return doc, report
