"""Short, plain-language titles of the output columns (the GeoPackages' field aliases) and what
each layer holds (their layer descriptions): beside :mod:`pipeline.stages.columns`, which says
what every column means."""

from __future__ import annotations

import re

from ..i18n import N_, _, tr

#: A column's short, plain-language title, by name (``YYYY`` a year). The
#: GeoPackages carry them as field aliases (``gpkg_data_columns.title`` and the QGIS style), the
#: report as column headers. Each is one complete phrase, for translation.
TITLES = {
    "plot_id": N_("Plot"),
    "source_row": N_("Input row"),
    "status": N_("Status"),
    "deforestation_free": N_("Deforestation-free"),
    "status_reason": N_("Why this status"),
    "area_ha": N_("Area (ha)"),
    "data_coverage_pct": N_("Data coverage (%)"),
    "forest_2000_ha": N_("Forest in 2000 (ha)"),
    "forest_ref_ha": N_("Forest at the reference year (ha)"),
    "loss_YYYY_ha": N_("Forest lost in {year} (ha)"),
    "loss_total_ha": N_("Forest lost, all years (ha)"),
    "loss_before_ref_ha": N_("Forest lost up to the reference year (ha)"),
    "loss_after_ref_ha": N_("Forest lost after the reference year (ha)"),
    "first_loss_year_after_ref": N_("First year of loss after the reference year"),
    "qc_status": N_("Quality control"),
    "qc_summary": N_("Quality-control findings"),
    "screen_key": N_("Screening fingerprint"),
    "row_digest": N_("Row digest"),
    "product": N_("Product"),
    "year": N_("Year"),
    "loss_ha": N_("Forest lost (ha)"),
    "code": N_("Finding"),
    "severity": N_("Severity"),
    "message": N_("What was found"),
    "key": N_("Name"),
    "value": N_("Value"),
    "group_by": N_("Grouped by"),
    "group": N_("Group"),
    "region_id": N_("Region code"),
    "region_name": N_("Region"),
    "n_plots": N_("Plots"),
    "n_deforestation_free": N_("Deforestation-free plots"),
    "n_review": N_("Plots to review"),
    "n_deforestation_detected": N_("Plots with deforestation detected"),
    "n_not_assessed": N_("Plots not assessed"),
    "n_invalid": N_("Invalid plots"),
    "n_unknown": N_("Plots of unknown status"),
    "n_assessed": N_("Plots assessed"),
    "n_field_checked": N_("Plots settled by a field check"),
    "n_free_field_checked": N_("Deforestation-free on a field check"),
    "area_assessed_ha": N_("Area assessed (ha)"),
    "deforestation_free_area_ha": N_("Deforestation-free area (ha)"),
    "deforestation_free_plots_pct": N_("Deforestation-free plots (%)"),
    "deforestation_free_area_pct": N_("Deforestation-free area (%)"),
    "baseline_mean_annual_loss_ha": N_("Baseline mean loss (ha/yr)"),
    "change_YYYY_vs_baseline_pct": N_("Change in {year} against the baseline (%)"),
    "ring_data_coverage_pct": N_("Data coverage around the plots (%)"),
    "region_data_coverage_pct": N_("Data coverage of the region (%)"),
    "region_loss_YYYY_ha": N_("Forest lost in the region in {year} (ha)"),
    "region_baseline_mean_annual_loss_ha": N_("Region's baseline mean loss (ha/yr)"),
    "cocoa_baseline_mean_annual_loss_ha": N_("Baseline mean loss in cocoa plots (ha/yr)"),
    "cocoa_share_of_baseline_loss_pct": N_("Cocoa's share of the baseline loss (%)"),
    "cocoa_share_of_baseline_loss_sum_of_plots_pct": N_("Cocoa's share, by the sum of plot figures (%)"),
    "cocoa_share_of_loss_YYYY_pct": N_("Cocoa's share of the loss in {year} (%)"),
    "near_cocoa_baseline_mean_annual_loss_ha": N_("Baseline mean loss near cocoa (ha/yr)"),
    "near_cocoa_share_of_baseline_loss_pct": N_("Near cocoa's share of the baseline loss (%)"),
    "near_cocoa_share_of_loss_YYYY_pct": N_("Near cocoa's share of the loss in {year} (%)"),
    "region_overlap_pct": N_("Share of the plot in its region (%)"),
    "lot_id": N_("Lot"),
    "buyer": N_("Buyer"),
    "quantity": N_("Quantity"),
    "date": N_("Date"),
    "first_date": N_("First delivery"),
    "last_date": N_("Last delivery"),
    "n_deliveries": N_("Deliveries"),
    "month": N_("Month"),
    "confidence": N_("Confidence"),
    "alert_date": N_("First alert day"),
    "last_alert_date": N_("Last alert day"),
    "counted": N_("Counts"),
    "alert_ha": N_("Alerts that count (ha)"),
    "previous_status": N_("Previous status"),
    "previous_source_row": N_("Previous input row"),
    "previous_loss_after_ref_ha": N_("Previous loss after the reference year (ha)"),
}

