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


def geodesic_areas(geoms) -> np.ndarray:
    """Geodesic area (m²) of each polygon or multipolygon (lon/lat, degrees); NaN when empty/None.

    Holes are subtracted and multipolygon parts added, whatever the rings' orientation.
    """
    geoms = np.asarray(geoms, dtype=object)
    out = np.full(len(geoms), np.nan)
    for i, g in enumerate(geoms):
        if g is None or shapely.is_empty(g):
            continue
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            out[i] = 0.0
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
