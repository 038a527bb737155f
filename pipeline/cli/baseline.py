"""``cacao-screen baseline``: the baseline, groups, restoration rings, supply chain and status
changes from an existing screening."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import BaselineConfig, DatasetConfig, ExecutionConfig, set_dotted, validate_model
from .app import cli, invocation, progress_wanted, quiet, verbosity_options, wait_lock_option
from .options import BASELINE_OPTIONS, EXECUTION_OPTIONS, apply, given, screening_option

BASELINE_EPILOG = """\b
Figures per group: counts include every plot; forest and loss figures sum over assessed plots
(deforestation_free, review, deforestation_detected); shares are over all plots. See docs/baseline.md.
"""

_RINGS_HELP = "For --ring-m and the region totals, instead of the screening's own rasters: "


@cli.command(epilog=BASELINE_EPILOG)
@screening_option
@apply(BASELINE_OPTIONS)
@click.option(
    "--loss-year",
    "ring_loss_year",
    default=None,
    metavar="SPEC",
    help=f"{_RINGS_HELP}the loss-year raster (file, folder, glob or URL).",
)
@click.option(
    "--tree-cover",
    "ring_tree_cover",
    default=None,
    metavar="SPEC",
    help=f"{_RINGS_HELP}the tree-cover raster on its grid.",
)
@click.option(
    "--last-year",
    "ring_last_year",
    type=int,
    default=None,
    metavar="YEAR",
    help=f"{_RINGS_HELP}the last loss year of --loss-year.  [default: the screening's]",
)
@apply(EXECUTION_OPTIONS)
@click.option("--overwrite", is_flag=True, help="Replace the output if it exists.")
@wait_lock_option
@verbosity_options
@click.pass_context
def baseline(
    ctx: click.Context,
    screening: Path,
    ring_loss_year,
    ring_tree_cover,
    ring_last_year,
    overwrite: bool,
    wait_lock: float,
    **kwargs,
) -> None:
    """Baseline, groups, restoration candidates, supply chain and status changes from a screening.

    Reads --screening (no raster, except for --ring-m and the region totals) and writes the layers baseline_by_region,
    baseline_by_group, baseline_plots, restoration_rings, deliveries, lots, buyers and
    status_changes (those its options ask for) to --out.
    """
    from ..job import BaselineSources, run_baseline

    chosen = given(BASELINE_OPTIONS, kwargs)
    execution = given(EXECUTION_OPTIONS, kwargs)
    region_keys = {k for k in chosen if k.startswith("regions.")}
    if "regions.path" not in chosen and region_keys:
        raise click.UsageError("--region-layer, --region-id-column and --region-name-column need --regions")
    if "regions.path" in chosen and "regions.id_column" not in chosen:
        raise click.UsageError("--regions needs --region-id-column (e.g. IDDIST for Peru's districts)")
    if chosen.get("region_totals") and "regions.path" not in chosen:
        raise click.UsageError("--region-totals needs --regions")
    totals = "regions.path" in chosen and chosen.get("region_totals") is not False
    if "ring_m" not in chosen and not totals and (ring_loss_year or ring_tree_cover or ring_last_year):
        raise click.UsageError("--loss-year, --tree-cover and --last-year are for --ring-m and the region totals")
    if (ring_loss_year is None) != (ring_tree_cover is None):
        raise click.UsageError("give both --loss-year and --tree-cover (or neither: the screening's own)")
    if chosen.get("cooperative_column") == "":
        chosen["cooperative_column"] = None  # --cooperative-column "": no cooperative grouping
    if "deliveries.quantity_column" in chosen and "deliveries.path" not in chosen:
        del chosen["deliveries.quantity_column"]  # meaningless without deliveries, as it always was
    data: dict = {}
    for key, value in chosen.items():
        set_dotted(data, key, value)
    cfg = validate_model(BaselineConfig, data, "command line")
    rasters = None
    if ring_loss_year is not None:
        rasters = validate_model(
            DatasetConfig,
            {"kind": "hansen", "loss_year": ring_loss_year, "tree_cover": ring_tree_cover, "last_year": ring_last_year},
            "command line",
        )
    result = run_baseline(
        screening,
        cfg,
        overwrite=overwrite,
        sources=BaselineSources(rasters=rasters),
        execution=validate_model(ExecutionConfig, {k.split(".")[1]: v for k, v in execution.items()}, "command line"),
        progress=progress_wanted(ctx),
        invocation=invocation(ctx),
        wait_lock=wait_lock,
    )
    if not quiet(ctx):
        print_baseline_summary(result)


def print_baseline_summary(result) -> None:
    nat, ref = result.national, result.reference_year
    layers = result.layers
    click.echo(f"Baseline {result.period} (reference year {ref}) -> {result.path}")
    click.echo(
        f"  {int(nat['n_plots'])} plots, {int(nat['n_assessed'])} assessed; baseline mean annual loss "
        f"{nat['baseline_mean_annual_loss_ha']:.2f} ha/yr"
    )
    for col in [c for c in nat.index if c.startswith("change_")]:
        year = col.split("_")[1]
        change = nat[col]
        vs = "n/a (no baseline loss)" if change != change else f"{change:+.1f} % vs baseline"
        click.echo(f"  {year}: {nat[f'loss_{year}_ha']:.2f} ha lost, {vs}")
    click.echo(
        f"  deforestation-free: {nat['deforestation_free_plots_pct']:.1f} % of plots, "
        f"{nat['deforestation_free_area_pct']:.1f} % of their area"
    )
    click.echo(
        f"  restoration candidates: {nat['loss_before_ref_ha']:.2f} ha of forest lost up to {ref} inside plots"
        + (
            f", {nat['ring_loss_before_ref_ha']:.2f} ha within {result.metadata['ring_m']} m around them"
            if "ring_loss_before_ref_ha" in nat.index
            else ""
        )
    )
    if "baseline_by_region" in layers:
        t = layers["baseline_by_region"]
        un = t.loc[t["region_id"] == "unassigned", "n_plots"]
        held = (t["region_id"] != "unassigned") & (t["n_plots"] > 0)
        click.echo(
            f"  regions: {int(held.sum())} holding plots; "
            f"{int(un.iloc[0]) if len(un) else 0} plots unassigned  [layer baseline_by_region]"
        )
        if "region_baseline_mean_annual_loss_ha" in nat.index:
            share = nat["cocoa_share_of_baseline_loss_pct"]
            near = nat.get("near_cocoa_share_of_baseline_loss_pct")
            click.echo(
                f"  region totals ({int((t['region_id'] != 'unassigned').sum())} regions): "
                f"{nat['region_baseline_mean_annual_loss_ha']:.2f} ha/yr of forest lost over {result.period}, "
                + ("n/a in cocoa plots (no loss)" if share != share else f"{share:.1f} % of it in cocoa plots")
                + ("" if near is None or near != near else f", {near:.1f} % near them")
                + "  [baseline_by_region]"
            )
    g = layers["baseline_by_group"]
    for name, n in g[g["group_by"] != "all"].groupby("group_by", sort=False).size().items():
        click.echo(f"  by {name}: {n} groups  [layer baseline_by_group]")
    if "lots" in layers:
        lots = layers["lots"]
        unknown = result.metadata.get("unknown_plot_ids", "")
        click.echo(
            f"  lots: {len(lots)}, {int(lots['deforestation_free'].sum())} entirely from deforestation-free "
            f"plots  [layer lots]" + (f"; UNKNOWN plot_id(s): {unknown}" if unknown else "")
        )
    if "status_changes" in layers:
        c = layers["status_changes"]["change"].value_counts()
        click.echo(
            f"  since the previous screening: {int(c.get('status_changed', 0))} status changes, "
            + (f"{int(c.get('new_alerts', 0))} with new alerts, " if "new_alerts" in layers["status_changes"] else "")
            + f"{int(c.get('new', 0))} new, {int(c.get('gone', 0))} gone plots  [layer status_changes]"
            + (f"; new loss year(s): {', '.join(map(str, result.new_years))}" if result.new_years else "")
        )
    if "alerts_by_month" in layers:
        t = layers["alerts_by_month"]
        nat = t[t["group_by"] == "all"]
        click.echo(
            f"  alerts after the cut-off {result.metadata.get('cutoff_date', '')}: {nat['alert_ha'].sum():.2f} ha "
            f"in {nat['month'].nunique()} month(s) on assessed plots  [layer alerts_by_month]"
        )
