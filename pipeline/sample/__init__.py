"""Deterministic generator of a SYNTHETIC sample dataset for cacao-screen.

Nothing written by this module is real data.  It produces a small, seeded,
reproducible stand-in for the inputs of a deforestation screening in the cocoa
frontier of San Martín, Peru, so that the pipeline, its tests and ``make run``
work without downloading the (large) real rasters.

What it imitates
----------------
The rasters follow the conventions of the Hansen/UMD/Google/USGS/NASA *Global
Forest Change* (GFC) product:

``treecover2000.tif``
    Canopy closure in the year 2000, in percent (0-100), ``uint8``, no nodata.
``lossyear.tif``
    Year of stand-replacement forest loss: ``0`` = no loss, ``k`` = loss in
    year ``2000 + k`` (``k`` in 1..24), ``255`` = nodata.

Both are EPSG:4326 GeoTIFFs on a 0.00025° (~27.7 m) grid, tiled in 256 x 256
blocks, DEFLATE-compressed, and tagged ``SYNTHETIC=yes``.

The landscape is painted from seeded smooth noise (``numpy.random.default_rng``
plus :mod:`scipy.ndimage`) and a few hand-drawn structures:

* dense humid forest (cover ~80-100 %) with smooth spatial variation;
* a meandering river (open water, cover ~0) with riverside fields;
* a trunk road along the valley and one or two feeder roads, lined with
  pasture/cropland clearings (cover 0-30 %) that already existed in 2000;
* patches and clearing fringes of secondary/degraded forest (cover 20-70 %);
* forest-loss patches: irregular blobs clustered at the edges of the 2000
  clearings, each with a single loss year.  Years follow the rising trend of
  the Peruvian Amazon (peaks in 2014, 2017, 2020 and 2024) and patches further
  from the original clearings tend to be more recent, so the agricultural
  frontier visibly grows away from the roads.  A little single-pixel speckle
  and a few loss pixels on non-forest pixels imitate GFC noise;
* a ~40 px wide, slightly slanted strip of nodata (255) in the loss raster,
  like a scan gap or persistent cloud; the tree cover stays valid there.

``plots.gpkg`` (layer ``plots``) holds invented cocoa plots: non-overlapping,
irregular polygons of 0.3-15 ha (median ~2 ha, geodesic areas), clustered by
cooperative near the roads and clearings.  It deliberately includes edge cases
(plots straddling the raster edge, plots over the nodata strip, tiny plots, a
polygon with a hole, a two-part MultiPolygon) and three *defective* rows
appended at the end, flagged in the ``note`` column: an empty geometry, a
self-intersecting "bowtie" polygon and a duplicated ``plot_id``.

Determinism: the same seed and arguments always give byte-identical raster
arrays and identical plot geometries and attributes.

Usage::

    from pipeline.sample import generate_sample
    paths = generate_sample("data/sample")          # ~ what `cacao-screen sample` runs
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import rasterio
import rasterio.features
import shapely
import shapely.affinity
from pyproj import Geod
from rasterio.transform import Affine, from_origin
from scipy import ndimage
from scipy.spatial import cKDTree
from shapely import MultiPolygon, Polygon, STRtree
from shapely.geometry.polygon import orient

__all__ = [
    "DEFAULT_SEED",
    "PIXEL_SIZE",
    "SAMPLE_BOUNDS",
    "SamplePaths",
    "generate_sample",
]

DEFAULT_SEED = 20201231
SAMPLE_BOUNDS = (-76.75, -8.5, -76.25, -8.0)  # lon_min, lat_min, lon_max, lat_max
PIXEL_SIZE = 0.00025

LOSS_NODATA = 255
LAST_LOSS_YEAR = 24  # Hansen GFC v1.12 covers 2001-2024
CUTOFF_YEAR = 20  # loss codes > 20 are "after 2020" (EUDR cut-off: 31 Dec 2020)
GENERATOR = "cacao-screen sample"

_GEOD = Geod(ellps="WGS84")
_M2_PER_HA = 10_000.0
_AREA_RANGE_HA = (0.3, 15.0)
# Targets are drawn slightly inside the allowed range so that rounding the
# coordinates to 7 decimals can never push an area out of it.
_TARGET_RANGE_HA = (0.302, 14.95)
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

# Relative amount of forest loss per year code 1..24 (2001..2024): a rising
# trend with the peaks seen in the Peruvian Amazon (2014, 2017, 2020, 2024).
_YEAR_WEIGHTS = np.array(
    [0.45, 0.45, 0.50, 0.60, 0.65, 0.55, 0.60, 0.62, 0.75, 0.70, 0.72, 0.85,
     0.85, 1.08, 0.92, 0.98, 1.05, 0.88, 0.95, 1.15, 1.00, 0.95, 0.95, 1.20]
)


@dataclass(frozen=True)
class SamplePaths:
    """Locations of the files of a generated sample."""

    root: Path
    loss_year: Path  # root / "lossyear.tif"
    tree_cover: Path  # root / "treecover2000.tif"
    plots: Path  # root / "plots.gpkg" (layer "plots")

    @property
    def districts(self) -> Path:
        """``root / "districts.gpkg"`` (layer ``districts``): synthetic administrative regions."""
        return self.root / "districts.gpkg"

    @property
    def deliveries(self) -> Path:
        """``root / "deliveries.csv"``: synthetic cocoa deliveries (lots of plots sold to buyers)."""
        return self.root / "deliveries.csv"

    @classmethod
    def under(cls, root: Path | str) -> SamplePaths:
        """The paths a sample written to ``root`` has."""
        root = Path(root)
        return cls(
            root=root,
            loss_year=root / "lossyear.tif",
            tree_cover=root / "treecover2000.tif",
            plots=root / "plots.gpkg",
        )


def generate_sample(
    out_dir: Path | str,
    *,
    seed: int = DEFAULT_SEED,
    n_plots: int = 2000,
    bounds: tuple[float, float, float, float] = SAMPLE_BOUNDS,
    pixel_size: float = PIXEL_SIZE,
    progress: bool = False,
    tiles: int = 2,
) -> SamplePaths:
    """Generate the synthetic sample (two Hansen-style rasters and a plots layer).

    Args:
        out_dir: Directory to create.  An existing directory is replaced.
        seed: Seed of ``numpy.random.default_rng``; the same seed and
            arguments give identical rasters and plots.
        n_plots: Number of normal (valid) plots.  Three deliberately defective
            rows are appended on top of these.
        bounds: ``(lon_min, lat_min, lon_max, lat_max)`` of the raster grid,
            in degrees; must be a whole number of pixels wide and high.
        pixel_size: Pixel size in degrees (Hansen GFC uses 0.00025).
        progress: Print progress messages to stderr.
        tiles: Also write both rasters as ``tiles`` x ``tiles`` tiles in ``tiles/``
            (``lossyear_r<i>_c<j>.tif``...), like a folder of Hansen tiles, so the
            multi-tile path is exercised; 1 writes no tiles.

    Returns:
        The paths of the written files.

    The sample is written to a temporary sibling directory which is renamed
    into place once complete, so ``out_dir`` is never left half-written.  The
    last file written before the rename is the empty marker ``.complete``.
    """
    if n_plots < 1:
        raise ValueError(f"n_plots must be >= 1, got {n_plots}")
    grid = _Grid.from_bounds(bounds, pixel_size)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    log = _Progress(progress)

    rng = np.random.default_rng(seed)
    land = _make_landscape(rng, grid, log)
    plots, specials = _make_plots(rng, grid, land, n_plots, log)
    # Districts and deliveries come after, from their own stream, so that adding them changed
    # nothing in the rasters and plots above.
    districts = _make_districts(grid)
    deliveries = _make_deliveries(np.random.default_rng([seed, 1]), plots)

    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        staged = SamplePaths.under(tmp)
        tags = {"GENERATOR": GENERATOR, "SEED": str(seed), "SYNTHETIC": "yes"}
        _write_raster(
            staged.loss_year,
            land.loss_year,
            grid,
            nodata=LOSS_NODATA,
            tags={
                **tags,
                "DESCRIPTION": (
                    "SYNTHETIC Hansen-GFC-like forest loss year: 0 = no loss, "
                    f"k = loss in year 2000+k (1..{LAST_LOSS_YEAR}), "
                    f"{LOSS_NODATA} = nodata. NOT real Hansen data."
                ),
            },
        )
        _write_raster(
            staged.tree_cover,
            land.tree_cover,
            grid,
            nodata=None,
            tags={
                **tags,
                "DESCRIPTION": (
                    "SYNTHETIC Hansen-GFC-like tree canopy cover for year 2000, "
                    "percent 0-100. NOT real Hansen data."
                ),
            },
        )
        if tiles > 1:
            for name, array, nodata in (("lossyear", land.loss_year, LOSS_NODATA),
                                        ("treecover2000", land.tree_cover, None)):
                _write_tiles(tmp / "tiles", name, array, grid, tiles, nodata=nodata,
                             tags={**tags, "DESCRIPTION": f"SYNTHETIC {name} tile. NOT real Hansen data."})
        log("rasters written")
        pyogrio.write_dataframe(
            plots,
            staged.plots,
            layer="plots",
            driver="GPKG",
            # Keep Polygon and MultiPolygon rows as they are (a generic
            # GEOMETRY layer) instead of promoting every plot to MultiPolygon.
            geometry_type="Unknown",
            promote_to_multi=False,
        )
        log("plots written")
        pyogrio.write_dataframe(districts, staged.districts, layer="districts", driver="GPKG",
                                promote_to_multi=True)
        deliveries.to_csv(staged.deliveries, index=False, encoding="utf-8", lineterminator="\n")
        log("districts and deliveries written")
        readme = _readme(seed, grid, n_plots, land, plots, specials)
        readme += _readme_baseline(districts, deliveries, plots)
        (tmp / "README.md").write_text(readme, encoding="utf-8")
        (tmp / ".complete").touch()
        os.chmod(tmp, 0o755)  # mkdtemp creates it 0700
        _replace_dir(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"sample complete in {out_dir}")
    return SamplePaths.under(out_dir)


def _write_tiles(folder: Path, name: str, array: np.ndarray, grid: "_Grid", n: int, *,
                 nodata, tags: dict[str, str]) -> None:
    """Write ``array`` as n x n tiles ``<name>_r<i>_c<j>.tif`` on the same grid."""
    folder.mkdir(exist_ok=True)
    h, w = array.shape
    for i in range(n):
        for j in range(n):
            r0, r1 = i * h // n, (i + 1) * h // n
            c0, c1 = j * w // n, (j + 1) * w // n
            sub = _Grid.from_bounds(
                (grid.lon_min + c0 * grid.px, grid.lat_max - r1 * grid.px,
                 grid.lon_min + c1 * grid.px, grid.lat_max - r0 * grid.px), grid.px)
            _write_raster(folder / f"{name}_r{i}_c{j}.tif", np.ascontiguousarray(array[r0:r1, c0:c1]), sub,
                          nodata=nodata, tags=tags)


# --------------------------------------------------------------------------
# Grid, progress and small helpers
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class _Grid:
    """A north-up lon/lat pixel grid. Pixel (row, col) has its centre at
    ``(lon_min + (col + 0.5) * px, lat_max - (row + 0.5) * px)``."""

    lon_min: float
    lat_min: float
    lon_max: float
    lat_max: float
    px: float
    width: int
    height: int

    @classmethod
    def from_bounds(cls, bounds: tuple[float, float, float, float], px: float) -> _Grid:
        lon_min, lat_min, lon_max, lat_max = (float(v) for v in bounds)
        if not (px > 0 and lon_max > lon_min and lat_max > lat_min):
            raise ValueError(f"invalid bounds {bounds} or pixel size {px}")
        width = round((lon_max - lon_min) / px)
        height = round((lat_max - lat_min) / px)
        for n, span in ((width, lon_max - lon_min), (height, lat_max - lat_min)):
            if n < 64 or abs(n * px - span) > 1e-6 * px:
                raise ValueError(
                    f"bounds {bounds} must span a whole number (>= 64) of {px}° pixels"
                )
        return cls(lon_min, lat_min, lon_max, lat_max, float(px), width, height)

    @property
    def shape(self) -> tuple[int, int]:
        return self.height, self.width

    @property
    def transform(self) -> Affine:
        return from_origin(self.lon_min, self.lat_max, self.px, self.px)

    def to_lonlat(self, row: np.ndarray | float, col: np.ndarray | float):
        """Continuous pixel coordinates (centre of pixel = integer) to lon/lat."""
        return self.lon_min + (np.asarray(col) + 0.5) * self.px, self.lat_max - (
            np.asarray(row) + 0.5
        ) * self.px


class _Progress:
    """Timestamped progress messages on stderr (or nothing)."""

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled
        self.t0 = time.perf_counter()

    def __call__(self, message: str) -> None:
        if self.enabled:
            print(f"[sample {time.perf_counter() - self.t0:6.1f}s] {message}", file=sys.stderr)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, int], scale: float) -> np.ndarray:
    """Gaussian-like random field with correlation length ~``scale`` pixels,
    standardised to mean 0 and standard deviation 1 (float32)."""
    h, w = shape
    s = max(int(round(scale)), 1)
    coarse = rng.standard_normal((h // s + 4, w // s + 4)).astype(np.float32)
    field = ndimage.zoom(coarse, s, order=3, output=np.float32)[s : s + h, s : s + w]
    field -= field.mean()
    field /= field.std() + 1e-12
    return field


def _wiggly_path(
    rng: np.random.Generator,
    start: tuple[float, float],
    end: tuple[float, float],
    *,
    amplitude: float,
    smoothness: float,
) -> np.ndarray:
    """A gently curving random line (a road) from ``start`` to ``end`` in
    (row, col) pixel space, sampled every 0.5 px along its length.

    The lateral offset is a Brownian bridge smoothed over ``smoothness`` px
    and scaled to a maximum of ``amplitude`` px.
    """
    p0, p1 = np.asarray(start, float), np.asarray(end, float)
    length = float(np.hypot(*(p1 - p0)))
    n = max(int(length), 2)
    t = np.linspace(0.0, 1.0, n)
    walk = np.cumsum(rng.standard_normal(n))
    walk -= t * walk[-1]
    walk = ndimage.gaussian_filter1d(walk, sigma=max(smoothness, 1.0), mode="nearest")
    walk *= amplitude / (np.abs(walk).max() + 1e-12)
    direction = (p1 - p0) / length
    normal = np.array([-direction[1], direction[0]])
    pts = p0 + t[:, None] * (p1 - p0) + walk[:, None] * normal
    # Resample at even 0.5 px arc-length steps so the rasterised line has no gaps.
    seg = np.hypot(*np.diff(pts, axis=0).T)
    s = np.concatenate([[0.0], np.cumsum(seg)])
    s_new = np.arange(0.0, s[-1], 0.5)
    return np.column_stack([np.interp(s_new, s, pts[:, 0]), np.interp(s_new, s, pts[:, 1])])


def _river_path(
    rng: np.random.Generator, col_start: float, col_end: float, height: int
) -> np.ndarray:
    """A meandering river flowing from the top to the bottom edge, in (row,
    col) pixel space, sampled every 0.5 px along its course.

    The heading follows a "sine-generated curve" (Langbein & Leopold), the
    classic model of river meanders, whose amplitude and wavelength drift
    along the course; a weak pull towards the straight line between the end
    points keeps the valley axis inside the window.
    """
    ds = 0.5
    n_max = int(6 * height / ds)
    envelope = ndimage.gaussian_filter1d(rng.standard_normal(n_max), 400 / ds)
    envelope = np.clip(0.65 + 0.35 * envelope / (np.abs(envelope).max() + 1e-12), 0.2, 1.0)
    drift = ndimage.gaussian_filter1d(rng.standard_normal(n_max), 600 / ds)
    wavelength = rng.uniform(150, 260) * np.exp(0.35 * drift / (np.abs(drift).max() + 1e-12))
    phase = np.cumsum(2 * np.pi * ds / wavelength) + rng.uniform(0, 2 * np.pi)
    wobble = np.deg2rad(70) * envelope * np.sin(phase)
    row, col = -20.0, col_start
    out = np.empty((n_max, 2))
    for i in range(n_max):
        axis = col_start + (col_end - col_start) * max(row, 0.0) / height
        heading = wobble[i] - 0.6 * math.tanh((col - axis) / 80.0)  # 0 = due south
        row += ds * math.cos(heading)
        col += ds * math.sin(heading)
        out[i] = row, col
        if row > height + 20:
            return out[: i + 1]
    return out


def _distance_to_paths(shape: tuple[int, int], paths: list[np.ndarray]) -> np.ndarray:
    """Euclidean distance (pixels, float32) from each pixel to the nearest path."""
    mask = np.zeros(shape, dtype=bool)
    for pts in paths:
        rc = np.round(pts).astype(np.int64)
        inside = (rc[:, 0] >= 0) & (rc[:, 0] < shape[0]) & (rc[:, 1] >= 0) & (rc[:, 1] < shape[1])
        mask[rc[inside, 0], rc[inside, 1]] = True
    if not mask.any():  # path entirely outside the window
        return np.full(shape, np.inf, dtype=np.float32)
    return ndimage.distance_transform_edt(~mask).astype(np.float32)


def _point_on_path(pts: np.ndarray, frac: float) -> tuple[float, float]:
    row, col = pts[min(int(frac * len(pts)), len(pts) - 1)]
    return float(row), float(col)


# --------------------------------------------------------------------------
# Rasters
# --------------------------------------------------------------------------


@dataclass
class _Landscape:
    tree_cover: np.ndarray  # uint8 0..100
    loss_year: np.ndarray  # uint8 0..24, 255 = nodata
    clearing: np.ndarray  # bool, non-forest land use in 2000
    secondary: np.ndarray  # bool, secondary / degraded forest in 2000
    dist_clearing: np.ndarray  # float32 px to the nearest 2000 clearing
    blocked: np.ndarray  # bool, river water and road surface
    strip_center: tuple[float, float]  # nodata strip centre column: (col at row 0, cols per row)
    strip_half_width: float


def _make_landscape(rng: np.random.Generator, grid: _Grid, log: _Progress) -> _Landscape:
    """Paint tree cover 2000 and the loss-year raster."""
    h, w = grid.shape
    shape = grid.shape

    # --- River (N -> S through the western half) and roads ------------------
    river = _river_path(rng, w * rng.uniform(0.22, 0.38), w * rng.uniform(0.22, 0.40), h)
    dist_river = _distance_to_paths(shape, [river])
    trunk = _wiggly_path(
        rng,
        (-20.0, w * rng.uniform(0.45, 0.55)),
        (h + 20.0, w * rng.uniform(0.45, 0.60)),
        amplitude=0.03 * w,
        smoothness=0.2 * h,
    )
    roads = [trunk]
    for _ in range(int(rng.integers(1, 3))):  # feeder roads, east or west
        start = _point_on_path(trunk, rng.uniform(0.15, 0.85))
        end = (start[0] + rng.uniform(-0.35, 0.35) * h, -20.0 if rng.random() < 0.35 else w + 20.0)
        roads.append(_wiggly_path(rng, start, end, amplitude=0.04 * w, smoothness=0.1 * w))
    dist_road = _distance_to_paths(shape, roads)
    log("river and roads traced")

    # --- Land cover in 2000 -------------------------------------------------
    river_half_width = 4.5 + 1.5 * _smooth_noise(rng, shape, 60)
    water = dist_river < river_half_width
    road = dist_road < 1.5
    # Fields and pastures: a mosaic that thins out away from the roads (the
    # reach varies along the road) and along the river banks, plus a few old
    # isolated clearings deep in the forest.
    n_reach = _smooth_noise(rng, shape, 60)
    n_fields = _smooth_noise(rng, shape, 10)
    reach = 55.0 * np.exp(0.45 * n_reach)
    from_bank = np.maximum(dist_river - river_half_width, 0.0)
    pressure = 2.3 * np.exp(-dist_road / reach) + 1.4 * np.exp(-from_bank / 12.0)
    clearing = pressure * (1.0 + 0.6 * n_fields) > 0.9
    clearing |= _smooth_noise(rng, shape, 25) > 3.0
    clearing &= ~water
    dist_clearing = ndimage.distance_transform_edt(~clearing).astype(np.float32)
    # Secondary / degraded forest: fallows near the frontier, a fringe around
    # the clearings and a few scattered degraded patches.
    n_secondary = _smooth_noise(rng, shape, 30)
    secondary = n_secondary > 2.3 - 1.4 * np.exp(-dist_clearing / 40.0)
    secondary |= (dist_clearing > 0) & (dist_clearing < 3.0 + 2.0 * n_fields)
    secondary &= ~clearing & ~water

    forest_cover = 91.0 + 5.0 * _smooth_noise(rng, shape, 60) + 2.5 * _smooth_noise(rng, shape, 6)
    cover = np.clip(forest_cover, 72.0, 100.0)
    n_mixed = _smooth_noise(rng, shape, 4)
    jitter = rng.standard_normal(shape, dtype=np.float32)
    cover = np.where(secondary, np.clip(45.0 + 12.0 * n_mixed + 5.0 * jitter, 20.0, 70.0), cover)
    cover = np.where(clearing, np.clip(10.0 + 8.0 * n_mixed + 5.0 * jitter, 0.0, 30.0), cover)
    cover = ndimage.gaussian_filter(cover, 0.6)  # mixed pixels at the edges
    cover = np.where(road, 2.0 * np.abs(jitter), cover)
    cover = np.where(water, 0.0, cover)
    tree_cover = np.clip(np.rint(cover), 0, 100).astype(np.uint8)
    del cover, forest_cover, n_mixed, jitter, pressure, reach
    log("tree cover painted")

    loss = _paint_loss(rng, grid, tree_cover, dist_clearing, dist_road)
    log("forest loss painted")

    # --- Nodata strip: ~40 px wide, slightly slanted, in the eastern part ----
    half_width = min(20.0, 0.05 * w)
    slope = rng.uniform(-0.12, 0.12)
    col0 = w * rng.uniform(0.76, 0.86) - slope * h / 2
    rows, cols = np.ogrid[:h, :w]
    loss[np.abs(cols - (col0 + slope * rows)) < half_width] = LOSS_NODATA

    return _Landscape(
        tree_cover=tree_cover,
        loss_year=loss,
        clearing=clearing,
        secondary=secondary,
        dist_clearing=dist_clearing,
        blocked=water | road,
        strip_center=(float(col0), float(slope)),
        strip_half_width=float(half_width),
    )


def _paint_loss(
    rng: np.random.Generator,
    grid: _Grid,
    tree_cover: np.ndarray,
    dist_clearing: np.ndarray,
    dist_road: np.ndarray,
) -> np.ndarray:
    """Forest-loss patches clustered at the frontier, one year per patch."""
    h, w = grid.shape
    loss = np.zeros(grid.shape, dtype=np.uint8)

    # Where patches start: forest next to the 2000 clearings, less often along
    # roads, rarely deep in the forest.
    weight = (tree_cover >= 30) * (
        np.exp(-dist_clearing / 15.0) * (0.08 + np.exp(-dist_road / 250.0)) + 0.001
    )
    weight = weight.ravel().astype(np.float64)
    weight /= weight.sum()

    # Patch sizes: lognormal, median ~45 px (~3.5 ha), a few of several 100 ha.
    median_area_px = 45.0
    target_fraction = rng.uniform(0.075, 0.10)
    mean_area = median_area_px * math.exp(0.5)
    n = max(int(target_fraction * h * w / (0.75 * mean_area)), 10)
    areas = np.clip(rng.lognormal(math.log(median_area_px), 1.0, size=n), 3.0, 4000.0)

    flat = rng.choice(h * w, size=n, p=weight)
    centers = np.column_stack([flat // w, flat % w]).astype(float) + rng.uniform(-0.5, 0.5, (n, 2))

    # Years: drawn from the regional trend, then handed out so that patches
    # further from the 2000 clearings tend to be more recent.
    year_codes = np.arange(1, LAST_LOSS_YEAR + 1)
    year_p = _YEAR_WEIGHTS * rng.uniform(0.9, 1.1, size=_YEAR_WEIGHTS.size)
    year_p /= year_p.sum()
    years = np.sort(rng.choice(year_codes, size=n, p=year_p))
    distance = dist_clearing.ravel()[flat] + 0.1 * dist_road.ravel()[flat]
    key = np.argsort(np.argsort(distance, kind="stable"), kind="stable") / n
    key = key + 0.45 * rng.standard_normal(n)
    patch_year = np.empty(n, dtype=np.uint8)
    patch_year[np.argsort(key, kind="stable")] = years

    # Paint earliest first: a pixel keeps the year of its first loss.
    for k in np.argsort(patch_year, kind="stable"):
        _paint_blob(rng, loss, centers[k], areas[k], patch_year[k])

    # Speckle: isolated loss pixels (selective logging, classification noise).
    n_speckle = int(0.002 * h * w)
    idx = rng.integers(0, h * w, size=n_speckle)
    speckle_years = rng.choice(year_codes, size=n_speckle, p=year_p)
    flat_loss = loss.ravel()
    free = (flat_loss[idx] == 0) & (tree_cover.ravel()[idx] >= 50)
    flat_loss[idx[free]] = speckle_years[free]

    # Loss is recorded mostly where there was tree cover: keep only a few loss
    # pixels on (nearly) treeless pixels, as in the real product.
    for max_cover, keep in ((10, 0.03), (25, 0.3)):
        idx = np.flatnonzero((flat_loss > 0) & (tree_cover.ravel() <= max_cover))
        flat_loss[idx[rng.random(idx.size) >= keep]] = 0
    return loss


def _paint_blob(
    rng: np.random.Generator, loss: np.ndarray, center: np.ndarray, area: float, year: int
) -> None:
    """Paint an irregular elliptical blob of ~``area`` pixels where ``loss`` is 0."""
    aspect = rng.uniform(1.0, 2.8)
    a = math.sqrt(area * aspect / math.pi)
    b = math.sqrt(area / (aspect * math.pi))
    theta = rng.uniform(0, math.pi)
    harmonics = rng.uniform(0.0, 0.15, 3), rng.uniform(0, 2 * math.pi, 3)
    reach = int(math.ceil(1.6 * a)) + 1
    r0, c0 = int(round(center[0])), int(round(center[1]))
    h, w = loss.shape
    rs, re = max(r0 - reach, 0), min(r0 + reach + 1, h)
    cs, ce = max(c0 - reach, 0), min(c0 + reach + 1, w)
    if rs >= re or cs >= ce:
        return
    yy, xx = np.mgrid[rs:re, cs:ce]
    dy, dx = yy - center[0], xx - center[1]
    u = (dx * math.cos(theta) + dy * math.sin(theta)) / a
    v = (-dx * math.sin(theta) + dy * math.cos(theta)) / b
    phi = np.arctan2(v, u)
    rim = 1.0 + sum(
        amp * np.cos(m * phi + ph) for m, amp, ph in zip((2, 3, 5), *harmonics)
    )
    mask = np.hypot(u, v) < rim + 0.12 * rng.standard_normal(u.shape)
    sub = loss[rs:re, cs:ce]
    sub[mask & (sub == 0)] = year


def _write_raster(
    path: Path, array: np.ndarray, grid: _Grid, *, nodata: int | None, tags: dict[str, str]
) -> None:
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": "uint8",
        "crs": "EPSG:4326",
        "transform": grid.transform,
        "tiled": True,
        "blockxsize": 256,
        "blockysize": 256,
        "compress": "deflate",
        "nodata": nodata,
    }
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
        dst.update_tags(**tags)


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


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

    def polygon(
        self, lon: float, lat: float, area_ha: float, *, hole: bool = False
    ) -> Polygon:
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


@dataclass
class _Plot:
    geometry: shapely.Geometry
    cooperative: int
    kind: str = "normal"  # normal | edge | nodata | small | hole | multipolygon


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


def _sample_area_ha(rng: np.random.Generator, n: int) -> np.ndarray:
    """Plot areas: lognormal with median 2 ha, truncated to the allowed range."""
    lo, hi = _TARGET_RANGE_HA
    out = np.empty(0)
    while out.size < n:
        draw = rng.lognormal(math.log(2.0), 0.75, size=2 * n + 10)
        out = np.concatenate([out, draw[(draw >= lo) & (draw <= hi)]])
    return out[:n]


def _make_plots(
    rng: np.random.Generator, grid: _Grid, land: _Landscape, n_plots: int, log: _Progress
) -> tuple[gpd.GeoDataFrame, dict[str, list[str]]]:
    """Place the plots and build the attribute table (defective rows last)."""
    h, w = grid.shape
    shapes = _ShapeMaker(rng)
    placer = _Placer()

    # Suitability of a pixel for a cocoa plot: cleared land, old loss and
    # secondary forest are preferred; recent loss and forest edges less so.
    suit = np.full(grid.shape, 0.01, dtype=np.float32)
    suit[land.dist_clearing < 12] = 0.3
    suit[land.secondary] = 0.6
    suit[land.clearing] = 1.0
    loss = land.loss_year
    suit[(loss >= 1) & (loss <= CUTOFF_YEAR)] = 1.0
    suit[(loss > CUTOFF_YEAR) & (loss <= LAST_LOSS_YEAR)] = 0.2
    suit[land.blocked] = 0.0

    # Cooperatives: regions centred on well-suited land, spread over the window.
    n_coops = min(len(_COOPERATIVE_NAMES), max(1, n_plots // 5))
    spacing = math.sqrt(h * w / n_coops)
    p = suit.ravel().astype(np.float64) ** 2
    p /= p.sum()
    pool = rng.choice(h * w, size=400 * n_coops, p=p)
    coop_rc: list[tuple[int, int]] = []
    for min_dist in (0.7 * spacing, 0.45 * spacing, 0.2 * spacing, 0.0):
        for f in pool:
            rc = (int(f // w), int(f % w))
            if len(coop_rc) < n_coops and all(
                math.dist(rc, other) >= min_dist for other in coop_rc
            ):
                coop_rc.append(rc)
        if len(coop_rc) == n_coops:
            break
    coop_xy = np.array(coop_rc, dtype=float)
    coop_sigma = 0.3 * spacing * rng.uniform(0.7, 1.3, n_coops)
    coop_weight = rng.lognormal(0.0, 0.5, n_coops)
    coop_weight /= coop_weight.sum()

    def nearest_coop(row: float, col: float) -> int:
        return int(np.argmin(np.hypot(coop_xy[:, 0] - row, coop_xy[:, 1] - col)))

    def polygon_at(row: float, col: float, area_ha: float, **kw) -> Polygon:
        lon, lat = grid.to_lonlat(row, col)
        return shapes.polygon(float(lon), float(lat), area_ha, **kw)

    plots: list[_Plot] = []

    def place_one(kind: str, make) -> tuple[float, float, shapely.Geometry]:
        """Draw ``make() -> (row, col, geometry)`` until it fits among the others."""
        for _attempt in range(1000):
            row, col, geom = make()
            if placer.add_one(shapely.envelope(geom) if kind == "bowtie" else geom):
                return row, col, geom
        raise RuntimeError(f"could not place a {kind!r} plot: window too crowded")

    # --- Edge cases first, so that normal plots fill in around them --------
    def edge_plot():
        side = int(rng.integers(4))
        t = rng.uniform(0.05, 0.95)
        row, col = [(-0.5, t * w), (h - 0.5, t * w), (t * h, -0.5), (t * h, w - 0.5)][side]
        return row, col, polygon_at(row, col, float(_sample_area_ha(rng, 1)[0]))

    col0, slope = land.strip_center

    def nodata_plot():
        row = rng.uniform(0.03, 0.97) * h
        col = col0 + slope * row + rng.uniform(-0.6, 0.6) * land.strip_half_width
        return row, col, polygon_at(row, col, float(_sample_area_ha(rng, 1)[0]))

    def normal_center() -> tuple[float, float]:
        while True:
            k = int(rng.choice(n_coops, p=coop_weight))
            row, col = coop_xy[k] + coop_sigma[k] * rng.standard_normal(2)
            if 0 <= row < h - 1 and 0 <= col < w - 1 and rng.random() < suit[int(row), int(col)]:
                return row, col

    def normal_plot():
        row, col = normal_center()
        return row, col, polygon_at(row, col, float(_sample_area_ha(rng, 1)[0]))

    def small_plot():
        row, col = normal_center()
        return row, col, polygon_at(row, col, rng.uniform(0.302, 0.5))

    def hole_plot():
        row, col = normal_center()
        return row, col, polygon_at(row, col, rng.uniform(3.0, 8.0), hole=True)

    def multi_plot():
        row, col = normal_center()
        a1, a2 = rng.uniform(0.8, 3.0, 2)
        first = polygon_at(row, col, a1)
        # The second part lies beside the first, beyond a creek or a track:
        # step away along a random direction until the two parts are apart.
        m_per_px = grid.px * _metres_per_degree((grid.lat_min + grid.lat_max) / 2)[1]
        step = math.sqrt((a1 + a2) * _M2_PER_HA / math.pi) / m_per_px
        angle = rng.uniform(0, 2 * math.pi)
        dist = step
        while True:
            r2, c2 = row + dist * math.sin(angle), col + dist * math.cos(angle)
            second = polygon_at(r2, c2, a2)
            if first.distance(second) > 20 / _metres_per_degree(grid.lat_min)[1]:
                return row, col, MultiPolygon([first, second])
            dist += 0.5 * step

    budget = n_plots
    for kind, count, make in (
        ("multipolygon", 1, multi_plot),
        ("hole", 1, hole_plot),
        ("edge", min(5, n_plots // 10), edge_plot),
        ("nodata", min(10, n_plots // 10), nodata_plot),
        ("small", min(4, n_plots // 20), small_plot),
    ):
        count = min(count, budget)
        for _ in range(count):
            row, col, geom = place_one(kind, make)
            plots.append(_Plot(geom, nearest_coop(row, col), kind))
        budget -= count
    log(f"{len(plots)} special plots placed")

    # --- Normal plots, in batches -------------------------------------------
    for _round in range(100):
        need = n_plots - len(plots)
        if need <= 0:
            break
        batch = int(need * 1.2) + 10
        centers = [normal_center() for _ in range(batch)]
        areas = _sample_area_ha(rng, batch)
        geoms = [polygon_at(r, c, a) for (r, c), a in zip(centers, areas)]
        accepted = placer.add(geoms)
        for (row, col), geom, ok in zip(centers, geoms, accepted):
            if ok and len(plots) < n_plots:
                plots.append(_Plot(geom, nearest_coop(row, col)))
    else:
        raise RuntimeError(f"could not place {n_plots} non-overlapping plots in {grid.shape} px")
    log(f"{len(plots)} plots placed")

    # --- Identifiers: ordered by cooperative, producers with 1-3 plots -------
    order = np.lexsort((rng.random(len(plots)), [p.cooperative for p in plots]))
    plots = [plots[i] for i in order]
    coop_ids = [f"COOP-{k + 1:02d}" for k in range(n_coops)]
    id_width = max(5, len(str(n_plots + 3)))
    plot_ids = [f"SM-{i + 1:0{id_width}d}" for i in range(len(plots))]
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
    specials: dict[str, list[str]] = defaultdict(list)
    for pid, p in zip(plot_ids, plots):
        if p.kind != "normal":
            specials[p.kind].append(pid)

    # --- Defective rows, appended at the end --------------------------------
    def defect_row(plot_id: str, like: int, geom, area: float, note: str) -> dict:
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

    n = len(rows)
    rows.append(
        defect_row(
            f"SM-{n + 1:0{id_width}d}", int(rng.integers(n)), Polygon(), rng.uniform(0.5, 4.0),
            "DEFECT: empty geometry",
        )
    )
    def bowtie_plot():  # a ~1.2 ha square whose corners are visited crosswise
        row, col = normal_center()
        lon, lat = (float(v) for v in grid.to_lonlat(row, col))
        half = 0.0005  # ~55 m
        x0, y0, x1, y1 = lon - half, lat - half, lon + half, lat + half
        return row, col, _round_coords(Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)]))

    row, col, bowtie = place_one("bowtie", bowtie_plot)
    coop = coop_ids[nearest_coop(row, col)]
    like = next((i for i in range(n) if rows[i]["cooperative_id"] == coop), 0)
    rows.append(
        defect_row(
            f"SM-{n + 2:0{id_width}d}", like, bowtie, rng.uniform(1.0, 1.4),
            "DEFECT: self-intersecting polygon (bowtie), invalid",
        )
    )
    original = int(rng.integers(n))
    _, _, dup = place_one("duplicate", normal_plot)
    rows.append(
        defect_row(
            rows[original]["plot_id"], original, dup, _geodesic_area_m2(dup) / _M2_PER_HA,
            "DEFECT: duplicated plot_id (a different plot reusing the id of an earlier row)",
        )
    )
    specials["empty"] = [rows[n]["plot_id"]]
    specials["bowtie"] = [rows[n + 1]["plot_id"]]
    specials["duplicate"] = [rows[n + 2]["plot_id"]]

    gdf = gpd.GeoDataFrame(rows, geometry="geometry", crs="EPSG:4326")
    return gdf, dict(specials)


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
# Districts and deliveries (for the baseline roll-ups)
# --------------------------------------------------------------------------

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
_BUYERS = ("Chocolates Sintéticos SAC", "Cacao Trading Example BV", "Fábrica de Prueba SA")


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
    parts = [west.intersection(north), east.intersection(north), west.intersection(south),
             east.intersection(south)]
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
    return Polygon([*ring[:k], *spike, *ring[k + 1:]])


def _make_deliveries(rng: np.random.Generator, plots: gpd.GeoDataFrame) -> pd.DataFrame:
    """Lots of cocoa from the plots of one cooperative, sold to one of three buyers.

    About 60 % of the plots deliver, in lots of 3-10 plots; quantities (kg of dry beans) follow
    the plot's declared area. The defective rows always deliver (lots then hold an invalid plot
    and a duplicated id), and one delivery names a ``plot_id`` that is in no plot (a typo): the
    baseline must report it.
    """
    ids = plots["plot_id"].to_numpy()
    coops = plots["cooperative_id"].to_numpy()
    area = plots["declared_area_ha"].to_numpy(dtype=float)
    delivers = (rng.random(len(ids)) < 0.6) | (plots["note"].to_numpy() != "")
    rows = []
    lot = 0
    for coop in sorted(set(coops)):
        members = np.flatnonzero((coops == coop) & delivers)
        members = members[rng.permutation(len(members))]
        start = 0
        while start < len(members):
            size = int(rng.integers(3, 11))
            chunk = members[start:start + size]
            start += size
            lot += 1
            buyer = _BUYERS[int(rng.integers(len(_BUYERS)))]
            month = int(rng.integers(1, 13))
            day = int(rng.integers(1, 29))
            for i in chunk:
                kg = round(float(area[i] * rng.uniform(150.0, 450.0)), 1)
                rows.append((f"LOT-{lot:04d}", ids[i], kg, buyer, f"2025-{month:02d}-{day:02d}"))
    width = len(str(ids[0]).split("-")[-1])
    unknown = f"SM-{0:0{width}d}"  # ids start at 1: this one is in no plot
    k = int(rng.integers(len(rows)))
    rows.insert(k + 1, (rows[k][0], unknown, 120.0, rows[k][3], rows[k][4]))
    return pd.DataFrame(rows, columns=["lot_id", "plot_id", "quantity_kg", "buyer", "date"])


def _readme_baseline(districts: gpd.GeoDataFrame, deliveries, plots: gpd.GeoDataFrame) -> str:
    codes = ", ".join(f"`{c}`" for c in districts["ubigeo"])
    known = set(plots["plot_id"])
    unknown = sorted(set(deliveries["plot_id"]) - known)
    return f"""
