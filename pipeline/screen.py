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
    """How to interpret a product's pixel values (pure data, picklable)."""

    first_year: int = 2001
    last_year: int = 2024
    year_offset: int = 2000
    loss_nodata: int | None = 255
    cover_nodata: int | None = None
    encoding: str = "offset"  # "offset": value k is year_offset + k; "year": the value is the year

    @property
    def years(self) -> np.ndarray:
        return np.arange(self.first_year, self.last_year + 1)


@dataclass(frozen=True)
class ForestDefinition:
    """Which pixels were forest at the baseline.

    With tree cover: ``cover > canopy_threshold`` (``canopy_operator=">"``, FAO/EUDR "more than
    10 %") or ``>=``. With a forest mask: mask == 1. With a Hansen datamask, water (2) is never
    forest. ``min_patch_ha`` > 0 keeps only forest patches of at least that area (FAO: 0.5 ha),
    patches being pixels connected through their sides (``connectivity=4``) or also corners (8).
    """

    canopy_threshold: float = 10.0
    canopy_operator: str = ">"
    min_patch_ha: float = 0.0
    connectivity: int = 8


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
    missing: np.ndarray = None
    invalid: np.ndarray = None

    FIELDS = ("total", "valid", "forest", "loss", "missing", "invalid")

    def __post_init__(self):
        if self.missing is None:
            self.missing = np.zeros_like(self.total)
        if self.invalid is None:
            self.invalid = np.zeros_like(self.total)

    @classmethod
    def zeros(cls, n: int, n_years: int) -> "PlotStats":
        return cls(*(np.zeros(n) for _ in range(3)), np.zeros((n, n_years)), np.zeros(n), np.zeros(n))

    def scatter(self, into: "PlotStats", positions: np.ndarray) -> None:
        """Write these rows into ``into`` at ``positions``."""
        for f in self.FIELDS:
            getattr(into, f)[positions] = getattr(self, f)


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


def batches(groups: list[np.ndarray], max_plots: int = 20_000) -> list[list[np.ndarray]]:
    """Consecutive partitions gathered into batches of at most ``max_plots`` plots (at least one
    partition each): one task computes the coverage of a whole batch at once, so the per-call
    overhead of numpy is paid per batch, not per partition."""
    out: list[list[np.ndarray]] = []
    size = max_plots
    for g in groups:
        if size + len(g) > max_plots:
            out.append([])
            size = 0
        out[-1].append(g)
        size += len(g)
    return out


def window_of(pix: np.ndarray) -> tuple[int, int, int, int]:
    """(row0, col0, height, width) of the union of the plots' cell ranges."""
    r0, c0 = int(pix[:, 0].min()), int(pix[:, 1].min())
    return r0, c0, int(pix[:, 2].max()) - r0, int(pix[:, 3].max()) - c0


def patch_margin(grid: Grid, min_patch_ha: float, max_abs_lat: float) -> int:
    """Pixels to read beyond a window so that forest patches smaller than ``min_patch_ha`` are
    seen whole: a patch reaching that far has more pixels than such a patch can have."""
    if min_patch_ha <= 0:
        return 0
    lat = min(abs(max_abs_lat) + grid.dy, 90.0)
    smallest = pixel_row_areas(lat, grid.dy, grid.dx, 0, 1)[0]
    return int(np.ceil(min_patch_ha * M2_PER_HA / max(smallest, 1e-9)))


