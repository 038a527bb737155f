"""Exact pixel coverage fractions of polygons on a regular grid.

For every polygon and every grid cell it touches, the fraction of the cell's area that lies inside
the polygon — the quantity exactextract calls ``coverage`` — computed exactly (up to floating
point), for a whole batch of polygons at once with numpy, without a Python loop over polygons.

How it works (the "signed area accumulation" used by exact font rasterisers):

1. Every ring is cut at every grid line it crosses, so each piece lies inside one cell.
2. By Green's theorem the area of a polygon inside a cell, for the part of a row to the right of an
   edge, is accumulated along the row: a piece in cell ``(r, c)`` with signed height ``dy`` (in
   rows) and mean position ``xm`` inside the cell (0..1) adds ``dy * (1 - xm)`` to cell ``c`` and
   ``dy`` to every cell to its right. Storing ``dy * (1 - xm)`` in ``c`` and ``dy * xm`` in
   ``c + 1`` and taking a cumulative sum along each row gives exactly that.
3. Each ring's sign is normalised from its own shoelace area, so shells add and holes subtract
   whatever the orientation of the input; multipolygon parts add up.

The result is exact for valid polygons (shells, holes, multiple parts, sub-pixel polygons, edges
on pixel lines). Invalid polygons (self-intersections) must be repaired before: they would count
overlapping parts twice or cancel them.

Coordinates are taken in the grid's own units (degrees for EPSG:4326); the grid is north-up:
column ``c`` spans ``x0 + c*dx .. x0 + (c+1)*dx`` and row ``r`` spans ``y0 - r*dy`` (top) to
``y0 - (r+1)*dy``. Rows and columns may be negative or beyond any raster: the grid is infinite,
and the caller decides which cells hold data.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import shapely

from ..i18n import tr
from .arrays import BaseGeometry, Geometries, segment_of

if TYPE_CHECKING:
    from affine import Affine

# Fractions below this are floating-point noise from pieces lying on a grid line.
_FRACTION_EPS = 1e-12
# Pixel coordinates this close to a grid line are put on it: a vertex typed as "-76.4995" is meant
# to lie on the line, but its binary value misses it by ~1e-11 pixel, which would create slivers.
SNAP_PX = 1e-9


@dataclass(frozen=True)
class Grid:
    """A north-up regular grid: upper-left corner (x0, y0) and positive cell sizes dx, dy."""

    x0: float
    y0: float
    dx: float
    dy: float

    @classmethod
    def from_transform(cls, transform: Affine) -> Grid:
        """Build from an affine (rasterio) transform of a north-up raster."""
        if transform.b != 0 or transform.d != 0 or transform.a <= 0 or transform.e >= 0:
            raise ValueError(tr("not a north-up grid without rotation: {transform!r}", transform=transform))
        return cls(transform.c, transform.f, transform.a, -transform.e)


@dataclass(frozen=True)
class Coverage:
    """Sparse coverage of a batch of polygons: one entry per (polygon, cell) with a fraction > 0.

    ``index`` is the polygon's position in the batch; ``row`` and ``col`` the cell on the grid;
    ``fraction`` the share of the cell inside the polygon (0 < fraction <= 1). Entries are sorted
    by polygon, then row, then column.
    """

    index: np.ndarray
    row: np.ndarray
    col: np.ndarray
    fraction: np.ndarray

    def __len__(self) -> int:
        return len(self.index)


def _empty_coverage() -> Coverage:
    i = np.empty(0, dtype="int64")
    return Coverage(i, i.copy(), i.copy(), np.empty(0, dtype="float64"))


def coverage_fractions(geoms: Geometries, grid: Grid) -> Coverage:
    """Exact coverage fractions of each polygon of ``geoms`` on ``grid``.

    ``geoms`` is a sequence of shapely Polygons / MultiPolygons (None, empty or non-polygonal
    geometries simply cover nothing). Returns a :class:`Coverage`.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    p = _edge_pieces(geoms, grid)
    if p is None:
        return _empty_coverage()
    owner, row, col, xm, dy, r_min, c_min, width, height = p

    # --- accumulate into ragged per-polygon buffers of height x (width + 1) ------------------
    # The buffers are laid out by row length (polygons of one width next to each other), so that
    # rows of one length are a contiguous block.
    stride = width + 1
    size = height * stride
    layout = np.argsort(stride, kind="stable")
    offset = np.zeros(n, dtype="int64")
    offset[layout[1:]] = np.cumsum(size[layout])[:-1]
    total = int(size.sum())
    flat = offset[owner] + row * stride[owner] + col
    acc = np.bincount(flat, weights=dy * (1 - xm), minlength=total)
    acc += np.bincount(flat + 1, weights=dy * xm, minlength=total + 1)[:total]

    # Cumulative sum along each buffer row. Rows of equal length are summed together as a 2-D
    # array, so that each polygon's result does not depend on which other polygons share the batch
    # (bit-identical reruns and partitionings).
    ordered_stride, ordered_size = stride[layout], size[layout]
    group_ends = np.flatnonzero(np.r_[ordered_stride[1:] != ordered_stride[:-1], True])
    cell_ends = np.cumsum(ordered_size)[group_ends]
    begin = 0
    for end, length in zip(cell_ends.tolist(), ordered_stride[group_ends].tolist()):
        if end > begin:
            block = acc[begin:end].reshape(-1, length)
            np.cumsum(block, axis=1, out=block)
        begin = end
    cover = acc

    # --- back to (polygon, row, col) entries, polygon by polygon -----------------------------
    valid = cover > _FRACTION_EPS
    rows_of = height[layout]  # buffer rows, in layout order
    row_of_buffer = segment_of(rows_of)
    row_poly = layout[row_of_buffer]
    row_len = ordered_stride[row_of_buffer]
    row_start = np.zeros(len(row_len), dtype="int64")
    np.cumsum(row_len[:-1], out=row_start[1:])
    valid[row_start + row_len - 1] = False  # the extra column of each row
    per_row = np.add.reduceat(valid, row_start) if len(row_start) else np.zeros(0, dtype="int64")
    cells = np.flatnonzero(valid)
    entry_row = segment_of(per_row)
    poly = row_poly[entry_row]
    first_row = np.zeros(n, dtype="int64")
    first_row[layout[1:]] = np.cumsum(rows_of)[:-1]
    lrow = entry_row - first_row[poly]
    lcol = cells - row_start[entry_row]
    # entries polygon by polygon (each polygon's entries are one block, in row-major order)
    per_poly = np.bincount(row_poly, weights=per_row, minlength=n).astype("int64")
    block_start = np.zeros(n, dtype="int64")
    block_start[layout[1:]] = np.cumsum(per_poly[layout])[:-1]
    out_start = np.zeros(n, dtype="int64")
    np.cumsum(per_poly[:-1], out=out_start[1:])
    m = len(cells)
    gather_at = np.arange(m) + (block_start - out_start)[segment_of(per_poly)]
    poly, lrow, lcol, frac = poly[gather_at], lrow[gather_at], lcol[gather_at], cover[cells[gather_at]]
    return Coverage(
        index=poly,
        row=lrow + r_min[poly],
        col=lcol + c_min[poly],
        fraction=np.minimum(frac, 1.0),
    )


