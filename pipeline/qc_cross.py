"""Checks across plots, with a spatial index: identical geometries and overlaps.

One bulk query of a shapely ``STRtree`` finds every pair of plots whose geometries intersect; the
pairs are then tested with array functions (``equals``, ``relate_pattern``, ``intersection``), so
the cost grows with the number of plots and of touching pairs, never with their square.
"""

from __future__ import annotations

from typing import Iterator

import numpy as np
import shapely

from .geodesy import M2_PER_HA, ellipsoid_areas

#: DE-9IM pattern: the interiors of the two geometries intersect (more than touching edges).
INTERIORS_INTERSECT = "T********"


def candidate_pairs(geoms: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs (i < j) of geometries that intersect, from one bulk STRtree query."""
    if len(geoms) < 2:
        return np.zeros(0, dtype="int64"), np.zeros(0, dtype="int64")
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms, predicate="intersects")
    keep = left < right
    return left[keep].astype("int64"), right[keep].astype("int64")


def cross_plot_checks(geoms: np.ndarray, area_ha: np.ndarray, ids: np.ndarray, rows: np.ndarray,
                      min_share: float) -> Iterator[tuple[np.ndarray, str, list[str]]]:
    """Yield (positions, code, messages) for ``duplicate_geometry`` and ``overlap`` findings.

    ``geoms`` are the geometries to screen (valid, polygonal), ``area_ha`` their areas. A pair is
    reported on both plots, each message naming the partner's id and row.
    """
    left, right = candidate_pairs(np.asarray(geoms, dtype=object))
    if not len(left):
        return
    same = shapely.equals(geoms[left], geoms[right])
    if same.any():
        a, b = left[same], right[same]
        yield from _both(a, b, "duplicate_geometry", ids, rows,
                         lambda other, row, k: f"the same geometry as plot {other!r} (row {row})")
    rest = ~same
    a, b = left[rest], right[rest]
    inner = shapely.relate_pattern(geoms[a], geoms[b], INTERIORS_INTERSECT)
    a, b = a[inner], b[inner]
    if not len(a):
        return
    shared = ellipsoid_areas(shapely.intersection(geoms[a], geoms[b])) / M2_PER_HA
    shared = np.nan_to_num(shared)
    smaller = np.minimum(area_ha[a], area_ha[b])
    share = shared / smaller
    big = share >= min_share
    a, b, shared, share = a[big], b[big], shared[big], share[big]
    if len(a):
        yield from _both(a, b, "overlap", ids, rows,
                         lambda other, row, k: f"overlaps plot {other!r} (row {row}) by {shared[k]:.4f} ha, "
                                               f"{100 * share[k]:.1f} % of the smaller plot")


def _both(a: np.ndarray, b: np.ndarray, code: str, ids, rows, text) -> Iterator[tuple[np.ndarray, str, list[str]]]:
    k = np.arange(len(a))
    yield a, code, [text(ids[j], rows[j], kk) for j, kk in zip(b, k)]
    yield b, code, [text(ids[i], rows[i], kk) for i, kk in zip(a, k)]
