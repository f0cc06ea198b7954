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
   frames): frames/s served and frame -> result latency p50 / p95 / max.

`--device cpu --seconds 0.2 --streams 2 --live-seconds 1` is a dry run that proves the script works.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import cv2  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

from vision.backends.onnx_torch_graph import OnnxGraphModule  # noqa: E402
from vision.backends.torch_backend import TorchDetector  # noqa: E402
from vision.models.batching import SharedBatchDetector  # noqa: E402
from vision.models.detector import DetectorOptions  # noqa: E402

SAMPLE_VIDEO = ROOT / "samples" / "drive.mp4"
STREAM_FPS = 5.0


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


def live_streams(
    detector: SharedBatchDetector, pool: list[np.ndarray], streams: int, seconds: float
) -> tuple[float, float]:
    """`streams` threads each sending one frame every 1/5 s; prints and returns served share and p95 ms."""
    latencies: list[float] = []
    lock = threading.Lock()
    stop_at = time.monotonic() + seconds

    def stream(k: int) -> None:
        next_s = time.monotonic() + (k / streams) / STREAM_FPS  # spread the streams over a period
        i = k
        while next_s < stop_at:
            time.sleep(max(0.0, next_s - time.monotonic()))
            sent = time.monotonic()
            detector.predict_live([pool[i % len(pool)]])
            with lock:
                latencies.append(time.monotonic() - sent)
            i += 1
            next_s += 1.0 / STREAM_FPS
            while next_s < time.monotonic():  # a late stream drops frames, as a live reader does
                next_s += 1.0 / STREAM_FPS

    threads = [threading.Thread(target=stream, args=(k,)) for k in range(streams)]
    start = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.monotonic() - start
    if not latencies:
        print(f"  {streams} streams: no frame served")
        return 0.0, float("inf")
    ms = sorted(v * 1000 for v in latencies)
    p95 = ms[min(len(ms) - 1, int(0.95 * len(ms)))]
    wanted = streams * STREAM_FPS
    print(
        f"  {streams:>4} streams x {STREAM_FPS:.0f} fps: served {len(ms) / elapsed:7.1f} of {wanted:.0f} "
        f"frames/s, latency p50 {statistics.median(ms):6.1f} ms, p95 {p95:6.1f} ms, max {ms[-1]:6.1f} ms"
    )
    return len(ms) / elapsed / wanted, p95


def section(title: str, body: Callable[[], None]) -> None:
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
    args = parser.parse_args()

    device = torch.device(args.device)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit(f"--device {args.device}: torch {torch.__version__} sees no CUDA device")
    gpu = torch.cuda.get_device_name(device) if device.type == "cuda" else "none"
    print(
        f"torch {torch.__version__} (CUDA {torch.version.cuda}), GPU: {gpu}, "
        f"{os.cpu_count()} CPU cores, model {args.onnx}"
    )
    half = torch.float16 if device.type == "cuda" else torch.float32
    pool = sample_frames()
    bare: dict[str, float] = {}
    summary: dict[str, float] = {}  # the sizing table's figures, printed last

    def forward() -> None:
        for name, dtype in (("fp16" if device.type == "cuda" else "fp32", half), ("fp32", torch.float32)):
            if name in bare:
                continue
            bare[name] = bare_forward(
                OnnxGraphModule(args.onnx), device, dtype, args.bare_batch, args.seconds
            )
            print(f"  bare forward {name}, batch {args.bare_batch}: {bare[name]:9.1f} frames/s")

    section("bare forward (input already on the device)", forward)
    reference = bare.get("fp16") or bare.get("fp32") or float("nan")
    batches = [int(b) for b in args.batches.split(",")]
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
                print(
                    f"  {label} batch {batch:>4}: {fps:9.1f} frames/s = {fps / reference:5.2f} x bare forward"
                )

        return body

    h, w = pool[0].shape[:2]
    section(f"detector path, {w}x{h} frames (host uint8 -> boxes on host)", detector_path(pool, f"{w}x{h}"))
    big = [cv2.resize(f, (1920, 1080)) for f in pool[:8]]
    section("detector path, 1920x1080 frames", detector_path(big, "1080p"))
    del big

    def decode() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            clip = write_1080p_clip(Path(tmp), pool)
            for label, path in ((f"{w}x{h}", SAMPLE_VIDEO), ("1080p", clip)):
                fps = decode_rate(path, min(args.seconds, 2.0))
                summary[f"decode {label}"] = fps
                print(f"  decode {label}: {fps:8.1f} frames/s per core")

    section("decode on one CPU core (mp4; the sampler retrieves only kept frames)", decode)

    def live() -> None:
        detector.batch = 256
        shared = SharedBatchDetector(
            detector, max_batch=256, live_latency_s=args.live_latency_ms / 1000, bulk_wait_s=0.5
        )
        shared.predict_live(pool[:1])  # warm-up
        try:
            for streams in (int(s) for s in args.streams.split(",")):
                served, p95_ms = live_streams(shared, pool, streams, args.live_seconds)
                if served >= 0.95 and p95_ms < 500:
                    summary["live streams meeting p95 < 500 ms"] = streams
        finally:
            shared.close()

    section(f"live streams, one shared batching detector, live wait cap {args.live_latency_ms:.0f} ms", live)

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
