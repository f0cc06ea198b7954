"""Findings every stage passes on: a pose, one observation of a defect, a merged defect, a graded segment."""

from __future__ import annotations

from dataclasses import dataclass, field

# RDD classes and what they mean to a road crew.
ROAD_CLASSES: dict[str, str] = {
    "D00": "longitudinal crack",
    "D10": "transverse crack",
    "D20": "alligator crack",
    "D40": "pothole",
    "Repair": "patched area",
}
CRACK_CLASSES = frozenset({"D00", "D10"})
AREA_DAMAGE_CLASSES = frozenset({"D20", "D40"})
PATCH_CLASSES = frozenset({"Repair"})


@dataclass(frozen=True)
class Pose:
    """Where the camera was at one instant. `timestamp_s` is UNIX time (UTC)."""

    timestamp_s: float
    lat: float
    lon: float
    heading_deg: float
    speed_mps: float
    alt_m: float | None = None


@dataclass(frozen=True)
class Observation:
    """One detection of a defect in one frame, placed on the ground."""

    frame_index: int
    timestamp_s: float
    class_name: str
    confidence: float
    box_xyxy: tuple[float, float, float, float]
    lat: float
    lon: float
    error_m: float
    # Ground outline of the box (lat, lon) ring; empty when the box reaches above the horizon.
    ground_ring: tuple[tuple[float, float], ...] = ()
    track_id: int = -1


@dataclass(frozen=True)
class Defect:
    """One physical defect, merged from all frames that saw it."""

    defect_id: int
    class_name: str
    severity: str  # "low", "medium", "high"
    lat: float
    lon: float
    error_m: float
    first_frame: int
    last_frame: int
    n_observations: int
    confidence: float
    ground_ring: tuple[tuple[float, float], ...] = ()
    crop_path: str | None = None  # relative to the report folder
    best_frame: int = -1

    @property
    def description(self) -> str:
        return ROAD_CLASSES.get(self.class_name, self.class_name)


@dataclass(frozen=True)
class SegmentGrade:
    """The 舗装点検要領 grade of one stretch of road."""

    segment_id: int
    start_m: float  # distance along the route where the segment starts
    end_m: float
    line: tuple[tuple[float, float], ...]  # (lat, lon) points along the route
    surveyed_fraction: float  # share of the segment actually seen (0..1)
    crack_ratio_pct: float | None  # None when not surveyed (too little of it seen to grade)
    category: str | None  # "I", "II", "III" or None when not surveyed
    mci: float | None
    defect_counts: dict[str, int] = field(default_factory=dict)
    mci_advice: str | None = None  # "repair needed", "repair desirable", "good"; None when not surveyed
