"""``cacao-screen validate``: check the geometries of a plots file without screening it."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import PlotsConfig, QCConfig, load_config, set_dotted, validate_model
from ..i18n import _, tr
from ..vocab import EXIT_PLOT_ERRORS
from .app import cli, invocation, quiet, verbosity_options, wait_lock_option
from .options import VALIDATE_OPTIONS, apply, given

VALIDATE_HELP_EPILOG = """\b
Exit codes:
  0  no plot has an error (warnings and notes allowed)
  3  some plots have errors: screening would mark them 'invalid'
  2  bad usage or unusable input (unreadable file, no CRS, bad option...)
  1  any other failure
"""


@cli.command(epilog=VALIDATE_HELP_EPILOG)
@click.argument("plots_path", metavar="[PLOTS]", required=False, type=click.Path(path_type=Path))
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path),
    default=None,
    help="Take the plots file, its reading settings and the qc settings from a job config; flags override it.",
)
@apply(VALIDATE_OPTIONS)
@click.option(
    "--bounds",
    nargs=4,
    type=float,
    default=None,
    metavar="MINX MINY MAXX MAXY",
    help="Extent the plots should lie in (e.g. the rasters', lon/lat): a plot outside it that would lie "
    "inside with longitude and latitude swapped is flagged.",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the findings: .gpkg (plots with qc columns, plot_issues) or .csv (the issues).",
)
@click.option("--overwrite", is_flag=True, default=False, help="Replace the output if it exists.")
@wait_lock_option
@verbosity_options
@click.pass_context
def validate(
    ctx: click.Context,
    plots_path: Path | None,
    config_path: Path | None,
    bounds,
    out: Path | None,
    overwrite: bool,
    wait_lock: float,
    **kwargs,
) -> int:
    """Check the geometries of a plots file without screening it (no rasters needed).

    Prints the issues by code and severity, writes them with --out, and exits 3 when some plots
    have errors (they would not be screened). See docs/qc.md for every issue code.
    """
    from ..job import run_validate

    data: dict = {"plots": {}, "qc": {}}
    if config_path is not None:
        cfg = load_config(config_path)
        data = {"plots": cfg.plots.model_dump(), "qc": cfg.qc.model_dump()}
    elif plots_path is None:
        raise click.UsageError("give a plots file (PLOTS) or a job config (--config)")
    if plots_path is not None:
        data["plots"]["path"] = plots_path
    for key, value in given(VALIDATE_OPTIONS, kwargs).items():
        set_dotted(data, key, value)
    plots_cfg = validate_model(PlotsConfig, data["plots"], "command line")
    qc = validate_model(QCConfig, data["qc"], "command line")
    result = run_validate(
        plots_cfg,
        qc,
        bounds=tuple(bounds) if bounds else None,
        out=out,
        overwrite=overwrite,
        invocation=invocation(ctx, config_path),
        wait_lock=wait_lock,
    )
    if not quiet(ctx):
        click.echo(format_summary(result, str(plots_cfg.path)))
        if out is not None:
            click.echo(tr("Findings written to {path}", path=out))
    return EXIT_PLOT_ERRORS if result.counts["error"] else 0


def format_summary(result, source: str) -> str:
    """The table ``validate`` prints: plots by QC status, then issues by code and severity."""
    c = result.counts
    lines = [
        tr(
            "Checked {plots} plots in {source}: {ok} ok, {warning} with warnings, {error} with errors (not screenable)",
            plots=c["plots"],
            source=source,
            ok=c["ok"],
            warning=c["warning"],
            error=c["error"],
        )
    ]
    table = result.by_code()
    if len(table):
        code, severity, plots, issues = _("code"), _("severity"), _("plots"), _("issues")
        width = max(len(severity), *(len(_(s)) for s in table["severity"])) + 2  # "advertencia" is long
        lines.append(f"{code:<30}{severity:<{width}}{plots:>10}{issues:>10}")
        for _row, r in table.iterrows():
            lines.append(f"{r['code']:<30}{_(r['severity']):<{width}}{int(r['plots']):>10}{int(r['issues']):>10}")
    else:
        lines.append(_("No issues found."))
    return "\n".join(lines)
