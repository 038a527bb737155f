"""The findings of quality control: accumulated as arrays, then one :class:`QCResult` per frame.

:class:`Issues` gathers the findings of the checks (positions, code, severity, message);
:func:`finish` merges them with the findings across rows into the frame's :class:`QCResult`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from ...errors import PlotsError
from ...i18n import tr
from ...vocab import ISSUE_COLUMNS
from .codes import ISSUE_CODES, SEVERITY_ORDER
from .cross import CrossIssues

#: Columns taken as the declared area in hectares, in order of preference (names compared
#: case-insensitively; ``Area`` is the EUDR GeoJSON property).
DECLARED_AREA_COLUMNS = ("declared_area_ha", "area_ha", "area")


@dataclass
class QCResult:
    """``issues`` (one row per finding) and, per plot, whether and what to screen."""

    issues: pd.DataFrame
    screenable: np.ndarray  # bool per plot
    qc_status: pd.Series  # 'ok' | 'warning' | 'error' per plot
    qc_summary: pd.Series  # readable summary per plot ('' when no issue)
    error_reason: pd.Series  # the error messages per plot ('' when none)
    geometry: np.ndarray  # the geometry to screen per plot (a repair or stand-in; None when not screenable)
    area_ha: np.ndarray = None  # type: ignore[assignment]  # always set by finish(); area of the screened geometry on the WGS84 ellipsoid (NaN when not screenable)


@dataclass
class RowChecks:
    """What the checks of single rows found in a frame: the findings (positions into the frame,
    in the order the checks made them), which rows have an error, the geometry to screen and its
    area (None and NaN where there is an error)."""

    pos: np.ndarray
    code: np.ndarray
    severity: np.ndarray
    message: np.ndarray
    err: np.ndarray
    geometry: np.ndarray
    area_ha: np.ndarray


class Issues:
    """Accumulates findings as arrays: (positions, code, severity, messages)."""

    def __init__(self) -> None:
        self.pos: list[np.ndarray] = []
        self.code: list[np.ndarray] = []
        self.sev: list[np.ndarray] = []
        self.msg: list[np.ndarray] = []

    def add(self, positions: npt.ArrayLike, code: str, severity: str, messages: str | Iterable[str]) -> None:
        positions = np.asarray(positions, dtype="int64").ravel()
        if not len(positions):
            return
        assert code in ISSUE_CODES, code
        if isinstance(messages, str):
            messages = np.full(len(positions), messages, dtype=object)
        self.pos.append(positions)
        self.code.append(np.full(len(positions), code, dtype=object))
        self.sev.append(np.full(len(positions), severity, dtype=object))
        self.msg.append(np.asarray(list(messages), dtype=object))

    def add_raw(
        self,
        positions: Sequence[int] | np.ndarray,
        codes: npt.ArrayLike,
        severities: npt.ArrayLike,
        messages: npt.ArrayLike,
    ) -> None:
        """Findings with a code and severity of their own each."""
        if len(positions):
            self.pos.append(np.asarray(positions, dtype="int64"))
            self.code.append(np.asarray(codes, dtype=object))
            self.sev.append(np.asarray(severities, dtype=object))
            self.msg.append(np.asarray(messages, dtype=object))

    def unsorted(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every finding, in the order they were added."""
        if not self.pos:
            e = np.zeros(0, dtype=object)
            return np.zeros(0, dtype="int64"), e, e, e
        pos, code, sev, msg = (np.concatenate(a) for a in (self.pos, self.code, self.sev, self.msg))
        return pos, code, sev, msg

    def arrays(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Every finding, by row, then severity, then code (the order of adding otherwise)."""
        pos, code, sev, msg = self.unsorted()
        if not len(pos):
            return pos, code, sev, msg
        rank = pd.Series(sev).map(SEVERITY_ORDER).to_numpy()
        order = np.lexsort((code.astype(str), rank, pos))
        return pos[order], code[order], sev[order], msg[order]


def declared_areas(plots: pd.DataFrame, column: str | None = None) -> tuple[np.ndarray, str | None, np.ndarray]:
    """Declared area (ha) per row, the column it came from, and where a cell was not a number."""
    n = len(plots)
    if column is None:
        lower = {str(c).lower(): c for c in plots.columns}
        column = next((lower[name] for name in DECLARED_AREA_COLUMNS if name in lower), None)
    elif column not in plots.columns:
        names = [str(c) for c in plots.columns if c != plots.geometry.name]
        raise PlotsError(
            tr(
                "no declared-area column {column!r} (qc.declared_area_column); columns are: {columns}",
                column=column,
                columns=", ".join(names),
            )
        )
    if column is None:
        return np.full(n, np.nan), None, np.zeros(n, dtype=bool)
    raw = plots[column]
    if pd.api.types.is_numeric_dtype(raw) and not pd.api.types.is_bool_dtype(raw):
        return raw.to_numpy(dtype="float64", na_value=np.nan), str(column), np.zeros(n, dtype=bool)
    values = pd.to_numeric(raw, errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    blank = raw.isna().to_numpy() | (raw.astype(str).str.strip() == "").to_numpy()
    return values, str(column), np.isnan(values) & ~blank


def finish(plots: pd.DataFrame, rows: RowChecks, extra: CrossIssues | None = None) -> QCResult:
    """The :class:`QCResult` of a frame from its single-row findings and the warnings found across
    rows (``extra``: positions into the frame; duplicated ids, duplicated or overlapping
    geometries, already in their order within a row)."""
    out = Issues()
    out.add_raw(rows.pos, rows.code, rows.severity, rows.message)
    if extra is not None and len(extra):
        out.add_raw(extra.pos, extra.code, np.full(len(extra), "warning", dtype=object), extra.message)
    return _result(plots, out, rows.geometry, rows.err, rows.area_ha)


def some(rows: Sequence[object], at_most: int = 5) -> str:
    """'3, 7, 9' or '3, 7, 9, 12, 15 and 9,995 more': messages stay short when an id repeats a lot."""
    shown = ", ".join(str(r) for r in rows[:at_most])
    return shown if len(rows) <= at_most else tr("{shown} and {more:,} more", shown=shown, more=len(rows) - at_most)


def _join_by_row(pos: np.ndarray, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``"; ".join`` of the texts of each row (``pos`` sorted): (rows, joined texts). Vectorised:
    object arrays add as Python strings, and ``np.add.reduceat`` joins each run."""
    starts = np.flatnonzero(np.r_[True, pos[1:] != pos[:-1]])
    joined = np.add.reduceat(np.asarray(text, dtype=object) + "; ", starts)
    return pos[starts], np.array([j[:-2] for j in joined], dtype=object)


def _result(plots: pd.DataFrame, out: Issues, geoms: np.ndarray, err: np.ndarray, area_ha: np.ndarray) -> QCResult:
    n = len(plots)
    ids = plots["plot_id"].to_numpy()
    rows = plots["source_row"].to_numpy()
    pos, code, sev, msg = out.arrays()
    issues = pd.DataFrame(
        {
            "plot_id": pd.Series(ids[pos], dtype=object).astype(str),
            "source_row": pd.Series(rows[pos], dtype="int64"),
            "code": pd.Series(code, dtype=object).astype(str),
            "severity": pd.Series(sev, dtype=object).astype(str),
            "message": pd.Series(msg, dtype=object).astype(str),
        },
        columns=list(ISSUE_COLUMNS),
    )
    is_error = sev == "error"
    is_warning = sev == "warning"
    status = np.full(n, "ok", dtype=object)
    status[pos[is_warning]] = "warning"
    status[pos[is_error]] = "error"
    if not (err[pos[is_error]]).all() or (status == "error").sum() != err.sum():  # pragma: no cover - invariant
        raise AssertionError("internal error: QC error flags and error issues disagree")
    summary = np.full(n, "", dtype=object)
    reason = np.full(n, "", dtype=object)
    if len(pos):
        where, joined = _join_by_row(pos, code + ": " + msg)
        summary[where] = joined
        if is_error.any():
            where, joined = _join_by_row(pos[is_error], msg[is_error])
            reason[where] = joined
    screenable = ~err
    area = np.where(screenable, area_ha, np.nan)
    return QCResult(
        issues=issues,
        screenable=screenable,
        qc_status=pd.Series(status, index=plots.index, dtype=str),
        qc_summary=pd.Series(summary, index=plots.index, dtype=str),
        error_reason=pd.Series(reason, index=plots.index, dtype=str),
        geometry=np.where(screenable, geoms, np.array(None)),
        area_ha=area,
    )
