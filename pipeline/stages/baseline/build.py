"""Every layer of ``baseline.gpkg`` from a screening's ``plots`` layer (frames in, frames out).

Layers (docs/baseline.md has every column):

* ``baseline_by_region`` — one row per region holding plots, plus ``unassigned``, with the region's
  geometry (with regions);
* ``baseline_by_group`` — the national row (``group_by`` = ``all``), then one row per cooperative
  and per value of each ``group_by`` grouping;
* ``baseline_plots`` — every plot of the screening: its region, groups and restoration figures;
* ``restoration_rings`` — the ring around each plot and its figures (with ``ring_m``);
* ``deliveries``, ``lots``, ``buyers`` — the supply chain (with deliveries; ``buyers`` when the
  file has a ``buyer`` column);
* ``status_changes`` — plots whose status changed since a previous screening, plots with new
  alerts, and plots new or gone;
* ``alerts_by_month`` — with alert products: alert area per month after the cut-off day, nationally,
  per group of each grouping and per region.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Protocol

import geopandas as gpd
import numpy as np
import pandas as pd

from ... import __version__
from ...config import BaselineConfig, ExecutionConfig, ScreeningConfig
from ...engine.zonal import LossSource, StatsCache
from ...errors import BaselineError
from ...i18n import tr
from ...vocab import ALERTS_BY_MONTH, NATIONAL, UNASSIGNED, UNKNOWN
from ..screening import forest_text
from . import groups as gr
from . import rings as rg
from .monitoring import alert_products, monthly_alerts, status_changes
from .periods import BaselinePeriod, baseline_period, check_plots_columns, loss_years
from .region_totals import RegionTotals, TotalsMeasure, region_totals
from .regions import Assignment, Regions, assign_regions, region_labels
from .supply import match_deliveries, supply_figures

log = logging.getLogger(__name__)


@dataclass
class BaselineInputs:
    """The optional inputs, read and checked before any work."""

    regions: Regions | None = None
    deliveries: pd.DataFrame | None = None  # parsed (pipeline.stages.baseline.supply.parse_deliveries)
    previous: tuple[gpd.GeoDataFrame, dict[str, str]] | None = None  # plots layer and metadata


@dataclass
class BaselineResult:
    layers: dict[str, pd.DataFrame]
    metadata: dict[str, str]
    period: BaselinePeriod
    reference_year: int
    national: pd.Series
    new_years: list[int] = field(default_factory=list)
    path: Path | None = None


@dataclass
class _Rings:
    per_plot: pd.DataFrame  # RING_COLUMNS per plot (NaN for invalid plots)
    groups: dict[str, pd.DataFrame]  # per grouping name: RING_COLUMNS per group
    layer: gpd.GeoDataFrame  # restoration_rings


class GroupTable(Protocol):
    """One grouping's table of figures (``order``: its groups, in order; default: sorted)."""

    def __call__(self, gname: str, group_labels: np.ndarray, order: Sequence[str] | None = None) -> pd.DataFrame: ...


@dataclass(frozen=True)
class BaselineMeasure:
    """What the rings and the region totals are measured with: the screening's loss ``products``,
    opened (the primary one is used), on ``execution``'s scheduler, with a progress bar
    (``progress``); whole-region figures kept in ``region_cache`` (a
    :class:`pipeline.io.region_cache.RegionCache`) when given."""

    products: Sequence[LossSource] = ()
    execution: ExecutionConfig = ExecutionConfig()
    progress: bool = False
    region_cache: StatsCache | None = None


@dataclass(frozen=True)
class ScreeningRead:
    """The screening a baseline is built from, as read back: its name (``source``: in messages and
    the metadata), when it was made (``created``), and its ``alerts_by_month`` layer (``alerts``,
    when it has alert products)."""

    source: str = "screening"
    created: str = ""
    alerts: pd.DataFrame | None = None


