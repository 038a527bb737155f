"""Deterministic, Hansen-sized benchmark inputs: a ``lossyear`` + ``treecover2000`` tile pair and
plots in cooperative clusters. SYNTHETIC data, for measuring speed and memory only.

Rasters
    uint8, EPSG:4326, 0.00025° pixels, upper-left corner of the real tile ``00N_080W``
    (lon -80, lat 0); ``size`` x ``size`` pixels (40000 = the whole 10° x 10° tile). Stored as
    GeoTIFFs tiled 512 x 512 with DEFLATE, and optionally (``strips=True``) as 1-row strips with LZW,
    the layout of the real Hansen downloads. No nodata value (like the real ``lossyear`` tiles).

    Values come from smooth "value noise": a few octaves of seeded low-resolution Gaussian grids,
    upsampled with a smooth-step bilinear kernel window by window, plus per-pixel noise seeded per
    window. Tree cover is bimodal (closed forest, open land, transitions); loss comes in patches of
    a few pixels to a few kilometres, more often near the forest edge, and neighbouring pixels of a
    patch tend to share a year. About 7 % of pixels carry a loss year, some of them where tree cover
    is at or below 10 % (not forest loss) so the canopy threshold matters. Windows are computed
    independently (in parallel processes) and never more than one window of floats is held per
    process, whatever the raster size.

Plots
    ``n`` non-overlapping polygons of 0.5-10 ha (log-normal, median 2 ha), 6-12 vertices,
    sometimes elongated, in cooperative clusters. The tile is cut into 0.005° cells (~550 m); each
    cooperative is a disc of cells around a random centre, of which a random share holds a plot;
    each plot lies strictly inside its own cell, so plots never overlap, and every plot lies inside
    the raster. Fully vectorised (a million plots in seconds). Rows are ordered by cooperative, as
    a buyer's export usually is; coordinates are rounded to 1e-7° like typical GPS exports.

Everything is cached under ``bench/data/`` (or ``$CACAO_BENCH_DATA``, to share it between
checkouts) keyed by its parameters and :data:`GENERATOR_VERSION`, written to a temporary name and
renamed, and regenerated only when missing.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from collections import deque
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

#: Bump when the generated data changes: cached files carry it in their names.
GENERATOR_VERSION = 1

#: Hansen tile 00N_080W: upper-left corner and pixel size (degrees).
TILE_X0, TILE_Y0, PX = -80.0, 0.0, 0.00025
BLOCK = 512
#: Pixels per generation window: BLOCK rows x WINDOW_COLS columns (a multiple of BLOCK).
WINDOW_COLS = 8 * BLOCK

#: Where generated inputs are cached; ``$CACAO_BENCH_DATA`` shares one folder between checkouts.
DATA_DIR = Path(os.environ.get("CACAO_BENCH_DATA") or Path(__file__).resolve().parent / "data")

# Value-noise octaves: (cell size in pixels, amplitude).
_OCTAVES = {
    "cover": ((2048, 1.0), (512, 0.7), (128, 0.45), (32, 0.25)),
    "loss": ((1024, 0.6), (256, 0.8), (64, 0.7), (16, 0.45)),
    "year": ((512, 1.0), (96, 0.7), (24, 0.35)),
}
# Standard deviation of smooth-step bilinear interpolation of unit Gaussian nodes, on average:
# (2 E[F²])² with F = 3u² - 2u³, u ~ U(0, 1), gives variance 0.5518.
_INTERP_SD = math.sqrt((2 * (9 / 5 - 2 + 4 / 7)) ** 2)
_LOSS_THRESHOLD = 1.6  # about 7 % of pixels
_CELL_DEG = 0.005  # plot cells
_AREA_RANGE_HA = (0.5, 10.0)


@dataclass(frozen=True)
class RasterSpec:
    """A synthetic tile pair: ``size`` x ``size`` pixels from the upper-left corner of 00N_080W."""

    size: int = 40000
    seed: int = 20001231

    @property
    def name(self) -> str:
        return f"hansen-{self.size}px-seed{self.seed}-v{GENERATOR_VERSION}"

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return (TILE_X0, TILE_Y0 - self.size * PX, TILE_X0 + self.size * PX, TILE_Y0)

    @property
    def transform(self):
        from rasterio.transform import from_origin

        return from_origin(TILE_X0, TILE_Y0, PX, PX)


@dataclass(frozen=True)
class RasterPaths:
    loss_year: Path
    tree_cover: Path


# --------------------------------------------------------------------------------------------
# Rasters
# --------------------------------------------------------------------------------------------


class _Fields:
    """The seeded low-resolution grids of every octave (a few tens of MB for a whole tile)."""

    def __init__(self, spec: RasterSpec):
        self.spec = spec
        self.grids: dict[str, list[tuple[int, np.ndarray]]] = {}  # (cell, scaled grid) per octave
        for f, (name, octaves) in enumerate(_OCTAVES.items()):
            norm = math.sqrt(sum(a * a for _, a in octaves)) * _INTERP_SD
            self.grids[name] = []
            for o, (cell, amp) in enumerate(octaves):
                n = spec.size // cell + 2
                g = np.random.default_rng([spec.seed, f, o]).standard_normal((n, n), dtype=np.float32)
                self.grids[name].append((cell, g * np.float32(amp / norm)))

    def field(self, name: str, row0: int, col0: int, height: int, width: int) -> np.ndarray:
        out = np.zeros((height, width), dtype=np.float32)
        for cell, grid in self.grids[name]:
            out += _upsample(grid, cell, row0, col0, height, width)
        return out


def _fade_coords(start: int, count: int, cell: int) -> tuple[np.ndarray, np.ndarray]:
    t = (np.arange(start, start + count) + 0.5) / cell
    i = np.floor(t).astype(np.int64)
    f = (t - i).astype(np.float32)
    return i, f * f * (3 - 2 * f)


def _upsample(grid: np.ndarray, cell: int, row0: int, col0: int, height: int, width: int) -> np.ndarray:
    """Smooth-step bilinear interpolation of ``grid`` (nodes every ``cell`` pixels) on a window."""
    i, fy = _fade_coords(row0, height, cell)
    j, fx = _fade_coords(col0, width, cell)
    sub = grid[i[0] : i[-1] + 2, j[0] : j[-1] + 2]
    ii, jj = i - i[0], j - j[0]
    rows = sub[ii] * (1 - fy)[:, None] + sub[ii + 1] * fy[:, None]
    return rows[:, jj] * (1 - fx) + rows[:, jj + 1] * fx


def window_values(fields: _Fields, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """(lossyear, treecover2000) uint8 arrays of one window; depends only on the spec and window."""
    from scipy.special import ndtr

    rng = np.random.default_rng([fields.spec.seed, 99, row0, col0])
    c = fields.field("cover", row0, col0, height, width)
    cover = 100 / (1 + np.exp(-3.0 * (c + 0.3))) + 6 * rng.standard_normal((height, width), dtype=np.float32)
    cover = np.clip(np.rint(cover), 0, 100).astype(np.uint8)
    risk = fields.field("loss", row0, col0, height, width)
    risk += 0.35 * rng.standard_normal((height, width), dtype=np.float32) - 0.3 * c
    lost = (risk > _LOSS_THRESHOLD) & (cover > 5)
    del risk, c
    y = fields.field("year", row0, col0, height, width)
    y += 0.15 * rng.standard_normal((height, width), dtype=np.float32)
    year = np.clip(1 + np.floor(24 * ndtr(y)), 1, 24).astype(np.uint8)
    return np.where(lost, year, np.uint8(0)), cover


_WORKER_FIELDS: _Fields | None = None


def _init_worker(spec: RasterSpec) -> None:
    global _WORKER_FIELDS
    _WORKER_FIELDS = _Fields(spec)


def _compute_window(win: tuple[int, int, int, int]):
    loss, cover = window_values(_WORKER_FIELDS, *win)
    return win, loss, cover


def _windows(size: int):
    for r in range(0, size, BLOCK):
        for c in range(0, size, WINDOW_COLS):
            yield r, c, min(BLOCK, size - r), min(WINDOW_COLS, size - c)


def _profile(spec: RasterSpec, **layout) -> dict:
    return dict(
        driver="GTiff",
        width=spec.size,
        height=spec.size,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=spec.transform,
        nodata=None,
        **layout,
    )


TILED = dict(tiled=True, blockxsize=BLOCK, blockysize=BLOCK, compress="deflate")
STRIPS = dict(tiled=False, blockysize=1, compress="lzw")


def write_rasters(spec: RasterSpec, folder: Path, *, workers: int = 1, log=print) -> RasterPaths:
    """Write the tiled pair into ``folder`` (which must exist), computing windows on ``workers``."""
    import multiprocessing as mp

    import rasterio

    paths = RasterPaths(folder / "lossyear.tif", folder / "treecover2000.tif")
    tags = dict(
        SYNTHETIC="yes", GENERATOR=f"cacao-screen bench/generate.py v{GENERATOR_VERSION}", SPEC=json.dumps(asdict(spec))
    )
    wins = list(_windows(spec.size))
    started = time.perf_counter()
    with (
        rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"),
        rasterio.open(paths.loss_year, "w", **_profile(spec, **TILED)) as dl,
        rasterio.open(paths.tree_cover, "w", **_profile(spec, **TILED)) as dc,
    ):
        dl.update_tags(**tags, LAYER="lossyear")
        dc.update_tags(**tags, LAYER="treecover2000")

        def write(win, loss, cover):
            r, c, h, w = win
            window = rasterio.windows.Window(c, r, w, h)
            dl.write(loss, 1, window=window)
            dc.write(cover, 1, window=window)

        if workers <= 1:
            fields = _Fields(spec)
            for k, win in enumerate(wins):
                write(win, *window_values(fields, *win))
                _report(log, k + 1, len(wins), started)
        else:
            with ProcessPoolExecutor(
                workers, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=(spec,)
            ) as pool:
                pending: deque = deque()
                todo = iter(wins)
                done = 0
                for win in todo:  # keep a bounded number of windows in flight, write them in order
                    pending.append(pool.submit(_compute_window, win))
                    if len(pending) >= 2 * workers:
                        write(*pending.popleft().result())
                        done += 1
                        _report(log, done, len(wins), started)
                while pending:
                    write(*pending.popleft().result())
                    done += 1
                    _report(log, done, len(wins), started)
    return paths


def _report(log, done: int, total: int, started: float) -> None:
    if log and (done == total or done % max(1, total // 10) == 0):
        log(f"  rasters: {done}/{total} windows, {time.perf_counter() - started:.0f} s")


def ensure_rasters(
    spec: RasterSpec, *, strips: bool = False, root: Path = DATA_DIR, workers: int | None = None, log=print
) -> dict[str, RasterPaths]:
    """The cached pair(s) for ``spec`` (generated if missing): ``{"tiled": ..., "strips": ...}``."""
    import rasterio
    import rasterio.shutil

    log = log or _quiet
    folder = root / spec.name
    out = {"tiled": RasterPaths(folder / "lossyear.tif", folder / "treecover2000.tif")}
    if not (folder / ".complete").exists():
        workers = workers or _cores()
        log(f"generating {spec.size} x {spec.size} synthetic rasters in {folder} ({workers} processes)")
        tmp = root / f".{spec.name}.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        write_rasters(spec, tmp, workers=workers, log=log)
        (tmp / ".complete").write_text(json.dumps(asdict(spec)) + "\n")
        shutil.rmtree(folder, ignore_errors=True)
        os.replace(tmp, folder)
    if strips:
        sfolder = folder / "strips"
        out["strips"] = RasterPaths(sfolder / "lossyear.tif", sfolder / "treecover2000.tif")
        if not (sfolder / ".complete").exists():
            log(f"converting to 1-row LZW strips in {sfolder}")
            tmp = folder / f".strips.tmp-{os.getpid()}"
            shutil.rmtree(tmp, ignore_errors=True)
            tmp.mkdir()
            with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"):
                for src in (out["tiled"].loss_year, out["tiled"].tree_cover):
                    rasterio.shutil.copy(src, tmp / src.name, driver="GTiff", **STRIPS)
            (tmp / ".complete").write_text("strips\n")
            shutil.rmtree(sfolder, ignore_errors=True)
            os.replace(tmp, sfolder)
    return out


# --------------------------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------------------------


def _metres_per_degree(lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(m per degree of longitude, m per degree of latitude) on WGS84."""
    phi = np.radians(lat)
    m_lat = 111132.954 - 559.822 * np.cos(2 * phi) + 1.175 * np.cos(4 * phi)
    m_lon = 111412.84 * np.cos(phi) - 93.5 * np.cos(3 * phi)
    return m_lon, m_lat


