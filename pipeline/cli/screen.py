"""``cacao-screen screen`` and ``cacao-screen run``: a screening job from flags, or from a config file."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import build_config, load_config, set_dotted
from ..vocab import EXIT_NOT_ASSESSED, EXIT_OK, STATUS_MEANINGS
from .app import cli, invocation, progress_wanted, quiet, verbosity_options
from .baseline import print_baseline_summary
from .help import GroupedCommand
from .export import print_export_summary
from .options import RUN_OPTIONS, SCREEN_OPTIONS, apply, given

SCREEN_HELP_EPILOG = "\b\nStatus values:\n" + "".join(f"  {s:<24}{m}\n" for s, m in STATUS_MEANINGS.items())


@cli.command(cls=GroupedCommand, epilog=SCREEN_HELP_EPILOG)
@apply(SCREEN_OPTIONS, required=("plots.path", "rasters.loss_year", "rasters.tree_cover"))
@verbosity_options
@click.pass_context
def screen(ctx: click.Context, **kwargs) -> None:
    """Screen the plots in --plots against a loss-year and a tree-cover raster (and, with --alerts,
    Global Forest Watch's integrated deforestation alerts dated after --cutoff-date)."""
    data: dict = {}
    for key, value in given(SCREEN_OPTIONS, kwargs).items():
        set_dotted(data, key, value)
    return run_job(ctx, build_config(data, "command line"), invocation(ctx))


@cli.command(cls=GroupedCommand, epilog=SCREEN_HELP_EPILOG)
@click.option(
    "--config",
    "config_path",
    required=True,
    type=click.Path(path_type=Path),
    help="YAML configuration (see configs/sample.yaml); relative paths in it are relative to it.",
)
@apply(RUN_OPTIONS)
@verbosity_options
@click.pass_context
def run(ctx: click.Context, config_path: Path, **kwargs) -> None:
    """Run a screening job described by a YAML config; flags override the file."""
    return run_job(
        ctx, load_config(config_path, given(RUN_OPTIONS, kwargs, absolute_paths=True)), invocation(ctx, config_path)
    )


def run_job(ctx: click.Context, cfg, started_as) -> int:
    """Run the job, print its summary; the exit code (4: too many plots not_assessed)."""
    from ..job import run as run_screening

    result = run_screening(cfg, progress=progress_wanted(ctx), invocation=started_as)
    if not quiet(ctx):
        print_summary(result, cfg.output.path, cfg.screening.reference_year, cfg.screening.cutoff)
        if result.baseline is not None:
            print_baseline_summary(result.baseline)
        for export in result.exports:
            print_export_summary(export)
        if result.report is not None:
            click.echo(f"Report -> {result.report}")
    if result.too_many_not_assessed():
        print_not_assessed(result, cfg.output.path)
        return EXIT_NOT_ASSESSED
    return EXIT_OK


def print_not_assessed(result, out_path) -> None:
    """On stderr (even with -q): too many plots not_assessed, and why."""
    n, of = result.not_assessed()
    click.echo(
        f"cacao-screen: {n} of {of} plots ({100 * n / of:.1f} %, invalid ones aside) are not_assessed, more than "
        f"--max-not-assessed-pct {result.max_not_assessed_pct:g}: the outputs are written ({out_path}), but the "
        "rasters do not cover these plots or hold no valid data under them. Check the rasters' extent "
        "(status_reason says why for each plot). Exit code 4.",
        err=True,
    )
    reasons = sorted(result.not_assessed_reasons.items(), key=lambda kv: -kv[1])
    for reason, k in reasons[:5]:
        click.echo(f"  {k:>8}  {reason}", err=True)


def print_summary(result, out_path: Path, reference_year: int, cutoff=None) -> None:
    s = result.summary()
    n = int(s.loc["total", "plots"])
    click.echo(f"Screened {n} plots -> {out_path}")
    click.echo(f"{'status':<24}{'plots':>8}{'area (ha)':>14}{f'loss after {reference_year} (ha)':>26}")
    for status, row in s.iterrows():
        if status == "total":
            click.echo("-" * 72)
        click.echo(f"{status:<24}{int(row['plots']):>8}{row['area_ha']:>14.2f}{row['loss_after_ref_ha']:>26.2f}")
    for name in result.alert_products:
        plots, ha, detected, review, unassessed = result.alert_summary(name)
        click.echo(
            f"Alerts after the cut-off {cutoff} ({name}): {plots} plots, {ha:.2f} ha; "
            f"{detected} detected, {review} review, {unassessed} not assessed by it  [layer alerts_by_month]"
        )
    if result.reused or result.rejected:
        click.echo(
            f"Incremental: {result.reused} unchanged plots reused, {n - result.reused} screened"
            + (
                f" ({result.rejected} stored rows failed the integrity check: edited since written)"
                if result.rejected
                else ""
            )
        )
    counts = result.issue_counts
    if len(counts):
        click.echo(
            "Quality control: "
            + ", ".join(f"{code} ({sev}) x{k}" for (sev, code), k in counts.items())
            + "  [layer plot_issues]"
        )
