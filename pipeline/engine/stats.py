"""Per-plot statistics: coverage fractions and pixel classes turned into ellipsoidal areas.

Pure functions on arrays; nothing here reads files. :func:`plot_statistics` turns exact coverage
fractions and the pixel values of one or more windows into per-plot areas (m²):

* ``total``  — Σ coverage × pixel area over every cell the plot touches (inside the raster or not),
* ``valid``  — the same over cells where every layer holds valid data,
* ``forest`` — over valid cells that were forest at the baseline (the forest definition),
* ``loss``   — a column per loss year: over valid forest cells whose loss year is that year;
* ``cells``  — when asked (``cells_from``), the lost cells themselves from a year on (plot, cell,
  year, m²: the same weights as ``loss``), from which :mod:`pipeline.stages.patches` draws the
  loss patches without reading the rasters again.

:func:`derive_figures` turns those into the hectare columns of the ``plots`` layer.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..config import ForestDefinition
from ..vocab import ZERO_HA
from .coverage import Coverage, Grid
from .geodesy import M2_PER_HA, pixel_row_areas
from .pixels import (
    FOREST_BIT,
    INVALID_BIT,
    MISSING_BIT,
    VALID_BIT,
    LayerWindow,
    ProductSpec,
    as_int,
    gather,
    pixel_codes,
)


@dataclass
class LossCells:
    """Lost cells of a batch of plots: one entry per (plot, cell) lost in a year at or after the
    year asked for. ``plot`` is the plot's position, ``row``/``col`` the cell on the grid,
    ``year_index`` the loss year's index in the product's years, ``m2`` the cell's area inside
    the plot (coverage x ellipsoidal pixel area: the weight of the plot's ``loss`` figures)."""

    plot: np.ndarray
    row: np.ndarray
    col: np.ndarray
    year_index: np.ndarray
    m2: np.ndarray

    FIELDS = ("plot", "row", "col", "year_index", "m2")

    def __len__(self) -> int:
        return len(self.plot)

    @classmethod
    def empty(cls) -> LossCells:
        i = np.empty(0, dtype="int64")
        return cls(i, i.copy(), i.copy(), np.empty(0, dtype="int16"), np.empty(0))

    @classmethod
    def concat(cls, parts: list[LossCells]) -> LossCells:
        if not parts:
            return cls.empty()
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.FIELDS))

    def at(self, positions: np.ndarray) -> LossCells:
        """The same cells with each plot's position mapped through ``positions``."""
        return LossCells(np.asarray(positions)[self.plot], self.row, self.col, self.year_index, self.m2)


@dataclass
class PlotStats:
    """Per-plot areas in m² for a batch of ``n`` plots; ``loss`` has one column per year.

    ``missing``: area over no tile (or beyond the rasters); ``invalid``: over values the product
    does not define (a loss year past its last year, tree cover above 100); the rest of
    ``total - valid`` is over nodata.
    """

    total: np.ndarray
    valid: np.ndarray
    forest: np.ndarray
    loss: np.ndarray
    missing: np.ndarray
    invalid: np.ndarray
    #: The lost cells (:class:`LossCells`, in parts) when asked for; None otherwise.
    cells: list[LossCells] | None = None

    FIELDS = ("total", "valid", "forest", "loss", "missing", "invalid")

    @classmethod
    def zeros(cls, n: int, n_years: int, *, cells: bool = False) -> PlotStats:
        return cls(
            total=np.zeros(n),
            valid=np.zeros(n),
            forest=np.zeros(n),
            loss=np.zeros((n, n_years)),
            missing=np.zeros(n),
            invalid=np.zeros(n),
            cells=[] if cells else None,
        )

    def scatter(self, into: PlotStats, positions: np.ndarray) -> None:
        """Write these rows into ``into`` at ``positions`` (and their lost cells, if both keep them)."""
        for f in self.FIELDS:
            getattr(into, f)[positions] = getattr(self, f)
        if self.cells is not None and into.cells is not None:
            into.cells.extend(part.at(positions) for part in self.cells if len(part))

    def loss_cells(self) -> LossCells:
        """Every lost cell kept, in one :class:`LossCells` (empty when none were kept)."""
        return LossCells.concat(self.cells or [])


