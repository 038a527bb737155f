"""Scheduling partitions: in this process, or on local worker processes.

:func:`map_partitions` applies a picklable function to each task and returns the results in task
order, with an optional progress bar. One worker, or a single task, runs in-process (no start-up
cost); otherwise tasks go to a pool of ``spawn``-ed processes, each of which opens the rasters
itself (no GDAL handle crosses a fork).
"""

from __future__ import annotations

import multiprocessing as mp
import os
from concurrent.futures import ProcessPoolExecutor
from typing import Callable, Iterable, Sequence, TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")
R = TypeVar("R")

#: Below this many plots, starting processes costs more than it saves.
PARALLEL_MIN_PLOTS = 20_000


def default_workers(n_plots: int) -> int:
    """All cores for large jobs, one process for small ones."""
    if n_plots < PARALLEL_MIN_PLOTS:
        return 1
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def map_partitions(fn: Callable[[T], R], tasks: Sequence[T], *, workers: int = 1, progress: bool = False,
                   desc: str = "screening", weights: Iterable[int] | None = None) -> list[R]:
    """``[fn(t) for t in tasks]``, on ``workers`` processes; a progress bar counts ``weights``
    (e.g. plots per task) when ``progress`` is true."""
    weights = list(weights) if weights is not None else [1] * len(tasks)
    bar = tqdm(total=sum(weights), desc=desc, unit="plot", disable=not progress, leave=False)
    try:
        if workers <= 1 or len(tasks) <= 1:
            out = []
            for task, w in zip(tasks, weights):
                out.append(fn(task))
                bar.update(w)
            return out
        with ProcessPoolExecutor(max_workers=min(workers, len(tasks)), mp_context=mp.get_context("spawn")) as pool:
            out = []
            for res, w in zip(pool.map(fn, tasks), weights):
                out.append(res)
                bar.update(w)
            return out
    finally:
        bar.close()
