"""Screening: plots and loss products in, figures, statuses and issues out (frames, no files).

:func:`screen_plots` takes plots already read (a GeoDataFrame, see :func:`pipeline.io.plots.read_plots`)
and one or more opened loss products, runs the quality control (:mod:`pipeline.stages.qc`),
measures every screenable plot on every product (:func:`pipeline.engine.zonal.measure_product`),
applies the rules (:mod:`pipeline.stages.rules`) and returns a :class:`ScreenResult`.

With several products, the first is the *primary* one: its figures fill the unprefixed columns
(``forest_2000_ha``, ``loss_2021_ha``...). Every product also gets its own columns prefixed with
its name (``tmf_loss_after_ref_ha``, ``tmf_status``...) and the plot's ``status`` follows
``status_rule`` (:data:`pipeline.stages.rules.COMBINE_RULES`). Alert products
(:mod:`pipeline.stages.alerts`) always get prefixed columns (``gfw_integrated_alert_ha``...) and
take part in the status the same way; their area per month is the ``alerts_by_month`` frame.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..config import ExecutionConfig, ForestDefinition, QCConfig, ScreeningConfig
from ..engine.alerts import AlertSource
from ..engine.cutoff import ClassMapSource
from ..engine.memory import tune_allocator
from ..engine.overlay import OverlayLayer
from ..engine.sources import Source, is_alerts, is_loss, is_map
from ..engine.stats import PlotStats, derive_figures
from ..engine.zonal import LossSource, measure_product
from ..reasons import REASON_COLUMNS, decode, part
from ..reasons import columns as reason_columns
from ..vocab import (
    ALERTS_BY_MONTH,
    DETECTED,
    LOSS_PATCHES,
    MAIN_COLUMNS,
    NOT_ASSESSED,
    PLOT_KEY_COLUMNS,
    REVIEW,
    STATUSES,
    ZERO_HA,
    attribute_names,
)
from .alerts import alert_columns, alerts_by_month, classify_alerts, measure_alerts, months_layer
from .cutoff import CutoffPart, alert_verdicts, alerts_under_rule, screen_cutoff
from .fieldcheck import loss_years
from .frames import column_at
from .overlays import apply_overlay_effects, overlay_columns
from .patches import EDGE_ONLY_REASON, LOSS_KIND, alert_patches, as_patch_layer, edge_only, loss_patches
from .qc import QCResult, check_plots
from .reuse import ROW_DIGEST, reusable, reused_columns, row_digests, screen_keys
from .reviews import apply_reviews, counted_loss, latest_reviews
from .rules import classify, combine

if TYPE_CHECKING:
    from pathlib import Path

    from distributed import Client

    from .export import ExportResult

log = logging.getLogger(__name__)


@dataclass
class ScreenResult:
    plots: gpd.GeoDataFrame
    loss_by_year: pd.DataFrame
    issues: pd.DataFrame
    metadata: dict[str, str] = field(default_factory=dict)
    reused: int = 0  # plots whose figures an incremental run took from the previous output
    baseline: Any = None  # a pipeline.stages.baseline.BaselineResult when the job asks for one
    alerts_by_month: pd.DataFrame | None = None  # with alert products: area per plot, month, confidence
    alert_products: list[str] = field(default_factory=list)
    loss_patches: gpd.GeoDataFrame | None = None  # every patch of forest lost after the reference year
    exports: list[ExportResult] = field(default_factory=list)  # one per export
    report: Path | None = None  # the report's path, when the job writes one

    @property
    def issue_counts(self) -> pd.Series:
        """Findings by (severity, code)."""
        return self.issues.groupby(["severity", "code"]).size()

    def summary(self) -> pd.DataFrame:
        """Plots and hectares per status (every status listed, in a fixed order)."""
        return status_summary(self.plots)

    def alert_summary(self, name: str) -> tuple[int, float, int, int, int]:
        """For an alert product: plots with alerts, their area (ha), and plots it finds
        deforestation_detected, review and not_assessed."""
        ha = self.plots[f"{name}_alert_ha"].fillna(0.0)
        status = self.plots[f"{name}_status"]
        detected, review, unassessed = (int((status == s).sum()) for s in (DETECTED, REVIEW, NOT_ASSESSED))
        return int((ha > 0).sum()), float(ha.sum()), detected, review, unassessed


def status_summary(plots: pd.DataFrame, *, total: bool = True) -> pd.DataFrame:
    """Plots and hectares per status (every status listed, in a fixed order, and a total row);
    summaries of parts add up (``total=False``, then :func:`add_total`)."""
    g = plots.groupby("status")
    out = (
        pd.DataFrame(
            {
                "plots": g.size(),
                "area_ha": g["area_ha"].sum(),
                "loss_after_ref_ha": g["loss_after_ref_ha"].sum(),
            }
        )
        .reindex(list(STATUSES))
        .fillna(0)
    )
    return add_total(out) if total else out


def add_total(summary: pd.DataFrame) -> pd.DataFrame:
    """A summary with its ``total`` row."""
    out = summary.copy()
    out.loc["total"] = out.sum()
    out["plots"] = out["plots"].astype(int)
    return out


# the library's one-call entry point: its options are keyword-only and each has a default
def screen_plots(  # noqa: PLR0913
    plots: gpd.GeoDataFrame,
    products: Source | list[Source] | tuple[Source, ...],
    screening: ScreeningConfig = ScreeningConfig(),
    *,
    qc: QCConfig = QCConfig(),
    execution: ExecutionConfig = ExecutionConfig(),
    client: Client | None = None,
    progress: bool = False,
    previous: pd.DataFrame | None = None,
    established_column: str | None = None,
    reviews: pd.DataFrame | None = None,
    previous_patches: pd.DataFrame | None = None,
) -> ScreenResult:
    """Screen normalised plots (see :func:`pipeline.io.plots.normalise`) against loss products.

    Every row of ``plots`` comes out, in the same order, with figures, ``status``,
    ``deforestation_free`` and ``status_reason``. ``products`` are opened products
    (:func:`pipeline.io.rasters.open_product`), the primary first, and alert products
    (:func:`pipeline.io.alerts.open_alert_product`) anywhere after it. ``previous`` (the ``plots``
    layer of an earlier output) makes the run incremental: a plot whose ``screen_key`` is found
    there keeps the loss figures stored with it instead of being computed again — the same figures
    a full run gives, since the key covers everything they depend on (alert figures are always
    measured: alert files change daily). ``reviews`` (the review log, see
    :func:`pipeline.io.fieldpack.read_reviews`) settles plots checked in the field
    (:mod:`.reviews`). ``execution`` says where the partitions run (``client``: a
    ``distributed.Client`` to use instead); the figures do not depend on it. Maps of the cut-off
    day (:func:`pipeline.io.class_maps.open_class_map`) may be among ``products``;
    ``established_column`` names the attribute holding each plot's establishment year or date.

    The whole frame is held in memory; :func:`pipeline.job.run` screens a file of any size in
    chunks with :func:`screen_checked`, which this function calls once.
    """
    if plots.crs is None or not plots.crs.equals("EPSG:4326"):
        raise ValueError("plots must be in EPSG:4326 (use pipeline.io.plots.read_plots)")
    every: list[Source] = list(products) if isinstance(products, (list, tuple)) else [products]
    loss_products = [p for p in every if is_loss(p)]
    if not loss_products:
        raise ValueError("no loss product to screen against")
    checked = check_plots(plots, qc, coverage_bounds=loss_products[0].bounds)
    for product in every:  # open and check the tiles under the plots before the work
        if hasattr(product, "require"):
            product.require(_bounds(checked.geometry))
    how = Measuring(execution=execution, client=client, progress=progress, edge_buffer_m=qc.edge_buffer_m)
    earlier = Earlier(
        previous,
        previous_patches,
        None if reviews is None else latest_reviews(reviews),
        established=None if established_column is None else plots[established_column].tolist(),
    )
    part = screen_checked(plots, checked, every, screening, how=how, earlier=earlier)
    return ScreenResult(
        _with_input(plots, part.columns),
        part.loss_by_year,
        part.issues,
        reused=part.reused,
        alerts_by_month=part.alerts_by_month,
        alert_products=part.alert_products,
        loss_patches=part.loss_patches,
    )


def _bounds(geoms: np.ndarray) -> np.ndarray:
    live = np.array([g is not None for g in geoms], dtype=bool)
    return shapely.bounds(geoms[live]) if live.any() else np.zeros((0, 4))


@dataclass
class ScreenedPart:
    """A set of plots screened: the columns the screening adds to the ``plots`` layer (a frame on
    the plots' index), their ``loss_by_year`` and ``plot_issues`` rows, how many were reused, and
    with alert products their ``alerts_by_month`` rows; their ``loss_patches``."""

    columns: pd.DataFrame
    loss_by_year: pd.DataFrame
    issues: pd.DataFrame
    reused: int = 0
    alerts_by_month: pd.DataFrame | None = None
    alert_products: list[str] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)  # the overlays measured (their columns' prefixes)
    loss_patches: gpd.GeoDataFrame | None = None

    def extra_layers(self) -> dict[str, pd.DataFrame]:
        """The layers of the screening beside ``plots``, ``loss_by_year`` and ``plot_issues``."""
        out: dict[str, pd.DataFrame] = {}
        if self.alerts_by_month is not None:
            out[ALERTS_BY_MONTH] = self.alerts_by_month
        if self.loss_patches is not None:
            out[LOSS_PATCHES] = self.loss_patches
        return out


@dataclass(frozen=True)
class Measuring:
    """Where and how plots are measured: on ``execution``'s scheduler (or a running ``client``,
    a ``distributed.Client``), with a progress bar over the plots (``progress``) and over each large
    plot's windows (``large_progress``; default: ``progress``). The figures do not depend on it."""

    execution: ExecutionConfig = ExecutionConfig()
    client: Client | None = None
    progress: bool = False
    large_progress: bool | None = None
    edge_buffer_m: float = QCConfig().edge_buffer_m


