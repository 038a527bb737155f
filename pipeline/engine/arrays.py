"""Type names for the geometries the engine and the stages pass around.

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

__all__ = ["BaseGeometry", "Geometries"]
