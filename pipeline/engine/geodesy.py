"""Areas on the WGS84 ellipsoid.

Two quantities, both in square metres:

* :func:`pixel_row_areas` — the area of a latitude/longitude grid cell. On the ellipsoid it
  depends only on the cell's row (its latitudes), so a raster needs one value per row. The area
  element is ``M(φ) N(φ) cos φ dφ dλ = a²(1-e²) cos φ / (1 - e² sin² φ)² dφ dλ``; integrating it
  between the row's two latitudes with Gauss-Legendre quadrature is exact to machine precision for
  cells of any practical size, and avoids the cancellation of differencing a closed form.
* :func:`geodesic_areas` — the area of polygons whose vertices are longitude/latitude, edges
  straight in longitude/latitude (as GeoJSON defines them), vectorised over all plots at once;
  :func:`karney_areas` gives the areas with geodesic edges (pyproj), plot by plot, for reference.

A Hansen pixel (0.00025°) at the equator is 769.3170 m² (Global Forest Watch uses
769.3170049535535 m²); a sphere of radius 6,378,137 m would give about 0.67 % more.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod
from shapely.coords import CoordinateSequence

from .arrays import Geometries
from .chunks import apply_chunked

#: WGS84 semi-major axis (m) and flattening.
WGS84_A = 6378137.0
WGS84_F = 1 / 298.257223563
WGS84_E2 = WGS84_F * (2 - WGS84_F)

_GEOD = Geod(ellps="WGS84")
_GL_NODES, _GL_WEIGHTS = np.polynomial.legendre.leggauss(8)

M2_PER_HA = 10_000.0


def _area_density(phi: np.ndarray) -> np.ndarray:
    """Ellipsoidal area per radian of latitude and longitude at latitude ``phi`` (radians)."""
    s = np.sin(phi)
    density: np.ndarray = WGS84_A**2 * (1 - WGS84_E2) * np.cos(phi) / (1 - WGS84_E2 * s * s) ** 2
    return density


def cell_areas(lat_top: np.ndarray, lat_bottom: np.ndarray, width_deg: float) -> np.ndarray:
    """Area (m²) of cells spanning ``width_deg`` of longitude between two latitudes (degrees)."""
    lat_top = np.asarray(lat_top, dtype="float64")
    lat_bottom = np.asarray(lat_bottom, dtype="float64")
    p1 = np.radians(np.minimum(lat_top, lat_bottom))
    p2 = np.radians(np.maximum(lat_top, lat_bottom))
    half = (p2 - p1)[..., None] / 2
    mid = (p2 + p1)[..., None] / 2
    integral = (half * _area_density(mid + half * _GL_NODES) * _GL_WEIGHTS).sum(axis=-1)
    areas: np.ndarray = integral * np.radians(abs(width_deg))
    return areas


def pixel_row_areas(top: float, res_y: float, res_x: float, row_start: int, row_stop: int) -> np.ndarray:
    """Area (m²) of one pixel in each row ``row_start .. row_stop-1`` of a north-up grid.

    ``top`` is the latitude of the grid's upper edge (row 0), ``res_y`` the (positive) pixel height
    and ``res_x`` the pixel width, both in degrees. Rows outside the raster are allowed (a plot
    may extend beyond it); latitudes are clipped to ±90°.
    """
    rows = np.arange(row_start, row_stop, dtype="float64")
    lat_top = np.clip(top - rows * res_y, -90.0, 90.0)
    lat_bottom = np.clip(top - (rows + 1) * res_y, -90.0, 90.0)
    return cell_areas(lat_top, lat_bottom, res_x)


# Polygon areas. Edges are straight lines in longitude/latitude — how GeoJSON (RFC 7946) defines
# them, and the polygon whose pixel coverage is measured — so a plot entirely over forest has
# forest_2000_ha == area_ha. By Green's theorem the area is a²/2 · |∮ q(φ) dλ|, with q the
# authalic-latitude function (Snyder, Map Projections: A Working Manual, eq. 3-12). Along a
# straight edge φ is linear in λ and the mean of q over the edge is computed with Gauss-Legendre
# quadrature (2 points, exact for cubics, for edges under 1e-3 rad of latitude; 4 otherwise):
# exact to machine precision, vectorised over every edge of every polygon. Against Karney's
# geodesic-edge areas the difference is how far a geodesic strays from a straight edge: about a
# millionth of a tropical plot's area (tests/test_geodesy.py, tests/test_areas.py).

_ECC = float(np.sqrt(WGS84_E2))
_GL2, _GL4 = (((x + 1) / 2, w / 2) for x, w in (np.polynomial.legendre.leggauss(k) for k in (2, 4)))


def authalic_q(phi: np.ndarray) -> np.ndarray:
    """q(φ) (φ in radians): the ellipsoid's area from the equator to φ is a²/2 · q(φ) per radian."""
    s = np.sin(phi)
    q: np.ndarray = (1 - WGS84_E2) * (s / (1 - WGS84_E2 * s * s) + np.arctanh(_ECC * s) / _ECC)
    return q


