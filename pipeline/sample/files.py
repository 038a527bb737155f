"""Putting the sample on disk: the GeoTIFF profile, the split of a raster into tiles, and the
atomic replacement of the output folder."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import rasterio

from .grid import _Grid

#: The name the rasters are tagged with (``GENERATOR``) and the README credits.
GENERATOR = "cacao-screen sample"


def _write_raster(path: Path, array: np.ndarray, grid: _Grid, *, nodata: int | None, tags: dict[str, str]) -> None:
    """Write ``array`` as a one-band GeoTIFF of its type (uint8, uint16) on ``grid`` (tiled 256 x 256, DEFLATE)."""
    profile = {
        "driver": "GTiff",
        "width": grid.width,
        "height": grid.height,
        "count": 1,
        "dtype": array.dtype.name,
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


def _tiles(array: np.ndarray, grid: _Grid, n: int) -> Iterator[tuple[int, int, np.ndarray, _Grid]]:
    """``array`` cut into n x n tiles on the same grid: ``(i, j, tile, tile_grid)`` for tile row
    ``i`` and column ``j``, row by row."""
    h, w = array.shape
    for i in range(n):
        for j in range(n):
            r0, r1 = i * h // n, (i + 1) * h // n
            c0, c1 = j * w // n, (j + 1) * w // n
            sub = _Grid.from_bounds(
                (
                    grid.lon_min + c0 * grid.px,
                    grid.lat_max - r1 * grid.px,
                    grid.lon_min + c1 * grid.px,
                    grid.lat_max - r0 * grid.px,
                ),
                grid.px,
            )
            yield i, j, np.ascontiguousarray(array[r0:r1, c0:c1]), sub


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
