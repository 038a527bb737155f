"""Every sentence the report shows a person, in one place: each one complete format string with
named placeholders, ready to move into a gettext catalog (issue 25 translates them)."""

from __future__ import annotations

from ...vocab import STATUS_LABELS

__all__ = ["CHART", "HEADERS", "STATUS_LABELS", "T"]

T = {
    # the top of the page
    "subtitle": "{plots} plots screened for forest loss after {year}",
    "card_plots": "plots, {area} ha",
    "card_free": "of plots deforestation-free ({area_pct} % of their area)",
    "card_loss": "forest lost inside the plots after {year}",
    "card_no_verdict": "plots without a verdict (not assessed or invalid)",
    # the panel
    "panel_title": "What to do now",
    "leave_out": "Leave {n} plots out of the due-diligence statement: forest was lost on them after {year}.",
    "leave_out_none": "No plot has forest loss after {year} beyond the review tolerance: none to leave out.",
    "check": "Check {n} plots: a little forest was lost on them after {year} (at most the review tolerance).",
    "check_none": "No plot needs checking.",
    "next_step": "Next step: look at each of these plots on recent imagery or in the field with its "
    "cooperative's technician, then screen again; the list gives each plot's reason.",
    "no_verdict": "Fix the data of {n} plots without a verdict ({not_assessed} not assessed, {invalid} invalid): "
    "they cannot be declared deforestation-free until they are screened.",
    "the_list": "the list",
    "qc_title": "Quality-control findings",
    "qc_none": "Quality control found nothing to report.",
    "qc_note": "One row per finding; layer plot_issues of screening.gpkg lists every plot.",
    "export_title": "EUDR export",
    "export_done": "The export in {folder}: {plots} plots in {files} file(s) ({names}); {left} plots left out.",
    "export_repaired": "{n} of the exported plots were repaired at 6 decimals.",
    "export_none": "No EUDR export is shown with this report: `cacao-screen export --format eudr` writes one, "
    "and `cacao-screen report --eudr FOLDER` shows its outcome here.",
    # sections
    "by_status": "Plots by status",
    "loss_title": "Forest loss per year inside the plots",
    "loss_note": "Forest lost inside the assessed plots (deforestation-free, review, deforestation detected) each "
    "year; the line is the mean of the baseline period {period}, the dashed line the reference year's end.",
    "the_figures": "The figures",
    "map_title": "Map",
    "map_note": "Every plot as a dot coloured by its status, over the regions; north is up.",
    "by_region": "By region",
    "regions_without_plots": "{n} other regions of the regions file hold no plot and are not listed.",
    "by_group": "By {label}",
    "groups_pages": "{n} groups; each has its own page.",
    "groups_inline": "{n} groups; each has its map and plots below.",
    "no_groups": "There are no cooperative pages: the plots have no column {column} and the baseline has no "
    "regions to group them by. Name the column that holds each plot's cooperative with --group-column "
    "(report.group_column) or the baseline's cooperative_column.",
    "lots": "Lots",
    "buyers": "Buyers",
    "alerts": "Alerts after the cut-off day",
    "plots_of_each": "The plots of each {label}",
    "lists_title": "Plots to act on",
    "list_leave_out": "Plots to leave out of the statement",
    "list_check": "Plots to check",
    "list_no_verdict": "Plots without a verdict",
    "back": "← the report",
    "provenance": "Provenance",
    "full_config": "The full configuration",
    "first_rows": "The first {limit} of {n} rows; the GeoPackage has them all.",
    # honest figures
    "baseline_too_small": "baseline too small to compare",
    "baseline_too_small_note": "A change is shown against a baseline mean of at least {min} ha/yr; below it, "
    "'baseline too small to compare' (report.min_baseline_ha).",
    "coverage_warning": "Warning: {names} have data for less than {min} % of their area; their shares of cocoa are "
    "computed on that part only and may not represent them (report.min_coverage_pct).",
    "low_coverage_cell": "{value} (low coverage)",
    # cooperative pages
    "section_summary": "{plots} plots, {free_pct} % deforestation-free ({free_area_pct} % of their area); "
    "{loss} ha of forest lost after {year}.",
    "status_counts": "{n} {status}",
    "free_reason_note": "The plots are listed by severity: deforestation detected, review, not assessed, invalid, "
    "then deforestation-free (their reason is in status_reason of screening.gpkg).",
    "filter_label": "Filter the rows",
    "filter_all": "all",
    "map_alt": "map of the plots of {title}",
    "no_geometry": "No plot of this group has a geometry.",
    "scale_note": "North is up; the bar gives the scale.",
    "region_totals": "Deforestation associated with cocoa",
    "region_totals_note": "Above, each region's whole forest loss per year (the screening's product and forest "
    "definition); below, the share of it inside the union of the assessed cocoa plots (each hectare once), for "
    "all regions and for each region drawn. Shaded: the baseline period {period}; dashed: the end of the "
    "reference year {year}. A year without loss has no share.",
    "figures_per_year": "The figures per year",
    "overlays": "What lies under the plots",
    "overlays_note": "Protected areas, native communities' lands and concessions under the plots: a legality "
    "question (EUDR Art. 3(b)), whatever the forest loss says. Each plot's overlap is in the columns "
    "<overlay>_overlap_ha, _overlap_pct and _names of screening.gpkg.",
}

