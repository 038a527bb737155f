"""Raster sources: layers, tile mosaics and loss products. The only module that opens rasters.

A :class:`Layer` is one variable (loss year, tree cover, data mask, forest mask) on one grid. It can
be a single file, a folder of tiles, a glob, or a list of paths/URLs: tiles are mosaicked
*virtually* — a window is read from each tile it overlaps and pasted together; no tile is ever
copied whole into memory. Pixels that no tile covers read as
:data:`~pipeline.engine.pixels.NO_TILE`, so a plot over a
missing tile is reported ``not_assessed`` ("no raster tile"), never silently loss-free.

A :class:`Product` groups the layers of one forest-loss product and says how to interpret them:

* ``kind="hansen"`` — Hansen/UMD Global Forest Change: ``lossyear`` (0 = no loss, k = loss in
  2000+k), ``treecover2000`` (canopy %, forest = cover above a threshold) and, optionally,
  ``datamask`` (0 = no data, 1 = land, 2 = water: water is never forest);
* ``kind="loss_year"`` — any loss-year raster: ``encoding="offset"`` (value k = ``year_offset`` + k,
  as Hansen) or ``encoding="year"`` (the value is the year, as Peru's Geobosques and JRC TMF
  deforestation-year layers store it), with its own nodata; optionally a ``forest_mask`` raster
  (1 = forest at the baseline). Without a forest layer, every pixel the product flags counts.

:func:`open_product` checks everything it can up front — every file exists and opens, CRSs are
geographic, layers share one grid, tiles align on it — and raises :class:`RasterError` naming the
file and the problem.

Large tile sets are opened lazily. A folder (or glob, or list) of tiles named like Hansen's
(``..._10S_080W.tif``) is indexed by the names alone: the first tile is opened and checked, the
others are placed on the grid from their names (10° x 10° each) without being opened. Other tile
sets of :data:`INDEX_MIN_FILES` files or more have their headers cached in a small index in their
folder (:data:`INDEX_NAME`, keyed by file name, size and modification time), so that a second run
opens none of them. A tile indexed without being opened is opened and checked — header against
what its name or the index said, first and last pixel blocks — the first time a window needs it,
and :meth:`Product.require` checks the tiles under the plots before the work starts: only the
tiles under the plots are ever opened.
"""

from __future__ import annotations

import glob as globlib
import json
import logging
import os
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..config import DatasetConfig
from ..engine.coverage import Grid
from ..engine.pixels import NO_TILE, ProductSpec
from ..errors import RasterError, missing_file
from .outputs import update_json
from .provenance import identity, remember
from .tile_overlaps import check_overlaps

log = logging.getLogger(__name__)

# GDAL keeps decoded blocks in a cache of 5 % of the machine's memory by default (over 1 GB here).
# Windows are read once, in spatial order, so a small cache serves the blocks that neighbouring
# windows share; set GDAL_CACHEMAX in the environment to choose another size (MB).
os.environ.setdefault("GDAL_CACHEMAX", "128")

#: How far (in pixels) tile origins may sit from the common grid and still count as aligned.
ALIGN_TOL_PX = 1e-3

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")
HANSEN_KEYWORDS = {"loss-year": "lossyear", "tree-cover": "treecover2000", "datamask": "datamask"}
_HANSEN_VERSION = re.compile(r"GFC-(\d{4})-v\d+(?:\.\d+)?")
#: A Hansen tile name at the end of a file name: ``..._10S_080W.tif`` (the tile's north-west corner).
_HANSEN_TILE = re.compile(r"_(\d{2})([NS])_(\d{3})([EW])\.tiff?$", re.IGNORECASE)
#: Degrees a Hansen tile spans.
HANSEN_TILE_DEG = 10
#: Tile sets of this many files or more keep an index of their headers in their folder.
INDEX_MIN_FILES = 8
#: The name of that index (JSON: per file name, its size, modification time and header).
INDEX_NAME = ".cacao-screen-tiles.json"
_INDEX_VERSION = 1
_URL = re.compile(r"^(?:[a-z][a-z0-9+.-]*://|/vsi)", re.IGNORECASE)


@dataclass(frozen=True)
class Tile:
    """One file of a layer, and where it sits on the layer's grid (row/col of its first pixel)."""

    path: str
    row0: int
    col0: int
    height: int
    width: int


