"""The torch detector's host-side cost alone: everything `TorchDetector.predict` does but the network.

    python bench/bench_torch_host.py [--device cpu] [--streams 48,96,192] [--seconds 3]

The network is replaced by a lookup of its real output for the same frames, so what is timed is
the upload, letterbox, normalisation, NMS, decoding and the Python around them: the part that grows
with the number of batches, not with the GPU. It prints frames/s by batch size, then N live 5 fps
streams through one `SharedBatchDetector` (the same harness as `bench_gpu.py`) beside a stand-in
that only sleeps each batch's measured cost: where the torch path serves less, or later, than the
stand-in, the difference is host work under many caller threads (the GIL, per-frame Python).
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))  # bench_gpu, which puts the repo on the path

from bench_gpu import (
    ROOT,
    SleepDetector,
    TimedDetector,
    batch_cost_model,
    frames_for,
    live_streams,
    rate,
    sample_frames,
)

from vision.backends.torch_backend import TorchDetector, padded_batch
from vision.models.batching import SharedBatchDetector
from vision.models.detector import DetectorOptions


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--onnx", type=Path, default=ROOT / "models" / "road" / "road.onnx")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--seconds", type=float, default=3.0, help="timing window of each batch figure")
    parser.add_argument("--batches", default="1,8,32")
    parser.add_argument("--streams", default="48,96,192")
    parser.add_argument("--stream-fps", type=float, default=5.0)
    parser.add_argument("--live-seconds", type=float, default=6.0)
    parser.add_argument("--live-latency-ms", type=float, default=50.0)
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    pool = sample_frames(16)
    max_batch = 256
    detector = TorchDetector(args.onnx, DetectorOptions(conf=0.2, batch=max_batch), device=args.device)
    with torch.inference_mode():  # the network's real output for the pool, repeated to any batch
        blob = detector.preprocess(pool)[0]
        raw = detector.model(blob)
        raw = raw.repeat((padded_batch(max_batch) + len(pool) - 1) // len(pool), 1, 1)
    detector.model = lambda x: raw[: x.shape[0]]  # type: ignore[assignment]
    print(f"{detector.provider}, {torch.get_num_threads()} torch threads, network replaced by its output")

    rates: dict[int, float] = {}
    for batch in (int(b) for b in args.batches.split(",")):
        frames = frames_for(batch, pool)

        def run(frames: list = frames) -> int:
            detector.predict(frames)
            return len(frames)

        rates[batch] = rate(run, args.seconds, device)
        ms = batch / rates[batch] * 1000
        print(f"  batch {batch:>4}: {rates[batch]:8.1f} frames/s, {ms:6.2f} ms a batch")

    cost_s = batch_cost_model(rates)
    timed = TimedDetector(detector)
    standin = TimedDetector(SleepDetector(cost_s, detector.names, detector.imgsz))
    wait_s = args.live_latency_ms / 1000
    shared = SharedBatchDetector(timed, max_batch, live_latency_s=wait_s)
    standin_shared = SharedBatchDetector(standin, max_batch, live_latency_s=wait_s)
    try:
        for streams in (int(s) for s in args.streams.split(",")):
            for label, d, t in (("torch   ", shared, timed), ("stand-in", standin_shared, standin)):
                result = live_streams(d, t, pool, streams, args.live_seconds, args.stream_fps)
                print(f"  {label} {result.line}", flush=True)
    finally:
        shared.close()
        standin_shared.close()


if __name__ == "__main__":
    started = time.perf_counter()
    main()
    print(f"({time.perf_counter() - started:.0f} s)")
