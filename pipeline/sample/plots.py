"""The plots layer: where the cocoa plots go (cooperatives on suitable land, the edge cases
first, then normal plots in batches), their identifiers and attributes (producers with 1-3
plots, declared areas), and the three defective rows appended at the end."""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from scipy.spatial import cKDTree
from shapely import MultiPolygon, Polygon

from .grid import _Grid, _Progress
from .landscape import CUTOFF_YEAR, LAST_LOSS_YEAR, _Landscape
from .shapes import (
    _M2_PER_HA,
    _geodesic_area_m2,
    _metres_per_degree,
    _Placer,
    _round_coords,
    _sample_area_ha,
    _ShapeMaker,
)

_COOPERATIVE_NAMES = (
    "Cooperativa Agraria Cacaotera Río Huallaga",
    "Cooperativa Agraria Alto Mayo",
    "Cooperativa de Productores Cacao Bajo Huallaga",
    "Cooperativa Agroindustrial Tocache Verde",
    "Cooperativa Agraria Cacaotera Juanjuí",
    "Cooperativa de Servicios Múltiples Sisa",
    "Cooperativa Agraria Nuevo Bellavista",
    "Asociación de Productores Cacaoteros Saposoa",
    "Cooperativa Agraria Frontera Biavo",
    "Cooperativa Cacaotera Valle del Ponaza",
    "Cooperativa Agraria Los Ángeles del Huayabamba",
    "Cooperativa de Productores Orgánicos Pachiza",
    "Cooperativa Agraria Cacao Fino El Dorado",
    "Cooperativa Agraria Bosque y Río Uchiza",
    "Asociación Agraria Flor de Cacao Picota",
    "Cooperativa Agraria Tres Unidos",
    "Cooperativa Cacaotera Shamboyacu",
    "Cooperativa Agraria Selva Alta Campanilla",
    "Cooperativa de Productores Cacao Chazuta",
    "Cooperativa Agraria Oro Verde del Huallaga",
)


@dataclass
class _Plot:
    geometry: shapely.Geometry
    cooperative: int
    kind: str = "normal"  # normal | edge | nodata | small | hole | multipolygon


#: ``make() -> (row, col, geometry)``: draws one candidate plot centred near pixel (row, col).
_Draw = Callable[[], tuple[float, float, shapely.Geometry]]


def _make_plots(
    rng: np.random.Generator, grid: _Grid, land: _Landscape, n_plots: int, log: _Progress
) -> tuple[gpd.GeoDataFrame, dict[str, list[str]]]:
    """Place the plots and build the attribute table (defective rows last)."""
    suit = _suitability(land)
    coops = _place_cooperatives(rng, suit, n_plots)
    drawer = _PlotDrawer(rng, grid, land, suit, coops)

    # Edge cases first, so that normal plots fill in around them.
    plots = _place_special_plots(drawer, n_plots)
    log(f"{len(plots)} special plots placed")
    _add_normal_plots(drawer, plots, n_plots)
    log(f"{len(plots)} plots placed")

    rows, specials = _attribute_rows(rng, plots, len(coops), n_plots)
    _append_defective_rows(drawer, rows, specials, n_plots)
    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    return gdf, dict(specials)


# --------------------------------------------------------------------------
# Where the plots go
# --------------------------------------------------------------------------


def _suitability(land: _Landscape) -> np.ndarray:
    """Suitability of a pixel for a cocoa plot (0-1): cleared land, old loss and secondary forest
    are preferred; recent loss and forest edges less so; water and roads are excluded."""
    suit = np.full(land.loss_year.shape, 0.01, dtype=np.float32)
    suit[land.dist_clearing < 12] = 0.3
    suit[land.secondary] = 0.6
    suit[land.clearing] = 1.0
    loss = land.loss_year
    suit[(loss >= 1) & (loss <= CUTOFF_YEAR)] = 1.0
    suit[(loss > CUTOFF_YEAR) & (loss <= LAST_LOSS_YEAR)] = 0.2
    suit[land.blocked] = 0.0
    return suit


@dataclass(frozen=True)
class _Cooperatives:
    """The regions of the cooperatives: plots of cooperative ``k`` cluster around pixel
    ``rc[k]`` (row, col) with a spread of ``sigma[k]`` px; ``weight[k]`` is its share of plots."""

    rc: np.ndarray
    sigma: np.ndarray
    weight: np.ndarray

    def __len__(self) -> int:
        return len(self.weight)

    def nearest(self, row: float, col: float) -> int:
        """The cooperative whose centre is nearest pixel (row, col)."""
        return int(np.argmin(np.hypot(self.rc[:, 0] - row, self.rc[:, 1] - col)))