@dataclass(frozen=True)
class Layer:
    """A raster variable on one grid, stored in one or more aligned tiles.

    ``lazy``: some tiles were placed from their names or a cached index without being opened; each
    is opened and checked (:func:`verify_tile`) the first time a window needs it."""

    role: str
    source: str
    grid: Grid
    tiles: tuple[Tile, ...]
    nodata: float | None
    dtype: str
    crs: str | None = None
    lazy: bool = False

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the union of the tiles."""
        r0, c0, r1, c1 = self._extents
        g = self.grid
        return (g.x0 + c0.min() * g.dx, g.y0 - r1.max() * g.dy, g.x0 + c1.max() * g.dx, g.y0 - r0.min() * g.dy)

    @cached_property
    def _extents(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Rows and columns (first, end exclusive) of every tile, as arrays (windows find their
        tiles among hundreds without a Python loop)."""
        r0 = np.array([t.row0 for t in self.tiles], dtype="int64")
        c0 = np.array([t.col0 for t in self.tiles], dtype="int64")
        return r0, c0, r0 + [t.height for t in self.tiles], c0 + [t.width for t in self.tiles]

    def tiles_in(self, row0: int, col0: int, height: int, width: int) -> list[Tile]:
        r0, c0, r1, c1 = self._extents
        hit = (r0 < row0 + height) & (row0 < r1) & (c0 < col0 + width) & (col0 < c1)
        return [self.tiles[i] for i in np.flatnonzero(hit)]

    def tiles_under(self, bounds: Iterable[tuple[float, float, float, float]]) -> list[Tile]:
        """The tiles under any of the lon/lat boxes (minx, miny, maxx, maxy), in tile order."""
        g = self.grid
        b = np.asarray(list(bounds), dtype="float64").reshape(-1, 4)
        b = b[np.isfinite(b).all(axis=1)]
        if not len(b):
            return []
        r0, c0, r1, c1 = self._extents
        # cell ranges of the boxes (widened by one cell: a box on a tile's edge touches it)
        br0 = np.floor((g.y0 - b[:, 3]) / g.dy) - 1
        br1 = np.ceil((g.y0 - b[:, 1]) / g.dy) + 1
        bc0 = np.floor((b[:, 0] - g.x0) / g.dx) - 1
        bc1 = np.ceil((b[:, 2] - g.x0) / g.dx) + 1
        hit = np.zeros(len(self.tiles), dtype=bool)
        for i in range(0, len(b), 4096):  # boxes x tiles, a slice at a time
            s = slice(i, i + 4096)
            hit |= (
                (r0[None, :] < br1[s, None])
                & (br0[s, None] < r1[None, :])
                & (c0[None, :] < bc1[s, None])
                & (bc0[s, None] < c1[None, :])
            ).any(axis=0)
        return [self.tiles[i] for i in np.flatnonzero(hit)]

    def read(self, row0: int, col0: int, height: int, width: int) -> np.ndarray:
        """Rows ``row0..+height`` x cols ``col0..+width`` as int32; ``NO_TILE`` where no tile is."""
        data, present = self.read_raw(row0, col0, height, width)
        out = data.astype("int32")
        if present is not None:
            out[~present] = NO_TILE
        return out

    def read_raw(self, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The same window in the file's own data type, and where tiles cover it (None: everywhere).

        Cheaper than :meth:`read` (no conversion of every pixel): the engine converts only the
        pixels under plots."""
        tiles = self.tiles_in(row0, col0, height, width)
        out = np.zeros((height, width), dtype=self.dtype)
        present = None
        covered = 0
        for t in tiles:
            if self.lazy:
                verify_tile(self, t)
            r0, c0 = max(row0, t.row0), max(col0, t.col0)
            r1 = min(row0 + height, t.row0 + t.height)
            c1 = min(col0 + width, t.col0 + t.width)
            win = Window(c0 - t.col0, r0 - t.row0, c1 - c0, r1 - r0)
            try:
                data = _dataset(t.path).read(1, window=win)
            except (RasterioIOError, rasterio.errors.RasterioError) as exc:
                raise RasterError(
                    f"{t.path}: cannot read the {self.role} pixels in rows {r0 - t.row0}-"
                    f"{r1 - t.row0}, cols {c0 - t.col0}-{c1 - t.col0} ({exc})"
                ) from exc
            out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = data
            if len(tiles) > 1 or (r1 - r0) * (c1 - c0) < height * width:
                if present is None:
                    present = np.zeros((height, width), dtype=bool)
                present[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = True
            covered += (r1 - r0) * (c1 - c0)
        if not tiles:
            present = np.zeros((height, width), dtype=bool)
        elif present is not None and covered == height * width and present.all():
            present = None
        return out, present


# --- Tiles indexed without being opened: checked on first use ------------------------------

#: Tiles opened and checked in this process, by :func:`_file_key` (a lazily indexed tile is
#: checked once per process, and again if the file changes).
_VERIFIED: set[tuple] = set()
_VERIFY_LOCK = threading.Lock()


def _file_key(path: str) -> tuple:
    """A file as it is now: its path and identity (size, times, inode; a URL: its address)."""
    try:
        return (path, *identity(os.stat(path)))
    except OSError:
        return (path,)


def verify_tile(layer: Layer, tile: Tile) -> None:
    """Open ``tile`` and check it is what its layer's index says — the grid position and size its
    name or the cached index gave, the layer's data type, nodata and CRS — and that its first and
    last pixel blocks read; once per process. Raises :class:`RasterError` naming the file."""
    key = _file_key(tile.path)
    if key in _VERIFIED:
        return
    with _VERIFY_LOCK:
        if key in _VERIFIED:
            return
        with _open_header(tile.path, layer.role) as src:
            _check_header(src, tile.path, layer.role)
            g = Grid.from_transform(src.transform)
            row0, col0 = _offset_on(layer.grid, g, tile.path, layer.role, layer.tiles[0].path)
            found = (row0, col0, src.height, src.width)
            said = (tile.row0, tile.col0, tile.height, tile.width)
            if found != said:
                by = (
                    "its Hansen tile name says: the file is misnamed"
                    if _HANSEN_TILE.search(tile.path)
                    else f"the cached index {INDEX_NAME} of its folder says: delete the index"
                )
                raise RasterError(
                    f"{tile.path}: the {layer.role} tile covers rows {row0}..{row0 + src.height}, cols "
                    f"{col0}..{col0 + src.width} of the grid, not rows {tile.row0}..{tile.row0 + tile.height}, "
                    f"cols {tile.col0}..{tile.col0 + tile.width} as {by}"
                )
            if src.dtypes[0] != layer.dtype or src.nodata != layer.nodata:
                raise RasterError(
                    f"{tile.path}: {layer.role} tile holds {src.dtypes[0]} with nodata {src.nodata}, but "
                    f"{layer.tiles[0].path} holds {layer.dtype} with nodata {layer.nodata}"
                )
            if layer.crs is not None and src.crs is not None and src.crs.to_wkt() != layer.crs:
                if src.crs != CRS.from_wkt(layer.crs):
                    raise RasterError(f"{tile.path}: {layer.role} tile in {src.crs.to_string()}, unlike the others")
            _check_pixels(src, tile.path, layer.role)
        _VERIFIED.add(key)


_LOCAL = threading.local()
_MAX_OPEN = 64


def _open_datasets() -> dict:
    """This thread's open datasets: a GDAL dataset handle must not be shared between threads."""
    if not hasattr(_LOCAL, "open"):
        _LOCAL.open = {}
    return _LOCAL.open


def _dataset(path: str):
    """Open datasets once per thread and keep them open (each process and thread has its own)."""
    cache = _open_datasets()
    ds = cache.get(path)
    if ds is None or ds.closed:
        if len(cache) >= _MAX_OPEN:
            cache.pop(next(iter(cache))).close()
        remember(path, first=True)
        ds = cache[path] = rasterio.open(path)
    return ds


def close_datasets() -> None:
    """Close every dataset this thread opened through :meth:`Layer.read`."""
    cache = _open_datasets()
    while cache:
        cache.popitem()[1].close()


def layer_files(layers: dict[str, Layer]) -> list[tuple]:
    """Each file of ``layers`` as (role, name, :func:`~.provenance.identity`), or (role, address)
    when it cannot be stat'ed (a URL): what a product's fingerprint holds of its files. The identity
    changes with every write of the content, even one that keeps the size and modification time."""
    files: list[tuple] = []
    for role, layer in layers.items():
        for t in layer.tiles:
            try:
                files.append((role, os.path.basename(t.path), *identity(os.stat(t.path))))
            except OSError:
                files.append((role, t.path))
    return files


@dataclass(frozen=True)
class Product:
    """A forest-loss product: its layers and how to read their values (picklable)."""

    name: str
    kind: str
    loss: Layer
    tree_cover: Layer | None = None
    datamask: Layer | None = None
    forest_mask: Layer | None = None
    encoding: str = "offset"
    year_offset: int = 2000
    first_year: int = 2001
    last_year: int = 2024
    loss_nodata: int | None = None
    cover_nodata: int | None = None
    notes: tuple[str, ...] = field(default=())

    @property
    def grid(self) -> Grid:
        return self.loss.grid

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        return self.loss.bounds

    @property
    def layers(self) -> dict[str, Layer]:
        out = {"loss": self.loss}
        for key in ("tree_cover", "datamask", "forest_mask"):
            if getattr(self, key) is not None:
                out[key] = getattr(self, key)
        return out

    @property
    def spec(self) -> ProductSpec:
        """How the engine interprets the pixel values."""
        return ProductSpec(
            first_year=self.first_year,
            last_year=self.last_year,
            year_offset=self.year_offset,
            loss_nodata=self.loss_nodata,
            cover_nodata=self.cover_nodata,
            encoding=self.encoding,
        )

    def require(self, bounds: Iterable[tuple[float, float, float, float]]) -> list[str]:
        """Open and check, now, every tile of every layer under the lon/lat boxes (minx, miny,
        maxx, maxy) — the plots' — so that a bad tile fails the job before the work, not in the
        middle; tiles elsewhere are never opened. Returns the tiles checked (lazily indexed ones)."""
        return require_tiles(self, bounds)

    def fingerprint(self) -> tuple:
        """What identifies the product's data and reading: every setting, and each file's name and
        identity (size, times, inode: a re-downloaded or rewritten tile counts as new; URLs by their address)."""
        files = layer_files(self.layers)
        return (
            self.name,
            self.kind,
            self.encoding,
            self.year_offset,
            self.first_year,
            self.last_year,
            self.loss_nodata,
            self.cover_nodata,
            tuple(files),
        )

    def describe(self) -> str:
        parts = [f"{self.name} ({self.kind}, loss {self.first_year}-{self.last_year}"]
        if self.kind == "loss_year":
            parts.append(f", encoding {self.encoding}")
        parts.append(f"): {len(self.loss.tiles)} loss-year tile(s)")
        return "".join(parts)


def require_tiles(product, bounds) -> list[str]:
    """Open and check every tile of ``product``'s lazily indexed layers (any object with ``layers``)
    under the lon/lat boxes; return their paths."""
    bounds = np.asarray(list(bounds) if not isinstance(bounds, np.ndarray) else bounds, dtype="float64")
    out = []
    for layer in getattr(product, "layers", {}).values():
        if getattr(layer, "lazy", False):
            for t in layer.tiles_under(bounds):
                verify_tile(layer, t)
                out.append(t.path)
    return out


# --------------------------------------------------------------------------------------------
# Opening and checking
# --------------------------------------------------------------------------------------------


def is_url(spec: str) -> bool:
    return bool(_URL.match(str(spec)))


def expand_sources(spec: str | os.PathLike | Sequence[str | os.PathLike], role: str) -> list[str]:
    """The files behind a layer specification: a file, a folder of tiles, a glob, a URL, or a list.

    In a folder holding several Hansen layers, only the files whose name contains the layer's
    keyword (``lossyear``, ``treecover2000``, ``datamask``) are taken.
    """
    if isinstance(spec, (list, tuple)):
        out: list[str] = []
        for item in spec:
            out.extend(expand_sources(item, role))
        return out
    s = str(spec)
    if is_url(s):
        if s.startswith("/vsi") and (s.endswith("/") or any(ch in s for ch in "*?[")):
            return _list_remote(s, role)
        return [s]
    if any(ch in s for ch in "*?["):
        files = sorted(p for p in globlib.glob(os.path.expanduser(s)) if os.path.isfile(p))
        if not files:
            raise RasterError(f"{s}: no file matches this pattern for the {role} layer")
        return files
    p = Path(s).expanduser()
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES and f.is_file())
        keyword = HANSEN_KEYWORDS.get(role)
        if keyword and any(keyword in Path(f).name.lower() for f in files):
            files = [f for f in files if keyword in Path(f).name.lower()]
        if not files:
            raise RasterError(
                f"{p}: the folder holds no raster files ({', '.join(RASTER_SUFFIXES)}) for the {role} layer"
            )
        return files
    if not p.exists():
        raise RasterError(f"{p}: {missing_file(p, f'{role} raster')}")
    return [str(p)]


