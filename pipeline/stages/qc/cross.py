"""Checks across plots, with a spatial index: identical geometries and overlaps.

One bulk query of a shapely ``STRtree`` finds every pair of plots whose bounding boxes intersect.
Cheap array tests on the boxes then leave only the pairs that can matter — identical boxes (for
``equals``), boxes overlapping by at least half the share asked of the smaller plot (an
intersection can be no larger than its boxes' overlap) — so plots that merely touch their
neighbours, as in a cadastre, cost almost nothing. The survivors are tested with array functions
(``equals``, ``relate_pattern``, ``intersection``). The cost grows with the number of plots and of
real overlaps, never with their square.

A pair is reported on both plots, each message naming the partner's id and row. A plot's
findings of one code are listed by the partner's row. The same pairs are found whether the plots
are checked all at once (:func:`cross_plot_checks`) or part by part: :func:`part_cross_checks`
checks a part against the plots just beyond it, :func:`cross_checks_between` a few plots against
any others.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import shapely

from ...engine.geodesy import M2_PER_HA
from ...engine.geodesy import geodesic_areas as plot_areas

#: DE-9IM pattern: the interiors of the two geometries intersect (more than touching edges).
INTERIORS_INTERSECT = "T********"


@dataclass
class CrossIssues:
    """Warnings found across rows: the row of each (a position), its code and message, and the
    partner's row (a plot's findings of one code are listed by it)."""

    pos: np.ndarray
    code: np.ndarray
    message: np.ndarray
    partner: np.ndarray

    def __len__(self) -> int:
        return len(self.pos)

    @classmethod
    def empty(cls) -> CrossIssues:
        e = np.zeros(0, dtype=object)
        return cls(np.zeros(0, dtype="int64"), e, e.copy(), np.zeros(0, dtype="int64"))

    @classmethod
    def concat(cls, parts: list[CrossIssues]) -> CrossIssues:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.pos for p in parts]).astype("int64"),
            np.concatenate([p.code for p in parts]).astype(object),
            np.concatenate([p.message for p in parts]).astype(object),
            np.concatenate([p.partner for p in parts]).astype("int64"),
        )

    def take(self, which) -> CrossIssues:
        return CrossIssues(self.pos[which], self.code[which], self.message[which], self.partner[which])

    def at(self, index: np.ndarray) -> CrossIssues:
        """The same findings with positions mapped through ``index`` (``pos`` -> ``index[pos]``)."""
        return CrossIssues(np.asarray(index)[self.pos], self.code, self.message, self.partner)

    def ordered(self) -> CrossIssues:
        """By position, then code, then partner row."""
        if not len(self):
            return self
        return self.take(np.lexsort((self.partner, self.code.astype(str), self.pos)))


def _prefilter(left, right, geoms_l, geoms_r, min_share: float):
    """Of the pairs whose boxes intersect, those that may be identical or overlap by
    ``min_share``; and whether their boxes are equal."""
    bl, br = shapely.bounds(geoms_l[left]), shapely.bounds(geoms_r[right])
    same_box = (bl == br).all(axis=1)
    ox = np.minimum(bl[:, 2], br[:, 2]) - np.maximum(bl[:, 0], br[:, 0])
    oy = np.minimum(bl[:, 3], br[:, 3]) - np.maximum(bl[:, 1], br[:, 1])
    overlap = np.clip(ox, 0, None) * np.clip(oy, 0, None)
    # degrees²: only compared with each other, over a few km
    need = 0.5 * min_share * np.minimum(shapely.area(geoms_l[left]), shapely.area(geoms_r[right]))
    keep = same_box | ((overlap > 0) & (overlap >= need))
    return left[keep], right[keep], same_box[keep]


def candidate_pairs(geoms: np.ndarray, min_share: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Pairs (i < j) that may be identical or overlap by ``min_share``; and whether their boxes are equal."""
    empty = np.zeros(0, dtype="int64")
    if len(geoms) < 2:
        return empty, empty, np.zeros(0, dtype=bool)
    tree = shapely.STRtree(geoms)
    left, right = tree.query(geoms)  # bounding boxes intersect
    keep = left < right
    return _prefilter(left[keep].astype("int64"), right[keep].astype("int64"), geoms, geoms, min_share)


def _test_pairs(ga: np.ndarray, gb: np.ndarray, area_a, area_b, same_box, min_share: float):
    """For candidate pairs (``ga[k]``, ``gb[k]``): which are the same geometry, which overlap by
    ``min_share`` of the smaller plot, and the shared area (ha) and share of those."""
    n = len(ga)
    same = np.zeros(n, dtype=bool)
    same[same_box] = shapely.equals(ga[same_box], gb[same_box])
    over = np.zeros(n, dtype=bool)
    shared = np.zeros(n)
    share = np.zeros(n)
    rest = np.flatnonzero(~same)
    if len(rest):
        inner = rest[shapely.relate_pattern(ga[rest], gb[rest], INTERIORS_INTERSECT)]
        if len(inner):
            sh = np.nan_to_num(plot_areas(shapely.intersection(ga[inner], gb[inner])) / M2_PER_HA)
            ratio = sh / np.minimum(area_a[inner], area_b[inner])
            big = ratio >= min_share
            over[inner[big]] = True
            shared[inner[big]], share[inner[big]] = sh[big], ratio[big]
    return same, over, shared, share


