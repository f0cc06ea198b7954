"""Batching frames of many callers: full batches go at once, waits end at the most urgent deadline."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from vision.models.batching import BatchScheduler, Request, SharedBatchDetector
from vision.models.detections import Detections


def req(frames: int, deadline_s: float, conf: float = 0.25) -> Request:
    return Request(frames=frames, conf=conf, deadline_s=deadline_s)


def test_nothing_runs_before_a_deadline_while_the_batch_is_not_full():
    s = BatchScheduler(max_batch=8)
    s.add(req(3, deadline_s=1.0))
    assert s.take(now_s=0.5) == [] and s.next_deadline_s() == 1.0


def test_at_the_deadline_whatever_is_queued_runs():
    s = BatchScheduler(max_batch=8)
    a, b = req(3, 1.0), req(2, 5.0)
    s.add(a)
    s.add(b)
    assert s.take(now_s=1.0) == [a, b] and len(s) == 0


def test_a_full_batch_runs_at_once_and_the_rest_waits():
    s = BatchScheduler(max_batch=4)
    a, b, c = req(2, 9.0), req(2, 9.0), req(2, 9.0)
    for r in (a, b, c):
        s.add(r)
    assert s.take(now_s=0.0) == [a, b]
    assert s.take(now_s=0.0) == [] and s.queued_frames() == 2


def test_a_live_frame_goes_before_older_bulk_frames():
    s = BatchScheduler(max_batch=2)
    bulk, live = req(2, deadline_s=5.0), req(1, deadline_s=0.1)
    s.add(bulk)
    s.add(live)
    assert s.take(now_s=0.1) == [live]


def test_only_requests_with_the_same_threshold_share_a_batch():
    s = BatchScheduler(max_batch=8)
    a, b, c = req(1, 1.0, conf=0.2), req(1, 1.0, conf=0.5), req(1, 2.0, conf=0.2)
    for r in (a, b, c):
        s.add(r)
    assert s.take(now_s=3.0) == [a, c]
    assert s.take(now_s=3.0) == [b]


def test_a_request_larger_than_a_batch_runs_alone():
    s = BatchScheduler(max_batch=4)
    big, small = req(10, 1.0), req(1, 1.0)
    s.add(big)
    s.add(small)
    assert s.take(now_s=0.0) == [big]


def test_max_batch_must_be_positive():
    with pytest.raises(ValueError, match="max_batch"):
        BatchScheduler(0)


class RecordingDetector:
    """Returns one box per frame whose x1 is the frame's first pixel value; records call sizes."""

    names = ("a",)
    imgsz = 32
    backend = "fake"

    def __init__(self) -> None:
        self.calls: list[int] = []

    def predict(self, frames, conf=None):
        self.calls.append(len(frames))
        return [
            Detections(
                np.array([[f[0, 0, 0], 0, 1, 1]], np.float32), np.ones(1, np.float32), np.zeros(1, np.int64)
            )
            for f in frames
        ]


def test_shared_detector_batches_threads_and_hands_each_its_own_results():
    inner = RecordingDetector()
    shared = SharedBatchDetector(inner, max_batch=12, live_latency_s=5.0, bulk_wait_s=5.0)
    results: dict[int, list[float]] = {}
    barrier = threading.Barrier(4)

    def caller(k: int) -> None:
        frames = [np.full((4, 4, 3), 10 * k + i, np.uint8) for i in range(3)]
        barrier.wait()
        results[k] = [float(d.xyxy[0, 0]) for d in shared.predict(frames)]

    threads = [threading.Thread(target=caller, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    shared.close()
    assert inner.calls == [12]  # four callers, one full batch long before the 5 s wait
    assert results == {k: [10.0 * k, 10.0 * k + 1, 10.0 * k + 2] for k in range(4)}


def test_shared_detector_gives_every_caller_the_detectors_error():
    class Broken(RecordingDetector):
        def predict(self, frames, conf=None):
            raise RuntimeError("CUDA out of memory")

    shared = SharedBatchDetector(Broken(), max_batch=4, live_latency_s=0.0)
    with pytest.raises(RuntimeError, match="out of memory"):
        shared.predict_live([np.zeros((4, 4, 3), np.uint8)])
    shared.close()


def test_shared_detector_warms_its_detector_up_in_the_thread_that_runs_its_batches():
    # cuDNN keeps tuned kernels per thread: a warm-up elsewhere would leave the runner untuned.
    class Warmed(RecordingDetector):
        def __init__(self) -> None:
            super().__init__()
            self.threads: list[tuple[str, int]] = []

        def warm_up(self) -> None:
            self.threads.append(("warm_up", threading.get_ident()))

        def predict(self, frames, conf=None):
            self.threads.append(("predict", threading.get_ident()))
            return super().predict(frames, conf)

    inner = Warmed()
    shared = SharedBatchDetector(inner, max_batch=4, live_latency_s=0.0)
    assert [what for what, _ in inner.threads] == ["warm_up"]  # done before the constructor returned
    shared.predict_live([np.zeros((4, 4, 3), np.uint8)])
    shared.close()
    (_, warm_thread), (_, run_thread) = inner.threads
    assert warm_thread == run_thread != threading.get_ident()


def test_a_detector_that_fails_its_warm_up_fails_the_shared_detectors_construction():
    class Unwarmable(RecordingDetector):
        def warm_up(self) -> None:
            raise RuntimeError("CUDA error: no kernel image is available")

    with pytest.raises(RuntimeError, match="no kernel image"):
        SharedBatchDetector(Unwarmable(), max_batch=4)
