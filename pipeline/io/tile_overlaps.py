"""Tiles of one layer that overlap: checked where they overlap, so that no figure depends on the
order in which the files are listed.

A mosaic pastes its tiles into each window one after the other; where two tiles overlap, the
later one would win. :func:`check_overlaps` reads every overlap from both files once, when the
layer is opened: identical pixels are fine (neighbouring tiles that share an edge strip);
any pixel that differs — a value against another value, or against nodata — refuses the layer
(exit 2), naming both files, the place and the two values.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import rasterio
from rasterio.windows import Window

from ..errors import RasterError
from ..i18n import tr

#: Rows of an overlap read at once (memory: rows x the overlap's width x 2 files).
ROWS_PER_READ = 1024


def overlapping_pairs(tiles: Sequence[Any]) -> Iterator[tuple[int, int]]:
    """(i, j), i < j, for every two tiles (``row0``, ``col0``, ``height``, ``width`` on one grid)
    that share a pixel; sorted by rows, so a layer of thousands of tiles is swept, not squared."""
    if len(tiles) < 2:
        return
    r0 = np.array([t.row0 for t in tiles], dtype="int64")
    c0 = np.array([t.col0 for t in tiles], dtype="int64")
    r1 = r0 + np.array([t.height for t in tiles], dtype="int64")
    c1 = c0 + np.array([t.width for t in tiles], dtype="int64")
    order = np.argsort(r0, kind="stable")
    sr0 = r0[order]
    for k, i in enumerate(order):
        end = np.searchsorted(sr0, r1[i], side="left")  # tiles starting above this one's last row
        cand = order[k + 1 : end]
        hit = cand[(c0[cand] < c1[i]) & (c0[i] < c1[cand]) & (r0[i] < r1[cand])]
        for j in hit:
            yield (min(i, j), max(i, j))


def _conflict(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Where two reads of one place differ (NaN equals NaN: both nodata)."""
    same = a == b
    if a.dtype.kind == "f":
        same |= np.isnan(a) & np.isnan(b)
    return ~same


def check_pair(role: str, first: Any, second: Any, grid: Any) -> None:
    """Read the overlap of two tiles from both files; raise :class:`RasterError` at the first pixel
    that differs."""
    top, bottom = max(first.row0, second.row0), min(first.row0 + first.height, second.row0 + second.height)
    left, right = max(first.col0, second.col0), min(first.col0 + first.width, second.col0 + second.width)
    with rasterio.open(first.path) as a, rasterio.open(second.path) as b:
        for row in range(top, bottom, ROWS_PER_READ):
            n = min(ROWS_PER_READ, bottom - row)
            va = a.read(1, window=Window(left - first.col0, row - first.row0, right - left, n))
            vb = b.read(1, window=Window(left - second.col0, row - second.row0, right - left, n))
            bad = np.argwhere(_conflict(va, vb))
            if len(bad):
                r, c = (int(x) for x in bad[0])
                lon = grid.x0 + (left + c + 0.5) * grid.dx
                lat = grid.y0 - (row + r + 0.5) * grid.dy
                count = int(_conflict(va, vb).sum())
                raise RasterError(
                    tr(
                        "{first} and {second}: these {role} tiles overlap with different values "
                        "({a} and {b} at lon {lon:.6f}, lat {lat:.6f}; {count} pixel(s) differ in "
                        "rows {row0}-{row1} of the overlap): the verdict would depend on the order of the files — "
                        "remove one of them, or give tiles that agree where they overlap",
                        first=first.path,
                        second=second.path,
                        role=role,
                        a=va[r, c],
                        b=vb[r, c],
                        lon=lon,
                        lat=lat,
                        count=count,
                        row0=row,
                        row1=row + n,
                    )
                )


def check_overlaps(layer: Any) -> None:
    """Check every overlap between the tiles of ``layer`` (see the module docstring)."""
    for i, j in overlapping_pairs(layer.tiles):
        check_pair(layer.role, layer.tiles[i], layer.tiles[j], layer.grid)
