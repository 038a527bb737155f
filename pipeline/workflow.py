"""The library entry points the command line calls: screen plots, run a configured job.

:func:`screen_plots` takes plots already read (a GeoDataFrame) and one or more checked loss
products, and returns a :class:`ScreenResult` — figures, statuses, issues — without writing
anything. :func:`run` is the whole job: read the plots, check them, open the rasters, screen,
write the GeoPackage atomically.

With several products, the first is the *primary* one: its figures fill the unprefixed columns
(``forest_2000_ha``, ``loss_2021_ha``...). Every product also gets its own columns prefixed with
its name (``tmf_loss_after_ref_ha``, ``tmf_status``...) and the plot's ``status`` follows
``status_rule`` (:data:`pipeline.rules.COMBINE_RULES`).
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from . import __version__
from .config import RunConfig
from .coverage import coverage_fractions
from .memory import trim, tune_allocator
from .outputs import check_target, write_screening
from .parallel import default_workers, imap_partitions
from .plots import read_plots
from .qc import QCParams, check_plots
from .rasters import Product, close_datasets, open_product
from .rules import COMBINE_RULES, STATUSES, RuleParams, classify, combine
from .screen import (ForestDefinition, PlotStats, ProductSpec, batches, derive_figures, partition, patch_margin,
                     pixel_bounds, plot_statistics, window_of)

log = logging.getLogger(__name__)

MAIN_COLUMNS = ["data_coverage_pct", "forest_2000_ha", "forest_ref_ha", "loss_total_ha", "loss_before_ref_ha",
                "loss_after_ref_ha", "first_loss_year_after_ref"]


@dataclass(frozen=True)
class ScreenParams:
    reference_year: int = 2020
    canopy_threshold: float = 10.0
    review_max_ha: float = 0.1
    min_data_coverage_pct: float = 99.0
    canopy_operator: str = ">"
    min_forest_patch_ha: float = 0.0
    patch_connectivity: int = 8
    status_rule: str = "any"

    @classmethod
    def from_config(cls, cfg: RunConfig) -> "ScreenParams":
        s = cfg.screening
        return cls(s.reference_year, s.canopy_threshold, s.review_max_ha, s.min_data_coverage_pct,
                   s.canopy_operator, s.min_forest_patch_ha, s.patch_connectivity, s.status_rule)

    @property
    def forest(self) -> ForestDefinition:
        return ForestDefinition(self.canopy_threshold, self.canopy_operator, self.min_forest_patch_ha,
                                self.patch_connectivity)

    @property
    def rules(self) -> RuleParams:
        return RuleParams(self.reference_year, self.review_max_ha, self.min_data_coverage_pct)


@dataclass
class ScreenResult:
    plots: gpd.GeoDataFrame
    loss_by_year: pd.DataFrame
    issues: pd.DataFrame
    metadata: dict[str, str] = field(default_factory=dict)
    reused: int = 0  # plots whose figures an incremental run took from the previous output
    baseline: object | None = None  # a pipeline.baseline_io.BaselineResult when the config asks for one

    def summary(self) -> pd.DataFrame:
        """Plots and hectares per status (every status listed, in a fixed order)."""
        g = self.plots.groupby("status")
        out = pd.DataFrame({
            "plots": g.size(),
            "area_ha": g["area_ha"].sum(),
            "loss_after_ref_ha": g["loss_after_ref_ha"].sum(),
        }).reindex(list(STATUSES)).fillna(0)
        out.loc["total"] = out.sum()
        out["plots"] = out["plots"].astype(int)
        return out


@dataclass(frozen=True)
class _Task:
    """A batch of partitions of one product: the plots' geometries (partition after partition) and,
    per partition, the pixel window its plots need and how many plots it holds."""

    geoms: np.ndarray
    windows: tuple[tuple[int, int, int, int], ...]
    sizes: tuple[int, ...]
    margin: int
    product: Product
    spec: ProductSpec
    forest: ForestDefinition


def _spec(product: Product) -> ProductSpec:
    return ProductSpec(first_year=product.first_year, last_year=product.last_year, year_offset=product.year_offset,
                       loss_nodata=product.loss_nodata, cover_nodata=product.cover_nodata, encoding=product.encoding)


def _screen_partition(task: _Task) -> PlotStats:
    """Read each partition's window of every layer once, then compute every plot's areas."""
    tune_allocator()  # in worker processes too
    m = task.margin
    windows = [(r0 - m, c0 - m, h + 2 * m, w + 2 * m) for r0, c0, h, w in task.windows]
    layers = [{key: layer.read_raw(*win) for key, layer in task.product.layers.items()} for win in windows]
    cov = coverage_fractions(task.geoms, task.product.grid)
    window_of_plot = np.repeat(np.arange(len(windows)), task.sizes)
    return plot_statistics(cov, len(task.geoms), task.product.grid, windows, layers, spec=task.spec,
                           forest_def=task.forest, window_of_plot=window_of_plot)


def screen_product(geoms: np.ndarray, product: Product, params: ScreenParams = ScreenParams(), *,
                   workers: int = 1, progress: bool = False, scheduler="threads") -> PlotStats:
    """Per-plot areas (m²) of one product for every geometry (None: not screened, all zeros)."""
    n = len(geoms)
    years = product.years
    stats = PlotStats.zeros(n, len(years))
    ok = np.flatnonzero([g is not None for g in geoms])
    if not len(ok):
        return stats
    grid = product.grid
    pix = pixel_bounds(shapely.bounds(geoms[ok]), grid)
    groups = partition(pix)
    margin = 0
    if params.min_forest_patch_ha > 0:
        lats = grid.y0 - np.array([pix[:, 0].min(), pix[:, 2].max()]) * grid.dy
        margin = patch_margin(grid, params.min_forest_patch_ha, float(np.abs(lats).max()))
    tasks = []
    for batch in batches(groups, max_plots=_batch_size(len(ok), workers)):
        plots_in = np.concatenate(batch)
        tasks.append(_Task(geoms[ok[plots_in]], tuple(window_of(pix[g]) for g in batch),
                           tuple(len(g) for g in batch), margin, product, _spec(product), params.forest))
    log.info("%s: %d plots in %d partitions, %d tasks (scheduler %s, %d local workers)", product.name, len(ok),
             len(groups), len(tasks), scheduler, workers)
    order = ok[np.concatenate(groups)]
    start = 0
    for part in imap_partitions(_screen_partition, tasks, scheduler=scheduler, workers=workers, progress=progress,
                                desc=f"screening ({product.name})", weights=[len(t.geoms) for t in tasks]):
        n_part = len(part.total)
        part.scatter(stats, order[start:start + n_part])  # stored at once: no list of every result
        start += n_part
    trim()
    return stats


def _batch_size(n_plots: int, workers: int) -> int:
    """Plots per task: large enough to amortise numpy's per-call cost, small enough to bound memory
    and give every worker several tasks (for balance and a moving progress bar)."""
    return int(np.clip(n_plots // max(4 * workers, 1), 2_000, 10_000))


def _loss_by_year(plots: pd.DataFrame, products: Sequence[Product], figures: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Long format (plot_id, source_row, product, year, loss_ha), only plot-years with loss, by plot
    then product then year; found through a boolean plot x year matrix, so the hundreds of MB of a
    float matrix are never made."""
    ids = plots["plot_id"].to_numpy()
    rows = plots["source_row"].to_numpy()
    parts = []
    for product in products:
        fig = figures[product.name]
        cols = [fig[f"loss_{y}_ha"].to_numpy(dtype="float64", na_value=0.0) for y in product.years]
        has = np.zeros((len(fig), len(cols)), dtype=bool)
        for j, col in enumerate(cols):
            has[:, j] = col > 0
        i, j = np.nonzero(has)  # row-major: by plot, then year
        del has
        loss = np.empty(len(i))
        for k, col in enumerate(cols):
            at = np.flatnonzero(j == k)
            loss[at] = col[i[at]]
        parts.append(pd.DataFrame({"plot_id": pd.Series(ids[i], dtype=object), "source_row": rows[i],
                                   "product": product.name, "year": np.asarray(product.years, dtype="int64")[j],
                                   "loss_ha": loss}))
    out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(products) > 1:
        out = out.sort_values(["source_row"], kind="stable", ignore_index=True)  # products stay in order
    return out


