"""``cacao-screen sample``: write the deterministic synthetic sample."""

from __future__ import annotations

from pathlib import Path

import click

from ..i18n import tr
from .app import cli, progress_wanted, quiet, verbosity_options


@cli.command()
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=Path("data/sample"),
    show_default=True,
    help="Folder to write the sample into (replaced atomically).",
)
@click.option("--seed", type=int, default=None, help="Random seed.  [default: 20201231]")
@click.option(
    "--plots",
    "n_plots",
    type=click.IntRange(min=1),
    default=2000,
    show_default=True,
    help="Number of (normal) plots (at most 12,184: they are placed without overlap).",
)
@click.option("--overwrite", is_flag=True, help="Replace the folder if it already holds a sample.")
@verbosity_options
@click.pass_context
def sample(ctx, out, seed, n_plots, overwrite):
    """Generate the deterministic SYNTHETIC sample: Hansen-format rasters over San Martín, Peru, and plots.

    The data is made up (seeded random fields shaped like the real product); it exists so that the
    pipeline can be run and checked end to end without downloading anything.
    """
    from ..sample import DEFAULT_SEED, generate_sample, max_plots

    if n_plots > max_plots():
        raise click.BadParameter(
            tr(
                "{n:,} plots do not fit in the sample's window without overlapping: at most {most:,}",
                n=n_plots,
                most=max_plots(),
            ),
            param_hint="--plots",
        )
    from ..job.sample import sample_destination

    with sample_destination(out, overwrite) as publish:  # never a folder of the user's; under the lock
        paths = generate_sample(
            out,
            seed=DEFAULT_SEED if seed is None else seed,
            n_plots=n_plots,
            progress=progress_wanted(ctx),
            publish=publish,
        )
    if not quiet(ctx):
        click.echo(
            tr(
                "Synthetic sample written to {folder}: {plots}, {loss_year}, {tree_cover}",
                folder=paths.root,
                plots=paths.plots.name,
                loss_year=paths.loss_year.name,
                tree_cover=paths.tree_cover.name,
            )
        )
