"""What the report's "what to do now" panel says: the plots to leave out of a due-diligence
statement, the plots to check, the plots without a verdict, the quality-control findings and the
EUDR export's outcome. Frames in (the screening's ``plots`` and ``plot_issues``, the export's
``manifest.csv``), an :class:`Actions` out; :mod:`pipeline.io.report` shows it.

The order of :data:`pipeline.vocab.SEVERITY` — detected, review, not assessed, invalid, free — is
the order of every plot list of the report (:func:`by_severity`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..vocab import DETECTED, INVALID, NOT_ASSESSED, REVIEW, SEVERITY

#: The columns a plot list holds (when present).
LIST_COLUMNS = ("plot_id", "status", "status_reason", "loss_after_ref_ha")


def by_severity(plots: pd.DataFrame) -> pd.DataFrame:
    """``plots`` in the order of :data:`SEVERITY`; within a status the largest loss after the
    reference year first, then by plot id."""
    rank = {s: i for i, s in enumerate(SEVERITY)}
    key = pd.DataFrame(
        {
            "rank": plots["status"].astype(str).map(rank).fillna(len(SEVERITY)).to_numpy(),
            "loss": -pd.to_numeric(_column(plots, "loss_after_ref_ha"), errors="coerce").fillna(0.0).to_numpy(),
            "id": plots["plot_id"].astype(str).to_numpy(),
        }
    )
    order = np.lexsort((key["id"].to_numpy(), key["loss"].to_numpy(), key["rank"].to_numpy()))
    return plots.iloc[order]


@dataclass
class ExportOutcome:
    """The EUDR export's outcome, from its ``manifest.csv``."""

    folder: str
    files: list[str]
    exported: int  # plots in the files (repaired ones included)
    repaired: int
    left_out: pd.DataFrame  # reason, plots: why plots were left out, most first
    field_checked: int = 0  # exported plots that went in on a field check (status_basis field_check)


@dataclass
class Actions:
    """The panel's lists and figures."""

    leave_out: pd.DataFrame  # deforestation_detected plots, by severity
    check: pd.DataFrame  # review plots
    no_verdict: pd.DataFrame  # not_assessed and invalid plots
    qc: pd.DataFrame  # code, severity, plots, example: one row per finding code
    export: ExportOutcome | None = None
    group_column: str | None = None  # the plots' group column shown beside each plot
    notes: list[str] = field(default_factory=list)


def plot_list(plots: pd.DataFrame, statuses: tuple[str, ...], group_column: str | None) -> pd.DataFrame:
    """The plots of ``statuses``, by severity, with their group."""
    mine = plots[plots["status"].astype(str).isin(statuses)]
    cols = [c for c in (*LIST_COLUMNS[:1], group_column, *LIST_COLUMNS[1:]) if c and c in mine.columns]
    return pd.DataFrame(by_severity(mine)[cols]).reset_index(drop=True)


def qc_findings(issues: pd.DataFrame | None) -> pd.DataFrame:
    """One row per finding code: its severity, how many plots, and one message as an example."""
    cols = ["code", "severity", "plots", "example"]
    if issues is None or not len(issues):
        return pd.DataFrame(columns=cols)
    order = {"error": 0, "warning": 1, "info": 2}
    g = issues.groupby(["code", "severity"], sort=False)
    out = pd.DataFrame(
        {
            "plots": g["plot_id"].nunique(),
            "example": g["message"].first().astype(str),
        }
    ).reset_index()
    out["rank"] = out["severity"].map(order).fillna(3)
    return out.sort_values(["rank", "plots", "code"], ascending=[True, False, True])[cols].reset_index(drop=True)


def export_outcome(folder: str, manifest: pd.DataFrame | None) -> ExportOutcome | None:
    """The outcome of an EUDR export from its manifest (None without one)."""
    if manifest is None or "outcome" not in manifest.columns:
        return None
    outcome = manifest["outcome"].astype(str)
    files = sorted({str(f) for f in manifest.get("file", pd.Series(dtype=str)).dropna() if str(f)})
    left = manifest[outcome == "left_out"]
    reasons = left["reason"].fillna("").astype(str) if "reason" in left.columns else pd.Series("", index=left.index)
    left_out = reasons.value_counts().rename_axis("reason").reset_index(name="plots")
    sent = outcome.isin(["exported", "repaired"]).to_numpy()
    basis = manifest["status_basis"].astype(str).to_numpy() if "status_basis" in manifest.columns else None
    return ExportOutcome(
        folder=folder,
        files=files,
        exported=int(outcome.isin(["exported", "repaired"]).sum()),
        repaired=int((outcome == "repaired").sum()),
        left_out=left_out,
        field_checked=int((sent & (basis == "field_check")).sum()) if basis is not None else 0,
    )


def build_actions(
    plots: pd.DataFrame,
    group_column: str | None = None,
    issues: pd.DataFrame | None = None,
    export: tuple[str, pd.DataFrame] | None = None,
) -> Actions:
    """The panel of a screening's ``plots`` (and its ``plot_issues``, and an EUDR export's
    (folder, manifest))."""
    return Actions(
        leave_out=plot_list(plots, (DETECTED,), group_column),
        check=plot_list(plots, (REVIEW,), group_column),
        no_verdict=plot_list(plots, (NOT_ASSESSED, INVALID), group_column),
        qc=qc_findings(issues),
        export=export_outcome(*export) if export is not None else None,
        group_column=group_column,
    )


def _column(plots: pd.DataFrame, name: str) -> pd.Series:
    """A column of ``plots``, or zeros where there is none."""
    return plots[name] if name in plots else pd.Series(0.0, index=plots.index)
