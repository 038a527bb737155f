"""The validation job (``cacao-screen validate``): quality control alone, its findings written to
a GeoPackage or a CSV file."""

from __future__ import annotations

import time
from pathlib import Path

from .. import __version__
from ..config import PlotsConfig, QCConfig
from ..io.gpkg import check_target, write_validation
from ..io.outputs import disk_errors, guard
from ..io.plots import read_plots
from ..stages.columns import INPUT_ATTRIBUTE
from ..stages.validation import ValidationResult, validate_plots
from ..vocab import ISSUE_COLUMNS, META_GENERATOR
from .common import Invocation, gpkg_finish, provenance_keys


def run_validate(
    plots_cfg: PlotsConfig,
    qc: QCConfig,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    out: Path | None = None,
    overwrite: bool = False,
    invocation: Invocation = Invocation(),
    wait_lock: float = 0.0,
) -> ValidationResult:
    """Quality control alone: read the plots, check them, write the findings to ``out`` (.gpkg or .csv)."""
    if out is None:
        return _run_validate(plots_cfg, qc, bounds, out, overwrite, invocation)
    check_target(out, overwrite, inputs=[("plots file", plots_cfg.path)], suffixes=(".gpkg", ".csv"))
    with guard([out], wait_lock), disk_errors(Path(out).parent):
        return _run_validate(plots_cfg, qc, bounds, out, overwrite, invocation)


def _run_validate(
    plots_cfg: PlotsConfig,
    qc: QCConfig,
    bounds: tuple[float, float, float, float] | None,
    out: Path | None,
    overwrite: bool,
    invocation: Invocation,
) -> ValidationResult:
    started = time.time()
    plots = read_plots(plots_cfg)
    result = validate_plots(plots, qc, coverage_bounds=bounds)
    result.metadata = {
        META_GENERATOR: f"cacao-screen {__version__} validate",
        "plots_path": str(Path(plots_cfg.path).resolve()),
        "plots_crs": str(plots.attrs.get("source_crs", "")),
        "plots_in": str(len(plots)),
        "plots_out": str(len(result.plots)),
        **{f"qc_{k}": str(v) for k, v in qc.model_dump().items()},
    }
    if out is not None:
        result.metadata.update(provenance_keys(invocation, started, [("plots", plots_cfg.path)], []))
        issues = result.issues[list(ISSUE_COLUMNS)]
        attrs = [c for c in plots.columns if c not in ("plot_id", "source_row", plots.geometry.name)]
        finish = gpkg_finish(
            {"plots": result.plots, "plot_issues": issues},
            result.metadata,
            given={"plots": dict.fromkeys(attrs, INPUT_ATTRIBUTE)},
        )
        write_validation(out, result.plots, issues, result.metadata, overwrite=overwrite, finish=finish)
    return result
