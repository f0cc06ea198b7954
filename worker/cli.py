"""`tenken worker`, `tenken submit`, `tenken status` and `tenken stream`: the distributed path's commands."""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from tenken.errors import ConfigError, JobError
from tenken.settings import get_settings
from vision.road.survey_options import FLAG_OF_FIELD, option_help, parse_options


def worker(
    queues: str = typer.Option(
        "inference,ingest",
        "--queues",
        "-Q",
        help="Comma-separated queues: inference (chunks, live frames: GPU machines), ingest (CPU).",
    ),
    concurrency: int = typer.Option(1, "--concurrency", "-c", min=1, help="Worker processes (one per GPU)."),
    pool: str = typer.Option("prefork", "--pool", help="Celery pool: prefork, solo or threads."),
    name: str | None = typer.Option(None, "--name", "-n", help="Worker node name (default: random)."),
    loglevel: str = typer.Option("info", "--loglevel", "-l", help="debug, info, warning or error."),
) -> None:
    """Run a Celery worker on this machine (needs TENKEN_BROKER_URL and a shared TENKEN_DATABASE_URL).

    Example: TENKEN_BROKER_URL=redis://redis:6379/0 tenken worker --queues inference
    """
    from worker.app import make_celery, queue_names
    from worker.health import device_line, device_report

    settings = get_settings()
    app = make_celery(settings)
    names = queue_names(settings).resolve([q.strip() for q in queues.split(",") if q.strip()])
    # Refuse to start on a machine without the device asked for, before taking any task.
    typer.echo(f"tenken worker: {device_line(device_report(settings))}", err=True)
    argv = [
        "worker",
        f"--queues={','.join(names)}",
        f"--concurrency={concurrency}",
        f"--pool={pool}",
        f"--loglevel={loglevel}",
        f"--hostname={name or f'tenken-{uuid.uuid4().hex[:6]}'}@%h",
        "--without-gossip",
        "--without-mingle",
    ]
    app.worker_main(argv)


def _follow(job_id: str, quiet: bool, timeout_s: float | None = None) -> str:
    """Show a progress bar until the job finishes; returns its final state, or its state when
    `timeout_s` has passed first."""
    from tenken.store import jobs as jobstore
    from tenken.store.db import Store

    store = Store(get_settings().effective_database_url)
    with Progress(
        TextColumn("[bold]{task.description}[/]"),
        BarColumn(),
        MofNCompleteColumn(),
        TextColumn("frames"),
        TimeRemainingColumn(),
        disable=quiet or not sys.stderr.isatty(),
        transient=True,
    ) as bar:
        task = bar.add_task("queued", total=None)
        deadline = None if timeout_s is None else time.monotonic() + timeout_s
        while True:
            with store.session() as s:
                job = jobstore.get_job(s, job_id)
                state, done, total = job.state, job.frames_done, job.frames_total
            bar.update(task, description=state, completed=done, total=total)
            if state in jobstore.FINAL_STATES or (deadline is not None and time.monotonic() > deadline):
                return state
            time.sleep(0.5)


def submit(
    video: Path = typer.Argument(..., help="Drive video; workers must see the same path (shared media)."),
    track: Path = typer.Option(..., "--track", "-t", help="GPS track (GPX, NMEA, CSV or DJI .SRT)."),
    model: str = typer.Option("road", help="Shipped model name, or a 'module:Class' detector."),
    conf: float | None = typer.Option(None, help=option_help("conf")),
    every_m: float | None = typer.Option(None, "--every-m", help=option_help("every_m")),
    camera: str = typer.Option("windscreen", "--camera", help="windscreen, dashcam or motorbike."),
    wait: bool = typer.Option(True, "--wait/--no-wait", help="Follow the job until it finishes."),
    timeout: float | None = typer.Option(
        None,
        "--timeout",
        min=1.0,
        help="Stop following after this many seconds (exit 3); the job itself goes on.",
    ),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress bar."),
) -> None:
    """Queue a road survey job (on Celery workers when a broker is set, else in this process).

    Example: tenken submit drive.mp4 --track drive.gpx
    """
    from tenken.store.jobs import FINAL_STATES
    from worker.executor import make_executor

    given = {"every_m": every_m, "conf": conf, "camera": camera}
    options = parse_options({k: v for k, v in given.items() if v is not None}, names=FLAG_OF_FIELD)
    settings = get_settings()
    executor = make_executor(settings)
    job_id = executor.submit_video_job(video, track, options, detector=model)
    typer.echo(job_id)
    if not wait and settings.broker_url:
        return
    state = _follow(job_id, quiet, timeout)
    executor.shutdown()
    _print_status(job_id, as_json=False)
    if state not in FINAL_STATES:
        where = (
            "it goes on on the workers"
            if settings.broker_url
            else "it resumes when `tenken serve` runs, or with `tenken status ID --resume`"
        )
        typer.echo(f"error: job {job_id} is still {state} after {timeout:g} s; {where}", err=True)
        raise typer.Exit(3)
    if state != "completed":
        raise typer.Exit(1)