def _cluster_cells(rng: np.random.Generator, n: int, n_cells: int) -> tuple[np.ndarray, np.ndarray]:
    """``n`` distinct cells (row, col) of an ``n_cells``-square lattice, in cooperative clusters.

    Returns (cell ids ``row * n_cells + col``, cooperative number), ordered by cooperative.
    """
    if n > (n_cells - 2) ** 2 // 2:
        raise ValueError(
            f"{n} plots do not fit in {n_cells - 2}² cells of {_CELL_DEG}° at a realistic density; use a larger raster"
        )
    r_max = 20
    d = np.arange(-r_max, r_max + 1)
    dr, dc = (a.ravel() for a in np.meshgrid(d, d, indexing="ij"))
    dist = np.hypot(dr, dc)
    inside = dist <= r_max
    dr, dc, dist = dr[inside], dc[inside], dist[inside]
    ids = np.zeros(0, dtype=np.int64)
    coops = np.zeros(0, dtype=np.int64)
    next_coop = 0
    while len(ids) < n:
        k = max(8, (n - len(ids)) // 150 + 8)
        cr = rng.integers(1, n_cells - 1, k)
        cc = rng.integers(1, n_cells - 1, k)
        radius = rng.uniform(4, r_max, k)
        share = rng.uniform(0.35, 0.9, k)
        take = (dist[None, :] <= radius[:, None]) & (rng.random((k, len(dist))) < share[:, None])
        ki, oi = np.nonzero(take)
        rr, cc2 = cr[ki] + dr[oi], cc[ki] + dc[oi]
        ok = (rr >= 1) & (rr < n_cells - 1) & (cc2 >= 1) & (cc2 < n_cells - 1)
        ids = np.concatenate([ids, (rr * n_cells + cc2)[ok]])
        coops = np.concatenate([coops, (next_coop + ki)[ok]])
        next_coop += k
        _, first = np.unique(ids, return_index=True)  # a cell already taken stays with its first coop
        first.sort()
        ids, coops = ids[first], coops[first]
    ids, coops = ids[:n], coops[:n]
    order = np.lexsort((rng.random(n), coops))  # by cooperative; plots of a cooperative in random order
    return ids[order], coops[order]


def make_plots(n: int, spec: RasterSpec, seed: int | None = None):
    """``n`` synthetic plots over the raster of ``spec`` (a GeoDataFrame in EPSG:4326)."""
    rng = np.random.default_rng([spec.seed if seed is None else seed, 7, n])
    n_cells = int(spec.size * PX / _CELL_DEG + 1e-9)
    ids, coops = _cluster_cells(rng, n, n_cells)
    return _plots_in_cells(rng, ids, coops, n_cells, first_id=1)


def _plots_in_cells(rng: np.random.Generator, ids: np.ndarray, coops: np.ndarray, n_cells: int, first_id: int):
    """One plot in each cell ``ids`` (a GeoDataFrame in EPSG:4326), ids numbered from ``first_id``."""
    import geopandas as gpd
    import shapely

    n = len(ids)
    x0, y0 = TILE_X0, TILE_Y0
    cx = x0 + (ids % n_cells + 0.5) * _CELL_DEG
    cy = y0 - (ids // n_cells + 0.5) * _CELL_DEG

    # Areas: log-normal, median 2 ha, truncated to the range (by redrawing).
    lo, hi = _AREA_RANGE_HA
    area = rng.lognormal(math.log(2.0), 0.75, n)
    bad = (area < lo) | (area > hi)
    while bad.any():
        area[bad] = rng.lognormal(math.log(2.0), 0.75, bad.sum())
        bad = (area < lo) | (area > hi)

    # Star-shaped rings around the origin: k sorted angles, radii 0.75-1.25 (always simple).
    k_max = 12
    k = rng.integers(6, k_max + 1, n)
    slot = np.arange(k_max)[None, :]
    angle = (slot + rng.uniform(-0.35, 0.35, (n, k_max))) * (2 * np.pi / k[:, None]) + rng.uniform(0, 2 * np.pi, (n, 1))
    radius = rng.uniform(0.75, 1.25, (n, k_max))
    used = slot < k[:, None]
    x, y = radius * np.cos(angle), radius * np.sin(angle)
    # Elongate a third of them (area-preserving), with a random rotation.
    stretch = np.where(rng.random(n) < 0.65, 1.0, rng.uniform(1.3, 2.0, n))
    rot = rng.uniform(0, np.pi, n)
    sx, sy = np.sqrt(stretch)[:, None], 1 / np.sqrt(stretch)[:, None]
    cr_, sr_ = np.cos(rot)[:, None], np.sin(rot)[:, None]
    x, y = (x * sx) * cr_ - (y * sy) * sr_, (x * sx) * sr_ + (y * sy) * cr_
    # Shoelace area of the unit ring (slots beyond k repeat the first vertex: zero-area edges).
    x = np.where(used, x, x[:, :1])
    y = np.where(used, y, y[:, :1])
    unit = 0.5 * np.sum(x * np.roll(y, -1, axis=1) - np.roll(x, -1, axis=1) * y, axis=1)
    scale = np.sqrt(area * 1e4 / unit)  # metres per unit
    m_lon, m_lat = _metres_per_degree(cy)
    ext_lon = np.abs(x).max(axis=1) * scale / m_lon
    ext_lat = np.abs(y).max(axis=1) * scale / m_lat
    margin = 5e-5  # ~5 m from the cell's edge
    fit = np.minimum(1.0, np.minimum((_CELL_DEG / 2 - margin) / ext_lon, (_CELL_DEG / 2 - margin) / ext_lat))
    scale *= fit
    ext_lon, ext_lat = ext_lon * fit, ext_lat * fit
    px_ = cx + rng.uniform(-1, 1, n) * (_CELL_DEG / 2 - margin - ext_lon)
    py_ = cy + rng.uniform(-1, 1, n) * (_CELL_DEG / 2 - margin - ext_lat)
    lon = np.round(px_[:, None] + x * (scale / m_lon)[:, None], 7)
    lat = np.round(py_[:, None] + y * (scale / m_lat)[:, None], 7)

    # Flatten the used slots, close every ring, build all polygons at once.
    closed = np.concatenate([used, np.zeros((n, 1), bool)], axis=1)
    closed[np.arange(n), k] = True
    lon = np.concatenate([lon, lon[:, :1]], axis=1)[closed]
    lat = np.concatenate([lat, lat[:, :1]], axis=1)[closed]
    ring_of = np.repeat(np.arange(n), k + 1)
    rings = shapely.linearrings(np.column_stack([lon, lat]), indices=ring_of)
    geoms = shapely.polygons(rings)
    return gpd.GeoDataFrame(
        {
            "plot_id": np.char.add("P", np.char.zfill(np.arange(first_id, first_id + n).astype(str), 7)),
            "cooperative": np.char.add("coop-", np.char.zfill(coops.astype(str), 5)),
            "declared_area_ha": np.round(area * fit * fit, 2),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def ensure_plots(n: int, spec: RasterSpec, *, root: Path = DATA_DIR, log=print) -> Path:
    """The cached GeoPackage of ``n`` plots over ``spec``'s raster (generated if missing)."""
    import pyogrio

    log = log or _quiet
    path = root / f"plots-{n}-{spec.name}.gpkg"
    if path.exists():
        return path
    started = time.perf_counter()
    log(f"generating {n:,} synthetic plots in {path}")
    root.mkdir(parents=True, exist_ok=True)
    gdf = make_plots(n, spec)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.gpkg")
    tmp.unlink(missing_ok=True)
    pyogrio.write_dataframe(gdf, tmp, layer="plots", driver="GPKG")
    os.replace(tmp, path)
    log(f"  plots: {time.perf_counter() - started:.1f} s")
    return path


# --------------------------------------------------------------------------------------------
# A national case: tiles x tiles Hansen-named tiles, and millions of plots over them
# --------------------------------------------------------------------------------------------

#: The release the mosaic's tiles are named after.
MOSAIC_VERSION = "GFC-2024-v1.12"


@dataclass(frozen=True)
class MosaicSpec:
    """``tiles`` x ``tiles`` tiles of ``size`` x ``size`` pixels from the upper-left corner of
    00N_080W, cut from one synthetic raster (values continue across tiles), named like Hansen's."""

    tiles: int = 3
    size: int = 40000
    seed: int = 20001231

    @property
    def name(self) -> str:
        return f"hansen-mosaic{self.tiles}x{self.tiles}-{self.size}px-seed{self.seed}-v{GENERATOR_VERSION}"

    @property
    def whole(self) -> RasterSpec:
        return RasterSpec(self.size * self.tiles, self.seed)

    def tile_names(self) -> list[tuple[int, int, str]]:
        """(tile row, tile column, Hansen tile name) of each tile."""
        out = []
        deg = self.size * PX
        for i in range(self.tiles):
            for j in range(self.tiles):
                lat, lon = round(TILE_Y0 - i * deg), round(TILE_X0 + j * deg)
                out.append((i, j, f"{abs(lat):02d}{'N' if lat >= 0 else 'S'}_{abs(lon):03d}{'E' if lon >= 0 else 'W'}"))
        return out


def _compute_tile_window(args):
    win, offset = args
    r, c, h, w = win
    loss, cover = window_values(_WORKER_FIELDS, r + offset[0], c + offset[1], h, w)
    return win, loss, cover


def ensure_mosaic(mosaic: MosaicSpec, *, root: Path = DATA_DIR, workers: int | None = None, log=print) -> Path:
    """The folder of the mosaic's tiles (``Hansen_<version>_{lossyear,treecover2000}_<tile>.tif``),
    generated if missing, tile after tile."""
    import multiprocessing as mp

    import rasterio
    from rasterio.transform import from_origin

    log = log or _quiet
    folder = root / mosaic.name
    if (folder / ".complete").exists():
        return folder
    workers = workers or _cores()
    folder.mkdir(parents=True, exist_ok=True)
    whole = mosaic.whole
    log(
        f"generating a {mosaic.tiles} x {mosaic.tiles} mosaic of {mosaic.size} px tiles in {folder} "
        f"({workers} processes)"
    )
    started = time.perf_counter()
    tile_spec = RasterSpec(mosaic.size, mosaic.seed)
    with ProcessPoolExecutor(
        workers, mp_context=mp.get_context("spawn"), initializer=_init_worker, initargs=(whole,)
    ) as pool:
        for i, j, name in mosaic.tile_names():
            paths = [folder / f"Hansen_{MOSAIC_VERSION}_{layer}_{name}.tif" for layer in ("lossyear", "treecover2000")]
            if all(p.exists() for p in paths):
                continue
            tmp = [p.with_name(f".{p.name}.tmp") for p in paths]
            prof = _profile(tile_spec, **TILED)
            prof["transform"] = from_origin(TILE_X0 + j * mosaic.size * PX, TILE_Y0 - i * mosaic.size * PX, PX, PX)
            with (
                rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS"),
                rasterio.open(tmp[0], "w", **prof) as dl,
                rasterio.open(tmp[1], "w", **prof) as dc,
            ):
                jobs = [(win, (i * mosaic.size, j * mosaic.size)) for win in _windows(mosaic.size)]
                for (r, c, h, w), loss, cover in pool.map(_compute_tile_window, jobs, chunksize=4):
                    window = rasterio.windows.Window(c, r, w, h)
                    dl.write(loss, 1, window=window)
                    dc.write(cover, 1, window=window)
            for t, p in zip(tmp, paths):
                os.replace(t, p)
            log(f"  tile {name}: {time.perf_counter() - started:.0f} s")
    (folder / ".complete").write_text(json.dumps(asdict(mosaic)) + "\n")
    return folder


def ensure_mosaic_plots(n: int, mosaic: MosaicSpec, *, root: Path = DATA_DIR, part: int = 500_000, log=print) -> Path:
    """``n`` plots over the mosaic (a GeoPackage, generated if missing, ``part`` plots at a time)."""
    import pyogrio

    log = log or _quiet
    path = root / f"plots-{n}-{mosaic.name}.gpkg"
    if path.exists():
        return path
    root.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    log(f"generating {n:,} synthetic plots in {path}")
    whole = mosaic.whole
    n_cells = int(whole.size * PX / _CELL_DEG + 1e-9)
    ids, coops = _cluster_cells(np.random.default_rng([mosaic.seed, 7, n]), n, n_cells)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.gpkg")
    tmp.unlink(missing_ok=True)
    for k, lo in enumerate(range(0, n, part)):
        rng = np.random.default_rng([mosaic.seed, 8, n, k])
        gdf = _plots_in_cells(rng, ids[lo : lo + part], coops[lo : lo + part], n_cells, first_id=lo + 1)
        pyogrio.write_dataframe(gdf, tmp, layer="plots", driver="GPKG", append=k > 0)
        log(f"  plots: {min(lo + part, n):,} ({time.perf_counter() - started:.0f} s)")
    os.replace(tmp, path)
    return path


def _quiet(*_args) -> None:
    pass


def _cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def main(argv: list[str] | None = None) -> int:
    import argparse

    p = argparse.ArgumentParser(description="Generate (or find cached) synthetic benchmark inputs.")
    p.add_argument("--raster-size", type=int, default=40000)
    p.add_argument("--plots", type=int, nargs="*", default=[])
    p.add_argument("--strips", action="store_true", help="also the 1-row-strip LZW copy")
    p.add_argument("--seed", type=int, default=RasterSpec.seed)
    p.add_argument("--mosaic-plots", type=int, nargs="*", default=[], help="plots over the 3 x 3 tile mosaic")
    a = p.parse_args(argv)
    if a.mosaic_plots:
        mosaic = MosaicSpec(seed=a.seed)
        print(ensure_mosaic(mosaic))
        for n in a.mosaic_plots:
            print(ensure_mosaic_plots(n, mosaic))
        return 0
    spec = RasterSpec(a.raster_size, a.seed)
    print(ensure_rasters(spec, strips=a.strips))
    for n in a.plots:
        print(ensure_plots(n, spec))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
