"""A synthetic georeferenced world for the simulated camera: fields, a road, and planted incidents.

The ground is a top-down texture (north up) centred on an origin; fire, smoke, landslide and flood
patches are planted at known (lat, lon) so tests can say where an incident should appear. Style
"procedural" draws them as coloured blobs (what the tests' colour stand-in detector looks for);
"imagery" pastes real photographs the shipped models never trained on (`drone.sim.decals`) and draws
a kind procedurally only where no decal is available (flood always: there is no flood imagery).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from drone.sim import decals
from tenken.geo import LocalProjection, offset_latlon

PATCH_KINDS = ("fire", "smoke", "landslide", "flood")
STYLES = ("procedural", "imagery")
# Ground resolution that keeps a photograph's detail at drone heights (about what the detector sees at
# 30 m: 1280 px over 45 m, shrunk to 416 px); the procedural blobs are fine at the default 0.25 m/px.
IMAGERY_M_PER_PX = 0.1


@dataclass(frozen=True)
class PlantedPatch:
    """An incident drawn on the ground, centred on (lat, lon)."""

    kind: str
    lat: float
    lon: float
    radius_m: float


def default_patches(lat0: float, lon0: float) -> list[PlantedPatch]:
    """One of each kind, 50-90 m from the origin, so a small survey around home sees them all."""
    layout = (("fire", 40.0, 60.0, 6.0), ("smoke", 55.0, 75.0, 9.0), ("landslide", 70.0, -50.0, 12.0),
              ("flood", -60.0, -70.0, 15.0))  # fmt: skip
    return [
        PlantedPatch(kind, *offset_latlon(lat0, lon0, east, north), radius)
        for kind, east, north, radius in layout
    ]


class SyntheticWorld:
    """A north-up ground texture of `size_m` x `size_m` around (lat0, lon0) at `m_per_px` metres per pixel."""

    def __init__(
        self,
        lat0: float,
        lon0: float,
        patches: Sequence[PlantedPatch] | None = None,
        *,
        size_m: float = 500.0,
        m_per_px: float = 0.25,
        seed: int = 7,
        style: str = "procedural",
    ) -> None:
        if style not in STYLES:
            raise ValueError(f"unknown world style {style!r}; use one of {STYLES}")
        self.lat0, self.lon0 = lat0, lon0
        self.proj = LocalProjection(lat0, lon0)
        self.size_m = size_m
        self.m_per_px = m_per_px
        self.patches = list(default_patches(lat0, lon0) if patches is None else patches)
        for patch in self.patches:
            if patch.kind not in PATCH_KINDS:
                raise ValueError(f"unknown patch kind {patch.kind!r}; use one of {PATCH_KINDS}")
        self.size_px = round(size_m / m_per_px)
        rng = np.random.default_rng(seed)
        self.texture = _ground(self.size_px, m_per_px, rng)
        self.style = style
        self.drawn: list[str] = []  # per patch: the decal's source, or "procedural"
        planted: dict[str, int] = {}
        for patch in self.patches:
            n = planted[patch.kind] = planted.get(patch.kind, -1) + 1
            choices = decals.decals_of(patch.kind) if style == "imagery" else []
            image = decals.load(choices[n % len(choices)]) if choices else None
            if image is None:
                self._draw(patch, rng)
                self.drawn.append("procedural")
            else:
                self._paste(patch, image)
                self.drawn.append(choices[n % len(choices)].source)

    def to_px(self, lat: float, lon: float) -> tuple[float, float]:
        """Texture pixel (column, row) of a ground position."""
        x, y = self.proj.to_xy(lat, lon)
        return self.xy_to_px(x, y)

    def xy_to_px(self, east_m: float, north_m: float) -> tuple[float, float]:
        half = self.size_px / 2.0
        return half + east_m / self.m_per_px, half - north_m / self.m_per_px

    def _paste(self, patch: PlantedPatch, image: np.ndarray) -> None:
        """The photograph, its longer side the patch's diameter, faded out towards an inscribed ellipse."""
        side = 2 * patch.radius_m / self.m_per_px
        scale = side / max(image.shape[:2])
        w, h = max(round(image.shape[1] * scale), 1), max(round(image.shape[0] * scale), 1)
        photo = cv2.resize(image, (w, h), interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_CUBIC)
        yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
        rr = np.hypot((xx + 0.5 - w / 2) / (w / 2), (yy + 0.5 - h / 2) / (h / 2))
        alpha = np.clip((1.0 - rr) / 0.2, 0.0, 1.0)[..., None]  # the outer fifth fades to the ground
        cx, cy = self.to_px(patch.lat, patch.lon)
        x0, y0 = round(cx - w / 2), round(cy - h / 2)
        tx0, ty0 = max(x0, 0), max(y0, 0)
        tx1, ty1 = min(x0 + w, self.size_px), min(y0 + h, self.size_px)
        if tx1 <= tx0 or ty1 <= ty0:
            return  # outside the world
        win = (slice(ty0 - y0, ty1 - y0), slice(tx0 - x0, tx1 - x0))
        tex = self.texture[ty0:ty1, tx0:tx1].astype(np.float32)
        blended = tex * (1 - alpha[win]) + photo[win].astype(np.float32) * alpha[win]
        self.texture[ty0:ty1, tx0:tx1] = np.clip(blended, 0, 255).astype(np.uint8)

    def _draw(self, patch: PlantedPatch, rng: np.random.Generator) -> None:
        cx, cy = self.to_px(patch.lat, patch.lon)
        r_px = patch.radius_m / self.m_per_px
        # Work on a window around the patch: full-texture masks would cost seconds per patch.
        reach = int(r_px * 4) + 2
        x0, y0 = max(int(cx) - reach, 0), max(int(cy) - reach, 0)
        x1, y1 = min(int(cx) + reach, self.size_px), min(int(cy) + reach, self.size_px)
        if x1 <= x0 or y1 <= y0:
            return  # outside the world
        tex = self.texture[y0:y1, x0:x1]
        shape = tex.shape[:2]
        cx, cy = cx - x0, cy - y0
        mask = _blob_mask(shape, cx, cy, r_px, rng)
        if patch.kind == "fire":
            blurred = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), r_px / 3)
            heat = np.asarray(blurred, dtype=np.float32) / max(float(blurred.max()), 1e-6)
            flame = np.zeros(tex.shape, dtype=np.float32)
            flame[..., 2] = 255  # BGR: red
            flame[..., 1] = 80 + 175 * heat  # to yellow at the core
            flame[..., 0] = 255 * heat**4  # white-hot centre
            alpha = np.clip(mask * (0.6 + 0.4 * heat), 0, 1)[..., None]
            burnt = tex * (1 - alpha) + flame * alpha
            ring = _blob_mask(shape, cx, cy, r_px * 1.6, rng) & ~mask  # charred ground around the flames
            burnt[ring] *= 0.35
            tex[:] = burnt.astype(np.uint8)
        elif patch.kind == "smoke":
            soft = cv2.GaussianBlur(mask.astype(np.float32), (0, 0), r_px / 2)
            alpha = (0.75 * soft / max(float(soft.max()), 1e-6))[..., None]
            tex[:] = (tex * (1 - alpha) + 185.0 * alpha).astype(np.uint8)
        elif patch.kind == "landslide":
            slide = _blob_mask(shape, cx, cy, r_px, rng, stretch=2.2, angle_deg=30.0)
            soil = np.stack([60 + rng.integers(0, 30, shape), 95 + rng.integers(0, 30, shape),
                             130 + rng.integers(0, 40, shape)], axis=-1).astype(np.uint8)  # fmt: skip
            tex[slide] = soil[slide]
            tex[slide & (rng.random(shape) < 0.02)] = (150, 150, 150)  # boulders
        elif patch.kind == "flood":
            water = _blob_mask(shape, cx, cy, r_px, rng, stretch=1.6, angle_deg=-20.0)
            colour = np.array([110, 120, 105], dtype=np.float32)  # muddy water (BGR)
            shade = rng.normal(0, 6, shape)[..., None]
            tex[water] = np.clip(colour + shade[water], 0, 255).astype(np.uint8)


