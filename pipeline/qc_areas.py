"""Areas of many plots at once, on the WGS84 ellipsoid, for quality control.

Quality control needs the area of every plot of a file (large plots, declared areas, overlaps,
the circles around points); one Karney call per plot would take ~15 s for a million plots, so the
areas are computed here for all vertices at once with numpy.

Definition: the polygon's edges are straight lines in longitude/latitude — how GeoJSON (RFC 7946)
defines them, and the polygon whose pixel coverage the screening measures. By Green's theorem the
area is ``a²/2 · |∮ q(φ) dλ|``, with ``q`` the authalic-latitude function (Snyder, *Map
Projections: A Working Manual*, eq. 3-12: the ellipsoid's area between the equator and latitude
φ is a²/2 · q(φ) per radian of longitude). Along a straight edge φ is linear in λ, and the mean of
q over the edge is computed with Gauss-Legendre quadrature (2 points, exact for cubics, for edges
under 1e-3 rad of latitude, ~6 km; 4 points otherwise): exact to machine precision. Against
Karney's geodesic-edge areas the only difference is how far a geodesic strays from a straight
lon/lat edge: about a millionth of a tropical plot's area, more for large polygons far from the
equator (1e-4 for a 5 km polygon at 70°) (tests/test_qc_areas.py).
"""

from __future__ import annotations

import numpy as np
import shapely

from .chunks import apply_chunked
from .geodesy import WGS84_A, WGS84_E2

_ECC = float(np.sqrt(WGS84_E2))
_GL2, _GL4 = (((x + 1) / 2, w / 2) for x, w in (np.polynomial.legendre.leggauss(k) for k in (2, 4)))


def authalic_q(phi: np.ndarray) -> np.ndarray:
    """q(φ) (φ in radians): the ellipsoid's area from the equator to φ is a²/2 · q(φ) per radian."""
    s = np.sin(phi)
    return (1 - WGS84_E2) * (s / (1 - WGS84_E2 * s * s) + np.arctanh(_ECC * s) / _ECC)


def ring_areas(xy: np.ndarray, ring_of: np.ndarray, n_rings: int) -> np.ndarray:
    """Unsigned area (m²) of closed rings given as flat vertex arrays (lon/lat degrees).

    ``ring_of`` gives each vertex's ring (rings contiguous, each closed: first vertex = last).
    """
    if n_rings == 0 or len(xy) == 0:
        return np.zeros(n_rings)
    lam = np.radians(xy[:, 0])
    phi = np.radians(xy[:, 1])
    e = np.flatnonzero(ring_of[1:] == ring_of[:-1])          # edge from vertex e to e + 1
    first = np.searchsorted(ring_of, np.arange(n_rings))     # each ring's first vertex
    q0 = authalic_q(phi[np.minimum(first, len(phi) - 1)])[ring_of[e]]  # a local origin keeps sums small
    dphi = phi[e + 1] - phi[e]
    nodes, weights = _GL2 if np.abs(dphi).max(initial=0) < 1e-3 else _GL4
    mean_q = (authalic_q(phi[e, None] + nodes * dphi[:, None]) - q0[:, None]) @ weights
    dlam = lam[e + 1] - lam[e]
    ring_int = np.bincount(ring_of[e], weights=mean_q * dlam, minlength=n_rings)
    return np.abs(ring_int) * WGS84_A**2 / 2


def plot_areas(geoms) -> np.ndarray:
    """Area (m²) on the WGS84 ellipsoid of each polygon/multipolygon (lon/lat degrees), vectorised.

    Holes are subtracted, parts added, whatever the orientation; 0 for points and lines; NaN for
    None or empty geometries. Large arrays are processed in cache-sized chunks, on threads (numpy
    and shapely release the GIL).
    """
    return apply_chunked(_plot_areas, np.asarray(geoms, dtype=object), chunk=8192)


def _plot_areas(geoms: np.ndarray) -> np.ndarray:
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
