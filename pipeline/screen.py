"""Per-plot statistics: the hot loop, as pure functions on arrays.

Nothing here reads files. :func:`partition` orders plots by raster block so that each block of
pixels is read and decoded once per partition; :func:`plot_statistics` turns exact coverage
fractions and the pixel values of a window into per-plot areas (m²):

* ``total``  — Σ coverage × pixel area over every cell the plot touches (inside the raster or not),
* ``valid``  — the same over cells where both layers hold valid data,
* ``forest`` — over valid cells where tree cover in 2000 is above the canopy threshold,
* ``loss``   — a column per loss year: over valid forest cells whose loss year is that year.

:func:`derive_figures` turns those into the hectare columns of the ``plots`` layer.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .coverage import Coverage, Grid, to_pixel
from .geodesy import M2_PER_HA, pixel_row_areas


@dataclass(frozen=True)
class ProductSpec:
    """How to interpret the two layers' values (pure data, picklable)."""

    first_year: int = 2001
    last_year: int = 2024
    year_offset: int = 2000
    loss_nodata: int = 255
    cover_nodata: int | None = None

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.first_year, self.last_year + 1)


@dataclass
class PlotStats:
    """Per-plot areas in m² for a batch of ``n`` plots; ``loss`` has one column per year."""

    total: np.ndarray
    valid: np.ndarray
    forest: np.ndarray
    loss: np.ndarray

    @classmethod
    def concat(cls, parts: list["PlotStats"], n_years: int) -> "PlotStats":
        if not parts:
            z = np.zeros(0)
            return cls(z, z.copy(), z.copy(), np.zeros((0, n_years)))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in ("total", "valid", "forest", "loss")))


def pixel_bounds(bounds: np.ndarray, grid: Grid) -> np.ndarray:
    """Rows and columns (r0, c0, r1, c1; end exclusive) of the cells under lon/lat ``bounds``.

    ``bounds`` is an (n, 4) array of (minx, miny, maxx, maxy) as from ``shapely.bounds``.
    """
    u0, v0 = to_pixel(bounds[:, 0], bounds[:, 3], grid)
    u1, v1 = to_pixel(bounds[:, 2], bounds[:, 1], grid)
    c0, r0, c1, r1 = np.floor(u0), np.floor(v0), np.ceil(u1), np.ceil(v1)
    out = np.stack([r0, c0, np.maximum(r1, r0 + 1), np.maximum(c1, c0 + 1)], axis=1)
    return out.astype("int64")


def partition(pix: np.ndarray, block_size: int = 512, max_plots: int = 5000) -> list[np.ndarray]:
    """Group plots by the raster block holding their upper-left cell, in block order.

    ``pix`` is the (n, 4) result of :func:`pixel_bounds`. Returns a list of index arrays (into
    ``pix``); each group's window is the union of its plots' cells, so neighbouring plots share
    one read. Groups larger than ``max_plots`` are split (in row-major order) to bound memory and
    balance work across processes.
    """
    if len(pix) == 0:
        return []
    brow = np.floor_divide(pix[:, 0], block_size)
    bcol = np.floor_divide(pix[:, 1], block_size)
    order = np.lexsort((pix[:, 1], pix[:, 0], bcol, brow))
    key_sorted = np.stack([brow[order], bcol[order]], axis=1)
    breaks = np.flatnonzero(np.any(key_sorted[1:] != key_sorted[:-1], axis=1)) + 1
    groups = []
    for g in np.split(order, breaks):
        groups.extend(np.array_split(g, int(np.ceil(len(g) / max_plots))))
    return groups


def window_of(pix: np.ndarray) -> tuple[int, int, int, int]:
    """(row0, col0, height, width) of the union of the plots' cell ranges."""
    r0, c0 = int(pix[:, 0].min()), int(pix[:, 1].min())
    return r0, c0, int(pix[:, 2].max()) - r0, int(pix[:, 3].max()) - c0


