"""``cacao-screen screen`` and ``cacao-screen run``: a screening job from flags, or from a config file."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import build_config, load_config, set_dotted
from ..i18n import N_, _, fmt, set_language, tr
from ..vocab import EXIT_NOT_ASSESSED, EXIT_OK, STATUS_MEANINGS
from .app import cli, invocation, lang_given, progress_wanted, quiet, verbosity_options
from .baseline import print_baseline_summary
from .export import print_export_summary
from .help import GroupedCommand
from .options import RUN_OPTIONS, SCREEN_OPTIONS, apply, given

#: The severities of quality-control findings, as the summary names them.
SEVERITY_WORDS = (N_("error"), N_("warning"), N_("info"))

SCREEN_HELP_EPILOG = "\b\nStatus values:\n" + "".join(f"  {s:<24}{m}\n" for s, m in STATUS_MEANINGS.items())
# (the epilog is translated whole, as every help text: tools/i18n.py reads it from the command)


@cli.command(cls=GroupedCommand, epilog=SCREEN_HELP_EPILOG)
@apply(SCREEN_OPTIONS, required=("plots.path", "rasters.loss_year", "rasters.tree_cover"))
@verbosity_options
@click.pass_context
def screen(ctx: click.Context, **kwargs) -> int:
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
def run(ctx: click.Context, config_path: Path, **kwargs) -> int:
    """Run a screening job described by a YAML config; flags override the file."""
    return run_job(
        ctx, load_config(config_path, given(RUN_OPTIONS, kwargs, absolute_paths=True)), invocation(ctx, config_path)
    )


def run_job(ctx: click.Context, cfg, started_as) -> int:
    """Run the job, print its summary; the exit code (4: too many plots not_assessed)."""
    from ..job import run as run_screening

    if cfg.output.language and not lang_given(ctx):  # --lang wins over the config
        set_language(cfg.output.language)
    result = run_screening(cfg, progress=progress_wanted(ctx), invocation=started_as)
    if not quiet(ctx):
        print_summary(result, cfg.output.path, cfg.screening.reference_year, cfg.screening.cutoff)
        if result.baseline is not None:
            print_baseline_summary(result.baseline)
        for export in result.exports:
            print_export_summary(export)
        if result.report is not None:
            click.echo(tr("Report -> {path}", path=result.report))
    if result.too_many_not_assessed():
        print_not_assessed(result, cfg.output.path)
        return EXIT_NOT_ASSESSED
    return EXIT_OK


def print_not_assessed(result, out_path) -> None:
    """On stderr (even with -q): too many plots not_assessed, and why."""
    n, of = result.not_assessed()
    click.echo(
        tr(
            "cacao-screen: {n} of {total} plots ({pct:.1f} %, invalid ones aside) are not_assessed, more than "
            "--max-not-assessed-pct {limit:g}: the outputs are written ({path}), but the rasters do not cover "
            "these plots or hold no valid data under them. Check the rasters' extent (status_reason says why for "
            "each plot). Exit code 4.",
            n=n,
            total=of,
            pct=100 * n / of,
            limit=result.max_not_assessed_pct,
            path=out_path,
        ),
        err=True,
    )
    reasons = sorted(result.not_assessed_reasons.items(), key=lambda kv: -kv[1])
    for reason, k in reasons[:5]:
        click.echo(f"  {k:>8}  {reason}", err=True)


def print_summary(result, out_path: Path, reference_year: int, cutoff=None) -> None:
    s = result.summary()
    n = int(s.loc["total", "plots"])
    click.echo(tr("Screened {n} plots -> {path}", n=n, path=out_path))
    loss_header = tr("loss after {year} (ha)", year=reference_year)
    status_header, plots_header, area_header = _("status"), _("plots"), _("area (ha)")
    click.echo(f"{status_header:<24}{plots_header:>8}{area_header:>14}{loss_header:>26}")
    for status, row in s.iterrows():
        if status == "total":
            click.echo("-" * 72)
        label = _("total") if status == "total" else status  # the status codes stay as they are
        click.echo(
            fmt("{0:<24}{1:>8}{2:>14.2f}{3:>26.2f}", label, int(row["plots"]), row["area_ha"], row["loss_after_ref_ha"])
        )
    for name in result.alert_products:
        plots, ha, detected, review, unassessed = result.alert_summary(name)
        click.echo(
            tr(
                "Alerts after the cut-off {cutoff} ({product}): {plots} plots, {ha:.2f} ha; {detected} detected, "
                "{review} review, {unassessed} not assessed by it  [layer alerts_by_month]",
                cutoff=cutoff,
                product=name,
                plots=plots,
                ha=ha,
                detected=detected,
                review=review,
                unassessed=unassessed,
            )
        )
    for name, (plots, ha, review) in getattr(result, "overlays", {}).items():
        click.echo(
            tr(
                "Overlay {overlay}: {plots} plots overlap it, {ha:.2f} ha; {review} made review by it  "
                "[columns {overlay}_overlap_ha, _overlap_pct, _names]",
                overlay=name,
                plots=int(plots),
                ha=ha,
                review=int(review),
            )
        )
    if result.reused or result.rejected:
        text = tr(
            "Incremental: {reused} unchanged plots reused, {screened} screened",
            reused=result.reused,
            screened=n - result.reused,
        )
        if result.rejected:
            text = tr(
                "Incremental: {reused} unchanged plots reused, {screened} screened ({rejected} stored rows failed "
                "the integrity check: edited since written)",
                reused=result.reused,
                screened=n - result.reused,
                rejected=result.rejected,
            )
        click.echo(text)
    counts = result.issue_counts
    if len(counts):
        found = ", ".join(f"{code} ({_(sev)}) x{k}" for (sev, code), k in counts.items())
        click.echo(tr("Quality control: {findings}  [layer plot_issues]", findings=found))
