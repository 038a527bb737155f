"""``cacao-screen fetch-tiles``: download the raster tiles that the plots need."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlparse

import click

from ..config import ALERT_PRESETS, PlotsConfig, validate_model
from ..i18n import tr
from ..vocab import HANSEN_LAYERS
from .app import cli, progress_wanted, quiet, verbosity_options

HANSEN_VERSION = "GFC-2024-v1.12"
GFC2020_VERSION = "V3"
#: The environment variable holding a Global Forest Watch Data API key.
GFW_KEY_VARIABLE = "GFW_DATA_API_KEY"


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
    type=click.Choice(["hansen", "gfc2020", *ALERT_PRESETS]),
    default="hansen",
    show_default=True,
    help="The product whose tiles to fetch: Hansen GFC, the EU's forest map of 2020 (gfc2020: JRC's "
    "JRC_GFC2020_V3_S10_W80.tif..., for a dataset of kind forest_cover), or an alert product from Global Forest "
    "Watch's Data API (its date_conf tiles; read them with the alert encoding of the same name).",
)
@click.option(
    "--version",
    "version",
    default=None,
    help=f"The release, as in its file names (Hansen, GFC2020: V3), or the GFW dataset version (v20251020, latest: "
    f"downloaded again on every run).  [default: {HANSEN_VERSION} for hansen, V3 for gfc2020, latest for alerts]",
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
    default=None,
    help="Folder to download into; files already there are kept (but for version latest).  "
    "[default: data/raw/<product>]",
)
@click.option(
    "--base-url",
    default=None,
    help="Folder holding the Hansen releases or GFC2020's tiles, or GFW's Data API.  [default: the University of "
    "Maryland's public bucket; the JRC's open-data folder; https://data-api.globalforestwatch.org]",
)
@click.option(
    "--url-template",
    default=None,
    metavar="URL",
    help="Fetch any product tiled in 10° tiles from this address, {tile} standing for the tile's name "
    "(10S_080W), e.g. https://example.org/alerts/alerts_{tile}.tif; the file keeps the URL's file name.",
)
@click.option(
    "--api-key",
    default=None,
    help=f"Key for GFW's Data API, sent as x-api-key (GFW issues keys to registered users).  "
    f"[default: ${GFW_KEY_VARIABLE}]",
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
def fetch_tiles(
    ctx, plots_path, layer, product, version, layers, dest, base_url, url_template, api_key, retries, dry_run
):
    """Download the 10° tiles that the plots need, only the missing ones.

    Transfers resume where they stopped, are retried, checked against the size (and the MD5 the
    server publishes, where it does), and only appear under their final name when complete.
    Afterwards, point --loss-year and --tree-cover (or a config's datasets) at DEST; for alerts,
    --alerts DEST (gfw_integrated) or a dataset of kind alerts with the product's encoding.
    """
    from ..job import TileRequest, run_fetch_tiles

    wanted = [x.strip() for x in layers.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in HANSEN_LAYERS]
    if unknown:
        raise click.BadParameter(
            f"unknown layer(s) {', '.join(unknown)}; Hansen layers are {', '.join(HANSEN_LAYERS)}",
            param_hint="--layers",
        )
    for option, value in (("--base-url", base_url), ("--url-template", url_template)):
        if value is None:
            continue
        url = urlparse(value)
        if url.scheme not in ("http", "https", "ftp", "file") or (url.scheme != "file" and not url.netloc):
            raise click.BadParameter(
                f"{value!r} is not a URL: give an address such as "
                "https://storage.googleapis.com/earthenginepartners-hansen (or file:///data/mirror for a local copy)",
                param_hint=option,
            )
    if url_template is not None and "{tile}" not in url_template:
        raise click.BadParameter("the template must name the tile with {tile}", param_hint="--url-template")
    if url_template is not None and product == "hansen":
        product = "url"  # the template is the product
    if product == "gfc2020":
        version = version or GFC2020_VERSION
    if version is None:
        version = HANSEN_VERSION if product == "hansen" else "latest"
    if dest is None:
        dest = Path("data/raw") / product
    plots = validate_model(PlotsConfig, {"path": plots_path, "layer": layer}, "command line")
    request = TileRequest(
        version=version,
        layers=tuple(wanted),
        product=product,
        base_url=base_url,
        api_key=api_key or os.environ.get(GFW_KEY_VARIABLE) or None,
        url_template=url_template,
    )
    n_tiles, results = run_fetch_tiles(
        plots, request, dest=dest, retries=retries, progress=progress_wanted(ctx), dry_run=dry_run
    )
    if not quiet(ctx):
        for r in results:
            click.echo(f"{r.status:<11} {r.path}")
        counts = dict(
            tiles=n_tiles,
            files=len(results),
            new=sum(r.status == "downloaded" for r in results),
            present=sum(r.status == "present" for r in results),
        )
        if dry_run:
            text = tr(
                "{tiles} tile(s), {files} file(s): {new} downloaded, {present} already present, {missing} missing",
                missing=sum(r.status == "missing" for r in results),
                **counts,
            )
        else:
            text = tr("{tiles} tile(s), {files} file(s): {new} downloaded, {present} already present", **counts)
        click.echo(text)
