"""Restoration candidates: rings of land around the plots, and the forest lost in them.

A plot's ring is the land within ``ring_m`` metres of it that lies in no plot. Rings are measured
with the screening's own engine and the screening's own forest definition and products, so a
ring's forest is the forest its plot was screened with.
"""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Transformer
from shapely import STRtree

from ...config import ExecutionConfig, ScreeningConfig
from ...engine.arrays import BaseGeometry, Geometries
from ...engine.zonal import LossSource
from ..screening import screen_plots
from .regions import polygonal, repaired


def _aeqd(lon: float, lat: float) -> Transformer:
    return Transformer.from_pipeline(f"+proj=aeqd +lat_0={lat!r} +lon_0={lon!r} +ellps=WGS84")


def buffer_m(g: BaseGeometry, distance_m: float, quad_segs: int = 16) -> BaseGeometry:
    """``g`` (lon/lat) grown by ``distance_m`` metres, computed in an azimuthal equidistant
    projection centred on the geometry (distances from the centre are true on the ellipsoid; at
    plot scale the distortion is far below a millimetre). Round corners use ``4 * quad_segs``
    segments per full turn."""
    c = shapely.centroid(g)
    t = _aeqd(c.x, c.y)

    def fwd(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1])
        return np.column_stack([x, y])

    def inv(xy: np.ndarray) -> np.ndarray:
        x, y = t.transform(xy[:, 0], xy[:, 1], direction="INVERSE")
        return np.column_stack([x, y])

    projected = shapely.transform(g, fwd)
    return shapely.transform(shapely.buffer(projected, distance_m, quad_segs=quad_segs), inv)


def ring_geometries(
    geoms: Geometries, distance_m: float, exclude: Geometries | None = None, quad_segs: int = 16
) -> np.ndarray:
    """The land within ``distance_m`` metres of each plot that lies in no plot.

    Each ring is the plot grown by ``distance_m`` (see :func:`buffer_m`) minus the union of the
    ``exclude`` geometries it meets (default: all of ``geoms``), so it never includes land of the
    plot itself or of a neighbouring plot. None where the plot has no usable geometry or the ring
    is empty.
    """
    plots = np.array([repaired(g) for g in geoms], dtype=object)
    others = plots if exclude is None else np.array([repaired(g) for g in exclude], dtype=object)
    others = others[np.array([g is not None for g in others], dtype=bool)] if len(others) else others
    tree = STRtree(others)
    out = np.full(len(plots), None, dtype=object)
    for i, g in enumerate(plots):
        if g is None:
            continue
        grown = buffer_m(g, distance_m, quad_segs)
        near = others[tree.query(grown, predicate="intersects")]
        ring = shapely.difference(grown, shapely.union_all(near)) if len(near) else grown
        out[i] = polygonal(ring)
    return out


def ring_overlaps(rings: Geometries) -> tuple[np.ndarray, np.ndarray]:
    """Pairs ``(i, j)``, ``i < j``, of rings that intersect (share land or touch)."""
    ring = np.asarray(rings, dtype=object)
    has = np.flatnonzero(np.array([g is not None for g in ring], dtype=bool))
    if len(has) == 0:
        return np.zeros(0, "int64"), np.zeros(0, "int64")
    a, b = STRtree(ring[has]).query(ring[has], predicate="intersects")
    a, b = has[a], has[b]
    keep = a < b
    return a[keep], b[keep]


def ring_clusters(
    rings: Geometries, labels: Sequence[str] | np.ndarray, overlaps: tuple[np.ndarray, np.ndarray]
) -> tuple[list[np.ndarray], np.ndarray]:
    """Per group, its plots whose rings are connected through overlaps with each other.

    Returns ``(clusters, cluster_label)``: arrays of plot positions. The union of a cluster's rings
    is disjoint from every other cluster of the same group, so measuring each union once and
    summing per group gives the group's ring figures without counting land twice. A cluster of
    one plot is that plot's own ring (already measured).
    """
    from scipy.sparse import coo_matrix
    from scipy.sparse.csgraph import connected_components

    label = np.asarray(labels, dtype=object)
    n = len(label)
    has = np.array([g is not None for g in rings], dtype=bool)
    i, j = overlaps
    same = label[i] == label[j]
    graph = coo_matrix((np.ones(int(same.sum())), (i[same], j[same])), shape=(n, n))
    _, comp = connected_components(graph, directed=False)
    members = np.flatnonzero(has)
    order = members[np.argsort(comp[members], kind="stable")]
    breaks = np.flatnonzero(np.diff(comp[order])) + 1
    clusters = np.split(order, breaks) if len(order) else []
    return clusters, np.array([label[c[0]] for c in clusters], dtype=object)


