"""The baseline of deforestation associated with cocoa: each region's whole forest loss beside the
loss inside (and near) its cocoa plots.

For every region of the regions file:

* the **whole region** is measured on the screening's primary product with the screening's
  forest definition — exact coverage × ellipsoidal pixel area, window by window
  (:func:`pipeline.engine.zonal.measure_polygon`), so a department of tens of millions of pixels
  fits in the memory of one window; its figures are cached by geometry, product and forest
  definition (a ``cache`` object, see :class:`pipeline.io.region_cache.RegionCache`);
* **cocoa** is the union of the assessed plots that reach the region, clipped to it: overlapping
  plots count their common land once, and a plot crossing a border counts in each region for
  the part it has there. The union's parts are disjoint, so they are measured as plots
  (:func:`pipeline.engine.zonal.measure_product`) and summed;
* **near cocoa** (with ``ring_m``) is the land within ``ring_m`` metres of those plots that lies
  in no plot, clipped to the region: the union of their restoration rings.

Shares are 100 × loss in cocoa (near cocoa) / the region's loss, per year and over the baseline
period; None when the region lost nothing (below :data:`~pipeline.vocab.ZERO_HA`) or has no
valid data. The national row sums the regions' areas, then takes the same ratios.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import shapely
from shapely import STRtree

from ...config import ExecutionConfig, ForestDefinition
from ...engine.arrays import BaseGeometry
from ...engine.coverage import Grid
from ...engine.geodesy import M2_PER_HA, geodesic_areas
from ...engine.stats import PlotStats
from ...engine.zonal import LossSource, StatsCache, WindowRun, measure_polygon, measure_product
from ...i18n import _
from ...vocab import ASSESSED, NATIONAL, ZERO_HA
from ..qc.geometry import geodesic_circles
from .periods import BaselinePeriod
from .regions import polygonal, repaired

log = logging.getLogger(__name__)


def region_columns(years: Sequence[int], rings: bool) -> list[str]:
    """The columns region totals add to ``baseline_by_region`` (and the national row), in order."""
    cols = [
        "region_data_coverage_pct",
        "region_forest_2000_ha",
        "region_baseline_mean_annual_loss_ha",
        *(f"region_loss_{y}_ha" for y in years),
        "cocoa_area_ha",
        "cocoa_baseline_mean_annual_loss_ha",
        "cocoa_baseline_mean_annual_loss_sum_of_plots_ha",
        "cocoa_share_of_baseline_loss_pct",
        "cocoa_share_of_baseline_loss_sum_of_plots_pct",
        *(f"cocoa_share_of_loss_{y}_pct" for y in years),
    ]
    if rings:
        cols += [
            "near_cocoa_area_ha",
            "near_cocoa_baseline_mean_annual_loss_ha",
            "near_cocoa_share_of_baseline_loss_pct",
            *(f"near_cocoa_share_of_loss_{y}_pct" for y in years),
        ]
    return cols


@dataclass
class RegionTotals:
    """Region totals: one row per region (index: region id) and the national row."""

    table: pd.DataFrame
    national: pd.Series
    from_cache: int
    measured: int
    outside: int = 0  # regions wholly outside the product's rasters: not read


# --- Geometries ----------------------------------------------------------------------------------


def cocoa_plot_geometries(plots: pd.DataFrame) -> np.ndarray:
    """The land each assessed plot was screened on (None for the others): its polygon, repaired
    if needed; for a point, the geodesic circle of its ``area_ha`` (as the screening drew it)."""
    status = plots["status"].astype(str).to_numpy()
    geoms = plots.geometry.to_numpy()
    out = np.full(len(plots), None, dtype=object)
    area = pd.to_numeric(plots["area_ha"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    for i in np.flatnonzero(np.isin(status, ASSESSED)):
        g = geoms[i]
        if g is None or shapely.is_empty(g):
            continue
        if g.geom_type == "Point":
            if np.isfinite(area[i]) and area[i] > 0:
                out[i] = geodesic_circles(np.array([g.x]), np.array([g.y]), np.array([area[i] * M2_PER_HA]))[0][0]
            continue
        out[i] = repaired(g)
    return out


def cocoa_geometries(
    plot_geoms: np.ndarray, region_geoms: np.ndarray, ring_geoms: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray | None]:
    """Per region: the union of the plots that reach it, clipped to it (None: no plot there); and
    with ``ring_geoms`` (the plots' restoration rings, aligned with ``plot_geoms``), the union of
    the rings that reach it less every plot there, clipped to it (None: none) — disjoint from the
    region's cocoa."""
    plot_geoms = np.asarray(plot_geoms, dtype=object)
    has = np.array([g is not None for g in plot_geoms], dtype=bool)
    geoms = plot_geoms[has]
    n = len(region_geoms)
    cocoa = np.full(n, None, dtype=object)
    near = np.full(n, None, dtype=object) if ring_geoms is not None else None
    rings = np.zeros(0, dtype=object)
    if ring_geoms is not None:
        rings = np.asarray(ring_geoms, dtype=object)[has]
        rings = rings[np.array([g is not None for g in rings], dtype=bool)]
    if not len(geoms):
        return cocoa, near
    tree = STRtree(geoms)
    ring_tree = STRtree(rings) if len(rings) else None
    for r, region in enumerate(region_geoms):
        if region is None:
            continue
        inside = tree.query(region, predicate="intersects")
        plots_here = shapely.union_all(geoms[inside]) if len(inside) else None
        if plots_here is not None:
            cocoa[r] = polygonal(shapely.intersection(plots_here, region))
        if near is not None and ring_tree is not None:
            around = ring_tree.query(region, predicate="intersects")
            if len(around):
                land = shapely.union_all(rings[around])
                if plots_here is not None:  # rings hold no plot land, but a point's circle may lie in one
                    land = shapely.difference(land, plots_here)
                near[r] = polygonal(shapely.intersection(land, region))
    return cocoa, near


# --- Measuring -----------------------------------------------------------------------------------


def _years_of(product: LossSource) -> int:
    spec = product.spec
    return spec.last_year - spec.first_year + 1


def measure_regions(
    region_geoms: np.ndarray,
    product: LossSource,
    forest: ForestDefinition,
    execution: ExecutionConfig = ExecutionConfig(),
    *,
    cache: StatsCache | None = None,
    progress: bool = False,
) -> tuple[PlotStats, int, int]:
    """Areas (m²) of each whole region, window by window; from ``cache`` when it has them.

    ``cache``: a :class:`~pipeline.engine.zonal.StatsCache`
    (:class:`pipeline.io.region_cache.RegionCache`), or None. ``progress``
    shows one bar over every window of the regions measured. A region wholly outside the
    product's rasters (its ``bounds``) is not read: all of its area is missing data. Returns the
    stats (one row per region), how many came from the cache and how many lay outside the rasters.
    """
    from tqdm.auto import tqdm

    n_years = _years_of(product)
    stats = PlotStats.zeros(len(region_geoms), n_years)
    todo: list[tuple[int, str | None]] = []
    hits = outside = 0
    bounds = getattr(product, "bounds", None)
    extent = shapely.box(*bounds) if bounds is not None else None
    for i, g in enumerate(region_geoms):
        if g is None:
            continue
        if extent is not None and not shapely.intersects(g, extent):
            stats.total[i] = stats.missing[i] = geodesic_areas([g])[0]  # no pixel of data: nothing to read
            outside += 1
            continue
        key = cache.key(g, product, forest) if cache is not None else None
        got = cache.get(key, n_years) if cache is not None and key is not None else None
        if got is not None:
            got.scatter(stats, np.array([i]))
            hits += 1
        else:
            todo.append((i, key))
    if not todo:
        return stats, hits, outside
    estimate = [_window_estimate(region_geoms[i], product.grid) for i, _ in todo]
    bar = tqdm(total=sum(estimate), desc=_("region totals"), unit=_("window"), disable=not progress, leave=False)
    try:
        for (i, key), guess in zip(todo, estimate):
            state = {"first": True}

            def tick(done: int, total: int, guess: int = guess, state: dict[str, bool] = state) -> None:
                if state["first"] and total != guess:  # the estimate came from the bounding box
                    bar.total += total - guess
                    bar.refresh()
                state["first"] = False
                bar.update(1)

            quiet = WindowRun(what="a region", log_level=logging.DEBUG)
            one = measure_polygon(region_geoms[i], product, forest, execution, progress=tick, run=quiet)
            one.scatter(stats, np.array([i]))
            if cache is not None and key is not None:
                cache.put(key, one)
    finally:
        bar.close()
    return stats, hits, outside


def _window_estimate(geom: BaseGeometry, grid: Grid, window: int = 1024) -> int:
    """Windows of ``window`` px over the geometry's bounding box (for the progress bar)."""
    x0, y0, x1, y1 = shapely.bounds(geom)
    c0, c1 = int(np.floor((x0 - grid.x0) / grid.dx)), int(np.ceil((x1 - grid.x0) / grid.dx))
    r0, r1 = int(np.floor((grid.y0 - y1) / grid.dy)), int(np.ceil((grid.y0 - y0) / grid.dy))
    return max(1, (r1 // window - r0 // window + 1) * (c1 // window - c0 // window + 1))


def measure_parts(
    geoms: np.ndarray, product: LossSource, forest: ForestDefinition, execution: ExecutionConfig = ExecutionConfig()
) -> PlotStats:
    """Areas (m²) of each geometry (None: zeros), measured as its polygons (disjoint parts of a
    union) with the screening's engine, then summed per geometry."""
    n_years = _years_of(product)
    out = PlotStats.zeros(len(geoms), n_years)
    parts, owner = [], []
    for i, g in enumerate(geoms):
        if g is None:
            continue
        for p in shapely.get_parts(g):
            parts.append(p)
            owner.append(i)
    if not parts:
        return out
    owner_a = np.asarray(owner, dtype="int64")
    measured = measure_product(np.array(parts, dtype=object), product, forest, execution, progress=False)
    for f in PlotStats.FIELDS:
        value = getattr(measured, f)
        target = getattr(out, f)
        if value.ndim == 1:
            target[:] = np.bincount(owner_a, weights=value, minlength=len(geoms))
        else:
            for j in range(value.shape[1]):
                target[:, j] = np.bincount(owner_a, weights=value[:, j], minlength=len(geoms))
    return out


# --- Figures -------------------------------------------------------------------------------------


def _loss_ha(stats: PlotStats, product: LossSource, years: Sequence[int]) -> np.ndarray:
    """Loss (ha) per row and per year of ``years`` (NaN for a year the product does not have)."""
    spec = product.spec
    out = np.full((len(stats.total), len(years)), np.nan)
    for j, y in enumerate(years):
        if spec.first_year <= y <= spec.last_year:
            out[:, j] = stats.loss[:, y - spec.first_year] / M2_PER_HA
    return out


def _share(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """100 × part / whole, in [0, 100]; NaN when the whole is NaN or below ZERO_HA."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.clip(100.0 * part / whole, 0.0, 100.0)
    return np.where(np.isfinite(whole) & (whole >= ZERO_HA), share, np.nan)


def _ratio(part: np.ndarray, whole: np.ndarray) -> np.ndarray:
    """100 × part / whole, unclipped (a sum of plot figures may pass 100); NaN as :func:`_share`."""
    with np.errstate(invalid="ignore", divide="ignore"):
        share = 100.0 * part / whole
    return np.where(np.isfinite(whole) & (whole >= ZERO_HA) & np.isfinite(part), share, np.nan)


def total_figures(
    ids: Sequence[str],
    region: PlotStats,
    cocoa: PlotStats,
    near: PlotStats | None,
    sum_of_plots_mean: np.ndarray,
    product: LossSource,
    years: Sequence[int],
    period: BaselinePeriod,
) -> pd.DataFrame:
    """The region-total columns (:func:`region_columns`), one row per id, from areas in m².

    ``sum_of_plots_mean`` is each row's ``baseline_mean_annual_loss_ha`` summed over its plots
    (the plots' own figures, each plot in the region holding most of it)."""
    years = list(years)
    base = [years.index(y) for y in period.years]
    has_data = region.valid > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage = np.where(
            region.total > 0, np.minimum(np.round(100.0 * region.valid / region.total, 9), 100.0), np.nan
        )
    region_loss = np.where(has_data[:, None], _loss_ha(region, product, years), np.nan)
    region_mean = region_loss[:, base].mean(axis=1)
    cocoa_loss = np.where(has_data[:, None], _loss_ha(cocoa, product, years), np.nan)
    cocoa_mean = cocoa_loss[:, base].mean(axis=1)
    cols: dict[str, Any] = {
        "region_data_coverage_pct": coverage,
        "region_forest_2000_ha": np.where(has_data, region.forest / M2_PER_HA, np.nan),
        "region_baseline_mean_annual_loss_ha": region_mean,
    }
    for j, y in enumerate(years):
        cols[f"region_loss_{y}_ha"] = region_loss[:, j]
    cols["cocoa_area_ha"] = cocoa.total / M2_PER_HA
    cols["cocoa_baseline_mean_annual_loss_ha"] = cocoa_mean
    cols["cocoa_baseline_mean_annual_loss_sum_of_plots_ha"] = np.asarray(sum_of_plots_mean, dtype="float64")
    cols["cocoa_share_of_baseline_loss_pct"] = _share(cocoa_mean, region_mean)
    cols["cocoa_share_of_baseline_loss_sum_of_plots_pct"] = _ratio(
        np.asarray(sum_of_plots_mean, dtype="float64"), region_mean
    )
    for j, y in enumerate(years):
        cols[f"cocoa_share_of_loss_{y}_pct"] = _share(cocoa_loss[:, j], region_loss[:, j])
    if near is not None:
        near_loss = np.where(has_data[:, None], _loss_ha(near, product, years), np.nan)
        near_mean = near_loss[:, base].mean(axis=1)
        cols["near_cocoa_area_ha"] = near.total / M2_PER_HA
        cols["near_cocoa_baseline_mean_annual_loss_ha"] = near_mean
        cols["near_cocoa_share_of_baseline_loss_pct"] = _share(near_mean, region_mean)
        for j, y in enumerate(years):
            cols[f"near_cocoa_share_of_loss_{y}_pct"] = _share(near_loss[:, j], region_loss[:, j])
    return pd.DataFrame(cols, index=pd.Index(list(ids), name="region_id"))[region_columns(years, near is not None)]


def _summed(stats: PlotStats) -> PlotStats:
    return PlotStats(**{f: getattr(stats, f).sum(axis=0, keepdims=True) for f in PlotStats.FIELDS})


@dataclass(frozen=True)
class TotalsMeasure:
    """What the regions are measured on: the screening's primary ``product`` with its ``forest``
    definition, on ``execution``'s scheduler; whole-region figures kept in ``cache`` (a
    :class:`pipeline.io.region_cache.RegionCache`) when given; a progress bar with ``progress``."""

    product: LossSource
    forest: ForestDefinition
    execution: ExecutionConfig = ExecutionConfig()
    cache: StatsCache | None = None
    progress: bool = False


def region_totals(
    plots: pd.DataFrame,
    ids: Sequence[str],
    region_geoms: np.ndarray,
    sum_of_plots_mean: np.ndarray,
    years: Sequence[int],
    period: BaselinePeriod,
    on: TotalsMeasure,
    *,
    ring_geoms: np.ndarray | None = None,
) -> RegionTotals:
    """Every region's whole-region figures and cocoa's share of them (see the module docstring),
    and the national row over the regions, measured ``on`` (see :class:`TotalsMeasure`).
    ``sum_of_plots_mean`` is each region's ``baseline_mean_annual_loss_ha`` (the sum of its plots'
    figures); ``ring_geoms``, each plot's restoration ring (with ``ring_m``), gives the near-cocoa
    figures."""
    product, forest, execution, cache, progress = on.product, on.forest, on.execution, on.cache, on.progress
    region_geoms = np.asarray(region_geoms, dtype=object)
    region, hits, outside = measure_regions(region_geoms, product, forest, execution, cache=cache, progress=progress)
    cocoa_geoms, near_geoms = cocoa_geometries(cocoa_plot_geometries(plots), region_geoms, ring_geoms)
    cocoa = measure_parts(cocoa_geoms, product, forest, execution)
    near = measure_parts(near_geoms, product, forest, execution) if near_geoms is not None else None
    sums = np.asarray(sum_of_plots_mean, dtype="float64")
    table = total_figures(ids, region, cocoa, near, sums, product, years, period)
    national = total_figures(
        [NATIONAL],
        _summed(region),
        _summed(cocoa),
        _summed(near) if near is not None else None,
        np.array([np.nansum(sums)]),
        product,
        years,
        period,
    ).iloc[0]
    measured = int(sum(g is not None for g in region_geoms)) - hits - outside
    log.info(
        "region totals: %d region(s) on %s, %d from the cache, %d measured, %d outside its rasters",
        len(ids),
        product.name,
        hits,
        measured,
        outside,
    )
    return RegionTotals(table, national, hits, measured, outside)
