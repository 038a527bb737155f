"""Type names for the geometries the engine and the stages pass around, and an array helper.

shapely ships no type information, so mypy sees its geometries as ``Any``; the names say what a
value is all the same: one geometry (``BaseGeometry``), or many (:data:`Geometries`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
import pyarrow as pa
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


#: Tabulation hashing: a fixed random word for each (place in the string mod 256, byte value).
_TABLE = np.random.default_rng(20_200_101).integers(0, 2**64, (256, 256), dtype=np.uint64)
#: What a null hashes to.
_NULL = np.uint64(0x9E3779B97F4A7C15)


def string_hashes(values: pa.Array | pa.ChunkedArray) -> npt.NDArray[np.uint64]:
    """A 64-bit hash of each string of an Arrow string array (equal strings, equal hashes; nulls
    all one), from the array's bytes: no Python object per string, and numpy's gathers and
    reductions leave the GIL to other threads. For finding candidates that are then compared
    exactly: not for storing (the table behind it may change)."""
    if isinstance(values, pa.ChunkedArray):
        values = values.combine_chunks()
    values = values.cast(pa.large_string())
    n = len(values)
    out = np.zeros(n, dtype=np.uint64)
    if n:
        _, offsets_buf, data_buf = values.buffers()
        offsets = np.frombuffer(offsets_buf, dtype=np.int64)[values.offset : values.offset + n + 1]
        lengths = np.diff(offsets)
        filled = np.flatnonzero(lengths > 0)
        if len(filled):  # the strings' bytes lie one after the other, from offsets[0] on
            base, size = int(offsets[0]), int(offsets[-1] - offsets[0])
            data = np.frombuffer(data_buf, dtype=np.uint8)[base : base + size]
            starts, sizes = offsets[filled] - base, lengths[filled]
            step = np.ones(size, dtype=np.int64)  # each byte's place in its string: a cumulative sum
            step[starts[1:]] = 1 - sizes[:-1]  # that starts again at each string
            place = np.cumsum(step) - 1
            words = _TABLE.ravel()[((place & 255) << 8) | data]
            out[filled] = np.bitwise_xor.reduceat(words, starts)
        out ^= lengths.astype(np.uint64) * _NULL  # the length counts too
        if values.null_count:
            out[values.is_null().to_numpy(zero_copy_only=False)] = _NULL
    return out


__all__ = ["BaseGeometry", "Geometries", "segment_of", "string_hashes"]