RING_COLUMNS = ["ring_area_ha", "ring_forest_2000_ha", "ring_loss_before_ref_ha", "ring_data_coverage_pct"]


def ring_figures(figures: pd.DataFrame) -> pd.DataFrame:
    """Ring columns from screened ring geometries (``area_ha``, ``data_coverage_pct``,
    ``forest_2000_ha``, ``loss_before_ref_ha`` of :func:`pipeline.stages.screening.screen_plots`)."""
    return pd.DataFrame(
        {
            "ring_area_ha": figures["area_ha"].to_numpy(dtype="float64"),
            "ring_forest_2000_ha": figures["forest_2000_ha"].to_numpy(dtype="float64", na_value=np.nan),
            "ring_loss_before_ref_ha": figures["loss_before_ref_ha"].to_numpy(dtype="float64", na_value=np.nan),
            "ring_data_coverage_pct": figures["data_coverage_pct"].to_numpy(dtype="float64", na_value=np.nan),
        },
        index=figures.index,
    )


def ring_group_figures(part_figures: pd.DataFrame, part_label: np.ndarray, order: Sequence[str]) -> pd.DataFrame:
    """Sum screened ring parts per group: areas add up; the data coverage is area-weighted."""
    f = ring_figures(part_figures)
    f.index = pd.Index(np.asarray(part_label, dtype=object), name="group")
    area = f["ring_area_ha"].fillna(0.0)
    valid = area * f["ring_data_coverage_pct"].fillna(0.0) / 100.0
    g = (
        pd.DataFrame(
            {
                "ring_area_ha": area,
                "ring_forest_2000_ha": f["ring_forest_2000_ha"].fillna(0.0),
                "ring_loss_before_ref_ha": f["ring_loss_before_ref_ha"].fillna(0.0),
                "_valid": valid,
            }
        )
        .groupby(level=0, sort=False)
        .sum()
        .reindex(list(order), fill_value=0.0)
    )
    with np.errstate(invalid="ignore", divide="ignore"):
        g["ring_data_coverage_pct"] = np.where(g["ring_area_ha"] > 0, 100.0 * g["_valid"] / g["ring_area_ha"], np.nan)
    return g.drop(columns="_valid")[RING_COLUMNS]


def union_geometries(rings: np.ndarray, clusters: Sequence[tuple[int, ...]]) -> np.ndarray:
    """The union of each cluster's rings (its polygonal part)."""
    return np.array([polygonal(shapely.union_all(rings[list(c)])) for c in clusters], dtype=object)


def measure(
    geoms: np.ndarray,
    product: LossSource,
    screening: ScreeningConfig,
    execution: ExecutionConfig,
    progress: bool = False,
) -> pd.DataFrame:
    """Screen ring geometries on ``product`` with the screening's own engine and forest definition
    (exact coverage × ellipsoidal area): the ``plots`` layer of that screening, one row per ring."""
    if len(geoms) == 0:
        return pd.DataFrame(columns=["area_ha", "data_coverage_pct", "forest_2000_ha", "loss_before_ref_ha"])
    frame = gpd.GeoDataFrame(
        {
            "plot_id": [f"ring-{i + 1}" for i in range(len(geoms))],
            "source_row": np.arange(1, len(geoms) + 1, dtype="int64"),
        },
        geometry=list(geoms),
        crs="EPSG:4326",
    )
    plots: pd.DataFrame = screen_plots(frame, [product], screening, execution=execution, progress=progress).plots
    return plots
