"""Running the embedded survey's stages side by side with the detector.

The detector is the survey's one big cost; the rest should hide behind it. `prefetch` decodes
frames in a thread ahead of the detector (OpenCV releases the GIL while decoding), and
`EvidenceAhead` follows the tracker frame by frame and starts anonymising the evidence crop of
each track as soon as the track closes, while later frames are still being detected, so the
aggregation at the end finds most crops ready. Speculation never changes a result: the
aggregation takes a crop from here only for the very observation it chose itself.
`CpuClock` sums the CPU seconds each such stage spent in whichever thread ran it.
"""

from __future__ import annotations

import itertools
import math
import os
import queue
import threading
import time
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

from tenken.findings import Observation
from vision.road.evidence import anonymised_evidence
from vision.road.tracking import ClosedTrack, Tracker

T = TypeVar("T")
P = ParamSpec("P")
_DONE = object()


class CpuClock:
    """CPU seconds spent per stage, summed over the threads that ran it (the calling thread's own
    time: work a library hands to its own thread pool is not counted)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.seconds: dict[str, float] = {}

    def add(self, stage: str, seconds: float) -> None:
        with self._lock:
            self.seconds[stage] = self.seconds.get(stage, 0.0) + seconds

    def timed(self, stage: str, fn: Callable[P, T]) -> Callable[P, T]:
        """`fn`, adding the CPU time of each call to `stage`."""

        def run(*args: P.args, **kwargs: P.kwargs) -> T:
            start = time.thread_time()
            try:
                return fn(*args, **kwargs)
            finally:
                self.add(stage, time.thread_time() - start)

        return run


def prefetch(items: Iterable[T], depth: int) -> Generator[T, None, None]:
    """`items`, produced by a background thread up to `depth` ahead; its exceptions re-raised here."""
    ready: queue.Queue[object] = queue.Queue(maxsize=max(1, depth))
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        ready.put(item, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            ready.put(_DONE)
        except BaseException as exc:  # handed to the consumer, which raises it
            ready.put(exc)

    thread = threading.Thread(target=produce, name="survey-decode", daemon=True)
    thread.start()
    try:
        while True:
            item = ready.get()
            if item is _DONE:
                return
            if isinstance(item, BaseException):
                raise item
            yield item  # type: ignore[misc]
    finally:
        stop.set()
        thread.join()


Key = tuple[int, int]  # (frame index, index of the observation in its frame)


@dataclass
class _Group:
    """Closed tracks the map-space merge will join (same class, centres within the radius)."""

    class_name: str
    best_key: int
    best_confidence: float


Cell = tuple[str, int, int]  # (class, column, row) of a grid of squares twice the merge radius


class EvidenceAhead:
    """Anonymised evidence crops of closed tracks' best observations, computed while detection goes on.

    Closed tracks are grouped as the map-space merge will group them, and only a group's most
    confident observation is anonymised, so little work is wasted on crops no defect will show.
    """

    def __init__(
        self,
        *,
        gate_m: float,
        merge_radius_m: float,
        workers: int | None = None,
        clock: CpuClock | None = None,
    ) -> None:
        self._anonymise = clock.timed("privacy", anonymised_evidence) if clock else anonymised_evidence
        self._tracker = Tracker(gate_m=gate_m)
        self._merge_radius_m = merge_radius_m
        self._keys: list[Key] = []
        self._pending: dict[int, tuple[bytes, tuple[float, float, float, float]]] = {}
        # Groups by id, ids in the order the groups were made: a merged group takes a new id, so the
        # oldest group comes first. Each track centre sits in a grid cell under its group's id at the
        # time; `_parent` leads a merged group's id to the group it is now part of.
        self._groups: dict[int, _Group] = {}
        self._parent: dict[int, int] = {}
        self._cells: dict[Cell, list[tuple[tuple[float, float], int]]] = {}
        self._cell_m = 2.0 * merge_radius_m if merge_radius_m > 0 else 1.0
        self._group_ids = itertools.count()
        self._pool = ThreadPoolExecutor(max_workers=workers or os.cpu_count() or 1)
        self.crops: dict[Key, Future[bytes]] = {}

    def add_frame(
        self,
        frame_index: int,
        timestamp_s: float,
        observations: Sequence[Observation],
        crops_jpeg: Sequence[bytes],
    ) -> None:
        first = len(self._keys)
        for k, (obs, crop) in enumerate(zip(observations, crops_jpeg, strict=True)):
            self._keys.append((frame_index, k))
            self._pending[first + k] = (crop, obs.box_xyxy)
        self._tracker.add_frame(frame_index, observations, range(first, first + len(observations)))
        for closed in self._tracker.closed_tracks(timestamp_s):
            self._join(closed)

    def _root(self, group_id: int) -> int:
        while group_id in self._parent:
            parent = self._parent[group_id]
            self._parent[group_id] = self._parent.get(parent, parent)  # halve the path
            group_id = parent
        return group_id

    def _join(self, closed: ClosedTrack) -> None:
        # Only the 3 x 3 cells around the centre can hold one within the radius: each join costs
        # the centres nearby, not every centre so far.
        column, row = (math.floor(v / self._cell_m) for v in closed.xy)
        near_ids = {
            self._root(group_id)
            for dc in (-1, 0, 1)
            for dr in (-1, 0, 1)
            for centre, group_id in self._cells.get((closed.class_name, column + dc, row + dr), ())
            if math.dist(centre, closed.xy) <= self._merge_radius_m
        }
        group_id = next(self._group_ids)
        group = _Group(closed.class_name, closed.best_key, closed.best_confidence)
        for other_id in sorted(near_ids):  # the new track joins them into one group, oldest first
            other = self._groups.pop(other_id)
            self._parent[other_id] = group_id
            if other.best_confidence >= group.best_confidence:
                self._drop(group.best_key)
                group.best_key, group.best_confidence = other.best_key, other.best_confidence
            else:
                self._drop(other.best_key)
        self._groups[group_id] = group
        self._cells.setdefault((closed.class_name, column, row), []).append((closed.xy, group_id))
        key = self._keys[group.best_key]
        if key not in self.crops:
            crop, box = self._pending[group.best_key]
            self.crops[key] = self._pool.submit(self._anonymise, crop, box)

    def _drop(self, best_key: int) -> None:
        """A crop no longer needed: cancelled when it has not started (else left, harmlessly)."""
        key = self._keys[best_key]
        future = self.crops.get(key)
        if future is not None and future.cancel():
            del self.crops[key]

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
