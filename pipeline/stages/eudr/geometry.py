"""The geometries of an EUDR file: on the coordinate grid, valid, without holes, points as points.

* :func:`round_polygons` — polygons on the ``10^-decimals`` degree grid, checked again after
  rounding; one that rounding made invalid (or that was invalid in the file) is repaired at that
  precision, and one that nothing is left of is refused, with the reason;
* :func:`split_holes` — a polygon with holes as hole-free parts covering it exactly: its
  constrained Delaunay triangles (made of the polygon's own vertices, so no coordinate is added or
  moved) are grouped on either side of a line through each hole, and each group is dissolved;
* :func:`single_points` — a Point, or a MultiPoint of one point, as a Point.
"""

from __future__ import annotations

import numpy as np
import shapely

from ...i18n import _, tr
from ..qc.geometry import invalid_reasons, polygonal_parts

# shapely.get_type_id codes
POINT, POLYGON, MULTIPOINT, MULTIPOLYGON = 0, 3, 4, 6


def single_points(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(whether each geometry is one point — a Point or a MultiPoint of one —, the number of points
    of a MultiPoint, 0 otherwise)."""
    kind = shapely.get_type_id(geoms)
    count = np.where(kind == MULTIPOINT, shapely.get_num_geometries(geoms), 0)
    return (kind == POINT) | ((kind == MULTIPOINT) & (count == 1)), count


def as_point(geoms: np.ndarray, decimals: int) -> np.ndarray:
    """Each point (Point or MultiPoint of one) as a Point on the grid."""
    pts = np.where(shapely.get_type_id(geoms) == MULTIPOINT, shapely.get_geometry(geoms, 0), geoms)
    points: np.ndarray = shapely.set_precision(np.asarray(pts, dtype=object), 10.0**-decimals, mode="pointwise")
    return points


def _single(geom: shapely.Geometry) -> shapely.Geometry:
    """A MultiPolygon of one part as that Polygon (GeoPackage layers promote every plot to multi)."""
    return geom.geoms[0] if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1 else geom


def _round_one(geom: shapely.Geometry, decimals: int) -> tuple[shapely.Geometry | None, str]:
    """A polygon that rounding made invalid, or that was invalid: (repair, why) or (None, why not)."""
    grid = 10.0**-decimals
    rounded = shapely.set_precision(geom, grid, mode="pointwise")
    why = invalid_reasons(np.array([rounded], dtype=object))[0] if not rounded.is_empty else _("collapsed")
    fixed = shapely.set_precision(shapely.make_valid(geom), grid, mode="valid_output")
    g = polygonal_parts(np.array([fixed], dtype=object))[0][0]
    if g is None or g.is_empty or not shapely.is_valid(g) or g.area <= 0:
        return None, tr("no valid polygon is left at {decimals} decimals ({why})", decimals=decimals, why=why)
    if not shapely.is_valid(geom):
        return g, tr("repaired: the polygon was invalid ({why}); exported as repaired", why=why)
    return g, tr(
        "repaired: the polygon was invalid after rounding to {decimals} decimals ({why}); exported as repaired",
        decimals=decimals,
        why=why,
    )


def round_polygons(geoms: np.ndarray, decimals: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``geoms`` (polygonal) on the grid, exterior rings counter-clockwise, a one-part MultiPolygon
    as a Polygon. Returns (geometry or None, whether it was repaired, the reason of a repair or of
    a refusal). The rows that round cleanly go at once; the rare ones to repair one by one."""
    n = len(geoms)
    out = np.full(n, None, dtype=object)
    repaired = np.zeros(n, dtype=bool)
    note = np.full(n, "", dtype=object)
    rounded = shapely.set_precision(geoms, 10.0**-decimals, mode="pointwise")
    fine = shapely.is_valid(rounded) & ~shapely.is_empty(rounded) & (shapely.area(rounded) > 0)
    out[fine] = rounded[fine]
    for i in np.flatnonzero(~fine):
        out[i], note[i] = _round_one(geoms[i], decimals)
        repaired[i] = out[i] is not None
    done = np.array([g is not None for g in out], dtype=bool)
    out[done] = [_single(g) for g in shapely.orient_polygons(out[done])]
    return out, repaired, note


def _hole_free(poly: shapely.Polygon, depth: int) -> list[shapely.Polygon]:
    """Hole-free polygons covering ``poly`` exactly, made of its own vertices."""
    if not poly.interiors:
        return [poly]
    triangles = shapely.get_parts(shapely.constrained_delaunay_triangles(poly))
    hole = shapely.Polygon(poly.interiors[0])
    axis = depth % 2  # a vertical line through the hole, then (if that is not enough) a horizontal one
    cut = hole.representative_point().coords[0][axis]
    side = shapely.get_coordinates(shapely.centroid(triangles))[:, axis] < cut
    if depth >= 2 * len(poly.interiors) + 8 or side.all() or not side.any():
        return list(triangles)  # never seen in practice: the triangles themselves are hole-free
    out: list[shapely.Polygon] = []
    for group in (side, ~side):
        for part in shapely.get_parts(shapely.union_all(triangles[group])):
            out.extend(_hole_free(part, depth + 1))
    return out


def split_holes(geom: shapely.Geometry) -> shapely.Geometry:
    """``geom`` (a Polygon or MultiPolygon) without holes: each part with holes split into
    hole-free parts by cuts through each hole; exterior rings counter-clockwise. The parts cover
    exactly the same area, and none overlaps another (they share cut edges)."""
    parts = []
    for part in shapely.get_parts(geom):
        parts.extend(_hole_free(part, 0))
    parts = list(shapely.orient_polygons(np.array(parts, dtype=object)))
    return parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)


def without_holes(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Every geometry with holes split (:func:`split_holes`); returns (geometries, holes per row)."""
    geoms = np.asarray(geoms, dtype=object).copy()
    holes = np.zeros(len(geoms), dtype="int64")
    if len(geoms):
        parts, row = shapely.get_parts(geoms, return_index=True)
        polys = shapely.get_type_id(parts) == POLYGON
        np.add.at(holes, row[polys], shapely.get_num_interior_rings(parts[polys]))
    for i in np.flatnonzero(holes):
        geoms[i] = split_holes(geoms[i])
    return geoms, holes