def _place_cooperatives(rng: np.random.Generator, suit: np.ndarray, n_plots: int) -> _Cooperatives:
    """Cooperatives: regions centred on well-suited land, spread over the window."""
    h, w = suit.shape
    n_coops = min(len(_COOPERATIVE_NAMES), max(1, n_plots // 5))
    spacing = math.sqrt(h * w / n_coops)
    p = suit.ravel().astype(np.float64) ** 2
    p /= p.sum()
    pool = rng.choice(h * w, size=400 * n_coops, p=p)
    coop_rc: list[tuple[int, int]] = []
    for min_dist in (0.7 * spacing, 0.45 * spacing, 0.2 * spacing, 0.0):
        for f in pool:
            rc = (int(f // w), int(f % w))
            if len(coop_rc) < n_coops and all(math.dist(rc, other) >= min_dist for other in coop_rc):
                coop_rc.append(rc)
        if len(coop_rc) == n_coops:
            break
    coop_xy = np.array(coop_rc, dtype=float)
    coop_sigma = 0.3 * spacing * rng.uniform(0.7, 1.3, n_coops)
    coop_weight = rng.lognormal(0.0, 0.5, n_coops)
    coop_weight /= coop_weight.sum()
    return _Cooperatives(rc=coop_xy, sigma=coop_sigma, weight=coop_weight)


class _PlotDrawer:
    """Draws candidate plots of each kind (``edge_plot()``, ``normal_plot()``... each returning
    ``(row, col, geometry)``) and places them where they overlap no plot placed before."""

    def __init__(
        self,
        rng: np.random.Generator,
        grid: _Grid,
        land: _Landscape,
        suit: np.ndarray,
        coops: _Cooperatives,
    ) -> None:
        self.rng = rng
        self.grid = grid
        self.land = land
        self.suit = suit
        self.coops = coops
        self.shapes = _ShapeMaker(rng)
        self.placer = _Placer()

    def polygon_at(self, row: float, col: float, area_ha: float, **kw) -> Polygon:
        lon, lat = self.grid.to_lonlat(row, col)
        return self.shapes.polygon(float(lon), float(lat), area_ha, **kw)

    def place_one(self, kind: str, make: _Draw) -> tuple[float, float, shapely.Geometry]:
        """Draw ``make() -> (row, col, geometry)`` until it fits among the others."""
        for _attempt in range(1000):
            row, col, geom = make()
            if self.placer.add_one(shapely.envelope(geom) if kind == "bowtie" else geom):
                return row, col, geom
        raise RuntimeError(f"could not place a {kind!r} plot: window too crowded")

    def normal_center(self) -> tuple[float, float]:
        """A plot centre (row, col) near a cooperative, on suitable land."""
        rng, h, w = self.rng, *self.grid.shape
        coops, suit = self.coops, self.suit
        while True:
            k = int(rng.choice(len(coops), p=coops.weight))
            row, col = coops.rc[k] + coops.sigma[k] * rng.standard_normal(2)
            if 0 <= row < h - 1 and 0 <= col < w - 1 and rng.random() < suit[int(row), int(col)]:
                return row, col

    def edge_plot(self):
        """A plot straddling the outer edge of the rasters."""
        rng, h, w = self.rng, *self.grid.shape
        side = int(rng.integers(4))
        t = rng.uniform(0.05, 0.95)
        row, col = [(-0.5, t * w), (h - 0.5, t * w), (t * h, -0.5), (t * h, w - 0.5)][side]
        return row, col, self.polygon_at(row, col, float(_sample_area_ha(rng, 1)[0]))

    def nodata_plot(self):
        """A plot over the nodata strip of the loss raster."""
        rng, h = self.rng, self.grid.height
        col0, slope = self.land.strip_center
        row = rng.uniform(0.03, 0.97) * h
        col = col0 + slope * row + rng.uniform(-0.6, 0.6) * self.land.strip_half_width
        return row, col, self.polygon_at(row, col, float(_sample_area_ha(rng, 1)[0]))

    def normal_plot(self):
        row, col = self.normal_center()
        return row, col, self.polygon_at(row, col, float(_sample_area_ha(self.rng, 1)[0]))

    def small_plot(self):
        row, col = self.normal_center()
        return row, col, self.polygon_at(row, col, self.rng.uniform(0.302, 0.5))

    def hole_plot(self):
        row, col = self.normal_center()
        return row, col, self.polygon_at(row, col, self.rng.uniform(3.0, 8.0), hole=True)

    def multipolygon_plot(self):
        """Two polygons, apart, as one MultiPolygon plot."""
        rng, grid = self.rng, self.grid
        row, col = self.normal_center()
        a1, a2 = rng.uniform(0.8, 3.0, 2)
        first = self.polygon_at(row, col, a1)
        # The second part lies beside the first, beyond a creek or a track:
        # step away along a random direction until the two parts are apart.
        m_per_px = grid.px * _metres_per_degree((grid.lat_min + grid.lat_max) / 2)[1]
        step = math.sqrt((a1 + a2) * _M2_PER_HA / math.pi) / m_per_px
        angle = rng.uniform(0, 2 * math.pi)
        dist = step
        while True:
            r2, c2 = row + dist * math.sin(angle), col + dist * math.cos(angle)
            second = self.polygon_at(r2, c2, a2)
            if first.distance(second) > 20 / _metres_per_degree(grid.lat_min)[1]:
                return row, col, MultiPolygon([first, second])
            dist += 0.5 * step

    def bowtie_plot(self):
        """A ~1.2 ha square whose corners are visited crosswise (self-intersecting)."""
        row, col = self.normal_center()
        lon, lat = (float(v) for v in self.grid.to_lonlat(row, col))
        half = 0.0005  # ~55 m
        x0, y0, x1, y1 = lon - half, lat - half, lon + half, lat + half
        return row, col, _round_coords(Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)]))


def _place_special_plots(drawer: _PlotDrawer, n_plots: int) -> list[_Plot]:
    """The edge cases among the normal plots: a MultiPolygon, a polygon with a hole, plots on
    the raster edge, over the nodata strip, and very small ones (fewer for few plots)."""
    plots: list[_Plot] = []
    budget = n_plots
    for kind, count, make in (
        ("multipolygon", 1, drawer.multipolygon_plot),
        ("hole", 1, drawer.hole_plot),
        ("edge", min(5, n_plots // 10), drawer.edge_plot),
        ("nodata", min(10, n_plots // 10), drawer.nodata_plot),
        ("small", min(4, n_plots // 20), drawer.small_plot),
    ):
        count = min(count, budget)
        for _ in range(count):
            row, col, geom = drawer.place_one(kind, make)
            plots.append(_Plot(geom, drawer.coops.nearest(row, col), kind))
        budget -= count
    return plots


def _add_normal_plots(drawer: _PlotDrawer, plots: list[_Plot], n_plots: int) -> None:
    """Fill ``plots`` up to ``n_plots`` with normal plots, drawn and placed in batches."""
    rng = drawer.rng
    for _round in range(100):
        need = n_plots - len(plots)
        if need <= 0:
            break
        batch = int(need * 1.2) + 10
        centers = [drawer.normal_center() for _ in range(batch)]
        areas = _sample_area_ha(rng, batch)
        geoms = [drawer.polygon_at(r, c, a) for (r, c), a in zip(centers, areas)]
        accepted = drawer.placer.add(geoms)
        for (row, col), geom, ok in zip(centers, geoms, accepted):
            if ok and len(plots) < n_plots:
                plots.append(_Plot(geom, drawer.coops.nearest(row, col)))
    else:
        raise RuntimeError(f"could not place {n_plots} non-overlapping plots in {drawer.grid.shape} px")


# --------------------------------------------------------------------------
# Identifiers and attributes
# --------------------------------------------------------------------------


def _cooperative_id(k: int) -> str:
    return f"COOP-{k + 1:02d}"


def _plot_id(number: int, n_plots: int) -> str:
    """``SM-<number>``, zero-padded with room for the normal plots and the three defective rows."""
    width = max(5, len(str(n_plots + 3)))
    return f"SM-{number:0{width}d}"


def _attribute_rows(
    rng: np.random.Generator, plots: list[_Plot], n_coops: int, n_plots: int
) -> tuple[list[dict], defaultdict[str, list[str]]]:
    """The rows of the normal plots, ordered by cooperative: identifiers (producers with 1-3
    plots), cooperative, declared area (the geodesic area perturbed by a few percent).

    Returns the rows and the ids of the edge-case plots by kind (``edge``, ``hole``...).
    """
    order = np.lexsort((rng.random(len(plots)), np.array([p.cooperative for p in plots])))
    plots = [plots[i] for i in order]
    coop_ids = [_cooperative_id(k) for k in range(n_coops)]
    plot_ids = [_plot_id(i + 1, n_plots) for i in range(len(plots))]
    producer_of = _assign_producers(rng, plots)
    prod_width = max(4, len(str(max(producer_of) + 2)))
    producer_ids = [f"P-{k + 1:0{prod_width}d}" for k in producer_of]

    areas_ha = np.array([_geodesic_area_m2(p.geometry) / _M2_PER_HA for p in plots])
    error = np.clip(1 + 0.03 * rng.standard_normal(len(plots)), 0.85, 1.15)
    declared = np.round(areas_ha * error, 2)
    rows = [
        {
            "plot_id": pid,
            "producer_id": prod,
            "cooperative_id": coop_ids[p.cooperative],
            "cooperative_name": _COOPERATIVE_NAMES[p.cooperative],
            "declared_area_ha": float(area),
            "note": "",
            "geometry": p.geometry,
        }
        for pid, prod, p, area in zip(plot_ids, producer_ids, plots, declared)
    ]
    specials: defaultdict[str, list[str]] = defaultdict(list)
    for pid, p in zip(plot_ids, plots):
        if p.kind != "normal":
            specials[p.kind].append(pid)
    return rows, specials


def _assign_producers(rng: np.random.Generator, plots: list[_Plot]) -> list[int]:
    """Producer index per plot: most producers have one plot, some 2-3 plots
    close to each other within the same cooperative."""
    centroids = shapely.get_coordinates(shapely.centroid([p.geometry for p in plots]))
    coops = np.array([p.cooperative for p in plots])
    taken = np.zeros(len(plots), dtype=bool)
    groups: list[list[int]] = []
    for k in np.unique(coops):
        members = np.flatnonzero(coops == k)
        tree = cKDTree(centroids[members])
        for i in rng.permutation(len(members)):
            if taken[members[i]]:
                continue
            size = int(rng.choice([1, 2, 3], p=[0.78, 0.16, 0.06]))
            _, near = tree.query(centroids[members[i]], k=min(len(members), 8))
            group = [int(members[j]) for j in np.atleast_1d(near) if not taken[members[j]]][:size]
            taken[group] = True
            groups.append(group)
    # Number producers in order of their first plot (so P-0001 owns SM-00001).
    producer = np.empty(len(plots), dtype=int)
    for number, group in enumerate(sorted(groups, key=min)):
        producer[group] = number
    return producer.tolist()


# --------------------------------------------------------------------------
# Defective rows
# --------------------------------------------------------------------------


def _append_defective_rows(drawer: _PlotDrawer, rows: list[dict], specials: dict[str, list[str]], n_plots: int) -> None:
    """Append the three defective rows (an empty geometry, a bowtie, a duplicated id) to
    ``rows``, each borrowing the producer and cooperative of a normal row; record their ids
    in ``specials``."""
    rng = drawer.rng
    n = len(rows)
    rows.append(
        _defect_row(
            rows,
            _plot_id(n + 1, n_plots),
            int(rng.integers(n)),
            Polygon(),
            rng.uniform(0.5, 4.0),
            "DEFECT: empty geometry",
        )
    )
    row, col, bowtie = drawer.place_one("bowtie", drawer.bowtie_plot)
    coop = _cooperative_id(drawer.coops.nearest(row, col))
    like = next((i for i in range(n) if rows[i]["cooperative_id"] == coop), 0)
    rows.append(
        _defect_row(
            rows,
            _plot_id(n + 2, n_plots),
            like,
            bowtie,
            rng.uniform(1.0, 1.4),
            "DEFECT: self-intersecting polygon (bowtie), invalid",
        )
    )
    original = int(rng.integers(n))
    _, _, dup = drawer.place_one("duplicate", drawer.normal_plot)
    rows.append(
        _defect_row(
            rows,
            rows[original]["plot_id"],
            original,
            dup,
            _geodesic_area_m2(dup) / _M2_PER_HA,
            "DEFECT: duplicated plot_id (a different plot reusing the id of an earlier row)",
        )
    )
    specials["empty"] = [rows[n]["plot_id"]]
    specials["bowtie"] = [rows[n + 1]["plot_id"]]
    specials["duplicate"] = [rows[n + 2]["plot_id"]]


def _defect_row(rows: list[dict], plot_id: str, like: int, geom: shapely.Geometry, area: float, note: str) -> dict:
    """A row with the producer and cooperative of ``rows[like]``."""
    base = rows[like]
    return {
        "plot_id": plot_id,
        "producer_id": base["producer_id"],
        "cooperative_id": base["cooperative_id"],
        "cooperative_name": base["cooperative_name"],
        "declared_area_ha": round(float(area), 2),
        "note": note,
        "geometry": geom,
    }
