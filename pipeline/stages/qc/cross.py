"""Checks across plots, with a spatial index: identical geometries and overlaps.

Rows holding exactly the same geometry (the same vertices, in the same order) are first gathered
into one group each, so that twenty copies of a file cost what one
does: every other step works on one plot per group. One bulk query of a shapely ``STRtree`` finds
every pair of those whose bounding boxes intersect. Cheap array tests on the boxes then leave only
the pairs that can matter — identical boxes (for ``equals``, which also joins geometries that are
the same shape drawn with other vertices), boxes overlapping by at least half the share asked of
the smaller plot (an intersection can be no larger than its boxes' overlap) — so plots that merely
touch their neighbours, as in a cadastre, cost almost nothing. The survivors are tested with array
functions (``equals``, ``relate_pattern``, ``intersection``).

The findings grow with the number of plots, never with its square: a plot whose geometry other
rows repeat gets one ``duplicate_geometry`` finding (the size of its group and one partner), and
at most :data:`MAX_OVERLAPS_LISTED` ``overlap`` findings, the largest, saying how many there are.

A plot's findings depend only on the plots that meet it and the plots repeating those: a part of
the plots checked together with every plot that can meet them gives them the findings the whole
file gives (``pipeline.job.run`` checks a chunk with the plots around it; :class:`CrossIssues`
and :class:`PendingIssues` carry findings between the parts).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ...engine.geodesy import M2_PER_HA
from ...engine.geodesy import geodesic_areas as plot_areas
from ...engine.graph import components
from ...i18n import N_, _, formatter

#: DE-9IM pattern: the interiors of the two geometries intersect (more than touching edges).
INTERIORS_INTERSECT = "T********"

#: The ``overlap`` findings listed per plot (the largest shares); the messages say how many there are.
MAX_OVERLAPS_LISTED = 5


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
    geoms: np.ndarray,
    area_ha: np.ndarray,
    ids: np.ndarray,
    rows: np.ndarray,
    min_share: float,
    *,
    wkb: np.ndarray | None = None,
) -> Iterator[tuple[np.ndarray, str, list[str]]]:
    """Yield (positions, code, messages) for ``duplicate_geometry`` and ``overlap`` findings.

    ``geoms`` are the geometries to screen (valid, polygonal), ``area_ha`` their areas; ``wkb``
    their WKB when the caller has it (else encoded here): byte-identical copies are grouped by it
    before the equal ones are looked for. Each message names a partner's id and row.
    """
    geoms = np.asarray(geoms, dtype=object)
    n = len(geoms)
    if n < 2:
        return
    # byte-identical copies first: one representative each, in order of first appearance
    copy_of = pd.factorize(pd.Series(shapely.to_wkb(geoms) if wkb is None else wkb, dtype=object))[0]
    reps = np.unique(copy_of, return_index=True)[1]
    left, right, same_box = candidate_pairs(geoms[reps], min_share)
    same = np.zeros(len(left), dtype=bool)
    same[same_box] = shapely.equals(geoms[reps[left[same_box]]], geoms[reps[right[same_box]]])
    group_of_rep = components(len(reps), left[same], right[same])  # each group labelled by its first rep
    group = group_of_rep[copy_of]  # per plot: its group (the label of a representative)
    order = np.argsort(group, kind="stable")  # members of a group by position
    sizes = np.bincount(group, minlength=len(reps))
    starts = np.cumsum(sizes) - sizes
    first = np.full(len(reps), -1, dtype="int64")
    second = np.full(len(reps), -1, dtype="int64")
    first[group[order[starts[sizes > 0]]]] = order[starts[sizes > 0]]
    second[sizes > 1] = order[starts[sizes > 1] + 1]
    dup = np.flatnonzero(sizes[group] > 1)  # duplicates: every row of a group of two or more
    if len(dup):
        g = group[dup]
        partner = np.where(first[g] == dup, second[g], first[g])
        yield dup, "duplicate_geometry", _duplicate_messages(ids[partner], np.asarray(rows)[partner], sizes[g])

    # overlaps: between groups, once per pair of groups, tested on their representatives
    a, b = left[~same], right[~same]
    ga, gb = group_of_rep[a], group_of_rep[b]
    pairs = pd.DataFrame({"a": a, "b": b, "ga": np.minimum(ga, gb), "gb": np.maximum(ga, gb)})
    pairs = pairs[pairs["ga"] != pairs["gb"]].drop_duplicates(["ga", "gb"])
    a, b = pairs["a"].to_numpy(), pairs["b"].to_numpy()
    ra, rb = reps[a], reps[b]
    inner = shapely.relate_pattern(geoms[ra], geoms[rb], INTERIORS_INTERSECT)
    ra, rb = ra[inner], rb[inner]
    if not len(ra):
        return
    shared = np.nan_to_num(plot_areas(shapely.intersection(geoms[ra], geoms[rb])) / M2_PER_HA)
    share = shared / np.minimum(area_ha[ra], area_ha[rb])
    big = share >= min_share
    ra, rb, shared, share = ra[big], rb[big], shared[big], share[big]
    if not len(ra):
        return
    # every member of one group gets a finding naming the other group's first row, a side at a time
    gA, gB = group[ra], group[rb]
    plot, other, k = [], [], []
    for mine, theirs in ((gA, gB), (gB, gA)):
        n_mine = sizes[mine]
        members = order[np.repeat(starts[mine], n_mine) + _ranges(n_mine)]
        plot.append(members)
        other.append(np.repeat(first[theirs], n_mine))
        k.append(np.repeat(np.arange(len(ra)), n_mine))
    plot_a, other_a, k_a = (np.concatenate(x) for x in (plot, other, k))
    # at most MAX_OVERLAPS_LISTED per plot: the largest shares, then by the partner's row (an order
    # that depends on the plots alone, not on how the pairs were found: the same in a part of the
    # plots checked with its neighbours as in the whole file)
    by_plot = np.lexsort((np.asarray(rows)[other_a], -share[k_a], plot_a))
    count = np.bincount(plot_a, minlength=n)
    rank = np.empty(len(plot_a), dtype="int64")
    rank[by_plot] = np.arange(len(plot_a)) - (np.cumsum(count) - count)[plot_a[by_plot]]
    sel = by_plot[rank[by_plot] < MAX_OVERLAPS_LISTED]
    o, kk = other_a[sel], k_a[sel]
    said = _overlap_messages(ids[o], np.asarray(rows)[o], sizes[group[o]], shared[kk], share[kk], count[plot_a[sel]])
    yield plot_a[sel], "overlap", said


def _duplicate_messages(ids: np.ndarray, rows: np.ndarray, sizes: np.ndarray) -> list[str]:
    """What each ``duplicate_geometry`` finding says: a partner (``ids``, ``rows``) and, when more
    rows share the geometry (``sizes``), how many."""
    two = formatter(_("the same geometry as plot {plot_id!r} (row {row})"))
    more = formatter(
        _("the same geometry as plot {plot_id!r} (row {row}) and {more:,} more row(s): {rows:,} rows share it")
    )
    return [
        more(plot_id=i, row=r, more=s - 2, rows=s) if s > 2 else two(plot_id=i, row=r)
        for i, r, s in zip(ids, rows, sizes)
    ]


#: What an ``overlap`` finding says, by (the partner has copies, the plot has more overlaps than listed).
_OVERLAP_MESSAGES = {
    (False, False): N_("overlaps plot {plot_id!r} (row {row}) by {shared:.4f} ha, {pct:.1f} % of the smaller plot"),
    (True, False): N_(
        "overlaps plot {plot_id!r} (row {row}) and {copies:,} more row(s) with its geometry by {shared:.4f} ha, "
        "{pct:.1f} % of the smaller plot"
    ),
    (False, True): N_(
        "overlaps plot {plot_id!r} (row {row}) by {shared:.4f} ha, {pct:.1f} % of the smaller plot (one of "
        "{overlaps:,} overlaps of this plot; the {listed} largest are listed)"
    ),
    (True, True): N_(
        "overlaps plot {plot_id!r} (row {row}) and {copies:,} more row(s) with its geometry by {shared:.4f} ha, "
        "{pct:.1f} % of the smaller plot (one of {overlaps:,} overlaps of this plot; the {listed} largest are listed)"
    ),
}


def _overlap_messages(
    ids: np.ndarray, rows: np.ndarray, copies: np.ndarray, shared: np.ndarray, share: np.ndarray, overlaps: np.ndarray
) -> list[str]:
    """What each overlap finding says: the partner (``ids``, ``rows``; ``copies``: rows with its
    geometry), the area shared and its share of the smaller plot, and how many overlaps the plot
    has when there are more than are listed."""
    fills = {key: formatter(_(text)) for key, text in _OVERLAP_MESSAGES.items()}
    return [
        fills[(bool(c > 1), bool(n > MAX_OVERLAPS_LISTED))](
            plot_id=i, row=r, copies=c - 1, shared=a, pct=100 * s, overlaps=n, listed=MAX_OVERLAPS_LISTED
        )
        for i, r, c, a, s, n in zip(ids, rows, copies, shared, share, overlaps)
    ]


def _ranges(lengths: np.ndarray) -> np.ndarray:
    """0..n-1 for each n of ``lengths``, concatenated."""
    lengths = np.asarray(lengths, dtype="int64")
    ranges: np.ndarray = np.arange(lengths.sum()) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    return ranges


@dataclass
class CrossIssues:
    """Warnings found across rows: the row of each (a position), its code and message, in the order
    they are listed for a plot."""

    pos: np.ndarray
    code: np.ndarray
    message: np.ndarray

    def __len__(self) -> int:
        return len(self.pos)

    @classmethod
    def empty(cls) -> CrossIssues:
        e = np.zeros(0, dtype=object)
        return cls(np.zeros(0, dtype="int64"), e, e.copy())

    @classmethod
    def gather(cls, found: Iterable[tuple[np.ndarray, str, list[str]]]) -> CrossIssues:
        """The (positions, code, messages) that :func:`cross_plot_checks` yields, as one record."""
        parts = [cls(np.asarray(p, dtype="int64"), np.full(len(p), c, dtype=object), np.asarray(m, dtype=object))
                 for p, c, m in found]  # fmt: skip
        return cls.concat(parts)

    @classmethod
    def concat(cls, parts: list[CrossIssues]) -> CrossIssues:
        parts = [p for p in parts if len(p)]
        if not parts:
            return cls.empty()
        return cls(
            np.concatenate([p.pos for p in parts]).astype("int64"),
            np.concatenate([p.code for p in parts]).astype(object),
            np.concatenate([p.message for p in parts]).astype(object),
        )

    def take(self, which: np.ndarray) -> CrossIssues:
        return CrossIssues(self.pos[which], self.code[which], self.message[which])

    def at(self, index: np.ndarray) -> CrossIssues:
        """The same findings with positions mapped through ``index`` (``pos`` -> ``index[pos]``)."""
        return CrossIssues(np.asarray(index)[self.pos], self.code, self.message)


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
        """The findings on ``source_rows`` (positions into it), in the order they were added."""
        if not self._parts:
            return CrossIssues.empty()
        every = CrossIssues.concat(self._parts)
        mine = np.isin(every.pos, source_rows)
        self._parts = [every.take(~mine)] if (~mine).any() else []
        found = every.take(mine)
        order = np.argsort(source_rows, kind="stable")
        found.pos = order[np.searchsorted(source_rows, found.pos, sorter=order)]
        return found