def plot_statistics(cov: Coverage, n: int, grid: Grid, window: tuple[int, int, int, int],
                    loss: np.ndarray, cover: np.ndarray, spec: ProductSpec,
                    canopy_threshold: float) -> PlotStats:
    """Coverage-weighted, ellipsoidal areas per plot from the pixel values of one window.

    ``cov`` holds the coverage of ``n`` plots on ``grid``; ``loss`` and ``cover`` are the window
    ``(row0, col0, height, width)`` of the two layers, with cells beyond the raster set to an
    invalid value. Every covered cell must lie in the window.
    """
    row0, col0, height, width = window
    r = cov.row - row0
    c = cov.col - col0
    if len(cov) and (r.min() < 0 or c.min() < 0 or r.max() >= height or c.max() >= width):
        raise ValueError("coverage extends beyond the window read")
    area = pixel_row_areas(grid.y0, grid.dy, grid.dx, row0, row0 + height)[r]
    w = cov.fraction * area

    lv = loss[r, c].astype("int64")
    cv = cover[r, c].astype("int64")
    n_years = spec.last_year - spec.first_year + 1
    k_max = spec.last_year - spec.year_offset
    k_min = spec.first_year - spec.year_offset
    loss_ok = (lv != spec.loss_nodata) & (lv >= 0) & (lv <= k_max) & ((lv == 0) | (lv >= k_min))
    cover_ok = (cv >= 0) & (cv <= 100)
    if spec.cover_nodata is not None:
        cover_ok &= cv != spec.cover_nodata
    valid = loss_ok & cover_ok
    forest = valid & (cv > canopy_threshold)
    lost = forest & (lv > 0)

    idx = cov.index
    total = np.bincount(idx, weights=w, minlength=n)
    valid_m2 = np.bincount(idx[valid], weights=w[valid], minlength=n)
    forest_m2 = np.bincount(idx[forest], weights=w[forest], minlength=n)
    year_col = lv[lost] - k_min
    loss_m2 = np.bincount(idx[lost] * n_years + year_col, weights=w[lost],
                          minlength=n * n_years).reshape(n, n_years)
    return PlotStats(total, valid_m2, forest_m2, loss_m2)


def derive_figures(stats: PlotStats, years: np.ndarray, reference_year: int) -> pd.DataFrame:
    """Hectare figures per plot (one row per plot, in the order of ``stats``).

    Columns: ``data_coverage_pct``, ``forest_2000_ha``, ``forest_ref_ha``, ``loss_total_ha``,
    ``loss_after_ref_ha``, ``loss_before_ref_ha``, ``first_loss_year_after_ref`` and
    ``loss_YYYY_ha`` for every year. Figures are NaN where no part of the plot has valid data.
    """
    years = np.asarray(years)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage_pct = np.where(stats.total > 0, 100.0 * stats.valid / stats.total, 0.0)
    has_data = stats.valid > 0
    loss_ha = stats.loss / M2_PER_HA
    after = years > reference_year
    loss_after = loss_ha[:, after].sum(axis=1)
    loss_upto = loss_ha[:, ~after].sum(axis=1)
    forest_2000 = stats.forest / M2_PER_HA
    first_after = np.full(len(stats.total), np.nan)
    if after.any():
        seen = loss_ha[:, after] >= ZERO_HA
        first_after = np.where(seen.any(axis=1), years[after][seen.argmax(axis=1)], np.nan)

    def masked(a):
        return np.where(has_data, a, np.nan)

    cols = {
        # Rounded to 1e-9 % so that a fully covered plot reads 100, not 99.99999999999999.
        "data_coverage_pct": np.minimum(np.round(coverage_pct, 9), 100.0),
        "forest_2000_ha": masked(forest_2000),
        "forest_ref_ha": masked(forest_2000 - loss_upto),
        "loss_total_ha": masked(loss_ha.sum(axis=1)),
        "loss_before_ref_ha": masked(loss_upto),
        "loss_after_ref_ha": masked(loss_after),
        "first_loss_year_after_ref": pd.array(np.where(has_data, first_after, np.nan), dtype="Float64").astype("Int64"),
    }
    for j, y in enumerate(years):
        cols[f"loss_{y}_ha"] = masked(loss_ha[:, j])
    return pd.DataFrame(cols)


#: Loss below this many hectares (0.01 m²) is floating-point noise, not loss.
ZERO_HA = 1e-6
