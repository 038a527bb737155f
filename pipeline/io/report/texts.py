"""Every sentence the report shows a person, in one place: each one complete format string with
named placeholders, marked ``N_`` for the catalogs (``make i18n``); each table translates a sentence
when it is looked up, into the language in use, and its ``format`` writes numbers as the language
does (:class:`pipeline.i18n.Texts`)."""

from __future__ import annotations

from ...i18n import N_, Texts
from ...vocab import STATUS_LABELS

__all__ = ["CHART", "CUTOFF_CASES", "HEADERS", "STATUS_LABELS", "T"]

T = Texts(
    {
        # the top of the page
        "subtitle": N_("{plots} plots screened for forest loss after {year}"),
        "card_plots": N_("plots, {area} ha"),
        "card_free": N_("of plots deforestation-free ({area_pct} % of their area)"),
        "card_loss": N_("forest lost inside the plots after {year}"),
        "card_no_verdict": N_("plots without a verdict (not assessed or invalid)"),
        # the panel
        "panel_title": N_("What to do now"),
        "leave_out": N_("Leave {n} plots out of the due-diligence statement: forest was lost on them after {year}."),
        "leave_out_none": N_("No plot has forest loss after {year} beyond the review tolerance: none to leave out."),
        "check": N_("Check {n} plots: a little forest was lost on them after {year} (at most the review tolerance)."),
        "check_none": N_("No plot needs checking."),
        "next_step": N_(
            "Next step: look at each of these plots on recent imagery or in the field with its "
            "cooperative's technician, then screen again; the list gives each plot's reason."
        ),
        "no_verdict": N_(
            "Fix the data of {n} plots without a verdict ({not_assessed} not assessed, {invalid} invalid): "
            "they cannot be declared deforestation-free until they are screened."
        ),
        "the_list": N_("the list"),
        "qc_title": N_("Quality-control findings"),
        "qc_none": N_("Quality control found nothing to report."),
        "qc_note": N_("One row per finding; layer plot_issues of screening.gpkg lists every plot."),
        "export_title": N_("EUDR export"),
        "export_done": N_("The export in {folder}: {plots} plots in {files} file(s) ({names}); {left} plots left out."),
        "export_repaired": N_("{n} of the exported plots were repaired at 6 decimals."),
        "export_field_checked": N_(
            "{n} of the exported plots went in on a field check: column status_basis of manifest.csv names them."
        ),
        "export_none": N_(
            "No EUDR export is shown with this report: `cacao-screen export --format eudr` writes one, "
            "and `cacao-screen report --eudr FOLDER` shows its outcome here."
        ),
        # sections
        "by_status": N_("Plots by status"),
        "field_checked_note": N_(
            "{n} of the {free} deforestation-free plots rest on a field check, not on the satellite data alone "
            "(status_basis field_check in screening.gpkg); {all} plots in all were settled by a field check."
        ),
        "loss_title": N_("Forest loss per year inside the plots"),
        "loss_note": N_(
            "Forest lost inside the assessed plots (deforestation-free, review, deforestation detected) each "
            "year; the line is the mean of the baseline period {period}, the dashed line the reference year's end."
        ),
        "the_figures": N_("The figures"),
        "map_title": N_("Map"),
        "map_note": N_("Every plot as a dot coloured by its status, over the regions; north is up."),
        "by_region": N_("By region"),
        "regions_without_plots": N_("{n} other regions of the regions file hold no plot and are not listed."),
        "by_group": N_("By {label}"),
        "groups_pages": N_("{n} groups; each has its own page."),
        "groups_inline": N_("{n} groups; each has its map and plots below."),
        "no_groups": N_(
            "There are no cooperative pages: the plots have no column {column} and the baseline has no "
            "regions to group them by. Name the column that holds each plot's cooperative with --group-column "
            "(report.group_column) or the baseline's cooperative_column."
        ),
        "lots": N_("Lots"),
        "buyers": N_("Buyers"),
        "alerts": N_("Alerts after the cut-off day"),
        "plots_of_each": N_("The plots of each {label}"),
        "lists_title": N_("Plots to act on"),
        "list_leave_out": N_("Plots to leave out of the statement"),
        "list_check": N_("Plots to check"),
        "list_no_verdict": N_("Plots without a verdict"),
        "back": N_("← the report"),
        "provenance": N_("Provenance"),
        "full_config": N_("The full configuration"),
        "first_rows": N_("The first {limit} of {n} rows; the GeoPackage has them all."),
        # honest figures
        "baseline_too_small": N_("baseline too small to compare"),
        "baseline_too_small_note": N_(
            "A change is shown against a baseline mean of at least {min} ha/yr; below it, "
            "'baseline too small to compare' (report.min_baseline_ha)."
        ),
        "coverage_warning": N_(
            "Warning: {names} have data for less than {min} % of their area; their shares of cocoa are "
            "computed on that part only and may not represent them (report.min_coverage_pct)."
        ),
        "low_coverage_cell": N_("{value} (low coverage)"),
        # cooperative pages
        "section_summary": N_(
            "{plots} plots, {free_pct} % deforestation-free ({free_area_pct} % of their area); "
            "{loss} ha of forest lost after {year}."
        ),
        "status_counts": N_("{n} {status}"),
        "free_reason_note": N_(
            "The plots are listed by severity: deforestation detected, review, not assessed, invalid, "
            "then deforestation-free (their reason is in status_reason of screening.gpkg)."
        ),
        "filter_label": N_("Filter the rows"),
        "filter_all": N_("all"),
        "map_alt": N_("map of the plots of {title}"),
        "no_geometry": N_("No plot of this group has a geometry."),
        "scale_note": N_("North is up; the bar gives the scale."),
        "region_totals": N_("Deforestation associated with cocoa"),
        "region_totals_note": N_(
            "Above, each region's whole forest loss per year (the screening's product and forest "
            "definition); below, the share of it inside the union of the assessed cocoa plots (each hectare once), for "
            "all regions and for each region drawn. Shaded: the baseline period {period}; dashed: the end of the "
            "reference year {year}. A year without loss has no share."
        ),
        "figures_per_year": N_("The figures per year"),
        "cutoff_title": N_("Forest at the cut-off"),
        "cutoff_note": N_(
            "{rule}. Tree loss on land that was not forest on the cut-off day (shade trees, renovation of "
            "cocoa) is not deforestation; loss on forest of that day in a plot the registry says was already "
            "under cocoa goes to review (docs/forest-at-cutoff.md)."
        ),
        "cutoff_no_map": N_(
            "A plot the registry says was under cocoa before the cut-off, with tree loss after it, goes to "
            "review: no map of forest at the cut-off was given to tell shade trees from forest."
        ),
        "indicators_title": N_("Indicators per source"),
        "overlays": N_("What lies under the plots"),
        "overlays_note": N_(
            "Protected areas, native communities' lands and concessions under the plots: a legality "
            "question (EUDR Art. 3(b)), whatever the forest loss says. Each plot's overlap is in the columns "
            "<overlay>_overlap_ha, _overlap_pct and _names of screening.gpkg."
        ),
    }
)