def classify_pixels(layers: dict[str, np.ndarray], spec: ProductSpec, forest_def: ForestDefinition,
                    row_areas: np.ndarray) -> dict[str, np.ndarray]:
    """Per-pixel classes of a window from its layers (int32 arrays, :data:`MISSING` = no tile).

    ``layers`` holds ``loss`` and optionally ``tree_cover``, ``datamask``, ``forest_mask``;
    ``row_areas`` the pixel area of each window row (for the minimum patch area). Returns boolean
    arrays ``missing``, ``invalid``, ``valid``, ``forest`` and the int array ``year_index``
    (-1 where no loss in the product's years).
    """
    from .rasters import MISSING

    v = layers["loss"]
    missing = v == MISSING
    for arr in layers.values():
        missing |= arr == MISSING
    nodata = np.zeros_like(missing)
    if spec.loss_nodata is not None:
        nodata |= v == spec.loss_nodata
    year = v + spec.year_offset if spec.encoding == "offset" else v
    in_years = (year >= spec.first_year) & (year <= spec.last_year)
    ok_value = (v == 0) | in_years
    cover = layers.get("tree_cover")
    if cover is not None:
        if spec.cover_nodata is not None:
            nodata |= cover == spec.cover_nodata
        ok_value &= (cover >= 0) & (cover <= 100)
    datamask = layers.get("datamask")
    if datamask is not None:
        nodata |= datamask == 0
    fmask = layers.get("forest_mask")
    if fmask is not None:
        ok_value &= (fmask == 0) | (fmask == 1)
    nodata &= ~missing
    invalid = ~missing & ~nodata & ~ok_value
    valid = ~missing & ~nodata & ok_value

    forest = valid.copy()
    if cover is not None:
        if forest_def.canopy_operator == ">=":
            forest &= cover >= forest_def.canopy_threshold
        else:
            forest &= cover > forest_def.canopy_threshold
    if fmask is not None:
        forest &= fmask == 1
    if datamask is not None:
        forest &= datamask == 1
    if forest_def.min_patch_ha > 0 and forest.any():
        forest = _drop_small_patches(forest, row_areas, forest_def)

    year_index = np.where(forest & (v != 0) & in_years, year - spec.first_year, -1)
    return {"missing": missing, "invalid": invalid, "valid": valid, "forest": forest, "year_index": year_index}


def _drop_small_patches(forest: np.ndarray, row_areas: np.ndarray, fd: ForestDefinition) -> np.ndarray:
    """Keep forest patches of at least ``fd.min_patch_ha``; patches touching the window's border
    are kept (the caller reads a margin wide enough that they are large enough)."""
    from scipy import ndimage

    structure = np.ones((3, 3), bool) if fd.connectivity == 8 else ndimage.generate_binary_structure(2, 1)
    labels, n = ndimage.label(forest, structure=structure)
    if n == 0:
        return forest
    area = np.bincount(labels.ravel(), weights=np.broadcast_to(row_areas[:, None], labels.shape).ravel(),
                       minlength=n + 1)
    keep = area >= fd.min_patch_ha * M2_PER_HA
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    keep[border] = True
    keep[0] = False
    return keep[labels]


_MISSING, _INVALID, _VALID, _FOREST = 1, 2, 4, 8


def _as_int(value) -> np.ndarray:
    """A layer window as int32 with MISSING where no tile is, from an array or (array, present)."""
    from .rasters import MISSING

    if not isinstance(value, tuple):
        return np.asarray(value).astype("int32", copy=False)
    data, present = value
    out = data.astype("int32")
    if present is not None:
        out[~present] = MISSING
    return out


def _gather(values: list, k: np.ndarray, local: np.ndarray) -> np.ndarray:
    """Values (int32, MISSING where no tile is) of cells in window ``k`` at flat position ``local``;
    each window is an int array or a (raw array, present mask or None) pair. Each window is
    indexed in place (no copy of the windows)."""
    from .rasters import MISSING

    out = np.empty(len(k), dtype="int32")
    order = np.argsort(k, kind="stable")  # cells come window by window already: this is cheap
    bounds = np.searchsorted(k[order], np.arange(len(values) + 1))
    for w, v in enumerate(values):
        cells = order[bounds[w]:bounds[w + 1]]
        if not len(cells):
            continue
        data, present = v if isinstance(v, tuple) else (v, None)
        out[cells] = np.asarray(data).ravel()[local[cells]]
        if present is not None:
            out[cells[~present.ravel()[local[cells]]]] = MISSING
    return out


