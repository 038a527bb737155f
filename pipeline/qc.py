"""Geometry quality control: checks that decide whether a plot can be screened.

Each finding is an issue record (``plot_id``, ``source_row``, ``code``, ``severity``,
``message``). Severities: ``error`` (the plot is not screened: status ``invalid``), ``warning``
(screened, flagged), ``info``. Nothing is dropped: every input row stays in the output.

Codes checked here:

========================  ========  =========================================================
code                      severity  meaning
========================  ========  =========================================================
``empty_geometry``        error     the row has no geometry, or an empty one
``non_polygonal``         error     a point or line: only polygons can be screened
``invalid_geometry``      error     self-intersection or other invalidity (GEOS's reason given)
``duplicate_id``          warning   another row has the same ``plot_id``
``generated_id``          warning   the row had no id; ``row-<n>`` was made from its position
========================  ========  =========================================================
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

ISSUE_COLUMNS = ["plot_id", "source_row", "code", "severity", "message"]
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


@dataclass
class QCResult:
    """``issues`` (one row per finding) and, per plot, whether it can be screened."""

    issues: pd.DataFrame
    screenable: np.ndarray   # bool per plot
    qc_status: pd.Series     # 'ok' | 'warning' | 'error' per plot
    qc_summary: pd.Series    # readable summary per plot ('' when no issue)
    error_reason: pd.Series  # the error messages per plot ('' when none)
    geometry: np.ndarray     # the geometry to screen per plot (a repair or stand-in; None when not screenable)


def check_plots(plots: pd.DataFrame) -> QCResult:
    """Run every check on a normalised plots frame (see :func:`pipeline.plots.normalise`)."""
    geoms = np.asarray(plots.geometry.to_numpy(), dtype=object)
    ids = plots["plot_id"].to_numpy()
    rows = plots["source_row"].to_numpy()
    records: list[tuple[int, str, str, str]] = []  # (position, code, severity, message)

    missing = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    types = shapely.get_type_id(geoms)
    polygonal = np.isin(types, (3, 6))  # Polygon, MultiPolygon
    for i in np.flatnonzero(missing):
        records.append((i, "empty_geometry", "error", "the row has no geometry or an empty one"))
    for i in np.flatnonzero(~missing & ~polygonal):
        records.append((i, "non_polygonal", "error",
                        f"{geoms[i].geom_type} geometry: only polygons can be screened"))
    check = ~missing & polygonal
    valid = np.ones(len(geoms), dtype=bool)
    valid[check] = shapely.is_valid(geoms[check])
    for i in np.flatnonzero(~valid):
        records.append((i, "invalid_geometry", "error",
                        f"invalid polygon: {shapely.is_valid_reason(geoms[i])}"))

    generated = np.asarray(plots.attrs.get("id_generated", np.zeros(len(geoms), dtype=bool)), dtype=bool)
    for i in np.flatnonzero(generated):
        records.append((i, "generated_id", "warning", f"no plot id in the input; id {ids[i]} was made from the row number"))
    dup = pd.Series(ids).duplicated(keep=False).to_numpy()
    if dup.any():
        by_id = pd.Series(rows[dup]).groupby(ids[dup]).apply(list).to_dict()
        for i in np.flatnonzero(dup):
            others = ", ".join(str(r) for r in by_id[ids[i]] if r != rows[i])
            records.append((i, "duplicate_id", "warning", f"plot_id {ids[i]!r} is also used on row(s) {others}"))

    records.sort(key=lambda r: (r[0], SEVERITY_ORDER[r[2]], r[1]))
    pos = np.array([r[0] for r in records], dtype="int64")
    issues = pd.DataFrame({
        "plot_id": ids[pos] if len(pos) else pd.Series([], dtype=str),
        "source_row": rows[pos] if len(pos) else pd.Series([], dtype="int64"),
        "code": [r[1] for r in records],
        "severity": [r[2] for r in records],
        "message": [r[3] for r in records],
    }, columns=ISSUE_COLUMNS)

    n = len(geoms)
    status = np.array(["ok"] * n, dtype=object)
    summary = [[] for _ in range(n)]
    errors = [[] for _ in range(n)]
    for i, code, severity, message in records:
        if severity == "error":
            status[i] = "error"
            errors[i].append(message)
        elif severity == "warning" and status[i] == "ok":
            status[i] = "warning"
        summary[i].append(f"{code}: {message}")
    return QCResult(
        issues=issues,
        screenable=status != "error",
        qc_status=pd.Series(status, index=plots.index, dtype=str),
        qc_summary=pd.Series(["; ".join(s) for s in summary], index=plots.index, dtype=str),
        error_reason=pd.Series(["; ".join(e) for e in errors], index=plots.index, dtype=str),
        geometry=np.where(status != "error", geoms, None),
    )