def _list_remote(spec: str, role: str) -> list[str]:
    """The rasters of a folder (ending with ``/``) or glob on one of GDAL's virtual file systems
    (``/vsis3/bucket/tiles/``, ``/vsigs/...``, ``/vsiaz/...``), listed by GDAL, filtered like a
    local folder (the layer's Hansen keyword)."""
    import fnmatch

    import pyogrio

    glob_at = min((spec.index(ch) for ch in "*?[" if ch in spec), default=None)
    folder = spec if glob_at is None else spec[: spec.rindex("/", 0, glob_at) + 1]
    try:
        listed = pyogrio.vsi_listtree(folder.rstrip("/"))
    except Exception as exc:  # noqa: BLE001 - GDAL's errors have no common type here
        raise RasterError(f"{spec}: cannot list the {role} rasters there ({exc})") from exc
    files = sorted(f for f in listed if Path(f).suffix.lower() in RASTER_SUFFIXES)
    if glob_at is not None:
        files = [f for f in files if fnmatch.fnmatch(f, spec)]
    keyword = HANSEN_KEYWORDS.get(role)
    if keyword and any(keyword in f.rsplit("/", 1)[-1].lower() for f in files):
        files = [f for f in files if keyword in f.rsplit("/", 1)[-1].lower()]
    if not files:
        raise RasterError(f"{spec}: no raster files ({', '.join(RASTER_SUFFIXES)}) there for the {role} layer")
    return files


