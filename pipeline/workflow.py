"""The library entry points the command line calls: screen plots, run a configured job.

:func:`screen_plots` takes plots already read (a GeoDataFrame) and a checked raster source, and
returns a :class:`ScreenResult` — figures, statuses, issues — without writing anything.
:func:`run` is the whole job: read the plots, check them, open the rasters, screen, write the
GeoPackage atomically.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import __version__
from .config import RunConfig
from .coverage import Grid, coverage_fractions
from .geodesy import M2_PER_HA, geodesic_areas
from .outputs import check_target, write_screening
from .parallel import default_workers, map_partitions
from .plots import read_plots
from .qc import QCParams, check_plots
from .rasters import HansenSource, open_hansen, read_window
from .rules import STATUSES, RuleParams, classify
from .screen import PlotStats, ProductSpec, derive_figures, partition, pixel_bounds, plot_statistics, window_of

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreenParams:
    reference_year: int = 2020
    canopy_threshold: float = 10.0
    review_max_ha: float = 0.1
    min_data_coverage_pct: float = 99.0

    @classmethod
    def from_config(cls, cfg: RunConfig) -> "ScreenParams":
        s = cfg.screening
        return cls(s.reference_year, s.canopy_threshold, s.review_max_ha, s.min_data_coverage_pct)


@dataclass
class ScreenResult:
    plots: gpd.GeoDataFrame
    loss_by_year: pd.DataFrame
    issues: pd.DataFrame
    metadata: dict[str, str] = field(default_factory=dict)

    def summary(self) -> pd.DataFrame:
        """Plots and hectares per status (every status listed, in a fixed order)."""
        g = self.plots.groupby("status")
        out = pd.DataFrame({
            "plots": g.size(),
            "area_ha": g["area_ha"].sum(),
            "loss_after_ref_ha": g["loss_after_ref_ha"].sum(),
        }).reindex(list(STATUSES)).fillna(0)
        out["plots"] = out["plots"].astype(int)
        out.loc["total"] = out.sum()
        out["plots"] = out["plots"].astype(int)
        return out


@dataclass(frozen=True)
class _Task:
    """One partition: the plots' geometries and the pixel window they need (picklable)."""

    geoms: np.ndarray
    window: tuple[int, int, int, int]
    source: HansenSource
    canopy_threshold: float


def _spec(source: HansenSource) -> ProductSpec:
    return ProductSpec(first_year=source.first_year, last_year=source.last_year, year_offset=source.year_offset,
                       loss_nodata=source.loss_nodata, cover_nodata=source.cover_nodata)


def _screen_partition(task: _Task) -> PlotStats:
    """Read the partition's window of both layers once, then compute every plot's areas."""
    src = task.source
    row0, col0, height, width = task.window
    loss = read_window(src.loss_year, row0, col0, height, width, src.height, src.width)
    cover = read_window(src.tree_cover, row0, col0, height, width, src.height, src.width)
    cov = coverage_fractions(task.geoms, src.grid)
    return plot_statistics(cov, len(task.geoms), src.grid, task.window, loss, cover, _spec(src), task.canopy_threshold)