@dataclass(frozen=True)
class Earlier:
    """What earlier work says about the plots: ``previous``, the ``plots`` layer of an earlier
    output (an incremental run reuses its figures); ``patches``, its ``loss_patches`` (the patches of
    the plots it reuses; without them, a reused plot with loss after the reference year is measured
    again for its patches); ``reviews``, the latest field check of each plot
    (:func:`.reviews.latest_reviews`), applied after the satellite rules; ``established``, when
    each plot was put under cocoa, as the registry says (docs/forest-at-cutoff.md)."""

    previous: pd.DataFrame | None = None
    patches: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    #: The registry's establishment year or date of each plot screened (None: no such column).
    established: Sequence[object] | None = None


def screen_checked(
    plots: pd.DataFrame,
    checked: QCResult,
    products: Sequence[Source],
    screening: ScreeningConfig,
    *,
    how: Measuring = Measuring(),
    earlier: Earlier = Earlier(),
    prefix: bytes | None = None,
    wkb: np.ndarray | None = None,
) -> ScreenedPart:
    """Measure and classify plots that quality control has checked (``checked``: their
    :class:`~pipeline.stages.qc.QCResult`; ``wkb``: the WKB of the geometries it screens, None
    where there is none, when at hand). ``plots`` needs only ``plot_id`` and ``source_row``;
    ``products``: the loss products, the primary first, and the alert products (``prefix``: what
    :func:`key_prefix` gives for the loss products), and maps of the cut-off day; ``how``: see
    :class:`Measuring`; ``earlier``: see :class:`Earlier`. Each plot's figures depend on it alone, so
    any set of plots gives each the same figures. The loss patches come from the same pass
    (:mod:`.patches`); ``edge_only_loss`` within ``how.edge_buffer_m`` of its boundary."""
    previous, previous_patches, reviews = earlier.previous, earlier.patches, earlier.reviews
    tune_allocator()
    products, alert_products, maps, overlays = _kinds(products)
    geoms = checked.geometry  # what is screened: the input geometry, or QC's repair of it
    keys = screen_keys(geoms, products, screening, prefix=prefix, wkb=wkb)
    reuse, matched = reusable(previous, keys, checked.screenable, len(plots))
    remeasure = _lost_after(matched, reuse, products) if previous_patches is None else np.zeros(len(reuse), bool)
    to_compute = np.where(reuse & ~remeasure, np.array(None), geoms)
    figures: dict[str, pd.DataFrame] = {}
    verdicts: dict[str, pd.DataFrame] = {}
    patches: list[pd.DataFrame] = []  # a reused plot with loss after takes the previous output's, or is measured
    for product in products:
        stats = measure_product(
            to_compute,
            product,
            screening,
            how.execution,
            progress=how.progress,
            client=how.client,
            large_progress=how.large_progress,
            cells_from_year=screening.reference_year + 1,
        )
        patches.append(_patches_of(stats, plots, geoms, checked, product))
        fig = derive_figures(stats, np.array(product.years), screening.reference_year)
        fig.loc[~checked.screenable, "data_coverage_pct"] = np.nan
        if product.tree_cover is None and product.forest_mask is None:
            # no forest layer: loss counts wherever the product flags it; forest area is unknown
            fig[["forest_2000_ha", "forest_ref_ha"]] = np.nan
        if matched is not None and reuse.any():
            _reuse_figures(fig, reuse, matched, product, "" if len(products) == 1 else f"{product.name}_")
        fig.index = plots.index
        figures[product.name] = fig
        verdicts[product.name] = classify(fig, checked.error_reason, screening)
    cut, cut_blocks = screen_cutoff(
        plots, checked, products, maps, screening, how, earlier.established, (figures, verdicts)
    )
    alert_blocks, months = _screen_alerts(
        alerts_under_rule(alert_products, maps, screening), plots, checked, screening, how, verdicts, cut, patches
    )
    verdict = combine(verdicts, screening.status_rule)
    if previous_patches is not None and matched is not None and reuse.any():
        patches.append(_reused_patches(previous_patches, matched, plots[reuse]))
    patch_layer = _joined(patches)
    verdict = with_edge_flag(verdict, patch_layer, plots["source_row"], geoms, how.edge_buffer_m)
    if reviews is not None:
        verdict = _with_reviews(verdict, plots, figures[products[0].name], alert_blocks, patch_layer, reviews)
    if overlays:  # what lies under each plot, and its effect on the status (after the loss rules)
        block = overlay_columns(geoms, checked.area_ha, overlays).set_axis(plots.index)
        verdict = apply_overlay_effects(verdict, block, overlays)
        alert_blocks.append(block)
    columns = _our_columns(plots, products, checked, keys, verdict, figures, verdicts, (cut_blocks, alert_blocks))
    return ScreenedPart(
        columns,
        loss_by_year(plots, products, figures),
        checked.issues,
        int(reuse.sum()),
        alerts_by_month=months_layer(months) if alert_products else None,
        alert_products=[p.name for p in alert_products],
        overlays=[o.name for o in overlays],
        loss_patches=patch_layer,
    )