def ring_areas(xy: np.ndarray, ring_of: np.ndarray, n_rings: int) -> np.ndarray:
    """Unsigned area (m²) of closed rings given as flat vertex arrays (lon/lat degrees).

    ``ring_of`` gives each vertex's ring (rings contiguous, each closed: first vertex = last).
    """
    if n_rings == 0 or len(xy) == 0:
        return np.zeros(n_rings)
    lam = np.radians(xy[:, 0])
    phi = np.radians(xy[:, 1])
    e = np.flatnonzero(ring_of[1:] == ring_of[:-1])  # edge from vertex e to e + 1
    first = np.searchsorted(ring_of, np.arange(n_rings))  # each ring's first vertex
    q0 = authalic_q(phi[np.minimum(first, len(phi) - 1)])[ring_of[e]]  # a local origin keeps sums small
    dphi = phi[e + 1] - phi[e]
    # Each edge's own quadrature (so that a ring's area does not depend on the other rings of the
    # call): 2 points for short edges, 4 for long ones.
    nodes, weights = _GL2
    mean_q = (authalic_q(phi[e, None] + nodes * dphi[:, None]) - q0[:, None]) @ weights
    long = np.flatnonzero(np.abs(dphi) >= 1e-3)
    if len(long):
        nodes, weights = _GL4
        el = e[long]
        mean_q[long] = (authalic_q(phi[el, None] + nodes * dphi[long, None]) - q0[long, None]) @ weights
    dlam = lam[e + 1] - lam[e]
    ring_int = np.bincount(ring_of[e], weights=mean_q * dlam, minlength=n_rings)
    return np.abs(ring_int) * WGS84_A**2 / 2


def geodesic_areas(geoms: Geometries) -> np.ndarray:
    """Area (m²) on the WGS84 ellipsoid of each polygon/multipolygon (lon/lat degrees), vectorised.

    Holes are subtracted, parts added, whatever the orientation; 0 for points and lines; NaN for
    None or empty geometries. Large arrays are processed in cache-sized chunks, on threads (numpy
    and shapely release the GIL).
    """
    return apply_chunked(_geodesic_areas, np.asarray(geoms, dtype=object), chunk=8192)


def _geodesic_areas(geoms: np.ndarray) -> np.ndarray:
    n = len(geoms)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    out[present] = 0.0
    types = shapely.get_type_id(geoms)
    # Fast path: a Polygon without holes is one ring.
    simple = present & (types == 3)
    simple[simple] = shapely.get_num_interior_rings(geoms[simple]) == 0
    idx = np.flatnonzero(simple)
    if len(idx):
        xy, ring = shapely.get_coordinates(geoms[idx], return_index=True)
        out[idx] = ring_areas(xy, ring, len(idx))
    idx = np.flatnonzero(present & np.isin(types, (3, 6)) & ~simple)
    if len(idx):
        parts, part_of = shapely.get_parts(geoms[idx], return_index=True)
        rings, ring_of_part = shapely.get_rings(parts, return_index=True)
        exterior = np.ones(len(rings), dtype=bool)
        exterior[1:] = ring_of_part[1:] != ring_of_part[:-1]
        xy, ring_of_vertex = shapely.get_coordinates(rings, return_index=True)
        areas = ring_areas(xy, ring_of_vertex, len(rings))
        signed = np.where(exterior, areas, -areas)
        out[idx] = np.bincount(part_of[ring_of_part], weights=signed, minlength=len(idx))
    return out


def karney_areas(geoms: Geometries) -> np.ndarray:
    """Areas (m²) with geodesic edges (Karney's algorithm via ``pyproj.Geod``), one plot at a time:
    the reference the vectorised :func:`geodesic_areas` is tested against."""
    out = np.full(len(geoms), np.nan)
    for i, g in enumerate(geoms):
        if g is None or g.is_empty:
            continue
        total = 0.0
        for part in getattr(g, "geoms", [g]):
            total += abs(_ring_area(part.exterior.coords))
            total -= sum(abs(_ring_area(r.coords)) for r in part.interiors)
        out[i] = total
    return out


def _ring_area(coords: CoordinateSequence) -> float:
    xy = np.asarray(coords)
    area, _ = _GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])
    return area