def _open_header(path: str, role: str):
    remember(path)  # the file as it is read: a file replaced during the run is refused at the end
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        raise RasterError(f"{path}: cannot read the {role} raster ({exc})") from exc


def _check_pixels(src, path: str, role: str) -> None:
    """Read the first and the last block: a header can be fine while the pixels are truncated."""
    h, w = src.height, src.width
    try:
        src.read(1, window=Window(0, 0, min(w, 16), min(h, 16)))
        src.read(1, window=Window(max(w - 16, 0), max(h - 16, 0), min(w, 16), min(h, 16)))
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise RasterError(
            f"{path}: the {role} raster's pixels cannot be read; the file may be truncated "
            f"or corrupt — download it again ({exc})"
        ) from exc


@dataclass(frozen=True)
class _Header:
    """What a tile's header says (from the file, or from a cached index)."""

    width: int
    height: int
    count: int
    dtype: str
    nodata: float | None
    crs: str | None  # WKT
    transform: tuple[float, ...]  # affine a, b, c, d, e, f

    @classmethod
    def of(cls, src) -> _Header:
        t = src.transform
        return cls(
            src.width,
            src.height,
            src.count,
            src.dtypes[0] if src.count else "",
            src.nodata,
            src.crs.to_wkt() if src.crs is not None else None,
            (t.a, t.b, t.c, t.d, t.e, t.f),
        )


