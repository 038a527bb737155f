"""The edges of the baseline: reading a screening, boundaries, deliveries; writing ``baseline.gpkg``.

:func:`run_baseline` is the library entry point behind ``cacao-screen baseline``: it reads an
existing ``screening.gpkg`` (no raster is read, except for the optional rings around plots),
computes everything with the pure functions of :mod:`pipeline.baseline`, and writes a GeoPackage
atomically, plus CSV copies of its tables in a folder ``<name>_csv/`` beside it.

Layers of ``baseline.gpkg`` (see the README for every column):

* ``baseline_by_region`` — one row per region holding plots, plus ``unassigned``, with the region's
  geometry (with ``--regions``);
* ``baseline_by_group`` — the national row (``group_by`` = ``all``), then one row per cooperative
  and per value of each ``--group-by`` grouping;
* ``baseline_plots`` — every plot of the screening: its region, groups and restoration figures;
* ``restoration_rings`` — the ring around each plot and its figures (with ``--ring-m``);
* ``deliveries``, ``lots``, ``buyers`` — the supply chain (with ``--deliveries``; ``buyers`` when
  the file has a ``buyer`` column);
* ``status_changes`` — plots whose status changed since ``--previous``, and plots new or gone;
* ``run_metadata`` — the parameters (``key``, ``value``).
"""

from __future__ import annotations

import csv
import logging
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from . import __version__
from . import baseline as bl
from .config import BaselineConfig, DeliveriesConfig, RegionsConfig
from .errors import BaselineError, DeliveriesError, OutputError, RegionsError
from .outputs import check_target, write_layers

log = logging.getLogger(__name__)


# ---------------------------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------------------------


