"""Vectorised geometry helpers for quality control: repairs, circles around points, decimals, swaps.

Every function takes and returns numpy arrays of shapely geometries or numbers, working on all rows
at once (shapely 2 array functions); Python loops run only over the rare rows that need a message
or a repair.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

from ...engine.geodesy import geodesic_areas as plot_areas
from ...i18n import N_, _

_GEOD = Geod(ellps="WGS84")

# shapely.get_type_id codes
POINT, MULTIPOINT, COLLECTION = 0, 4, 7
#: Vertices of the circle screened around a point.
CIRCLE_VERTICES = 64

LINEAR = (1, 2, 5)  # LineString, LinearRing, MultiLineString
POLYGONAL = (3, 6)  # Polygon, MultiPolygon


def polygonal_parts(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The polygons inside each geometry (collections included), as one (Multi)Polygon per row.

    Returns (geometry or None per row, number of non-polygonal parts dropped per row).
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), None, dtype=object)
    dropped = np.zeros(len(geoms), dtype="int64")
    if not len(geoms):
        return out, dropped
    parts, row = shapely.get_parts(geoms, return_index=True)
    # collections may hold multipolygons: flatten once more
    parts, sub = shapely.get_parts(parts, return_index=True)
    row = row[sub]
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    dropped = np.bincount(row[~keep], minlength=len(geoms))
    count = np.bincount(row[keep], minlength=len(geoms))
    if keep.any():
        shapely.multipolygons(parts[keep], indices=row[keep], out=out)
        single = count == 1
        out[single] = shapely.get_geometry(out[single], 0)
    return out, dropped


def repair(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``shapely.make_valid`` (structure method: rings' areas united, collapsed parts dropped),
    keeping the polygonal parts. Returns (repaired geometry or None when no area is left, number of
    non-polygonal parts dropped)."""
    fixed = shapely.make_valid(np.asarray(geoms, dtype=object), method="structure", keep_collapsed=False)
    out, dropped = polygonal_parts(fixed)
    return out, dropped


def geodesic_circles(
    lon: np.ndarray, lat: np.ndarray, area_m2: np.ndarray, *, vertices: int = 64
) -> tuple[np.ndarray, np.ndarray]:
    """Polygons of ``area_m2`` around points, built in metres on the WGS84 ellipsoid.

    Each circle's vertices are at one geodesic distance from the centre (``pyproj.Geod.fwd``, all
    circles in one call). An inscribed polygon is smaller than its circle, so the radius is
    adjusted (twice, by the ratio of the areas) until the polygon's own area is the one asked for;
    the result matches ``area_m2`` to about 1e-9. Returns (polygons, radii in metres).
    """
    lon = np.asarray(lon, dtype="float64")
    lat = np.asarray(lat, dtype="float64")
    area_m2 = np.asarray(area_m2, dtype="float64")
    n = len(lon)
    if n == 0:
        return np.zeros(0, dtype=object), np.zeros(0)
    az = np.linspace(360.0, 0.0, vertices, endpoint=False)  # anticlockwise
    k = 2 * np.pi / vertices
    radius = np.sqrt(area_m2 / np.pi) * np.sqrt(k / np.sin(k))  # inscribed-polygon correction
    polys = None
    for _round in range(3):
        x, y, _b = _GEOD.fwd(
            np.repeat(lon, vertices), np.repeat(lat, vertices), np.tile(az, n), np.repeat(radius, vertices)
        )
        x = np.asarray(x).reshape(n, vertices)
        y = np.asarray(y).reshape(n, vertices)
        x = lon[:, None] + (x - lon[:, None] + 180.0) % 360.0 - 180.0  # no jump at the antimeridian
        ring = np.stack([np.concatenate([x, x[:, :1]], 1), np.concatenate([y, y[:, :1]], 1)], -1)
        polys = shapely.polygons(ring)
        got = plot_areas(polys)
        radius = radius * np.sqrt(area_m2 / got)
    return polys, radius  # type: ignore[return-value]  # shapely's stubs allow None; never here


#: Metres in a degree of latitude at the equator (the smallest), and of longitude there (the largest).
M_PER_DEG_LAT = 110_574.0
M_PER_DEG_LON = 111_320.0


def plausible_area_ha(max_extent_deg: float) -> float:
    """The largest area (ha) a plot can declare: a circle ``max_extent_deg`` across at the equator.
    A larger figure is a unit error or garbage; a point's circle of it could not be screened."""
    radius_m = max_extent_deg * M_PER_DEG_LON / 2
    return float(np.pi * radius_m**2 / 10_000)


def near_pole(lat: np.ndarray, area_m2: np.ndarray) -> np.ndarray:
    """Whether a circle of ``area_m2`` around a point at ``lat`` would reach a pole (with a margin):
    no polygon in longitude/latitude can be drawn around it."""
    radius_deg = np.sqrt(np.asarray(area_m2, dtype="float64") / np.pi) * 1.1 / M_PER_DEG_LAT
    with np.errstate(invalid="ignore"):
        near: np.ndarray = ~(np.abs(np.asarray(lat, dtype="float64")) + radius_deg < 89.0)
    return near


#: A plot whose longitudes span more than this, with vertices this close to ±180°, crosses the
#: antimeridian (its coordinates jump from +180 to -180): read naively, it circles the Earth.
ANTIMERIDIAN_SPAN_DEG = 180.0
ANTIMERIDIAN_NEAR_DEG = 10.0