class _HeaderView:
    """A cached header with the attributes of an open dataset that the checks read."""

    def __init__(self, h: _Header) -> None:
        from affine import Affine

        self.width, self.height, self.count, self.nodata = h.width, h.height, h.count, h.nodata
        self.dtypes = [h.dtype] * max(h.count, 1)
        self.crs = CRS.from_wkt(h.crs) if h.crs else None
        self.transform = Affine(*h.transform)


def _check_header(src, path: str, role: str) -> None:
    """The checks every tile's header must pass (an open dataset or a cached header)."""
    if src.count < 1:
        raise RasterError(f"{path}: the {role} raster has no band")
    if not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
        raise RasterError(f"{path}: the {role} raster holds {src.dtypes[0]} values, expected integers")
    if src.crs is None:
        raise RasterError(f"{path}: the {role} raster has no CRS (expected EPSG:4326)")
    if not src.crs.is_geographic:
        raise RasterError(
            f"{path}: the {role} raster is in {src.crs.to_string()}, expected a "
            "geographic CRS (EPSG:4326) like the Hansen tiles"
        )
    try:
        Grid.from_transform(src.transform)
    except ValueError as exc:
        raise RasterError(f"{path}: {exc}") from exc


def open_layer(spec, role: str, *, check_pixels: bool = True) -> Layer:
    """Place every file of a layer on one common grid, checking each (see the module docstring
    for tile sets indexed by name or by a cached index, whose tiles are checked on first use)."""
    files = expand_sources(spec, role)
    named = _hansen_named(files) if len(files) > 1 else None
    if named is not None:
        layer = _layer_from_names(spec, role, files, named, check_pixels)
        if layer is not None:
            return layer
    headers, opened = _headers(files, role, check_pixels)
    grid = None
    tiles = []
    nodata = dtype = crs = None
    for path in files:
        src = _HeaderView(headers[path])
        _check_header(src, path, role)
        g = Grid.from_transform(src.transform)
        if grid is None:
            grid, nodata, dtype, crs = g, src.nodata, src.dtypes[0], src.crs
        else:
            if src.crs != crs:
                raise RasterError(
                    f"{path}: {role} tile in {src.crs.to_string()}, but {files[0]} is in {crs.to_string()}"
                )
            if src.nodata != nodata:
                raise RasterError(f"{path}: {role} tile has nodata {src.nodata}, but {files[0]} has {nodata}")
        row0, col0 = _offset_on(grid, g, path, role, files[0])
        tiles.append(Tile(path, row0, col0, src.height, src.width))
    if len({(t.row0, t.col0) for t in tiles}) != len(tiles):
        raise RasterError(f"{spec}: two {role} tiles start at the same place; mixing layers or versions?")
    if check_pixels:
        _VERIFIED.update(_file_key(f) for f in opened)
    layer = Layer(
        role=role,
        source=_describe(spec),
        grid=grid,
        tiles=tuple(tiles),
        nodata=nodata,
        dtype=str(dtype),
        crs=crs.to_wkt() if crs is not None else None,
        lazy=len(opened) < len(files) or not check_pixels,
    )
    check_overlaps(layer)  # where tiles overlap they must agree: no verdict from the order of the files
    return layer


