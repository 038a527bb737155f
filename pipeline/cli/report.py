"""``cacao-screen report``: the HTML report of a screening (and its baseline)."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import ReportConfig, set_dotted, validate_model
from ..i18n import tr
from .app import cli, progress_wanted, quiet, verbosity_options, wait_lock_option
from .options import REPORT_OPTIONS, apply, given, screening_option


@cli.command()
@screening_option
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    help="Its baseline.gpkg (`cacao-screen baseline`): regions, the baseline, lots and buyers.",
)
@apply(REPORT_OPTIONS)
@click.option("--overwrite", is_flag=True, help="Replace the report if it exists.")
@wait_lock_option
@verbosity_options
@click.pass_context
def report(
    ctx: click.Context, screening: Path, baseline: Path | None, overwrite: bool, wait_lock: float, **kwargs
) -> None:
    """A self-contained HTML report for people: headline figures, forest loss per year against the
    baseline, a map of the plots by status, one zoomed map and table per cooperative (or region),
    tables by region and cooperative, lots and buyers, and the provenance.

    It opens without a network (images and styles are inside). Beyond --inline-max-plots plots, each
    cooperative's page is a file in <name>_files/ beside it. See docs/report.md.
    """
    from ..job import run_report

    data: dict = {}
    for key, value in given(REPORT_OPTIONS, kwargs).items():
        set_dotted(data, key, value)
    cfg = validate_model(ReportConfig, data, "command line")
    path = run_report(
        screening, cfg, baseline=baseline, overwrite=overwrite, progress=progress_wanted(ctx), wait_lock=wait_lock
    )
    if not quiet(ctx):
        click.echo(tr("Report -> {path}", path=path))
