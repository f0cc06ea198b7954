"""`tenken analyze`: the road survey from the command line, with a progress bar and a report folder."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tenken.errors import ConfigError
from tenken.settings import get_settings
from vision.road.survey_options import FLAG_OF_FIELD, option_help, parse_options


def _parse_time(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(f"--start {value!r}: expected ISO-8601 time or UNIX seconds") from None
    if parsed.tzinfo is None:
        from datetime import UTC

        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


def analyze(
    video: Path = typer.Argument(..., help="Drive video (MP4, MOV, AVI ... anything OpenCV decodes)."),
    track: Path = typer.Option(
        ...,
        "--track",
        "-t",
        help="GPS track: GPX, NMEA (.nmea/.log), CSV (time,lat,lon[,alt,heading]), DJI .SRT or 70mai .txt.",
    ),
    out: Path | None = typer.Option(
        None,
        "--out",
        "-o",
        help="Report folder to write (default: <video name>-report in the current folder).",
    ),
    model: str = typer.Option("road", help="Shipped model to use (see `tenken models`)."),
    weights: Path | None = typer.Option(
        None, help="Use these weights (.pt, .onnx or OpenVINO folder) instead of a shipped model."
    ),
    conf: float | None = typer.Option(None, help=option_help("conf")),
    every_m: float | None = typer.Option(None, "--every-m", help=option_help("every_m")),
    camera: str = typer.Option(
        "windscreen",
        "--camera",
        help="Camera mount profile: windscreen (phone, 1.3 m, 15° down, 70° FOV), "
        "dashcam (1.25 m, 12°, 100°) or motorbike (1.5 m, 50°, 80°).",
    ),
    camera_height: float | None = typer.Option(
        None,
        "--camera-height",
        help=option_help("height_m", camera=True).rstrip(".") + " (overrides the profile).",
    ),
    camera_pitch: float | None = typer.Option(
        None, "--camera-pitch", help=option_help("pitch_deg", camera=True)
    ),
    hfov: float | None = typer.Option(None, "--hfov", help=option_help("hfov_deg", camera=True)),
    gps_error: float | None = typer.Option(None, "--gps-error", help=option_help("gps_error_m")),
    merge_radius: float | None = typer.Option(None, "--merge-radius", help=option_help("merge_radius_m")),
    min_observations: int | None = typer.Option(
        None, "--min-observations", help=option_help("min_observations")
    ),
    segment_m: float | None = typer.Option(None, "--segment-m", help=option_help("segment_m")),
    lane_width: float | None = typer.Option(None, "--lane-width", help=option_help("lane_width_m")),
    start: str | None = typer.Option(
        None, "--start", help="UTC time of the first video frame (ISO-8601); default: the track's start."
    ),
    offset: float | None = typer.Option(None, "--offset", help=option_help("offset_s")),
    max_frames: int | None = typer.Option(None, "--max-frames", help=option_help("max_frames")),
    batch: int | None = typer.Option(None, help=option_help("batch")),
    tile_url: str | None = typer.Option(
        None,
        "--tile-url",
        help="Map tile URL template for the report; '' for none (default: setting TENKEN_TILE_URL).",
    ),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing report folder."),
    as_json: bool = typer.Option(False, "--json", help="Print a machine-readable summary on stdout."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Find pavement damage in a drive video and write a report folder with a map.

    Every defect is placed on the map once (merged across the frames that saw it), every
    100 m of road is graded by the 舗装点検要領 (crack ratio, category I/II/III, MCI), and the
    folder holds index.html (open it in a browser, works offline), defects.geojson/.csv,
    segments.geojson, report.json and evidence crops with faces and plates blurred.

    Example: tenken analyze drive.mp4 --track drive.gpx --out drive-report
    """
    from tenken.report.writer import check_tile_url
    from vision.models.detector import load_detector
    from vision.models.registry import DEFAULT_CONF, ModelInfo, get_model
    from vision.models.runtime import RuntimeOptions
    from vision.road.report import check_report_folder, write_survey_report
    from vision.road.survey import prepare_survey, run_survey

    for path, what in ((video, "video"), (track, "track")):
        if not path.exists():
            raise ConfigError(f"{what} file not found: {path}")
    mount = {"profile": camera, "height_m": camera_height, "pitch_deg": camera_pitch, "hfov_deg": hfov}
    given: dict[str, Any] = {
        "every_m": every_m,
        "conf": conf,
        "batch": batch,
        "camera": {k: v for k, v in mount.items() if v is not None},
        "gps_error_m": gps_error,
        "merge_radius_m": merge_radius,
        "min_observations": min_observations,
        "segment_m": segment_m,
        "lane_width_m": lane_width,
        "video_start_s": _parse_time(start),
        "offset_s": offset,
        "max_frames": max_frames,
    }
    options = parse_options({k: v for k, v in given.items() if v is not None}, names=FLAG_OF_FIELD)
    out_dir = out or Path(f"{video.stem}-report")
    settings = get_settings()
    # Check everything the user gave before the slow part: output folder, inputs, tile URL, model.
    check_report_folder(out_dir, (video, track), overwrite=overwrite)
    prepared = prepare_survey(video, track, options)
    if prepared.track.warning:
        typer.echo(f"warning: {prepared.track.warning}", err=True)
    tiles = check_tile_url(settings.tile_url if tile_url is None else tile_url)
    runtime = RuntimeOptions.from_settings(settings)
    if weights is None:
        info = get_model(model, runtime.models_dir)
        weights_path = info.weights_path(device=runtime.device)
        threshold = info.threshold(options.conf)
        detector = load_detector(
            weights_path,
            names=info.classes,
            imgsz=info.imgsz,
            conf=threshold,
            batch=options.batch,
            runtime=runtime,
        )
    else:  # the user's own weights: names and input size come from the export's metadata
        weights_path = weights
        detector = load_detector(weights_path, batch=options.batch, runtime=runtime)
        info = ModelInfo(
            name=weights.stem,
            version="custom",
            task="detect",
            classes=detector.names,
            imgsz=detector.imgsz,
            conf=DEFAULT_CONF,
            licence="as supplied by the user",
            folder=weights.parent,
        )
        threshold = info.threshold(options.conf)
    show_bar = not quiet and sys.stderr.isatty()
    with Progress(
        TextColumn("[bold]analyzing[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeRemainingColumn(),
        disable=not show_bar,
        transient=True,
    ) as bar:
        task = bar.add_task("analyze", total=None)

        def on_progress(done: int, total: int) -> None:
            bar.update(task, completed=done, total=total)

        result = run_survey(
            video, track, detector, options, conf=threshold, progress=on_progress, prepared=prepared
        )
    summary = write_survey_report(
        result,
        out_dir,
        model=info,
        weights=weights_path,
        backend=detector.backend,
        conf=threshold,
        options=options,
        tile_url=tiles,
        overwrite=overwrite,
    )
    warning = result.coverage.warning() if result.coverage else None
    if warning:
        typer.echo(f"warning: {warning}", err=True)
    if as_json:
        typer.echo(json.dumps(summary, indent=2))
    else:
        counts = ", ".join(f"{n} {c}" for c, n in summary["counts"]["by_class"].items()) or "none"
        typer.echo(
            f"{summary['counts']['defects']} defects ({counts}) in {result.frames_sampled} sampled frames; "
            f"report: {summary['report']}/index.html"
        )


def register(app: typer.Typer) -> None:
    app.command("analyze")(analyze)