## Districts and deliveries (for `cacao-screen baseline`)

| file | content |
|---|---|
| `districts.gpkg` | Layer `districts`, EPSG:4326: four invented districts ({codes}; \
ubigeo-like codes in a province, 99, that does not exist), columns `ubigeo`, `district`, \
`province`, `department`. |
| `deliveries.csv` | {len(deliveries)} invented deliveries in {deliveries["lot_id"].nunique()} lots: \
`lot_id`, `plot_id`, `quantity_kg`, `buyer`, `date` (UTF-8, comma-separated). |

The districts cover the western {100 * _DISTRICTS_EAST:.0f} % of the window and reach beyond it
to the west, north and south; plots in the eastern strip lie in no district (`unassigned`). The
south-west district's boundary doubles back on itself at its outer corner (outside the window):
an invalid geometry, as published boundaries sometimes are, repaired with `make_valid`.

Deliveries come from about 60 % of the plots, in lots of 3-10 plots of one cooperative. One
delivery names a `plot_id` that is in no plot: {", ".join(f"`{u}`" for u in unknown) or "(none)"}.
"""


# --------------------------------------------------------------------------
# README and directory replacement
# --------------------------------------------------------------------------


def _readme(
    seed: int,
    grid: _Grid,
    n_plots: int,
    land: _Landscape,
    plots: gpd.GeoDataFrame,
    specials: dict[str, list[str]],
) -> str:
    loss = land.loss_year
    valid = loss != LOSS_NODATA
    n_valid = int(valid.sum())
    lost = int(((loss > 0) & valid).sum())
    recent = int(((loss > CUTOFF_YEAR) & valid).sum())
    normal = plots[plots["note"] == ""]
    areas = np.array([_geodesic_area_m2(g) / _M2_PER_HA for g in normal.geometry])
    touching = _share_touching_recent_loss(normal.geometry, grid, loss)

    def ids(kind: str) -> str:
        return ", ".join(specials.get(kind, [])) or "(none)"

    return f"""# SYNTHETIC sample data — NOT real Hansen data

