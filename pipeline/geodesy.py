"""Areas on the WGS84 ellipsoid.

Two quantities, both in square metres:

* :func:`pixel_row_areas` — the area of a latitude/longitude grid cell. On the ellipsoid it
  depends only on the cell's row (its latitudes), so a raster needs one value per row. The area
  element is ``M(φ) N(φ) cos φ dφ dλ = a²(1-e²) cos φ / (1 - e² sin² φ)² dφ dλ``; integrating it
  between the row's two latitudes with Gauss-Legendre quadrature is exact to machine precision for
  cells of any practical size, and avoids the cancellation of differencing a closed form.
* :func:`geodesic_areas` — the area of polygons whose vertices are longitude/latitude, with
  geodesic edges (Karney's algorithm, through ``pyproj.Geod``).

A Hansen pixel (0.00025°) at the equator is 769.3170 m² (Global Forest Watch uses
769.3170049535535 m²); a sphere of radius 6,378,137 m would give about 0.67 % more.
"""

from __future__ import annotations

import numpy as np
import shapely
from pyproj import Geod

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
    return WGS84_A**2 * (1 - WGS84_E2) * np.cos(phi) / (1 - WGS84_E2 * s * s) ** 2


def cell_areas(lat_top: np.ndarray, lat_bottom: np.ndarray, width_deg: float) -> np.ndarray:
    """Area (m²) of cells spanning ``width_deg`` of longitude between two latitudes (degrees)."""
    lat_top = np.asarray(lat_top, dtype="float64")
    lat_bottom = np.asarray(lat_bottom, dtype="float64")
    p1 = np.radians(np.minimum(lat_top, lat_bottom))
    p2 = np.radians(np.maximum(lat_top, lat_bottom))
    half = (p2 - p1)[..., None] / 2
    mid = (p2 + p1)[..., None] / 2
    integral = (half * _area_density(mid + half * _GL_NODES) * _GL_WEIGHTS).sum(axis=-1)
    return integral * np.radians(abs(width_deg))


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


_E = np.sqrt(WGS84_E2)
_GL2, _GL4 = (((x + 1) / 2, w / 2) for x, w in (np.polynomial.legendre.leggauss(k) for k in (2, 4)))


def _authalic_q(phi: np.ndarray) -> np.ndarray:
    """q(φ): the ellipsoid's area between the equator and latitude φ is a²/2 · q(φ) per radian."""
    s = np.sin(phi)
    return (1 - WGS84_E2) * (s / (1 - WGS84_E2 * s * s) - np.log((1 - _E * s) / (1 + _E * s)) / (2 * _E))


def geodesic_areas(geoms) -> np.ndarray:
    """Area (m²) on the WGS84 ellipsoid of each polygon or multipolygon (lon/lat, degrees).

    Holes are subtracted and multipolygon parts added, whatever the rings' orientation; NaN for
    None or empty geometries, 0 for non-polygonal ones.

    Edges are taken as straight lines in longitude/latitude — how GeoJSON (RFC 7946) defines them,
    and the same polygon whose pixel coverage is measured — so a plot entirely over forest has
    ``forest_2000_ha == area_ha``. By Green's theorem the area is ``a²/2 · |∮ q(φ) dλ|`` with
    ``q`` the authalic-latitude function; along a straight edge φ is linear in λ and the integral
    is evaluated with 4-point Gauss-Legendre quadrature: exact to machine precision, vectorised
    over every edge of every polygon. Against Karney's geodesic-edge areas (``pyproj.Geod``) the
    difference is how far a geodesic strays from a straight edge: a few millionths of a tropical
    plot's area.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    out = np.full(n, np.nan)
    if n == 0:
        return out
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    polygonal = present & np.isin(shapely.get_type_id(geoms), (3, 6))
    out[present & ~polygonal] = 0.0
    idx = np.flatnonzero(polygonal)
    if not len(idx):
        return out
    parts, part_owner = shapely.get_parts(geoms[idx], return_index=True)
    rings, ring_part = shapely.get_rings(parts, return_index=True)
    is_shell = np.ones(len(rings), dtype=bool)
    is_shell[1:] = ring_part[1:] != ring_part[:-1]
    coords, ring_of = shapely.get_coordinates(rings, return_index=True)
    lam = np.radians(coords[:, 0])
    phi = np.radians(coords[:, 1])
    e = np.flatnonzero(ring_of[1:] == ring_of[:-1])           # edge from vertex e to e + 1
    first = np.searchsorted(ring_of, np.arange(len(rings)))   # each ring's first vertex
    q0 = _authalic_q(phi[first])[ring_of[e]]                  # a local origin keeps sums small
    dphi = phi[e + 1] - phi[e]
    # 2-point Gauss-Legendre is exact for cubics: ample for plot edges (error ~ dphi**5 / 4320);
    # polygons with longer edges get 4 points.
    nodes, weights = (_GL2 if np.abs(dphi).max(initial=0) < 1e-3 else _GL4)
    phi_t = phi[e, None] + nodes * dphi[:, None]
    mean_q = (_authalic_q(phi_t) - q0[:, None]) @ weights
    ring_int = np.bincount(ring_of[e], weights=mean_q * (lam[e + 1] - lam[e]), minlength=len(rings))
    ring_area = np.abs(ring_int) * WGS84_A**2 / 2
    signed = np.where(is_shell, ring_area, -ring_area)
    out[idx] = np.bincount(part_owner[ring_part], weights=signed, minlength=len(idx))
    return out


def karney_areas(geoms) -> np.ndarray:
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


def _ring_area(coords) -> float:
    xy = np.asarray(coords)
    area, _ = _GEOD.polygon_area_perimeter(xy[:, 0], xy[:, 1])
    return area
