"""Loss patches: where in a plot its forest was lost after the reference year, and where its alerts
after the cut-off day fell.

A patch is a connected group of cells (8-connectivity: cells touching at a corner belong together)
lost in the same year inside one plot, vectorised (the union of its cells) and clipped to the plot.
Its ``area_ha`` is the sum of its cells' coverage x ellipsoidal pixel area — the very weights of
the plot's ``loss_YYYY_ha`` figures (the cells come from the same windows, in the same pass:
:attr:`pipeline.engine.stats.PlotStats.cells`) —, so the patches of a plot add up to its
``loss_after_ref_ha``. An alert product's patches (``kind`` ``alert``) are drawn the same way from
its alert cells after the cut-off day (:class:`pipeline.engine.alerts.AlertCells`, kept in the pass
that measures its figures), one calendar year and one confidence level at a time, dated by their
first and last alert: those of the levels that count add up to the plot's ``alert_ha``.

``max_distance_from_edge_m`` is the distance from the plot's boundary of the patch's deepest point
(found by halving an interval of inward buffers of the plot to :data:`DISTANCE_TOLERANCE_M`); a plot
whose patches that count all lie within ``edge_buffer_m`` of its boundary (an exact inward-buffer test) has
``edge_only_loss``: a boundary drawn into the neighbour's forest gives that picture. Distances are
measured on a plane tangent to the WGS84 ellipsoid at the plot's centre (the ellipsoid's radii of
curvature there): for plots of a few kilometres, within 0.01 % of geodesic distances.

Pure functions on arrays and frames; nothing here reads files.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from ..engine.alerts import AlertCells, AlertSource
from ..engine.coverage import Grid
from ..engine.geodesy import M2_PER_HA, WGS84_A, WGS84_E2
from ..engine.graph import components
from ..engine.stats import LossCells
from .qc.geometry import polygonal_parts

#: The precision of ``max_distance_from_edge_m`` (metres).
DISTANCE_TOLERANCE_M = 0.05

#: The columns of the ``loss_patches`` layer, in order (with ``geometry`` last).
PATCH_COLUMNS = (
    "plot_id",
    "source_row",
    "product",
    "kind",
    "year",
    "alert_date",
    "last_alert_date",
    "confidence",
    "counted",
    "area_ha",
    "share_of_plot_pct",
    "max_distance_from_edge_m",
    "cells",
)

#: The reason's part added for a plot whose loss lies along its boundary only (a code of
#: :data:`pipeline.reasons.REASONS`).
EDGE_ONLY_REASON = "edge_only_loss"

#: The ``kind`` of a patch of forest loss, and of a patch of alerts.
LOSS_KIND, ALERT_KIND = "loss", "alert"

#: ``datetime64[D]`` of day 0 (alert days are numbered from 1970-01-01).
_DAY0 = np.datetime64("1970-01-01", "D")


def label_cells(plot: np.ndarray, group: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """A patch number per cell: cells of one plot and one group (a loss year) that touch, by a
    side or a corner, share a number. Numbers run from 0 in the order of (plot, group, first cell)."""
    n = len(plot)
    if not n:
        return np.zeros(0, dtype="int64")
    order = np.lexsort((col, row, group, plot))
    plot, group, row, col = plot[order], group[order], row[order], col[order]
    new = np.r_[True, (plot[1:] != plot[:-1]) | (group[1:] != group[:-1])]
    gid = np.cumsum(new) - 1
    starts = np.flatnonzero(new)
    ends = np.r_[starts[1:], n]
    rmin = np.minimum.reduceat(row, starts)
    cmin = np.minimum.reduceat(col, starts)
    cmax = np.maximum.reduceat(col, starts)
    rmax = row[ends - 1]  # sorted by row within a group
    height = (rmax - rmin + 2).astype("int64")
    width = (cmax - cmin + 3).astype("int64")  # a free column on each side
    offset = np.r_[0, np.cumsum(height * width)[:-1]]
    lr, lc = row - rmin[gid], col - cmin[gid] + 1
    key = offset[gid] + lr * width[gid] + lc  # increasing: sorted by group, row, column
    src, dst = [], []
    for dr, dc in ((0, 1), (1, -1), (1, 0), (1, 1)):
        target = offset[gid] + (lr + dr) * width[gid] + lc + dc
        at = np.minimum(np.searchsorted(key, target), n - 1)
        hit = key[at] == target
        src.append(np.flatnonzero(hit))
        dst.append(at[hit])
    roots = components(n, np.concatenate(src), np.concatenate(dst))
    # a component's root is its first cell (in plot, group, row, column order): numbered in that order
    _, number = np.unique(roots, return_inverse=True)
    out = np.empty(n, dtype="int64")
    out[order] = number.ravel()
    return out


def metres_per_degree(lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Metres per degree of longitude and of latitude at ``lat`` on the WGS84 ellipsoid (the
    radii of curvature N cos φ and M, times π/180)."""
    phi = np.radians(lat)
    w = 1 - WGS84_E2 * np.sin(phi) ** 2
    n_radius = WGS84_A / np.sqrt(w)
    m_radius = WGS84_A * (1 - WGS84_E2) / w**1.5
    return np.radians(1.0) * n_radius * np.cos(phi), np.radians(1.0) * m_radius


