"""Type names for the geometries the engine and the stages pass around, and an array helper.

shapely ships no type information, so mypy sees its geometries as ``Any``; the names say what a
value is all the same: one geometry (``BaseGeometry``), or many (:data:`Geometries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

#: Geometries (None where a row has none): an object array, or any sequence of them.
Geometries: TypeAlias = "npt.NDArray[np.object_] | Sequence[BaseGeometry | None]"


def segment_of(counts: npt.ArrayLike) -> npt.NDArray[np.int64]:
    """``np.repeat(np.arange(len(counts)), counts)``: for each of the ``sum(counts)`` places, the
    segment it belongs to. ``np.repeat`` holds the GIL throughout; this does not (a count of
    starts, then a cumulative sum), so another thread's numpy or GEOS work goes on meanwhile.
    ``values[segment_of(counts)]`` is ``np.repeat(values, counts)``."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    starts = np.cumsum(counts) - counts  # segments without places share the next one's start
    out: npt.NDArray[np.int64] = np.cumsum(np.bincount(starts, minlength=total)[:total]) - 1
    return out


__all__ = ["BaseGeometry", "Geometries", "segment_of"]