def _kinds(
    every: Sequence[Source],
) -> tuple[list[LossSource], list[AlertSource], list[ClassMapSource], list[OverlayLayer]]:
    """The loss products, the alert products, the maps of the cut-off day and the overlays."""
    alert_products = [p for p in every if is_alerts(p)]
    maps = [p for p in every if is_map(p)]
    overlays = [p for p in every if isinstance(p, OverlayLayer)]  # vector layers: no raster spec
    products = [p for p in every if is_loss(p)]
    return products, alert_products, maps, overlays


def _with_reviews(
    verdict: pd.DataFrame,
    plots: pd.DataFrame,
    primary: pd.DataFrame,
    alert_blocks: Sequence[pd.DataFrame],
    patch_layer: pd.DataFrame,
    reviews: pd.DataFrame,
) -> pd.DataFrame:
    """The verdict with the field checks applied (``primary``: the primary product's figures)."""
    now = counted_loss(pd.concat([primary[["loss_after_ref_ha"]], *alert_blocks], axis=1))
    years = plots["plot_id"].astype(str).map(loss_years(patch_layer)).fillna("")
    return apply_reviews(verdict, plots["plot_id"], now, years, reviews)


def _patches_of(
    stats: PlotStats, plots: pd.DataFrame, geoms: np.ndarray, checked: QCResult, product: LossSource
) -> pd.DataFrame:
    """The loss patches of one product, from the cells its measurement kept."""
    ids, rows = plots["plot_id"].to_numpy(), plots["source_row"].to_numpy()
    cells = stats.loss_cells()
    layer: pd.DataFrame = loss_patches(
        cells, ids, rows, geoms, checked.area_ha, product.grid, product.years, product.name
    )
    return layer


