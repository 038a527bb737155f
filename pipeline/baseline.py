"""Baseline statistics, groups, restoration candidates, supply-chain roll-ups and monitoring.

Pure functions on data frames and geometries: nothing here reads or writes files (that is
:mod:`pipeline.baseline_io`). They take the ``plots`` layer of a screening (one row per input
plot, with ``status``, ``area_ha``, ``forest_2000_ha``, ``forest_ref_ha``, ``loss_YYYY_ha`` ...)
and return tables whose column names follow that layer.

How plots count in a group (the same rule everywhere):

* **counts** (``n_plots``, ``n_<status>``) include every plot, whatever its status;
* **areas of plots** (``area_ha``) sum over plots with a usable geometry (all but ``invalid``,
  whose area is unknown);
* **forest and loss figures** (``forest_2000_ha``, ``loss_YYYY_ha``, the baseline ...) sum over the
  *assessed* plots only — ``deforestation_free``, ``review`` and ``deforestation_detected``, whose
  data covers the plot. A ``not_assessed`` plot's figures describe only part of it, so they are
  left out rather than mixed in (they stay in the screening's ``plots`` layer);
* **shares** (``deforestation_free_plots_pct``, ``deforestation_free_area_pct``) are over *all*
  plots (resp. all plot area), so that plots without a verdict never inflate the free share.

Every plot falls in exactly one group of each grouping (``unassigned`` when it lies in no region,
``(missing)`` when the grouping column is empty), so the additive columns of a grouping add up to
the national figures.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import STRtree

from .errors import BaselineError, DeliveriesError, RegionsError
from .geodesy import geodesic_areas
from .rules import STATUSES
from .screen import ZERO_HA

#: Statuses whose figures describe the whole plot (the data covers it).
ASSESSED = ("deforestation_free", "review", "deforestation_detected")
#: The region of a plot that lies in no region (or has no geometry).
UNASSIGNED = "unassigned"
#: The group of a plot whose grouping column is empty.
MISSING = "(missing)"
#: ``group_by`` and ``group`` of the national row.
NATIONAL = "all"
#: A delivery whose ``plot_id`` is in no row of the screening.
UNKNOWN = "unknown"
#: Supply-chain statuses: the plot statuses plus ``unknown``.
DELIVERY_STATUSES = (*STATUSES, UNKNOWN)
#: When one plot_id names several screened plots with different statuses, a delivery from it
#: takes the first of these (the least favourable): it is never called free unless all are.
_STATUS_PRECEDENCE = ("deforestation_detected", "review", "invalid", "not_assessed", "deforestation_free")

_LOSS_COLUMN = re.compile(r"loss_(\d{4})_ha")
_PLOT_FIGURES = ("forest_2000_ha", "forest_ref_ha", "loss_before_ref_ha", "loss_after_ref_ha")


# ---------------------------------------------------------------------------------------------
# Baseline period and group figures
# ---------------------------------------------------------------------------------------------


def loss_years(columns: Sequence[str]) -> list[int]:
    """The years of the ``loss_YYYY_ha`` columns, sorted."""
    return sorted(int(m.group(1)) for c in columns if (m := _LOSS_COLUMN.fullmatch(str(c))))


@dataclass(frozen=True)
class BaselinePeriod:
    """The baseline years ``start``..``end`` (inclusive)."""

    start: int
    end: int

    @property
    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1))

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


def baseline_period(reference_year: int, years: Sequence[int], start: int | None = None,
                    end: int | None = None, length: int = 10) -> BaselinePeriod:
    """The baseline period: by default the ``length`` years ending with the reference year.

    Raises :class:`BaselineError` when it does not end by the reference year or reaches outside
    the years the loss product covers.
    """
    end = reference_year if end is None else int(end)
    start = end - (length - 1) if start is None else int(start)
    if start > end:
        raise BaselineError(f"baseline period {start}-{end}: the first year is after the last")
    if end > reference_year:
        raise BaselineError(f"baseline period {start}-{end} ends after the reference year {reference_year}: "
                            "the baseline is the loss up to the reference year")
    if not years or start < min(years) or end > max(years):
        span = f"{min(years)}-{max(years)}" if years else "none"
        raise BaselineError(f"baseline period {start}-{end} is not within the loss product's years ({span})")
    return BaselinePeriod(start, end)


def check_plots_columns(plots: pd.DataFrame, source: str = "plots") -> list[int]:
    """Raise :class:`BaselineError` unless ``plots`` has the columns the baseline needs; return the loss years."""
    need = ["plot_id", "source_row", "status", "area_ha", *_PLOT_FIGURES]
    missing = [c for c in need if c not in plots.columns]
    years = loss_years(plots.columns)
    if not years:
        missing.append("loss_YYYY_ha")
    if missing:
        raise BaselineError(f"{source}: not a screening plots layer: missing column(s) {', '.join(missing)}")
    unknown = sorted(set(plots["status"].dropna().astype(str)) - set(STATUSES))
    if unknown or plots["status"].isna().any():
        raise BaselineError(f"{source}: unknown status value(s) {', '.join(unknown) or 'NULL'}; expected one of "
                            f"{', '.join(STATUSES)}")
    return years


def plot_contributions(plots: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """What each plot adds to its group's additive columns (see the module docstring)."""
    status = plots["status"].astype(str).to_numpy()
    assessed = np.isin(status, ASSESSED)
    has_geometry = status != "invalid"
    area = np.where(has_geometry, pd.to_numeric(plots["area_ha"]).fillna(0.0).to_numpy(dtype="float64"), 0.0)
    cols: dict[str, np.ndarray] = {"n_plots": np.ones(len(plots), dtype="int64")}
    for s in STATUSES:
        cols[f"n_{s}"] = (status == s).astype("int64")
    cols["n_assessed"] = assessed.astype("int64")
    cols["area_ha"] = area
    cols["area_assessed_ha"] = np.where(assessed, area, 0.0)
    cols["deforestation_free_area_ha"] = np.where(status == "deforestation_free", area, 0.0)
    for c in (*_PLOT_FIGURES, *(f"loss_{y}_ha" for y in years)):
        v = pd.to_numeric(plots[c]).to_numpy(dtype="float64", na_value=np.nan)
        cols[c] = np.where(assessed, np.nan_to_num(v, nan=0.0), 0.0)
    return pd.DataFrame(cols, index=plots.index)


