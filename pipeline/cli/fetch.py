"""``cacao-screen fetch-tiles``: download the raster tiles that the plots need."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import click

from ..config import PlotsConfig, validate_model
from ..vocab import HANSEN_LAYERS
from .app import cli, progress_wanted, quiet, verbosity_options


@cli.command("fetch-tiles")
@click.option(
    "--plots",
    "plots_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Plots file: the tiles under these plots are fetched.",
)
@click.option("--layer", default=None, help="Layer of the plots file.")
@click.option(
    "--product",
    type=click.Choice(["hansen"]),
    default="hansen",
    show_default=True,
    help="The product whose tiles to fetch.",
)
@click.option(
    "--version", "version", default="GFC-2024-v1.12", show_default=True, help="The release, as in its file names."
)
@click.option(
    "--layers",
    default="lossyear,treecover2000",
    show_default=True,
    help="Comma-separated layers (lossyear, treecover2000, datamask, ...).",
)
@click.option(
    "--dest",
    type=click.Path(path_type=Path),
    default=Path("data/raw/hansen"),
    show_default=True,
    help="Folder to download into; files already there are kept.",
)
@click.option(
    "--base-url",
    default=None,
    help="Folder holding the releases.  [default: the University of Maryland's public bucket]",
)
@click.option(
    "--retries",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Retries per file (resuming where it stopped), with exponential back-off.",
)
@click.option("--dry-run", is_flag=True, help="Only list the tiles needed and whether they are present.")
@verbosity_options
@click.pass_context
def fetch_tiles(ctx, plots_path, layer, product, version, layers, dest, base_url, retries, dry_run):
    """Download the 10° tiles that the plots need, only the missing ones.

    Transfers resume where they stopped, are retried, checked against the size (and the MD5 the
    server publishes, where it does), and only appear under their final name when complete.
    Afterwards, point --loss-year and --tree-cover (or a config's datasets) at DEST.
    """
    from ..job import run_fetch_tiles

    wanted = [x.strip() for x in layers.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in HANSEN_LAYERS]
    if unknown:
        raise click.BadParameter(
            f"unknown layer(s) {', '.join(unknown)}; Hansen layers are {', '.join(HANSEN_LAYERS)}",
            param_hint="--layers",
        )
    if base_url is not None:
        url = urlparse(base_url)
        if url.scheme not in ("http", "https", "ftp", "file") or (url.scheme != "file" and not url.netloc):
            raise click.BadParameter(
                f"{base_url!r} is not a URL: give the address of the folder holding the releases, such as "
                "https://storage.googleapis.com/earthenginepartners-hansen (or file:///data/mirror for a local copy)",
                param_hint="--base-url",
            )
    plots = validate_model(PlotsConfig, {"path": plots_path, "layer": layer}, "command line")
    n_tiles, results = run_fetch_tiles(
        plots,
        version=version,
        layers=wanted,
        dest=dest,
        base_url=base_url,
        retries=retries,
        progress=progress_wanted(ctx),
        dry_run=dry_run,
    )
    if not quiet(ctx):
        for r in results:
            click.echo(f"{r.status:<11} {r.path}")
        n_new = sum(r.status == "downloaded" for r in results)
        click.echo(
            f"{n_tiles} tile(s), {len(results)} file(s): {n_new} downloaded, "
            f"{sum(r.status == 'present' for r in results)} already present"
            + (f", {sum(r.status == 'missing' for r in results)} missing" if dry_run else "")
        )