def local_metres(geoms: np.ndarray, lon0: np.ndarray, lat0: np.ndarray) -> np.ndarray:
    """Geometries (lon/lat) in metres on the plane tangent at (``lon0``, ``lat0``), one origin each."""
    geoms = np.asarray(geoms, dtype=object)
    if not len(geoms):
        return geoms
    _, index = shapely.get_coordinates(geoms, return_index=True)
    kx, ky = metres_per_degree(np.asarray(lat0, dtype="float64"))

    def project(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([(xy[:, 0] - lon0[index]) * kx[index], (xy[:, 1] - lat0[index]) * ky[index]])

    projected: np.ndarray = shapely.transform(geoms, project)
    return projected


def deepest_distance(patches_m: np.ndarray, plots_m: np.ndarray) -> np.ndarray:
    """For each patch (inside its plot, both in metres), the largest distance from the plot's
    boundary of a point of the patch, to :data:`DISTANCE_TOLERANCE_M`: the largest inward buffer
    of the plot the patch still reaches, found by halving an interval (all patches at once).

    A buffer the patch misses tells more than that its distance is smaller: distance to the
    boundary changes no faster than position, so a point of the patch at ``gap`` from a buffer at
    ``t`` lies at least ``t - gap`` deep. The interval's lower end moves up to that, and the next
    buffer tried lies just deeper: for most patches, that settles it. (GEOS's buffers simplify the
    plot's outline by up to 1 % of their distance: so may the depth, either way it is found.)"""
    n = len(patches_m)
    lo = np.zeros(n)
    hi = np.sqrt(shapely.area(plots_m) / np.pi) + DISTANCE_TOLERANCE_M  # no disc inside is larger
    live = ~shapely.is_empty(patches_m)
    snapped = np.zeros(n, dtype=bool)  # the lower end just moved up to a bound: try right above it
    while live.any() and (hi[live] - lo[live]).max() > DISTANCE_TOLERANCE_M:
        todo = np.flatnonzero(live & (hi - lo > DISTANCE_TOLERANCE_M))
        t = np.where(snapped[todo], lo[todo] + DISTANCE_TOLERANCE_M, (lo[todo] + hi[todo]) / 2)
        inner = shapely.buffer(plots_m[todo], -t, quad_segs=16)
        hit = shapely.intersects(patches_m[todo], inner)
        lo[todo[hit]] = t[hit]
        snapped[todo] = False
        miss, at = todo[~hit], t[~hit]
        hi[miss] = at
        gap = shapely.distance(patches_m[miss], inner[~hit])
        bound = np.where(np.isfinite(gap), at - gap, -np.inf)  # an empty buffer tells nothing more
        up = bound > lo[miss]
        lo[miss[up]] = bound[up]
        snapped[miss[up]] = True
    return np.where(live, lo, 0.0)


@dataclass(frozen=True)
class Drawn:
    """Patches drawn from cells: each cell's patch (``label``), the cells of each patch
    (``order[bounds[k]:bounds[k + 1]]``), its first cell, plot, geometry clipped to the plot,
    exact area and depth."""

    label: np.ndarray
    order: np.ndarray
    bounds: np.ndarray
    first: np.ndarray
    plot: np.ndarray
    geometry: np.ndarray
    area_ha: np.ndarray
    deepest_m: np.ndarray


def draw_patches(
    plot: np.ndarray, group: np.ndarray, row: np.ndarray, col: np.ndarray, m2: np.ndarray, geoms: np.ndarray, grid: Grid
) -> Drawn:
    """The patches of cells (one per plot, ``group`` and 8-connected set of cells): the union of
    their cells clipped to the plot (``geoms``, by plot position), Σ ``m2``, and the depth."""
    label = label_cells(plot, group, row, col)
    n = int(label.max()) + 1
    order = np.argsort(label, kind="stable")
    bounds = np.searchsorted(label[order], np.arange(n + 1))
    first = order[bounds[:-1]]
    shapes = _cell_unions(row[order], col[order], bounds, grid)
    geoms = np.asarray(geoms, dtype=object)
    owner = plot[first]
    clipped, _ = polygonal_parts(shapely.intersection(shapes, geoms[owner]))
    clipped[pd.isna(clipped)] = shapely.Polygon()
    centre = shapely.bounds(geoms[owner])
    lon0, lat0 = (centre[:, 0] + centre[:, 2]) / 2, (centre[:, 1] + centre[:, 3]) / 2
    deepest = deepest_distance(local_metres(clipped, lon0, lat0), local_metres(geoms[owner], lon0, lat0))
    area_ha = np.bincount(label, weights=m2, minlength=n) / M2_PER_HA
    return Drawn(label, order, bounds, first, owner, clipped, area_ha, deepest)


def _cell_unions(row: np.ndarray, col: np.ndarray, bounds: np.ndarray, grid: Grid) -> np.ndarray:
    """The union of each group of cells (group ``k``: cells ``bounds[k]`` to ``bounds[k + 1]``), as
    GEOS's coverage union of the cells' squares (they share their edges exactly: each edge is taken
    from its own grid line). The squares are handed over as one multipolygon per group: no Python
    object is made per cell."""
    left, right = grid.x0 + col * grid.dx, grid.x0 + (col + 1) * grid.dx
    top, bottom = grid.y0 - row * grid.dy, grid.y0 - (row + 1) * grid.dy
    xs = np.stack([right, right, left, left, right], axis=1).ravel()  # as shapely.box draws them
    ys = np.stack([bottom, top, top, bottom, bottom], axis=1).ravel()
    cells = np.arange(len(row) + 1)
    squares = shapely.from_ragged_array(
        shapely.GeometryType.MULTIPOLYGON, np.column_stack([xs, ys]), (cells * 5, cells, bounds)
    )
    unions: np.ndarray = shapely.lib.coverage_union(squares)  # what coverage_union_all does, per group
    return unions


def patch_frame(
    drawn: Drawn,
    ids: Sequence[object] | np.ndarray,
    source_rows: np.ndarray,
    plot_area_ha: np.ndarray,
    columns: dict[str, Any],
) -> gpd.GeoDataFrame:
    """The ``loss_patches`` rows of drawn patches (``columns``: the product, kind, year and alert
    columns, one value or one per patch), by input row then year."""
    whole = np.asarray(plot_area_ha, dtype="float64")[drawn.plot]
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(whole > 0, 100.0 * drawn.area_ha / whole, np.nan)
    values = {
        "plot_id": pd.Series(np.asarray(ids, dtype=object)[drawn.plot], dtype=object),
        "source_row": np.asarray(source_rows, dtype="int64")[drawn.plot],
        **columns,
        "area_ha": drawn.area_ha,
        "share_of_plot_pct": share,
        "max_distance_from_edge_m": np.round(drawn.deepest_m, 2),
        "cells": np.diff(drawn.bounds).astype("int64"),
    }
    frame = _typed(pd.DataFrame({c: values.get(c) for c in PATCH_COLUMNS}))
    out = gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries(drawn.geometry, crs="EPSG:4326"), crs="EPSG:4326")
    return out.sort_values(["source_row", "year"], kind="stable", ignore_index=True)


