"""GPU throughput and live latency of the torch backend, each figure as a ratio to the bare fp16 forward.

    python bench/bench_gpu.py --onnx models/road/road.onnx [--device cuda] [--seconds 3] [--streams 48]

Needs only torch, torchvision, numpy, opencv and the `onnx` package (no ultralytics, no Tenken
settings), so it runs on a bare GPU machine from a checkout. In one run it prints:

1. the bare network forward, fp16 (fp32 for reference), batch 256, input already on the GPU;
2. the whole detector path (`TorchDetector.predict`: uint8 frames on the host -> upload, letterbox,
   normalise, forward, decode, NMS -> boxes on the host) at batch 1, 8, 32 and 256, for frames of
   the sample drive's size and for 1080p frames, each with its ratio to (1);
3. frames decoded per second by one CPU core (sample size and 1080p), and so how many decode
   cores keep one GPU busy;
4. N simulated live streams at 5 fps sharing one `SharedBatchDetector` (latency cap for live
   frames): frames/s served, frame -> result latency p50 / p95 / max, the batch sizes the runner
   ran (mean / p95) and the share of the time it was busy; with `--standin`, the same streams
   served by a stand-in detector that only sleeps each batch's measured cost (section 2), which
   holds no GIL and does no host work: what the scheduler alone would give at that cost;
5. with `--profile`, a torch.profiler trace (CPU and CUDA activities) of `--profile-seconds` of the
   first stream count, written to $OUT (or the temp folder) as live_trace.json.gz, and its top
   ops printed (open the trace in https://ui.perfetto.dev).

`--device cpu --threads 1 --seconds 0.3 --bare-batch 2 --batches 1,2 --streams 2 --live-seconds 1
--standin --profile --profile-seconds 1` is a dry run of every section (a minute on 2 cores).
On a shared CPU machine keep `--threads 1` (torch's threads spin against other processes' load)
and scale the live load to the CPU with `--stream-fps`.
"""

from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from vision.backends.onnx_torch_graph import OnnxGraphModule  # noqa: E402
from vision.backends.torch_backend import TorchDetector, padded_batch  # noqa: E402
from vision.models.batching import SharedBatchDetector  # noqa: E402
from vision.models.detections import Detections  # noqa: E402
from vision.models.detector import DetectorOptions  # noqa: E402

SAMPLE_VIDEO = ROOT / "samples" / "drive.mp4"
SECTIONS = ("bare", "path", "1080p", "decode", "live")


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def rate(run: Callable[[], int], seconds: float, device: torch.device, warmup: int = 2) -> float:
    """Items per second of `run` (which returns how many items it did), timed for about `seconds`."""
    for _ in range(warmup):
        run()
    sync(device)
    done, start = 0, time.perf_counter()
    while True:
        done += run()
        sync(device)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed


def sample_frames(limit: int = 64) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(SAMPLE_VIDEO))
    frames: list[np.ndarray] = []
    while len(frames) < limit:
        ok, frame = capture.read()
        if not ok:
            break
        frames.append(frame)
    capture.release()
    if not frames:
        raise SystemExit(f"cannot read frames from {SAMPLE_VIDEO}")
    return frames


def frames_for(batch: int, pool: list[np.ndarray]) -> list[np.ndarray]:
    return [pool[i % len(pool)] for i in range(batch)]


def bare_forward(
    module: OnnxGraphModule, device: torch.device, dtype: torch.dtype, batch: int, s: float
) -> float:
    model = module.to(device, dtype).eval()
    size = module.info.imgsz
    x = torch.rand((batch, 3, size, size), device=device).to(dtype)
    if device.type == "cuda":
        model = model.to(memory_format=torch.channels_last)
        x = x.contiguous(memory_format=torch.channels_last)

    @torch.inference_mode()
    def run() -> int:
        model(x)
        return batch

    return rate(run, s, device)


def decode_rate(path: Path, seconds: float) -> float:
    """Frames per second one thread decodes (OpenCV limited to one thread)."""
    cv2.setNumThreads(1)
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        capture = cv2.VideoCapture(str(path))
        while capture.grab():
            capture.retrieve()
            done += 1
        capture.release()
    cv2.setNumThreads(0)
    return done / (time.perf_counter() - start)


def write_1080p_clip(folder: Path, pool: list[np.ndarray], n: int = 48) -> Path:
    path = folder / "clip1080.mp4"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"mp4v"), 30.0, (1920, 1080))
    for i in range(n):
        writer.write(cv2.resize(pool[i % len(pool)], (1920, 1080)))
    writer.release()
    return path


