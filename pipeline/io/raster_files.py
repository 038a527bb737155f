"""Raster files: what a layer specification names, and the checks of each file's header.

A layer is given as a file, a folder of tiles, a glob, or a list of paths/URLs
(:func:`expand_sources`). Every file's header is checked (:func:`check_header`): one integer band,
a geographic CRS, a north-up grid. Large tile sets keep their headers in a small index in their
folder (:data:`INDEX_NAME`), keyed by file name, size and modification time, so that a second run
opens none of them. :mod:`pipeline.io.layers` places the files on their grid.
"""

from __future__ import annotations

import glob as globlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.crs import CRS
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from ..engine.coverage import Grid
from ..errors import RasterError, missing_file
from ..i18n import tr
from .outputs import update_json
from .provenance import remember

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
            raise RasterError(tr("{pattern}: no file matches this pattern for the {role} layer", pattern=s, role=role))
        return files
    p = Path(s).expanduser()
    if p.is_dir():
        files = sorted(str(f) for f in p.iterdir() if f.suffix.lower() in RASTER_SUFFIXES and f.is_file())
        keyword = HANSEN_KEYWORDS.get(role)
        if keyword and any(keyword in Path(f).name.lower() for f in files):
            files = [f for f in files if keyword in Path(f).name.lower()]
        if not files:
            raise RasterError(
                tr(
                    "{path}: the folder holds no raster files ({suffixes}) for the {role} layer",
                    path=p,
                    suffixes=", ".join(RASTER_SUFFIXES),
                    role=role,
                )
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
        raise RasterError(
            tr("{spec}: cannot list the {role} rasters there ({error})", spec=spec, role=role, error=exc)
        ) from exc
    files = sorted(f for f in listed if Path(f).suffix.lower() in RASTER_SUFFIXES)
    if glob_at is not None:
        files = [f for f in files if fnmatch.fnmatch(f, spec)]
    keyword = HANSEN_KEYWORDS.get(role)
    if keyword and any(keyword in f.rsplit("/", 1)[-1].lower() for f in files):
        files = [f for f in files if keyword in f.rsplit("/", 1)[-1].lower()]
    if not files:
        raise RasterError(
            tr(
                "{spec}: no raster files ({suffixes}) there for the {role} layer",
                spec=spec,
                suffixes=", ".join(RASTER_SUFFIXES),
                role=role,
            )
        )
    return files


def _open_header(path: str, role: str):
    remember(path)  # the file as it is read: a file replaced during the run is refused at the end
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        raise RasterError(
            tr("{path}: cannot read the {role} raster ({error})", path=path, role=role, error=exc)
        ) from exc


def _check_pixels(src, path: str, role: str) -> None:
    """Read the first and the last block: a header can be fine while the pixels are truncated."""
    h, w = src.height, src.width
    try:
        src.read(1, window=Window(0, 0, min(w, 16), min(h, 16)))
        src.read(1, window=Window(max(w - 16, 0), max(h - 16, 0), min(w, 16), min(h, 16)))
    except (RasterioIOError, rasterio.errors.RasterioError) as exc:
        raise RasterError(
            tr(
                "{path}: the {role} raster's pixels cannot be read; the file may be truncated "
                "or corrupt — download it again ({error})",
                path=path,
                role=role,
                error=exc,
            )
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


def warp_command(path: str) -> str:
    """The ``gdalwarp`` command that writes ``path`` in EPSG:4326 beside it (nearest neighbour:
    classes and years stay what they are)."""
    import shlex

    p = Path(str(path))
    target = p.with_name(f"{p.stem}_4326.tif") if not is_url(str(path)) else Path(f"{p.stem}_4326.tif")
    return f"gdalwarp -t_srs EPSG:4326 -r near {shlex.quote(str(path))} {shlex.quote(str(target))}"


def _check_header(src, path: str, role: str) -> None:
    """The checks every tile's header must pass (an open dataset or a cached header)."""
    if src.count < 1:
        raise RasterError(tr("{path}: the {role} raster has no band", path=path, role=role))
    if not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
        raise RasterError(
            tr(
                "{path}: the {role} raster holds {dtype} values, expected integers",
                path=path,
                role=role,
                dtype=src.dtypes[0],
            )
        )
    if src.crs is None:
        raise RasterError(tr("{path}: the {role} raster has no CRS (expected EPSG:4326)", path=path, role=role))
    if not src.crs.is_geographic:
        raise RasterError(
            tr(
                "{path}: the {role} raster is in {crs}, expected a geographic CRS (EPSG:4326) "
                "like the Hansen tiles; reproject it with: {command}",
                path=path,
                role=role,
                crs=src.crs.to_string(),
                command=warp_command(path),
            )
        )
    try:
        Grid.from_transform(src.transform)
    except ValueError as exc:
        raise RasterError(f"{path}: {exc}") from exc


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
            tr(
                "{path}: {role} pixels are {dx:.10g} x {dy:.10g}, but those of {first} are "
                "{first_dx:.10g} x {first_dy:.10g}: not the same grid",
                path=path,
                role=role,
                dx=g.dx,
                dy=g.dy,
                first=first,
                first_dx=grid.dx,
                first_dy=grid.dy,
            )
        )
    fc = (g.x0 - grid.x0) / grid.dx
    fr = (grid.y0 - g.y0) / grid.dy
    if abs(fc - round(fc)) > ALIGN_TOL_PX or abs(fr - round(fr)) > ALIGN_TOL_PX:
        raise RasterError(
            tr(
                "{path}: {role} tile is not aligned with the grid of {first} "
                "(offset of {columns:+.4f} columns, {rows:+.4f} rows)",
                path=path,
                role=role,
                first=first,
                columns=fc - round(fc),
                rows=fr - round(fr),
            )
        )
    return int(round(fr)), int(round(fc))