def read_screening(path: str | Path, what: str = "screening") -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The ``plots`` layer and the ``run_metadata`` of a screening GeoPackage, checked."""
    path = Path(path)
    if not path.is_file():
        raise BaselineError(f"{path}: {what} GeoPackage not found")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        if "plots" not in layers:
            raise BaselineError(f"{path}: no 'plots' layer (layers: {', '.join(layers) or 'none'}); "
                                f"expected a screening.gpkg written by cacao-screen")
        plots = pyogrio.read_dataframe(path, layer="plots", use_arrow=True)
        meta = {}
        if "run_metadata" in layers:
            m = pyogrio.read_dataframe(path, layer="run_metadata")
            meta = dict(zip(m["key"].astype(str), m["value"].astype(str)))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise BaselineError(f"{path}: cannot read the {what} GeoPackage ({exc})") from exc
    bl.check_plots_columns(plots, str(path))
    if plots.crs is None or not plots.crs.equals("EPSG:4326"):
        plots = plots.set_crs("EPSG:4326", allow_override=True) if plots.crs is None else plots.to_crs("EPSG:4326")
    plots["plot_id"] = plots["plot_id"].astype(str)
    return plots, meta


def reference_year_of(meta: dict[str, str], source: str) -> int:
    try:
        return int(meta["reference_year"])
    except (KeyError, ValueError):
        raise BaselineError(f"{source}: the run_metadata table gives no reference_year") from None


def read_regions(cfg: RegionsConfig) -> bl.Regions:
    """Read, reproject, repair and dissolve administrative regions."""
    path = Path(cfg.path)
    if not path.exists():
        raise RegionsError(f"{path}: regions file not found")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        if cfg.layer is not None and cfg.layer not in layers:
            raise RegionsError(f"{path}: no layer {cfg.layer!r}; the file holds: {', '.join(layers) or 'none'}")
        gdf = pyogrio.read_dataframe(path, layer=cfg.layer or (layers[0] if layers else None))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise RegionsError(f"{path}: not a readable vector file ({exc})") from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise RegionsError(f"{path}: the regions layer has no geometry")
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for label, col in (("id", cfg.id_column), ("name", cfg.name_column)):
        if col is not None and col not in columns:
            raise RegionsError(f"{path}: no region {label} column {col!r}; columns are: {', '.join(columns)}")
    if len(gdf) == 0:
        raise RegionsError(f"{path}: the regions layer is empty")
    if gdf.crs is None:
        raise RegionsError(f"{path}: the regions have no coordinate reference system")
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    names = gdf[cfg.name_column].to_numpy(dtype=object) if cfg.name_column else None
    regions = bl.prepare_regions(gdf[cfg.id_column].to_numpy(dtype=object), names,
                                 gdf.geometry.to_numpy(), source=str(path))
    if regions.repaired_ids:
        log.warning("%s: %d invalid region geometr(ies) repaired with make_valid: %s", path,
                    len(regions.repaired_ids), ", ".join(regions.repaired_ids[:20]))
    if regions.dropped_ids:
        log.warning("%s: %d region(s) without a usable geometry (they can hold no plot): %s", path,
                    len(regions.dropped_ids), ", ".join(regions.dropped_ids[:20]))
    if len(regions) == 0:
        raise RegionsError(f"{path}: no region has a usable geometry")
    return regions


def read_deliveries(cfg: DeliveriesConfig) -> pd.DataFrame:
    """Read the deliveries CSV as text (comma, semicolon or tab separated; UTF-8) and check it."""
    path = Path(cfg.path)
    try:
        with open(path, encoding="utf-8-sig", newline="") as f:
            head = f.read(64 * 1024)
    except FileNotFoundError:
        raise DeliveriesError(f"{path}: deliveries file not found") from None
    except UnicodeDecodeError as exc:
        raise DeliveriesError(f"{path}: not UTF-8 text ({exc.reason} at byte {exc.start}); save it as CSV UTF-8") from exc
    except OSError as exc:
        raise DeliveriesError(f"{path}: cannot read the deliveries file ({exc.strerror})") from exc
    if not head.strip():
        raise DeliveriesError(f"{path}: the deliveries file is empty")
    first = head.splitlines()[0]
    sep = max((",", ";", "\t"), key=first.count)
    try:
        raw = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, encoding="utf-8-sig",
                          skip_blank_lines=False, quoting=csv.QUOTE_MINIMAL)
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError) as exc:
        raise DeliveriesError(f"{path}: not a readable CSV ({exc})".replace("\n", " ")) from exc
    return bl.parse_deliveries(raw, str(path), cfg.quantity_column)


@dataclass
class BaselineInputs:
    """The optional inputs, read (and checked) before any work."""

    regions: bl.Regions | None = None
    deliveries: pd.DataFrame | None = None
    previous: tuple[gpd.GeoDataFrame, dict[str, str]] | None = None


def load_inputs(cfg: BaselineConfig) -> BaselineInputs:
    return BaselineInputs(
        regions=read_regions(cfg.regions) if cfg.regions is not None else None,
        deliveries=read_deliveries(cfg.deliveries) if cfg.deliveries is not None else None,
        previous=read_screening(cfg.previous, "previous screening") if cfg.previous is not None else None,
    )


# ---------------------------------------------------------------------------------------------
# Computing
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RingRasters:
    """The loss product the rings are measured on (whatever :func:`pipeline.rasters.open_hansen` takes)."""

    loss_year: object
    tree_cover: object
    last_year: int | None = None  # None: the screening's last loss year


@dataclass
class BaselineResult:
    layers: dict[str, pd.DataFrame]
    metadata: dict[str, str]
    period: bl.BaselinePeriod
    reference_year: int
    national: pd.Series
    new_years: list[int] = field(default_factory=list)
    path: Path | None = None


def _screen_rings(geoms: np.ndarray, rasters: RingRasters, reference_year: int, canopy_threshold: float,
                  workers: int | None, progress: bool) -> pd.DataFrame:
    """Measure ring geometries with the screening's own engine (exact coverage × ellipsoidal area)."""
    from .rasters import open_hansen
    from .workflow import ScreenParams, screen_plots

    frame = gpd.GeoDataFrame({"plot_id": [f"ring-{i + 1}" for i in range(len(geoms))],
                              "source_row": np.arange(1, len(geoms) + 1, dtype="int64")},
                             geometry=list(geoms), crs="EPSG:4326")
    if len(frame) == 0:
        return pd.DataFrame(columns=["area_ha", "data_coverage_pct", "forest_2000_ha", "loss_before_ref_ha"])
    source = open_hansen(rasters.loss_year, rasters.tree_cover, last_year=rasters.last_year)
    params = ScreenParams(reference_year=reference_year, canopy_threshold=canopy_threshold)
    return screen_plots(frame, source, params, workers=workers, progress=progress).plots


