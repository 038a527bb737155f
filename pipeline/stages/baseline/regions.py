"""Administrative regions: repaired, dissolved by id, and each plot assigned to the region
holding the largest part of its geodesic area."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np
import shapely
from shapely import STRtree

from ...engine.arrays import BaseGeometry, Geometries
from ...engine.geodesy import geodesic_areas
from ...errors import RegionsError
from ...i18n import tr
from ...vocab import MISSING_VALUE, UNASSIGNED
from .groups import label


def polygonal(g: BaseGeometry | None) -> BaseGeometry | None:
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


def repaired(g: BaseGeometry | None) -> BaseGeometry | None:
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
    repaired_ids: list[str] = field(default_factory=list)  # invalid as given; repaired with make_valid
    dropped_ids: list[str] = field(default_factory=list)  # no usable geometry: they can hold no plot

    def __len__(self) -> int:
        return len(self.ids)


def prepare_regions(
    ids: Iterable[object],
    names: Iterable[object] | None,
    geoms: Iterable[BaseGeometry | None],
    source: str = "regions",
) -> Regions:
    """Repair, dissolve by id (rows sharing an id become one region) and sort regions by id.

    ``ids`` must all be non-empty (:class:`RegionsError` names the row otherwise); names may be
    missing. Invalid geometries are repaired with ``make_valid`` (their polygonal part kept);
    rows without a usable geometry are dropped and listed in ``dropped_ids``.
    """
    labels = [label(v) for v in ids]
    bad = [i + 1 for i, v in enumerate(labels) if v == MISSING_VALUE]
    if bad:
        raise RegionsError(
            tr("{source}: row(s) {rows} have no region id", source=source, rows=", ".join(map(str, bad[:10])))
        )
    if UNASSIGNED in labels:
        raise RegionsError(
            tr("{source}: a region is called {name!r}, which names plots in no region", source=source, name=UNASSIGNED)
        )
    given = list(names) if names is not None else [None] * len(labels)
    fixed_ids: list[str] = []
    by_id: dict[str, list[BaseGeometry | None]] = {}
    name_of: dict[str, str | None] = {}
    for rid, name, g in zip(labels, given, geoms):
        if g is not None and not shapely.is_empty(g) and not shapely.is_valid(g):
            fixed_ids.append(rid)
        by_id.setdefault(rid, []).append(repaired(g))
        if name_of.get(rid) is None and name is not None and label(name) != MISSING_VALUE:
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
    return Regions(
        np.array(out_ids, dtype=object),
        np.array(out_names, dtype=object),
        np.array(out_geoms, dtype=object),
        sorted(set(fixed_ids)),
        dropped,
    )


@dataclass
class Assignment:
    """Per plot: the index of its region (-1: none) and the share of its area in that region."""

    region: np.ndarray
    share_pct: np.ndarray


def assign_regions(plot_geoms: Geometries, region_geoms: Geometries) -> Assignment:
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
    labels: np.ndarray = ids[assignment.region]  # -1 picks the appended UNASSIGNED
    return labels
