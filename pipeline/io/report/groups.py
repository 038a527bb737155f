"""Each cooperative's (or region's) part of the report: a summary, its map, the count of its plots
per status and the table of its plots, most severe first, sortable and filterable."""

from __future__ import annotations

import pandas as pd

from .html import esc, fmt_ha, fmt_int, fmt_pct
from .maps import group_map
from .panel import plot_table, status_counts
from .texts import T


def section_body(ctx, section, prefix: str = "") -> str:
    """The summary, map, status counts and plot table of one group (``prefix``: the way from
    its page back to the index's folder, for the evidence links)."""
    data, f = ctx.data, section.figures
    summary = T["section_summary"].format(
        plots=fmt_int(f["n_plots"]),
        free_pct=fmt_pct(f["deforestation_free_plots_pct"]),
        free_area_pct=fmt_pct(f["deforestation_free_area_pct"]),
        loss=fmt_ha(f["loss_after_ref_ha"]),
        year=data.reference_year,
    )
    plots = pd.DataFrame(section.plots.drop(columns=section.plots.geometry.name))
    return (
        f"<p>{esc(summary)}</p>"
        + group_map(section, data.regions)
        + status_counts(plots["status"])
        + f'<p class="note">{esc(T["free_reason_note"])}</p>'
        + plot_table(ctx, plots, f"plots-{section.slug}", prefix, reasons=False)
    )