def product_fingerprint(product: Product) -> tuple:
    """What identifies a product's data and reading: every setting, and each file's name, size and
    modification time (a re-downloaded tile counts as new; URLs by their address)."""
    files = []
    for role, layer in product.layers.items():
        for t in layer.tiles:
            try:
                st = os.stat(t.path)
                files.append((role, os.path.basename(t.path), st.st_size, st.st_mtime_ns))
            except OSError:
                files.append((role, t.path))
    return (product.name, product.kind, product.encoding, product.year_offset, product.first_year,
            product.last_year, product.loss_nodata, product.cover_nodata, tuple(files))


def screen_keys(geoms: np.ndarray, products: Sequence[Product], params: ScreenParams) -> np.ndarray:
    """A key per plot that changes whenever its figures could: the geometry screened, every
    parameter, every product's files, and the cacao-screen version. Empty for unscreened plots."""
    common = repr((__version__, params, [product_fingerprint(p) for p in products])).encode()
    prefix = hashlib.blake2b(common, digest_size=16).digest()
    wkb = shapely.to_wkb(geoms)
    return np.array(["" if w is None else hashlib.blake2b(prefix + w, digest_size=12).hexdigest() for w in wkb],
                    dtype=object)


#: Previous statuses whose figures may be reused by an incremental run (not_assessed plots are
#: always recomputed: their reasons need more than the stored figures).
REUSABLE = ("deforestation_free", "review", "deforestation_detected")


