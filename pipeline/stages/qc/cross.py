"""Checks across plots, with a spatial index: identical geometries and overlaps.

One bulk query of a shapely ``STRtree`` finds every pair of plots whose bounding boxes intersect.
Cheap array tests on the boxes then leave only the pairs that can matter — identical boxes (for
``equals``), boxes overlapping by at least half the share asked of the smaller plot (an
intersection can be no larger than its boxes' overlap) — so plots that merely touch their
neighbours, as in a cadastre, cost almost nothing. The survivors are tested with array functions
(``equals``, ``relate_pattern``, ``intersection``). The cost grows with the number of plots and of
real overlaps, never with their square.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import shapely

from ...engine.geodesy import M2_PER_HA
from ...engine.geodesy import geodesic_areas as plot_areas

#: DE-9IM pattern: the interiors of the two geometries intersect (more than touching edges).
INTERIORS_INTERSECT = "T********"


def candidate_pairs(geoms: np.ndarray, min_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) that may be identical or overlap by ``min_share``; and whether their boxes are equal."""
    empty = np.zeros(0, dtype="int64")
    if len(geoms) < 2:
        return empty, empty, np.zeros(0, dtype=bool)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms)  # bounding boxes intersect
    keep = left < right
    left, right = left[keep].astype("int64"), right[keep].astype("int64")
    b = shapely.bounds(geoms)
    bl, br = b[left], b[right]
    same_box = (bl == br).all(axis=1)
    ox = np.minimum(bl[:, 2], br[:, 2]) - np.maximum(bl[:, 0], br[:, 0])
    oy = np.minimum(bl[:, 3], br[:, 3]) - np.maximum(bl[:, 1], br[:, 1])
    overlap = np.clip(ox, 0, None) * np.clip(oy, 0, None)
    planar = shapely.area(geoms)  # degrees²: only compared with each other, over a few km
    need = 0.5 * min_share * np.minimum(planar[left], planar[right])
    keep = same_box | ((overlap > 0) & (overlap >= need))
    return left[keep], right[keep], same_box[keep]


def cross_plot_checks(
    geoms: np.ndarray, area_ha: np.ndarray, ids: np.ndarray, rows: np.ndarray, min_share: float
) -> Iterator[tuple[np.ndarray, str, list[str]]]:
    """Yield (positions, code, messages) for ``duplicate_geometry`` and ``overlap`` findings.

    ``geoms`` are the geometries to screen (valid, polygonal), ``area_ha`` their areas. A pair is
    reported on both plots, each message naming the partner's id and row.
    """
    geoms = np.asarray(geoms, dtype=object)
    left, right, same_box = candidate_pairs(geoms, min_share)
    if not len(left):
        return
    same = np.zeros(len(left), dtype=bool)
    same[same_box] = shapely.equals(geoms[left[same_box]], geoms[right[same_box]])
    if same.any():
        a, b = left[same], right[same]
        yield from _both(
            a,
            b,
            "duplicate_geometry",
            ids,
            rows,
            lambda other, row, k: f"the same geometry as plot {other!r} (row {row})",
        )
    a, b = left[~same], right[~same]
    inner = shapely.relate_pattern(geoms[a], geoms[b], INTERIORS_INTERSECT)
    a, b = a[inner], b[inner]
    if not len(a):
        return
    shared = plot_areas(shapely.intersection(geoms[a], geoms[b])) / M2_PER_HA
    shared = np.nan_to_num(shared)
    smaller = np.minimum(area_ha[a], area_ha[b])
    share = shared / smaller
    big = share >= min_share
    a, b, shared, share = a[big], b[big], shared[big], share[big]
    if len(a):
        yield from _both(
            a,
            b,
            "overlap",
            ids,
            rows,
            lambda other, row, k: (
                f"overlaps plot {other!r} (row {row}) by {shared[k]:.4f} ha, {100 * share[k]:.1f} % of the smaller plot"
            ),
        )


def _both(a: np.ndarray, b: np.ndarray, code: str, ids, rows, text) -> Iterator[tuple[np.ndarray, str, list[str]]]:
    k = np.arange(len(a))
    yield a, code, [text(ids[j], rows[j], kk) for j, kk in zip(b, k)]
    yield b, code, [text(ids[i], rows[i], kk) for i, kk in zip(a, k)]
