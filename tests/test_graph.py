"""engine.graph.components: the connected components of an edge list, against scipy's."""

from __future__ import annotations

import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components

from pipeline.engine.graph import components


def test_each_node_gets_the_smallest_node_of_its_component_as_scipy_groups_them():
    rng = np.random.default_rng(7)
    for n, edges in ((1, 0), (50, 10), (500, 400), (2000, 2500)):  # from isolated nodes to one giant component
        i, j = rng.integers(0, n, edges), rng.integers(0, n, edges)
        roots = components(n, i, j)
        _, theirs = connected_components(coo_matrix((np.ones(edges), (i, j)), shape=(n, n)), directed=False)
        assert len(set(zip(roots.tolist(), theirs.tolist()))) == len(set(theirs.tolist())) == len(set(roots.tolist()))
        for label in np.unique(theirs):
            members = np.flatnonzero(theirs == label)
            assert (roots[members] == members.min()).all()


def test_a_chain_given_backwards_is_one_component():
    n = 64
    i = np.arange(n - 1)[::-1]
    roots = components(n, i + 1, i)  # 63-62, 62-61, ... : every path jumped to node 0
    assert roots.tolist() == [0] * n
    assert components(3, np.zeros(0, "int64"), np.zeros(0, "int64")).tolist() == [0, 1, 2]