def screen_plots(plots: gpd.GeoDataFrame, products: Product | Sequence[Product],
                 params: ScreenParams = ScreenParams(), *, workers: int | None = None,
                 progress: bool = False, previous: pd.DataFrame | None = None, scheduler="threads",
                 qc_params: QCParams | None = None) -> ScreenResult:
    """Screen normalised plots (see :func:`pipeline.plots.normalise`) against loss products.

    Every row of ``plots`` comes out, in the same order, with figures, ``status``,
    ``deforestation_free`` and ``status_reason``. ``previous`` (the ``plots`` layer of an earlier
    output, see :func:`read_previous`) makes the run incremental: a plot whose ``screen_key`` is
    found there keeps the figures stored with it instead of being computed again — the same
    figures a full run gives, since the key covers everything they depend on. ``scheduler`` runs
    the partitions: ``"threads"`` (the default), ``"local"`` processes, or a Dask cluster (its address, or a
    ``distributed.Client``); see :mod:`pipeline.parallel`. The figures do not depend on it.
    """
    if plots.crs is None or not plots.crs.equals("EPSG:4326"):
        raise ValueError("plots must be in EPSG:4326 (use pipeline.plots.read_plots)")
    tune_allocator()
    products = [products] if isinstance(products, Product) else list(products)
    if not products:
        raise ValueError("no loss product to screen against")
    if params.status_rule not in COMBINE_RULES:
        raise ValueError(f"unknown status rule {params.status_rule!r}")
    qc = check_plots(plots, qc_params or QCParams(), coverage_bounds=products[0].bounds)
    geoms = qc.geometry  # what is screened: the input geometry, or QC's repair of it
    keys = screen_keys(geoms, products, params)
    reuse = np.zeros(len(plots), dtype=bool)
    if previous is not None and len(previous) and "screen_key" in previous:
        prev = previous[previous["status"].isin(REUSABLE)].drop_duplicates("screen_key").set_index("screen_key")
        reuse = qc.screenable & np.isin(keys, prev.index.to_numpy())
        matched = prev.loc[keys[reuse]]
        log.info("incremental: %d of %d plots unchanged since the previous output", reuse.sum(), len(plots))
    to_compute = np.where(reuse, None, geoms)
    n_workers = workers or default_workers(int((qc.screenable & ~reuse).sum()), scheduler)

    figures: dict[str, pd.DataFrame] = {}
    verdicts: dict[str, pd.DataFrame] = {}
    try:
        for product in products:
            stats = screen_product(to_compute, product, params, workers=n_workers, progress=progress,
                                   scheduler=scheduler)
            fig = derive_figures(stats, np.array(product.years), params.reference_year)
            fig.loc[~qc.screenable, "data_coverage_pct"] = np.nan
            if product.tree_cover is None and product.forest_mask is None:
                # no forest layer: loss counts wherever the product flags it; forest area is unknown
                fig[["forest_2000_ha", "forest_ref_ha"]] = np.nan
            if reuse.any():
                prefix = "" if len(products) == 1 else f"{product.name}_"
                for col in MAIN_COLUMNS + [f"loss_{y}_ha" for y in product.years]:
                    fig.loc[reuse, col] = matched[prefix + col].to_numpy()
                fig.loc[reuse, ["_missing_pct", "_invalid_pct"]] = 0.0
            fig.index = plots.index
            figures[product.name] = fig
            verdicts[product.name] = classify(fig, qc.error_reason, params.rules)
    finally:
        close_datasets()
    verdict = combine(verdicts, params.status_rule)
    primary = products[0]
    fig = figures[primary.name]

    area_ha = qc.area_ha  # measured by quality control on the geometry screened
    attrs = [c for c in plots.columns if c not in ("plot_id", "source_row", plots.geometry.name)]
    year_cols = [f"loss_{y}_ha" for y in primary.years]
    blocks = [
        plots[["plot_id", "source_row", *attrs]],
        verdict,
        pd.DataFrame({"area_ha": area_ha}, index=plots.index),
        fig[MAIN_COLUMNS],
        pd.DataFrame({"qc_status": qc.qc_status, "qc_summary": qc.qc_summary, "screen_key": keys},
                     index=plots.index),
        fig[year_cols],
    ]
    if len(products) > 1:
        for product in products:
            f, v = figures[product.name], verdicts[product.name]
            own = pd.concat([v[["status", "status_reason"]], f[MAIN_COLUMNS],
                             f[[f"loss_{y}_ha" for y in product.years]]], axis=1)
            blocks.append(own.add_prefix(f"{product.name}_"))
    ours = {c for b in blocks[1:] for c in b.columns}
    renamed = {c: f"input_{c}" for c in attrs if c in ours}  # the input's own figures are kept aside
    blocks[0] = blocks[0].rename(columns=renamed)
    # One frame from the blocks' columns, without copying them again (a million plots' figures
    # are hundreds of MB).
    columns = {name: _column_data(block[name]) for block in blocks for name in block.columns}
    columns["geometry"] = plots.geometry
    result_plots = gpd.GeoDataFrame(pd.DataFrame(columns, index=plots.index, copy=False), geometry="geometry",
                                    crs="EPSG:4326")

    loss_by_year = _loss_by_year(plots, products, figures)
    return ScreenResult(result_plots, loss_by_year, qc.issues, reused=int(reuse.sum()))


