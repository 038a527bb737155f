"""``cacao-screen export``: a screening to CSV, GeoParquet, FlatGeobuf, GeoJSON or the EUDR GeoJSON."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import ExportConfig, set_dotted, validate_model
from ..i18n import _, tr
from .app import cli, quiet, verbosity_options, wait_lock_option
from .options import EXPORT_OPTIONS, apply, given, screening_option

EXPORT_EPILOG = """\b
Examples:
  cacao-screen export --screening outputs/screening.gpkg --format csv --out plots.csv --wkt
  cacao-screen export --screening outputs/screening.gpkg --format geoparquet --out plots.parquet
  cacao-screen export --screening outputs/screening.gpkg --format eudr --out outputs/eudr \\
      --producer-country PE --statuses deforestation_free
See docs/export.md.
"""


@cli.command(epilog=EXPORT_EPILOG)
@screening_option
@apply(EXPORT_OPTIONS, required=("format", "out"))
@click.option("--overwrite", is_flag=True, help="Replace the output if it exists.")
@wait_lock_option
@verbosity_options
@click.pass_context
def export(ctx: click.Context, screening: Path, overwrite: bool, wait_lock: float, **kwargs) -> None:
    """Export a screening's plots to another format.

    csv, geoparquet, flatgeobuf and geojson write one file of the plots (or --layer); eudr writes a
    folder of GeoJSON files for the EU information system (none over --max-file-mb) and
    manifest.csv, saying which plot went to which file and which were left out, and why.
    """
    from ..job import run_export

    data: dict = {}
    for key, value in given(EXPORT_OPTIONS, kwargs).items():
        set_dotted(data, key, value)
    cfg = validate_model(ExportConfig, data, "command line")
    result = run_export(screening, cfg, overwrite=overwrite, wait_lock=wait_lock)
    if not quiet(ctx):
        print_export_summary(result)


def print_export_summary(result) -> None:
    if result.format != "eudr":
        click.echo(tr("Exported {n} rows ({format}) -> {path}", n=result.rows, format=result.format, path=result.path))
        return
    o = result.outcomes()
    click.echo(
        tr(
            "EUDR export -> {path}: {sent} plots in {files} file(s) ({repaired} repaired at the coordinates' "
            "precision), {left} left out; see manifest.csv and totals.csv",
            path=result.path,
            sent=o["exported"] + o["repaired"],
            files=len(result.files),
            repaired=o["repaired"],
            left=o["left_out"],
        )
    )
    click.echo("  " + tr("from the screening with provenance digest {digest}", digest=result.provenance_digest))
    for line in result.columns_used:
        click.echo(f"  {line}")
    for row in result.totals.itertuples():
        click.echo(
            "  "
            + tr(
                "{file}: {plots} plots, {area:.4f} ha, countries {countries}",
                file=_("(all files)") if row.file == "(all files)" else row.file,
                plots=row.plots,
                area=row.area_ha,
                countries=row.countries or "-",
            )
        )
    checked = int(result.totals["field_checked"].iloc[-1]) if "field_checked" in result.totals else 0
    if checked:
        click.echo("  " + tr("{n} of the exported plots went in on a field check: column status_basis of "
                             "manifest.csv names them", n=checked))  # fmt: skip
    flagged = result.manifest[result.manifest["flag"] != ""]
    if len(flagged):
        click.echo(
            "  "
            + tr(
                "{n} plot(s) flagged (a repair that changed the area, a duplicated id); see the manifest's column flag",
                n=len(flagged),
            )
        )
    for reason, n in result.left_out_reasons().items():
        click.echo("  " + tr("left out x{n}: {reason}", n=n, reason=reason))
