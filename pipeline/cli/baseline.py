"""``cacao-screen baseline``: the baseline, groups, restoration rings, supply chain and status
changes from an existing screening."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import BaselineConfig, DatasetConfig, ExecutionConfig, set_dotted, validate_model
from ..i18n import tr
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
    click.echo(
        tr("Baseline {period} (reference year {year}) -> {path}", period=result.period, year=ref, path=result.path)
    )
    click.echo(
        tr(
            "  {plots} plots, {assessed} assessed; baseline mean annual loss {loss:.2f} ha/yr",
            plots=int(nat["n_plots"]),
            assessed=int(nat["n_assessed"]),
            loss=nat["baseline_mean_annual_loss_ha"],
        )
    )
    for col in [c for c in nat.index if c.startswith("change_")]:
        year, change, lost = col.split("_")[1], nat[col], nat[f"loss_{col.split('_')[1]}_ha"]
        if change != change:
            click.echo(tr("  {year}: {loss:.2f} ha lost, n/a (no baseline loss)", year=year, loss=lost))
        else:
            click.echo(
                tr("  {year}: {loss:.2f} ha lost, {change:+.1f} % vs baseline", year=year, loss=lost, change=change)
            )
    click.echo(
        tr(
            "  deforestation-free: {plots_pct:.1f} % of plots, {area_pct:.1f} % of their area",
            plots_pct=nat["deforestation_free_plots_pct"],
            area_pct=nat["deforestation_free_area_pct"],
        )
    )
    restoration = dict(loss=nat["loss_before_ref_ha"], year=ref)
    if "ring_loss_before_ref_ha" in nat.index:
        text = tr(
            "  restoration candidates: {loss:.2f} ha of forest lost up to {year} inside plots, {ring:.2f} ha within "
            "{ring_m} m around them",
            ring=nat["ring_loss_before_ref_ha"],
            ring_m=result.metadata["ring_m"],
            **restoration,
        )
    else:
        text = tr("  restoration candidates: {loss:.2f} ha of forest lost up to {year} inside plots", **restoration)
    click.echo(text)
    if "baseline_by_region" in layers:
        _print_regions(result, layers["baseline_by_region"])
    _print_more(result)


def _print_regions(result, t) -> None:
    nat = result.national
    un = t.loc[t["region_id"] == "unassigned", "n_plots"]
    held = (t["region_id"] != "unassigned") & (t["n_plots"] > 0)
    click.echo(
        tr(
            "  regions: {held} holding plots; {unassigned} plots unassigned  [layer baseline_by_region]",
            held=int(held.sum()),
            unassigned=int(un.iloc[0]) if len(un) else 0,
        )
    )
    if "region_baseline_mean_annual_loss_ha" not in nat.index:
        return
    share = nat["cocoa_share_of_baseline_loss_pct"]
    near = nat.get("near_cocoa_share_of_baseline_loss_pct")
    figures = dict(
        regions=int((t["region_id"] != "unassigned").sum()),
        loss=nat["region_baseline_mean_annual_loss_ha"],
        period=result.period,
    )
    if share != share:
        text = tr(
            "  region totals ({regions} regions): {loss:.2f} ha/yr of forest lost over {period}, n/a in cocoa plots "
            "(no loss)  [baseline_by_region]",
            **figures,
        )
    elif near is None or near != near:
        text = tr(
            "  region totals ({regions} regions): {loss:.2f} ha/yr of forest lost over {period}, {share:.1f} % of it "
            "in cocoa plots  [baseline_by_region]",
            share=share,
            **figures,
        )
    else:
        text = tr(
            "  region totals ({regions} regions): {loss:.2f} ha/yr of forest lost over {period}, {share:.1f} % of it "
            "in cocoa plots, {near:.1f} % near them  [baseline_by_region]",
            share=share,
            near=near,
            **figures,
        )
    click.echo(text)


def _print_more(result) -> None:
    """The groups, lots, status changes and alerts of a baseline summary."""
    layers = result.layers
    g = layers["baseline_by_group"]
    for name, n in g[g["group_by"] != "all"].groupby("group_by", sort=False).size().items():
        click.echo(tr("  by {column}: {n} groups  [layer baseline_by_group]", column=name, n=n))
    if "lots" in layers:
        lots = layers["lots"]
        unknown = result.metadata.get("unknown_plot_ids", "")
        counts = dict(lots=len(lots), free=int(lots["deforestation_free"].sum()))
        if unknown:
            text = tr(
                "  lots: {lots}, {free} entirely from deforestation-free plots  [layer lots]; UNKNOWN plot_id(s): "
                "{unknown}",
                unknown=unknown,
                **counts,
            )
        else:
            text = tr("  lots: {lots}, {free} entirely from deforestation-free plots  [layer lots]", **counts)
        click.echo(text)
    if "status_changes" in layers:
        c = layers["status_changes"]["change"].value_counts()
        changes = dict(changed=int(c.get("status_changed", 0)), new=int(c.get("new", 0)), gone=int(c.get("gone", 0)))
        if "new_alerts" in layers["status_changes"]:
            text = tr(
                "  since the previous screening: {changed} status changes, {alerts} with new alerts, {new} new, "
                "{gone} gone plots  [layer status_changes]",
                alerts=int(c.get("new_alerts", 0)),
                **changes,
            )
        else:
            text = tr(
                "  since the previous screening: {changed} status changes, {new} new, {gone} gone plots  "
                "[layer status_changes]",
                **changes,
            )
        click.echo(text)
        if result.new_years:
            click.echo(tr("  new loss year(s): {years}", years=", ".join(map(str, result.new_years))))
    if "alerts_by_month" in layers:
        t = layers["alerts_by_month"]
        nat = t[t["group_by"] == "all"]
        click.echo(
            tr(
                "  alerts after the cut-off {cutoff}: {ha:.2f} ha in {months} month(s) on assessed plots  "
                "[layer alerts_by_month]",
                cutoff=result.metadata.get("cutoff_date", ""),
                ha=nat["alert_ha"].sum(),
                months=nat["month"].nunique(),
            )
        )