_TITLE_PATTERNS = [
    (re.compile("^" + re.escape(k).replace("YYYY", r"(?P<year>\d{4})") + "$"), v) for k, v in TITLES.items()
]


def title(column: str) -> str:
    """The short title of ``column`` (:data:`TITLES`), or its name made readable (``my_col_ha``:
    ``My col (ha)``) when no row names it."""
    for rx, text in _TITLE_PATTERNS:
        m = rx.match(column)
        if m:
            return tr(text, **m.groupdict()) if m.groupdict() else _(text)
    words = column
    unit = ""
    for suffix, u in (("_ha", " (ha)"), ("_pct", " (%)"), ("_m", " (m)")):
        if words.endswith(suffix):
            words, unit = words[: -len(suffix)], u
            break
    words = words.replace("_", " ").strip() or column
    return words[0].upper() + words[1:] + unit


def title_layers(columns: dict[str, list[str]], products: tuple[str, ...] = ()) -> dict[str, dict[str, str]]:
    """{layer: {column: title}}; a product's own column (``<product>_alert_ha``) is titled as the
    column, with the product's name first."""
    out: dict[str, dict[str, str]] = {}
    for layer, cols in columns.items():
        titles = {}
        for c in cols:
            own = next((p for p in products if c.startswith(f"{p}_")), None)
            titles[c] = f"{own}: {title(c[len(own) + 1 :])}" if own else title(c)
        out[layer] = titles
    return out


#: What each layer holds, as GeoPackage layer descriptions (``gpkg_contents.description``).
LAYER_DESCRIPTIONS = {
    "plots": N_("Every input plot with its status, the reason and its forest and loss per year"),
    "loss_by_year": N_("Forest lost inside each plot, per product and year"),
    "plot_issues": N_("The quality-control findings, one row per plot and finding"),
    "alerts_by_month": N_("Area of deforestation alerts after the cut-off day, per month"),
    "loss_patches": N_(
        "Each patch of forest lost inside a plot after the reference year, and of alerts after the cut-off day: "
        "its year, area and depth"
    ),
    "run_metadata": N_("The run's parameters and provenance, one row per key"),
    "baseline_by_group": N_("Figures of each group of plots (all, cooperatives, others) against the baseline"),
    "baseline_by_region": N_("Figures of the plots of each region against the baseline, and each region's whole loss"),
    "baseline_plots": N_("Every plot with its region and groups"),
    "restoration_rings": N_("The land within the ring distance around the plots, and the forest lost there"),
    "deliveries": N_("The deliveries file, each row with its plot's status"),
    "lots": N_("Each lot with the share of its quantity from deforestation-free plots"),
    "buyers": N_("Each buyer with the share of its quantity from deforestation-free plots"),
    "status_changes": N_("Plots whose status changed since the previous screening"),
    "layer_styles": N_("Default QGIS styles of the layers"),
}


def layer_descriptions() -> dict[str, str]:
    """:data:`LAYER_DESCRIPTIONS` in the language in use."""
    return {k: _(v) for k, v in LAYER_DESCRIPTIONS.items()}