#: Columns of a group row that add up over the groups of a grouping.
def additive_columns(years: Sequence[int]) -> list[str]:
    return ["n_plots", *(f"n_{s}" for s in STATUSES), "n_assessed", "area_ha", "area_assessed_ha",
            "deforestation_free_area_ha", *_PLOT_FIGURES, "baseline_mean_annual_loss_ha",
            *(f"loss_{y}_ha" for y in years)]


def derive_group_figures(sums: pd.DataFrame, period: BaselinePeriod, reference_year: int,
                         years: Sequence[int]) -> pd.DataFrame:
    """Add shares, the baseline mean and the changes against it to summed contributions."""
    out = sums.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        n = out["n_plots"].to_numpy(dtype="float64")
        area = out["area_ha"].to_numpy(dtype="float64")
        out["deforestation_free_plots_pct"] = np.where(n > 0, 100.0 * out["n_deforestation_free"] / n, np.nan)
        out["deforestation_free_area_pct"] = np.where(
            area > 0, 100.0 * out["deforestation_free_area_ha"].to_numpy(dtype="float64") / area, np.nan)
        mean = sum(out[f"loss_{y}_ha"] for y in period.years) / len(period.years)
        out["baseline_mean_annual_loss_ha"] = mean
        m = mean.to_numpy(dtype="float64")
        for y in years:
            if y > reference_year:
                change = 100.0 * (out[f"loss_{y}_ha"].to_numpy(dtype="float64") - m) / m
                out[f"change_{y}_vs_baseline_pct"] = np.where(m >= ZERO_HA, change, np.nan)
    order = ["n_plots", *(f"n_{s}" for s in STATUSES), "n_assessed", "area_ha", "area_assessed_ha",
             "deforestation_free_area_ha", "deforestation_free_plots_pct", "deforestation_free_area_pct",
             "forest_2000_ha", "forest_ref_ha", "loss_before_ref_ha", "loss_after_ref_ha",
             "baseline_mean_annual_loss_ha",
             *(f"loss_{y}_ha" for y in years), *(f"change_{y}_vs_baseline_pct" for y in years if y > reference_year)]
    return out[order + [c for c in out.columns if c not in order]]


