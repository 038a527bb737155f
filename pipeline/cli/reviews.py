"""``cacao-screen reviews import``: the filled forms of a field-check package into the review log."""

from __future__ import annotations

from pathlib import Path

import click

from ..i18n import _, fmt
from ..vocab import EXIT_PLOT_ERRORS
from .app import cli, quiet, verbosity_options


@cli.group()
def reviews() -> None:
    """The review log of field checks (see docs/review.md)."""


@reviews.command("import")
@click.argument("pack", type=click.Path(path_type=Path))
@click.option(
    "--into",
    type=click.Path(path_type=Path),
    required=True,
    help="The review log (.gpkg) to append to; created when absent. Nothing in it is ever changed.",
)
@verbosity_options
@click.pass_context
def import_(ctx: click.Context, pack: Path, into: Path) -> int:
    """Append every filled form of PACK (a package of 'cacao-screen field-pack') to the review log.

    A form is refused, with its reason, when it carries an unknown plot id, no checker, no date,
    a date in the future or an unknown verdict: nothing of it is imported; the other forms are.
    Importing the same package twice adds nothing. Exit code 3 when some forms were refused.
    """
    from ..job import run_reviews_import

    result = run_reviews_import(pack, into)
    if not quiet(ctx):
        click.echo(
            fmt(
                _("{added} review(s) added to {log}; {already} already in it; {blank} form(s) left blank; "
                  "{refused} refused"),
                added=result.added, log=str(into), already=result.already, blank=result.blank,
                refused=len(result.refused),
            )
        )  # fmt: skip
    for r in result.refused.itertuples():  # refusals are shown even with -q
        click.echo(fmt(_("  refused: form {row} (plot {plot_id}): {reason}"), row=r.row, plot_id=r.plot_id,
                       reason=r.reason), err=True)  # fmt: skip
    return EXIT_PLOT_ERRORS if len(result.refused) else 0
