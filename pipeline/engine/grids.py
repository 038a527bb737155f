"""Layers on their own grids: one grid to compute on, and every other layer read onto it.

The layers of a product (or of products combined cell by cell: loss after the cut-off on forest
at the cut-off) may each have their own geographic grid: their own resolution, origin and extent.
Where they are combined, the work is done on the **finest** grid (:func:`finest`): each plot's
coverage is exact on that grid, and a coarser layer's value at a fine cell is the value of the
coarse cell holding the fine cell's **centre** (:func:`centre_index`). A fine cell that straddles
a coarse edge takes, whole, the value of the coarse cell under its centre; a centre lying exactly
on a coarse edge belongs to the coarse cell below it (south) or to its right (east), as a pixel's
top and left edges belong to it. docs/method.md works an example by hand.

:class:`OnGrid` is a layer reader that does this: asked for a window of the fine grid, it reads
the coarse window under it **once** (the rows and columns the fine centres fall in) and repeats
its cells; its memory is that of the fine window. A layer already on the grid (the same pixel
size and an origin a whole number of pixels away) is read as it is, shifted: the figures of a
product whose layers share a grid are exactly those of before.

Pure functions and adapters around readers; nothing here opens a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Protocol

import numpy as np

from .coverage import Grid


class LayerReader(Protocol):
    """One layer of a product: reads a window of its grid (its own ``grid`` when it has one, else
    the product's; a layer on another grid is read onto the product's by :func:`layers_on`)."""

    def read_raw(self, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The window's values in the file's own type, and where tiles cover it (None: everywhere)."""
        ...


class GriddedReader(LayerReader, Protocol):
    """A layer reader on a grid of its own (a file's layer, a layer made on a grid)."""

    @property
    def grid(self) -> Grid: ...


#: How far (in pixels) two origins may be from a whole number of pixels apart and still be one grid.
ALIGN_TOL_PX = 1e-3
#: Relative tolerance on pixel sizes for two grids to have the same resolution.
SIZE_RTOL = 1e-9


def same_resolution(a: Grid, b: Grid) -> bool:
    """Whether ``a`` and ``b`` have the same pixel size."""
    return abs(a.dx - b.dx) <= SIZE_RTOL * b.dx and abs(a.dy - b.dy) <= SIZE_RTOL * b.dy


def offset(a: Grid, b: Grid) -> tuple[int, int] | None:
    """(rows, cols) from ``b``'s origin to ``a``'s when ``a`` is ``b`` shifted by whole pixels; None
    when it is another grid (another pixel size, or an origin off by a fraction of a pixel)."""
    if not same_resolution(a, b):
        return None
    fc = (a.x0 - b.x0) / b.dx
    fr = (b.y0 - a.y0) / b.dy
    if abs(fc - round(fc)) > ALIGN_TOL_PX or abs(fr - round(fr)) > ALIGN_TOL_PX:
        return None
    return int(round(fr)), int(round(fc))


def finest(grids: Iterable[Grid]) -> Grid:
    """The grid of smallest pixel area (the first of them on a tie): the one to compute on."""
    out = None
    for g in grids:
        if out is None or g.dx * g.dy < out.dx * out.dy * (1 - SIZE_RTOL):
            out = g
    if out is None:
        raise ValueError("no grid")
    return out


def centre_index(target: Grid, source: Grid, start: int, count: int, axis: str) -> np.ndarray:
    """For ``count`` rows (``axis="row"``) or columns (``"col"``) of ``target`` from ``start``, the
    row or column of ``source`` that holds each one's centre (a centre on a source line goes to the
    cell after it: south, or east)."""
    k = np.arange(start, start + count, dtype="float64") + 0.5
    if axis == "row":
        y = target.y0 - k * target.dy
        return np.floor((source.y0 - y) / source.dy).astype("int64")
    x = target.x0 + k * target.dx
    return np.floor((x - source.x0) / source.dx).astype("int64")


class OnGrid:
    """A layer reader on ``grid`` made from a reader on another grid (``source``): each cell of a
    window takes the source's value at the cell's centre (see the module docstring).

    Picklable when the reader is (it is sent to worker processes with the product)."""

    def __init__(self, reader: LayerReader, source: Grid, grid: Grid) -> None:
        self.reader = reader
        self.source = source
        self.grid = grid

    def read_raw(self, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The window (rows ``row0..+height``, columns ``col0..+width`` of ``grid``): the source's
        values under each cell's centre, in the source's own type, and where tiles cover them."""
        rows = centre_index(self.grid, self.source, row0, height, "row")
        cols = centre_index(self.grid, self.source, col0, width, "col")
        if not height or not width:
            return np.zeros((height, width), dtype="int32"), None
        r0, c0 = int(rows[0]), int(cols[0])
        raw = self.reader.read_raw(r0, c0, int(rows[-1]) - r0 + 1, int(cols[-1]) - c0 + 1)
        data, present = raw if isinstance(raw, tuple) else (raw, None)
        return _pick(np.asarray(data), rows - r0, cols - c0), (
            None if present is None else _pick(present, rows - r0, cols - c0)
        )


def _pick(array: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``array[np.ix_(rows, cols)]``, taken axis by axis (several times faster on large windows)."""
    return np.take(np.take(array, rows, axis=0), cols, axis=1)


class Shifted:
    """A layer reader on a grid that is its source's shifted by whole pixels (``dr`` rows, ``dc``
    columns from the reader's origin to the grid's): the same pixels, other numbers."""

    def __init__(self, reader: LayerReader, dr: int, dc: int) -> None:
        self.reader, self.dr, self.dc = reader, dr, dc

    def read_raw(self, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        return self.reader.read_raw(row0 + self.dr, col0 + self.dc, height, width)


def reader_on(reader: LayerReader, source: Grid, grid: Grid) -> LayerReader:
    """``reader`` (on ``source``) as a reader of ``grid``: itself when the grids are one, shifted
    when they differ by whole pixels, else by the centres (:class:`OnGrid`)."""
    if source == grid:
        return reader
    shift = offset(grid, source)
    if shift is not None:
        return reader if shift == (0, 0) else Shifted(reader, *shift)
    return OnGrid(reader, source, grid)


def layers_on(layers: Mapping[str, LayerReader], grid: Grid) -> dict[str, LayerReader]:
    """Each layer of ``layers`` as a reader of ``grid`` (a layer with no ``grid`` of its own is
    taken to be on it)."""
    return {key: reader_on(layer, getattr(layer, "grid", grid), grid) for key, layer in layers.items()}