def _ground(size_px: int, m_per_px: float, rng: np.random.Generator) -> np.ndarray:
    """Fields of slightly different greens, soft noise, and an east-west road through the origin."""
    coarse = rng.normal(0.0, 1.0, (max(size_px // 160, 2), max(size_px // 160, 2), 3))
    fields = cv2.resize(coarse.astype(np.float32), (size_px, size_px), interpolation=cv2.INTER_NEAREST)
    fine = cv2.resize(
        rng.normal(0.0, 1.0, (size_px // 8, size_px // 8, 3)).astype(np.float32), (size_px, size_px)
    )
    base = np.array([60, 120, 75], dtype=np.float32)  # BGR grass
    tex = base + 10.0 * fields + 8.0 * fine + rng.normal(0.0, 4.0, (size_px, size_px, 3)).astype(np.float32)
    road_half = max(1, int(3.0 / m_per_px))
    mid = size_px // 2 + int(20 / m_per_px)
    tex[mid - road_half : mid + road_half, :] = (105, 105, 105)
    return np.clip(tex, 0, 255).astype(np.uint8)


def _blob_mask(shape: tuple[int, ...], cx: float, cy: float, r_px: float, rng: np.random.Generator,
               stretch: float = 1.0, angle_deg: float = 0.0) -> np.ndarray:  # fmt: skip
    """An irregular filled outline around (cx, cy): a polygon with a noisy radius."""
    n = 24
    angles = np.linspace(0, 2 * math.pi, n, endpoint=False)
    radii = r_px * (1.0 + 0.25 * rng.uniform(-1, 1, n))
    xs, ys = radii * np.cos(angles) * stretch, radii * np.sin(angles)
    a = math.radians(angle_deg)
    px = cx + xs * math.cos(a) - ys * math.sin(a)
    py = cy + xs * math.sin(a) + ys * math.cos(a)
    canvas = np.zeros(shape[:2], dtype=np.uint8)
    cv2.fillPoly(canvas, [np.stack([px, py], axis=1).round().astype(np.int32)], 1)
    return canvas.astype(bool)