#: What each overlay effect did, in words (the section on overlays).
OVERLAY_EFFECTS = Texts(
    {
        "review": N_("a free plot overlapping it became review"),
        "flag": N_("reported only"),
        "exclude": N_("left out of the EUDR export"),
    }
)

#: The cases of the forest at the cut-off (``stages.cutoff.cutoff_cases``), by code.
CUTOFF_CASES = Texts(
    {
        "free_not_forest_cocoa_before": N_(
            "free: tree loss after {year} only on land not forest then, under cocoa before the cut-off"
        ),
        "free_not_forest": N_("free: tree loss after {year} only on land not forest then, no earlier establishment"),
        "review_forest_cocoa_before": N_(
            "review: loss on forest of {year}, the registry says cocoa before the cut-off"
        ),
        "detected_on_forest": N_("deforestation detected: loss on forest of {year}"),
        "review_no_map_cocoa_before": N_(
            "review: tree loss after {year}, cocoa before the cut-off, no map of forest at the cut-off"
        ),
    }
)

#: Column headers, by the column they head (the GeoPackages' field titles say the same).
HEADERS = Texts(
    {
        "status": N_("Status"),
        "plots": N_("Plots"),
        "area_ha": N_("Area (ha)"),
        "loss_after_ref_ha": N_("Forest lost after {year} (ha)"),
        "meaning": N_("Meaning"),
        "field_checked": N_("Settled by a field check"),
        "year": N_("Year"),
        "loss_ha": N_("Forest lost (ha)"),
        "plot_id": N_("Plot"),
        "status_reason": N_("Why this status"),
        "name": N_("Name"),
        "n_plots": N_("Plots"),
        "deforestation_free_plots_pct": N_("Deforestation-free plots (%)"),
        "deforestation_free_area_pct": N_("Deforestation-free area (%)"),
        "baseline_mean_annual_loss_ha": N_("Baseline mean {period} (ha/yr)"),
        "change": N_("{year} against the baseline (%)"),
        "region": N_("Region"),
        "code": N_("Finding"),
        "severity": N_("Severity"),
        "example": N_("Example"),
        "reason": N_("Reason"),
        "lot_id": N_("Lot"),
        "buyer": N_("Buyer"),
        "n_lots": N_("Lots"),
        "quantity": N_("Quantity"),
        "deforestation_free_quantity_pct": N_("From deforestation-free plots (%)"),
        "all_free": N_("All deforestation-free"),
        "unknown_plot_ids": N_("Unknown plot ids"),
        "region_data_coverage_pct": N_("Data coverage (%)"),
        "region_baseline_mean_annual_loss_ha": N_("Region's loss, mean {period} (ha/yr)"),
        "cocoa_baseline_mean_annual_loss_ha": N_("In cocoa plots (ha/yr)"),
        "cocoa_share_of_baseline_loss_pct": N_("Cocoa's share (%)"),
        "cocoa_share_of_baseline_loss_sum_of_plots_pct": N_("Share by the sum of plot figures (%)"),
        "near_cocoa_share_of_baseline_loss_pct": N_("Near cocoa's share (%)"),
        "cocoa_share_last": N_("Cocoa's share in {year} (%)"),
        "region_loss_ha": N_("Forest lost in the regions (ha)"),
        "cocoa_share_pct": N_("In cocoa plots (%)"),
        "near_cocoa_share_pct": N_("Near cocoa (%)"),
        "input": N_("Input"),
        "path": N_("Path"),
        "size": N_("Bytes"),
        "mtime_utc": N_("Modified (UTC)"),
        "sha256": N_("SHA-256"),
        "alert_ha": N_("Alerts that count (ha)"),
        "alert_product": N_("Alerts that count, {product} (ha)"),
        "overlay": N_("Overlay"),
        "kind": N_("Kind"),
        "effect": N_("Effect"),
        "plots_overlapping": N_("Plots overlapping"),
        "overlap_ha": N_("Overlap (ha)"),
        "now_review": N_("Now review"),
        "still_free": N_("Still free"),
        "yes": N_("yes"),
        "no": N_("no"),
        "unknown": N_("unknown"),
        "case": N_("Case"),
        "indicator": N_("Indicator"),
    }
)

#: Texts drawn inside charts.
CHART = Texts(
    {
        "baseline_mean": N_("baseline mean {period}: {mean} ha/yr"),
        "after": N_("after 31 Dec {year}"),
        "loss_axis": N_("forest lost inside the plots (ha)"),
        "region_axis": N_("forest lost in the regions (ha)"),
        "share_axis": N_("cocoa's share of the loss (%)"),
        "in_cocoa": N_("in cocoa plots, all regions"),
        "near_cocoa": N_("near cocoa, all regions"),
        "other_regions": N_("{n} other regions"),
        "reference_year": N_("reference year {year}"),
        "baseline": N_("baseline {period}"),
        "alerts_axis": N_("alerts that count (ha)"),
    }
)