def _column_data(col: pd.Series):
    """A column's data as it is stored (numpy array or extension array): no copy."""
    return col.array if isinstance(col.dtype, pd.api.extensions.ExtensionDtype) else col.to_numpy()


def read_previous(path: str | Path) -> pd.DataFrame | None:
    """The ``plots`` layer of an earlier screening output, without geometries, for an incremental
    run; None (a full run) when there is none or it predates screen keys."""
    import pyogrio

    path = Path(path)
    if not path.exists():
        return None
    try:
        prev = pyogrio.read_dataframe(path, layer="plots", read_geometry=False, use_arrow=True)
    except Exception as exc:  # noqa: BLE001 - an unreadable previous output only costs a full run
        log.warning("%s: cannot reuse the previous output (%s); screening every plot", path, exc)
        return None
    if "screen_key" not in prev:
        log.warning("%s: the previous output has no screen_key column; screening every plot", path)
        return None
    return prev


def open_products(cfg: RunConfig) -> list[Product]:
    """Open and check every configured product, the primary first."""
    products = []
    for name, ds in cfg.dataset_configs().items():
        p = open_product(name, kind=ds.kind, loss_year=ds.loss_year, tree_cover=ds.tree_cover,
                         datamask=ds.datamask, forest_mask=ds.forest_mask, encoding=ds.encoding,
                         year_offset=ds.year_offset, first_year=ds.first_year, last_year=ds.last_year,
                         nodata=ds.nodata)
        for note in p.notes:
            log.info("%s: %s", name, note)
        if cfg.screening.reference_year >= p.last_year:
            from .errors import ConfigError
            raise ConfigError(f"{name}: the reference year {cfg.screening.reference_year} is not before the "
                              f"product's last loss year {p.last_year}: nothing after it could be seen")
        products.append(p)
    return products