def group_figures(plots: pd.DataFrame, labels, period: BaselinePeriod, reference_year: int,
                  years: Sequence[int], order: Sequence[str] | None = None) -> pd.DataFrame:
    """One row per group (index: the label), in ``order`` (default: sorted, special labels last).

    ``labels`` gives each plot's group (one per row of ``plots``). Groups named in ``order`` but
    holding no plot get a row of zeros.
    """
    labels = pd.Series(np.asarray(labels, dtype=object), index=plots.index, name="group")
    contrib = plot_contributions(plots, years)
    sums = contrib.groupby(labels, sort=False).sum()
    if order is None:
        order = sort_labels(labels.unique())
    sums = sums.reindex(list(order), fill_value=0)
    for c in sums.columns:
        if c.startswith("n_"):
            sums[c] = sums[c].astype("int64")
    return derive_group_figures(sums, period, reference_year, years)


def sort_labels(labels) -> list[str]:
    """Group labels sorted, with ``unassigned`` and ``(missing)`` last."""
    special = [x for x in (MISSING, UNASSIGNED) if x in set(labels)]
    return sorted(x for x in labels if x not in special) + special


def national_figures(plots: pd.DataFrame, period: BaselinePeriod, reference_year: int,
                     years: Sequence[int]) -> pd.DataFrame:
    """The one-row national (all plots) figures, index ``all``."""
    return group_figures(plots, [NATIONAL] * len(plots), period, reference_year, years, order=[NATIONAL])


# ---------------------------------------------------------------------------------------------
# Groups: attribute columns
# ---------------------------------------------------------------------------------------------


def parse_group_by(specs: Sequence[str]) -> list[tuple[str, ...]]:
    """``["cooperative_id", "district,producer_id"]`` -> ``[("cooperative_id",), ("district", "producer_id")]``."""
    out: list[tuple[str, ...]] = []
    for spec in specs:
        cols = tuple(c.strip() for c in str(spec).split(",") if c.strip())
        if not cols:
            raise BaselineError(f"--group-by {spec!r}: no column named")
        if cols not in out:
            out.append(cols)
    return out


def _label(v) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return MISSING
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    s = str(v).strip()
    return s if s else MISSING