Everything in this directory was **generated by `{GENERATOR}`** (module
`pipeline/sample.py`) from random numbers, with seed **{seed}**. It only
*looks like* the Hansen/UMD Global Forest Change (GFC) rasters and cocoa farm
plots in San Martín, Peru. It is **NOT real Hansen data** and the plots,
producers and cooperatives are invented. Use it to exercise the pipeline, never
to draw conclusions about any real place.

Regenerate with `cacao-screen sample` (or `make sample`); the same seed gives
identical rasters and plots.

## Files

| file | content |
|---|---|
| `lossyear.tif` | Forest loss year, Hansen GFC encoding: `0` = no loss, `k` = loss in \
year 2000+k (k = 1..{LAST_LOSS_YEAR}), `{LOSS_NODATA}` = nodata (declared in the file). uint8. |
| `treecover2000.tif` | Tree canopy cover in 2000, percent 0-100, uint8, no nodata value. |
| `plots.gpkg` | Layer `plots`, EPSG:4326: {n_plots} cocoa plots + 3 deliberately \
defective rows (see below). |
| `.complete` | Empty marker written last: the sample is complete. |

Both rasters: EPSG:4326, {grid.width} x {grid.height} pixels of {grid.px}°,
bounds lon {grid.lon_min}..{grid.lon_max}, lat {grid.lat_min}..{grid.lat_max};
GeoTIFF tiled 256x256, DEFLATE; tags `SYNTHETIC=yes`, `GENERATOR`, `SEED`,
`DESCRIPTION`.

