"""Raster sources: opening, checking and reading windows of forest-loss products.

The only module that opens rasters. A :class:`HansenSource` describes the Hansen/UMD Global Forest
Change pair — ``lossyear`` (0 = no loss, k = loss in year ``year_offset + k``) and
``treecover2000`` (canopy cover %, 0-100) — on one shared grid. :func:`open_hansen` checks the
pair once, up front, so that a wrong file fails with a clear message before any work starts;
:func:`read_window` reads a rectangle of pixels, filling whatever lies beyond the raster with a
value that marks it as "no data" (a plot crossing the raster's edge is then partly not assessed,
never silently treated as loss-free).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from .coverage import Grid
from .errors import RasterError

#: Fill for pixels outside a raster; chosen invalid for both layers (loss 255, cover > 100).
OUTSIDE = 255


@dataclass(frozen=True)
class HansenSource:
    """A checked ``lossyear`` + ``treecover2000`` pair on one grid.

    ``loss_nodata`` is the loss-year value meaning "no data" (the file's own nodata, else 255).
    Loss-year values above ``last_year - year_offset`` are outside the product and count as no data.
    """

    loss_year: str
    tree_cover: str
    width: int
    height: int
    grid: Grid
    crs: str
    loss_nodata: int
    cover_nodata: int | None
    year_offset: int = 2000
    first_year: int = 2001
    last_year: int = 2024

    @property
    def years(self) -> list[int]:
        return list(range(self.first_year, self.last_year + 1))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        g = self.grid
        return (g.x0, g.y0 - self.height * g.dy, g.x0 + self.width * g.dx, g.y0)


def _open(path: str | Path, layer: str):
    try:
        return rasterio.open(path)
    except RasterioIOError as exc:
        if not Path(path).exists() and "://" not in str(path):
            raise RasterError(f"{path}: {layer} raster not found") from exc
        raise RasterError(f"{path}: cannot read the {layer} raster ({exc})") from exc


def open_hansen(loss_year: str | Path, tree_cover: str | Path, *, last_year: int = 2024,
                year_offset: int = 2000) -> HansenSource:
    """Open and check a Hansen pair; raise :class:`RasterError` naming the file and the problem."""
    infos = {}
    for layer, path in (("loss-year", loss_year), ("tree-cover", tree_cover)):
        with _open(path, layer) as src:
            if src.count < 1:
                raise RasterError(f"{path}: the {layer} raster has no band")
            if not np.issubdtype(np.dtype(src.dtypes[0]), np.integer):
                raise RasterError(f"{path}: the {layer} raster holds {src.dtypes[0]} values, expected integers")
            if src.crs is None:
                raise RasterError(f"{path}: the {layer} raster has no CRS (expected EPSG:4326)")
            if not src.crs.is_geographic:
                raise RasterError(f"{path}: the {layer} raster is in {src.crs.to_string()}, expected a "
                                  "geographic CRS (EPSG:4326) like the Hansen tiles")
            try:
                grid = Grid.from_transform(src.transform)
            except ValueError as exc:
                raise RasterError(f"{path}: {exc}") from exc
            try:  # read one block: a header can be fine while the pixels are not
                src.read(1, window=Window(0, 0, min(src.width, 16), min(src.height, 16)))
            except RasterioIOError as exc:
                raise RasterError(f"{path}: the {layer} raster's pixels cannot be read ({exc})") from exc
            infos[layer] = dict(path=str(path), width=src.width, height=src.height, grid=grid,
                                crs=src.crs.to_string(), nodata=src.nodata)
    loss, cover = infos["loss-year"], infos["tree-cover"]
    if (loss["width"], loss["height"]) != (cover["width"], cover["height"]) or not _same_grid(loss["grid"], cover["grid"]):
        raise RasterError(
            f"{tree_cover}: the tree-cover raster is not on the loss-year raster's grid "
            f"({cover['width']}x{cover['height']} px at {cover['grid']} vs {loss['width']}x{loss['height']} px "
            f"at {loss['grid']} in {loss_year})")
    return HansenSource(
        loss_year=loss["path"], tree_cover=cover["path"], width=loss["width"], height=loss["height"],
        grid=loss["grid"], crs=loss["crs"],
        loss_nodata=int(loss["nodata"]) if loss["nodata"] is not None else 255,
        cover_nodata=int(cover["nodata"]) if cover["nodata"] is not None else None,
        year_offset=year_offset, first_year=year_offset + 1, last_year=last_year,
    )


def _same_grid(a: Grid, b: Grid) -> bool:
    tol = 1e-9 * max(a.dx, a.dy)
    return all(abs(p - q) <= tol for p, q in ((a.x0, b.x0), (a.y0, b.y0), (a.dx, b.dx), (a.dy, b.dy)))


def read_window(path: str, row0: int, col0: int, height: int, width: int,
                raster_height: int, raster_width: int, fill: int = OUTSIDE) -> np.ndarray:
    """Read rows ``row0..row0+height`` x cols ``col0..col0+width`` of band 1 as uint16.

    Pixels beyond the raster are set to ``fill``. The result is uint16 so that products stored
    as uint16 (older Hansen clips) keep their values.
    """
    out = np.full((height, width), fill, dtype="uint16")
    r0, c0 = max(row0, 0), max(col0, 0)
    r1, c1 = min(row0 + height, raster_height), min(col0 + width, raster_width)
    if r1 <= r0 or c1 <= c0:
        return out
    try:
        with rasterio.open(path) as src:
            data = src.read(1, window=Window(c0, r0, c1 - c0, r1 - r0))
    except RasterioIOError as exc:
        raise RasterError(f"{path}: cannot read pixels rows {r0}-{r1}, cols {c0}-{c1} ({exc})") from exc
    out[r0 - row0:r1 - row0, c0 - col0:c1 - col0] = data
    return out