def loss_patches(
    cells: LossCells,
    ids: Sequence[object] | np.ndarray,
    source_rows: np.ndarray,
    geoms: np.ndarray,
    plot_area_ha: np.ndarray,
    grid: Grid,
    years: Sequence[int],
    product: str,
) -> gpd.GeoDataFrame:
    """The loss patches of a product (see the module docstring) from its lost cells: one row per
    patch, by plot (in the order of ``ids``), year, then first cell. ``geoms`` are the geometries
    screened (the patches are clipped to them); ``plot_area_ha`` their areas."""
    if not len(cells):
        return empty_patches()
    drawn = draw_patches(cells.plot, cells.year_index.astype("int64"), cells.row, cells.col, cells.m2, geoms, grid)
    year = np.asarray(years, dtype="int64")[cells.year_index[drawn.first]]
    columns = {"product": product, "kind": LOSS_KIND, "year": year, "counted": True}
    return patch_frame(drawn, ids, source_rows, plot_area_ha, columns)


def alert_patches(
    cells: AlertCells,
    ids: Sequence[object] | np.ndarray,
    source_rows: np.ndarray,
    geoms: np.ndarray,
    plot_area_ha: np.ndarray,
    grid: Grid,
    product: AlertSource,
) -> gpd.GeoDataFrame:
    """The alert patches of an alert ``product`` (its ``name``, ``levels`` and ``counted``) from its
    alert cells after the cut-off day: connected cells of one plot, one calendar year and one
    confidence level; dated by their first and last alert. The patches of a plot whose level
    counts add up to its ``alert_ha``."""
    if not len(cells):
        return empty_patches()
    year = (_DAY0 + cells.day.astype("timedelta64[D]")).astype("datetime64[Y]").astype("int64") + 1970
    group = year * 64 + cells.cls
    drawn = draw_patches(cells.plot, group, cells.row, cells.col, cells.m2, geoms, grid)
    days = cells.day[drawn.order]
    starts = drawn.bounds[:-1]
    cls = cells.cls[drawn.first]
    levels = np.asarray(product.levels or (None,), dtype=object)
    columns = {
        "product": product.name,
        "kind": ALERT_KIND,
        "year": year[drawn.first],
        "alert_date": _iso(np.minimum.reduceat(days, starts)),
        "last_alert_date": _iso(np.maximum.reduceat(days, starts)),
        "confidence": levels[cls] if product.levels else None,
        "counted": np.asarray(product.counted, dtype=bool)[cls],
    }
    return patch_frame(drawn, ids, source_rows, plot_area_ha, columns)


