"""The broad phase of the checks across plots: boxes that may meet, never missing one that does."""

import numpy as np
import pytest

from pipeline.engine.boxes import Occupied


def _boxes(rng, n, x0, y0, spread, size):
    xy = rng.uniform([x0, y0], [x0 + spread, y0 + spread], (n, 2))
    wh = rng.uniform(0.2, 1.0, (n, 2)) * size
    return np.column_stack([xy, xy + wh])


def _meet(a, b):
    """Exact: does each box of ``b`` meet a box of ``a`` (touching counts)?"""
    return (
        (b[:, None, 0] <= a[None, :, 2])
        & (b[:, None, 2] >= a[None, :, 0])
        & (b[:, None, 1] <= a[None, :, 3])
        & (b[:, None, 3] >= a[None, :, 1])
    ).any(axis=1)


@pytest.mark.parametrize("seed", range(4))
def test_no_box_that_meets_is_missed_and_far_ones_are_not_kept(seed):
    rng = np.random.default_rng(seed)
    mine = _boxes(rng, 400, -75.0, -8.0, 0.5, 0.004)
    mine[:3, 2:] += 0.05  # a few large boxes among small ones
    others = _boxes(rng, 3000, -75.2, -8.2, 0.9, 0.004)
    got = Occupied(mine).meets(others)
    exact = _meet(mine, others)
    assert got[exact].all()  # never fewer
    # never many more: a kept box lies within a cell (the typical size) of one of mine
    grown = mine + np.array([-1, -1, 1, 1]) * 2 * 0.004
    assert not got[~_meet(grown, others)].any()


def test_touching_counts_and_nothing_meets_no_boxes():
    mine = np.array([[0.0, 0.0, 1.0, 1.0], [np.nan] * 4])
    others = np.array([[1.0, 0.5, 2.0, 0.6], [1.0 + 1e-9, 0.0, 2.0, 1.0], [-1.0, -1.0, 0.0, 0.0], [5.0, 5.0, 6.0, 6.0]])
    got = Occupied(mine).meets(others)
    assert got[[0, 2]].all() and not got[3]
    assert not Occupied(np.zeros((0, 4))).meets(others).any()
    assert Occupied(mine).meets(np.zeros((0, 4))).shape == (0,)


def test_tiny_and_far_boxes():
    mine = np.array([[-75.0, -8.0, -75.0, -8.0], [-75.0, -8.0, -75.0 + 1e-7, -8.0 + 1e-7]])  # a point, a speck
    others = np.array([[-75.0, -8.0, -74.9, -7.9], [1e300, 1e300, 1e301, 1e301], [-1e300, -8.0, -75.1, -7.0]])
    assert Occupied(mine).meets(others).tolist() == [True, False, False]
