"""The districts layer: four invented administrative regions over the western part of the
window, one of them with a deliberately invalid boundary."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import shapely
from shapely import Polygon
from shapely.geometry.polygon import orient

from .grid import _Grid

#: Synthetic ubigeo-like codes: department 22 (San Martín), province 99 (which does not exist).
_DISTRICTS = (
    ("229901", "DISTRITO SINTETICO NOROESTE"),
    ("229902", "DISTRITO SINTETICO NORESTE"),
    ("229903", "DISTRITO SINTETICO SUROESTE"),
    ("229904", "DISTRITO SINTETICO SURESTE"),
)
#: Share of the window's width, from the west, covered by the districts; plots east of it lie in
#: no district (``unassigned``).
_DISTRICTS_EAST = 0.86


def _make_districts(grid: _Grid) -> gpd.GeoDataFrame:
    """Four districts with wiggly shared borders over the western part of the window.

    They reach a little beyond the window to the west, north and south (real districts do not
    stop at a raster's edge) but stop short of its east side, so the plots there are in no
    district. The south-west district's outer corner is deliberately invalid (its boundary
    doubles back on itself, as digitising errors do); that corner lies outside the window.
    Deterministic: a function of the window only.
    """
    width, height = grid.lon_max - grid.lon_min, grid.lat_max - grid.lat_min
    x0, x1 = grid.lon_min - 0.05 * width, grid.lon_min + _DISTRICTS_EAST * width
    y0, y1 = grid.lat_min - 0.05 * height, grid.lat_max + 0.05 * height
    t = np.linspace(0.0, 1.0, 41)
    ys = y0 + t * (y1 - y0)
    xs_v = grid.lon_min + 0.45 * width + 0.04 * width * np.sin(2 * np.pi * 2.3 * t + 0.7)
    xs = x0 + t * (x1 - x0)
    ys_h = grid.lat_min + 0.5 * height + 0.04 * height * np.sin(2 * np.pi * 1.7 * t + 1.3)
    box = shapely.box(x0, y0, x1, y1)
    west = Polygon([(x0, y0), *zip(xs_v, ys), (x0, y1)])
    north = Polygon([(x0, y1), *zip(xs, ys_h), (x1, y1)])
    east, south = box.difference(west), box.difference(north)
    parts = [west.intersection(north), east.intersection(north), west.intersection(south), east.intersection(south)]
    parts = [orient(_largest_polygon(g), sign=1.0) for g in parts]
    parts[2] = _with_spike(parts[2], (x0, y0), 0.02 * width)
    return gpd.GeoDataFrame(
        {
            "ubigeo": [code for code, _ in _DISTRICTS],
            "district": [name for _, name in _DISTRICTS],
            "province": ["PROVINCIA SINTETICA"] * 4,
            "department": ["SAN MARTIN"] * 4,
        },
        geometry=parts,
        crs="EPSG:4326",
    )


def _largest_polygon(g: shapely.Geometry) -> Polygon:
    polys = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
    return max(polys, key=lambda p: p.area)


def _with_spike(poly: Polygon, corner: tuple[float, float], e: float) -> Polygon:
    """``poly`` with its vertex nearest ``corner`` replaced by a boundary that doubles back on
    itself (self-intersecting: invalid, and repaired by ``make_valid`` to nearly ``poly``)."""
    ring = np.asarray(poly.exterior.coords)[:-1]
    k = int(np.argmin(np.hypot(ring[:, 0] - corner[0], ring[:, 1] - corner[1])))
    c, prev, nxt = ring[k], ring[k - 1], ring[(k + 1) % len(ring)]
    u_prev = (prev - c) / np.hypot(*(prev - c))
    u_next = (nxt - c) / np.hypot(*(nxt - c))
    spike = [c + 2 * e * u_prev, c + 2 * e * u_next, c, c + 3 * e * u_next]
    return Polygon([*ring[:k], *spike, *ring[k + 1 :]])