#: What each overlay effect did, in words (the section on overlays).
OVERLAY_EFFECTS = {
    "review": "a free plot overlapping it became review",
    "flag": "reported only",
    "exclude": "left out of the EUDR export",
}

#: Column headers, by the column they head (the GeoPackages' field titles say the same).
HEADERS = {
    "status": "Status",
    "plots": "Plots",
    "area_ha": "Area (ha)",
    "loss_after_ref_ha": "Forest lost after {year} (ha)",
    "meaning": "Meaning",
    "year": "Year",
    "loss_ha": "Forest lost (ha)",
    "plot_id": "Plot",
    "status_reason": "Why this status",
    "name": "Name",
    "n_plots": "Plots",
    "deforestation_free_plots_pct": "Deforestation-free plots (%)",
    "deforestation_free_area_pct": "Deforestation-free area (%)",
    "baseline_mean_annual_loss_ha": "Baseline mean {period} (ha/yr)",
    "change": "{year} against the baseline (%)",
    "region": "Region",
    "code": "Finding",
    "severity": "Severity",
    "example": "Example",
    "reason": "Reason",
    "lot_id": "Lot",
    "buyer": "Buyer",
    "n_lots": "Lots",
    "quantity": "Quantity",
    "deforestation_free_quantity_pct": "From deforestation-free plots (%)",
    "all_free": "All deforestation-free",
    "unknown_plot_ids": "Unknown plot ids",
    "region_data_coverage_pct": "Data coverage (%)",
    "region_baseline_mean_annual_loss_ha": "Region's loss, mean {period} (ha/yr)",
    "cocoa_baseline_mean_annual_loss_ha": "In cocoa plots (ha/yr)",
    "cocoa_share_of_baseline_loss_pct": "Cocoa's share (%)",
    "cocoa_share_of_baseline_loss_sum_of_plots_pct": "Share by the sum of plot figures (%)",
    "near_cocoa_share_of_baseline_loss_pct": "Near cocoa's share (%)",
    "cocoa_share_last": "Cocoa's share in {year} (%)",
    "region_loss_ha": "Forest lost in the regions (ha)",
    "cocoa_share_pct": "In cocoa plots (%)",
    "near_cocoa_share_pct": "Near cocoa (%)",
    "input": "Input",
    "path": "Path",
    "size": "Bytes",
    "mtime_utc": "Modified (UTC)",
    "sha256": "SHA-256",
    "alert_ha": "Alerts that count (ha)",
    "alert_product": "Alerts that count, {product} (ha)",
    "overlay": "Overlay",
    "kind": "Kind",
    "effect": "Effect",
    "plots_overlapping": "Plots overlapping",
    "overlap_ha": "Overlap (ha)",
    "now_review": "Now review",
    "still_free": "Still free",
    "yes": "yes",
    "no": "no",
}

#: Texts drawn inside charts.
CHART = {
    "baseline_mean": "baseline mean {period}: {mean} ha/yr",
    "after": "after 31 Dec {year}",
    "loss_axis": "forest lost inside the plots (ha)",
    "region_axis": "forest lost in the regions (ha)",
    "share_axis": "cocoa's share of the loss (%)",
    "in_cocoa": "in cocoa plots, all regions",
    "near_cocoa": "near cocoa, all regions",
    "other_regions": "{n} other regions",
    "reference_year": "reference year {year}",
    "baseline": "baseline {period}",
    "alerts_axis": "alerts that count (ha)",
}