def _reuse_figures(
    fig: pd.DataFrame, reuse: np.ndarray, matched: pd.DataFrame, product: LossSource, prefix_col: str
) -> None:
    """The figures of reused plots taken from the previous output's rows (``matched``), in place."""
    for col in [*MAIN_COLUMNS, *(f"loss_{y}_ha" for y in product.years)]:
        fig.loc[reuse, col] = matched[prefix_col + col].to_numpy()
    fig.loc[reuse, ["_missing_pct", "_invalid_pct"]] = 0.0


def _screen_alerts(
    alert_products: Sequence[AlertSource],
    plots: pd.DataFrame,
    checked: QCResult,
    screening: ScreeningConfig,
    how: Measuring,
    verdicts: dict[str, pd.DataFrame],
    cut: CutoffPart | None = None,
    patches: list[pd.DataFrame] | None = None,
) -> tuple[list[pd.DataFrame], list[pd.DataFrame]]:
    """Measure and classify the alert products (their verdicts added to ``verdicts``; with ``cut``,
    the forest at the cut-off, revised by it): each product's prefixed columns, and its area per
    month; its alert patches, from the same pass, appended to ``patches`` (when given)."""
    blocks, months = [], []
    ids, rows = plots["plot_id"].to_numpy(), plots["source_row"].to_numpy()
    for product in alert_products:
        fig, stats = measure_alerts(
            checked.geometry, product, screening, how.execution, progress=how.progress, client=how.client,
            keep_cells=patches is not None,
        )  # fmt: skip
        if patches is not None:
            cells = stats.alert_cells()
            patches.append(alert_patches(cells, ids, rows, checked.geometry, checked.area_ha, product.grid, product))
        fig.loc[~checked.screenable, "data_coverage_pct"] = np.nan
        fig.index = plots.index
        verdicts[product.name] = v = classify_alerts(fig, checked.error_reason, screening, product)
        if cut is not None:
            verdicts[product.name] = v = alert_verdicts(v, fig, cut.established, screening, cut.sources)
        own = pd.concat([v[["status", *REASON_COLUMNS]], fig[alert_columns(product)]], axis=1)
        blocks.append(own.add_prefix(f"{product.name}_"))
        months.append(alerts_by_month(plots, product, stats))
    return blocks, months


