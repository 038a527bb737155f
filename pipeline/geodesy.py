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


# --- Vectorised areas for quality control --------------------------------------------------------
#
# :func:`geodesic_areas` calls Karney's algorithm once per ring, which costs ~15 µs a plot: 15 s for a
# million plots. Quality control needs the area of every plot of a file, so it uses an exact
# equal-area mapping instead, computed for all vertices at once with numpy: the WGS84 ellipsoid is
# mapped onto its authalic sphere (latitude -> authalic latitude, radius R_q; the mapping preserves
# area exactly) and each ring is cut into a fan of spherical triangles whose excess is exact
# (Eriksson's formula, with vertex differences so that a 10 m triangle loses no digits).
# The only difference from the geodesic area is the path of the edges between vertices: a geodesic
# and an authalic great circle between the same two vertices part by about e² × (edge / R)² × edge;
# for plot-sized rings (edges up to a few km) the areas agree to about 1e-8 relative
# (tests/test_geodesy.py checks against Karney's algorithm).

_E = float(np.sqrt(WGS84_E2))


def _authalic_q(sin_phi: np.ndarray) -> np.ndarray:
    """Snyder's q(φ) (Map Projections: A Working Manual, eq. 3-12), from sin φ."""
    es = _E * sin_phi
    return (1 - WGS84_E2) * (sin_phi / (1 - es * es) + np.arctanh(es) / _E)


_QP = float(_authalic_q(np.array(1.0)))
#: Radius of the sphere with the WGS84 ellipsoid's surface area (m).
AUTHALIC_RADIUS = WGS84_A * float(np.sqrt(_QP / 2))


def authalic_unit_vectors(lon_deg: np.ndarray, lat_deg: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unit vectors (x, y, z arrays) of lon/lat points mapped to the authalic sphere (equal-area)."""
    z = np.clip(_authalic_q(np.sin(np.radians(lat_deg))) / _QP, -1.0, 1.0)
    r = np.sqrt(1.0 - z * z)
    lam = np.radians(lon_deg)
    return r * np.cos(lam), r * np.sin(lam), z


def ring_areas(xy: np.ndarray, ring_index: np.ndarray, n_rings: int) -> np.ndarray:
    """Unsigned area (m²) of closed rings given as flat vertex arrays (lon/lat degrees).

    ``ring_index`` gives each vertex's ring (rings contiguous, each closed: first = last vertex).
    """
    if n_rings == 0 or len(xy) == 0:
        return np.zeros(n_rings)
    px, py, pz = authalic_unit_vectors(xy[:, 0], xy[:, 1])
    start = np.ones(len(px), dtype=bool)
    start[1:] = ring_index[1:] != ring_index[:-1]
    first = np.maximum.accumulate(np.where(start, np.arange(len(px)), 0))
    ax, ay, az = px[first], py[first], pz[first]      # each vertex's ring apex
    ux, uy, uz = px - ax, py - ay, pz - az             # differences: no digits lost for small rings
    # triangle (apex, k, k+1) for consecutive vertices of one ring. Eriksson (1990):
    # tan(E/2) = a·(b×c) / (1 + a·b + b·c + c·a), with a·(b×c) = a·((b-a)×(c-a)).
    # The apex's own edges give zero-area triangles, so all pairs can be summed.
    same = ~start[1:]
    k0, k1 = slice(None, -1), slice(1, None)
    num = (ax[k0] * (uy[k0] * uz[k1] - uz[k0] * uy[k1])
           + ay[k0] * (uz[k0] * ux[k1] - ux[k0] * uz[k1])
           + az[k0] * (ux[k0] * uy[k1] - uy[k0] * ux[k1]))
    ab = ax[k0] * px[k0] + ay[k0] * py[k0] + az[k0] * pz[k0]
    bc = px[k0] * px[k1] + py[k0] * py[k1] + pz[k0] * pz[k1]
    ca = px[k1] * ax[k0] + py[k1] * ay[k0] + pz[k1] * az[k0]
    excess = 2 * np.arctan2(num, 1 + ab + bc + ca)
    signed = np.bincount(ring_index[k0][same], weights=excess[same], minlength=n_rings)
    area = np.abs(signed) * AUTHALIC_RADIUS**2
    # a ring of more than a hemisphere: the smaller side is meant (plots never are; stay sane)
    return np.minimum(area, 4 * np.pi * AUTHALIC_RADIUS**2 - area)


def ellipsoid_areas(geoms) -> np.ndarray:
    """Area (m²) on the WGS84 ellipsoid of each polygon/multipolygon (lon/lat degrees), vectorised.

    Holes are subtracted, parts added, whatever the orientation; 0 for points and lines; NaN for
    None or empty geometries. See the note above on how this relates to :func:`geodesic_areas`.
    Large arrays are processed in chunks, on threads (numpy and shapely release the GIL).
    """
    from .chunks import apply_chunked

    return apply_chunked(_ellipsoid_areas, np.asarray(geoms, dtype=object), chunk=8192)


def _ellipsoid_areas(geoms: np.ndarray) -> np.ndarray:
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