## What the landscape contains

Dense forest (cover mostly 80-100 %), a meandering river, a trunk road with
one or two feeder roads lined with pasture/cropland clearings (cover 0-30 %),
secondary/degraded forest (20-70 %), and clustered forest-loss patches that
spread away from the 2000 clearings with a rising trend over 2001-2024.
A ~{2 * land.strip_half_width:.0f} px wide, slightly slanted strip of nodata
({LOSS_NODATA}) crosses the loss raster in its eastern part (tree cover remains
valid there).

- Loss pixels: {100 * lost / n_valid:.1f} % of valid pixels; loss after 2020
  (codes 21-24): {100 * recent / n_valid:.1f} %; nodata: \
{100 * (1 - n_valid / loss.size):.1f} % of the window.
- Plot areas (geodesic): median {np.median(areas):.2f} ha, range
  {areas.min():.2f}-{areas.max():.2f} ha.
- Plots with at least one post-2020 loss pixel (pixel centre inside the
  plot): {100 * touching:.1f} %.

## Plots layer

Columns: `plot_id` (`SM-…`), `producer_id` (`P-…`; some producers have 2-3
plots), `cooperative_id` (`COOP-…`), `cooperative_name`, `declared_area_ha`
(the true geodesic area perturbed by a few percent, as a farmer would declare
it), `note` (empty for normal rows). Normal plots do not overlap each other.
The layer geometry type is generic (`GEOMETRY`): plots are Polygons, except
one MultiPolygon.