def _joined(patches: list[pd.DataFrame]) -> pd.DataFrame:
    """The products' patches (and the reused plots') as one layer, in input row order."""
    if len(patches) == 1:
        return patches[0]
    return pd.concat(patches, ignore_index=True).sort_values(["source_row"], kind="stable", ignore_index=True)


def _reused_patches(previous_patches: pd.DataFrame, matched: pd.DataFrame, reused: pd.DataFrame) -> pd.DataFrame:
    """The patches of the reused plots, from the previous output's: found by the previous row
    of the same ``screen_key``, given the plot's id and row of this run."""
    rows = pd.Series(
        reused["source_row"].to_numpy(), index=matched["source_row"].to_numpy(dtype="int64")
    ).drop_duplicates()
    ids = pd.Series(reused["plot_id"].to_numpy(dtype=object), index=rows.index)
    old = as_patch_layer(previous_patches[previous_patches["source_row"].isin(rows.index)])
    old = old[(old["kind"] == LOSS_KIND).to_numpy()]  # alert patches are measured again, with the alerts
    out: pd.DataFrame = old.assign(
        plot_id=old["source_row"].map(ids).to_numpy(), source_row=old["source_row"].map(rows).to_numpy()
    )
    return out


def _lost_after(matched: pd.DataFrame | None, reuse: np.ndarray, products: Sequence[LossSource]) -> np.ndarray:
    """Among the plots an incremental run reuses, those with loss after the reference year on
    any product (their patches are not stored with their figures)."""
    out = np.zeros(len(reuse), dtype=bool)
    if matched is None or not reuse.any():
        return out
    lost = np.zeros(int(reuse.sum()), dtype=bool)
    for p in products:
        col = ("" if len(products) == 1 else f"{p.name}_") + "loss_after_ref_ha"
        lost |= matched[col].to_numpy(dtype="float64", na_value=0.0) >= ZERO_HA
    out[reuse] = lost
    return out


