"""Connected components of a graph given by its edges, on whole arrays (numpy only).

Used for the loss patches' cells (:func:`pipeline.stages.patches.label_cells`) and for the groups of
identical geometries of the cross-plot checks (:mod:`pipeline.stages.qc.cross`).
"""

from __future__ import annotations

import numpy as np


def components(n: int, i: np.ndarray, j: np.ndarray) -> np.ndarray:
    """The connected components of ``n`` nodes joined by the edges ``i[k]``-``j[k]``: each node's
    smallest node of its component. Union-find on whole arrays (hook each edge's larger root under
    its smaller one, then jump every path until each node points at its root), without a loop over
    the edges in Python and without scipy (whose import a screening would pay at start-up)."""
    parent = np.arange(n)
    while True:
        while True:  # every node to its root
            grand = parent[parent]
            if np.array_equal(grand, parent):
                break
            parent = grand
        a, b = parent[i], parent[j]
        apart = a != b
        if not apart.any():
            return parent
        a, b = a[apart], b[apart]
        np.minimum.at(parent, np.maximum(a, b), np.minimum(a, b))  # roots only: parent[x] <= x stays
