"""Forest at the cut-off: class maps (forest / not forest, agricultural use), the forest rule, and
where each plot's loss after the cut-off fell.

A *class map* is a layer whose pixel values are classes: a forest map of the cut-off day
(GFC2020: 1 = forest; a Bosque / No bosque map: its forest class), or a land-use map marking
agricultural use or tree crops at the cut-off (a plantation class, a cocoa map). Its
:class:`ClassSpec` says which values mean the class and which is no data; a pixel no tile covers
is unknown, never "not forest".

* :class:`ClassStatistics` measures one class map on its own grid: per plot, its area with data and
  its area of the class (``<name>_forest_cutoff_ha``).
* :class:`CutoffStatistics` measures a loss product together with the forest maps (and a land-use
  map), on the finest of their grids (:mod:`.grids`): per plot, the loss after the cut-off split
  by :data:`CONTEXTS` — on cells the forest rule (:func:`rule_forest`) calls forest at the
  cut-off, on cells of agricultural use, on cells that were not forest, or where the maps have no
  data — and the area of forest at the cut-off under the rule.

Pure functions on arrays; nothing here opens a file.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from ..config import ForestDefinition
from .coverage import Coverage, Grid
from .geodesy import pixel_row_areas
from .grids import LayerReader, finest, reader_on
from .pixels import NO_TILE, VALID_BIT, LayerWindow, ProductSpec, as_int, gather
from .stats import cell_codes, cells_in_windows

#: How the forest maps are combined into one answer per cell (see :func:`rule_forest`).
RULES = ("any", "all", "majority")
#: Where loss after the cut-off fell, in the order of :attr:`CutoffStats.context`'s columns.
CONTEXTS = ("in_cutoff_forest", "in_agricultural_use", "outside_forest", "unknown")


@dataclass(frozen=True)
class ClassSpec:
    """How to read a class map: the layer's key, the pixel values that mean the class, the value
    that means no data (None: none)."""

    key: str
    values: tuple[int, ...]
    nodata: int | None = None

    def states(self, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Per pixel (int values, :data:`NO_TILE` where no tile is): whether it is of the class,
        and whether the map says anything there (a tile and a value other than no data)."""
        known = values != NO_TILE
        if self.nodata is not None:
            known &= values != self.nodata
        return known & np.isin(values, self.values), known


@dataclass(frozen=True)
class ForestCoverSpec(ClassSpec):
    """A forest map of the cut-off day: the class is forest."""


@dataclass(frozen=True)
class LandUseSpec(ClassSpec):
    """A land-use map of the cut-off day: the class is agricultural use (tree crops included)."""


class ClassMapSource(Protocol):
    """What the engine needs of a class map (:class:`pipeline.io.class_maps.ClassMap` is one): its
    one layer under ``spec.key``, on its own grid; and, for the stages, its fingerprint (what a
    reused figure depends on)."""

    @property
    def name(self) -> str: ...

    @property
    def grid(self) -> Grid: ...

    @property
    def spec(self) -> ClassSpec: ...

    @property
    def layers(self) -> Mapping[str, LayerReader]: ...

    def fingerprint(self) -> tuple[object, ...]: ...


