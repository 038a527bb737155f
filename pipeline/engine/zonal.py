"""Zonal figures of many plots on one product: partition, read each window once, measure.

:func:`measure_product` is the engine's entry point. It groups the plots by raster block
(:mod:`.partitions`), gathers the partitions into tasks of thousands of plots, and runs the tasks
on a scheduler (:mod:`.schedulers`). Each task reads the window of every partition once from the
product's layers, computes the exact coverage of its plots (:mod:`.coverage`) and their per-plot
areas (:mod:`.stats`).

The engine opens no file: the product is any object that has the attributes of
:class:`ProductSource`, whose layers read windows (:class:`pipeline.io.rasters.Product` is one; a
test can pass arrays).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np
import shapely

from ..config import ExecutionConfig, ForestDefinition
from .coverage import Grid, coverage_fractions
from .memory import trim, tune_allocator
from .partitions import batches, partition, pixel_bounds, window_of
from .pixels import ProductSpec, patch_margin
from .schedulers import default_workers, imap_partitions
from .stats import PlotStats, plot_statistics

log = logging.getLogger(__name__)


class LayerReader(Protocol):
    """One layer of a product: reads a window of its grid."""

    def read_raw(self, row0: int, col0: int, height: int, width: int) -> tuple[np.ndarray, np.ndarray | None]:
        """The window's values in the file's own type, and where tiles cover it (None: everywhere)."""
        ...


class ProductSource(Protocol):
    """What the engine needs of a loss product."""

    @property
    def name(self) -> str: ...

    @property
    def grid(self) -> Grid: ...

    @property
    def spec(self) -> ProductSpec: ...

    @property
    def layers(self) -> Mapping[str, LayerReader]: ...


@dataclass(frozen=True)
class Task:
    """A batch of partitions of one product: the plots' geometries (partition after partition) and,
    per partition, the pixel window its plots need and how many plots it holds."""

    geoms: np.ndarray
    windows: tuple[tuple[int, int, int, int], ...]
    sizes: tuple[int, ...]
    margin: int
    product: Any  # a ProductSource (picklable, to be sent to worker processes)
    forest: ForestDefinition
    statistics: Any = None  # what to compute (see measure_product); None: plot_statistics


def measure_task(task: Task) -> Any:
    """Read each partition's window of every layer once, then compute every plot's areas (a
    :class:`.stats.PlotStats`, or what ``task.statistics`` computes)."""
    tune_allocator()  # in worker processes too
    m = task.margin
    windows = [(r0 - m, c0 - m, h + 2 * m, w + 2 * m) for r0, c0, h, w in task.windows]
    layers = [{key: layer.read_raw(*win) for key, layer in task.product.layers.items()} for win in windows]
    cov = coverage_fractions(task.geoms, task.product.grid)
    window_of_plot = np.repeat(np.arange(len(windows)), task.sizes)
    statistics = task.statistics or plot_statistics
    return statistics(
        cov, len(task.geoms), task.product.grid, windows, layers, task.product.spec, task.forest, window_of_plot
    )


def measure_product(
    geoms: np.ndarray,
    product: ProductSource,
    forest: ForestDefinition,
    execution: ExecutionConfig = ExecutionConfig(),
    *,
    progress: bool = False,
    client: Any = None,
    statistics: Any = None,
) -> Any:
    """Per-plot areas (m²) of one product for every geometry (None: not measured, all zeros).

    The tasks run on ``execution``'s scheduler, or on ``client`` (a ``distributed.Client``) when
    one is given. ``statistics`` computes each batch's figures: by default the loss figures
    (:func:`.stats.plot_statistics`, returning :class:`.stats.PlotStats`); an alert product
    passes an :class:`.alerts.AlertStatistics` (a callable with the same arguments and a
    ``zeros(n)`` method)."""
    n = len(geoms)
    spec = product.spec
    stats = statistics.zeros(n) if statistics is not None else PlotStats.zeros(n, len(spec.years))
    ok = np.flatnonzero([g is not None for g in geoms])
    if not len(ok):
        return stats
    scheduler = client if client is not None else execution.scheduler
    workers = execution.workers or default_workers(len(ok), scheduler)
    grid = product.grid
    pix = pixel_bounds(shapely.bounds(geoms[ok]), grid)
    groups = partition(pix)
    margin = 0
    if forest.min_forest_patch_ha > 0:
        lats = grid.y0 - np.array([pix[:, 0].min(), pix[:, 2].max()]) * grid.dy
        margin = patch_margin(grid, forest.min_forest_patch_ha, float(np.abs(lats).max()))
    tasks = []
    for batch in batches(groups, max_plots=batch_size(len(ok), workers)):
        plots_in = np.concatenate(batch)
        tasks.append(
            Task(
                geoms[ok[plots_in]],
                tuple(window_of(pix[g]) for g in batch),
                tuple(len(g) for g in batch),
                margin,
                product,
                forest,
                statistics,
            )
        )
    log.info(
        "%s: %d plots in %d partitions, %d tasks (scheduler %s, %d local workers)",
        product.name,
        len(ok),
        len(groups),
        len(tasks),
        scheduler,
        workers,
    )
    order = ok[np.concatenate(groups)]
    start = 0
    for part in imap_partitions(
        measure_task,
        tasks,
        scheduler=scheduler,
        workers=workers,
        progress=progress,
        desc=f"screening ({product.name})",
        weights=[len(t.geoms) for t in tasks],
    ):
        n_part = len(part.total)
        part.scatter(stats, order[start : start + n_part])  # stored at once: no list of every result
        start += n_part
    trim()
    return stats


def batch_size(n_plots: int, workers: int) -> int:
    """Plots per task: large enough to amortise numpy's per-call cost, small enough to bound memory
    and give every worker several tasks (for balance and a moving progress bar)."""
    return int(np.clip(n_plots // max(4 * workers, 1), 2_000, 10_000))
