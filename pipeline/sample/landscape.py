"""The two Hansen-style rasters, as arrays: tree cover in 2000 (river, roads, clearings,
secondary forest) and the year of forest loss (patches at the frontier, speckle, a nodata strip)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from .grid import (
    _distance_to_paths,
    _Grid,
    _point_on_path,
    _Progress,
    _river_path,
    _smooth_noise,
    _wiggly_path,
)

LOSS_NODATA = 255
LAST_LOSS_YEAR = 24  # Hansen GFC v1.12 covers 2001-2024
CUTOFF_YEAR = 20  # loss codes > 20 are "after 2020" (EUDR cut-off: 31 Dec 2020)

# Relative amount of forest loss per year code 1..24 (2001..2024): a rising
# trend with the peaks seen in the Peruvian Amazon (2014, 2017, 2020, 2024).
_YEAR_WEIGHTS = np.array(
    [
        0.45,
        0.45,
        0.50,
        0.60,
        0.65,
        0.55,
        0.60,
        0.62,
        0.75,
        0.70,
        0.72,
        0.85,
        0.85,
        1.08,
        0.92,
        0.98,
        1.05,
        0.88,
        0.95,
        1.15,
        1.00,
        0.95,
        0.95,
        1.20,
    ]
)


@dataclass
class _Landscape:
    tree_cover: np.ndarray  # uint8 0..100
    loss_year: np.ndarray  # uint8 0..24, 255 = nodata
    clearing: np.ndarray  # bool, non-forest land use in 2000
    secondary: np.ndarray  # bool, secondary / degraded forest in 2000
    dist_clearing: np.ndarray  # float32 px to the nearest 2000 clearing
    blocked: np.ndarray  # bool, river water and road surface
    strip_center: tuple[float, float]  # nodata strip centre column: (col at row 0, cols per row)
    strip_half_width: float


def _make_landscape(rng: np.random.Generator, grid: _Grid, log: _Progress) -> _Landscape:
    """Paint tree cover 2000 and the loss-year raster."""
    dist_river, dist_road = _trace_river_and_roads(rng, grid)
    log("river and roads traced")
    tree_cover, clearing, secondary, dist_clearing, blocked = _paint_tree_cover(rng, grid.shape, dist_river, dist_road)
    log("tree cover painted")

    loss = _paint_loss(rng, grid, tree_cover, dist_clearing, dist_road)
    log("forest loss painted")
    col0, slope, half_width = _cut_nodata_strip(rng, loss)

    return _Landscape(
        tree_cover=tree_cover,
        loss_year=loss,
        clearing=clearing,
        secondary=secondary,
        dist_clearing=dist_clearing,
        blocked=blocked,
        strip_center=(float(col0), float(slope)),
        strip_half_width=float(half_width),
    )


def _trace_river_and_roads(rng: np.random.Generator, grid: _Grid) -> tuple[np.ndarray, np.ndarray]:
    """A river (N -> S through the western half), a trunk road and one or two feeder roads:
    the distance (px) from each pixel to the river's course and to the nearest road."""
    h, w = grid.shape
    shape = grid.shape
    river = _river_path(rng, w * rng.uniform(0.22, 0.38), w * rng.uniform(0.22, 0.40), h)
    dist_river = _distance_to_paths(shape, [river])
    trunk = _wiggly_path(
        rng,
        (-20.0, w * rng.uniform(0.45, 0.55)),
        (h + 20.0, w * rng.uniform(0.45, 0.60)),
        amplitude=0.03 * w,
        smoothness=0.2 * h,
    )
    roads = [trunk]
    for _ in range(int(rng.integers(1, 3))):  # feeder roads, east or west
        start = _point_on_path(trunk, rng.uniform(0.15, 0.85))
        end = (start[0] + rng.uniform(-0.35, 0.35) * h, -20.0 if rng.random() < 0.35 else w + 20.0)
        roads.append(_wiggly_path(rng, start, end, amplitude=0.04 * w, smoothness=0.1 * w))
    dist_road = _distance_to_paths(shape, roads)
    return dist_river, dist_road