def _pixel_codes(layers: dict[str, np.ndarray], spec: ProductSpec, forest_def: ForestDefinition,
                 row_areas: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
    """A window's pixel classes packed as bit flags (uint8) and the loss-year index (int16)."""
    px = classify_pixels(layers, spec, forest_def, row_areas)
    flags = (px["missing"] * _MISSING | px["invalid"] * _INVALID | px["valid"] * _VALID
             | px["forest"] * _FOREST).astype("uint8")
    return flags, px["year_index"].astype("int16")


def plot_statistics(cov: Coverage, n: int, grid: Grid, windows, layers, cover: np.ndarray | None = None,
                    spec: ProductSpec = ProductSpec(), canopy_threshold: float | None = None, *,
                    forest_def: ForestDefinition | None = None, window_of_plot: np.ndarray | None = None) -> PlotStats:
    """Coverage-weighted, ellipsoidal areas per plot from the pixel values of one or more windows.

    ``cov`` holds the coverage of ``n`` plots on ``grid``. ``windows`` is one ``(row0, col0,
    height, width)`` or a list of them, and ``layers`` the matching dict (or list of dicts) of layer
    name -> int array of that window (:data:`~pipeline.rasters.MISSING` where no tile is). With
    several windows, ``window_of_plot`` says which window holds each plot's cells. The older form
    ``plot_statistics(cov, n, grid, window, loss, cover, spec, canopy_threshold)`` is accepted too.
    Every covered cell must lie in its window.
    """
    if isinstance(windows, tuple):
        windows, layers = [windows], [layers]
        window_of_plot = np.zeros(n, dtype="int64")
    layers = [lay if isinstance(lay, dict) else {"loss": np.asarray(lay).astype("int32"),
                                                 **({"tree_cover": np.asarray(cover).astype("int32")}
                                                    if cover is not None else {})} for lay in layers]
    if forest_def is None:
        forest_def = ForestDefinition(canopy_threshold=10.0 if canopy_threshold is None else canopy_threshold)
    n_years = spec.last_year - spec.first_year + 1
    if len(cov) == 0:
        return PlotStats.zeros(n, n_years)

    win = np.asarray(windows, dtype="int64").reshape(-1, 4)
    k = window_of_plot[cov.index]
    r = cov.row - win[k, 0]
    c = cov.col - win[k, 1]
    if r.min() < 0 or c.min() < 0 or (r >= win[k, 2]).any() or (c >= win[k, 3]).any():
        raise ValueError("coverage extends beyond the window read")
    local = r * win[k, 3] + c  # each cell's place in its window

    if forest_def.min_patch_ha > 0:
        # Forest patches need whole windows: classify every pixel of each window, then gather.
        flags, years = [], []
        for (row0, _, height, _), lay in zip(win, layers):
            row_areas = pixel_row_areas(grid.y0, grid.dy, grid.dx, row0, row0 + height)
            f, y = _pixel_codes({key: _as_int(v) for key, v in lay.items()}, spec, forest_def, row_areas)
            flags.append(f.ravel())
            years.append(y.ravel())
        offset = np.zeros(len(win), dtype="int64")
        np.cumsum((win[:, 2] * win[:, 3])[:-1], out=offset[1:])
        at = offset[k] + local  # each cell's place in the windows laid end to end
        cell_flags, yi = np.concatenate(flags)[at], np.concatenate(years)[at]
    else:
        # Each pixel is classified on its own: gather the raw values under the plots, then classify
        # only those (a window holds many more pixels than its plots cover).
        gathered = {key: _gather([lay[key] for lay in layers], k, local) for key in layers[0]}
        cell_flags, yi = _pixel_codes(gathered, spec, forest_def, None)
    rmin = int(cov.row.min())
    w = cov.fraction * pixel_row_areas(grid.y0, grid.dy, grid.dx, rmin, int(cov.row.max()) + 1)[cov.row - rmin]
    idx = cov.index

    def per_plot(bit: int) -> np.ndarray:
        m = (cell_flags & bit) != 0
        return np.bincount(idx[m], weights=w[m], minlength=n)

    lost = yi >= 0
    loss_m2 = np.bincount(idx[lost] * n_years + yi[lost], weights=w[lost],
                          minlength=n * n_years).reshape(n, n_years)
    return PlotStats(total=np.bincount(idx, weights=w, minlength=n), valid=per_plot(_VALID),
                     forest=per_plot(_FOREST), loss=loss_m2, missing=per_plot(_MISSING), invalid=per_plot(_INVALID))


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
    # Why data is missing, for the status reason (not written to the output).
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, part in (("_missing_pct", stats.missing), ("_invalid_pct", stats.invalid)):
            cols[name] = np.where(stats.total > 0, 100.0 * part / stats.total, 0.0)
    return pd.DataFrame(cols, copy=False)


#: Loss below this many hectares (0.01 m²) is floating-point noise, not loss.
ZERO_HA = 1e-6