def screen_plots(plots: gpd.GeoDataFrame, source: HansenSource, params: ScreenParams = ScreenParams(), *,
                 workers: int | None = None, progress: bool = False, qc_params: QCParams | None = None) -> ScreenResult:
    """Screen normalised plots (see :func:`pipeline.plots.normalise`) against a Hansen source.

    Every row of ``plots`` comes out, in the same order, with figures, ``status``,
    ``deforestation_free`` and ``status_reason``.
    """
    if plots.crs is None or not plots.crs.equals("EPSG:4326"):
        raise ValueError("plots must be in EPSG:4326 (use pipeline.plots.read_plots)")
    qc = check_plots(plots, qc_params or QCParams(), coverage_bounds=source.bounds)
    geoms = qc.geometry  # what is screened: the input geometry, or QC's repair of it
    ok = np.flatnonzero(qc.screenable)
    years = np.array(source.years)

    # Spatial partitions of the screenable plots; each reads its window once.
    pix = pixel_bounds(shapely.bounds(geoms[ok]), source.grid) if len(ok) else np.zeros((0, 4), "int64")
    groups = partition(pix)
    tasks = [_Task(geoms[ok[g]], window_of(pix[g]), source, params.canopy_threshold) for g in groups]
    n_workers = workers or default_workers(len(ok))
    log.info("screening %d plots in %d partitions on %d process(es)", len(ok), len(tasks), n_workers)
    parts = map_partitions(_screen_partition, tasks, workers=n_workers, progress=progress,
                           weights=[len(g) for g in groups])

    # Back to input order; unscreenable plots have zero areas (and NaN figures).
    n = len(plots)
    stats = PlotStats(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros((n, len(years))))
    if groups:
        order = ok[np.concatenate(groups)]
        got = PlotStats.concat(parts, len(years))
        stats.total[order], stats.valid[order], stats.forest[order] = got.total, got.valid, got.forest
        stats.loss[order] = got.loss
    figures = derive_figures(stats, years, params.reference_year)
    figures.loc[~qc.screenable, "data_coverage_pct"] = np.nan
    figures.index = plots.index
    verdict = classify(figures, qc.error_reason,
                       RuleParams(params.reference_year, params.review_max_ha, params.min_data_coverage_pct))

    area_ha = geodesic_areas(geoms) / M2_PER_HA
    attrs = [c for c in plots.columns if c not in ("plot_id", "source_row", plots.geometry.name)]
    year_cols = [f"loss_{y}_ha" for y in years]
    main_cols = ["data_coverage_pct", "forest_2000_ha", "forest_ref_ha", "loss_total_ha", "loss_before_ref_ha",
                 "loss_after_ref_ha", "first_loss_year_after_ref"]
    ours = {*verdict.columns, "area_ha", *figures.columns, "qc_status", "qc_summary"}
    renamed = {c: f"input_{c}" for c in attrs if c in ours}  # the input's own figures are kept aside
    out = pd.concat([
        plots[["plot_id", "source_row", *attrs]].rename(columns=renamed),
        verdict,
        pd.DataFrame({"area_ha": area_ha}, index=plots.index),
        figures[main_cols],
        pd.DataFrame({"qc_status": qc.qc_status, "qc_summary": qc.qc_summary}),
        figures[year_cols],
    ], axis=1)
    result_plots = gpd.GeoDataFrame(out, geometry=plots.geometry.to_numpy(), crs="EPSG:4326")

    long = figures[year_cols].copy()
    long.columns = years
    long.insert(0, "source_row", plots["source_row"].to_numpy())
    long.insert(0, "plot_id", plots["plot_id"].to_numpy())
    loss_by_year = long.melt(id_vars=["plot_id", "source_row"], var_name="year", value_name="loss_ha")
    loss_by_year = loss_by_year[loss_by_year["loss_ha"] > 0].sort_values(["source_row", "year"], kind="stable")
    loss_by_year["year"] = loss_by_year["year"].astype("int64")
    return ScreenResult(result_plots, loss_by_year.reset_index(drop=True), qc.issues)


def run(cfg: RunConfig, *, progress: bool = False) -> ScreenResult:
    """The whole job of a validated config: read, screen, write ``cfg.output.path`` atomically."""
    started = time.time()
    check_target(cfg.output.path, cfg.output.overwrite)  # fail before the work, not after
    source = open_hansen(cfg.rasters.loss_year, cfg.rasters.tree_cover, last_year=cfg.rasters.last_year)
    plots = read_plots(cfg.plots.path, layer=cfg.plots.layer, id_column=cfg.plots.id_column,
                       id_column_required=cfg.plots.id_column != "plot_id", crs=cfg.plots.crs,
                       wkt_column=cfg.plots.wkt_column, lat_column=cfg.plots.lat_column,
                       lon_column=cfg.plots.lon_column)
    params = ScreenParams.from_config(cfg)
    result = screen_plots(plots, source, params, workers=cfg.workers, progress=progress,
                          qc_params=QCParams.from_config(cfg.qc))
    result.metadata = {
        "generator": f"cacao-screen {__version__}",
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "plots_path": str(Path(cfg.plots.path).resolve()),
        "plots_layer": str(cfg.plots.layer or ""),
        "id_column": cfg.plots.id_column,
        "loss_year_raster": str(Path(source.loss_year).resolve()),
        "tree_cover_raster": str(Path(source.tree_cover).resolve()),
        "loss_years": f"{source.first_year}-{source.last_year}",
        "reference_year": str(params.reference_year),
        "canopy_threshold_pct": f"{params.canopy_threshold:g}",
        "forest_definition": f"treecover2000 > {params.canopy_threshold:g} %",
        "review_max_ha": f"{params.review_max_ha:g}",
        "min_data_coverage_pct": f"{params.min_data_coverage_pct:g}",
        "pixel_area": "WGS84 ellipsoid, per pixel row",
        "coverage": "exact fraction of each pixel inside the plot",
        "plots_in": str(len(plots)),
        "plots_out": str(len(result.plots)),
        "plots_crs": str(plots.attrs.get("source_crs", "")),
        **{f"qc_{k}": str(v) for k, v in cfg.qc.model_dump().items()},
        "elapsed_s": f"{time.time() - started:.1f}",
    }
    if len(result.plots) != len(plots):  # the invariant the whole design protects
        raise RuntimeError(f"internal error: {len(plots)} plots in, {len(result.plots)} out")
    write_screening(cfg.output.path, result.plots, result.loss_by_year, result.issues, result.metadata,
                    overwrite=cfg.output.overwrite)
    return result