def _paint_tree_cover(
    rng: np.random.Generator,
    shape: tuple[int, int],
    dist_river: np.ndarray,
    dist_road: np.ndarray,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Land cover in 2000 and its canopy cover.

    Returns ``(tree_cover, clearing, secondary, dist_clearing, blocked)``: the uint8 cover in
    percent, the masks of clearings and of secondary forest, the distance (px) to the nearest
    clearing, and the mask of river water and road surface.
    """
    river_half_width = 4.5 + 1.5 * _smooth_noise(rng, shape, 60)
    water = dist_river < river_half_width
    road = dist_road < 1.5
    # Fields and pastures: a mosaic that thins out away from the roads (the
    # reach varies along the road) and along the river banks, plus a few old
    # isolated clearings deep in the forest.
    n_reach = _smooth_noise(rng, shape, 60)
    n_fields = _smooth_noise(rng, shape, 10)
    reach = 55.0 * np.exp(0.45 * n_reach)
    from_bank = np.maximum(dist_river - river_half_width, 0.0)
    pressure = 2.3 * np.exp(-dist_road / reach) + 1.4 * np.exp(-from_bank / 12.0)
    clearing = pressure * (1.0 + 0.6 * n_fields) > 0.9
    clearing |= _smooth_noise(rng, shape, 25) > 3.0
    clearing &= ~water
    dist_clearing = ndimage.distance_transform_edt(~clearing).astype(np.float32)
    # Secondary / degraded forest: fallows near the frontier, a fringe around
    # the clearings and a few scattered degraded patches.
    n_secondary = _smooth_noise(rng, shape, 30)
    secondary = n_secondary > 2.3 - 1.4 * np.exp(-dist_clearing / 40.0)
    secondary |= (dist_clearing > 0) & (dist_clearing < 3.0 + 2.0 * n_fields)
    secondary &= ~clearing & ~water

    forest_cover = 91.0 + 5.0 * _smooth_noise(rng, shape, 60) + 2.5 * _smooth_noise(rng, shape, 6)
    cover = np.clip(forest_cover, 72.0, 100.0)
    n_mixed = _smooth_noise(rng, shape, 4)
    jitter = rng.standard_normal(shape, dtype=np.float32)
    cover = np.where(secondary, np.clip(45.0 + 12.0 * n_mixed + 5.0 * jitter, 20.0, 70.0), cover)
    cover = np.where(clearing, np.clip(10.0 + 8.0 * n_mixed + 5.0 * jitter, 0.0, 30.0), cover)
    cover = ndimage.gaussian_filter(cover, 0.6)  # mixed pixels at the edges
    cover = np.where(road, 2.0 * np.abs(jitter), cover)
    cover = np.where(water, 0.0, cover)
    tree_cover = np.clip(np.rint(cover), 0, 100).astype(np.uint8)
    return tree_cover, clearing, secondary, dist_clearing, water | road


def _cut_nodata_strip(rng: np.random.Generator, loss: np.ndarray) -> tuple[float, float, float]:
    """Set a ~40 px wide, slightly slanted strip in the eastern part of ``loss`` to nodata.

    Returns ``(col0, slope, half_width)``: the strip's centre is at column ``col0 + slope * row``.
    """
    h, w = loss.shape
    half_width = min(20.0, 0.05 * w)
    slope = rng.uniform(-0.12, 0.12)
    col0 = w * rng.uniform(0.76, 0.86) - slope * h / 2
    rows, cols = np.ogrid[:h, :w]
    loss[np.abs(cols - (col0 + slope * rows)) < half_width] = LOSS_NODATA
    return col0, slope, half_width


def _paint_loss(
    rng: np.random.Generator,
    grid: _Grid,
    tree_cover: np.ndarray,
    dist_clearing: np.ndarray,
    dist_road: np.ndarray,
) -> np.ndarray:
    """Forest-loss patches clustered at the frontier, one year per patch."""
    h, w = grid.shape
    loss = np.zeros(grid.shape, dtype=np.uint8)

    # Where patches start: forest next to the 2000 clearings, less often along
    # roads, rarely deep in the forest.
    weight = (tree_cover >= 30) * (np.exp(-dist_clearing / 15.0) * (0.08 + np.exp(-dist_road / 250.0)) + 0.001)
    weight = weight.ravel().astype(np.float64)
    weight /= weight.sum()

    # Patch sizes: lognormal, median ~45 px (~3.5 ha), a few of several 100 ha.
    median_area_px = 45.0
    target_fraction = rng.uniform(0.075, 0.10)
    mean_area = median_area_px * math.exp(0.5)
    n = max(int(target_fraction * h * w / (0.75 * mean_area)), 10)
    areas = np.clip(rng.lognormal(math.log(median_area_px), 1.0, size=n), 3.0, 4000.0)

    flat = rng.choice(h * w, size=n, p=weight)
    centers = np.column_stack([flat // w, flat % w]).astype(float) + rng.uniform(-0.5, 0.5, (n, 2))

    # Years: drawn from the regional trend, then handed out so that patches
    # further from the 2000 clearings tend to be more recent.
    year_codes = np.arange(1, LAST_LOSS_YEAR + 1)
    year_p = _YEAR_WEIGHTS * rng.uniform(0.9, 1.1, size=_YEAR_WEIGHTS.size)
    year_p /= year_p.sum()
    years = np.sort(rng.choice(year_codes, size=n, p=year_p))
    distance = dist_clearing.ravel()[flat] + 0.1 * dist_road.ravel()[flat]
    key = np.argsort(np.argsort(distance, kind="stable"), kind="stable") / n
    key = key + 0.45 * rng.standard_normal(n)
    patch_year = np.empty(n, dtype=np.uint8)
    patch_year[np.argsort(key, kind="stable")] = years

    # Paint earliest first: a pixel keeps the year of its first loss.
    for k in np.argsort(patch_year, kind="stable"):
        _paint_blob(rng, loss, centers[k], areas[k], patch_year[k])

    # Speckle: isolated loss pixels (selective logging, classification noise).
    n_speckle = int(0.002 * h * w)
    idx = rng.integers(0, h * w, size=n_speckle)
    speckle_years = rng.choice(year_codes, size=n_speckle, p=year_p)
    flat_loss = loss.ravel()
    free = (flat_loss[idx] == 0) & (tree_cover.ravel()[idx] >= 50)
    flat_loss[idx[free]] = speckle_years[free]

    # Loss is recorded mostly where there was tree cover: keep only a few loss
    # pixels on (nearly) treeless pixels, as in the real product.
    for max_cover, keep in ((10, 0.03), (25, 0.3)):
        idx = np.flatnonzero((flat_loss > 0) & (tree_cover.ravel() <= max_cover))
        flat_loss[idx[rng.random(idx.size) >= keep]] = 0
    return loss


def _paint_blob(rng: np.random.Generator, loss: np.ndarray, center: np.ndarray, area: float, year: int) -> None:
    """Paint an irregular elliptical blob of ~``area`` pixels where ``loss`` is 0."""
    aspect = rng.uniform(1.0, 2.8)
    a = math.sqrt(area * aspect / math.pi)
    b = math.sqrt(area / (aspect * math.pi))
    theta = rng.uniform(0, math.pi)
    harmonics = rng.uniform(0.0, 0.15, 3), rng.uniform(0, 2 * math.pi, 3)
    reach = int(math.ceil(1.6 * a)) + 1
    r0, c0 = int(round(center[0])), int(round(center[1]))
    h, w = loss.shape
    rs, re = max(r0 - reach, 0), min(r0 + reach + 1, h)
    cs, ce = max(c0 - reach, 0), min(c0 + reach + 1, w)
    if rs >= re or cs >= ce:
        return
    yy, xx = np.mgrid[rs:re, cs:ce]
    dy, dx = yy - center[0], xx - center[1]
    u = (dx * math.cos(theta) + dy * math.sin(theta)) / a
    v = (-dx * math.sin(theta) + dy * math.cos(theta)) / b
    phi = np.arctan2(v, u)
    rim = 1.0 + sum(amp * np.cos(m * phi + ph) for m, amp, ph in zip((2, 3, 5), *harmonics))
    mask = np.hypot(u, v) < rim + 0.12 * rng.standard_normal(u.shape)
    sub = loss[rs:re, cs:ce]
    sub[mask & (sub == 0)] = year
