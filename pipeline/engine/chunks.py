"""Running a vectorised function over chunks of an array, on threads.

shapely 2 and numpy release the GIL inside their array functions, so chunks of a large array can
be processed by several threads at once (and each chunk's temporaries stay in the CPU cache).
Used by quality control, whose every step is one array function over all plots.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

import numpy as np

T = TypeVar("T")

#: Rows per chunk: large enough that per-call overhead is negligible, small enough to stay in cache.
CHUNK = 32_768


def n_threads() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # pragma: no cover - not Linux
        return max(1, os.cpu_count() or 1)


def map_chunks(func: Callable[[slice], T], n: int, *, chunk: int = CHUNK, threads: int | None = None) -> list[T]:
    """``[func(slice) for slice in chunks of range(n)]``, computed on threads, in order."""
    slices = [slice(i, min(i + chunk, n)) for i in range(0, n, chunk)]
    threads = min(threads or n_threads(), len(slices))
    if threads <= 1:
        return [func(s) for s in slices]
    with ThreadPoolExecutor(threads) as pool:
        return list(pool.map(func, slices))


def apply_chunked(
    func: Callable[[np.ndarray], np.ndarray], values: np.ndarray, *, chunk: int = CHUNK, threads: int | None = None
) -> np.ndarray:
    """``func(values)`` for an element-wise array function, computed chunk by chunk on threads."""
    values = np.asarray(values, dtype=object) if not isinstance(values, np.ndarray) else values
    if len(values) <= chunk:
        return func(values)
    parts = map_chunks(lambda s: func(values[s]), len(values), chunk=chunk, threads=threads)
    return np.concatenate(parts)