#: Per piece its polygon, row, col, xm and dy; per polygon its window (r_min, c_min, width, height).
_EdgePieces = tuple[
    np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray
]


def _rings(parts: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The rings of polygons, shell first: their vertices (x, y), each vertex's ring, each ring's
    polygon, and whether it is a shell. A polygon without holes is its own ring, so that only the
    rings of polygons with holes are made into objects (one per ring would hold the GIL)."""
    holes = shapely.get_num_interior_rings(parts)
    first_ring = np.zeros(len(parts), dtype="int64")
    np.cumsum(holes[:-1] + 1, out=first_ring[1:])
    ring_part = np.repeat(np.arange(len(parts)), holes + 1)
    is_shell = np.zeros(len(ring_part), dtype=bool)
    is_shell[first_ring] = True
    holed = np.flatnonzero(holes > 0)
    if not len(holed):
        coords, ring_of_vertex = shapely.get_coordinates(parts, return_index=True)
        return coords, ring_of_vertex, ring_part, is_shell
    simple = np.flatnonzero(holes == 0)
    plain, plain_part = shapely.get_coordinates(parts[simple], return_index=True)
    rings, of_holed = shapely.get_rings(parts[holed], return_index=True)
    within = np.arange(len(rings)) - np.searchsorted(of_holed, of_holed)  # 0 for the shell, then the holes
    ring_coords, ring_index = shapely.get_coordinates(rings, return_index=True)
    ring_of_vertex = np.concatenate(
        [first_ring[simple][plain_part], (first_ring[holed[of_holed]] + within)[ring_index]]
    )
    order = np.argsort(ring_of_vertex, kind="stable")  # ring by ring, as get_rings would list them
    return np.concatenate([plain, ring_coords])[order], ring_of_vertex[order], ring_part, is_shell


def _edge_pieces(geoms: np.ndarray, grid: Grid) -> _EdgePieces | None:
    """Every ring of every polygon cut at every grid line: per piece its polygon, its cell (row,
    col, relative to the polygon's window), its mean position in the cell (xm) and its signed
    height (dy, with the ring's sign); and per polygon its window (r_min, c_min, width, height).
    None when no geometry is polygonal."""
    n = len(geoms)
    if n == 0:
        return None
    polygonal = np.isin(shapely.get_type_id(geoms), (3, 6)) & ~shapely.is_empty(geoms)
    if not polygonal.any():
        return None
    idx_geoms = np.flatnonzero(polygonal)

    # --- rings, their owner polygon, and whether each is a shell or a hole -------------------
    if (shapely.get_type_id(geoms[idx_geoms]) == 3).all():  # all Polygons: each is its own part
        parts, part_owner = geoms[idx_geoms], np.arange(len(idx_geoms))
    else:
        parts, part_owner = shapely.get_parts(geoms[idx_geoms], return_index=True)
    coords, ring_of_vertex, ring_part, is_shell = _rings(parts)
    ring_owner = idx_geoms[part_owner[ring_part]]

    u, v = to_pixel(coords[:, 0], coords[:, 1], grid)

    # Per-polygon window: integer origin and size, from the polygon's bounds.
    owner_of_vertex = ring_owner[ring_of_vertex]  # non-decreasing: each polygon's vertices are one run
    c_min = np.full(n, np.iinfo("int64").max)
    r_min = np.full(n, np.iinfo("int64").max)
    c_max = np.full(n, np.iinfo("int64").min)
    r_max = np.full(n, np.iinfo("int64").min)
    run = np.flatnonzero(np.r_[True, owner_of_vertex[1:] != owner_of_vertex[:-1]])
    who = owner_of_vertex[run]
    fu, fv = np.floor(u), np.floor(v)
    c_min[who] = np.minimum.reduceat(fu, run).astype("int64")
    r_min[who] = np.minimum.reduceat(fv, run).astype("int64")
    c_max[who] = np.maximum.reduceat(np.ceil(u), run).astype("int64")
    r_max[who] = np.maximum.reduceat(np.ceil(v), run).astype("int64")
    width = np.where(polygonal, np.maximum(c_max - c_min, 1), 0)
    height = np.where(polygonal, np.maximum(r_max - r_min, 1), 0)

    # Work in window-local coordinates: small numbers keep full precision.
    lu = u - c_min[owner_of_vertex]
    lv = v - r_min[owner_of_vertex]

    # --- edges ------------------------------------------------------------------------------
    same_ring = ring_of_vertex[1:] == ring_of_vertex[:-1]
    a = np.flatnonzero(same_ring)  # edge k goes from vertex a[k] to a[k] + 1
    ua, va, ub, vb = lu[a], lv[a], lu[a + 1], lv[a + 1]
    edge_ring = ring_of_vertex[a]

    # Ring sign: shells must add, holes subtract. The accumulation yields -(shoelace area) in
    # (u, v) coordinates, so the factor is -sign(shoelace) for shells, +sign for holes.
    shoelace = np.bincount(edge_ring, weights=ua * vb - ub * va, minlength=len(ring_part)) / 2
    ring_factor = -np.sign(shoelace) * np.where(is_shell, 1.0, -1.0)
    keep = ring_factor[edge_ring] != 0
    if not keep.all():
        ua, va, ub, vb, edge_ring = ua[keep], va[keep], ub[keep], vb[keep], edge_ring[keep]

    # --- cut edges at grid lines: first at column lines, then the pieces at row lines ---------
    # Each pass emits the pieces of a segment in the order it runs, so no sort is needed.
    pu0, pv0, pu1, pv1, e = _split(ua, va, ub, vb, np.arange(len(ua)))
    pv0, pu0, pv1, pu1, e = _split(pv0, pu0, pv1, pu1, e)
    dy = pv1 - pv0
    nonzero = dy != 0
    e, pu0, pu1, pv0, pv1, dy = e[nonzero], pu0[nonzero], pu1[nonzero], pv0[nonzero], pv1[nonzero], dy[nonzero]

    # The cell holding each piece, from its midpoint (a piece never crosses a grid line).
    col = np.floor((pu0 + pu1) / 2).astype("int64")
    row = np.floor((pv0 + pv1) / 2).astype("int64")
    owner = ring_owner[edge_ring[e]]
    col = np.clip(col, 0, width[owner] - 1)
    row = np.clip(row, 0, height[owner] - 1)
    xm = np.clip((pu0 + pu1) / 2 - col, 0.0, 1.0)
    dy = dy * ring_factor[edge_ring[e]]
    return owner, row, col, xm, dy, r_min, c_min, width, height


# --- One large polygon, window by window -----------------------------------------------------


@dataclass(frozen=True)
class PolygonPieces:
    """One polygon's rings cut at every grid line, ready to give its coverage of any window.

    ``row0``/``col0`` is the polygon's first cell on the grid and ``height`` x ``width`` its
    window; per piece: ``row``, ``col`` (relative to ``row0``/``col0``, sorted by row), and the
    two amounts it adds to its cell (``a``) and to the next one (``b``) before the cumulative sum
    along the row. Memory grows with the polygon's perimeter in pixels, not with its area.
    """

    row0: int
    col0: int
    height: int
    width: int
    row: np.ndarray
    col: np.ndarray
    a: np.ndarray
    b: np.ndarray

    def band(self, row0: int, height: int) -> PolygonPieces:
        """The pieces in grid rows ``row0 .. row0+height-1`` (what a window of that band needs)."""
        lo, hi = np.searchsorted(self.row, [row0 - self.row0, row0 - self.row0 + height])
        return PolygonPieces(
            self.row0,
            self.col0,
            self.height,
            self.width,
            self.row[lo:hi],
            self.col[lo:hi],
            self.a[lo:hi],
            self.b[lo:hi],
        )


def polygon_pieces(geom: BaseGeometry, grid: Grid) -> PolygonPieces | None:
    """The :class:`PolygonPieces` of one (Multi)Polygon on ``grid``; None when it covers nothing."""
    p = _edge_pieces(np.asarray([geom], dtype=object), grid)
    if p is None:
        return None
    _owner, row, col, xm, dy, r_min, c_min, width, height = p
    order = np.argsort(row, kind="stable")
    return PolygonPieces(
        int(r_min[0]),
        int(c_min[0]),
        int(height[0]),
        int(width[0]),
        row[order],
        col[order],
        (dy * (1 - xm))[order],
        (dy * xm)[order],
    )


def window_coverage(pieces: PolygonPieces, row0: int, col0: int, height: int, width: int) -> np.ndarray:
    """The coverage fraction of every cell of a window (grid rows ``row0..+height``, columns
    ``col0..+width``) by the polygon of ``pieces``: a (height, width) float array, 0 outside.

    The same accumulation as :func:`coverage_fractions`, restricted to the window: pieces left of
    it add their whole height to every cell of their row (a carry), pieces right of it nothing.
    Memory is that of the window, whatever the polygon's size.
    """
    carry, inside = _window_parts(pieces, row0, col0, height, width)
    if inside is None:  # no edge crosses the window: each row is wholly in or out
        rows: np.ndarray = np.broadcast_to(_clip_cover(carry)[:, None], (height, width)).copy()
        return rows
    row, col, a, b = inside
    stride = width + 1
    flat = row * stride + col
    size = height * stride
    acc = np.bincount(flat, weights=a, minlength=size).astype("float64", copy=False)
    acc += np.bincount(flat + 1, weights=b, minlength=size + 1)[:size]
    cover = np.cumsum(acc.reshape(height, stride), axis=1)[:, :width]
    cover += carry[:, None]
    return _clip_cover(cover)


def window_row_coverage(pieces: PolygonPieces, row0: int, col0: int, height: int, width: int) -> np.ndarray | None:
    """When no edge of the polygon crosses the window, the coverage of each of its rows (every
    cell of a row has the same: 0 or 1); None otherwise. Costs the window's height, not its area."""
    carry, inside = _window_parts(pieces, row0, col0, height, width)
    return _clip_cover(carry) if inside is None else None


def _window_parts(
    pieces: PolygonPieces, row0: int, col0: int, height: int, width: int
) -> tuple[np.ndarray, tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None]:
    """The carry into each row of a window, and the pieces inside it (None when there are none)."""
    lr0, lc0 = row0 - pieces.row0, col0 - pieces.col0
    lo, hi = np.searchsorted(pieces.row, [lr0, lr0 + height])
    row = pieces.row[lo:hi] - lr0
    col = pieces.col[lo:hi] - lc0
    a, b = pieces.a[lo:hi], pieces.b[lo:hi]
    left = col < 0
    carry = np.bincount(row[left], weights=a[left] + b[left], minlength=height).astype("float64", copy=False)
    inside = (col >= 0) & (col < width)
    if not inside.any():
        return carry, None
    return carry, (row[inside], col[inside], a[inside], b[inside])


def _clip_cover(cover: np.ndarray) -> np.ndarray:
    return np.where(cover > _FRACTION_EPS, np.minimum(cover, 1.0), 0.0)


def to_pixel(x: np.ndarray, y: np.ndarray, grid: Grid) -> tuple[np.ndarray, np.ndarray]:
    """Fractional pixel coordinates (u grows with columns, v with rows), snapped to grid lines
    within :data:`SNAP_PX`."""
    u = (np.asarray(x, dtype="float64") - grid.x0) / grid.dx
    v = (grid.y0 - np.asarray(y, dtype="float64")) / grid.dy
    for a in (u, v):
        near = np.round(a)
        snap = np.abs(a - near) < SNAP_PX
        a[snap] = near[snap]
    return u, v


def _split(
    p0: np.ndarray, q0: np.ndarray, p1: np.ndarray, q1: np.ndarray, seg: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Cut segments (p0, q0) -> (p1, q1) where ``p`` crosses an integer, keeping their order.

    Returns the pieces as (p0, q0, p1, q1, seg) with ``seg`` carried over from the segment. A
    piece's ends on a grid line hold the integer exactly; its other coordinate is interpolated.
    """
    lo, hi = np.minimum(p0, p1), np.maximum(p0, p1)
    first = np.floor(lo) + 1  # the integers strictly between lo and hi:
    last = np.ceil(hi) - 1  # first .. last
    count = np.maximum(last - first + 1, 0).astype("int64")
    n_cross = int(count.sum())
    if n_cross == 0:
        return p0, q0, p1, q1, seg
    # Each segment's pieces, in running order: the first starts at the segment's start, each
    # crossing ends a piece and starts the next, the last ends at the segment's end.
    pieces = count + 1
    first_piece = np.zeros(len(p0), dtype="int64")
    np.cumsum(pieces[:-1], out=first_piece[1:])
    n_pieces = int(first_piece[-1] + pieces[-1])
    c = segment_of(count)  # the segment of each crossing
    i = np.arange(n_cross) - (np.cumsum(count) - count)[c]
    p0c, p1c, q0c = p0[c], p1[c], q0[c]
    cross = np.where(p1c >= p0c, first[c] + i, last[c] - i)
    qcross = q0c + (cross - p0c) / (p1c - p0c) * (q1[c] - q0c)
    ends_at = first_piece[c] + i  # the piece each crossing ends (the next one starts there)
    pa, qa, pb, qb = np.empty(n_pieces), np.empty(n_pieces), np.empty(n_pieces), np.empty(n_pieces)
    pa[first_piece], qa[first_piece] = p0, q0
    pa[ends_at + 1], qa[ends_at + 1] = cross, qcross
    last_piece = first_piece + count
    pb[last_piece], qb[last_piece] = p1, q1
    pb[ends_at], qb[ends_at] = cross, qcross
    return pa, qa, pb, qb, seg[segment_of(pieces)]