def build_baseline(plots: gpd.GeoDataFrame, meta: dict[str, str], cfg: BaselineConfig, inputs: BaselineInputs, *,
                   source: str = "screening", rasters: RingRasters | None = None, workers: int | None = None,
                   progress: bool = False) -> BaselineResult:
    """Every baseline layer from a screening's ``plots`` layer and metadata (nothing written)."""
    years = bl.check_plots_columns(plots, source)
    ref = reference_year_of(meta, source)
    period = bl.baseline_period(ref, years, cfg.start_year, cfg.end_year)
    geoms = plots.geometry.to_numpy()
    layers: dict[str, pd.DataFrame] = {}
    metadata: dict[str, str] = {
        "generator": f"cacao-screen {__version__}",
        "created_utc": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "screening": str(source),
        "screening_created_utc": meta.get("created_utc", ""),
        "reference_year": str(ref),
        "loss_years": f"{years[0]}-{years[-1]}",
        "baseline_period": str(period),
        "baseline_years": str(len(period.years)),
        "figures_over": "forest and loss figures: assessed plots (deforestation_free, review, "
                        "deforestation_detected); counts: all plots; area_ha: all plots with a geometry",
        "plots": str(len(plots)),
    }

    # --- groupings ------------------------------------------------------------------------
    groupings: list[tuple[str, np.ndarray]] = []
    coop = cfg.cooperative_column
    if coop is not None and coop in plots.columns:
        groupings.append((coop, bl.attribute_labels(plots, [coop])))
    elif coop is not None and coop != "cooperative_id":
        bl.attribute_labels(plots, [coop])  # raises, naming the columns there are
    for cols in bl.parse_group_by(cfg.group_by):
        name = ",".join(cols)
        if name not in [g for g, _ in groupings]:
            groupings.append((name, bl.attribute_labels(plots, cols)))
    metadata["groupings"] = "; ".join(g for g, _ in groupings) or "(none)"

    region_labels = None
    regions = inputs.regions
    if regions is not None:
        assignment = bl.assign_regions(geoms, regions.geoms)
        region_labels = bl.region_labels(assignment, regions)
        n_un = int((assignment.region < 0).sum())
        metadata.update({
            "regions": str(cfg.regions.path), "regions_layer": str(cfg.regions.layer or ""),
            "region_id_column": cfg.regions.id_column, "region_name_column": str(cfg.regions.name_column or ""),
            "regions_read": str(len(regions)),
            "regions_repaired": ", ".join(regions.repaired_ids),
            "regions_without_geometry": ", ".join(regions.dropped_ids),
            "region_assignment": "largest geodesic overlap (WGS84); ties to the first region by id",
            "plots_unassigned": str(n_un),
        })

    # --- rings ------------------------------------------------------------------------------
    ring_plot = ring_groups = None
    if cfg.ring_m is not None:
        if rasters is None:
            raise BaselineError("--ring-m needs the loss rasters (--loss-year and --tree-cover)")
        threshold = float(meta.get("canopy_threshold_pct", 10))
        usable = (plots["status"].astype(str) != "invalid").to_numpy()
        rings = np.full(len(plots), None, dtype=object)
        rings[usable] = bl.ring_geometries(geoms[usable], cfg.ring_m)
        named = [(bl.NATIONAL, np.full(len(plots), bl.NATIONAL, dtype=object)), *groupings]
        if region_labels is not None:
            named.append(("__region__", region_labels))
        # Group rings: clusters of overlapping rings; one plot's cluster is its own ring, larger
        # ones are united and measured once (the same cluster may serve several groupings).
        overlaps = bl.ring_overlaps(rings)
        clustered = {gname: bl.ring_clusters(rings, labels, overlaps) for gname, labels in named}
        unions: dict[tuple[int, ...], int] = {}
        for clusters, _ in clustered.values():
            for c in clusters:
                if len(c) > 1:
                    unions.setdefault(tuple(c), len(unions))
        union_geoms = [bl.polygonal(shapely.union_all(rings[list(c)])) for c in unions]
        measured = _screen_rings(np.concatenate([rings, np.array(union_geoms, dtype=object)]), rasters, ref,
                                 threshold, workers, progress)
        measured = measured.reset_index(drop=True)
        ring_plot = bl.ring_figures(measured.iloc[:len(plots)])
        ring_plot.index = plots.index
        ring_plot.loc[~usable] = np.nan
        ring_groups = {}
        for gname, labels in named:
            clusters, cluster_label = clustered[gname]
            rows = [c[0] if len(c) == 1 else len(plots) + unions[tuple(c)] for c in clusters]
            ring_groups[gname] = bl.ring_group_figures(measured.iloc[rows], cluster_label,
                                                       bl.sort_labels(pd.unique(labels)))
        layers_rings = gpd.GeoDataFrame(
            {"plot_id": plots["plot_id"].to_numpy(), "source_row": plots["source_row"].to_numpy(),
             **{c: ring_plot[c].to_numpy() for c in bl.RING_COLUMNS}},
            geometry=list(rings), crs="EPSG:4326")
        metadata.update({
            "ring_m": f"{cfg.ring_m:g}",
            "ring": "plot grown by ring_m metres (azimuthal equidistant projection on the plot) minus every plot; "
                    "group rings: union over the group's plots",
            "ring_loss_year_raster": str(rasters.loss_year), "ring_tree_cover_raster": str(rasters.tree_cover),
            "ring_canopy_threshold_pct": f"{threshold:g}",
        })

    # --- group tables -----------------------------------------------------------------------
    def table(gname: str, labels: np.ndarray, order=None) -> pd.DataFrame:
        t = bl.group_figures(plots, labels, period, ref, years, order)
        if ring_groups is not None:
            t = t.join(ring_groups[gname])
        return t

    national = table(bl.NATIONAL, np.full(len(plots), bl.NATIONAL, dtype=object), [bl.NATIONAL])
    rows = [national.assign(group_by=bl.NATIONAL, group=bl.NATIONAL)]
    for gname, labels in groupings:
        rows.append(table(gname, labels).assign(group_by=gname).rename_axis("group").reset_index())
    by_group = pd.concat([r.reset_index(drop=True) for r in rows], ignore_index=True)
    by_group = by_group[["group_by", "group", *[c for c in by_group.columns if c not in ("group_by", "group")]]]

    if regions is not None:
        present = set(region_labels)
        held = [r for r in regions.ids if r in present]
        t = table("__region__", region_labels, [*held, bl.UNASSIGNED])
        idx = {r: i for i, r in enumerate(regions.ids)}
        geom = [regions.geoms[idx[r]] if r in idx else None for r in t.index]
        name = [regions.names[idx[r]] if r in idx else None for r in t.index]
        t.insert(0, "region_name", name)
        t.insert(0, "region_id", list(t.index))
        layers["baseline_by_region"] = gpd.GeoDataFrame(t.reset_index(drop=True), geometry=geom, crs="EPSG:4326")
    layers["baseline_by_group"] = by_group

    # --- per plot -----------------------------------------------------------------------------
    per_plot = {"plot_id": plots["plot_id"].to_numpy(), "source_row": plots["source_row"].to_numpy(),
                "status": plots["status"].astype(str).to_numpy()}
    if regions is not None:
        per_plot["region_id"] = region_labels
        per_plot["region_name"] = [regions.names[i] if i >= 0 else None for i in assignment.region]
        per_plot["region_overlap_pct"] = assignment.share_pct
    for gname, labels in groupings:
        per_plot[gname if gname not in per_plot else f"group_{gname}"] = labels
    per_plot["area_ha"] = plots["area_ha"].to_numpy(dtype="float64", na_value=np.nan)
    per_plot["loss_before_ref_ha"] = plots["loss_before_ref_ha"].to_numpy(dtype="float64", na_value=np.nan)
    if ring_plot is not None:
        for c in bl.RING_COLUMNS:
            per_plot[c] = ring_plot[c].to_numpy()
    layers["baseline_plots"] = gpd.GeoDataFrame(per_plot, geometry=list(geoms), crs="EPSG:4326")
    if ring_plot is not None:
        layers["restoration_rings"] = layers_rings

    # --- supply chain -----------------------------------------------------------------------
    if inputs.deliveries is not None:
        matched = bl.match_deliveries(inputs.deliveries, plots)
        layers["deliveries"] = matched
        layers["lots"] = bl.supply_figures(matched, "lot_id")
        if "buyer" in matched.columns:
            layers["buyers"] = bl.supply_figures(matched, "buyer")
        unknown = pd.unique(matched.loc[matched["plot_status"] == bl.UNKNOWN, "plot_id"].astype(str))
        if len(unknown):
            log.warning("%s: %d delivery row(s) name plot_id(s) not in the screening: %s", cfg.deliveries.path,
                        int((matched["plot_status"] == bl.UNKNOWN).sum()), ", ".join(unknown[:20]))
        metadata.update({"deliveries": str(cfg.deliveries.path), "deliveries_rows": str(len(matched)),
                         "lots": str(len(layers["lots"])), "unknown_plot_ids": ", ".join(unknown)})

    # --- monitoring ---------------------------------------------------------------------------
    new_years: list[int] = []
    if inputs.previous is not None:
        prev, prev_meta = inputs.previous
        prev_years = bl.loss_years(prev.columns)
        new_years = [y for y in years if y not in prev_years]
        prev_ref = prev_meta.get("reference_year", "")
        if prev_ref and prev_ref != str(ref):
            log.warning("the previous screening used reference year %s, this one %s: statuses are not comparable",
                        prev_ref, ref)
        layers["status_changes"] = bl.status_changes(plots, prev)
        counts = layers["status_changes"]["change"].value_counts()
        metadata.update({"previous": str(cfg.previous), "previous_created_utc": prev_meta.get("created_utc", ""),
                         "previous_loss_years": f"{prev_years[0]}-{prev_years[-1]}" if prev_years else "",
                         "previous_reference_year": prev_ref, "new_loss_years": ", ".join(map(str, new_years)),
                         **{f"plots_{k}": str(int(counts.get(k, 0))) for k in ("status_changed", "new", "gone")}})

    return BaselineResult(layers, metadata, period, ref, national.iloc[0], new_years)