def run(cfg: RunConfig, *, progress: bool = False) -> ScreenResult:
    """The whole job of a validated config: read, screen, write ``cfg.output.path`` atomically."""
    started = time.time()
    overwrite = cfg.output.overwrite or cfg.output.incremental  # an incremental run replaces its output
    check_target(cfg.output.path, overwrite)  # fail before the work, not after
    baseline_inputs = _baseline_inputs(cfg, overwrite)
    products = open_products(cfg)
    plots = read_plots(cfg.plots.path, layer=cfg.plots.layer, id_column=cfg.plots.id_column,
                       id_column_required=cfg.plots.id_column != "plot_id", crs=cfg.plots.crs,
                       wkt_column=cfg.plots.wkt_column, lat_column=cfg.plots.lat_column,
                       lon_column=cfg.plots.lon_column)
    params = ScreenParams.from_config(cfg)
    previous = read_previous(cfg.output.path) if cfg.output.incremental else None
    result = screen_plots(plots, products, params, workers=cfg.workers, progress=progress, previous=previous,
                          scheduler=cfg.scheduler, qc_params=QCParams.from_config(cfg.qc))
    meta = {
        "generator": f"cacao-screen {__version__}",
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "plots_path": str(Path(cfg.plots.path).resolve()),
        "plots_layer": str(cfg.plots.layer or ""),
        "id_column": cfg.plots.id_column,
        "products": ", ".join(p.name for p in products),
        "primary_product": products[0].name,
        "status_rule": params.status_rule if len(products) > 1 else "single product",
    }
    for p in products:
        prefix = "" if p is products[0] else f"{p.name}_"
        meta[f"{prefix}loss_year_raster"] = _sources(p.loss)
        meta[f"{prefix}loss_year_tiles"] = str(len(p.loss.tiles))
        if p.tree_cover is not None:
            meta[f"{prefix}tree_cover_raster"] = _sources(p.tree_cover)
        if p.datamask is not None:
            meta[f"{prefix}datamask_raster"] = _sources(p.datamask)
        if p.forest_mask is not None:
            meta[f"{prefix}forest_mask_raster"] = _sources(p.forest_mask)
        meta[f"{prefix}loss_years"] = f"{p.first_year}-{p.last_year}"
        meta[f"{prefix}product_kind"] = f"{p.kind} (encoding {p.encoding})"
    meta.update({
        "reference_year": str(params.reference_year),
        "canopy_threshold_pct": f"{params.canopy_threshold:g}",
        "forest_definition": (f"treecover2000 {params.canopy_operator} {params.canopy_threshold:g} %"
                              + (f", patches >= {params.min_forest_patch_ha:g} ha ({params.patch_connectivity}-connected)"
                                 if params.min_forest_patch_ha > 0 else "")),
        "review_max_ha": f"{params.review_max_ha:g}",
        "min_data_coverage_pct": f"{params.min_data_coverage_pct:g}",
        "pixel_area": "WGS84 ellipsoid, per pixel row",
        "scheduler": cfg.scheduler,
        "coverage": "exact fraction of each pixel inside the plot",
        "plots_in": str(len(plots)),
        "plots_out": str(len(result.plots)),
        "plots_reused": str(result.reused),
        "plots_crs": str(plots.attrs.get("source_crs", "")),
        **{f"qc_{k}": str(v) for k, v in cfg.qc.model_dump().items()},
        "elapsed_s": f"{time.time() - started:.1f}",
    })
    result.metadata = meta
    if len(result.plots) != len(plots):  # the invariant the whole design protects
        raise RuntimeError(f"internal error: {len(plots)} plots in, {len(result.plots)} out")
    write_screening(cfg.output.path, result.plots, result.loss_by_year, result.issues, result.metadata,
                    overwrite=overwrite)
    if cfg.baseline is not None:
        from .baseline_io import RingRasters, run_baseline

        primary = products[0]
        rasters = None
        if primary.tree_cover is not None:  # rings are measured on the primary product
            rasters = RingRasters([t.path for t in primary.loss.tiles], [t.path for t in primary.tree_cover.tiles],
                                  primary.last_year)
        result.baseline = run_baseline(cfg.output.path, cfg.baseline, rasters=rasters, overwrite=overwrite,
                                       workers=cfg.workers, progress=progress, inputs=baseline_inputs)
    return result


def _baseline_inputs(cfg: RunConfig, overwrite: bool):
    """With a ``baseline`` section: check its output and read its inputs before screening, so a bad
    deliveries file or boundaries file fails before the work, not after."""
    if cfg.baseline is None:
        return None
    from .baseline_io import check_targets, load_inputs

    check_targets(cfg.baseline.output, overwrite)
    return load_inputs(cfg.baseline)


def _sources(layer) -> str:
    """A layer's files for the metadata: the file, folder or glob as given (absolute), or the URLs."""
    return layer.source
