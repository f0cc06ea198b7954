"""Tiled (SAHI-style) inference for the live pipeline: the full frame plus a grid of overlapping tiles.

A detector with a small input (the fire model sees 416 px) shrinks a 1280 px drone frame three times,
so a fire a fifth of the view wide is a few dozen pixels to it. Each tile of a 2x2 grid is shown to
the detector at about 1.8 times the scale of the full frame (3x3: 2.6 times), at the cost of one more
inference per tile. `TileGrid.windows` cuts the frame, the pipeline runs the full frame and the tiles
in one detector call, and `merge_tiled` maps every box back to frame pixels and makes one box of
each object:

- a box cut by a tile's inner edge is dropped when the full frame or another tile holds most of it
  (what is left of an object too big for any one tile is joined across the tile edges);
- boxes of one class that mostly overlap (a box seen in two tiles, or in a tile and the full frame)
  become the most confident of them.

A box still cut by a tile's inner edge after this is flagged, so its ground position gets the error
of an object that goes on beyond the box (as one cut by the frame's edge does).

    >>> TileGrid.parse("2x2").windows(1000, 500)
    [(0, 0, 556, 278), (444, 0, 1000, 278), (0, 222, 556, 500), (444, 222, 1000, 500)]
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from tenken.errors import ConfigError
from vision.models.detections import Detections

Window = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels (x1, y1 exclusive)
Box = tuple[float, float, float, float]

TILE_OVERLAP = 0.2  # of a tile's width and height shared with its neighbour
EDGE = 0.02  # a box this close to a tile's inner edge (of the tile's size, at least 2 px) is cut by it
COVERED = 0.6  # a cut box with this much of its area inside another box of its class is that box
SAME = 0.5  # boxes of one class sharing this much of the smaller one are one object


@dataclass(frozen=True)
class TileGrid:
    """`cols` x `rows` tiles overlapping by `overlap` of a tile, run alongside the full frame."""

    cols: int
    rows: int
    overlap: float = TILE_OVERLAP

    def __post_init__(self) -> None:
        if not (1 <= self.cols <= 8 and 1 <= self.rows <= 8) or self.cols * self.rows < 2:
            raise ConfigError(f"tiles {self.cols}x{self.rows}: 1 to 8 each way, at least 2 tiles")
        if not 0.0 <= self.overlap < 0.5:
            raise ConfigError(f"tile overlap {self.overlap}: from 0 to under 0.5")

    @classmethod
    def parse(cls, text: str | None) -> TileGrid | None:
        """'2x2' -> TileGrid(2, 2); 'off', '' or None -> None (the full frame only)."""
        value = (text or "").strip().lower()
        if value in ("", "off", "none", "0", "1x1"):
            return None
        cols, sep, rows = value.partition("x")
        if not sep or not cols.isdigit() or not rows.isdigit():
            raise ConfigError(f"tiles {text!r}: expected COLSxROWS such as 2x2, or off")
        return cls(int(cols), int(rows))

    def __str__(self) -> str:
        return f"{self.cols}x{self.rows}"

    @property
    def images_per_frame(self) -> int:
        """Detector inputs per frame: the full frame and every tile."""
        return 1 + self.cols * self.rows

    def windows(self, width: int, height: int) -> list[Window]:
        """The tiles of a `width` x `height` frame, row by row; together they cover every pixel."""
        xs = _spans(width, self.cols, self.overlap)
        ys = _spans(height, self.rows, self.overlap)
        return [(x0, y0, x1, y1) for y0, y1 in ys for x0, x1 in xs]


def _spans(size: int, n: int, overlap: float) -> list[tuple[int, int]]:
    """`n` spans of equal length over [0, size), neighbours sharing `overlap` of a span."""
    if n == 1:
        return [(0, size)]
    length = size / (n - (n - 1) * overlap)
    step = length * (1 - overlap)
    spans = []
    for i in range(n):
        start = round(i * step)
        end = size if i == n - 1 else min(size, round(i * step + length))
        spans.append((start, end))
    return spans


def crops(image: npt.NDArray[np.uint8], windows: Sequence[Window]) -> list[npt.NDArray[np.uint8]]:
    """The tiles' pixels (contiguous copies, as detectors and JPEG encoders want them)."""
    return [np.ascontiguousarray(image[y0:y1, x0:x1]) for x0, y0, x1, y1 in windows]


