"""The live pipeline: posed frames -> detections, scene classes, sightings -> incident changes, per frame.

Every live entry point drives this one class (`tenken serve --live`, `tenken stream`, drone capture):
they differ only in where frames come from and where detection runs. Detection is local (a
`vision.models.detector.Detector`) or remote (a `LiveDetector` that submits a batch and collects it later,
e.g. to Celery workers), so a driver can keep several batches in flight and still feed the incident
tracker in frame order.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

import numpy as np

from vision.live.confirmation import ConfirmationPolicy
from vision.live.incidents import DEFAULT_RADIUS_M, IncidentChange, IncidentTracker
from vision.live.sightings import Box, LiveFrame, Sighting, sightings_in_frame
from vision.models.detections import Detections
from vision.models.detector import Detector
from vision.models.registry import DEFAULT_ALERT_CONF

LIVE_KINDS = ("fire", "smoke", "landslide", "flood", "person")
SCENE_KINDS = ("fire", "smoke", "landslide", "flood")  # classes of the scene classifier that are incidents

Publish = Callable[[str, dict[str, Any]], object]


class DetectionRequest(Protocol):
    """A submitted batch: `ready()` without blocking, `result()` its detections (one per image)."""

    def ready(self) -> bool: ...

    def result(self, timeout_s: float | None = None) -> list[Detections]: ...


@runtime_checkable
class LiveDetector(Protocol):
    """Local or remote inference for the live pipeline: submit now, collect later."""

    def submit(self, images: Sequence[np.ndarray]) -> DetectionRequest: ...


class _Done:
    def __init__(self, detections: list[Detections]) -> None:
        self._detections = detections

    def ready(self) -> bool:
        return True

    def result(self, timeout_s: float | None = None) -> list[Detections]:
        return self._detections


class LocalDetector:
    """A `Detector` in this process as a `LiveDetector` (the batch is done when submitted)."""

    def __init__(self, detector: Detector, conf: float | None = None) -> None:
        self.detector = detector
        self.conf = conf

    def submit(self, images: Sequence[np.ndarray]) -> DetectionRequest:
        return _Done(self.detector.predict(list(images), conf=self.conf))


@dataclass(frozen=True)
class FrameResult:
    """What the pipeline made of one frame."""

    frame: LiveFrame
    detections: Detections | None  # the detector's boxes, all classes (for the video overlay)
    scene: list[tuple[str, float]]
    sightings: list[Sighting]
    changes: list[IncidentChange]


@dataclass
class PendingBatch:
    frames: list[LiveFrame]
    request: DetectionRequest | None
    results: list[FrameResult] = field(default_factory=list)

    def ready(self) -> bool:
        return self.request is None or self.request.ready()


class LivePipeline:
    """Detection + optional scene classifier + incident tracking for one live source.

    Pass a shared `tracker` to merge the incidents of several drones in one map.
    """

    def __init__(
        self,
        source: str,
        detector: Detector | LiveDetector | None,
        *,
        classifier: Any | None = None,
        publish: Publish | None = None,
        policy: ConfirmationPolicy = ConfirmationPolicy(),
        radius_m: float = DEFAULT_RADIUS_M,
        scene_threshold: float = DEFAULT_ALERT_CONF,  # pass the scene model's own `alert_conf`
        kinds: Sequence[str] = ("fire", "smoke", "landslide", "flood"),
        tracker: IncidentTracker | None = None,
    ) -> None:
        self.source = source
        if detector is None or isinstance(detector, LiveDetector):
            self.detector: LiveDetector | None = detector
        else:
            self.detector = LocalDetector(detector)
        self.classifier = classifier
        self.publish = publish
        self.kinds = set(kinds)
        self.scene_threshold = scene_threshold
        self.tracker = tracker if tracker is not None else IncidentTracker(source, policy, radius_m)

    def submit(self, frames: Sequence[LiveFrame]) -> PendingBatch:
        """Start detection on a batch of frames (in time order); `finish` it in submission order."""
        images = [f.image for f in frames if f.image is not None]
        if len(images) != len(frames):
            raise ValueError("LivePipeline needs the frames' images")
        request = self.detector.submit(images) if self.detector is not None and frames else None
        return PendingBatch(list(frames), request)

    def finish(self, batch: PendingBatch, timeout_s: float | None = None) -> list[FrameResult]:
        """Collect a batch's detections, classify, place and confirm; publish every incident change."""
        frames = batch.frames
        dets: list[Detections | None] = [None] * len(frames)
        if batch.request is not None:
            dets = list(batch.request.result(timeout_s))
        scenes = self._scenes(frames)
        results = []
        for frame, d, scene in zip(frames, dets, scenes, strict=True):
            sightings = sightings_in_frame(frame, self._boxes(d), scene)
            changes = self.tracker.observe(frame, sightings)
            if self.publish is not None:
                for change in changes:
                    self.publish("incidents", {"event": change.event, **change.incident.as_event()})
            results.append(FrameResult(frame, d, scene, sightings, changes))
        batch.results = results
        return results

    def process(self, frames: Sequence[LiveFrame]) -> list[IncidentChange]:
        """Run one batch of frames (in time order) now; returns every incident change."""
        return [c for r in self.finish(self.submit(frames)) for c in r.changes]

    def _boxes(self, d: Detections | None) -> list[tuple[str, float, Box]]:
        if d is None:
            return []
        boxes = []
        for i in range(len(d)):
            kind = d.class_name(i)
            if kind in self.kinds:
                x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
                boxes.append((kind, float(d.confidence[i]), (x1, y1, x2, y2)))
        return boxes

    def _scenes(self, frames: Sequence[LiveFrame]) -> list[list[tuple[str, float]]]:
        scenes: list[list[tuple[str, float]]] = [[] for _ in frames]
        if self.classifier is None or not frames:
            return scenes
        from vision.models.classifier import classify

        images = [f.image for f in frames if f.image is not None]
        for i, result in enumerate(classify(self.classifier, images)):
            wanted = result.label in SCENE_KINDS and result.label in self.kinds
            if wanted and result.confidence >= self.scene_threshold:
                scenes[i].append((result.label, result.confidence))
        return scenes
