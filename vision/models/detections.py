"""`Detections`: the boxes one detector call found in one frame, the currency between vision steps."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float32]
IntArray = npt.NDArray[np.int64]


@dataclass(frozen=True)
class Detections:
    """Boxes in pixel coordinates of the original frame.

    >>> d = Detections.empty()
    >>> len(d)
    0
    """

    xyxy: FloatArray  # (N, 4) x1, y1, x2, y2 in pixels
    confidence: FloatArray  # (N,)
    class_id: IntArray  # (N,)
    names: tuple[str, ...] = field(default=())  # class id -> name for this model

    def __post_init__(self) -> None:
        n = len(self.xyxy)
        if self.xyxy.shape != (n, 4) or self.confidence.shape != (n,) or self.class_id.shape != (n,):
            raise ValueError("Detections arrays must have shapes (N,4), (N,), (N,)")

    def __len__(self) -> int:
        return len(self.xyxy)

    @classmethod
    def empty(cls, names: tuple[str, ...] = ()) -> Detections:
        return cls(np.zeros((0, 4), np.float32), np.zeros((0,), np.float32), np.zeros((0,), np.int64), names)

    @classmethod
    def from_lists(
        cls,
        boxes: list[tuple[float, float, float, float]],
        confidences: list[float],
        class_ids: list[int],
        names: tuple[str, ...] = (),
    ) -> Detections:
        if not boxes:
            return cls.empty(names)
        return cls(
            np.asarray(boxes, np.float32).reshape(-1, 4),
            np.asarray(confidences, np.float32),
            np.asarray(class_ids, np.int64),
            names,
        )

    def filter(self, mask: npt.NDArray[np.bool_]) -> Detections:
        return Detections(self.xyxy[mask], self.confidence[mask], self.class_id[mask], self.names)

    def class_name(self, i: int) -> str:
        cid = int(self.class_id[i])
        return self.names[cid] if cid < len(self.names) else str(cid)