def build_baseline(
    plots: gpd.GeoDataFrame,
    screening: ScreeningConfig,
    cfg: BaselineConfig,
    inputs: BaselineInputs = BaselineInputs(),
    *,
    measure: BaselineMeasure = BaselineMeasure(),
    read: ScreeningRead = ScreeningRead(),
) -> BaselineResult:
    """Every baseline layer from a screening's ``plots`` layer (nothing written).

    ``screening`` is the screening's own configuration (its reference year and forest
    definition); the rings (``cfg.ring_m``) are measured on the primary product of ``measure``
    with the screening's forest definition. With regions and ``cfg.region_totals``, every region
    is measured whole on the primary product. ``read``: the screening's name, date and alerts.
    """
    years = check_plots_columns(plots, read.source)
    ref = screening.reference_year
    period = baseline_period(ref, years, cfg.start_year, cfg.end_year)
    metadata = _metadata(plots, read, ref, years, period)
    groupings = _groupings(plots, cfg)
    metadata["groupings"] = "; ".join(g for g, _ in groupings) or "(none)"
    assignment = labels = None
    if inputs.regions is not None:
        assignment = assign_regions(plots.geometry.to_numpy(), inputs.regions.geoms)
        labels = region_labels(assignment, inputs.regions)
        metadata.update(_regions_metadata(cfg, inputs.regions, assignment))
    rings = _rings_if_asked(plots, cfg, screening, measure, [*groupings, *_region_grouping(labels)], metadata)
    layers: dict[str, pd.DataFrame] = {}

    def table(gname: str, group_labels: np.ndarray, order: Sequence[str] | None = None) -> pd.DataFrame:
        t = gr.group_figures(plots, group_labels, period, ref, years, order)
        return t.join(rings.groups[gname]) if rings is not None else t

    national = table(NATIONAL, np.full(len(plots), NATIONAL, dtype=object), [NATIONAL])
    totals = None
    if inputs.regions is not None and cfg.region_totals:
        if not measure.products:
            raise BaselineError(tr("region totals need the screening's loss rasters, which are not at hand"))
        assert labels is not None
        regions = inputs.regions
        sums = table("__region__", labels, list(regions.ids))["baseline_mean_annual_loss_ha"].to_numpy()
        primary = measure.products[0]
        on = TotalsMeasure(primary, screening, measure.execution, measure.region_cache, measure.progress)
        ring_geoms = rings.layer.geometry.to_numpy() if rings is not None else None
        totals = region_totals(plots, list(regions.ids), regions.geoms, sums, years, period, on, ring_geoms=ring_geoms)
        national = national.join(totals.national.to_frame(NATIONAL).T)
        metadata.update(_totals_metadata(totals, primary, screening, cfg.ring_m))
    if inputs.regions is not None and labels is not None:
        layers["baseline_by_region"] = _by_region(table, inputs.regions, labels, totals)
    layers["baseline_by_group"] = _by_group(table, national, groupings)
    layers["baseline_plots"] = _per_plot(plots, inputs.regions, assignment, labels, groupings, rings)
    if rings is not None:
        layers["restoration_rings"] = rings.layer
    if inputs.deliveries is not None:
        _supply_chain(inputs.deliveries, plots, cfg, layers, metadata)
    if read.alerts is not None:
        metadata["alert_products"] = ", ".join(alert_products(plots.columns))
        metadata["cutoff_date"] = screening.cutoff.isoformat()
    new_years: list[int] = []
    if inputs.previous is not None:
        new_years = _monitoring(plots, inputs.previous, ref, years, cfg, layers, metadata)
    if read.alerts is not None:
        named = [(NATIONAL, np.full(len(plots), NATIONAL, dtype=object)), *groupings]
        named += [("region", labels)] if labels is not None else []
        layers[ALERTS_BY_MONTH] = monthly_alerts(plots, read.alerts, named)
    return BaselineResult(layers, metadata, period, ref, national.iloc[0], new_years)


def _metadata(
    plots: pd.DataFrame, read: ScreeningRead, ref: int, years: list[int], period: BaselinePeriod
) -> dict[str, str]:
    """The baseline's first metadata: what it was built from, and over which years."""
    return {
        "generator": f"cacao-screen {__version__}",
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "screening": str(read.source),
        "screening_created_utc": read.created,
        "reference_year": str(ref),
        "loss_years": f"{years[0]}-{years[-1]}",
        "baseline_period": str(period),
        "baseline_years": str(len(period.years)),
        "figures_over": "forest and loss figures: assessed plots (deforestation_free, review, "
        "deforestation_detected); counts: all plots; area_ha: all plots with a geometry",
        "plots": str(len(plots)),
    }