def attribute_labels(plots: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Each plot's group for a grouping by one or more columns (values joined with `` | ``)."""
    missing = [c for c in columns if c not in plots.columns]
    if missing:
        raise BaselineError(f"no column {', '.join(repr(c) for c in missing)} in the plots layer to group by; "
                            f"its columns are: {', '.join(map(str, plots.columns))}")
    parts = [np.array([_label(v) for v in plots[c].to_numpy(dtype=object)], dtype=object) for c in columns]
    if len(parts) == 1:
        return parts[0]
    return np.array([" | ".join(t) for t in zip(*parts)], dtype=object)


# ---------------------------------------------------------------------------------------------
# Groups: administrative regions, by largest overlap
# ---------------------------------------------------------------------------------------------


def polygonal(g):
    """The polygonal part of a geometry (a Polygon or MultiPolygon), or None when there is none."""
    if g is None or shapely.is_empty(g):
        return None
    t = g.geom_type
    if t in ("Polygon", "MultiPolygon"):
        return g
    if t == "GeometryCollection":
        polys = [p for p in shapely.get_parts(g) if p.geom_type in ("Polygon", "MultiPolygon")]
        flat = [q for p in polys for q in shapely.get_parts(p)]
        if not flat:
            return None
        return flat[0] if len(flat) == 1 else shapely.MultiPolygon(flat)
    return None


def repaired(g):
    """A valid polygonal version of ``g`` (``make_valid`` when needed), or None."""
    if g is None or shapely.is_empty(g):
        return None
    if not shapely.is_valid(g):
        g = shapely.make_valid(g)
    return polygonal(g)


@dataclass
class Regions:
    """Regions ready for assignment: one valid polygonal geometry per distinct id, sorted by id."""

    ids: np.ndarray
    names: np.ndarray
    geoms: np.ndarray
    repaired_ids: list[str] = field(default_factory=list)   # invalid as given; repaired with make_valid
    dropped_ids: list[str] = field(default_factory=list)    # no usable geometry: they can hold no plot

    def __len__(self) -> int:
        return len(self.ids)


def prepare_regions(ids, names, geoms, source: str = "regions") -> Regions:
    """Repair, dissolve by id (rows sharing an id become one region) and sort regions by id.

    ``ids`` must all be non-empty (:class:`RegionsError` names the row otherwise); names may be
    missing. Invalid geometries are repaired with ``make_valid`` (their polygonal part kept);
    rows without a usable geometry are dropped and listed in ``dropped_ids``.
    """
    ids = [_label(v) for v in ids]
    bad = [i + 1 for i, v in enumerate(ids) if v == MISSING]
    if bad:
        raise RegionsError(f"{source}: row(s) {', '.join(map(str, bad[:10]))} have no region id")
    if UNASSIGNED in ids:
        raise RegionsError(f"{source}: a region is called {UNASSIGNED!r}, which names plots in no region")
    names = list(names) if names is not None else [None] * len(ids)
    fixed_ids, by_id, name_of = [], {}, {}
    for rid, name, g in zip(ids, names, geoms):
        if g is not None and not shapely.is_empty(g) and not shapely.is_valid(g):
            fixed_ids.append(rid)
        by_id.setdefault(rid, []).append(repaired(g))
        if name_of.get(rid) is None and name is not None and _label(name) != MISSING:
            name_of[rid] = str(name)
    out_ids, out_names, out_geoms, dropped = [], [], [], []
    for rid in sorted(by_id):
        parts = [g for g in by_id[rid] if g is not None]
        if not parts:
            dropped.append(rid)
            continue
        g = parts[0] if len(parts) == 1 else repaired(shapely.union_all(parts))
        if g is None:
            dropped.append(rid)
            continue
        out_ids.append(rid)
        out_names.append(name_of.get(rid))
        out_geoms.append(g)
    return Regions(np.array(out_ids, dtype=object), np.array(out_names, dtype=object),
                   np.array(out_geoms, dtype=object), sorted(set(fixed_ids)), dropped)


@dataclass
class Assignment:
    """Per plot: the index of its region (-1: none) and the share of its area in that region."""

    region: np.ndarray
    share_pct: np.ndarray


def assign_regions(plot_geoms, region_geoms) -> Assignment:
    """Assign each plot to the region holding the largest part of its geodesic area.

    Overlaps are found with an STRtree and measured on the WGS84 ellipsoid (geodesic areas of the
    intersections). A plot whole inside one region skips the measuring (share 100 %). Ties go to
    the region listed first. A plot in no region, touching one only along an edge, or without a
    usable geometry gets -1. Invalid plot geometries are repaired with ``make_valid`` first.
    """
    plots = np.array([repaired(g) for g in plot_geoms], dtype=object)
    regions = np.asarray(region_geoms, dtype=object)
    n = len(plots)
    region = np.full(n, -1, dtype="int64")
    share = np.full(n, np.nan)
    ok = np.flatnonzero(np.array([g is not None for g in plots], dtype=bool))
    if len(ok) == 0 or len(regions) == 0:
        return Assignment(region, share)
    shapely.prepare(regions)
    tree = STRtree(regions)
    qi, ri = tree.query(plots[ok], predicate="intersects")
    pi = ok[qi]
    if len(pi) == 0:
        return Assignment(region, share)
    n_cand = np.bincount(pi, minlength=n)
    single = n_cand[pi] == 1
    whole = np.zeros(len(pi), dtype=bool)
    if single.any():
        whole[single] = shapely.covers(regions[ri[single]], plots[pi[single]])
    overlap = np.where(whole, np.inf, 0.0)  # a plot whole inside its only region needs no measuring
    plot_area = np.full(n, np.nan)
    todo = np.flatnonzero(~whole)
    if len(todo):
        inter = shapely.intersection(plots[pi[todo]], regions[ri[todo]])
        overlap[todo] = np.nan_to_num(geodesic_areas([polygonal(g) for g in inter]), nan=0.0)
        measured = np.unique(pi[todo])
        plot_area[measured] = geodesic_areas(plots[measured])
    # Largest overlap per plot; ties to the lowest region index.
    order = np.lexsort((ri, -overlap, pi))
    first = np.ones(len(order), dtype=bool)
    first[1:] = pi[order][1:] != pi[order][:-1]
    best = order[first]
    keep = overlap[best] > 0
    best = best[keep]
    region[pi[best]] = ri[best]
    with np.errstate(invalid="ignore", divide="ignore"):
        share[pi[best]] = np.where(whole[best], 100.0, np.minimum(100.0 * overlap[best] / plot_area[pi[best]], 100.0))
    return Assignment(region, share)


def region_labels(assignment: Assignment, regions: Regions) -> np.ndarray:
    """Each plot's region id, or ``unassigned``."""
    ids = np.append(regions.ids, UNASSIGNED).astype(object)
    return ids[assignment.region]  # -1 picks the appended UNASSIGNED


# ---------------------------------------------------------------------------------------------
# Restoration candidates: rings around plots
# ---------------------------------------------------------------------------------------------


def _aeqd(lon: float, lat: float) -> Transformer:
    return Transformer.from_pipeline(f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84")


def buffer_m(g, distance_m: float, quad_segs: int = 16):
    """``g`` (lon/lat) grown by ``distance_m`` metres, computed in an azimuthal equidistant
    projection centred on the geometry (distances from the centre are true on the ellipsoid; at
    plot scale the distortion is far below a millimetre). Round corners use ``4 * quad_segs``
    segments per full turn."""
    c = shapely.centroid(g)
    t = _aeqd(c.x, c.y)

    def fwd(xy):
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def inv(xy):
        x, y = t.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
        return np.column_stack([x, y])

    projected = shapely.transform(g, fwd)
    return shapely.transform(shapely.buffer(projected, distance_m, quad_segs=quad_segs), inv)


def ring_geometries(geoms, distance_m: float, exclude=None, quad_segs: int = 16) -> np.ndarray:
    """The land within ``distance_m`` metres of each plot that lies in no plot.

    Each ring is the plot grown by ``distance_m`` (see :func:`buffer_m`) minus the union of the
    ``exclude`` geometries it meets (default: all of ``geoms``), so it never includes land of the
    plot itself or of a neighbouring plot. None where the plot has no usable geometry or the ring
    is empty.
    """
    geoms = np.array([repaired(g) for g in geoms], dtype=object)
    exclude = geoms if exclude is None else np.array([repaired(g) for g in exclude], dtype=object)
    exclude = exclude[np.array([g is not None for g in exclude], dtype=bool)] if len(exclude) else exclude
    tree = STRtree(exclude)
    out = np.full(len(geoms), None, dtype=object)
    for i, g in enumerate(geoms):
        if g is None:
            continue
        grown = buffer_m(g, distance_m, quad_segs)
        near = exclude[tree.query(grown, predicate="intersects")]
        ring = shapely.difference(grown, shapely.union_all(near)) if len(near) else grown
        out[i] = polygonal(ring)
    return out


def ring_overlaps(rings) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of rings that intersect (share land or touch)."""
    rings = np.asarray(rings, dtype=object)
    has = np.flatnonzero(np.array([g is not None for g in rings], dtype=bool))
    if len(has) == 0:
        return np.zeros(0, "int64"), np.zeros(0, "int64")
    a, b = STRtree(rings[has]).query(rings[has], predicate="intersects")
    a, b = has[a], has[b]
    keep = a < b
    return a[keep], b[keep]


def ring_clusters(rings, labels, overlaps: tuple[np.ndarray, np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Per group, its plots whose rings are connected through overlaps with each other.

    Returns ``(clusters, cluster_label)``: arrays of plot positions. The union of a cluster's rings
    is disjoint from every other cluster of the same group, so measuring each union once and
    summing per group gives the group's ring figures without counting land twice. A cluster of
    one plot is that plot's own ring (already measured).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    labels = np.asarray(labels, dtype=object)
    n = len(labels)
    has = np.array([g is not None for g in rings], dtype=bool)
    i, j = overlaps
    same = labels[i] == labels[j]
    graph = coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    members = np.flatnonzero(has)
    order = members[np.argsort(comp[members], kind="stable")]
    breaks = np.flatnonzero(np.diff(comp[order])) + 1
    clusters = np.split(order, breaks) if len(order) else []
    return clusters, np.array([labels[c[0]] for c in clusters], dtype=object)


RING_COLUMNS = ["ring_area_ha", "ring_forest_2000_ha", "ring_loss_before_ref_ha", "ring_data_coverage_pct"]


def ring_figures(figures: pd.DataFrame) -> pd.DataFrame:
    """Ring columns from screened ring geometries (``area_ha``, ``data_coverage_pct``,
    ``forest_2000_ha``, ``loss_before_ref_ha`` of :func:`pipeline.workflow.screen_plots`)."""
    return pd.DataFrame({
        "ring_area_ha": figures["area_ha"].to_numpy(dtype="float64"),
        "ring_forest_2000_ha": figures["forest_2000_ha"].to_numpy(dtype="float64", na_value=np.nan),
        "ring_loss_before_ref_ha": figures["loss_before_ref_ha"].to_numpy(dtype="float64", na_value=np.nan),
        "ring_data_coverage_pct": figures["data_coverage_pct"].to_numpy(dtype="float64", na_value=np.nan),
    }, index=figures.index)


def ring_group_figures(part_figures: pd.DataFrame, part_label, order: Sequence[str]) -> pd.DataFrame:
    """Sum screened ring parts per group: areas add up; the data coverage is area-weighted."""
    f = ring_figures(part_figures)
    f.index = pd.Index(np.asarray(part_label, dtype=object), name="group")
    area = f["ring_area_ha"].fillna(0.0)
    valid = area * f["ring_data_coverage_pct"].fillna(0.0) / 100.0
    g = pd.DataFrame({
        "ring_area_ha": area,
        "ring_forest_2000_ha": f["ring_forest_2000_ha"].fillna(0.0),
        "ring_loss_before_ref_ha": f["ring_loss_before_ref_ha"].fillna(0.0),
        "_valid": valid,
    }).groupby(level=0, sort=False).sum().reindex(list(order), fill_value=0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        g["ring_data_coverage_pct"] = np.where(g["ring_area_ha"] > 0, 100.0 * g["_valid"] / g["ring_area_ha"], np.nan)
    return g.drop(columns="_valid")[RING_COLUMNS]


# ---------------------------------------------------------------------------------------------
# Supply chain: deliveries, lots, buyers
# ---------------------------------------------------------------------------------------------


def parse_deliveries(raw: pd.DataFrame, source: str = "deliveries", quantity_column: str = "quantity") -> pd.DataFrame:
    """Check and type a deliveries table read as text (every cell a string).

    Required columns: ``lot_id``, ``plot_id`` and ``quantity_column`` (names matched ignoring
    case and surrounding spaces); optional: ``buyer``, ``date`` (ISO, e.g. 2024-03-31). Other
    columns are kept. Raises :class:`DeliveriesError` naming the file, the line (the header is
    line 1), the row and the column of each bad value (up to 10 listed).

    Returns ``source_row`` (1-based data row), ``lot_id``, ``plot_id``, ``quantity`` (float),
    then ``buyer`` and ``date`` when present, then the other columns.
    """
    by_key = {str(c).strip().lower(): c for c in raw.columns}
    want = {"lot_id": "lot_id", "plot_id": "plot_id", "quantity": quantity_column.strip().lower()}
    missing = [name for name in want.values() if name not in by_key]
    if missing:
        have = ", ".join(str(c) for c in raw.columns) or "none"
        raise DeliveriesError(f"{source}: missing column(s) {', '.join(missing)} (the file has: {have}); "
                              "required: lot_id, plot_id and the quantity")
    problems: list[str] = []
    # Blank lines are skipped, but lines and rows keep their numbers in the file.
    blank = raw.astype(str).apply(lambda c: c.str.strip() == "").all(axis=1).to_numpy() if len(raw.columns) else \
        np.zeros(len(raw), dtype=bool)
    row_number = np.flatnonzero(~blank) + 1
    raw = raw[~blank].reset_index(drop=True)

    def where(i: int, col: str) -> str:
        return f"line {row_number[i] + 1} (row {row_number[i]}), column {col!r}"

    cols = {k: raw[by_key[v]].astype(str).str.strip() for k, v in want.items()}
    for key in ("lot_id", "plot_id"):
        for i in np.flatnonzero((cols[key] == "").to_numpy()):
            problems.append(f"{where(i, by_key[want[key]])}: empty {key}")
    qty = pd.to_numeric(cols["quantity"], errors="coerce").to_numpy(dtype="float64")
    qcol = by_key[want["quantity"]]
    for i in np.flatnonzero(~np.isfinite(qty) | (qty < 0)):
        text = cols["quantity"].iloc[i]
        what = ("empty quantity" if text == "" else
                f"{text!r} is negative" if np.isfinite(qty[i]) else
                f"{text!r} is not a number" + (" (use a point as the decimal separator)" if "," in text else ""))
        problems.append(f"{where(i, qcol)}: {what}")
    out = pd.DataFrame({"source_row": row_number.astype("int64"),
                        "lot_id": cols["lot_id"].to_numpy(dtype=object),
                        "plot_id": cols["plot_id"].to_numpy(dtype=object),
                        "quantity": qty})
    if "buyer" in by_key:
        out["buyer"] = raw[by_key["buyer"]].astype(str).str.strip().to_numpy(dtype=object)
    if "date" in by_key:
        text = raw[by_key["date"]].astype(str).str.strip()
        dates = pd.to_datetime(text.where(text != ""), format="%Y-%m-%d", errors="coerce")
        for i in np.flatnonzero((dates.isna() & (text != "")).to_numpy()):
            problems.append(f"{where(i, by_key['date'])}: {text.iloc[i]!r} is not a date (YYYY-MM-DD)")
        out["date"] = text.to_numpy(dtype=object)
    if problems:
        more = f" (and {len(problems) - 10} more)" if len(problems) > 10 else ""
        raise DeliveriesError(f"{source}: " + "; ".join(problems[:10]) + more)
    used = {by_key[v] for v in want.values()} | {by_key.get("buyer"), by_key.get("date")}
    for c in raw.columns:
        if c not in used and str(c) not in out.columns:
            out[str(c)] = raw[c].to_numpy(dtype=object)
    return out


def match_deliveries(deliveries: pd.DataFrame, plots: pd.DataFrame) -> pd.DataFrame:
    """Add each delivery's ``plot_status`` (``unknown`` for an id in no row of the screening) and
    ``plot_rows``, the number of screened rows carrying its ``plot_id`` (0: unknown; more than 1:
    ambiguous, and the least favourable of their statuses is taken)."""
    ids = plots["plot_id"].astype(str)
    status = plots["status"].astype(str)
    rank = {s: k for k, s in enumerate(_STATUS_PRECEDENCE)}
    per_id = pd.DataFrame({"plot_id": ids, "rank": status.map(rank)}).groupby("plot_id")["rank"].agg(["min", "size"])
    out = deliveries.copy()
    pid = out["plot_id"].astype(str)
    best = pid.map(per_id["min"])
    out["plot_status"] = [UNKNOWN if pd.isna(r) else _STATUS_PRECEDENCE[int(r)] for r in best]
    out["plot_rows"] = pid.map(per_id["size"]).fillna(0).astype("int64").to_numpy()
    return out


def supply_figures(matched: pd.DataFrame, key: str) -> pd.DataFrame:
    """Per value of ``key`` (``lot_id`` or ``buyer``): quantities by plot status and flags.

    ``deforestation_free_quantity_pct`` = 100 × quantity from deforestation-free plots / quantity;
    ``deforestation_free`` is true when every delivery comes from a deforestation-free plot.
    """
    m = matched.copy()
    if key == "buyer":
        m["buyer"] = [_label(v) for v in m["buyer"]]
    keys = pd.Index(pd.unique(m[key]), name=key)
    g = m.groupby(key, sort=False)
    out = pd.DataFrame(index=keys)
    if key == "buyer":
        out["n_lots"] = g["lot_id"].nunique()
    elif "buyer" in m.columns:
        out["buyer"] = g["buyer"].agg(lambda s: ", ".join(sorted({_label(v) for v in s})))
    if "date" in m.columns:
        d = m["date"].where(m["date"].astype(str) != "")
        out["first_date"] = d.groupby(m[key], sort=False).min()
        out["last_date"] = d.groupby(m[key], sort=False).max()
    out["n_deliveries"] = g.size()
    out["n_plots"] = g["plot_id"].nunique()
    out["quantity"] = g["quantity"].sum()
    for s in DELIVERY_STATUSES:
        out[f"quantity_{s}"] = m["quantity"].where(m["plot_status"] == s, 0.0).groupby(m[key], sort=False).sum()
    with np.errstate(invalid="ignore", divide="ignore"):
        q = out["quantity"].to_numpy(dtype="float64")
        out["deforestation_free_quantity_pct"] = np.where(
            q > 0, 100.0 * out["quantity_deforestation_free"].to_numpy(dtype="float64") / q, np.nan)
    for s in DELIVERY_STATUSES:
        if s != "deforestation_free":
            out[f"contains_{s}"] = (m["plot_status"] == s).groupby(m[key], sort=False).any()
    out["deforestation_free"] = (m["plot_status"] == "deforestation_free").groupby(m[key], sort=False).all()

    def id_list(mask):
        sub = m[mask]
        return sub.groupby(key, sort=False)["plot_id"].agg(lambda s: ", ".join(pd.unique(s.astype(str))))

    out["unknown_plot_ids"] = id_list(m["plot_status"] == UNKNOWN).reindex(keys).fillna("")
    out["ambiguous_plot_ids"] = id_list(m["plot_rows"] > 1).reindex(keys).fillna("")
    return out.reset_index()


# ---------------------------------------------------------------------------------------------
# Monitoring: status changes since a previous screening
# ---------------------------------------------------------------------------------------------

CHANGE_COLUMNS = ["plot_id", "source_row", "previous_source_row", "change", "previous_status", "status",
                  "previous_loss_after_ref_ha", "loss_after_ref_ha", "first_loss_year_after_ref", "status_reason"]


def status_changes(current: gpd.GeoDataFrame, previous: pd.DataFrame) -> gpd.GeoDataFrame:
    """Plots whose status differs from a previous screening, plus plots new or gone.

    Plots are matched by ``plot_id``; when an id appears on several rows, its k-th row now is
    matched with its k-th row then. ``change`` is ``status_changed``, ``new`` (not in the previous
    screening) or ``gone`` (only there). Rows: current input order, then the gone plots in their
    previous order; the geometry is the current one (the previous one for gone plots).
    """
    def keyed(df):
        k = df[["plot_id", "source_row", "status"]].copy()
        k["plot_id"] = k["plot_id"].astype(str)
        k["_k"] = k.groupby("plot_id").cumcount()
        for c in ("loss_after_ref_ha", "first_loss_year_after_ref", "status_reason"):
            k[c] = df[c].to_numpy() if c in df.columns else np.nan
        k["_geom"] = df.geometry.to_numpy() if isinstance(df, gpd.GeoDataFrame) else None
        k["_pos"] = np.arange(len(df))
        return k

    now, then = keyed(current), keyed(previous)
    m = now.merge(then, on=["plot_id", "_k"], how="outer", suffixes=("", "_prev"), indicator=True)
    change = np.select([m["_merge"] == "left_only", m["_merge"] == "right_only",
                        m["status"].astype(str) != m["status_prev"].astype(str)],
                       ["new", "gone", "status_changed"], default="")
    m["change"] = change
    m = m[m["change"] != ""].copy()
    m["_order"] = np.where(m["_merge"] == "right_only", len(now) + m["_pos_prev"].fillna(0), m["_pos"].fillna(0))
    m = m.sort_values("_order", kind="stable")
    geom = np.where(m["_merge"] == "right_only", m["_geom_prev"], m["_geom"])

    def text(col):
        return [None if pd.isna(v) else str(v) for v in m[col]]

    out = pd.DataFrame({
        "plot_id": m["plot_id"].to_numpy(dtype=object),
        "source_row": pd.array(m["source_row"], dtype="Int64"),
        "previous_source_row": pd.array(m["source_row_prev"], dtype="Int64"),
        "change": m["change"].to_numpy(dtype=object),
        "previous_status": text("status_prev"),
        "status": text("status"),
        "previous_loss_after_ref_ha": pd.to_numeric(m["loss_after_ref_ha_prev"]).to_numpy(dtype="float64"),
        "loss_after_ref_ha": pd.to_numeric(m["loss_after_ref_ha"]).to_numpy(dtype="float64"),
        "first_loss_year_after_ref": pd.array(pd.to_numeric(m["first_loss_year_after_ref"]), dtype="Float64").astype("Int64"),
        "status_reason": text("status_reason"),
    }, columns=CHANGE_COLUMNS)
    return gpd.GeoDataFrame(out, geometry=list(geom), crs="EPSG:4326")
