"""Partitions: plots grouped by the raster block under them, so that each block is read once.

:func:`pixel_bounds` gives each plot's cell range on the grid; :func:`partition` groups plots by
the block holding their upper-left cell, in block order; :func:`batches` gathers consecutive
partitions into tasks of thousands of plots; :func:`window_of` is the pixel window a partition reads.

:class:`KeyGrid` gives each plot a *location key*, the raster block holding the centre of its
bounding box: a registry too large for memory is screened chunk by chunk in the order of these
keys (see :mod:`pipeline.io.spill`), so that each chunk covers one part of the rasters.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .coverage import Grid, to_pixel


def pixel_bounds(bounds: np.ndarray, grid: Grid) -> np.ndarray:
    """Rows and columns (r0, c0, r1, c1; end exclusive) of the cells under lon/lat ``bounds``.

    ``bounds`` is an (n, 4) array of (minx, miny, maxx, maxy) as from ``shapely.bounds``.
    """
    u0, v0 = to_pixel(bounds[:, 0], bounds[:, 3], grid)
    u1, v1 = to_pixel(bounds[:, 2], bounds[:, 1], grid)
    c0, r0, c1, r1 = np.floor(u0), np.floor(v0), np.ceil(u1), np.ceil(v1)
    out = np.stack([r0, c0, np.maximum(r1, r0 + 1), np.maximum(c1, c0 + 1)], axis=1)
    return out.astype("int64")


def partition(pix: np.ndarray, block_size: int = 512, max_plots: int = 5000) -> list[np.ndarray]:
    """Group plots by the raster block holding their upper-left cell, in block order.

    ``pix`` is the (n, 4) result of :func:`pixel_bounds`. Returns a list of index arrays (into
    ``pix``); each group's window is the union of its plots' cells, so neighbouring plots share
    one read. Groups larger than ``max_plots`` are split (in row-major order) to bound memory and
    balance work across processes.
    """
    if len(pix) == 0:
        return []
    brow = np.floor_divide(pix[:, 0], block_size)
    bcol = np.floor_divide(pix[:, 1], block_size)
    order = np.lexsort((pix[:, 1], pix[:, 0], bcol, brow))
    key_sorted = np.stack([brow[order], bcol[order]], axis=1)
    breaks = np.flatnonzero(np.any(key_sorted[1:] != key_sorted[:-1], axis=1)) + 1
    groups = []
    for g in np.split(order, breaks):
        groups.extend(np.array_split(g, int(np.ceil(len(g) / max_plots))))
    return groups


def batches(
    groups: list[np.ndarray],
    max_plots: int = 20_000,
    *,
    cells: np.ndarray | None = None,
    max_cells: int = 4_000_000,
) -> list[list[np.ndarray]]:
    """Consecutive partitions gathered into batches of at most ``max_plots`` plots (at least one
    partition each): one task computes the coverage of a whole batch at once, so the per-call
    overhead of numpy is paid per batch, not per partition.

    ``cells`` (per plot, indexed like the groups' members) bounds a batch's memory too: the
    coverage of a batch needs about 100 bytes per cell of its plots' bounding boxes, so a batch
    holds at most ``max_cells`` of them (a batch of ordinary plots never comes near)."""
    out: list[list[np.ndarray]] = []
    size = max_plots
    area = 0
    for g in groups:
        g_cells = int(cells[g].sum()) if cells is not None else 0
        if size + len(g) > max_plots or (area and area + g_cells > max_cells):
            out.append([])
            size = area = 0
        out[-1].append(g)
        size += len(g)
        area += g_cells
    return out


def window_of(pix: np.ndarray) -> tuple[int, int, int, int]:
    """(row0, col0, height, width) of the union of the plots' cell ranges."""
    r0, c0 = int(pix[:, 0].min()), int(pix[:, 1].min())
    return r0, c0, int(pix[:, 2].max()) - r0, int(pix[:, 3].max()) - c0


# --- Location keys: the order in which a registry too large for memory is screened ------------

#: Key of the rows that have no location (no geometry, coordinates that are not numbers).
NOWHERE = 1 << 62


@dataclass(frozen=True)
class KeyGrid:
    """Blocks of ``block`` x ``block`` cells of a grid, numbered row by row over the whole globe
    (north to south, west to east). ``width``: blocks in a row of that numbering, so that the
    blocks touching block ``k`` have keys ``k - width - 1 .. k + width + 1``."""

    grid: Grid
    block: int = 512

    @property
    def width(self) -> int:
        return int(np.ceil(720 / (self.block * self.grid.dx))) + 2

    def _offsets(self) -> tuple[int, int]:
        g, b = self.grid, self.block
        return int(np.ceil((90 - g.y0) / (b * g.dy))) + 1, int(np.ceil((g.x0 + 360) / (b * g.dx))) + 1

    def keys(self, bounds: np.ndarray) -> np.ndarray:
        """The key of the block holding the centre of each lon/lat box (:data:`NOWHERE` for a box
        that is not finite or not on the globe)."""
        b = np.asarray(bounds, dtype="float64").reshape(-1, 4)
        with np.errstate(invalid="ignore"):
            cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
            ok = np.isfinite(cx) & np.isfinite(cy) & (np.abs(cx) <= 360) & (np.abs(cy) <= 90)
        g = self.grid
        row_off, col_off = self._offsets()
        brow = np.floor((g.y0 - cy[ok]) / g.dy / self.block).astype("int64") + row_off
        bcol = np.floor((cx[ok] - g.x0) / g.dx / self.block).astype("int64") + col_off
        out = np.full(len(b), NOWHERE, dtype="int64")
        out[ok] = brow * self.width + bcol
        return out

    def small(self, bounds: np.ndarray) -> np.ndarray:
        """Whether each box is at most one block wide and high: two such boxes that intersect
        have keys at most ``width + 1`` apart."""
        b = np.asarray(bounds, dtype="float64").reshape(-1, 4)
        with np.errstate(invalid="ignore"):
            small: np.ndarray = ((b[:, 2] - b[:, 0]) <= self.block * self.grid.dx) & (
                (b[:, 3] - b[:, 1]) <= self.block * self.grid.dy
            )
        return small