def _region_grouping(labels: np.ndarray | None) -> list[tuple[str, np.ndarray]]:
    """The regions as a grouping of the rings (named ``__region__``), when there are regions."""
    return [("__region__", labels)] if labels is not None else []


def _rings_if_asked(
    plots: gpd.GeoDataFrame,
    cfg: BaselineConfig,
    screening: ScreeningConfig,
    measure: BaselineMeasure,
    groupings: list[tuple[str, np.ndarray]],
    metadata: dict[str, str],
) -> _Rings | None:
    """The restoration rings with ``cfg.ring_m``, per plot and per group of ``groupings``."""
    if cfg.ring_m is None:
        return None
    if not measure.products:
        raise BaselineError(tr("ring_m needs the screening's loss rasters, which are not at hand"))
    named = [(NATIONAL, np.full(len(plots), NATIONAL, dtype=object)), *groupings]
    primary = measure.products[0]
    rings = _measure_rings(plots, cfg.ring_m, named, primary, screening, measure.execution, measure.progress)
    metadata.update(_rings_metadata(cfg.ring_m, primary, screening))
    return rings


def _groupings(plots: pd.DataFrame, cfg: BaselineConfig) -> list[tuple[str, np.ndarray]]:
    """(name, label per plot) of each grouping: the cooperative column (when present), then ``group_by``."""
    groupings: list[tuple[str, np.ndarray]] = []
    coop = cfg.cooperative_column
    if coop is not None and coop in plots.columns:
        groupings.append((coop, gr.attribute_labels(plots, [coop])))
    elif coop is not None and coop != BaselineConfig.model_fields["cooperative_column"].default:
        gr.attribute_labels(plots, [coop])  # raises, naming the columns there are
    for cols in gr.parse_group_by(cfg.group_by):
        name = ",".join(cols)
        if name not in [g for g, _ in groupings]:
            groupings.append((name, gr.attribute_labels(plots, cols)))
    return groupings


def _regions_metadata(cfg: BaselineConfig, regions: Regions, assignment: Assignment) -> dict[str, str]:
    assert cfg.regions is not None
    return {
        "regions": str(cfg.regions.path),
        "regions_layer": str(cfg.regions.layer or ""),
        "region_id_column": cfg.regions.id_column,
        "region_name_column": str(cfg.regions.name_column or ""),
        "regions_read": str(len(regions)),
        "regions_repaired": ", ".join(regions.repaired_ids),
        "regions_without_geometry": ", ".join(regions.dropped_ids),
        "region_assignment": "largest geodesic overlap (WGS84); ties to the first region by id",
        "plots_unassigned": str(int((assignment.region < 0).sum())),
    }


def _measure_rings(
    plots: gpd.GeoDataFrame,
    ring_m: float,
    named: list[tuple[str, np.ndarray]],
    product: LossSource,
    screening: ScreeningConfig,
    execution: ExecutionConfig,
    progress: bool,
) -> _Rings:
    """Each plot's ring and each group's rings, measured once per cluster of overlapping rings."""
    geoms = plots.geometry.to_numpy()
    usable = (plots["status"].astype(str) != "invalid").to_numpy()
    rings = np.full(len(plots), None, dtype=object)
    rings[usable] = rg.ring_geometries(geoms[usable], ring_m)
    # Group rings: clusters of overlapping rings; one plot's cluster is its own ring, larger
    # ones are united and measured once (the same cluster may serve several groupings).
    overlaps = rg.ring_overlaps(rings)
    clustered = {gname: rg.ring_clusters(rings, labels, overlaps) for gname, labels in named}
    unions: dict[tuple[int, ...], int] = {}
    for clusters, _ in clustered.values():
        for c in clusters:
            if len(c) > 1:
                unions.setdefault(tuple(c), len(unions))
    union_geoms = rg.union_geometries(rings, list(unions))
    measured = rg.measure(np.concatenate([rings, union_geoms]), product, screening, execution, progress)
    per_plot = rg.ring_figures(measured.iloc[: len(plots)])
    per_plot.index = plots.index
    per_plot.loc[~usable] = np.nan
    by_group = {}
    for gname, labels in named:
        clusters, cluster_label = clustered[gname]
        rows = [c[0] if len(c) == 1 else len(plots) + unions[tuple(c)] for c in clusters]
        by_group[gname] = rg.ring_group_figures(measured.iloc[rows], cluster_label, gr.sort_labels(pd.unique(labels)))
    layer = gpd.GeoDataFrame(
        {
            "plot_id": plots["plot_id"].to_numpy(),
            "source_row": plots["source_row"].to_numpy(),
            **{c: per_plot[c].to_numpy() for c in rg.RING_COLUMNS},
        },
        geometry=list(rings),
        crs="EPSG:4326",
    )
    return _Rings(per_plot, by_group, layer)


