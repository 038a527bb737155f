"""Layers: one raster variable on one grid, stored in one or more aligned tiles.

A :class:`Layer` (loss year, tree cover, data mask, forest mask, forest at the cut-off...) can be a
single file, a folder of tiles, a glob, or a list of paths/URLs: tiles are mosaicked *virtually* —
a window is read from each tile it overlaps and pasted together; no tile is ever copied whole into
memory. Pixels that no tile covers read as :data:`~pipeline.engine.pixels.NO_TILE`, so a plot over
a missing tile is reported ``not_assessed`` ("no raster tile"), never silently loss-free.

Large tile sets are opened lazily. A folder (or glob, or list) of tiles named like Hansen's
(``..._10S_080W.tif``) is indexed by the names alone: the first tile is opened and checked, the
others are placed on the grid from their names (10° x 10° each) without being opened. Other tile
sets of :data:`~pipeline.io.raster_files.INDEX_MIN_FILES` files or more have their headers cached
in a small index in their folder, so that a second run opens none of them. A tile indexed without
being opened is opened and checked — header against what its name or the index said, first and
last pixel blocks — the first time a window needs it, and :func:`require_tiles` checks the tiles
under the plots before the work starts: only the tiles under the plots are ever opened.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property
from typing import Any

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..engine.coverage import Grid
from ..engine.pixels import NO_TILE
from ..errors import RasterError
from ..i18n import tr
from .provenance import identity, remember
from .raster_files import (
    _HANSEN_TILE,
    ALIGN_TOL_PX,
    HANSEN_TILE_DEG,
    INDEX_MIN_FILES,
    INDEX_NAME,
    _check_header,
    _check_pixels,
    _describe,
    _hansen_named,
    _Header,
    _HeaderView,
    _offset_on,
    _open_header,
    _read_index,
    _write_index,
    expand_sources,
    is_url,
)
from .tile_overlaps import check_overlaps

log = logging.getLogger(__name__)

# GDAL keeps decoded blocks in a cache of 5 % of the machine's memory by default (over 1 GB here).
# Windows are read once, in spatial order, so a small cache serves the blocks that neighbouring
# windows share; set GDAL_CACHEMAX in the environment to choose another size (MB).
os.environ.setdefault("GDAL_CACHEMAX", "128")


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
        if len(tiles) == 1 and _inside(tiles[0], row0, col0, height, width):
            return self._read_tile(tiles[0], row0, col0, row0 + height, col0 + width), None  # no copy
        out = np.zeros((height, width), dtype=self.dtype)
        present = None
        covered = 0
        for t in tiles:
            r0, c0 = max(row0, t.row0), max(col0, t.col0)
            r1 = min(row0 + height, t.row0 + t.height)
            c1 = min(col0 + width, t.col0 + t.width)
            out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = self._read_tile(t, r0, c0, r1, c1)
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

    def _read_tile(self, t: Tile, r0: int, c0: int, r1: int, c1: int) -> np.ndarray:
        """Rows ``r0..r1`` x cols ``c0..c1`` (of the layer's grid) of tile ``t``, in the file's type."""
        if self.lazy:
            verify_tile(self, t)
        try:
            data = _dataset(t.path).read(1, window=Window(c0 - t.col0, r0 - t.row0, c1 - c0, r1 - r0))
        except (RasterioIOError, rasterio.errors.RasterioError) as exc:
            raise RasterError(
                tr(
                    "{path}: cannot read the {role} pixels in rows {row0}-{row1}, cols {col0}-{col1} ({error})",
                    path=t.path,
                    role=self.role,
                    row0=r0 - t.row0,
                    row1=r1 - t.row0,
                    col0=c0 - t.col0,
                    col1=c1 - t.col0,
                    error=exc,
                )
            ) from exc
        return data if data.dtype == self.dtype else data.astype(self.dtype)


def _inside(t: Tile, row0: int, col0: int, height: int, width: int) -> bool:
    """Whether tile ``t`` covers the whole window."""
    return t.row0 <= row0 and t.col0 <= col0 and row0 + height <= t.row0 + t.height and col0 + width <= t.col0 + t.width


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
                    tr(
                        "{path}: the {role} tile covers rows {row0}..{row1}, cols {col0}..{col1} of the grid, "
                        "not rows {tile_row0}..{tile_row1}, cols {tile_col0}..{tile_col1} as {by}",
                        path=tile.path,
                        role=layer.role,
                        row0=row0,
                        row1=row0 + src.height,
                        col0=col0,
                        col1=col0 + src.width,
                        tile_row0=tile.row0,
                        tile_row1=tile.row0 + tile.height,
                        tile_col0=tile.col0,
                        tile_col1=tile.col0 + tile.width,
                        by=by,
                    )
                )
            if src.dtypes[0] != layer.dtype or src.nodata != layer.nodata:
                raise RasterError(
                    tr(
                        "{path}: {role} tile holds {dtype} with nodata {nodata}, but "
                        "{first} holds {first_dtype} with nodata {first_nodata}",
                        path=tile.path,
                        role=layer.role,
                        dtype=src.dtypes[0],
                        nodata=src.nodata,
                        first=layer.tiles[0].path,
                        first_dtype=layer.dtype,
                        first_nodata=layer.nodata,
                    )
                )
            if layer.crs is not None and src.crs is not None and src.crs.to_wkt() != layer.crs:
                if src.crs != CRS.from_wkt(layer.crs):
                    raise RasterError(
                        tr(
                            "{path}: {role} tile in {crs}, unlike the others",
                            path=tile.path,
                            role=layer.role,
                            crs=src.crs.to_string(),
                        )
                    )
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
    grid: Grid | None = None
    tiles = []
    nodata: Any = None
    dtype: Any = None
    crs: Any = None
    for path in files:
        src = _HeaderView(headers[path])
        _check_header(src, path, role)
        g = Grid.from_transform(src.transform)
        if grid is None:
            grid, nodata, dtype, crs = g, src.nodata, src.dtypes[0], src.crs
        else:
            if src.crs != crs:
                raise RasterError(
                    tr(
                        "{path}: {role} tile in {crs}, but {first} is in {first_crs}",
                        path=path,
                        role=role,
                        crs=_crs_text(src.crs),
                        first=files[0],
                        first_crs=_crs_text(crs),
                    )
                )
            if src.nodata != nodata:
                raise RasterError(
                    tr(
                        "{path}: {role} tile has nodata {nodata}, but {first} has {first_nodata}",
                        path=path,
                        role=role,
                        nodata=src.nodata,
                        first=files[0],
                        first_nodata=nodata,
                    )
                )
        row0, col0 = _offset_on(grid, g, path, role, files[0])
        tiles.append(Tile(path, row0, col0, src.height, src.width))
    if len({(t.row0, t.col0) for t in tiles}) != len(tiles):
        raise RasterError(
            tr("{spec}: two {role} tiles start at the same place; mixing layers or versions?", spec=spec, role=role)
        )
    if check_pixels:
        _VERIFIED.update(_file_key(f) for f in opened)
    assert grid is not None  # a layer has at least one file (expand_sources)
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


def _crs_text(crs: Any) -> str:
    """A CRS as its short text (``EPSG:4326``), or ``no CRS``."""
    return "no CRS" if crs is None else str(crs.to_string())


def _layer_from_names(spec, role: str, files: list[str], named: dict, check_pixels: bool) -> Layer | None:
    """A layer whose tiles are placed by their Hansen names; only one tile is opened (the first
    that opens: a broken tile elsewhere is refused only if a plot needs it). None (open every
    file instead) when that tile is not the whole 10° tile its name says."""
    src: Any = None
    first: str | None = None
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
        raise RasterError(
            tr(
                "{spec}: two {role} tiles have the same Hansen tile name; mixing layers or versions?",
                spec=spec,
                role=role,
            )
        )
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


def rebase(layer: Layer, ref: Layer) -> Layer:
    """``layer`` with its tile positions expressed on ``ref``'s grid (already checked aligned)."""
    dr, dc = _offset_on(ref.grid, layer.grid, layer.tiles[0].path, layer.role, ref.tiles[0].path)
    tiles = tuple(Tile(t.path, t.row0 + dr, t.col0 + dc, t.height, t.width) for t in layer.tiles)
    return Layer(layer.role, layer.source, ref.grid, tiles, layer.nodata, layer.dtype, layer.crs, layer.lazy)