def _hansen_named(files: list[str]) -> dict[str, tuple[int, int]] | None:
    """(lat_top, lon_left) of each file from a Hansen tile name; None unless every file has one."""
    out = {}
    for f in files:
        m = _HANSEN_TILE.search(Path(str(f)).name if not is_url(f) else str(f).rsplit("/", 1)[-1])
        if m is None:
            return None
        lat, ns, lon, ew = m.groups()
        out[f] = (int(lat) * (1 if ns.upper() == "N" else -1), int(lon) * (1 if ew.upper() == "E" else -1))
    return out


def _layer_from_names(spec, role: str, files: list[str], named: dict, check_pixels: bool) -> Layer | None:
    """A layer whose tiles are placed by their Hansen names; only one tile is opened (the first
    that opens: a broken tile elsewhere is refused only if a plot needs it). None (open every
    file instead) when that tile is not the whole 10° tile its name says."""
    src = first = None
    for first in files:
        try:
            src = rasterio.open(first)
            break
        except RasterioIOError:
            continue
    if src is None:
        _open_header(files[0], role)  # raises the error naming the file
    assert first is not None
    with src:
        _check_header(src, first, role)
        grid = Grid.from_transform(src.transform)
        size = HANSEN_TILE_DEG / grid.dx
        top, left = named[first]
        if (
            abs(size - round(size)) > 1e-6
            or abs(HANSEN_TILE_DEG / grid.dy - size) > 1e-6
            or (src.width, src.height) != (round(size), round(size))
            or abs(grid.x0 - left) > ALIGN_TOL_PX * grid.dx
            or abs(grid.y0 - top) > ALIGN_TOL_PX * grid.dy
        ):
            return None
        if check_pixels:
            _check_pixels(src, first, role)
        nodata, dtype, crs = src.nodata, src.dtypes[0], src.crs
    n = round(size)
    tiles = []
    for f in files:
        t, lo = named[f]
        tiles.append(Tile(f, round((top - t) / HANSEN_TILE_DEG) * n, round((lo - left) / HANSEN_TILE_DEG) * n, n, n))
    if len({(t.row0, t.col0) for t in tiles}) != len(tiles):
        raise RasterError(f"{spec}: two {role} tiles have the same Hansen tile name; mixing layers or versions?")
    if check_pixels:
        _VERIFIED.add(_file_key(first))
    log.info(
        "%s: %d %s tiles indexed by their Hansen names (opened when plots need them)",
        _describe(spec),
        len(files),
        role,
    )
    return Layer(
        role, _describe(spec), grid, tuple(tiles), nodata, str(dtype), crs.to_wkt() if crs else None, lazy=True
    )