class TimedDetector:
    """The detector the shared runner calls, with each call's frames, wall and runner-CPU seconds."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.names, self.imgsz, self.backend = inner.names, inner.imgsz, inner.backend
        self.conf = getattr(inner, "conf", 0.25)
        self.calls: list[tuple[float, int, float, float]] = []  # (end, frames, wall s, thread CPU s)
        self.python_profile: cProfile.Profile | None = None  # set: the runner's Python calls are profiled

    def warm_up(self) -> None:
        getattr(self.inner, "warm_up", lambda: None)()

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        wall, cpu = time.perf_counter(), time.thread_time()
        profiler = self.python_profile
        if profiler is not None:
            profiler.enable()  # in this, the runner's, thread
        try:
            results: list[Detections] = self.inner.predict(frames, conf)
        finally:
            if profiler is not None:
                profiler.disable()
        end = time.perf_counter()
        self.calls.append((end, len(frames), end - wall, time.thread_time() - cpu))
        return results


class SleepDetector:
    """A stand-in that sleeps `cost_s(n)` per batch of n frames (no GIL held, no host work)."""

    backend = "stand-in"

    def __init__(self, cost_s: Callable[[int], float], names: tuple[str, ...], imgsz: int) -> None:
        self.cost_s, self.names, self.imgsz, self.conf = cost_s, names, imgsz, 0.25

    def predict(self, frames: Sequence[np.ndarray], conf: float | None = None) -> list[Detections]:
        time.sleep(self.cost_s(len(frames)))
        return [Detections.empty(self.names) for _ in frames]


def batch_cost_model(rates: dict[int, float]) -> Callable[[int], float]:
    """Seconds per batch of n frames, from measured frames/s by batch size, at the padded bucket."""
    sizes = sorted(rates)
    seconds = [b / rates[b] for b in sizes]

    def cost_s(n: int) -> float:
        b = padded_batch(n)
        if b > sizes[-1]:
            return seconds[-1] * b / sizes[-1]
        return float(np.interp(b, sizes, seconds))

    return cost_s


@dataclass
class LiveResult:
    served: float  # share of the frames the streams wanted
    p95_ms: float
    line: str


def live_streams(
    detector: SharedBatchDetector,
    timed: TimedDetector,
    pool: list[np.ndarray],
    streams: int,
    seconds: float,
    fps: float,
) -> LiveResult:
    """`streams` threads each sending one frame every 1/fps s; the served share, p95 and one line."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def stream(k: int) -> None:
        next_s = time.monotonic() + (k / streams) / fps  # spread the streams over a period
        i = k
        while next_s < stop_at:
            time.sleep(max(0.0, next_s - time.monotonic()))
            sent = time.monotonic()
            detector.predict_live([pool[i % len(pool)]])
            with lock:
                latencies.append(time.monotonic() - sent)
            i += 1
            next_s += 1.0 / fps
            while next_s < time.monotonic():  # a late stream drops frames, as a live reader does
                next_s += 1.0 / fps

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(streams)]
    timed.calls.clear()
    start, wall = time.monotonic(), time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed, wall_elapsed = time.monotonic() - start, time.perf_counter() - wall
    if not latencies:
        return LiveResult(0.0, float("inf"), f"{streams:>4} streams: no frame served")
    ms = sorted(v * 1000 for v in latencies)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    wanted = streams * fps
    calls = [c for c in timed.calls if c[0] >= wall]
    sizes = sorted(c[1] for c in calls) or [0]
    size_p95 = sizes[int(0.95 * (len(sizes) - 1))]
    busy = sum(c[2] for c in calls) / wall_elapsed
    cpu = sum(c[3] for c in calls) / max(1e-9, sum(c[2] for c in calls))
    line = (
        f"{streams:>4} streams x {fps:g} fps: served {len(ms) / elapsed:7.1f} of {wanted:.0f} frames/s, "
        f"latency p50 {statistics.median(ms):6.1f} ms, p95 {p95:6.1f} ms, max {ms[-1]:6.1f} ms; "
        f"{len(calls)} batches of {statistics.fmean(sizes):.1f} frames (p95 {size_p95}), "
        f"runner busy {busy:4.0%} (its CPU {cpu:4.0%} of that)"
    )
    return LiveResult(len(ms) / elapsed / wanted, p95, line)


