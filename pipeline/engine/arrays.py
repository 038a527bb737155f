"""Type names for what the engine and the stages pass around: arrays of numbers and geometries.

shapely ships no type information, so mypy sees its geometries as ``Any``; the names say what a
value is all the same (``BaseGeometry``, or an object array of them).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeAlias

import numpy as np
import numpy.typing as npt
from shapely.geometry.base import BaseGeometry

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]
BoolArray: TypeAlias = npt.NDArray[np.bool_]
#: Geometries (None where a row has none): an object array, or any sequence of them.
Geometries: TypeAlias = "npt.NDArray[np.object_] | Sequence[BaseGeometry | None]"

__all__ = ["BaseGeometry", "BoolArray", "FloatArray", "Geometries", "IntArray"]