def crosses_antimeridian(bounds: np.ndarray) -> np.ndarray:
    """Per (minx, miny, maxx, maxy) row: whether the plot lies on both sides of the antimeridian —
    a longitude span over 180° with vertices near -180° and near +180° (a ring crossing it, or parts
    already split at 180° as RFC 7946 recommends: either way, one row would span the globe)."""
    b = np.asarray(bounds, dtype="float64").reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        crosses: np.ndarray = (
            (b[:, 2] - b[:, 0] > ANTIMERIDIAN_SPAN_DEG)
            & (b[:, 0] <= -180 + ANTIMERIDIAN_NEAR_DEG)
            & (b[:, 2] >= 180 - ANTIMERIDIAN_NEAR_DEG)
        )
    return crosses


def locatable(bounds: np.ndarray) -> np.ndarray:
    """Per bounds row: finite, within longitude ±180° and latitude ±90°, and not across the
    antimeridian — a place on the globe that rasters can be found for (``fetch-tiles``)."""
    b = np.asarray(bounds, dtype="float64").reshape(-1, 4)
    with np.errstate(invalid="ignore"):
        inside = (b[:, 0] >= -180) & (b[:, 2] <= 180) & (b[:, 1] >= -90) & (b[:, 3] <= 90)
    found: np.ndarray = np.isfinite(b).all(axis=1) & inside & ~crosses_antimeridian(b)
    return found


def nonfinite_vertices(geoms: np.ndarray, chunk: int = 100_000) -> tuple[np.ndarray, np.ndarray]:
    """Where a geometry has a vertex that is not a finite number (NaN, infinity): (mask per row,
    1-based number of its first such vertex, 0 where none). A bounding box does not show them all:
    GEOS leaves a NaN out of the box. Read in chunks, so a million plots never hold every vertex at once."""
    geoms = np.asarray(geoms, dtype=object)
    bad = np.zeros(len(geoms), dtype=bool)
    first = np.zeros(len(geoms), dtype="int64")
    for start in range(0, len(geoms), chunk):
        part = geoms[start : start + chunk]
        xy, which = shapely.get_coordinates(part, return_index=True)
        wrong = ~np.isfinite(xy).all(axis=1)
        if not wrong.any():
            continue
        counts = np.bincount(which, minlength=len(part))
        vertex = np.arange(len(which)) - np.repeat(np.cumsum(counts) - counts, counts)
        rows, at = np.unique(which[wrong], return_index=True)
        bad[start + rows] = True
        first[start + rows] = vertex[np.flatnonzero(wrong)[at]] + 1
    return bad, first


def few_decimals(values: np.ndarray, decimals: int) -> np.ndarray:
    """True where a value has at most ``decimals`` decimals (up to floating-point noise)."""
    s = np.asarray(values, dtype="float64") * 10.0**decimals
    return np.abs(s - np.rint(s)) <= 1e-6


def count_decimals(values: np.ndarray, upto: int) -> np.ndarray:
    """Number of decimals of each value, capped at ``upto``."""
    values = np.asarray(values, dtype="float64")
    out = np.full(values.shape, upto, dtype="int64")
    for k in range(upto - 1, -1, -1):
        out[few_decimals(values, k)] = k
    return out


def swapped(geoms: np.ndarray) -> np.ndarray:
    """The geometries with x and y exchanged (longitude <-> latitude)."""
    out: np.ndarray = shapely.transform(np.asarray(geoms, dtype=object), lambda c: c[:, ::-1])
    return out


def hole_counts(geoms: np.ndarray) -> np.ndarray:
    """Number of interior rings of each (multi)polygon; 0 for other types."""
    geoms = np.asarray(geoms, dtype=object)
    out = np.zeros(len(geoms), dtype="int64")
    if not len(geoms):
        return out
    types = shapely.get_type_id(geoms)
    poly = types == 3
    out[poly] = shapely.get_num_interior_rings(geoms[poly])
    multi = np.flatnonzero(types == 6)
    if len(multi):
        parts, row = shapely.get_parts(geoms[multi], return_index=True)
        np.add.at(out, multi[row], shapely.get_num_interior_rings(parts))
    return out


#: GEOS's reasons for an invalid geometry (``shapely.is_valid_reason``: "Self-intersection[x y]"),
#: marked for translation.
GEOS_REASONS = (
    N_("Self-intersection"),
    N_("Ring Self-intersection"),
    N_("Hole lies outside shell"),
    N_("Holes are nested"),
    N_("Interior is disconnected"),
    N_("Nested shells"),
    N_("Duplicate Rings"),
    N_("Too few distinct points in geometry component"),
    N_("Invalid Coordinate"),
    N_("Ring is not closed"),
    N_("Repeated Point"),
    N_("Topology Validation Error"),
)


def invalid_reasons(geoms: np.ndarray) -> np.ndarray:
    """Why each (invalid) geometry is invalid: GEOS's reason, its name in the language in use and its
    location as GEOS gives it ("Autointersección[-76.72 -8.19]")."""
    names = {name: _(name) for name in GEOS_REASONS}
    reasons = shapely.is_valid_reason(geoms)
    out = np.empty(len(reasons), dtype=object)
    for i, reason in enumerate(reasons):
        name, bracket, where = str(reason).partition("[")
        out[i] = names.get(name, name) + bracket + where
    return out