def profile_live(run: Callable[[], LiveResult], device: torch.device, timed: TimedDetector) -> LiveResult:
    """Run `run` under torch.profiler and cProfile (the runner's detector calls); print their top
    entries and write the trace to $OUT or the temp folder."""
    from torch._C._profiler import _ExperimentalConfig
    from torch.profiler import ProfilerActivity, profile

    activities = [ProfilerActivity.CPU]
    if device.type == "cuda":
        activities.append(ProfilerActivity.CUDA)
    try:  # the detector runs in the shared runner's thread, not in this one
        config = _ExperimentalConfig(profile_all_threads=True)
    except TypeError:
        print(f"  torch {torch.__version__} records only this thread's ops: the runner's CPU ops are missing")
        config = None
    timed.python_profile = cProfile.Profile()
    try:
        with profile(activities=activities, experimental_config=config) as prof:
            result = run()
    finally:
        python_profile, timed.python_profile = timed.python_profile, None
    folder = Path(os.environ.get("OUT") or tempfile.gettempdir())
    trace = folder / "live_trace.json.gz"
    prof.export_chrome_trace(str(trace))
    averages = prof.key_averages()
    print(f"  trace: {trace} ({trace.stat().st_size / 1e6:.1f} MB)")
    print("  top ops by self CPU time:")
    print(averages.table(sort_by="self_cpu_time_total", row_limit=20))
    if device.type == "cuda":
        print("  top ops by self CUDA time:")
        print(averages.table(sort_by="self_cuda_time_total", row_limit=15))
    print(
        "  the runner's Python calls (cProfile; a call that releases the GIL counts its wait to retake it):"
    )
    pstats.Stats(python_profile, stream=sys.stdout).sort_stats("tottime").print_stats(25)
    return result