def _headers(files: list[str], role: str, check_pixels: bool) -> tuple[dict[str, _Header], set[str]]:
    """Every file's header, from the cached index of its folder when the index knows the file
    (same size and modification time), else by opening (and checking) it; and which files were
    opened. The index of a folder holding :data:`INDEX_MIN_FILES` tiles or more is written back."""
    by_dir: dict[str, list[str]] = {}
    for f in files:
        by_dir.setdefault("" if is_url(f) else os.path.dirname(os.path.abspath(f)), []).append(f)
    headers: dict[str, _Header] = {}
    opened: set[str] = set()
    for folder, group in by_dir.items():
        use_index = bool(folder) and len(group) >= INDEX_MIN_FILES
        index = _read_index(folder) if use_index else {}
        changed = False
        for f in group:
            stat = None
            if use_index:
                try:
                    st = os.stat(f)
                    stat = (st.st_size, st.st_mtime_ns)
                except OSError:
                    stat = None
                entry = index.get(os.path.basename(f))
                if stat is not None and entry is not None and tuple(entry.get("stat", ())) == stat:
                    try:
                        headers[f] = _Header(**entry["header"])
                        continue
                    except TypeError:
                        pass
            with _open_header(f, role) as src:
                _check_header(src, f, role)
                if check_pixels:
                    _check_pixels(src, f, role)
                headers[f] = _Header.of(src)
            opened.add(f)
            if stat is not None:
                index[os.path.basename(f)] = {"stat": list(stat), "header": headers[f].__dict__}
                changed = True
        if changed:
            _write_index(folder, index)
    return headers, opened