def cells_in_windows(
    cov: Coverage, windows: list[tuple[int, int, int, int]], window_of_plot: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Where each covered cell lies in the windows read: the windows as an (n, 4) array, each
    cell's window and its place in that window (row-major). Raises :class:`ValueError` when a
    cell lies outside its plot's window."""
    win = np.asarray(windows, dtype="int64").reshape(-1, 4)
    k = window_of_plot[cov.index]
    r = cov.row - win[k, 0]
    c = cov.col - win[k, 1]
    if r.min() < 0 or c.min() < 0 or (r >= win[k, 2]).any() or (c >= win[k, 3]).any():
        raise ValueError("coverage extends beyond the window read")
    return win, k, r * win[k, 3] + c


# the statistics callable's signature, shared with alerts.AlertStatistics (see zonal.measure_product)
def plot_statistics(  # noqa: PLR0913
    cov: Coverage,
    n: int,
    grid: Grid,
    windows: list[tuple[int, int, int, int]],
    layers: Sequence[Mapping[str, LayerWindow]],
    spec: ProductSpec,
    forest: ForestDefinition,
    window_of_plot: np.ndarray,
    *,
    cells_from: int | None = None,
) -> PlotStats:
    """Coverage-weighted, ellipsoidal areas per plot from the pixel values of one or more windows.

    ``cov`` holds the coverage of ``n`` plots on ``grid``. ``windows`` lists ``(row0, col0, height,
    width)`` windows and ``layers`` the matching dicts of layer name -> window values (an int
    array with :data:`~pipeline.engine.pixels.NO_TILE` where no tile is, or a (raw array, tile
    mask) pair); ``window_of_plot`` says which window holds each plot's cells. Every covered cell
    must lie in its window. ``cells_from`` (a loss-year index): keep the cells lost in that year
    or later (:attr:`PlotStats.cells`).
    """
    n_years = spec.last_year - spec.first_year + 1
    if len(cov) == 0:
        return PlotStats.zeros(n, n_years, cells=cells_from is not None)
    _, _, cell_flags, yi = cell_codes(cov, grid, windows, layers, spec, forest, window_of_plot)
    rmin = int(cov.row.min())
    w = cov.fraction * pixel_row_areas(grid.y0, grid.dy, grid.dx, rmin, int(cov.row.max()) + 1)[cov.row - rmin]
    idx = cov.index

    def per_plot(bit: int) -> np.ndarray:
        m = (cell_flags & bit) != 0
        return np.bincount(idx[m], weights=w[m], minlength=n)

    lost = yi >= 0
    loss_m2 = np.bincount(idx[lost] * n_years + yi[lost], weights=w[lost], minlength=n * n_years).reshape(n, n_years)
    cells = None
    if cells_from is not None:
        keep = np.flatnonzero(yi >= max(cells_from, 0))
        cells = [LossCells(idx[keep], cov.row[keep], cov.col[keep], yi[keep].astype("int16"), w[keep])]
    return PlotStats(
        total=np.bincount(idx, weights=w, minlength=n),
        valid=per_plot(VALID_BIT),
        forest=per_plot(FOREST_BIT),
        loss=loss_m2,
        missing=per_plot(MISSING_BIT),
        invalid=per_plot(INVALID_BIT),
        cells=cells,
    )


def cell_codes(
    cov: Coverage,
    grid: Grid,
    windows: list[tuple[int, int, int, int]],
    layers: Sequence[Mapping[str, LayerWindow]],
    spec: ProductSpec,
    forest: ForestDefinition,
    window_of_plot: np.ndarray,
    keys: tuple[str, ...] | None = None,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The pixel classes (bit flags) and loss-year index of every covered cell, from the layers
    ``keys`` of the windows (default: all of them), with each cell's window and place in it (see
    :func:`plot_statistics` for the arguments)."""
    win, k, local = cells_in_windows(cov, windows, window_of_plot)
    keys = tuple(layers[0]) if keys is None else keys
    if forest.min_forest_patch_ha > 0:
        # Forest patches need whole windows: classify every pixel of each window, then gather.
        flags, years = [], []
        for (row0, _, height, _), lay in zip(win, layers):
            row_areas = pixel_row_areas(grid.y0, grid.dy, grid.dx, row0, row0 + height)
            f, y = pixel_codes({key: as_int(lay[key]) for key in keys}, spec, forest, row_areas)
            flags.append(f.ravel())
            years.append(y.ravel())
        offset = np.zeros(len(win), dtype="int64")
        np.cumsum((win[:, 2] * win[:, 3])[:-1], out=offset[1:])
        at = offset[k] + local  # each cell's place in the windows laid end to end
        return k, local, np.concatenate(flags)[at], np.concatenate(years)[at]
    # Each pixel is classified on its own: gather the raw values under the plots, then classify
    # only those (a window holds many more pixels than its plots cover).
    gathered = {key: gather([lay[key] for lay in layers], k, local) for key in keys}
    cell_flags, yi = pixel_codes(gathered, spec, forest, None)
    return k, local, cell_flags, yi


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

    def masked(a: np.ndarray) -> np.ndarray:
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
    # Why data is missing, for the status reason (not written to the output).
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, part in (("_missing_pct", stats.missing), ("_invalid_pct", stats.invalid)):
            cols[name] = np.where(stats.total > 0, 100.0 * part / stats.total, 0.0)
    figures: pd.DataFrame = pd.DataFrame(cols, copy=False)
    return figures