def _print_status(job_id: str, *, as_json: bool) -> None:
    from tenken.store import defects as defectstore
    from tenken.store import jobs as jobstore
    from tenken.store.db import Store

    store = Store(get_settings().effective_database_url)
    with store.session() as s:
        job = jobstore.get_job(s, job_id)
        n_defects = len(defectstore.query_defects(s, job_id=job_id, limit=1_000_000))
        info: dict[str, Any] = {
            "job_id": job.id,
            "state": job.state,
            "frames_done": job.frames_done,
            "frames_total": job.frames_total,
            "defects": n_defects,
            "error": job.error,
            "errors": list(job.errors or []),
            "report_dir": job.report_dir,
            "created_at": job.created_at.isoformat() if job.created_at else None,
            "finished_at": job.finished_at.isoformat() if job.finished_at else None,
        }
    if as_json:
        typer.echo(json.dumps(info, indent=2))
        return
    total = info["frames_total"] if info["frames_total"] is not None else "?"
    typer.echo(f"{job_id}: {info['state']}, {info['frames_done']}/{total} frames, {n_defects} defects")
    if info["error"]:
        typer.echo(f"error: {info['error']}")
    for line in info["errors"]:
        typer.echo(f"failed {line}")
    if info["report_dir"]:
        typer.echo(f"report: {info['report_dir']}/index.html")


def _print_devices(*, as_json: bool, local: bool) -> None:
    """This machine's inference device and, with a broker, every worker's reply to `tenken_device`."""
    from worker.health import device_line, device_report

    settings = get_settings()
    here = device_report(settings)  # DeviceError (one line, exit 2) when TENKEN_DEVICE=cuda has no GPU
    workers: dict[str, Any] = {}
    if settings.broker_url and not local:
        from worker.app import make_celery

        for reply in make_celery(settings).control.broadcast("tenken_device", reply=True, timeout=5.0) or []:
            workers.update(reply)
    if as_json:
        typer.echo(json.dumps({"this_machine": here, "workers": workers}, indent=2))
        return
    typer.echo(f"this machine: {device_line(here)}")
    for name, report in sorted(workers.items()):
        line = device_line(report) if "device" in report else str(report.get("error", report))
        typer.echo(f"worker {name}: {line}")
        for spec, loaded in sorted(report.get("loaded", {}).items()):
            typer.echo(f"  {spec}: {loaded}")
    if settings.broker_url and not local and not workers:
        typer.echo("no worker answered within 5 s")


def status(
    job_id: str | None = typer.Argument(
        None, help="Job id printed by `tenken submit`; without one, the inference devices."
    ),
    local: bool = typer.Option(
        False, "--local", help="Without a job id: only this machine's device (a GPU healthcheck)."
    ),
    as_json: bool = typer.Option(False, "--json", help="Machine-readable output."),
    cancel: bool = typer.Option(False, "--cancel", help="Cancel the job if it has not finished."),
    resume: bool = typer.Option(
        False,
        "--resume",
        help="Send a failed or stalled job's remaining work again (failed chunks are tried again).",
    ),
) -> None:
    """Show a job's state, progress, failed chunks and report folder; without a job id, the devices.

    Example: tenken status            # this machine's and every worker's device, backend, provider
    """
    if job_id is None:
        if cancel or resume:
            raise ConfigError("--cancel and --resume need a job id")
        _print_devices(as_json=as_json, local=local)
        return
    if resume:
        from worker.executor import EmbeddedExecutor, make_executor

        executor = make_executor(get_settings())
        try:
            typer.echo(f"resumed: {executor.resume(job_id)}", err=True)
            if isinstance(executor, EmbeddedExecutor):
                executor.wait(job_id)
        finally:
            executor.shutdown()
    if cancel:
        from tenken.store import jobs as jobstore
        from tenken.store.db import Store

        with Store(get_settings().effective_database_url).session() as s:
            if not jobstore.cancel_job(s, job_id):
                jobstore.get_job(s, job_id)  # unknown id: JobError
                raise JobError(f"job {job_id} has already finished")
    _print_status(job_id, as_json=as_json)