def with_edge_flag(
    verdict: pd.DataFrame, patches: pd.DataFrame, source_rows: pd.Series, geoms: np.ndarray, edge_buffer_m: float
) -> pd.DataFrame:
    """The verdict with ``edge_only_loss`` (after ``deforestation_free``): True for a plot whose
    loss patches all lie within ``edge_buffer_m`` of its boundary; the reason of such a plot in
    ``review`` or ``deforestation_detected`` says to check the boundary first."""
    rows = source_rows.to_numpy()
    edge = edge_only(patches, pd.Series(np.asarray(geoms, dtype=object), index=rows), edge_buffer_m)
    flag = pd.Series(rows).map(edge).eq(True).to_numpy(dtype=bool)  # a plot without patches: False
    out = verdict.copy()
    out.insert(column_at(out, "deforestation_free") + 1, "edge_only_loss", flag)
    flagged = np.flatnonzero(flag & out["status"].isin([REVIEW, DETECTED]).to_numpy())
    if len(flagged):
        note = part(EDGE_ONLY_REASON, buffer_m=float(edge_buffer_m))
        stored = out["status_reason_params"].iloc[flagged].tolist()
        new = reason_columns([[*decode(params), note] for params in stored])
        for name in REASON_COLUMNS:  # only the flagged rows are taken out of the column and put back
            values = out[name].array.copy()
            values[flagged] = np.asarray(new[name], dtype=object)
            out[name] = values
    return out


def _our_columns(
    plots: pd.DataFrame,
    products: list[LossSource],
    checked: QCResult,
    keys: np.ndarray,
    verdict: pd.DataFrame,
    figures: dict[str, pd.DataFrame],
    verdicts: dict[str, pd.DataFrame],
    extra: tuple[Sequence[pd.DataFrame], Sequence[pd.DataFrame]] = ((), ()),
) -> pd.DataFrame:
    """The columns the screening adds to the ``plots`` layer: the verdict, the figures, QC columns,
    the forest at the cut-off (``extra[0]``: with maps of it, or an establishment column), then each
    product's own columns (loss products when there are several; ``extra[1]``: alert products and
    overlays always)."""
    cut_blocks, alert_blocks = extra
    primary = products[0]
    fig = figures[primary.name]
    blocks = [
        verdict,
        pd.DataFrame({"area_ha": checked.area_ha}, index=plots.index),  # measured by QC on what is screened
        fig[list(MAIN_COLUMNS)],
        pd.DataFrame(
            {"qc_status": checked.qc_status, "qc_summary": checked.qc_summary, "screen_key": keys}, index=plots.index
        ),
        fig[[f"loss_{y}_ha" for y in primary.years]],
    ]
    blocks.extend(cut_blocks)
    if len(products) > 1:
        for product in products:
            f, v = figures[product.name], verdicts[product.name]
            own = pd.concat(
                [v[["status", *REASON_COLUMNS]], f[list(MAIN_COLUMNS)], f[[f"loss_{y}_ha" for y in product.years]]],
                axis=1,
            )
            blocks.append(own.add_prefix(f"{product.name}_"))
    blocks.extend(alert_blocks)
    # One frame from the blocks' columns, without copying them again (a million plots' figures
    # are hundreds of MB).
    columns = {name: _column_data(block[name]) for block in blocks for name in block.columns}
    digests = row_digests(keys, verdict["status"].to_numpy(), [columns[c] for c in reused_columns(products)])
    at = list(columns).index("screen_key") + 1
    items = list(columns.items())
    columns = dict([*items[:at], (ROW_DIGEST, digests), *items[at:]])
    return pd.DataFrame(columns, index=plots.index, copy=False)


