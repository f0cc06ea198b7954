"""What each trainable Tenken model is: its classes, which known labels are dropped, its defaults."""

from __future__ import annotations

from dataclasses import dataclass

from tenken.errors import ConfigError
from vision.train.datasets import ClassPolicy

# RDD2020/2022 labels that are not one of the four damage classes Tenken reports (Repair is a
# patched area, not damage; the others are rare RDD2020 marks such as crosswalk blur D44).
RDD_EXTRA_LABELS = frozenset({"Repair", "D01", "D11", "D43", "D44", "D50", "D0w0", "Block crack"})


@dataclass(frozen=True)
class TaskSpec:
    name: str
    kind: str  # "detect" or "classify"
    classes: tuple[str, ...]
    dropped: frozenset[str]
    imgsz: int
    epochs: int
    close_mosaic: int = 3  # last epochs trained without mosaic
    # How `tenken models ship` picks the shipped threshold on val: "f1" (box F1-optimal) or
    # "false_alarms" (few negative images / normal views alerting, recall target kept)
    threshold_rule: str = "f1"

    def policy(self, extra_classes: tuple[str, ...] = ()) -> ClassPolicy:
        """Class policy, optionally training some normally dropped labels as extra classes."""
        return ClassPolicy(self.classes + extra_classes, self.dropped - set(extra_classes))


TASKS = {
    "road": TaskSpec("road", "detect", ("D00", "D10", "D20", "D40"), RDD_EXTRA_LABELS, 416, 15, 4),
    "fire": TaskSpec("fire", "detect", ("fire", "smoke"), frozenset(), 416, 6, threshold_rule="false_alarms"),
    "scene": TaskSpec(
        "scene",
        "classify",
        ("fire", "smoke", "landslide", "flood", "normal"),
        frozenset(),
        224,
        8,
        threshold_rule="false_alarms",
    ),
}


def get_task(name: str) -> TaskSpec:
    if name not in TASKS:
        raise ConfigError(f"unknown model task {name!r} (choose from {', '.join(TASKS)})")
    return TASKS[name]
