"""Zonal figures of many plots on one product: partition, read each window once, measure.

:func:`measure_product` is the engine's entry point. It groups the plots by raster block
(:mod:`.partitions`), gathers the partitions into tasks of thousands of plots, and runs the tasks
on a scheduler (:mod:`.schedulers`). Each task reads the window of every partition once from the
product's layers, computes the exact coverage of its plots (:mod:`.coverage`) and their per-plot
areas (:mod:`.stats`).

A plot larger than :data:`LARGE_PLOT_CELLS` cells (a bounding box of some 28 x 28 km on a
Hansen grid) is measured on its own by :func:`measure_polygon`, window by window
(:data:`WINDOW_PX` pixels square), so that its memory is that of one window whatever its size: a
country-sized polygon is measured slowly, with progress, instead of failing.

The engine opens no file: the product is any object that has the attributes of
:class:`ProductSource`, whose layers read windows (:class:`pipeline.io.rasters.Product` is one; a
test can pass arrays).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeVar, cast, overload

import numpy as np
import shapely

from ..config import ExecutionConfig, ForestDefinition
from ..i18n import _, tr
from .arrays import BaseGeometry
from .coverage import (
    Coverage,
    Grid,
    PolygonPieces,
    coverage_fractions,
    polygon_pieces,
    window_coverage,
    window_row_coverage,
)
from .geodesy import pixel_row_areas
from .grids import LayerReader, layers_on
from .memory import trim, tune_allocator
from .partitions import batches, partition, pixel_bounds, window_of
from .pixels import (
    FOREST_BIT,
    INVALID_BIT,
    MISSING_BIT,
    VALID_BIT,
    LayerWindow,
    ProductSpec,
    as_int,
    patch_margin,
    pixel_codes,
)
from .schedulers import default_workers, imap_partitions
from .stats import LossCells, PlotStats, plot_statistics

log = logging.getLogger(__name__)

#: Plots whose bounding box holds more cells than this are measured window by window.
LARGE_PLOT_CELLS = 1 << 20
#: Side, in pixels, of the windows a large plot is measured in (~60 MB of work each).
WINDOW_PX = 1024
#: Cells (of the plots' bounding boxes) a task of ordinary plots holds at most: bounds its memory.
TASK_MAX_CELLS = 4_000_000


class RasterSource(Protocol):
    """What the engine needs of any product it measures (loss, alerts, a class map): a name, the
    grid its figures are computed on (the finest of its layers': :func:`.grids.finest`), how to
    read its values (``spec``: its kind says what the product is) and its layers."""

    @property
    def name(self) -> str: ...

    @property
    def grid(self) -> Grid: ...

    @property
    def spec(self) -> object: ...

    @property
    def layers(self) -> Mapping[str, LayerReader]: ...


class ProductSource(RasterSource, Protocol):
    """What the engine needs of a loss product: a :class:`RasterSource` read by a :class:`ProductSpec`."""

    @property
    def spec(self) -> ProductSpec: ...


class Fingerprinted(Protocol):
    """A source that says what identifies its data and reading (what a reused figure depends on)."""

    def fingerprint(self) -> tuple[object, ...]: ...


class SourcedLayer(Protocol):
    """A layer that says where it is read from (a path, a folder, a URL), for the metadata."""

    @property
    def source(self) -> str: ...


class LossSource(ProductSource, Fingerprinted, Protocol):
    """What the stages need of a loss product (:class:`pipeline.io.rasters.Product` is one): the
    engine's :class:`ProductSource`, its years, its extent (lon/lat: minx, miny, maxx, maxy), its
    loss-year layer and forest layers (None when it has none: loss counts wherever it flags some),
    and its fingerprint."""

    @property
    def loss(self) -> SourcedLayer: ...

    @property
    def years(self) -> list[int]: ...

    @property
    def bounds(self) -> tuple[float, float, float, float]: ...

    @property
    def tree_cover(self) -> SourcedLayer | None: ...

    @property
    def forest_mask(self) -> object | None: ...


class StatsCache(Protocol):
    """A store of whole geometries' figures, so that they are measured once
    (:class:`pipeline.io.region_cache.RegionCache` is one): the key of a geometry's figures on a
    product with a forest definition, the figures stored under a key (None: absent), and storing them."""

    def key(self, geom: BaseGeometry, product: LossSource, forest: ForestDefinition) -> str: ...

    def get(self, key: str, n_years: int) -> PlotStats | None: ...

    def put(self, key: str, stats: PlotStats) -> None: ...


S_co = TypeVar("S_co", covariant=True)


class Statistics(Protocol[S_co]):
    """What :func:`measure_product` computes on each batch instead of the loss figures
    (:class:`.alerts.AlertStatistics`, :class:`.cutoff.CutoffStatistics`...): the arguments of
    :func:`.stats.plot_statistics`, ``spec`` being the product's (of whatever kind), and empty
    figures for ``n`` plots."""

    def zeros(self, n: int) -> S_co: ...

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
        /,
    ) -> S_co: ...


@dataclass(frozen=True)
class Task:
    """A batch of partitions of one product: the plots' geometries (partition after partition) and,
    per partition, the pixel window its plots need and how many plots it holds."""

    geoms: np.ndarray
    windows: tuple[tuple[int, int, int, int], ...]
    sizes: tuple[int, ...]
    margin: int
    product: RasterSource  # picklable, to be sent to worker processes
    forest: ForestDefinition
    statistics: Statistics[Any] | None = None  # what to compute (see measure_product); None: plot_statistics
    cells_from: int | None = None  # with plot_statistics: keep the cells lost from this year index on


def measure_task(task: Task) -> Any:
    """Read each partition's window of every layer once, then compute every plot's areas (a
    :class:`.stats.PlotStats`, or what ``task.statistics`` computes)."""
    tune_allocator()  # in worker processes too
    m = task.margin
    windows = [(r0 - m, c0 - m, h + 2 * m, w + 2 * m) for r0, c0, h, w in task.windows]
    readers = layers_on(task.product.layers, task.product.grid)  # each layer read onto the product's grid
    layers = [{key: layer.read_raw(*win) for key, layer in readers.items()} for win in windows]
    cov = coverage_fractions(task.geoms, task.product.grid)
    window_of_plot = np.repeat(np.arange(len(windows)), task.sizes)
    n, grid, spec = len(task.geoms), task.product.grid, task.product.spec
    if task.statistics is not None:
        return task.statistics(cov, n, grid, windows, layers, spec, task.forest, window_of_plot)
    loss_spec = cast(ProductSpec, spec)  # without statistics, the product is a loss product
    return plot_statistics(
        cov, n, grid, windows, layers, loss_spec, task.forest, window_of_plot, cells_from=task.cells_from
    )


S = TypeVar("S")


@overload
def measure_product(  # noqa: PLR0913
    geoms: np.ndarray,
    product: ProductSource,
    forest: ForestDefinition,
    execution: ExecutionConfig = ...,
    *,
    progress: bool = ...,
    client: Any = ...,
    statistics: None = ...,
    large_progress: bool | None = ...,
    cells_from_year: int | None = ...,
) -> PlotStats: ...


@overload
def measure_product(  # noqa: PLR0913
    geoms: np.ndarray,
    product: RasterSource,
    forest: ForestDefinition,
    execution: ExecutionConfig = ...,
    *,
    progress: bool = ...,
    client: Any = ...,
    statistics: Statistics[S],
    large_progress: bool | None = ...,
    cells_from_year: int | None = ...,
) -> S: ...


# keyword-only options, each with a default; the figures depend on none of them but cells_from_year
def measure_product(  # noqa: PLR0913
    geoms: np.ndarray,
    product: RasterSource,
    forest: ForestDefinition,
    execution: ExecutionConfig = ExecutionConfig(),
    *,
    progress: bool = False,
    client: Any = None,
    statistics: Statistics[Any] | None = None,
    large_progress: bool | None = None,
    cells_from_year: int | None = None,
) -> Any:
    """Per-plot areas (m²) of one product for every geometry (None: not measured, all zeros).

    The tasks run on ``execution``'s scheduler, or on ``client`` (a ``distributed.Client``) when
    one is given. ``statistics`` computes each batch's figures: by default the loss figures
    (:func:`.stats.plot_statistics`, returning :class:`.stats.PlotStats`); an alert product
    passes an :class:`.alerts.AlertStatistics` (a callable with the same arguments and a
    ``zeros(n)`` method). ``progress`` shows a bar; ``large_progress`` (default: ``progress``) one
    for each large plot, window by window (loss figures only: with ``statistics``, a large plot is
    measured whole). ``cells_from_year`` (loss figures only): keep every cell lost in that year or
    later in the result's :attr:`~.stats.PlotStats.cells` (the loss patches' cells, gathered from
    the windows already read)."""
    n = len(geoms)
    loss = cast(ProductSource, product)  # read as one only without statistics (see the overloads)
    spec = loss.spec
    cells_from = None if cells_from_year is None or statistics is not None else cells_from_year - spec.first_year
    if statistics is not None:
        stats = statistics.zeros(n)
    else:
        stats = PlotStats.zeros(n, len(spec.years), cells=cells_from is not None)
    ok = np.flatnonzero([g is not None for g in geoms])
    if not len(ok):
        return stats
    scheduler = client if client is not None else execution.scheduler
    workers = execution.workers or default_workers(len(ok), scheduler)
    grid = product.grid
    pix = pixel_bounds(shapely.bounds(geoms[ok]), grid)
    cells = (pix[:, 2] - pix[:, 0]) * (pix[:, 3] - pix[:, 1] + 1)
    large = cells > LARGE_PLOT_CELLS if statistics is None else np.zeros(len(cells), dtype=bool)
    if large.any():  # measured window by window, after the others
        ok, big, pix, cells = ok[~large], ok[large], pix[~large], cells[~large]
    groups = partition(pix)
    margin = _margin(forest, pix, grid)
    shared = (margin, product, forest, statistics, cells_from)
    tasks = [
        Task(geoms[ok[np.concatenate(b)]], tuple(window_of(pix[g]) for g in b), tuple(len(g) for g in b), *shared)
        for b in batches(groups, max_plots=batch_size(len(ok), workers), cells=cells, max_cells=TASK_MAX_CELLS)
    ]
    log.debug("%s: %d plots in %d partitions, %d tasks (scheduler %s, %d local workers)",
              product.name, len(ok), len(groups), len(tasks), scheduler, workers)  # fmt: skip
    order = ok[np.concatenate(groups)] if groups else ok
    start = 0
    for part in imap_partitions(
        measure_task,
        tasks,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        desc=tr("screening ({product})", product=product.name),
        weights=[len(t.geoms) for t in tasks],
    ):
        n_part = len(part.total)
        part.scatter(stats, order[start : start + n_part])  # stored at once: no list of every result
        start += n_part
    if large.any():
        log.info("%s: %d large plot(s) measured window by window", product.name, len(big))
        shown = progress if large_progress is None else large_progress
        run = WindowRun(client, workers)
        for i in big:
            one = measure_polygon(geoms[i], loss, forest, execution, progress=shown, run=run, cells_from=cells_from)
            one.scatter(stats, np.array([i]))
    trim()
    return stats


def _margin(forest: ForestDefinition, pix: np.ndarray, grid: Grid) -> int:
    """Pixels read around each window so that a forest patch crossing its edge is seen whole."""
    if forest.min_forest_patch_ha <= 0 or not len(pix):
        return 0
    lats = grid.y0 - np.array([pix[:, 0].min(), pix[:, 2].max()]) * grid.dy
    return patch_margin(grid, forest.min_forest_patch_ha, float(np.abs(lats).max()))


def batch_size(n_plots: int, workers: int) -> int:
    """Plots per task: large enough to amortise numpy's per-call cost, small enough to bound memory
    and give every worker several tasks (for balance and a moving progress bar)."""
    return int(np.clip(n_plots // max(4 * workers, 1), 2_000, 10_000))


# --- One large polygon, window by window ---------------------------------------------------


@dataclass(frozen=True)
class WindowTask:
    """One window of a large polygon: the polygon's pieces in the window's rows, the window, and
    the margin read around it (for forest patches)."""

    pieces: PolygonPieces
    window: tuple[int, int, int, int]
    margin: int
    product: Any
    forest: ForestDefinition
    cells_from: int | None = None  # keep the cells lost from this year index on


def measure_window(task: WindowTask) -> PlotStats:
    """Areas (m²) of the part of a polygon inside one window: its coverage, the window's pixels
    (with the margin, for forest patches) classified, weighted by the ellipsoidal row areas."""
    tune_allocator()
    row0, col0, height, width = task.window
    spec = task.product.spec
    n_years = spec.last_year - spec.first_year + 1
    stats = PlotStats.zeros(1, n_years, cells=task.cells_from is not None)
    m = task.margin
    grid = task.product.grid
    row_areas = pixel_row_areas(grid.y0, grid.dy, grid.dx, row0 - m, row0 + height + m)
    rows = window_row_coverage(task.pieces, row0, col0, height, width)
    if rows is not None and not rows.any():  # the polygon does not reach this window
        return stats
    raw = {}
    for key, layer in layers_on(task.product.layers, grid).items():
        raw[key] = layer.read_raw(row0 - m, col0 - m, height + 2 * m, width + 2 * m)
        present = raw[key][1] if isinstance(raw[key], tuple) else None
        if present is not None and not present.any():  # no tile under the window: all missing
            if rows is not None:
                stats.total[0] = width * (rows * row_areas[m : m + height]).sum()
            else:
                stats.total[0] = (
                    window_coverage(task.pieces, row0, col0, height, width) * row_areas[m : m + height, None]
                ).sum()
            stats.missing[0] = stats.total[0]
            return stats
    layers = {key: as_int(value) for key, value in raw.items()}
    del raw
    cover = window_coverage(task.pieces, row0, col0, height, width)
    w = cover * row_areas[m : m + height, None]
    del cover
    stats.total[0] = w.sum()
    flags, years = pixel_codes(layers, spec, task.forest, row_areas)
    del layers
    flags, years = flags[m : m + height, m : m + width], years[m : m + height, m : m + width]
    for name, bit in (("valid", VALID_BIT), ("forest", FOREST_BIT), ("missing", MISSING_BIT), ("invalid", INVALID_BIT)):
        getattr(stats, name)[0] = w[(flags & bit) != 0].sum()
    lost = years >= 0
    stats.loss[0] = np.bincount(years[lost], weights=w[lost], minlength=n_years)
    if stats.cells is not None:
        r, c = np.nonzero(lost & (years >= max(task.cells_from or 0, 0)) & (w > 0))
        stats.cells.append(
            LossCells(np.zeros(len(r), "int64"), r + row0, c + col0, years[r, c].astype("int16"), w[r, c])
        )
    return stats


def large_windows(pieces: PolygonPieces, size: int = WINDOW_PX) -> list[tuple[int, int, int, int]]:
    """The windows (row0, col0, height, width) of a polygon's bounding box, on a lattice of
    ``size`` pixels anchored at the grid's origin (so they depend only on the polygon), in row-major
    order."""
    r0, c0 = pieces.row0, pieces.col0
    r1, c1 = r0 + pieces.height, c0 + pieces.width
    out = []
    for wr in range(r0 // size * size, r1, size):
        for wc in range(c0 // size * size, c1, size):
            top, left = max(wr, r0), max(wc, c0)
            out.append((top, left, min(wr + size, r1) - top, min(wc + size, c1) - left))
    return out


@dataclass(frozen=True)
class WindowRun:
    """Where one polygon's windows run and how they are told: on a running ``client`` (else the
    execution's scheduler) with ``workers`` (else the execution's, else as many as the work needs);
    ``what`` names the polygon in the log message (at ``log_level``) and on the bar."""

    client: Any = None
    workers: int | None = None
    what: str = "a plot"
    log_level: int = logging.INFO


def measure_polygon(
    geom: BaseGeometry | None,
    product: ProductSource,
    forest: ForestDefinition,
    execution: ExecutionConfig = ExecutionConfig(),
    *,
    window: int = WINDOW_PX,
    progress: bool | Callable[[int, int], None] = False,
    run: WindowRun = WindowRun(),
    cells_from: int | None = None,
) -> PlotStats:
    """Areas (m²) of one polygon of any size on ``product``, measured window by window.

    The polygon's rings are cut at grid lines once (memory grows with its perimeter); then each
    ``window`` x ``window`` window of its bounding box gets its coverage, its pixels and its
    areas, and is let go. A window the polygon does not reach costs no raster read. Windows run
    on ``execution``'s scheduler (or ``client``) and are summed in a fixed order, so the result is
    the same on every scheduler. ``progress`` is a bar (True) or a callable taking (windows done,
    windows in all), called after each window. Returns a one-row :class:`PlotStats` (all zeros for
    a geometry that covers nothing). ``run``: see :class:`WindowRun`. ``cells_from`` (a loss-year
    index): keep the cells lost from that year on (:attr:`~.stats.PlotStats.cells`).
    """
    client, workers, what, log_level = run.client, run.workers, run.what, run.log_level
    spec = product.spec
    n_years = spec.last_year - spec.first_year + 1
    out = PlotStats.zeros(1, n_years, cells=cells_from is not None)
    grid = product.grid
    pieces = None if geom is None else polygon_pieces(geom, grid)
    if pieces is None:
        return out
    margin = 0
    if forest.min_forest_patch_ha > 0:
        lats = grid.y0 - np.array([pieces.row0, pieces.row0 + pieces.height]) * grid.dy
        margin = patch_margin(grid, forest.min_forest_patch_ha, float(np.abs(lats).max()))
    wins = large_windows(pieces, window)
    tasks = [
        WindowTask(pieces.band(r0, h), (r0, c0, h, w), margin, product, forest, cells_from) for r0, c0, h, w in wins
    ]
    scheduler = client if client is not None else execution.scheduler
    workers = workers or execution.workers or default_workers(len(tasks) * 10_000, scheduler)
    log.log(
        log_level,
        "%s: %s of %d x %d pixels, in %d windows of %d px",
        product.name,
        what,
        pieces.height,
        pieces.width,
        len(tasks),
        window,
    )
    report = progress if callable(progress) else None
    done = 0
    for part in imap_partitions(
        measure_window,
        tasks,
        scheduler=scheduler,
        workers=workers,
        progress=progress is True,
        desc=tr("large plot ({product})", product=product.name)
        if what == "a plot"
        else tr("region ({product})", product=product.name),
        weights=[1] * len(tasks),
        unit=_("window"),
    ):
        for f in PlotStats.FIELDS:
            getattr(out, f)[:] += getattr(part, f)
        if out.cells is not None and part.cells:
            out.cells.extend(part.cells)
        done += 1
        if report is not None:
            report(done, len(tasks))
    trim()
    return out