def _rings_metadata(ring_m: float, product: LossSource, screening: ScreeningConfig) -> dict[str, str]:
    meta = {
        "ring_m": f"{ring_m:g}",
        "ring": "plot grown by ring_m metres (azimuthal equidistant projection on the plot) minus every plot; "
        "group rings: union over the group's plots",
        "ring_loss_year_raster": product.loss.source,
    }
    if product.tree_cover is not None:
        meta["ring_tree_cover_raster"] = product.tree_cover.source
    meta["ring_canopy_threshold_pct"] = f"{screening.canopy_threshold:g}"
    meta["ring_forest_definition"] = forest_text(screening)
    return meta


def _totals_metadata(
    totals: RegionTotals, product: LossSource, screening: ScreeningConfig, ring_m: float | None
) -> dict[str, str]:
    return {
        "region_totals": "every region measured whole (exact coverage x ellipsoidal pixel area, window by window) "
        "on the primary product with the screening's forest definition; national row = sum over the regions",
        "region_totals_product": product.name,
        "region_totals_loss_year_raster": product.loss.source if hasattr(product, "loss") else product.name,
        "region_totals_forest_definition": forest_text(screening),
        "region_totals_from_cache": str(totals.from_cache),
        "region_totals_measured": str(totals.measured),
        "region_totals_outside_rasters": str(totals.outside),
        "cocoa_share": "100 x loss in the union of the assessed plots reaching the region (clipped to it) / "
        "the region's loss; sum_of_plots: the region's plots' own figures (overlaps twice, each plot whole "
        "in the region holding most of it)"
        + (f"; near cocoa: within {ring_m:g} m of those plots, in none of them" if ring_m is not None else ""),
    }


def _by_region(
    table: GroupTable, regions: Regions, labels: np.ndarray, totals: RegionTotals | None = None
) -> gpd.GeoDataFrame:
    present = set(labels)
    held = [r for r in regions.ids if r in present] if totals is None else list(regions.ids)
    t = table("__region__", labels, [*held, UNASSIGNED])
    if totals is not None:
        t = t.join(totals.table)
    idx = {r: i for i, r in enumerate(regions.ids)}
    geom = [regions.geoms[idx[r]] if r in idx else None for r in t.index]
    name = [regions.names[idx[r]] if r in idx else None for r in t.index]
    t.insert(0, "region_name", name)
    t.insert(0, "region_id", list(t.index))
    return gpd.GeoDataFrame(t.reset_index(drop=True), geometry=geom, crs="EPSG:4326")


def _by_group(table: GroupTable, national: pd.DataFrame, groupings: list[tuple[str, np.ndarray]]) -> pd.DataFrame:
    rows = [national.assign(group_by=NATIONAL, group=NATIONAL)]
    for gname, labels in groupings:
        rows.append(table(gname, labels).assign(group_by=gname).rename_axis("group").reset_index())
    by_group = pd.concat([r.reset_index(drop=True) for r in rows], ignore_index=True)
    return by_group[["group_by", "group", *[c for c in by_group.columns if c not in ("group_by", "group")]]]


