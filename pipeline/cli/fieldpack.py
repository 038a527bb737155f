"""``cacao-screen field-pack``: a GeoPackage of forms for the plots to check in the field (QField)."""

from __future__ import annotations

from pathlib import Path

import click

from ..i18n import _, fmt, tr
from ..vocab import DETECTED, REVIEW, STATUSES
from .app import cli, invocation, quiet, verbosity_options


@cli.command("field-pack")
@click.option(
    "--screening",
    "screening_path",
    type=click.Path(path_type=Path),
    default=Path("outputs/screening.gpkg"),
    show_default=True,
    help="The screening whose plots to check (a screening.gpkg of cacao-screen).",
)
@click.option(
    "--out", type=click.Path(path_type=Path), required=True, help="The package to write (.gpkg), e.g. pack.gpkg."
)
@click.option(
    "--statuses",
    default=f"{REVIEW},{DETECTED}",
    show_default=True,
    help=f"The statuses of the plots to check, separated by commas (of: {', '.join(STATUSES)}).",
)
@click.option(
    "--group-column",
    default=None,
    help="A plots column to choose a group by (e.g. cooperative_id); with --group, only that group's plots.",
)
@click.option("--group", default=None, help="The value of --group-column whose plots to check (e.g. COOP-01).")
@click.option(
    "--producer-column",
    default="producer_id",
    show_default=True,
    help="The plots column naming the producer (shown in the form; empty when the column is absent).",
)
@click.option("--overwrite", is_flag=True, default=False, help="Replace the package if it exists.")
@verbosity_options
@click.pass_context
def field_pack(
    ctx: click.Context,
    screening_path: Path,
    out: Path,
    statuses: str,
    group_column: str | None,
    group: str | None,
    producer_column: str,
    overwrite: bool,
) -> int:
    """Write a field-check package: a GeoPackage that QField (or QGIS) opens as a ready form.

    Layer 'checks' holds one feature per plot to check (geometry, plot id, producer, status and
    reason) with empty form fields: field_verdict, land_use_2020, shade_trees_removed, photos,
    checked_by, checked_on, notes. Layer 'patches' shows the loss patches. The form (lists,
    labels, required fields) is stored in the package in Spanish and English. Import the filled
    package with 'cacao-screen reviews import'. See docs/review.md.
    """
    from ..job import run_field_pack

    chosen = tuple(s.strip() for s in statuses.split(",") if s.strip())
    unknown = [s for s in chosen if s not in STATUSES]
    if unknown or not chosen:
        raise click.BadParameter(
            fmt(
                _("unknown status(es) {unknown}; choose among {known}"),
                unknown=", ".join(unknown),
                known=", ".join(STATUSES),
            )
        )
    if group is not None and group_column is None:
        raise click.UsageError(_("--group needs --group-column (the column it is a value of, e.g. cooperative_id)"))
    result = run_field_pack(
        screening_path,
        out,
        statuses=chosen,
        group_column=group_column,
        group=group,
        producer_column=producer_column,
        overwrite=overwrite,
        invocation=invocation(ctx, None),
    )
    if not quiet(ctx):
        click.echo(
            tr(
                "Field-check package with {plots} plots and {patches} loss patches -> {path}",
                plots=result.plots,
                patches=result.patches,
                path=result.path,
            )
        )
    return 0