def stream(
    source: str = typer.Argument(..., help="rtsp://, rtmp://, udp://, http:// (MJPEG) URL or a video file."),
    model: str = typer.Option("fire", "--model", help="Detector: shipped model name or 'module:Class'."),
    scene: str = typer.Option(
        "scene", "--scene", help="Scene classifier (landslide, flood): shipped model name; '' for none."
    ),
    stream_id: str | None = typer.Option(None, "--id", help="Name of this stream in published results."),
    every_s: float | None = typer.Option(
        None, "--every-s", min=0.02, help="Seconds between sampled frames (setting live_every_s)."
    ),
    batch: int = typer.Option(4, "--batch", min=1, max=64, help="Frames per inference task."),
    conf: float | None = typer.Option(
        None, min=0.0, max=1.0, help="Confidence threshold (setting live_conf, else the model's)."
    ),
    max_frames: int | None = typer.Option(None, "--max-frames", min=1, help="Stop after this many frames."),
    tiles: str | None = typer.Option(
        None,
        "--tiles",
        help="Also detect in COLSxROWS overlapping tiles of each frame, e.g. 2x2, or off "
        "(setting live_tiles).",
    ),
) -> None:
    """Read a live video source, run the live pipeline on sampled frames and publish results in order.

    With TENKEN_BROKER_URL set detection runs on the inference queue, telemetry and results go
    through Redis; otherwise detection runs in this process.
    """
    from vision.live.pipeline import LiveDetector, LocalDetector
    from vision.live.pose import PoseHistory
    from vision.live.telemetry_feed import TelemetryFollower
    from vision.live.tiles import TileGrid
    from vision.models.classifier import load_classifier
    from vision.models.registry import DEFAULT_ALERT_CONF, get_model
    from vision.models.runtime import RuntimeOptions
    from worker.bus import make_bus
    from worker.detectors import describe_detector, get_detector
    from worker.stream_reader import StreamConfig, run_stream

    settings = get_settings()
    grid = TileGrid.parse(tiles if tiles is not None else settings.live_tiles)  # a bad grid: one line now
    bus = make_bus(settings)
    config = StreamConfig(
        source=source,
        stream_id=stream_id or Path(source).stem or "stream",
        every_s=every_s if every_s is not None else settings.live_every_s,
        hfov_deg=settings.drone_camera_hfov_deg,
        gps_error_m=settings.drone_gps_error_m,
        batch_frames=batch,
        max_frames=max_frames,
        tiles=grid,
    )
    runtime = RuntimeOptions.from_settings(settings)
    info = describe_detector(model, runtime)[0]
    threshold = info.threshold(conf if conf is not None else settings.live_conf)
    detector: LiveDetector
    if settings.broker_url:
        from worker.app import make_celery, queue_names
        from worker.remote_detector import CeleryDetector

        queue = queue_names(settings).inference
        detector = CeleryDetector(make_celery(settings), queue, model, info.classes, threshold)
    else:
        detector = LocalDetector(get_detector(model, runtime).detector, threshold)
    scene_info = get_model(scene, runtime.models_dir) if scene else None
    classifier = load_classifier(scene_info.weights_path(device=runtime.device)) if scene_info else None
    poses = PoseHistory(settings.live_max_pose_age_s)
    follower = TelemetryFollower(bus, poses, config.stream_id).start() if settings.broker_url else None
    try:
        stats = run_stream(
            config,
            detector,
            bus,
            poses,
            classifier=classifier,
            scene_threshold=scene_info.alert_conf if scene_info else DEFAULT_ALERT_CONF,
        )
    finally:
        if follower is not None:
            follower.close()
    typer.echo(
        f"{stats.frames_sent} frames in {stats.batches} batches; "
        f"{stats.published} frames with findings published"
    )


def register(app: typer.Typer) -> None:
    app.command("worker")(worker)
    app.command("submit")(submit)
    app.command("status")(status)
    app.command("stream")(stream)
