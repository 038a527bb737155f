"""Quality control alone, without rasters: the library behind ``cacao-screen validate``.

:func:`validate_plots` checks plots already read; :func:`write_validation` writes the findings as
a GeoPackage (layers ``plots`` with ``qc_status``/``qc_summary``, ``plot_issues``, ``run_metadata``)
or as a CSV of the issues, atomically.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from .errors import OutputError
from .outputs import atomic_path, write_layers
from .qc import ISSUE_COLUMNS, QCParams, check_plots

#: Exit code of ``cacao-screen validate`` when some plots have errors (they would be ``invalid``).
EXIT_PLOT_ERRORS = 3


@dataclass
class ValidationResult:
    plots: gpd.GeoDataFrame   # every input row: plot_id, source_row, attributes, qc columns, original geometry
    issues: pd.DataFrame      # ISSUE_COLUMNS
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
        out["rank"] = out["severity"].map({"error": 0, "warning": 1, "info": 2})
        return out.sort_values(["rank", "code"]).drop(columns="rank")[["code", "severity", "plots", "issues"]] \
            .reset_index(drop=True)


def validate_plots(plots: gpd.GeoDataFrame, params: QCParams = QCParams(), *,
                   coverage_bounds: tuple[float, float, float, float] | None = None) -> ValidationResult:
    """Run the quality control on normalised plots (see :func:`pipeline.plots.read_plots`)."""
    qc = check_plots(plots, params, coverage_bounds=coverage_bounds)
    attrs = [c for c in plots.columns if c not in ("plot_id", "source_row", plots.geometry.name)]
    ours = {"qc_status", "qc_summary", "screened", "area_ha"}
    renamed = {c: f"input_{c}" for c in attrs if c in ours}
    table = plots[["plot_id", "source_row", *attrs]].rename(columns=renamed)
    table = table.assign(qc_status=qc.qc_status.to_numpy(), qc_summary=qc.qc_summary.to_numpy(),
                         screened=qc.screenable, area_ha=qc.area_ha)
    out = gpd.GeoDataFrame(table, geometry=plots.geometry.to_numpy(), crs=plots.crs)
    if len(out) != len(plots):  # pragma: no cover - the invariant
        raise RuntimeError(f"internal error: {len(plots)} plots in, {len(out)} out")
    return ValidationResult(out, qc.issues)


def write_validation(path: str | Path, result: ValidationResult, *, overwrite: bool = False) -> Path:
    """Write the findings: ``.gpkg`` (plots with qc columns, plot_issues, run_metadata) or ``.csv`` (issues)."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return write_layers(path, {"plots": result.plots, "plot_issues": result.issues[ISSUE_COLUMNS]},
                            result.metadata, overwrite=overwrite)
    if suffix == ".csv":
        with atomic_path(path, overwrite) as tmp:
            result.issues[ISSUE_COLUMNS].to_csv(tmp, index=False)
        return path
    raise OutputError(f"{path}: the issues are written as .gpkg or .csv; choose one of these extensions")


def format_summary(result: ValidationResult, source: str) -> str:
    """The table ``validate`` prints: plots by QC status, then issues by code and severity."""
    c = result.counts
    lines = [f"Checked {c['plots']} plots in {source}: {c['ok']} ok, {c['warning']} with warnings, "
             f"{c['error']} with errors (not screenable)"]
    table = result.by_code()
    if len(table):
        lines.append(f"{'code':<30}{'severity':<10}{'plots':>10}{'issues':>10}")
        for _, r in table.iterrows():
            lines.append(f"{r['code']:<30}{r['severity']:<10}{int(r['plots']):>10}{int(r['issues']):>10}")
    else:
        lines.append("No issues found.")
    return "\n".join(lines)

