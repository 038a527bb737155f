"""The report job (``cacao-screen report``, and the last step of a screening job whose config has a
``report`` section): the HTML report of a screening and its baseline."""

from __future__ import annotations

import os
from pathlib import Path

from .. import reasons
from ..config import ReportConfig, ScreeningConfig
from ..errors import BaselineError
from ..io.evidence import evidence_files
from ..io.fieldpack import read_patches
from ..io.outputs import disk_errors, guard
from ..io.report import check_report_target, pages_folder, read_baseline, read_manifest, render, write_report
from ..io.screenings import read_screening, read_table
from ..stages.evidence import page_slugs, plot_evidence
from ..stages.report import build_report
from .baseline import stored_config
from .common import in_input_order


def run_report(
    screening: str | Path,
    cfg: ReportConfig,
    *,
    baseline: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
    locked: bool = False,
    wait_lock: float = 0.0,
) -> Path:
    """Write the HTML report of a screening (and its baseline) to ``cfg.out``; return its path."""
    named = [("screening", screening), ("baseline", baseline)]
    check_report_target(cfg.out, overwrite, inputs=named)  # fail before the work, not after
    if not locked:
        with guard([cfg.out], wait_lock, also=[pages_folder(cfg.out)]), disk_errors(Path(cfg.out).parent):
            return run_report(screening, cfg, baseline=baseline, overwrite=overwrite, progress=progress, locked=True)
    plots, meta = read_screening(screening)
    plots = reasons.in_language(in_input_order(plots))  # the reasons in the report's language, from their codes
    layers, baseline_meta = read_baseline(baseline) if baseline is not None else (None, None)
    export = None
    if cfg.eudr is not None:  # named from the report's folder, as a link from it would be
        export = (os.path.relpath(cfg.eudr, Path(cfg.out).resolve().parent), read_manifest(cfg.eudr))
    issues = read_table(screening, "plot_issues")
    data = build_report(plots, meta, cfg, layers, baseline_meta, issues=issues, export=export)
    evidence = _evidence(screening, plots, meta)
    data.evidence = {e.plot_id: e.slug for e in evidence}
    separate = len(plots) > cfg.inline_max_plots
    index, pages = render(data, separate_pages=separate, pages_folder=pages_folder(cfg.out).name, progress=progress)
    pages.update(evidence_files(evidence, data.title, f"../../{Path(cfg.out).name}"))
    return write_report(cfg.out, index, pages, overwrite=overwrite)


def _evidence(screening: str | Path, plots, meta: dict[str, str]) -> list:
    """The evidence of the review and detected plots (their pages: :mod:`pipeline.io.evidence`)."""
    try:
        screening_cfg = stored_config(meta, str(screening)).screening
    except BaselineError:  # an older screening: the rules' defaults for the trace
        screening_cfg = ScreeningConfig()
    return plot_evidence(
        plots,
        read_patches(screening),
        read_table(screening, "loss_by_year"),
        read_table(screening, "plot_issues"),
        screening_cfg,
        page_slugs(plots["plot_id"]),
    )