def rule_forest(states: list[tuple[np.ndarray, np.ndarray]], rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Forest at the cut-off under ``rule`` from each map's (forest, known) states; returns
    (forest, known), where a cell not known is neither forest nor not forest.

    * ``any``: forest where any map says forest; not forest only where every map has data and
      none says forest;
    * ``all``: forest where every map says forest; not forest where any map says not forest;
    * ``majority``: among the maps with data there, forest when at least half say so (a tie
      counts as forest: loss there is counted, fail safe); unknown where none has data.
    """
    if rule not in RULES:
        raise ValueError(f"unknown forest rule {rule!r} (expected one of {', '.join(RULES)})")
    n_forest = np.sum([f.astype("int16") for f, _ in states], axis=0)
    n_known = np.sum([k.astype("int16") for _, k in states], axis=0)
    total = len(states)
    if rule == "any":
        forest = n_forest > 0
        return forest, forest | (n_known == total)
    if rule == "all":
        forest = n_forest == total
        return forest, forest | (n_known > n_forest)
    known = n_known > 0
    return known & (2 * n_forest >= n_known), known


def _weights(cov: Coverage, grid: Grid) -> np.ndarray:
    """Each covered cell's area inside its plot (m²): coverage x ellipsoidal pixel area."""
    rmin = int(cov.row.min())
    areas = pixel_row_areas(grid.y0, grid.dy, grid.dx, rmin, int(cov.row.max()) + 1)
    weights: np.ndarray = cov.fraction * areas[cov.row - rmin]
    return weights


@dataclass
class ClassStats:
    """Per plot (m²): the area measured (``total``), where the map has data (``valid``), and of
    the class (``cls``)."""

    total: np.ndarray
    valid: np.ndarray
    cls: np.ndarray

    FIELDS = ("total", "valid", "cls")

    @classmethod
    def zeros(cls, n: int) -> ClassStats:
        return cls(np.zeros(n), np.zeros(n), np.zeros(n))

    def scatter(self, into: ClassStats, positions: np.ndarray) -> None:
        for f in self.FIELDS:
            getattr(into, f)[positions] = getattr(self, f)


@dataclass(frozen=True)
class ClassStatistics:
    """One class map measured on its own grid (what :func:`.zonal.measure_product` runs for it)."""

    spec: ClassSpec

    def zeros(self, n: int) -> ClassStats:
        return ClassStats.zeros(n)

    def __call__(
        self,
        cov: Coverage,
        n: int,
        grid: Grid,
        windows: list[tuple[int, int, int, int]],
        layers: Sequence[Mapping[str, LayerWindow]],
        spec: Any,
        forest: ForestDefinition,
        window_of_plot: np.ndarray,
    ) -> ClassStats:
        out = self.zeros(n)
        if len(cov) == 0:
            return out
        _, k, local = cells_in_windows(cov, windows, window_of_plot)
        is_class, known = self.spec.states(gather([lay[self.spec.key] for lay in layers], k, local))
        w, idx = _weights(cov, grid), cov.index
        out.total = np.bincount(idx, weights=w, minlength=n)
        out.valid = np.bincount(idx[known], weights=w[known], minlength=n)
        out.cls = np.bincount(idx[is_class], weights=w[is_class], minlength=n)
        return out


@dataclass
class CutoffStats:
    """Per plot (m²): the area measured (``total``); the loss after the cut-off, one column per
    :data:`CONTEXTS` (``context``); and the loss product's valid area that was forest at the
    cut-off under the rule and not of agricultural use (``cutoff_forest``)."""

    total: np.ndarray
    context: np.ndarray
    cutoff_forest: np.ndarray

    FIELDS = ("total", "context", "cutoff_forest")

    @classmethod
    def zeros(cls, n: int) -> CutoffStats:
        return cls(np.zeros(n), np.zeros((n, len(CONTEXTS))), np.zeros(n))

    def scatter(self, into: CutoffStats, positions: np.ndarray) -> None:
        for f in self.FIELDS:
            getattr(into, f)[positions] = getattr(self, f)


@dataclass(frozen=True)
class CutoffStatistics:
    """A loss product and the class maps read together on one grid (a :class:`Stacked` product):
    per plot, where its loss after ``reference_year`` fell (see the module docstring)."""

    loss_keys: tuple[str, ...]
    forest: tuple[ForestCoverSpec, ...]
    rule: str
    reference_year: int
    land_use: tuple[LandUseSpec, ...] = ()

    def zeros(self, n: int) -> CutoffStats:
        return CutoffStats.zeros(n)

    def contexts(
        self, layers: Sequence[Mapping[str, LayerWindow]], k: np.ndarray, local: np.ndarray, n_cells: int
    ) -> np.ndarray:
        """Each cell's context (an index into :data:`CONTEXTS`) from the class maps' values."""
        values = {s.key: gather([lay[s.key] for lay in layers], k, local) for s in (*self.forest, *self.land_use)}
        forest, known = rule_forest([s.states(values[s.key]) for s in self.forest], self.rule)
        agri = np.zeros(n_cells, dtype=bool)
        for s in self.land_use:
            agri |= s.states(values[s.key])[0]
        ctx = np.full(n_cells, 2, dtype="int64")  # outside_forest
        ctx[~known] = 3
        ctx[forest] = 0
        ctx[agri] = 1  # marked as agricultural use at the cut-off: not forest, whatever the maps say
        return ctx

    def __call__(
        self,
        cov: Coverage,
        n: int,
        grid: Grid,
        windows: list[tuple[int, int, int, int]],
        layers: Sequence[Mapping[str, LayerWindow]],
        spec: ProductSpec,
        forest: ForestDefinition,
        window_of_plot: np.ndarray,
    ) -> CutoffStats:
        out = self.zeros(n)
        if len(cov) == 0:
            return out
        k, local, flags, yi = cell_codes(cov, grid, windows, layers, spec, forest, window_of_plot, self.loss_keys)
        ctx = self.contexts(layers, k, local, len(k))
        w, idx = _weights(cov, grid), cov.index
        after = yi >= self.reference_year + 1 - spec.first_year
        m = len(CONTEXTS)
        out.total = np.bincount(idx, weights=w, minlength=n)
        out.context = np.bincount(idx[after] * m + ctx[after], weights=w[after], minlength=n * m).reshape(n, m)
        in_forest = ((flags & VALID_BIT) != 0) & (ctx == 0)
        out.cutoff_forest = np.bincount(idx[in_forest], weights=w[in_forest], minlength=n)
        return out


@dataclass(frozen=True)
class Joined:
    """The results of several statistics of one pass (:class:`Together`), in their order."""

    parts: tuple[Any, ...]

    @property
    def total(self) -> np.ndarray:
        total: np.ndarray = self.parts[0].total
        return total

    def scatter(self, into: Joined, positions: np.ndarray) -> None:
        for part, whole in zip(self.parts, into.parts):
            part.scatter(whole, positions)


@dataclass(frozen=True)
class Together:
    """Several statistics computed in one pass of :func:`.zonal.measure_product`: one read of each
    window and one coverage for all (a class map on the grid of a loss product's :class:`Stacked`
    pass is measured there, not read and covered again). Gives a :class:`Joined`."""

    parts: tuple[Any, ...]

    def zeros(self, n: int) -> Joined:
        return Joined(tuple(p.zeros(n) for p in self.parts))

    def __call__(self, *args: Any) -> Joined:
        return Joined(tuple(p(*args) for p in self.parts))


@dataclass(frozen=True)
class Stacked:
    """A loss product's layers beside class maps' layers, computed on the finest of their grids (a
    :class:`~pipeline.engine.zonal.ProductSource`; picklable when the layers are)."""

    name: str
    spec: ProductSpec
    layers: Mapping[str, Any] = field(default_factory=dict)

    @property
    def grid(self) -> Grid:
        return finest(layer.grid for layer in self.layers.values())


class RuleMask:
    """A layer reader of 1 where loss after the cut-off counts — forest at the cut-off under the
    rule, or no data on it (fail safe) — and 0 where the maps say it was not forest or under
    agricultural use; ANDed with ``base`` (a product's own forest mask) when given. It reads each
    map onto ``grid`` by the cells' centres, so an alert product's alerts count where a loss
    product's loss does (picklable when the readers are)."""

    def __init__(
        self,
        forest: tuple[tuple[Any, ForestCoverSpec], ...],
        rule: str,
        grid: Grid,
        land_use: tuple[tuple[Any, LandUseSpec], ...] = (),
        base: Any = None,
    ) -> None:
        self.forest, self.rule, self.grid, self.land_use, self.base = forest, rule, grid, land_use, base

    def read_raw(self, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        def values(reader: Any) -> np.ndarray:
            return as_int(reader_on(reader, reader.grid, self.grid).read_raw(row0, col0, height, width))

        forest, known = rule_forest([s.states(values(r)) for r, s in self.forest], self.rule)
        counts = forest | ~known
        for r, s in self.land_use:
            counts &= ~s.states(values(r))[0]
        present = None
        if self.base is not None:  # where the product's own mask has no tile, the cell stays missing
            base = values(self.base)
            counts &= base == 1
            present = base != NO_TILE
        return counts.astype("uint8"), present
