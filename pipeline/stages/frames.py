"""Small helpers on the stages' frames."""

from __future__ import annotations

import pandas as pd


def column_at(frame: pd.DataFrame, name: str) -> int:
    """The position of column ``name`` in ``frame`` (KeyError when it has none; a name the frame
    holds twice has no one position: ValueError)."""
    at = frame.columns.get_loc(name)
    if not isinstance(at, int):
        raise ValueError(f"column {name!r} is not unique")
    return at