def input_names(attributes: Sequence[str], ours: Sequence[str]) -> dict[str, str]:
    """The input attributes whose name is taken — by the screening's own columns, by ``plot_id`` or
    ``source_row``, case aside (:func:`pipeline.vocab.attribute_names`) — and the name each is kept
    under (``input_<name>``)."""
    names = attribute_names(list(attributes), [*PLOT_KEY_COLUMNS, *ours])
    return {a: n for a, n in zip(attributes, names) if a != n}


def _with_input(plots: gpd.GeoDataFrame, columns: pd.DataFrame) -> gpd.GeoDataFrame:
    """The ``plots`` layer: the input's ids and attributes, then the screening's columns."""
    attrs = [c for c in plots.columns if c not in (*PLOT_KEY_COLUMNS, plots.geometry.name)]
    names = attribute_names(attrs, [*PLOT_KEY_COLUMNS, *columns.columns])
    first = _renamed(plots[[*PLOT_KEY_COLUMNS, *attrs]], [*PLOT_KEY_COLUMNS, *names])
    data = {name: _column_data(first.iloc[:, j]) for j, name in enumerate(first.columns)}
    data.update({name: _column_data(columns[name]) for name in columns.columns})
    data["geometry"] = plots.geometry
    return gpd.GeoDataFrame(pd.DataFrame(data, index=plots.index, copy=False), geometry="geometry", crs="EPSG:4326")


def _renamed(frame: pd.DataFrame, names: list[str]) -> pd.DataFrame:
    """``frame`` with its columns called ``names`` (positionally: repeated names are fine)."""
    out = frame.copy(deep=False)
    out.columns = names
    return out


def _column_data(col: pd.Series) -> np.ndarray | pd.api.extensions.ExtensionArray:
    """A column's data as it is stored (numpy array or extension array): no copy."""
    return col.array if isinstance(col.dtype, pd.api.extensions.ExtensionDtype) else col.to_numpy()


def loss_by_year(plots: pd.DataFrame, products: Sequence[LossSource], figures: dict[str, pd.DataFrame]) -> pd.DataFrame:
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
        for k, col in enumerate(cols):
            has[:, k] = col > 0
        i, j = np.nonzero(has)  # row-major: by plot, then year
        del has
        loss = np.empty(len(i))
        for k, col in enumerate(cols):
            at = np.flatnonzero(j == k)
            loss[at] = col[i[at]]
        parts.append(
            pd.DataFrame(
                {
                    "plot_id": pd.Series(ids[i], dtype=object),
                    "source_row": rows[i],
                    "product": product.name,
                    "year": np.asarray(product.years, dtype="int64")[j],
                    "loss_ha": loss,
                }
            )
        )
    out = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    if len(products) > 1:
        out = out.sort_values(["source_row"], kind="stable", ignore_index=True)  # products stay in order
    return out


def forest_text(forest: ForestDefinition) -> str:
    """The forest definition in words, for the metadata (of the screening, and of the baseline's
    rings and region totals)."""
    return f"treecover2000 {forest.canopy_operator} {forest.canopy_threshold:g} %" + (
        f", patches >= {forest.min_forest_patch_ha:g} ha ({forest.patch_connectivity}-connected)"
        if forest.min_forest_patch_ha > 0
        else ""
    )
