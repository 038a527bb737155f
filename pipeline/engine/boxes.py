"""Which boxes may meet one of many others: a broad phase on a grid, in numpy alone.

:class:`Occupied` marks the cells of a regular grid that the boxes of one set cover; a box of
another set can meet one of them only if it covers a marked cell. The answer errs only on the safe
side (a box near a marked cell's corner is kept though it meets nothing): what it keeps is then
checked exactly. Unlike an R-tree of the geometries, it makes no Python object per box, and its
numpy work lets other threads run.
"""

from __future__ import annotations

import numpy as np
import numpy.typing as npt

#: The grid's cells per side at most (its memory: 8 bytes a cell).
MAX_CELLS = 1024


class Occupied:
    """The grid cells covered by ``bounds`` (an (n, 4) array of xmin, ymin, xmax, ymax).

    The cell size is that of the boxes' typical size (their 90th percentile), so that most boxes
    mark a few cells, and no more than :data:`MAX_CELLS` cells per side cover them all."""

    def __init__(self, bounds: npt.NDArray[np.float64]) -> None:
        bounds = np.asarray(bounds, dtype="float64").reshape(-1, 4)
        bounds = bounds[np.isfinite(bounds).all(axis=1)]  # a box without bounds meets nothing
        self.empty = not len(bounds)
        if self.empty:
            return
        self.x0, self.y0 = bounds[:, 0].min(), bounds[:, 1].min()
        span = max(bounds[:, 2].max() - self.x0, bounds[:, 3].max() - self.y0)
        typical = float(np.percentile(np.maximum(bounds[:, 2] - bounds[:, 0], bounds[:, 3] - bounds[:, 1]), 90))
        self.size = max(typical, span / (MAX_CELLS - 1), 1e-9 * max(1.0, abs(self.x0), abs(self.y0)))
        c0, r0, c1, r1 = self._cells(bounds)
        self.ncols, self.nrows = int(c1.max()) + 1, int(r1.max()) + 1
        # Each box adds 1 over its cells: four corners of a difference array, then two sums.
        width = self.ncols + 1
        corners = np.concatenate(
            [r0 * width + c0, r0 * width + c1 + 1, (r1 + 1) * width + c0, (r1 + 1) * width + c1 + 1]
        )
        weights = np.repeat([1.0, -1.0, -1.0, 1.0], len(c0))
        diff = np.bincount(corners, weights=weights, minlength=(self.nrows + 1) * width).reshape(-1, width)
        marked = np.cumsum(np.cumsum(diff, axis=0), axis=1)[: self.nrows, : self.ncols] > 0.5
        # summed-area table: marked cells in rows < r, columns < c
        self.table = np.zeros((self.nrows + 1, self.ncols + 1), dtype="int64")
        np.cumsum(np.cumsum(marked, axis=0), axis=1, out=self.table[1:, 1:])

    def _cells(self, bounds: npt.NDArray[np.float64]) -> tuple[np.ndarray, ...]:
        """The cells of each box's corners (clipped just beyond the grid: far boxes stay far)."""
        c0 = np.floor((bounds[:, 0] - self.x0) / self.size)
        r0 = np.floor((bounds[:, 1] - self.y0) / self.size)
        c1 = np.floor((bounds[:, 2] - self.x0) / self.size)
        r1 = np.floor((bounds[:, 3] - self.y0) / self.size)
        return tuple(np.clip(a, -1, MAX_CELLS + 1).astype("int64") for a in (c0, r0, c1, r1))

    def meets(self, bounds: npt.NDArray[np.float64]) -> npt.NDArray[np.bool_]:
        """For each box of ``bounds`` (finite), whether it covers a marked cell: False means it meets
        none of the boxes (touching counts as meeting)."""
        bounds = np.asarray(bounds, dtype="float64").reshape(-1, 4)
        if self.empty or not len(bounds):
            return np.zeros(len(bounds), dtype=bool)
        c0, r0, c1, r1 = self._cells(bounds)
        inside = (c1 >= 0) & (r1 >= 0) & (c0 < self.ncols) & (r0 < self.nrows)
        c0, r0 = np.clip(c0, 0, self.ncols - 1), np.clip(r0, 0, self.nrows - 1)
        c1, r1 = np.clip(c1, 0, self.ncols - 1) + 1, np.clip(r1, 0, self.nrows - 1) + 1
        t = self.table
        count = t[r1, c1] - t[r0, c1] - t[r1, c0] + t[r0, c0]
        out: npt.NDArray[np.bool_] = inside & (count > 0)
        return out
