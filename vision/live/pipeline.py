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
from vision.live.sightings import Box, BoxHit, LiveFrame, SceneHit, Sighting, sightings_in_frame
from vision.live.tiles import TileGrid, Window, crops, merge_tiled
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
    detections: Detections | None  # the detector's boxes in frame pixels, all classes (video overlay)
    scene: list[SceneHit]  # kind, probability[, the tile that saw it]
    sightings: list[Sighting]
    changes: list[IncidentChange]


@dataclass
class PendingBatch:
    frames: list[LiveFrame]
    request: DetectionRequest | None
    windows: list[list[Window]] = field(default_factory=list)  # each frame's tiles (none untiled)
    results: list[FrameResult] = field(default_factory=list)

    def ready(self) -> bool:
        return self.request is None or self.request.ready()


class LivePipeline:
    """Detection + optional scene classifier + incident tracking for one live source.

    Pass a shared `tracker` to merge the incidents of several drones in one map. With `tiles` every
    frame is also cut into that grid of overlapping tiles (`vision.live.tiles`): the detector sees the
    full frame and the tiles in one call and their boxes are merged in frame pixels; the scene
    classifier sees them too, and a scene class found in a tile is placed on that tile's footprint.
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
        tiles: TileGrid | None = None,
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
        self.tiles = tiles
        self.tracker = tracker if tracker is not None else IncidentTracker(source, policy, radius_m)

    def submit(self, frames: Sequence[LiveFrame]) -> PendingBatch:
        """Start detection on a batch of frames (in time order); `finish` it in submission order."""
        images = [f.image for f in frames if f.image is not None]
        if len(images) != len(frames):
            raise ValueError("LivePipeline needs the frames' images")
        windows = [self._windows(image) for image in images]
        inputs = [
            view for image, w in zip(images, windows, strict=True) for view in [image, *crops(image, w)]
        ]
        request = self.detector.submit(inputs) if self.detector is not None and frames else None
        return PendingBatch(list(frames), request, windows)

    def finish(self, batch: PendingBatch, timeout_s: float | None = None) -> list[FrameResult]:
        """Collect a batch's detections, classify, place and confirm; publish every incident change."""
        frames = batch.frames
        dets: list[Detections | None] = [None] * len(frames)
        cuts: list[np.ndarray | None] = [None] * len(frames)
        windows = batch.windows or [[] for _ in frames]
        if batch.request is not None:
            dets, cuts = self._merged(frames, windows, list(batch.request.result(timeout_s)))
        scenes = self._scenes(frames, windows)
        results = []
        for frame, d, cut, scene in zip(frames, dets, cuts, scenes, strict=True):
            sightings = sightings_in_frame(frame, self._boxes(d, cut), scene)
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

    def _windows(self, image: np.ndarray) -> list[Window]:
        return [] if self.tiles is None else self.tiles.windows(int(image.shape[1]), int(image.shape[0]))

    @staticmethod
    def _merged(
        frames: Sequence[LiveFrame], windows: Sequence[list[Window]], results: list[Detections]
    ) -> tuple[list[Detections | None], list[np.ndarray | None]]:
        """Each frame's detections in frame pixels, from its full view's and its tiles' results, and
        which of them are cut by a tile's inner edge (None untiled)."""
        if len(results) != sum(1 + len(w) for w in windows):
            raise ValueError("the detector returned a result count that does not match the images sent")
        out: list[Detections | None] = []
        cuts: list[np.ndarray | None] = []
        at = 0
        for frame, tiles in zip(frames, windows, strict=True):
            full, parts = results[at], results[at + 1 : at + 1 + len(tiles)]
            at += 1 + len(tiles)
            if not tiles:
                out.append(full)
                cuts.append(None)
                continue
            merged, cut = merge_tiled(full, parts, tiles, *frame.width_height)
            out.append(merged)
            cuts.append(cut)
        return out, cuts

    def _boxes(self, d: Detections | None, cut: np.ndarray | None = None) -> list[BoxHit]:
        if d is None:
            return []
        boxes: list[BoxHit] = []
        for i in range(len(d)):
            kind = d.class_name(i)
            if kind in self.kinds:
                x1, y1, x2, y2 = (float(v) for v in d.xyxy[i])
                boxes.append(
                    (kind, float(d.confidence[i]), (x1, y1, x2, y2), bool(cut is not None and cut[i]))
                )
        return boxes

    def _scenes(self, frames: Sequence[LiveFrame], windows: Sequence[list[Window]]) -> list[list[SceneHit]]:
        """Each frame's scene classes at or above the threshold. Tiled, each class once per frame: the
        full view's or the tile's with the highest probability, with the tile's region."""
        scenes: list[list[SceneHit]] = [[] for _ in frames]
        if self.classifier is None or not frames:
            return scenes
        from vision.models.classifier import classify

        images, owners = [], []
        for i, (frame, tiles) in enumerate(zip(frames, windows, strict=True)):
            if frame.image is None:
                continue
            images += [frame.image, *crops(frame.image, tiles)]
            owners += [(i, None)] + [
                (i, (float(x0), float(y0), float(x1), float(y1))) for x0, y0, x1, y1 in tiles
            ]
        best: dict[tuple[int, str], tuple[float, Box | None]] = {}
        for (i, region), result in zip(owners, classify(self.classifier, images), strict=True):
            wanted = result.label in SCENE_KINDS and result.label in self.kinds
            if wanted and result.confidence >= self.scene_threshold:
                key = (i, result.label)
                if key not in best or result.confidence > best[key][0]:
                    best[key] = (result.confidence, region)
        for (i, label), (conf, region) in best.items():
            scenes[i].append((label, conf) if region is None else (label, conf, region))
        return scenes
