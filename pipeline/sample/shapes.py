"""Single plot geometries: random polygons of an exact geodesic area, the area distribution
of the plots, geodesic areas, and plot placement without overlaps."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import shapely
import shapely.affinity
from pyproj import Geod
from shapely import MultiPolygon, Polygon, STRtree
from shapely.geometry.polygon import orient

_GEOD = Geod(ellps="WGS84")
_M2_PER_HA = 10_000.0
_AREA_RANGE_HA = (0.3, 15.0)
# Targets are drawn slightly inside the allowed range so that rounding the
# coordinates to 7 decimals can never push an area out of it.
_TARGET_RANGE_HA = (0.302, 14.95)


def _geodesic_area_m2(geom: shapely.Geometry) -> float:
    """Geodesic area on WGS84 in m² (holes subtracted)."""
    if geom is None or geom.is_empty:
        return 0.0
    if isinstance(geom, MultiPolygon):
        return sum(_geodesic_area_m2(part) for part in geom.geoms)
    return abs(_GEOD.geometry_area_perimeter(orient(geom, sign=1.0))[0])


def _metres_per_degree(lat: float) -> tuple[float, float]:
    """(m per degree of longitude, m per degree of latitude) on WGS84."""
    phi = math.radians(lat)
    m_lat = 111132.954 - 559.822 * math.cos(2 * phi) + 1.175 * math.cos(4 * phi)
    m_lon = 111412.84 * math.cos(phi) - 93.5 * math.cos(3 * phi)
    return m_lon, m_lat


def _round_coords(geom: shapely.Geometry) -> shapely.Geometry:
    return shapely.transform(geom, lambda xy: np.round(xy, 7))


class _ShapeMaker:
    """Builds random plot polygons of an exact geodesic area."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng

    def _star(self, n: int, jitter: float, lo: float, hi: float) -> np.ndarray:
        """Unit star-shaped ring (n x 2) around the origin; always simple."""
        rng = self.rng
        slots = np.arange(n) + rng.uniform(-0.35, 0.35, n)
        angles = np.sort((slots * (2 * math.pi / n) + rng.uniform(0, 2 * math.pi)) % (2 * math.pi))
        radii = np.clip(1.0 + jitter * rng.standard_normal(n), lo, hi)
        return np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])

    def _affine(self) -> np.ndarray:
        """Random rotation combined with a (sometimes strong) elongation."""
        rng = self.rng
        stretch = 1.0 if rng.random() < 0.65 else rng.uniform(1.6, 3.5)
        theta = rng.uniform(0, math.pi)
        rot = np.array([[math.cos(theta), -math.sin(theta)], [math.sin(theta), math.cos(theta)]])
        return rot @ np.diag([math.sqrt(stretch), 1 / math.sqrt(stretch)])

    def polygon(self, lon: float, lat: float, area_ha: float, *, hole: bool = False) -> Polygon:
        """A random 6-14 vertex polygon centred on (lon, lat) of ``area_ha``
        geodesic hectares (optionally with one interior ring)."""
        rng = self.rng
        shell = self._star(int(rng.integers(6, 15)), 0.2, 0.6, 1.5)
        holes = []
        if hole:  # max inner radius 0.39 < min outer radius 0.6: always inside
            holes = [0.3 * self._star(int(rng.integers(6, 10)), 0.1, 0.8, 1.3)]
        m = self._affine()
        unit_area = Polygon(shell, holes).area  # the affine map preserves area
        m *= math.sqrt(area_ha * _M2_PER_HA / unit_area)  # now in metres
        m_lon, m_lat = _metres_per_degree(lat)
        to_deg = np.array([1.0 / m_lon, 1.0 / m_lat])

        def ring(xy: np.ndarray) -> np.ndarray:
            return (xy @ m.T) * to_deg + (lon, lat)

        poly = Polygon(ring(shell), [ring(r) for r in holes])
        # The local metric approximation is good to ~0.1 %; rescale about the
        # centre to hit the geodesic area exactly.
        factor = math.sqrt(area_ha * _M2_PER_HA / _geodesic_area_m2(poly))
        poly = shapely.affinity.scale(poly, factor, factor, origin=(lon, lat))
        return orient(_round_coords(poly), sign=1.0)


def _sample_area_ha(rng: np.random.Generator, n: int) -> np.ndarray:
    """Plot areas: lognormal with median 2 ha, truncated to the allowed range."""
    lo, hi = _TARGET_RANGE_HA
    out = np.empty(0)
    while out.size < n:
        draw = rng.lognormal(math.log(2.0), 0.75, size=2 * n + 10)
        out = np.concatenate([out, draw[(draw >= lo) & (draw <= hi)]])
    return out[:n]


class _Placer:
    """Accepts candidate geometries that intersect no accepted one (STRtree)."""

    def __init__(self) -> None:
        self.geoms: list[shapely.Geometry] = []

    def add(self, candidates: list[shapely.Geometry]) -> np.ndarray:
        """Accept a batch greedily in order; returns the accepted mask."""
        cands = np.asarray(candidates, dtype=object)
        ok = np.ones(len(cands), dtype=bool)
        if self.geoms:
            hit, _ = STRtree(self.geoms).query(cands, predicate="intersects")
            ok[hit] = False
        conflicts: dict[int, list[int]] = defaultdict(list)
        for i, j in STRtree(cands).query(cands, predicate="intersects").T:
            if i != j:
                conflicts[int(i)].append(int(j))
        accepted = np.zeros(len(cands), dtype=bool)
        for i in range(len(cands)):
            if ok[i] and not any(accepted[j] for j in conflicts[i]):
                accepted[i] = True
        self.geoms.extend(cands[accepted])
        return accepted

    def add_one(self, geom: shapely.Geometry) -> bool:
        return bool(self.add([geom])[0])
