"""Batching frames from many callers (job chunks, live streams) into big detector calls.

`BatchScheduler` is the pure policy: requests wait until enough frames are queued for a full batch
or until the most urgent request's deadline (live frames: a short latency cap; chunk frames: a
longer wait). `SharedBatchDetector` is the `Detector` a GPU worker hands to all its threads: each
`predict` call queues its frames and blocks, one runner thread feeds the wrapped detector.

>>> s = BatchScheduler(max_batch=4)
>>> s.add(Request(frames=2, conf=0.25, deadline_s=1.0))
>>> s.add(Request(frames=2, conf=0.25, deadline_s=9.0))
>>> [r.frames for r in s.take(now_s=0.0)]  # 4 frames queued: a full batch goes at once
[2, 2]
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

from vision.models.detections import Detections
from vision.models.detector import Detector, Frame

MAX_BATCH = 128  # frames per GPU call: past this the GPU's throughput barely grows
LIVE_LATENCY_S = 0.05  # longest a live frame waits for others to fill its batch
BULK_WAIT_S = 0.05  # longest a chunk's frames wait for other chunks' frames


@dataclass(eq=False)
class Request:
    """Frames of one caller that must go through the detector together, by `deadline_s`."""

    frames: int
    conf: float
    deadline_s: float
    payload: Any = field(default=None, repr=False)


class BatchScheduler:
    """Which queued requests to run next: a full batch now, or whatever is queued at a deadline.

    Only requests with the same confidence threshold share a batch. A request larger than
    `max_batch` runs alone (the detector splits it). Not thread-safe: its owner holds a lock.
    """

    def __init__(self, max_batch: int) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be at least 1, got {max_batch}")
        self.max_batch = max_batch
        self._queue: list[Request] = []

    def add(self, request: Request) -> None:
        self._queue.append(request)

    def __len__(self) -> int:
        return len(self._queue)

    def queued_frames(self) -> int:
        return sum(r.frames for r in self._queue)

    def next_deadline_s(self) -> float | None:
        """The earliest deadline queued, when the runner must wake up at the latest."""
        return min((r.deadline_s for r in self._queue), default=None)

    def take(self, now_s: float) -> list[Request]:
        """The requests to run now (most urgent first), or [] when waiting can still fill the batch."""
        if not self._queue:
            return []
        urgent = sorted(self._queue, key=lambda r: r.deadline_s)
        conf = urgent[0].conf
        same = [r for r in urgent if r.conf == conf]
        due = urgent[0].deadline_s <= now_s
        if not due and sum(r.frames for r in same) < self.max_batch:
            return []
        batch: list[Request] = []
        total = 0
        for request in same:
            if batch and total + request.frames > self.max_batch:
                break
            batch.append(request)
            total += request.frames
        taken = set(map(id, batch))
        self._queue = [r for r in self._queue if id(r) not in taken]
        return batch


class SharedBatchDetector:
    """A `Detector` shared by threads: their frames run through `inner` in batches of up to `max_batch`.

    `predict(frames, latency_s=...)` blocks until its own results are ready; live callers pass a
    short `latency_s`, job chunks keep the default bulk wait. Call `close()` to stop the runner.

    The runner thread calls `inner.warm_up()` (where the detector has one) before the constructor
    returns: cuDNN keeps the kernels it tuned for each input shape per thread, so a warm-up in
    any other thread leaves the runner to tune every batch size again while live frames wait.
    """

    def __init__(
        self,
        inner: Detector,
        max_batch: int = MAX_BATCH,
        live_latency_s: float = LIVE_LATENCY_S,
        bulk_wait_s: float = BULK_WAIT_S,
    ) -> None:
        self.inner = inner
        self.names, self.imgsz = inner.names, inner.imgsz
        self.backend = inner.backend
        self.default_conf = float(getattr(inner, "conf", 0.25))
        self.live_latency_s, self.bulk_wait_s = live_latency_s, bulk_wait_s
        self._scheduler = BatchScheduler(max_batch)
        self._cond = threading.Condition()
        self._closed = False
        self._ready = threading.Event()
        self._warm_up_error: BaseException | None = None
        self._runner = threading.Thread(target=self._run, name="shared-batch-detector", daemon=True)
        self._runner.start()
        self._ready.wait()
        if self._warm_up_error is not None:
            self._runner.join()
            raise self._warm_up_error

    def predict(
        self, frames: Sequence[Frame], conf: float | None = None, *, latency_s: float | None = None
    ) -> list[Detections]:
        if not frames:
            return []
        wait_s = self.bulk_wait_s if latency_s is None else latency_s
        future: Future[list[Detections]] = Future()
        request = Request(
            len(frames),
            self.default_conf if conf is None else conf,
            time.monotonic() + wait_s,
            (frames, future),
        )
        with self._cond:
            if self._closed:
                raise RuntimeError("the shared detector is closed")
            self._scheduler.add(request)
            self._cond.notify()
        return future.result()

    def predict_live(self, frames: Sequence[Frame], conf: float | None = None) -> list[Detections]:
        """Frames of a live stream: they wait at most the live latency cap for a batch to fill."""
        return self.predict(frames, conf, latency_s=self.live_latency_s)

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify()
        self._runner.join()

    def _run(self) -> None:
        try:
            getattr(self.inner, "warm_up", lambda: None)()
        except BaseException as exc:  # the constructor raises it in the caller's thread
            self._warm_up_error = exc
            return
        finally:
            self._ready.set()
        while True:
            with self._cond:
                while True:
                    now = time.monotonic()
                    batch = self._scheduler.take(float("inf") if self._closed else now)
                    if batch:
                        break
                    if self._closed:
                        return
                    deadline = self._scheduler.next_deadline_s()
                    self._cond.wait(None if deadline is None else max(0.0, deadline - now))
            self._run_batch(batch)

    def _run_batch(self, batch: list[Request]) -> None:
        frames: list[Frame] = []
        for request in batch:
            frames.extend(request.payload[0])
        try:
            results = self.inner.predict(frames, conf=batch[0].conf)
        except BaseException as exc:  # every waiting caller gets the detector's error
            for request in batch:
                request.payload[1].set_exception(exc)
            return
        start = 0
        for request in batch:
            request.payload[1].set_result(results[start : start + request.frames])
            start += request.frames
