"""The pixel grid of the sample, progress messages, and the random fields and paths the
landscape is painted from (smooth noise, roads, a meandering river)."""

from __future__ import annotations

import math
import sys
import time
from dataclasses import dataclass

import numpy as np
from rasterio.transform import Affine, from_origin
from scipy import ndimage


@dataclass(frozen=True)
class _Grid:
    """A north-up lon/lat pixel grid. Pixel (row, col) has its centre at
    ``(lon_min + (col + 0.5) * px, lat_max - (row + 0.5) * px)``."""

    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float
    px: float
    width: int
    height: int

    @classmethod
    def from_bounds(cls, bounds: tuple[float, float, float, float], px: float) -> _Grid:
        lon_min, lat_min, lon_max, lat_max = (float(v) for v in bounds)
        if not (px > 0 and lon_max > lon_min and lat_max > lat_min):
            raise ValueError(f"invalid bounds {bounds} or pixel size {px}")
        width = round((lon_max - lon_min) / px)
        height = round((lat_max - lat_min) / px)
        for n, span in ((width, lon_max - lon_min), (height, lat_max - lat_min)):
            if n < 64 or abs(n * px - span) > 1e-6 * px:
                raise ValueError(f"bounds {bounds} must span a whole number (>= 64) of {px}° pixels")
        return cls(lon_min, lat_min, lon_max, lat_max, float(px), width, height)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def transform(self) -> Affine:
        return from_origin(self.lon_min, self.lat_max, self.px, self.px)

    def to_lonlat(self, row: np.ndarray | float, col: np.ndarray | float):
        """Continuous pixel coordinates (centre of pixel = integer) to lon/lat."""
        return self.lon_min + (np.asarray(col) + 0.5) * self.px, self.lat_max - (np.asarray(row) + 0.5) * self.px


class _Progress:
    """Timestamped progress messages on stderr (or nothing)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[sample {time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Gaussian-like random field with correlation length ~``scale`` pixels,
    standardised to mean 0 and standard deviation 1 (float32)."""
    h, w = shape
    s = max(int(round(scale)), 1)
    coarse = rng.standard_normal((h // s + 4, w // s + 4)).astype(np.float32)
    field = ndimage.zoom(coarse, s, order=3, output=np.float32)[s : s + h, s : s + w]
    field -= field.mean()
    field /= field.std() + 1e-12
    return field


def _wiggly_path(
    rng: np.random.Generator,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    amplitude: float,
    smoothness: float,
) -> np.ndarray:
    """A gently curving random line (a road) from ``start`` to ``end`` in
    (row, col) pixel space, sampled every 0.5 px along its length.

    The lateral offset is a Brownian bridge smoothed over ``smoothness`` px
    and scaled to a maximum of ``amplitude`` px.
    """
    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    length = float(np.hypot(*(p1 - p0)))
    n = max(int(length), 2)
    t = np.linspace(0.0, 1.0, n)
    walk = np.cumsum(rng.standard_normal(n))
    walk -= t * walk[-1]
    walk = ndimage.gaussian_filter1d(walk, sigma=max(smoothness, 1.0), mode="nearest")
    walk *= amplitude / (np.abs(walk).max() + 1e-12)
    direction = (p1 - p0) / length
    normal = np.array([-direction[1], direction[0]])
    pts = p0 + t[:, None] * (p1 - p0) + walk[:, None] * normal
    # Resample at even 0.5 px arc-length steps so the rasterised line has no gaps.
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    s_new = np.arange(0.0, s[-1], 0.5)
    return np.column_stack([np.interp(s_new, s, pts[:, 0]), np.interp(s_new, s, pts[:, 1])])


def _river_path(rng: np.random.Generator, col_start: float, col_end: float, height: int) -> np.ndarray:
    """A meandering river flowing from the top to the bottom edge, in (row,
    col) pixel space, sampled every 0.5 px along its course.

    The heading follows a "sine-generated curve" (Langbein & Leopold), the
    classic model of river meanders, whose amplitude and wavelength drift
    along the course; a weak pull towards the straight line between the end
    points keeps the valley axis inside the window.
    """
    ds = 0.5
    n_max = int(6 * height / ds)
    envelope = ndimage.gaussian_filter1d(rng.standard_normal(n_max), 400 / ds)
    envelope = np.clip(0.65 + 0.35 * envelope / (np.abs(envelope).max() + 1e-12), 0.2, 1.0)
    drift = ndimage.gaussian_filter1d(rng.standard_normal(n_max), 600 / ds)
    wavelength = rng.uniform(150, 260) * np.exp(0.35 * drift / (np.abs(drift).max() + 1e-12))
    phase = np.cumsum(2 * np.pi * ds / wavelength) + rng.uniform(0, 2 * np.pi)
    wobble = np.deg2rad(70) * envelope * np.sin(phase)
    row, col = -20.0, col_start
    out = np.empty((n_max, 2))
    for i in range(n_max):
        axis = col_start + (col_end - col_start) * max(row, 0.0) / height
        heading = wobble[i] - 0.6 * math.tanh((col - axis) / 80.0)  # 0 = due south
        row += ds * math.cos(heading)
        col += ds * math.sin(heading)
        out[i] = row, col
        if row > height + 20:
            return out[: i + 1]
    return out


def _distance_to_paths(shape: tuple[int, int], paths: list[np.ndarray]) -> np.ndarray:
    """Euclidean distance (pixels, float32) from each pixel to the nearest path."""
    mask = np.zeros(shape, dtype=bool)
    for pts in paths:
        rc = np.round(pts).astype(np.int64)
        inside = (rc[:, 0] >= 0) & (rc[:, 0] < shape[0]) & (rc[:, 1] >= 0) & (rc[:, 1] < shape[1])
        mask[rc[inside, 0], rc[inside, 1]] = True
    if not mask.any():  # path entirely outside the window
        return np.full(shape, np.inf, dtype=np.float32)
    return ndimage.distance_transform_edt(~mask).astype(np.float32)


def _point_on_path(pts: np.ndarray, frac: float) -> tuple[float, float]:
    row, col = pts[min(int(frac * len(pts)), len(pts) - 1)]
    return float(row), float(col)