def _per_plot(
    plots: gpd.GeoDataFrame,
    regions: Regions | None,
    assignment: Assignment | None,
    labels: np.ndarray | None,
    groupings: list[tuple[str, np.ndarray]],
    rings: _Rings | None,
) -> gpd.GeoDataFrame:
    per_plot: dict[str, object] = {
        "plot_id": plots["plot_id"].to_numpy(),
        "source_row": plots["source_row"].to_numpy(),
        "status": plots["status"].astype(str).to_numpy(),
    }
    if regions is not None and assignment is not None:  # assigned whenever there are regions
        per_plot["region_id"] = labels
        per_plot["region_name"] = [regions.names[i] if i >= 0 else None for i in assignment.region]
        per_plot["region_overlap_pct"] = assignment.share_pct
    for gname, group_labels in groupings:
        per_plot[gname if gname not in per_plot else f"group_{gname}"] = group_labels
    per_plot["area_ha"] = plots["area_ha"].to_numpy(dtype="float64", na_value=np.nan)
    per_plot["loss_before_ref_ha"] = plots["loss_before_ref_ha"].to_numpy(dtype="float64", na_value=np.nan)
    if rings is not None:
        for c in rg.RING_COLUMNS:
            per_plot[c] = rings.per_plot[c].to_numpy()
    return gpd.GeoDataFrame(per_plot, geometry=list(plots.geometry.to_numpy()), crs="EPSG:4326")


def _supply_chain(
    deliveries: pd.DataFrame,
    plots: pd.DataFrame,
    cfg: BaselineConfig,
    layers: dict[str, pd.DataFrame],
    metadata: dict[str, str],
) -> None:
    assert cfg.deliveries is not None
    matched = match_deliveries(deliveries, plots)
    layers["deliveries"] = matched
    layers["lots"] = supply_figures(matched, "lot_id")
    if "buyer" in matched.columns:
        layers["buyers"] = supply_figures(matched, "buyer")
    unknown = pd.unique(matched.loc[matched["plot_status"] == UNKNOWN, "plot_id"].astype(str))
    if len(unknown):
        log.warning(
            tr(
                "{path}: {n} delivery row(s) name plot_id(s) not in the screening: {ids}",
                path=cfg.deliveries.path,
                n=int((matched["plot_status"] == UNKNOWN).sum()),
                ids=", ".join(unknown[:20]),
            )
        )
    metadata.update(
        {
            "deliveries": str(cfg.deliveries.path),
            "deliveries_rows": str(len(matched)),
            "lots": str(len(layers["lots"])),
            "unknown_plot_ids": ", ".join(unknown),
        }
    )


def _monitoring(
    plots: gpd.GeoDataFrame,
    previous: tuple[gpd.GeoDataFrame, dict[str, str]],
    ref: int,
    years: list[int],
    cfg: BaselineConfig,
    layers: dict[str, pd.DataFrame],
    metadata: dict[str, str],
) -> list[int]:
    prev, prev_meta = previous
    prev_years = loss_years(prev.columns)
    new_years = [y for y in years if y not in prev_years]
    prev_ref = prev_meta.get("reference_year", "")
    if prev_ref and prev_ref != str(ref):
        log.warning(
            tr(
                "the previous screening used reference year {then}, this one {now}: statuses are not comparable",
                then=prev_ref,
                now=ref,
            )
        )
    prev_cut, cut = prev_meta.get("cutoff_date", ""), metadata.get("cutoff_date", "")
    if prev_cut and cut and prev_cut != cut:
        log.warning(
            tr(
                "the previous screening used the cut-off {then}, this one {now}: alerts are not comparable",
                then=prev_cut,
                now=cut,
            )
        )
    layers["status_changes"] = status_changes(plots, prev)
    counts = layers["status_changes"]["change"].value_counts()
    kinds = ("status_changed", "new", "gone", *(("new_alerts",) if alert_products(plots.columns) else ()))
    metadata.update(
        {
            "previous": str(cfg.previous),
            "previous_created_utc": prev_meta.get("created_utc", ""),
            "previous_loss_years": f"{prev_years[0]}-{prev_years[-1]}" if prev_years else "",
            "previous_reference_year": prev_ref,
            "new_loss_years": ", ".join(map(str, new_years)),
            **{f"plots_{k}": str(int(counts.get(k, 0))) for k in kinds},
        }
    )
    return new_years
