"""Quality control alone, without rasters: what ``cacao-screen validate`` reports.

:func:`validate_plots` checks plots already read and returns every row with its QC columns, and
the findings (written by :func:`pipeline.io.gpkg.write_validation`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import pandas as pd

from ..config import QCConfig
from ..vocab import PLOT_KEY_COLUMNS, attribute_names
from .qc import SEVERITY_ORDER, check_plots


@dataclass
class ValidationResult:
    plots: gpd.GeoDataFrame  # every input row: plot_id, source_row, attributes, qc columns, original geometry
    issues: pd.DataFrame  # ISSUE_COLUMNS
    metadata: dict[str, str] = field(default_factory=dict)

    @property
    def counts(self) -> dict[str, int]:
        """Plots per ``qc_status`` (ok, warning, error) and in total."""
        vc = self.plots["qc_status"].value_counts()
        return {"plots": len(self.plots), **{s: int(vc.get(s, 0)) for s in ("ok", "warning", "error")}}

    def by_code(self) -> pd.DataFrame:
        """Issues by code and severity: number of issues and of distinct plots; errors first."""
        i = self.issues
        if not len(i):
            return pd.DataFrame(columns=["code", "severity", "plots", "issues"])
        g = i.groupby(["severity", "code"])
        out = pd.DataFrame({"plots": g["source_row"].nunique(), "issues": g.size()}).reset_index()
        out["rank"] = out["severity"].map(SEVERITY_ORDER)
        return (
            out.sort_values(["rank", "code"])
            .drop(columns="rank")[["code", "severity", "plots", "issues"]]
            .reset_index(drop=True)
        )


def validate_plots(
    plots: gpd.GeoDataFrame,
    params: QCConfig = QCConfig(),
    *,
    coverage_bounds: tuple[float, float, float, float] | None = None,
) -> ValidationResult:
    """Run the quality control on normalised plots (see :func:`pipeline.io.plots.read_plots`)."""
    qc = check_plots(plots, params, coverage_bounds=coverage_bounds)
    attrs = [c for c in plots.columns if c not in (*PLOT_KEY_COLUMNS, plots.geometry.name)]
    ours = (*PLOT_KEY_COLUMNS, "qc_status", "qc_summary", "screened", "area_ha")
    table = plots[[*PLOT_KEY_COLUMNS, *attrs]].copy(deep=False)
    table.columns = [*PLOT_KEY_COLUMNS, *attribute_names(attrs, ours)]  # unique, case aside
    table = table.assign(
        qc_status=qc.qc_status.to_numpy(),
        qc_summary=qc.qc_summary.to_numpy(),
        screened=qc.screenable,
        area_ha=qc.area_ha,
    )
    out = gpd.GeoDataFrame(table, geometry=plots.geometry.to_numpy(), crs=plots.crs)
    if len(out) != len(plots):  # pragma: no cover - the invariant
        raise RuntimeError(f"internal error: {len(plots)} plots in, {len(out)} out")
    return ValidationResult(out, qc.issues)