def section(title: str, body: Callable[[], None], run: bool = True) -> None:
    if not run:
        return
    print(f"\n== {title}", flush=True)
    try:
        body()
    except Exception:  # one failing section must not cost the others: the GPU run is scarce
        traceback.print_exc()
    sys.stdout.flush()


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--onnx", type=Path, default=ROOT / "models" / "road" / "road.onnx")
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing window of each figure")
    parser.add_argument("--bare-batch", type=int, default=256)
    parser.add_argument("--batches", default="1,8,32,256")
    parser.add_argument("--streams", default="48,96,192,384", help="live stream counts to simulate")
    parser.add_argument("--live-seconds", type=float, default=8.0)
    parser.add_argument("--live-latency-ms", type=float, default=50.0, help="batch wait cap of live frames")
    parser.add_argument(
        "--live-max-batch",
        type=int,
        default=0,
        help="largest batch of the shared runner (256; on a CPU max --batches)",
    )
    parser.add_argument("--stream-fps", type=float, default=5.0, help="frames per second of each live stream")
    parser.add_argument(
        "--standin", action="store_true", help="also serve each stream count with a sleep-only stand-in"
    )
    parser.add_argument("--profile", action="store_true", help="torch.profiler trace of the live section")
    parser.add_argument("--profile-seconds", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    parser.add_argument(
        "--sections",
        default=",".join(SECTIONS),
        help=f"sections to run, of {','.join(SECTIONS)} (live's stand-in takes its costs from path)",
    )
    args = parser.parse_args()
    wanted = set(args.sections.split(","))
    if wanted - set(SECTIONS):
        parser.error(f"--sections: no section {', '.join(sorted(wanted - set(SECTIONS)))}")
    if args.threads:
        torch.set_num_threads(args.threads)

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: torch {torch.__version__} sees no CUDA device")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(
        f"torch {torch.__version__} (CUDA {torch.version.cuda}), GPU: {gpu}, "
        f"{os.cpu_count()} CPU cores, {torch.get_num_threads()} torch threads, model {args.onnx}"
    )
    half = torch.float16 if device.type == "cuda" else torch.float32
    pool = sample_frames()
    bare: dict[str, float] = {}
    summary: dict[str, float] = {}  # the sizing table's figures, printed last
    rates: dict[str, dict[int, float]] = {}  # detector path frames/s by frame size and batch

    def forward() -> None:
        for name, dtype in (("fp16" if device.type == "cuda" else "fp32", half), ("fp32", torch.float32)):
            if name in bare:
                continue
            bare[name] = bare_forward(
                OnnxGraphModule(args.onnx), device, dtype, args.bare_batch, args.seconds
            )
            print(f"  bare forward {name}, batch {args.bare_batch}: {bare[name]:9.1f} frames/s")

    section("bare forward (input already on the device)", forward, "bare" in wanted)
    reference = bare.get("fp16") or bare.get("fp32") or float("nan")
    batches = [int(b) for b in args.batches.split(",")]
    live_max_batch = args.live_max_batch or (256 if device.type == "cuda" else max(batches))
    detector = TorchDetector(args.onnx, DetectorOptions(conf=0.2, batch=max(batches)), device=args.device)
    t = time.perf_counter()
    detector.warm_up()
    print(f"\ndetector: {detector.provider}; warm-up of every batch size {time.perf_counter() - t:.1f} s")

    def detector_path(frames_pool: list[np.ndarray], label: str) -> Callable[[], None]:
        def body() -> None:
            for batch in batches:
                frames = frames_for(batch, frames_pool)

                def run(frames: list[np.ndarray] = frames) -> int:
                    detector.predict(frames)
                    return len(frames)

                fps = rate(run, args.seconds, device)
                summary[f"detector {label} batch {batch}"] = fps
                rates.setdefault(label, {})[batch] = fps
                print(
                    f"  {label} batch {batch:>4}: {fps:9.1f} frames/s = {fps / reference:5.2f} x bare forward"
                )

        return body

    h, w = pool[0].shape[:2]
    section(
        f"detector path, {w}x{h} frames (host uint8 -> boxes on host)",
        detector_path(pool, f"{w}x{h}"),
        "path" in wanted,
    )
    big = [cv2.resize(f, (1920, 1080)) for f in pool[:8]]
    section("detector path, 1920x1080 frames", detector_path(big, "1080p"), "1080p" in wanted)
    del big

    def decode() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            clip = write_1080p_clip(Path(tmp), pool)
            for label, path in ((f"{w}x{h}", SAMPLE_VIDEO), ("1080p", clip)):
                fps = decode_rate(path, min(args.seconds, 2.0))
                summary[f"decode {label}"] = fps
                print(f"  decode {label}: {fps:8.1f} frames/s per core")

    title = "decode on one CPU core (mp4; the sampler retrieves only kept frames)"
    section(title, decode, "decode" in wanted)

    def live() -> None:
        # The runner warms the detector up to its batch in its own thread (cuDNN's plans are per thread).
        detector.batch = live_max_batch
        timed = TimedDetector(detector)
        wait_s = args.live_latency_ms / 1000
        t = time.perf_counter()
        shared = SharedBatchDetector(timed, live_max_batch, live_latency_s=wait_s, bulk_wait_s=0.5)
        # As long as the main thread's warm-up: cuDNN tuned the same sizes again for this thread.
        print(f"  runner warm-up of every batch size in its own thread: {time.perf_counter() - t:.1f} s")
        standin_shared = None
        if args.standin and rates.get(f"{w}x{h}"):
            cost_s = batch_cost_model(rates[f"{w}x{h}"])
            standin = TimedDetector(SleepDetector(cost_s, detector.names, detector.imgsz))
            standin_shared = SharedBatchDetector(standin, live_max_batch, live_latency_s=wait_s)
            print(
                "  stand-in: sleeps the measured batch cost, "
                + ", ".join(f"{b} frames {cost_s(b) * 1000:.1f} ms" for b in (1, 8, 32, 128))
            )
        shared.predict_live(pool[:1])
        counts = [int(c) for c in args.streams.split(",")]
        try:
            for streams in counts:
                result = live_streams(shared, timed, pool, streams, args.live_seconds, args.stream_fps)
                print(f"  torch    {result.line}", flush=True)
                if result.served >= 0.95 and result.p95_ms < 500 and args.stream_fps == 5.0:
                    summary["live streams meeting p95 < 500 ms"] = streams
                if standin_shared is not None:
                    other = live_streams(
                        standin_shared, standin, pool, streams, args.live_seconds, args.stream_fps
                    )
                    print(f"  stand-in {other.line}", flush=True)
            if args.profile:
                print(f"\n  profiling {args.profile_seconds:g} s of {counts[0]} streams")
                profiled = profile_live(
                    lambda: live_streams(
                        shared, timed, pool, counts[0], args.profile_seconds, args.stream_fps
                    ),
                    device,
                    timed,
                )
                print(f"  profiled {profiled.line}")
        finally:
            shared.close()
            if standin_shared is not None:
                standin_shared.close()

    section(
        f"live streams, one shared batching detector (max batch {live_max_batch}), "
        f"live wait cap {args.live_latency_ms:.0f} ms",
        live,
        "live" in wanted,
    )

    print("\n== sizing summary (docs/workers.md)")
    precision = "fp16" if "fp16" in bare else "fp32"
    print(f"  bare {precision} forward, batch {args.bare_batch}: {reference:.0f} frames/s per device")
    for name, value in summary.items():
        print(f"  {name}: {value:.0f}" + (" frames/s" if not name.startswith("live") else ""))
    best = max((v for k, v in summary.items() if k.startswith(f"detector {w}x{h}")), default=0.0)
    for label in (f"{w}x{h}", "1080p"):
        per_core = summary.get(f"decode {label}")
        if per_core:
            print(f"  decode cores to feed {best:.0f} frames/s of {label} video: {best / per_core:.1f}")


if __name__ == "__main__":
    main()
