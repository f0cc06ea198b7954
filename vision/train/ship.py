"""Turn a trained checkpoint into a shipped model folder: exports, figures per format, model.json."""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from vision.train.export import export_formats, write_model_json
from vision.train.tasks import get_task

FORMATS = ("pt", "onnx", "openvino")


def ship_model(
    task_name: str,
    best_pt: Path,
    data: Sequence[Path],
    out_dir: Path,
    *,
    version: str,
    licence: str,
    imgsz: int | None = None,
) -> dict[str, Any]:
    """Export `best_pt` into `out_dir`, score every format on the val data and write model.json."""
    task = get_task(task_name)
    size = imgsz or task.imgsz
    weights = export_formats(best_pt, size, out_dir, task_name)
    figures: dict[str, dict[str, Any]] = {}
    for fmt in FORMATS:
        figures[fmt] = (
            _classifier_figures(out_dir / weights[fmt], data)
            if task.kind == "classify"
            else _detector_figures(out_dir / weights[fmt], data, task.classes, size)
        )
    (out_dir / "metrics.json").write_text(json.dumps(figures, indent=2) + "\n")
    main = figures["onnx"]
    if task.kind == "classify":
        classes = main["confusion"]["labels"]
        conf = 0.5
        metrics = {"accuracy": main["accuracy"]}
    else:
        classes = list(task.classes)
        conf = float(main["best_conf"])
        metrics = {k: main[k] for k in ("f1", "precision", "recall", "map50")}
    metrics["speed_ms_per_image"] = {f: figures[f]["predict_ms_per_image"] for f in FORMATS}
    write_model_json(
        out_dir,
        {
            "name": task_name,
            "version": version,
            "task": task.kind,
            "classes": classes,
            "imgsz": size,
            "conf": conf,
            "weights": weights,
            "licence": licence,
            "metrics": metrics,
            "card": "MODEL_CARD.md",
        },
    )
    return figures


def _detector_figures(
    path: Path, data: Sequence[Path], classes: tuple[str, ...], imgsz: int
) -> dict[str, Any]:
    from vision.detector import load_detector
    from vision.train.evaluate import eval_policy, evaluate_detector, load_eval_samples, report_json

    detector = load_detector(path, names=classes, imgsz=imgsz)
    samples = load_eval_samples(data, eval_policy(classes, detector.names))
    report = evaluate_detector(detector, samples, classes)
    return report_json(report, str(path.name), [str(d) for d in data], 0.5)


def _classifier_figures(path: Path, data: Sequence[Path]) -> dict[str, Any]:
    from vision.classifier import load_classifier
    from vision.train.scene import read_scene_sources, split_items
    from vision.train.scene_eval import confusion_json, evaluate_classifier

    items = split_items(read_scene_sources(data))["val"]
    return confusion_json(
        evaluate_classifier(load_classifier(path), items), str(path.name), [str(d) for d in data]
    )