def _issues(a, b, same, over, shared, share, ids, rows) -> CrossIssues:
    """Both plots' findings for pairs (positions ``a``, ``b`` into ``ids``/``rows``)."""
    parts = []
    for mask, code in ((same, "duplicate_geometry"), (over, "overlap")):
        pa, pb = a[mask], b[mask]
        if not len(pa):
            continue
        if code == "duplicate_geometry":
            ma = [f"the same geometry as plot {ids[j]!r} (row {rows[j]})" for j in pb]
            mb = [f"the same geometry as plot {ids[i]!r} (row {rows[i]})" for i in pa]
        else:
            sh, sr = shared[mask], share[mask]
            ma = [
                f"overlaps plot {ids[j]!r} (row {rows[j]}) by {s:.4f} ha, {100 * r:.1f} % of the smaller plot"
                for j, s, r in zip(pb, sh, sr)
            ]
            mb = [
                f"overlaps plot {ids[i]!r} (row {rows[i]}) by {s:.4f} ha, {100 * r:.1f} % of the smaller plot"
                for i, s, r in zip(pa, sh, sr)
            ]
        codes = np.full(2 * len(pa), code, dtype=object)
        parts.append(
            CrossIssues(
                np.concatenate([pa, pb]),
                codes,
                np.asarray(ma + mb, dtype=object),
                np.concatenate([rows[pb], rows[pa]]),
            )
        )
    return CrossIssues.concat(parts)


def cross_plot_checks(
    geoms: np.ndarray, area_ha: np.ndarray, ids: np.ndarray, rows: np.ndarray, min_share: float
) -> CrossIssues:
    """``duplicate_geometry`` and ``overlap`` findings of the plots (positions into the arrays).

    ``geoms`` are the geometries to screen (valid, polygonal), ``area_ha`` their areas, ``rows``
    their source rows."""
    geoms = np.asarray(geoms, dtype=object)
    left, right, same_box = candidate_pairs(geoms, min_share)
    if not len(left):
        return CrossIssues.empty()
    same, over, shared, share = _test_pairs(
        geoms[left], geoms[right], area_ha[left], area_ha[right], same_box, min_share
    )
    return _issues(left, right, same, over, shared, share, ids, rows).ordered()


def part_cross_checks(
    geoms: np.ndarray, area_ha: np.ndarray, ids: np.ndarray, rows: np.ndarray, n_own: int, min_share: float
) -> CrossIssues:
    """The findings of pairs with at least one plot among the first ``n_own`` (a part of the
    plots); the others (positions ``n_own`` on) are the plots beyond the part that can pair with it.
    Findings on those others are returned too (their position is >= ``n_own``)."""
    geoms = np.asarray(geoms, dtype=object)
    left, right, same_box = candidate_pairs(geoms, min_share)
    mine = (left < n_own) | (right < n_own)
    left, right, same_box = left[mine], right[mine], same_box[mine]
    if not len(left):
        return CrossIssues.empty()
    same, over, shared, share = _test_pairs(
        geoms[left], geoms[right], area_ha[left], area_ha[right], same_box, min_share
    )
    return _issues(left, right, same, over, shared, share, ids, rows)


def cross_checks_between(
    a: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    b: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray],
    min_share: float,
) -> tuple[CrossIssues, CrossIssues]:
    """The findings of pairs of one plot of ``a`` and one of ``b`` (each: geometries, areas, ids,
    rows; no plot in both): (those on ``a``'s plots, those on ``b``'s), positions into each."""
    ga, gb = np.asarray(a[0], dtype=object), np.asarray(b[0], dtype=object)
    if not len(ga) or not len(gb):
        return CrossIssues.empty(), CrossIssues.empty()
    ib, ia = shapely.STRtree(ga).query(gb)  # (position in gb, position in ga)
    ia, ib, same_box = _prefilter(ia.astype("int64"), ib.astype("int64"), ga, gb, min_share)
    if not len(ia):
        return CrossIssues.empty(), CrossIssues.empty()
    same, over, shared, share = _test_pairs(ga[ia], gb[ib], a[1][ia], b[1][ib], same_box, min_share)
    n_a = len(ga)
    ids = np.concatenate([np.asarray(a[2], dtype=object), np.asarray(b[2], dtype=object)])
    rows = np.concatenate([np.asarray(a[3]), np.asarray(b[3])])
    found = _issues(ia, ib + n_a, same, over, shared, share, ids, rows)
    on_a = found.pos < n_a
    on_b = found.take(~on_a)
    on_b.pos = on_b.pos - n_a
    return found.take(on_a), on_b


class PendingIssues:
    """Findings on plots not screened yet, kept by source row until their part is screened."""

    def __init__(self) -> None:
        self._parts: list[CrossIssues] = []  # positions are source rows

    def __len__(self) -> int:
        return sum(len(p) for p in self._parts)

    def add(self, source_rows: np.ndarray, issues: CrossIssues) -> None:
        """Keep ``issues`` (positions into ``source_rows``) under their source rows."""
        if len(issues):
            self._parts.append(issues.at(np.asarray(source_rows)))

    def take(self, source_rows: np.ndarray) -> CrossIssues:
        """The findings on ``source_rows`` (positions into it), let go of here."""
        if not self._parts:
            return CrossIssues.empty()
        every = CrossIssues.concat(self._parts)
        mine = np.isin(every.pos, source_rows)
        self._parts = [every.take(~mine)] if (~mine).any() else []
        found = every.take(mine)
        order = np.argsort(source_rows, kind="stable")
        found.pos = order[np.searchsorted(source_rows, found.pos, sorter=order)]
        return found