# ---------------------------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------------------------


def csv_folder(path: str | Path) -> Path:
    """Where the CSV copies of ``path``'s tables go: ``<stem>_csv/`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}_csv")


def check_targets(path: str | Path, overwrite: bool) -> None:
    """Fail before any work when the GeoPackage or its CSV folder exists and ``overwrite`` is false."""
    check_target(path, overwrite)
    folder = csv_folder(path)
    if folder.exists() and not overwrite:
        raise OutputError(f"{folder}: output already exists; pass --overwrite to replace it")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")


def write_baseline(path: str | Path, result: BaselineResult, *, overwrite: bool = False) -> Path:
    """Write ``baseline.gpkg`` atomically, then swap in ``<stem>_csv/`` (one CSV per layer, no
    geometry, plus ``run_metadata.csv``)."""
    path = Path(path)
    check_targets(path, overwrite)
    folder = csv_folder(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create the output folder ({exc.strerror})") from exc
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=path.parent))
    try:
        for name, frame in result.layers.items():
            table = pd.DataFrame(frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else frame)
            table.to_csv(staged / f"{name}.csv", index=False, encoding="utf-8")
        pd.DataFrame({"key": list(result.metadata), "value": list(result.metadata.values())}).to_csv(
            staged / "run_metadata.csv", index=False, encoding="utf-8")
        os.chmod(staged, 0o755)
        write_layers(path, result.layers, result.metadata, overwrite=overwrite)
        _replace_dir(staged, folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    result.path = path
    return path


def _replace_dir(staged: Path, target: Path) -> None:
    """Rename ``staged`` onto ``target`` (replacing it): the folder is always old or new, never half."""
    if target.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, trash / target.name)
        try:
            os.replace(staged, target)
        except BaseException:
            os.replace(trash / target.name, target)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staged, target)


def run_baseline(screening: str | Path, cfg: BaselineConfig, *, rasters: RingRasters | None = None,
                 overwrite: bool = False, workers: int | None = None, progress: bool = False,
                 inputs: BaselineInputs | None = None) -> BaselineResult:
    """Read ``screening``, build every layer, write ``cfg.output``; return the result.

    For rings (``cfg.ring_m``) without ``rasters``, the rasters named in the screening's metadata
    are used when they still exist.
    """
    check_targets(cfg.output, overwrite)  # fail before the work, not after
    inputs = inputs if inputs is not None else load_inputs(cfg)
    plots, meta = read_screening(screening)
    if cfg.ring_m is not None and rasters is None:
        rasters = _rasters_from_metadata(meta, screening)
    if rasters is not None and rasters.last_year is None:
        rasters = RingRasters(rasters.loss_year, rasters.tree_cover, max(bl.loss_years(plots.columns)))
    result = build_baseline(plots, meta, cfg, inputs, source=str(screening), rasters=rasters, workers=workers,
                            progress=progress)
    write_baseline(cfg.output, result, overwrite=overwrite)
    return result


def _rasters_from_metadata(meta: dict[str, str], screening) -> RingRasters:
    loss, cover = meta.get("loss_year_raster"), meta.get("tree_cover_raster")
    if not loss or not cover:
        raise BaselineError(f"{screening}: the rasters it was screened with are not at hand "
                            f"({loss or '?'}, {cover or '?'}); give --loss-year and --tree-cover for --ring-m")
    # a file, folder or glob (or comma-separated URLs) as the screening was given them
    return RingRasters(loss.split(",") if "," in loss else loss, cover.split(",") if "," in cover else cover)
