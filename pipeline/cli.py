"""The ``cacao-screen`` command line: argument parsing, logging, exit codes. No computation here.

Exit codes: 0 success; 2 bad usage or unusable input (the message names the file and the
problem); 1 any other failure; 3 (``validate`` only) some plots have errors.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

from . import __version__
from .errors import CacaoScreenError

log = logging.getLogger("pipeline")

SCREEN_HELP_EPILOG = """\b
Status values:
  deforestation_free      no forest loss after the reference year
  review                  some loss after it, at most --review-max-ha (check imagery)
  deforestation_detected  more loss than that
  not_assessed            less than --min-data-coverage-pct of the plot over valid data
  invalid                 the geometry cannot be screened (see status_reason)
"""


def _setup_logging(verbose: int, quiet: bool) -> None:
    level = logging.ERROR if quiet else (logging.WARNING, logging.INFO, logging.DEBUG)[min(verbose, 2)]
    logging.basicConfig(level=level, format="%(levelname)s: %(message)s", stream=sys.stderr)
    logging.getLogger("pipeline").setLevel(level)


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, "--version", prog_name="cacao-screen")
@click.option("-v", "--verbose", count=True, help="More messages (-vv for debugging, with tracebacks).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors; no progress bar, no summary.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool) -> None:
    """Screen cocoa plots for deforestation after a reference year (EUDR: 2020).

    For every plot, cacao-screen measures exactly — the fraction of each pixel inside the plot times
    the pixel's area on the WGS84 ellipsoid — how much was forest in 2000 and how much forest was
    lost each year, then flags the plot deforestation_free, review, deforestation_detected,
    not_assessed or invalid. Results go to a GeoPackage you can open in QGIS.

    \b
    Quick start (synthetic sample):
      cacao-screen sample --out data/sample
      cacao-screen run --config configs/sample.yaml
    """
    ctx.ensure_object(dict)
    ctx.obj["verbose"] = verbose
    ctx.obj["quiet"] = quiet
    _setup_logging(verbose, quiet)


def _verbosity_callback(ctx: click.Context, param: click.Parameter, value):
    """-v/-q given after the command name work as they do before it."""
    root = ctx.find_root()
    root.ensure_object(dict)
    if param.name == "verbose" and value:
        root.obj["verbose"] = root.obj.get("verbose", 0) + value
    elif param.name == "quiet" and value:
        root.obj["quiet"] = True
    if value:
        _setup_logging(root.obj.get("verbose", 0), root.obj.get("quiet", False))
    return value


def verbosity_options(f):
    f = click.option("-q", "--quiet", is_flag=True, expose_value=False, callback=_verbosity_callback,
                     help="Only errors; no progress bar, no summary.")(f)
    f = click.option("-v", "--verbose", count=True, expose_value=False, callback=_verbosity_callback,
                     help="More messages (-vv for debugging).")(f)
    return f


def _progress(ctx: click.Context) -> bool:
    return not ctx.find_root().obj.get("quiet") and sys.stderr.isatty()


def _print_summary(result, out_path: Path, reference_year: int) -> None:
    s = result.summary()
    n = int(s.loc["total", "plots"])
    click.echo(f"Screened {n} plots -> {out_path}")
    click.echo(f"{'status':<24}{'plots':>8}{'area (ha)':>14}{f'loss after {reference_year} (ha)':>26}")
    for status, row in s.iterrows():
        if status == "total":
            click.echo("-" * 72)
        click.echo(f"{status:<24}{int(row['plots']):>8}{row['area_ha']:>14.2f}{row['loss_after_ref_ha']:>26.2f}")
    if result.reused:
        click.echo(f"Incremental: {result.reused} unchanged plots reused, {n - result.reused} screened")
    issues = result.issues
    if len(issues):
        counts = issues.groupby(["severity", "code"]).size()
        click.echo("Quality control: " + ", ".join(f"{code} ({sev}) x{k}" for (sev, code), k in counts.items())
                   + "  [layer plot_issues]")


def _run_config(ctx: click.Context, cfg) -> None:
    from .workflow import run

    result = run(cfg, progress=_progress(ctx))
    if not ctx.find_root().obj.get("quiet"):
        _print_summary(result, cfg.output.path, cfg.screening.reference_year)
        if result.baseline is not None:
            _print_baseline_summary(result.baseline)


_common_options = [
    click.option("--reference-year", type=int, default=None,
                 help="Loss after the end of this year counts as deforestation.  [default: 2020]"),
    click.option("--canopy-threshold", type=float, default=None,
                 help="Forest = tree cover in 2000 above this percentage.  [default: 10]"),
    click.option("--review-max-ha", type=float, default=None,
                 help="Loss after the reference year up to this many hectares gives 'review' "
                      "rather than 'deforestation_detected'.  [default: 0.1]"),
    click.option("--min-data-coverage-pct", type=float, default=None,
                 help="Plots with less of their area over valid pixels are 'not_assessed'.  [default: 99]"),
    click.option("--last-year", type=int, default=None,
                 help="Last loss year of the product.  [default: from Hansen file names (GFC-2024-v1.12: "
                      "2024), else 2024]"),
    click.option("--workers", type=click.IntRange(min=1), default=None,
                 help="Processes (or threads) to use.  [default: all cores for 20,000 plots or more, else 1]"),
    click.option("--scheduler", default=None, metavar="local|threads|ADDRESS",
                 help="Where partitions run: threads of this process, local processes, or a Dask cluster "
                      "given by its scheduler's address (tcp://host:8786; needs cacao-screen[dask]).  "
                      "[default: threads]"),
    click.option("--overwrite", is_flag=True, default=None, help="Replace the output if it exists."),
    click.option("--incremental", is_flag=True, default=None,
                 help="Reuse the figures of plots unchanged since the existing output (same geometry, "
                      "parameters and raster files) and replace it; only new or changed plots are computed."),
]


def common_options(f):
    for opt in reversed(_common_options):
        f = opt(f)
    return verbosity_options(f)


_crs_option = click.option(
    "--crs", default=None, help="CRS of a plots file that has none (a CSV, a Shapefile without .prj), "
                                "e.g. EPSG:4326 for GPS longitude/latitude. A file declaring another CRS is refused.")
_swap_option = click.option(
    "--fix-swapped-coordinates", is_flag=True, default=None,
    help="Swap back longitude and latitude where they look swapped (flagged suspect_swapped_coordinates otherwise).")
_table_options = [
    click.option("--wkt-column", default=None, help="CSV/Parquet: column of WKT geometries.  [default: wkt, geometry...]"),
    click.option("--lat-column", default=None, help="CSV/Parquet: latitude column.  [default: latitude, lat, y...]"),
    click.option("--lon-column", default=None, help="CSV/Parquet: longitude column.  [default: longitude, lon, lng, x...]"),
]


def plot_input_options(f):
    """How to read the plots file: --crs, the CSV geometry columns, --fix-swapped-coordinates."""
    for opt in reversed([_crs_option, *_table_options, _swap_option]):
        f = opt(f)
    return f


def plot_override_options(f):
    """``run``: --crs and --fix-swapped-coordinates override the config file."""
    return _crs_option(_swap_option(f))


@cli.command(epilog=SCREEN_HELP_EPILOG)
@click.option("--plots", "plots_path", required=True, type=click.Path(path_type=Path),
              help="Plots file: GeoPackage, GeoJSON, Shapefile (or .zip), CSV, GeoParquet (any CRS; screened in EPSG:4326).")
@click.option("--layer", default=None, help="Layer of the plots file.  [default: 'plots' if present, else the first]")
@click.option("--id-column", default="plot_id", show_default=True, help="Column holding the plot ids.")
@click.option("--loss-year", required=True,
              help="Hansen lossyear (0 = no loss, k = loss in 2000+k): a file, a folder of tiles, a quoted "
                   "glob such as 'tiles/*lossyear*.tif', or a URL.")
@click.option("--tree-cover", required=True,
              help="Hansen treecover2000 (canopy %, 0-100) on the loss-year grid: file, folder, glob or URL.")
@click.option("--datamask", default=None,
              help="Optional Hansen datamask (0 = no data, 1 = land, 2 = water; water is never forest).")
@click.option("--out", type=click.Path(path_type=Path), default=Path("outputs/screening.gpkg"), show_default=True,
              help="GeoPackage to write (written atomically).")
@plot_input_options
@common_options
@click.pass_context
def screen(ctx, plots_path, layer, id_column, loss_year, tree_cover, datamask, out, reference_year,
           canopy_threshold, review_max_ha, min_data_coverage_pct, last_year, workers, scheduler, overwrite,
           incremental, crs=None, wkt_column=None, lat_column=None, lon_column=None, fix_swapped_coordinates=None):
    """Screen the plots in --plots against a loss-year and a tree-cover raster."""
    from .config import build_config

    screening = {k: v for k, v in dict(reference_year=reference_year, canopy_threshold=canopy_threshold,
                                       review_max_ha=review_max_ha,
                                       min_data_coverage_pct=min_data_coverage_pct).items() if v is not None}
    rasters = {"loss_year": loss_year, "tree_cover": tree_cover, "datamask": datamask}
    if last_year is not None:
        rasters["last_year"] = last_year
    cfg = build_config({
        "plots": {"path": plots_path, "layer": layer, "id_column": id_column, "crs": crs, "wkt_column": wkt_column,
                  "lat_column": lat_column, "lon_column": lon_column},
        "rasters": rasters,
        "screening": screening,
        "qc": {"fix_swapped_coordinates": bool(fix_swapped_coordinates)},
        "output": {"path": out, "overwrite": bool(overwrite), "incremental": bool(incremental)},
        "workers": workers,
        **({"scheduler": scheduler} if scheduler is not None else {}),
    }, "command line")
    _run_config(ctx, cfg)


@cli.command(epilog=SCREEN_HELP_EPILOG)
@click.option("--config", "config_path", required=True, type=click.Path(path_type=Path),
              help="YAML configuration (see configs/sample.yaml); relative paths in it are relative to it.")
@click.option("--out", type=click.Path(path_type=Path), default=None, help="Override output.path.")
@plot_override_options
@common_options
@click.pass_context
def run(ctx, config_path, out, reference_year, canopy_threshold, review_max_ha, min_data_coverage_pct, last_year,
        workers, scheduler, overwrite, incremental, crs=None, fix_swapped_coordinates=None):
    """Run a screening job described by a YAML config; flags override the file."""
    from .config import load_config

    cfg = load_config(config_path, {
        "screening.reference_year": reference_year,
        "screening.canopy_threshold": canopy_threshold,
        "screening.review_max_ha": review_max_ha,
        "screening.min_data_coverage_pct": min_data_coverage_pct,
        "rasters.last_year": last_year,
        "output.path": str(out.absolute()) if out is not None else None,
        "output.overwrite": overwrite,
        "output.incremental": incremental,
        "workers": workers,
        "scheduler": scheduler,
        "plots.crs": crs,
        "qc.fix_swapped_coordinates": fix_swapped_coordinates,
    })
    _run_config(ctx, cfg)


@cli.command()
@click.option("--out", type=click.Path(path_type=Path), default=Path("data/sample"), show_default=True,
              help="Folder to write the sample into (replaced atomically).")
@click.option("--seed", type=int, default=None, help="Random seed.  [default: 20201231]")
@click.option("--plots", "n_plots", type=click.IntRange(min=1), default=2000, show_default=True,
              help="Number of (normal) plots.")
@click.option("--overwrite", is_flag=True, help="Replace the folder if it already holds a sample.")
@verbosity_options
@click.pass_context
def sample(ctx, out, seed, n_plots, overwrite):
    """Generate the deterministic SYNTHETIC sample: Hansen-format rasters over San Martín, Peru, and plots.

    The data is made up (seeded random fields shaped like the real product); it exists so that the
    pipeline can be run and checked end to end without downloading anything.
    """
    from .errors import OutputError
    from .sample import DEFAULT_SEED, generate_sample

    if out.exists() and any(out.iterdir()) and not overwrite:
        raise OutputError(f"{out}: folder exists and is not empty; pass --overwrite to replace it")
    paths = generate_sample(out, seed=DEFAULT_SEED if seed is None else seed, n_plots=n_plots,
                            progress=_progress(ctx))
    if not ctx.find_root().obj.get("quiet"):
        click.echo(f"Synthetic sample written to {paths.root}: {paths.plots.name}, {paths.loss_year.name}, "
                   f"{paths.tree_cover.name}")


@cli.command("fetch-tiles")
@click.option("--plots", "plots_path", required=True, type=click.Path(path_type=Path),
              help="Plots file: the tiles under these plots are fetched.")
@click.option("--layer", default=None, help="Layer of the plots file.")
@click.option("--product", type=click.Choice(["hansen"]), default="hansen", show_default=True,
              help="The product whose tiles to fetch.")
@click.option("--version", "version", default="GFC-2024-v1.12", show_default=True,
              help="The release, as in its file names.")
@click.option("--layers", default="lossyear,treecover2000", show_default=True,
              help="Comma-separated layers (lossyear, treecover2000, datamask, ...).")
@click.option("--dest", type=click.Path(path_type=Path), default=Path("data/raw/hansen"), show_default=True,
              help="Folder to download into; files already there are kept.")
@click.option("--base-url", default=None,
              help="Folder holding the releases.  [default: the University of Maryland's public bucket]")
@click.option("--retries", type=click.IntRange(min=0), default=5, show_default=True,
              help="Retries per file (resuming where it stopped), with exponential back-off.")
@click.option("--dry-run", is_flag=True, help="Only list the tiles needed and whether they are present.")
@verbosity_options
@click.pass_context
def fetch_tiles(ctx, plots_path, layer, product, version, layers, dest, base_url, retries, dry_run):
    """Download the 10° tiles that the plots need, only the missing ones.

    Transfers resume where they stopped, are retried, checked against the size (and the MD5 the
    server publishes, where it does), and only appear under their final name when complete.
    Afterwards, point --loss-year and --tree-cover (or a config's datasets) at DEST.
    """
    import shapely

    from .fetch import fetch_hansen_tiles
    from .plots import read_plots
    from .tiles import HANSEN_LAYERS, tiles_for_bounds

    wanted = [x.strip() for x in layers.split(",") if x.strip()]
    unknown = [x for x in wanted if x not in HANSEN_LAYERS]
    if unknown:
        raise click.BadParameter(f"unknown layer(s) {', '.join(unknown)}; Hansen layers are "
                                 f"{', '.join(HANSEN_LAYERS)}", param_hint="--layers")
    plots = read_plots(plots_path, layer=layer)
    geoms = plots.geometry.to_numpy()
    bounds = shapely.bounds(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
    results = fetch_hansen_tiles(bounds, version=version, layers=wanted, dest=dest, base_url=base_url,
                                 retries=retries, progress=_progress(ctx), dry_run=dry_run)
    if not ctx.find_root().obj.get("quiet"):
        for r in results:
            click.echo(f"{r.status:<11} {r.path}")
        n_new = sum(r.status == "downloaded" for r in results)
        click.echo(f"{len(tiles_for_bounds(bounds))} tile(s), {len(results)} file(s): {n_new} downloaded, "
                   f"{sum(r.status == 'present' for r in results)} already present"
                   + (f", {sum(r.status == 'missing' for r in results)} missing" if dry_run else ""))


BASELINE_EPILOG = """\b
Figures per group: counts include every plot; forest and loss figures sum over assessed plots
(deforestation_free, review, deforestation_detected); shares are over all plots. See README.
"""


@cli.command(epilog=BASELINE_EPILOG)
@click.option("--screening", required=True, type=click.Path(path_type=Path),
              help="A screening.gpkg written by `cacao-screen screen` or `run`.")
@click.option("--out", type=click.Path(path_type=Path), default=Path("outputs/baseline.gpkg"), show_default=True,
              help="GeoPackage to write (atomically); CSV copies go to <name>_csv/ beside it.")
@click.option("--baseline-start", type=int, default=None,
              help="First year of the baseline period.  [default: 9 years before its last year]")
@click.option("--baseline-end", type=int, default=None,
              help="Last year of the baseline period.  [default: the reference year]")
@click.option("--regions", "regions_path", type=click.Path(path_type=Path), default=None,
              help="Administrative boundaries (GeoPackage, GeoJSON, Shapefile); each plot goes to the region "
                   "holding most of its area.")
@click.option("--region-layer", default=None, help="Layer of the boundaries file.  [default: the first]")
@click.option("--region-id-column", default=None, help="Column holding the region code, e.g. IDDIST (ubigeo).")
@click.option("--region-name-column", default=None, help="Column holding the region name, e.g. NOMBDIST.")
@click.option("--cooperative-column", default="cooperative_id", show_default=True,
              help="Plots column naming the cooperative (grouped by when present).")
@click.option("--group-by", multiple=True,
              help="Also group by this plots column; repeat for more groupings; 'a,b' groups by both at once.")
@click.option("--deliveries", "deliveries_path", type=click.Path(path_type=Path), default=None,
              help="Deliveries CSV: lot_id, plot_id, quantity[, buyer][, date].")
@click.option("--quantity-column", default="quantity", show_default=True,
              help="Column of the deliveries CSV holding the quantity.")
@click.option("--previous", type=click.Path(path_type=Path), default=None,
              help="An earlier screening.gpkg: list the plots whose status changed since.")
@click.option("--ring-m", type=click.FloatRange(min=0, min_open=True, max=10_000), default=None,
              help="Measure forest loss up to the reference year in a ring this many metres wide around each plot.")
@click.option("--loss-year", type=click.Path(path_type=Path), default=None,
              help="Loss-year raster for --ring-m.  [default: the one the screening used]")
@click.option("--tree-cover", type=click.Path(path_type=Path), default=None,
              help="Tree-cover raster for --ring-m.  [default: the one the screening used]")
@click.option("--last-year", type=int, default=None,
              help="Last loss year of the --loss-year product.  [default: the screening's]")
@click.option("--workers", type=click.IntRange(min=1), default=None, help="Processes for --ring-m.")
@click.option("--overwrite", is_flag=True, help="Replace the output if it exists.")
@verbosity_options
@click.pass_context
def baseline(ctx, screening, out, baseline_start, baseline_end, regions_path, region_layer, region_id_column,
             region_name_column, cooperative_column, group_by, deliveries_path, quantity_column, previous, ring_m,
             loss_year, tree_cover, last_year, workers, overwrite):
    """Baseline, groups, restoration candidates, supply chain and status changes from a screening.

    Reads --screening (no raster, except for --ring-m) and writes the layers baseline_by_region,
    baseline_by_group, baseline_plots, restoration_rings, deliveries, lots, buyers and
    status_changes (those its options ask for) to --out.
    """
    from .baseline_io import RingRasters, run_baseline
    from .config import BaselineConfig, format_validation_error
    from .errors import ConfigError
    from pydantic import ValidationError

    if regions_path is None and (region_layer or region_id_column or region_name_column):
        raise click.UsageError("--region-layer, --region-id-column and --region-name-column need --regions")
    if regions_path is not None and not region_id_column:
        raise click.UsageError("--regions needs --region-id-column (e.g. IDDIST for Peru's districts)")
    if ring_m is None and (loss_year or tree_cover or last_year):
        raise click.UsageError("--loss-year, --tree-cover and --last-year are for --ring-m")
    if (loss_year is None) != (tree_cover is None):
        raise click.UsageError("give both --loss-year and --tree-cover (or neither: the screening's own)")
    data = {
        "output": out, "start_year": baseline_start, "end_year": baseline_end,
        "cooperative_column": cooperative_column or None, "group_by": list(group_by),
        "ring_m": ring_m, "previous": previous,
        "regions": {"path": regions_path, "layer": region_layer, "id_column": region_id_column,
                    "name_column": region_name_column} if regions_path is not None else None,
        "deliveries": {"path": deliveries_path, "quantity_column": quantity_column}
        if deliveries_path is not None else None,
    }
    try:
        cfg = BaselineConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "command line")) from exc
    rasters = RingRasters(loss_year, tree_cover, last_year) if loss_year is not None else None
    result = run_baseline(screening, cfg, rasters=rasters, overwrite=overwrite, workers=workers,
                          progress=_progress(ctx))
    if not ctx.find_root().obj.get("quiet"):
        _print_baseline_summary(result)


def _print_baseline_summary(result) -> None:
    nat, ref = result.national, result.reference_year
    layers = result.layers
    click.echo(f"Baseline {result.period} (reference year {ref}) -> {result.path}")
    click.echo(f"  {int(nat['n_plots'])} plots, {int(nat['n_assessed'])} assessed; baseline mean annual loss "
               f"{nat['baseline_mean_annual_loss_ha']:.2f} ha/yr")
    for col in [c for c in nat.index if c.startswith("change_")]:
        year = col.split("_")[1]
        change = nat[col]
        vs = "n/a (no baseline loss)" if change != change else f"{change:+.1f} % vs baseline"
        click.echo(f"  {year}: {nat[f'loss_{year}_ha']:.2f} ha lost, {vs}")
    click.echo(f"  deforestation-free: {nat['deforestation_free_plots_pct']:.1f} % of plots, "
               f"{nat['deforestation_free_area_pct']:.1f} % of their area")
    click.echo(f"  restoration candidates: {nat['loss_before_ref_ha']:.2f} ha of forest lost up to {ref} inside plots"
               + (f", {nat['ring_loss_before_ref_ha']:.2f} ha within {result.metadata['ring_m']} m around them"
                  if "ring_loss_before_ref_ha" in nat.index else ""))
    if "baseline_by_region" in layers:
        t = layers["baseline_by_region"]
        un = t.loc[t["region_id"] == "unassigned", "n_plots"]
        click.echo(f"  regions: {int((t['region_id'] != 'unassigned').sum())} holding plots; "
                   f"{int(un.iloc[0]) if len(un) else 0} plots unassigned  [layer baseline_by_region]")
    g = layers["baseline_by_group"]
    for name, n in g[g["group_by"] != "all"].groupby("group_by", sort=False).size().items():
        click.echo(f"  by {name}: {n} groups  [layer baseline_by_group]")
    if "lots" in layers:
        lots = layers["lots"]
        unknown = result.metadata.get("unknown_plot_ids", "")
        click.echo(f"  lots: {len(lots)}, {int(lots['deforestation_free'].sum())} entirely from deforestation-free "
                   f"plots  [layer lots]" + (f"; UNKNOWN plot_id(s): {unknown}" if unknown else ""))
    if "status_changes" in layers:
        c = layers["status_changes"]["change"].value_counts()
        click.echo(f"  since the previous screening: {int(c.get('status_changed', 0))} status changes, "
                   f"{int(c.get('new', 0))} new, {int(c.get('gone', 0))} gone plots  [layer status_changes]"
                   + (f"; new loss year(s): {', '.join(map(str, result.new_years))}" if result.new_years else ""))


VALIDATE_HELP_EPILOG = """\b
Exit codes:
  0  no plot has an error (warnings and notes allowed)
  3  some plots have errors: screening would mark them 'invalid'
  2  bad usage or unusable input (unreadable file, no CRS, bad option...)
  1  any other failure
"""


@cli.command(epilog=VALIDATE_HELP_EPILOG)
@click.argument("plots_path", metavar="[PLOTS]", required=False, type=click.Path(path_type=Path))
@click.option("--config", "config_path", type=click.Path(path_type=Path), default=None,
              help="Take the plots file, its reading settings and the qc settings from a job config; "
                   "flags override it.")
@click.option("--layer", default=None, help="Layer of the plots file.  [default: 'plots' if present, else the first]")
@click.option("--id-column", default=None, help="Column holding the plot ids.  [default: plot_id]")
@plot_input_options
@click.option("--bounds", nargs=4, type=float, default=None, metavar="MINX MINY MAXX MAXY",
              help="Extent the plots should lie in (e.g. the rasters', lon/lat): a plot outside it that would lie "
                   "inside with longitude and latitude swapped is flagged.")
@click.option("--max-area-ha", type=float, default=None, help="Flag plots larger than this.  [default: 100]")
@click.option("--area-tolerance-pct", type=float, default=None,
              help="Flag declared areas this far from the computed one.  [default: 10]")
@click.option("--point-default-area-ha", type=float, default=None,
              help="Circle area for a point without declared area.  [default: 4]")
@click.option("--overlap-min-share", type=float, default=None,
              help="Flag overlaps of at least this share of the smaller plot.  [default: 0.1]")
@click.option("--min-decimals", type=int, default=None, help="Coordinate decimals asked for.  [default: 6]")
@click.option("--no-repair", is_flag=True, default=None, help="Do not repair invalid polygons: report them as errors.")
@click.option("--out", type=click.Path(path_type=Path), default=None,
              help="Write the findings: .gpkg (plots with qc columns, plot_issues) or .csv (the issues).")
@click.option("--overwrite", is_flag=True, default=False, help="Replace the output if it exists.")
@verbosity_options
@click.pass_context
def validate(ctx, plots_path, config_path, layer, id_column, crs, wkt_column, lat_column, lon_column,
             fix_swapped_coordinates, bounds, max_area_ha, area_tolerance_pct, point_default_area_ha,
             overlap_min_share, min_decimals, no_repair, out, overwrite):
    """Check the geometries of a plots file without screening it (no rasters needed).

    Prints the issues by code and severity, writes them with --out, and exits 3 when some plots
    have errors (they would not be screened). See the README for every issue code.
    """
    from .config import QCConfig, format_validation_error, load_config
    from .errors import ConfigError, OutputError
    from .outputs import check_target
    from .plots import read_plots
    from .qc import QCParams
    from .validate import EXIT_PLOT_ERRORS, format_summary, validate_plots, write_validation
    from pydantic import ValidationError

    plots_cfg: dict = {}
    qc_cfg: dict = {}
    if config_path is not None:
        cfg = load_config(config_path)
        plots_cfg = cfg.plots.model_dump()
        qc_cfg = cfg.qc.model_dump()
    elif plots_path is None:
        raise click.UsageError("give a plots file (PLOTS) or a job config (--config)")
    given = dict(path=plots_path, layer=layer, id_column=id_column, crs=crs, wkt_column=wkt_column,
                 lat_column=lat_column, lon_column=lon_column)
    plots_cfg.update({k: v for k, v in given.items() if v is not None})
    flags = dict(max_area_ha=max_area_ha, area_tolerance_pct=area_tolerance_pct,
                 point_default_area_ha=point_default_area_ha, overlap_min_share=overlap_min_share,
                 min_decimals=min_decimals, fix_swapped_coordinates=fix_swapped_coordinates,
                 repair_invalid=False if no_repair else None)
    qc_cfg.update({k: v for k, v in flags.items() if v is not None})
    try:
        qc = QCConfig.model_validate(qc_cfg)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, "command line").replace("(top level)", "qc")) from exc
    if out is not None:
        if out.suffix.lower() not in (".gpkg", ".csv"):
            raise OutputError(f"{out}: the issues are written as .gpkg or .csv; choose one of these extensions")
        check_target(out, overwrite)
    id_col = plots_cfg.get("id_column") or "plot_id"
    plots = read_plots(plots_cfg["path"], layer=plots_cfg.get("layer"), id_column=id_col,
                       id_column_required=id_col != "plot_id", crs=plots_cfg.get("crs"),
                       wkt_column=plots_cfg.get("wkt_column"), lat_column=plots_cfg.get("lat_column"),
                       lon_column=plots_cfg.get("lon_column"))
    result = validate_plots(plots, QCParams.from_config(qc), coverage_bounds=tuple(bounds) if bounds else None)
    result.metadata = {"generator": f"cacao-screen {__version__} validate", "plots_path": str(Path(plots_cfg["path"]).resolve()),
                       "plots_crs": str(plots.attrs.get("source_crs", "")), "plots_in": str(len(plots)),
                       "plots_out": str(len(result.plots)), **{f"qc_{k}": str(v) for k, v in qc.model_dump().items()}}
    if out is not None:
        write_validation(out, result, overwrite=overwrite)
    if not ctx.find_root().obj.get("quiet"):
        click.echo(format_summary(result, str(plots_cfg["path"])))
        if out is not None:
            click.echo(f"Findings written to {out}")
    return EXIT_PLOT_ERRORS if result.counts["error"] else 0


def main(argv: list[str] | None = None) -> int:
    """Console entry point; returns the exit code."""
    from .memory import tune_allocator

    tune_allocator()
    try:
        rv = cli.main(args=argv, prog_name="cacao-screen", standalone_mode=False)
        return rv if isinstance(rv, int) else 0
    except click.exceptions.Exit as exc:
        return exc.exit_code
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("Aborted.", err=True)
        return 130
    except CacaoScreenError as exc:
        if log.isEnabledFor(logging.DEBUG):
            log.exception("details")
        click.echo(f"cacao-screen: error: {exc}", err=True)
        return exc.exit_code
    except KeyboardInterrupt:
        click.echo("Interrupted; no output was written.", err=True)
        return 130
    except Exception as exc:  # noqa: BLE001 - the last line of defence: one clear line, exit 1
        if log.isEnabledFor(logging.DEBUG):
            log.exception("unexpected error")
        click.echo(f"cacao-screen: unexpected error: {type(exc).__name__}: {exc} (rerun with -vv for details)", err=True)
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