Edge cases among the normal plots:

- straddling the outer edge of the rasters: {ids("edge")}
- overlapping the nodata strip: {ids("nodata")}
- very small (0.3-0.5 ha): {ids("small")}
- polygon with a hole (interior ring): {ids("hole")}
- MultiPolygon of two parts: {ids("multipolygon")}

Deliberately defective rows (the last three rows, flagged in `note`):

1. `{ids("empty")}`: an EMPTY geometry. It was written as `POLYGON EMPTY`; when
   read back with pyogrio/geopandas it comes back as an empty geometry
   (`is_empty` is true), not as a missing (None) geometry.
2. `{ids("bowtie")}`: a self-intersecting "bowtie" polygon (invalid geometry; quality control repairs it with `make_valid`, screens the repair and flags `geometry_repaired`).
3. `{ids("duplicate")}`: a valid plot elsewhere that reuses the `plot_id` of an
   earlier row (duplicated id).
"""


def _share_touching_recent_loss(geoms, grid: _Grid, loss: np.ndarray) -> float:
    """Share of plots with a post-2020 loss pixel whose centre lies inside."""
    labels = rasterio.features.rasterize(
        ((g, i + 1) for i, g in enumerate(geoms)),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        dtype="int32",
    )
    recent = (loss > CUTOFF_YEAR) & (loss <= LAST_LOSS_YEAR)
    hit = np.unique(labels[recent & (labels > 0)])
    return hit.size / max(len(geoms), 1)


def _replace_dir(staged: Path, target: Path) -> None:
    """Move the complete ``staged`` directory to ``target``, replacing it.

    Each step is a rename, so ``target`` is always either the old complete
    sample, absent, or the new complete sample — never half-written.
    """
    if target.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        old = trash / target.name
        os.replace(target, old)
        try:
            os.replace(staged, target)
        except BaseException:
            os.replace(old, target)  # put the old sample back
            shutil.rmtree(trash, ignore_errors=True)
            raise
        shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staged, target)


def main(argv: list[str] | None = None) -> None:
    """``python -m pipeline.sample OUT_DIR [SEED]`` (the CLI is ``cacao-screen sample``)."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit("usage: python -m pipeline.sample OUT_DIR [SEED]")
    seed = int(args[1]) if len(args) > 1 else DEFAULT_SEED
    paths = generate_sample(args[0], seed=seed, progress=True)
    print(paths.root)


if __name__ == "__main__":
    main()
