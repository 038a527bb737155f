"""What lies under each plot: the overlap of plots with a vector layer (protected areas, native
communities' lands, concessions), in hectares on the WGS84 ellipsoid, through a spatial index.

An :class:`OverlayLayer` holds the layer's polygons (valid, EPSG:4326), their labels, and a
shapely ``STRtree`` built once; :func:`overlaps` measures a batch of plots against it, so that
the screening's chunks are measured one by one against the same index:

* the index gives the (plot, feature) pairs whose envelopes meet and that intersect;
* a plot that a feature contains properly (prepared geometries: the common case, fast) overlaps
  it by its whole area; the others by the area of the exact intersection (shapely);
* a plot that meets several features counts the union of those pieces, so features that overlap
  each other are not counted twice;
* every area is :func:`~pipeline.engine.geodesy.geodesic_areas`, the same as the plots' own;
* a plot that only touches a feature (an edge, a corner) does not overlap it: the area is 0 and
  the feature is not named.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import shapely

from .geodesy import geodesic_areas


@dataclass(eq=False)
class OverlayLayer:
    """A vector layer to overlay (``category``: protected_area, indigenous_land, concession or
    other; ``effect``: review, flag or exclude), with its valid polygons and their labels;
    ``repaired``/``dropped``: features repaired when read, features without an area left out."""

    name: str
    category: str
    effect: str
    geoms: np.ndarray
    labels: np.ndarray
    source: str = ""
    repaired: int = 0
    dropped: int = 0
    tree: shapely.STRtree = field(init=False, repr=False)

    def __post_init__(self) -> None:
        self.geoms = np.asarray(self.geoms, dtype=object)
        self.labels = np.asarray(self.labels, dtype=object)
        shapely.prepare(self.geoms)
        self.tree = shapely.STRtree(self.geoms)

    def fingerprint(self) -> tuple[str, str, str, int]:
        """What the figures depend on: the layer's name, source and geometries' count."""
        return ("overlay", self.name, self.source, len(self.geoms))


@dataclass
class Overlaps:
    """A batch of plots against one layer: overlap (m²) per plot, and the labels of the features
    each plot overlaps (sorted, each once)."""

    area_m2: np.ndarray
    labels: list[list[str]]


def overlaps(layer: OverlayLayer, plots: np.ndarray) -> Overlaps:
    """The overlap of each plot (a polygonal geometry, or None) with ``layer``."""
    plots = np.asarray(plots, dtype=object)
    n = len(plots)
    area = np.zeros(n)
    labels: list[list[str]] = [[] for _ in range(n)]
    live = np.flatnonzero(~(shapely.is_missing(plots) | shapely.is_empty(plots)))
    if not len(live) or not len(layer.geoms):
        return Overlaps(area, labels)
    pairs = np.asarray(layer.tree.query(plots[live], predicate="intersects"))
    pi, fi = live[pairs[0]], pairs[1]
    inside = shapely.contains_properly(layer.geoms[fi], plots[pi])
    pieces = plots[pi].copy()  # a plot inside a feature: the plot itself
    edge = ~inside
    pieces[edge] = shapely.intersection(plots[pi[edge]], layer.geoms[fi[edge]])
    pair_m2 = geodesic_areas(pieces)
    keep = pair_m2 > 0  # an edge or a corner in common is no overlap
    pi, fi, pieces, pair_m2, inside = pi[keep], fi[keep], pieces[keep], pair_m2[keep], inside[keep]
    order = np.argsort(pi, kind="stable")
    pi, fi, pieces, pair_m2, inside = pi[order], fi[order], pieces[order], pair_m2[order], inside[order]
    plot_ids, start, count = np.unique(pi, return_index=True, return_counts=True)
    area[plot_ids] = pair_m2[start]
    for p, s, c in zip(plot_ids, start, count):
        if c > 1:  # several features: the union of the pieces (features may overlap each other)
            group = slice(s, s + c)
            area[p] = (
                pair_m2[group][inside[group]][0]
                if inside[group].any()
                else geodesic_areas([shapely.union_all(pieces[group])])[0]
            )
        labels[p] = sorted({str(x) for x in layer.labels[fi[s : s + c]]})
    return Overlaps(area, labels)