@dataclass
class _Box:
    box: Box
    conf: float
    class_id: int
    source: int  # 0 the full frame, i the i-th tile
    window: Window  # the view it was seen in (the tiles' bounds when joined across tiles)
    cut: bool  # touches an inner edge of that view
    part: bool = False  # cut by its tile when seen: a part of an object, joined with the other parts

    @property
    def area(self) -> float:
        return max(0.0, self.box[2] - self.box[0]) * max(0.0, self.box[3] - self.box[1])


def _intersection(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return max(0.0, w) * max(0.0, h)


def _is_cut(box: Box, window: Window, width: int, height: int) -> bool:
    x0, y0, x1, y1 = window
    # a detector's box stops a few pixels short of the edge that cuts its object
    ex, ey = max(2.0, EDGE * (x1 - x0)), max(2.0, EDGE * (y1 - y0))
    return (
        (x0 > 0 and box[0] <= x0 + ex)
        or (y0 > 0 and box[1] <= y0 + ey)
        or (x1 < width and box[2] >= x1 - ex)
        or (y1 < height and box[3] >= y1 - ey)
    )


def merge_tiled(
    full: Detections, tiles: Sequence[Detections], windows: Sequence[Window], width: int, height: int
) -> tuple[Detections, npt.NDArray[np.bool_]]:
    """One `Detections` in frame pixels from the full frame's boxes and each tile's (in its own pixels),
    and per box whether it is still cut by a tile's inner edge (the object may go on beyond it)."""
    if len(tiles) != len(windows):
        raise ValueError("one Detections per tile window")
    boxes: list[_Box] = []
    for source, (d, window) in enumerate(zip([full, *tiles], [(0, 0, width, height), *windows], strict=True)):
        x0, y0 = window[0], window[1]
        for i in range(len(d)):
            bx1, by1, bx2, by2 = (float(v) for v in d.xyxy[i])
            box = (bx1 + x0, by1 + y0, bx2 + x0, by2 + y0)
            cut = source > 0 and _is_cut(box, window, width, height)
            boxes.append(_Box(box, float(d.confidence[i]), int(d.class_id[i]), source, window, cut, cut))
    # A cut box is the part of an object another view holds whole (or holds more of): drop it.
    kept = list(boxes)
    for b in sorted((b for b in boxes if b.cut), key=lambda b: b.area):
        if any(
            o is not b and o.class_id == b.class_id and o.source != b.source and o.area >= b.area
            and _intersection(o.box, b.box) >= COVERED * b.area
            for o in kept
        ):  # fmt: skip
            kept.remove(b)
    # What is left cut is an object no single view holds: join its parts across the tile edges.
    joined = True
    while joined:
        joined = False
        for a in kept:
            for b in kept:
                if a is b or not (a.part and b.part) or a.class_id != b.class_id or a.source == b.source:
                    continue
                if _intersection(a.box, b.box) > 0:
                    a.box = (min(a.box[0], b.box[0]), min(a.box[1], b.box[1]),
                             max(a.box[2], b.box[2]), max(a.box[3], b.box[3]))  # fmt: skip
                    a.conf = max(a.conf, b.conf)
                    a.window = (min(a.window[0], b.window[0]), min(a.window[1], b.window[1]),
                                max(a.window[2], b.window[2]), max(a.window[3], b.window[3]))  # fmt: skip
                    a.cut = _is_cut(a.box, a.window, width, height)
                    kept.remove(b)
                    joined = True
                    break
            if joined:
                break
    # One object seen in several views: keep the most confident box.
    out: list[_Box] = []
    for b in sorted(kept, key=lambda b: -b.conf):
        if not any(
            o.class_id == b.class_id and _intersection(o.box, b.box) >= SAME * min(o.area, b.area) > 0
            for o in out
        ):
            out.append(b)
    merged = Detections.from_lists(
        [b.box for b in out], [b.conf for b in out], [b.class_id for b in out], full.names
    )
    return merged, np.asarray([b.cut for b in out], np.bool_)
