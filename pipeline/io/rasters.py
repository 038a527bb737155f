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
"""

from __future__ import annotations

import glob as globlib
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..config import DatasetConfig
from ..engine.coverage import Grid
from ..engine.pixels import NO_TILE, ProductSpec
from ..errors import RasterError, missing_file

# GDAL keeps decoded blocks in a cache of 5 % of the machine's memory by default (over 1 GB here).
# Windows are read once, in spatial order, so a small cache serves the blocks that neighbouring
# windows share; set GDAL_CACHEMAX in the environment to choose another size (MB).
os.environ.setdefault("GDAL_CACHEMAX", "128")

#: How far (in pixels) tile origins may sit from the common grid and still count as aligned.
ALIGN_TOL_PX = 1e-3

RASTER_SUFFIXES = (".tif", ".tiff", ".vrt", ".img", ".jp2")
HANSEN_KEYWORDS = {"loss-year": "lossyear", "tree-cover": "treecover2000", "datamask": "datamask"}
_HANSEN_VERSION = re.compile(r"GFC-(\d{4})-v\d+(?:\.\d+)?")
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
    """A raster variable on one grid, stored in one or more aligned tiles."""

    role: str
    source: str
    grid: Grid
    tiles: tuple[Tile, ...]
    nodata: float | None
    dtype: str

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(minx, miny, maxx, maxy) of the union of the tiles."""
        r0 = min(t.row0 for t in self.tiles)
        c0 = min(t.col0 for t in self.tiles)
        r1 = max(t.row0 + t.height for t in self.tiles)
        c1 = max(t.col0 + t.width for t in self.tiles)
        g = self.grid
        return (g.x0 + c0 * g.dx, g.y0 - r1 * g.dy, g.x0 + c1 * g.dx, g.y0 - r0 * g.dy)

    def tiles_in(self, row0: int, col0: int, height: int, width: int) -> list[Tile]:
        return [
            t
            for t in self.tiles
            if t.row0 < row0 + height and row0 < t.row0 + t.height and t.col0 < col0 + width and col0 < t.col0 + t.width
        ]

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
        ds = cache[path] = rasterio.open(path)
    return ds


def close_datasets() -> None:
    """Close every dataset this thread opened through :meth:`Layer.read`."""
    cache = _open_datasets()
    while cache:
        cache.popitem()[1].close()


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

    def fingerprint(self) -> tuple:
        """What identifies the product's data and reading: every setting, and each file's name, size
        and modification time (a re-downloaded tile counts as new; URLs by their address)."""
        files: list[tuple] = []
        for role, layer in self.layers.items():
            for t in layer.tiles:
                try:
                    st = os.stat(t.path)
                    files.append((role, os.path.basename(t.path), st.st_size, st.st_mtime_ns))
                except OSError:
                    files.append((role, t.path))
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


def _open_header(path: str, role: str):
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


def open_layer(spec, role: str, *, check_pixels: bool = True) -> Layer:
    """Open every file of a layer, check it, and place its tiles on one common grid."""
    files = expand_sources(spec, role)
    grid = None
    tiles = []
    nodata = dtype = crs = None
    for path in files:
        with _open_header(path, role) as src:
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
                g = Grid.from_transform(src.transform)
            except ValueError as exc:
                raise RasterError(f"{path}: {exc}") from exc
            if check_pixels:
                _check_pixels(src, path, role)
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
    return Layer(role=role, source=_describe(spec), grid=grid, tiles=tuple(tiles), nodata=nodata, dtype=str(dtype))


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
    return Layer(layer.role, layer.source, ref.grid, tiles, layer.nodata, layer.dtype)


def hansen_version_year(files: Sequence[str]) -> int | None:
    """The last loss year a Hansen release covers, from its file names (GFC-2024-v1.12 -> 2024)."""
    years = {int(m.group(1)) for f in files if (m := _HANSEN_VERSION.search(Path(str(f)).name))}
    if len(years) > 1:
        raise RasterError(
            f"loss-year tiles from several Hansen releases ({', '.join(map(str, sorted(years)))}): "
            "use the tiles of one release"
        )
    return years.pop() if years else None


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
        layer = open_layer(spec, role, check_pixels=check_pixels)
        try:
            same_grid(layer, loss)
        except RasterError as exc:
            raise RasterError(f"{exc} — the {role} layer must be on the loss-year layer's grid") from None
        layers[key] = rebase(layer, loss)
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
