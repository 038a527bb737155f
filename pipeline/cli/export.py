"""``cacao-screen export``: a screening to CSV, GeoParquet, FlatGeobuf, GeoJSON or the EUDR GeoJSON."""

from __future__ import annotations

from pathlib import Path

import click

from ..config import ExportConfig, set_dotted, validate_model
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
        click.echo(f"Exported {result.rows} rows ({result.format}) -> {result.path}")
        return
    o = result.outcomes()
    click.echo(
        f"EUDR export -> {result.path}: {o['exported'] + o['repaired']} plots in {len(result.files)} file(s)"
        + (f" ({o['repaired']} repaired at the coordinates' precision)" if o["repaired"] else "")
        + f", {o['left_out']} left out; see manifest.csv and totals.csv"
    )
    click.echo(f"  from the screening with provenance digest {result.provenance_digest}")
    for line in result.columns_used:
        click.echo(f"  {line}")
    for row in result.totals.itertuples():
        click.echo(f"  {row.file}: {row.plots} plots, {row.area_ha:.4f} ha, countries {row.countries or '-'}")
    flagged = result.manifest[result.manifest["flag"] != ""]
    if len(flagged):
        click.echo(
            f"  {len(flagged)} plot(s) flagged (a repair that changed the area, a duplicated id); see column flag"
        )
    left = result.manifest[result.manifest["outcome"] == "left_out"]
    if len(left):
        reasons = left["reason"].str.replace(r"-?\d+(\.\d+)? ha", "N ha", regex=True)
        reasons = reasons.str.replace(r"plot id .* is on \d+ rows", "plot id on several rows", regex=True)
        for reason, n in reasons.value_counts().head(6).items():
            click.echo(f"  left out x{n}: {reason}")