def _iso(days: np.ndarray) -> np.ndarray:
    """Day numbers as ISO dates (text)."""
    return (_DAY0 + days.astype("timedelta64[D]")).astype(str).astype(object)


def _typed(frame: pd.DataFrame) -> pd.DataFrame:
    """The layer's column types, whatever the rows (so that every chunk writes the same schema)."""
    for c in ("plot_id", "product", "kind", "alert_date", "last_alert_date", "confidence"):
        frame[c] = pd.Series(frame[c].to_numpy(dtype=object), index=frame.index, dtype=object).where(
            frame[c].notna(), None
        )
    frame["source_row"] = frame["source_row"].astype("int64")
    frame["year"] = frame["year"].astype("int64")
    frame["counted"] = frame["counted"].astype(bool)
    for c in ("area_ha", "share_of_plot_pct", "max_distance_from_edge_m"):
        frame[c] = frame[c].astype("float64")
    frame["cells"] = frame["cells"].astype("int64")
    return frame


def empty_patches() -> gpd.GeoDataFrame:
    """A ``loss_patches`` frame without rows, with the layer's column types."""
    frame = _typed(pd.DataFrame({c: pd.Series([], dtype=object) for c in PATCH_COLUMNS}))
    return gpd.GeoDataFrame(frame, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326")


def as_patch_layer(frame: pd.DataFrame) -> gpd.GeoDataFrame:
    """Patches read back from an earlier output (perhaps written before some columns existed) with
    the layer's columns and types: a missing ``kind`` is ``loss``, ``counted`` true."""
    out = pd.DataFrame(frame.drop(columns="geometry")).copy()
    defaults: dict[str, str | bool | None] = {"kind": LOSS_KIND, "counted": True}
    for c in PATCH_COLUMNS:
        if c not in out:
            out[c] = defaults.get(c)
    out = _typed(out[list(PATCH_COLUMNS)].reset_index(drop=True))
    geometry = gpd.GeoSeries(np.asarray(frame.geometry.array, dtype=object), crs="EPSG:4326")
    return gpd.GeoDataFrame(out, geometry=geometry, crs="EPSG:4326")


def edge_only(patches: pd.DataFrame, geoms_by_row: pd.Series, edge_buffer_m: float) -> pd.Series:
    """Per plot (``source_row``) with patches that count: True when every such patch lies within ``edge_buffer_m``
    of the plot's boundary — no point of any patch inside the plot's inward buffer (exact, in
    metres). ``geoms_by_row``: the geometries screened, indexed by ``source_row``."""
    if "counted" in patches:  # alerts under the product's minimum confidence do not settle it
        patches = patches[patches["counted"].fillna(True).astype(bool).to_numpy()]
    if not len(patches):
        return pd.Series([], dtype=bool)
    rows = patches["source_row"].to_numpy()
    edge = float(edge_buffer_m)
    # A patch's depth, found with the same buffers, settles most patches: only those near the edge
    # distance (its tolerance, and GEOS's simplification of the outline) are tested here.
    depth = np.full(len(rows), np.nan)
    if "max_distance_from_edge_m" in patches:
        depth = pd.to_numeric(patches["max_distance_from_edge_m"], errors="coerce").to_numpy(dtype="float64")
    margin = 2 * DISTANCE_TOLERANCE_M + edge / 50
    deep = depth > edge + margin
    unsure = np.flatnonzero(~deep & ~(depth < edge - margin))
    if len(unsure):
        plot_geoms = geoms_by_row.loc[rows[unsure]].to_numpy()
        centre = shapely.bounds(plot_geoms)
        lon0, lat0 = (centre[:, 0] + centre[:, 2]) / 2, (centre[:, 1] + centre[:, 3]) / 2
        inner = shapely.buffer(local_metres(plot_geoms, lon0, lat0), -edge, quad_segs=16)
        patch_geoms = np.asarray(patches.geometry.array, dtype=object)[unsure]
        deep[unsure] = shapely.intersects(local_metres(patch_geoms, lon0, lat0), inner)
    return pd.Series(~deep, index=rows).groupby(level=0).all()