def _read_index(folder: str) -> dict:
    try:
        with open(os.path.join(folder, INDEX_NAME), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return {}
    if not isinstance(data, dict) or data.get("version") != _INDEX_VERSION or not isinstance(data.get("files"), dict):
        return {}
    return data["files"]


def _write_index(folder: str, files: dict) -> None:
    """Write the index atomically, under its lock; a folder we cannot write to simply has no index."""
    update_json(Path(folder) / INDEX_NAME, lambda _current: {"version": _INDEX_VERSION, "files": files})


def _describe(spec) -> str:
    """A layer specification as text: the absolute file, folder or glob, or the URLs, comma-separated."""
    if isinstance(spec, (list, tuple)):
        return ",".join(_describe(s) for s in spec)
    s = str(spec)
    return s if is_url(s) else os.path.abspath(os.path.expanduser(s))


def _offset_on(grid: Grid, g: Grid, path: str, role: str, first: str) -> tuple[int, int]:
    """Row/col of grid ``g``'s origin on ``grid``; raise unless pixel sizes match and origins align."""
    if abs(g.dx - grid.dx) > 1e-9 * grid.dx or abs(g.dy - grid.dy) > 1e-9 * grid.dy:
        raise RasterError(
            f"{path}: {role} pixels are {g.dx:.10g} x {g.dy:.10g}, but those of {first} are "
            f"{grid.dx:.10g} x {grid.dy:.10g}: not the same grid"
        )
    fc = (g.x0 - grid.x0) / grid.dx
    fr = (grid.y0 - g.y0) / grid.dy
    if abs(fc - round(fc)) > ALIGN_TOL_PX or abs(fr - round(fr)) > ALIGN_TOL_PX:
        raise RasterError(
            f"{path}: {role} tile is not aligned with the grid of {first} "
            f"(offset of {fc - round(fc):+.4f} columns, {fr - round(fr):+.4f} rows)"
        )
    return int(round(fr)), int(round(fc))


def same_grid(layer: Layer, ref: Layer) -> None:
    """Raise unless ``layer`` lies on ``ref``'s grid (same pixel size, aligned origin)."""
    _offset_on(ref.grid, layer.grid, layer.tiles[0].path, layer.role, ref.tiles[0].path)


def rebase(layer: Layer, ref: Layer) -> Layer:
    """``layer`` with its tile positions expressed on ``ref``'s grid (already checked aligned)."""
    dr, dc = _offset_on(ref.grid, layer.grid, layer.tiles[0].path, layer.role, ref.tiles[0].path)
    tiles = tuple(Tile(t.path, t.row0 + dr, t.col0 + dc, t.height, t.width) for t in layer.tiles)
    return Layer(layer.role, layer.source, ref.grid, tiles, layer.nodata, layer.dtype, layer.crs, layer.lazy)


def hansen_version_year(files: Sequence[str]) -> int | None:
    """The last loss year a Hansen release covers, from its file names (GFC-2024-v1.12 -> 2024)."""
    years = {int(m.group(1)) for f in files if (m := _HANSEN_VERSION.search(Path(str(f)).name))}
    if len(years) > 1:
        raise RasterError(
            f"loss-year tiles from several Hansen releases ({', '.join(map(str, sorted(years)))}): "
            "use the tiles of one release"
        )
    return years.pop() if years else None


def open_companion(spec, role: str, base: Layer, base_role: str, *, check_pixels: bool = True) -> Layer:
    """Open the ``role`` layer of a product (tree cover, datamask, a mask...) that must lie on the
    grid of its ``base`` layer, rebased onto it; :class:`RasterError` names both when it does not."""
    layer = open_layer(spec, role, check_pixels=check_pixels)
    try:
        same_grid(layer, base)
    except RasterError as exc:
        raise RasterError(f"{exc} — the {role} layer must be on the {base_role} layer's grid") from None
    return rebase(layer, base)


def open_product(name: str, dataset: DatasetConfig | None = None, *, check_pixels: bool = True, **fields) -> Product:
    """Open and check a product's layers; see the module docstring for ``kind`` and ``encoding``.

    ``dataset`` is the product's :class:`~pipeline.config.DatasetConfig`; or give its fields as
    keywords (``kind=``, ``loss_year=``, ``tree_cover=``...; layers may be paths).
    """
    if dataset is None:
        for key in ("loss_year", "tree_cover", "datamask", "forest_mask"):
            fields[key] = _spec_arg(fields.get(key))
        dataset = DatasetConfig(**fields)
    kind, encoding, year_offset = dataset.kind, dataset.encoding, dataset.year_offset
    first_year, last_year = dataset.first_year, dataset.last_year
    loss = open_layer(dataset.loss_year, "loss-year", check_pixels=check_pixels)
    notes = []
    if last_year is None:
        last_year = hansen_version_year([t.path for t in loss.tiles])
        if last_year is not None:
            notes.append(f"last loss year {last_year}, read from the Hansen file names")
        else:
            last_year = 2024
    if first_year is None:
        first_year = year_offset + 1 if encoding == "offset" else 2001
    if first_year > last_year:
        raise RasterError(f"product {name!r}: first year {first_year} is after last year {last_year}")
    layers = {}
    for key, role in (("tree_cover", "tree-cover"), ("datamask", "datamask"), ("forest_mask", "forest-mask")):
        spec = getattr(dataset, key)
        if spec is None:
            layers[key] = None
            continue
        layers[key] = open_companion(spec, role, loss, "loss-year", check_pixels=check_pixels)
    nodata = dataset.nodata
    loss_nodata = (
        nodata
        if nodata is not None
        else (int(loss.nodata) if loss.nodata is not None else (255 if kind == "hansen" else None))
    )
    cover = layers["tree_cover"]
    return Product(
        name=name,
        kind=kind,
        loss=loss,
        tree_cover=cover,
        datamask=layers["datamask"],
        forest_mask=layers["forest_mask"],
        encoding=encoding,
        year_offset=year_offset,
        first_year=first_year,
        last_year=last_year,
        loss_nodata=loss_nodata,
        cover_nodata=int(cover.nodata) if cover is not None and cover.nodata is not None else None,
        notes=tuple(notes),
    )


def open_hansen(loss_year, tree_cover, *, last_year: int | None = 2024, datamask=None, name: str = "hansen") -> Product:
    """Open and check a Hansen ``lossyear`` + ``treecover2000`` (+ ``datamask``) product.

    Each argument may be a file, a folder of tiles, a glob or a list of files/URLs.
    """
    return open_product(
        name, kind="hansen", loss_year=loss_year, tree_cover=tree_cover, datamask=datamask, last_year=last_year
    )


def _spec_arg(spec):
    """A layer specification as the config model takes it: text, or a list of text."""
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, (list, tuple)):
        return [str(s) for s in spec]
    return str(spec)
