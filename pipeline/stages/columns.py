"""What every output column means: the one source of the column tables of docs/outputs.md and
docs/baseline.md (``make docs``) and of the field descriptions in the GeoPackages
(``gpkg_data_columns``, which QGIS shows), so the docs and the files say the same words.

A table is a list of :class:`Column` rows. A row names one or more columns, with templates for
families: ``YYYY`` is a year (``loss_YYYY_ha``), ``<status>`` a plot status (``n_<status>``),
``<name>`` any text. Its meaning is Markdown; the GeoPackage gets it as plain text
(:func:`plain`). A column no row names gets no description (an input attribute, a column a
newer stage added): describe it here when you add it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

from ..i18n import N_, _, tr
from ..reasons import REASON_COLUMNS
from ..vocab import STATUSES, UNKNOWN


@dataclass(frozen=True)
class Column:
    """A row of a column table: the columns it names (templates allowed) and what they mean."""

    names: tuple[str, ...]
    meaning: str  # Markdown
    label: str | None = None  # the first cell of the docs table, when not the names in code spans

    @cached_property
    def pattern(self) -> re.Pattern[str]:
        parts = []
        for name in self.names:
            rx = re.escape(name).replace("YYYY", r"\d{4}")
            rx = rx.replace(re.escape("<status>"), "(?:" + "|".join([*STATUSES, UNKNOWN]) + ")")
            rx = rx.replace(re.escape("<name>"), ".+")
            parts.append(rx)
        return re.compile("|".join(f"(?:{p})" for p in parts))

    def matches(self, column: str) -> bool:
        return self.pattern.fullmatch(column) is not None

    def docs_row(self) -> str:
        label = self.label or ", ".join(f"`{n}`" for n in self.names)
        return f"| {label} | {self.meaning} |"


def _c(names: str, meaning: str, label: str | None = None) -> Column:
    return Column(tuple(n.strip() for n in names.split(",")), meaning, label)


#: The ``plots`` layer of ``screening.gpkg`` (and of ``validate --out``).
PLOTS = (
    _c("plot_id", "the plot's id, from the input's id column (`row-1`, `row-2`… when the file has none)"),
    _c("source_row", "the 1-based position of the row in the input file"),
    _c(
        "input_<name>",
        "the input's own attributes, kept as they were; one whose name clashes with a column below, with `fid` "
        "or `geom`, or with another attribute — case aside, as GeoPackage field names are case-insensitive — is "
        "renamed `input_<name>` (`input_<name>_2`... when that is taken too)",
        label="*(input attributes)*, `input_<name>`",
    ),
    _c(
        "status",
        "the verdict: `deforestation_free`, `review`, `deforestation_detected`, `not_assessed` or `invalid`; see "
        "[What a status means](#what-a-status-means)",
    ),
    _c(
        "satellite_status",
        "in a screening settled by field checks: the status the satellite data gave, before the field checks",
    ),
    _c(
        "status_basis",
        "in a screening settled by field checks: `field_check` when the latest field check of the plot settled "
        "its status, `satellite` otherwise",
    ),
    _c("deforestation_free", "true for `deforestation_free`, false for `deforestation_detected`, NULL otherwise"),
    _c(
        "edge_only_loss",
        "true when every patch of the plot that counts (layer `loss_patches`) lies within `qc.edge_buffer_m` "
        "(30 m) of its boundary: a boundary drawn into the neighbour's forest gives that picture; check the "
        "boundary before the forest",
    ),
    _c(
        "status_reason",
        "why the plot has its status, in words, in the language of the run (the loss seen, the data missing, "
        "the QC error)",
    ),
    _c(
        "status_reason_code",
        "the code of the reason (its first part: `loss_detected`, `no_loss_forest`...; every code is listed in "
        "[Status reasons](#status-reasons)); never translated, for filters and scripts",
    ),
    _c(
        "status_reason_params",
        'the reason\'s parts as JSON, each a code and its numbers (`[{"code":"loss_detected","loss_ha":0.27,...}]`): '
        "`cacao-screen report --lang es` writes the reason again in another language from them",
    ),
    _c(
        "area_ha",
        "area of the polygon on the WGS84 ellipsoid, its edges straight in longitude/latitude as GeoJSON "
        "defines them — the same polygon whose pixel coverage is measured, so a plot entirely over forest "
        "has `forest_2000_ha` = `area_ha`. It differs from an area with geodesic edges (Karney) by a few "
        "millionths on tropical plots",
    ),
    _c("data_coverage_pct", "share of the plot's area over valid pixels of both rasters"),
    _c("forest_2000_ha", "Σ fraction × pixel area over valid pixels with tree cover > threshold"),
    _c("forest_ref_ha", "`forest_2000_ha` − loss in 2001…reference year: forest at the end of the reference year"),
    _c("loss_YYYY_ha", "Σ fraction × pixel area over forest pixels whose loss year is YYYY"),
    _c("loss_total_ha", "Σ `loss_YYYY_ha` over all years"),
    _c("loss_before_ref_ha", "loss in 2001…reference year (inclusive)"),
    _c("loss_after_ref_ha", "loss in the years after the reference year"),
    _c("first_loss_year_after_ref", "first year after the reference year with loss (NULL if none)"),
    _c(
        "loss_after_cutoff_forest_ha",
        "with maps of the cut-off day: the loss after the reference year on cells that were forest at the cut-off "
        "under the forest rule (`screening.forest_at_cutoff`) and not of agricultural use; computed on the finest "
        "grid of the layers ([forest-at-cutoff.md](forest-at-cutoff.md))",
    ),
    _c(
        "loss_after_agricultural_ha",
        "the loss after the reference year on cells a `land_use` map marks as agricultural use at the cut-off",
    ),
    _c(
        "loss_after_outside_forest_ha",
        "the loss after the reference year on cells the forest rule says were not forest",
    ),
    _c(
        "loss_after_unknown_ha",
        "the loss after the reference year where the forest maps have no data (counted as on forest: fail safe)",
    ),
    _c("forest_cutoff_ha", "the plot's forest at the cut-off under the forest rule, on the loss product's valid cells"),
    _c(
        "loss_context",
        "where the loss after the cut-off fell: `in_cutoff_forest`, `unknown`, `in_agricultural_use` or "
        "`outside_forest` (the first that holds any, in this order); NULL without loss after it",
    ),
    _c(
        "established_year",
        "the year the plot was established, read from `plots.established_column` (a year or a date); NULL when "
        "empty or unreadable",
    ),
    _c(
        "<name>_forest_cutoff_ha, <name>_forest_cutoff_pct",
        "a forest map's (`kind: forest_cover`) forest under the plot on its own grid, and its share of the plot's "
        "area where the map has data; NULL where it has none",
        label="`<name>_forest_cutoff_ha`, `<name>_forest_cutoff_pct`",
    ),
    _c(
        "<name>_agricultural_ha, <name>_agricultural_pct",
        "a land-use map's (`kind: land_use`) agricultural use under the plot, and its share of the plot's area where "
        "the map has data",
    ),
    _c(
        "ind_forest_YYYY_<name>, ind_loss_after_<name>",
        "per source, `yes`, `no` or `unknown`: the forest map shows forest under the plot at the cut-off; the loss "
        "product shows loss after it (as Whisp's indicators)",
    ),
    _c("qc_status", "`ok`, `warning` or `error`: the worst quality-control finding of the row"),
    _c("qc_summary", "the quality-control issues found, in words (layer `plot_issues` has one row per issue)"),
    _c(
        "screen_key",
        "a fingerprint of everything the plot's figures depend on (used by "
        "[`--incremental`](usage.md#reruns-idempotent-and-incremental))",
    ),
    _c(
        "row_digest",
        "a digest of the row's `screen_key`, `status` and figures: `--incremental` reuses a row only when it "
        "matches (a row edited since is screened again)",
    ),
    _c(
        "<name>_overlap_ha",
        "with an overlay named `<name>` ([overlays.md](overlays.md)): the plot's area inside the overlay's features, "
        "ha on the WGS84 ellipsoid (exact intersections; features that overlap each other counted once; a plot "
        "that only touches a feature does not overlap it)",
    ),
    _c("<name>_overlap_pct", "that area as a share of the plot's `area_ha`, %"),
    _c("<name>_names", "the overlay features the plot overlaps (their `name_column`), `; `-separated; empty when none"),
)

#: The columns each alert product adds to ``plots``, prefixed with its name (``gfw_integrated_alert_ha``).
ALERT_PRODUCT = (
    _c(
        "status, status_reason, status_reason_code, status_reason_params",
        "the product's own verdict (it takes part in `status` through `status_rule`); the reason names the "
        "area, the confidence and the dates, e.g. `0.27 ha of alerts after the cut-off 2020-12-31, more than the "
        "0.1 ha review tolerance; all of high confidence; alerts from 2022-03-01 to 2022-04-12` (with its code "
        "and parameters, as in `plots`)",
    ),
    _c(
        "data_coverage_pct",
        "share of the plot over valid alert data (under the product's tiles, with values the encoding defines)",
    ),
    _c(
        "alert_ha",
        "area of the alerts that count; it decides the product's status as `loss_after_ref_ha` does a loss product's",
    ),
    _c(
        "alert_low_ha, alert_high_ha, alert_highest_ha",
        "area of every alert after the cut-off day, by confidence — one column per level the product's "
        "encoding has (none without confidence)",
    ),
    _c(
        "first_alert_date, last_alert_date",
        "the first and last day (a GeoPackage DATE) with alerts that count (at least 0.01 m² that day); NULL without",
    ),
    _c("alert_to_cutoff_ha", "area of the alerts on or before the cut-off day, any confidence: history"),
)

#: ``alerts_by_month`` of ``screening.gpkg`` (with alert products).
ALERTS_BY_MONTH_PLOTS = (
    _c("plot_id, source_row", "the plot, as in `plots`"),
    _c("product", "the alert product"),
    _c("month", "`YYYY-MM`: the month of the alerts (all after the cut-off day)"),
    _c("confidence", "`low`, `high` or `highest`; NULL for products without confidence"),
    _c("counted", "whether these alerts count: at least the product's `min_confidence`"),
    _c("alert_ha", "area of the plot's alerts of that month and confidence"),
)

#: The other layers of ``screening.gpkg``.
LOSS_BY_YEAR = (
    _c("plot_id", "the plot's id, as in `plots`"),
    _c("source_row", "the plot's row in the input file, as in `plots`"),
    _c("product", "the loss product the figure comes from (its name in the config; `hansen` by default)"),
    _c("year", "the loss year"),
    _c("loss_ha", "forest lost inside the plot that year, ha (as `loss_YYYY_ha` of `plots`)"),
)
LOSS_PATCHES = (
    _c("plot_id, source_row", "the plot, as in `plots`"),
    _c("product", "the loss or alert product the patch comes from"),
    _c("kind", "`loss`: forest lost after the reference year; `alert`: alerts after the cut-off day"),
    _c("year", "the loss year; for an alert patch, the year of its alerts"),
    _c("alert_date, last_alert_date", "an alert patch's first and last alert day (`YYYY-MM-DD`); NULL for loss"),
    _c("confidence", "an alert patch's confidence: `low`, `high` or `highest`; NULL for loss"),
    _c("counted", "whether the patch counts toward the status: loss always; alerts of at least `min_confidence`"),
    _c(
        "area_ha",
        "Σ fraction × pixel area over the patch's cells, as in `loss_YYYY_ha`: the loss patches of a plot add up to "
        "its `loss_after_ref_ha`, its alert patches that count to its `<product>_alert_ha`",
    ),
    _c("share_of_plot_pct", "`area_ha` as a share of the plot's `area_ha`"),
    _c(
        "max_distance_from_edge_m",
        "how far inside the plot the patch reaches: the distance from the plot's boundary of the patch's deepest "
        "point, in metres (to 5 cm, or to a hundredth of it beyond 5 m: GEOS simplifies the outline it buffers)",
    ),
    _c("cells", "raster cells in the patch (8-connected, lost the same year; alerts: same year and confidence)"),
)
PLOT_ISSUES = (
    _c("plot_id", "the plot's id, as in `plots`"),
    _c("source_row", "the plot's row in the input file, as in `plots`"),
    _c("code", "the issue's code, listed in [qc.md](qc.md#quality-control-codes)"),
    _c("severity", "`error` (the plot is not screened: `invalid`), `warning` or `info`"),
    _c("message", "what was found, in words"),
)
RUN_METADATA = (
    _c("key", "the name of a run parameter or fact (reference year, inputs, version…)"),
    _c("value", "its value, as text"),
)

#: ``baseline_by_group`` and ``baseline_by_region`` (Σ over the group's plots).
GROUPS = (
    _c(
        "group_by, group",
        "the grouping (column names, `a,b` for a combined grouping) and the group's value (`x \\| y` when combined)",
    ),
    _c("region_id, region_name", "the region's code (e.g. the ubigeo) and name, or `unassigned`"),
    _c("n_plots", "number of plots, every status"),
    _c("n_<status>", "number of plots per status", label="`n_deforestation_free` … `n_invalid`"),
    _c("n_assessed", "`n_deforestation_free` + `n_review` + `n_deforestation_detected`"),
    _c(
        "n_field_checked",
        "plots whose status a field check settled (`status_basis` = `field_check`); counted in `n_<status>` too",
    ),
    _c("n_free_field_checked", "`deforestation_free` plots resting on a field check (`status_basis` = `field_check`)"),
    _c("area_ha", "Σ `area_ha` over plots with a geometry (status ≠ `invalid`)"),
    _c("area_assessed_ha", "Σ `area_ha` over assessed plots"),
    _c("deforestation_free_area_ha", "Σ `area_ha` over `deforestation_free` plots"),
    _c("deforestation_free_plots_pct", "100 × `n_deforestation_free` / `n_plots`"),
    _c("deforestation_free_area_pct", "100 × `deforestation_free_area_ha` / `area_ha`"),
    _c(
        "forest_2000_ha, forest_ref_ha",
        "Σ over assessed plots of the plot's forest in 2000 and at the end of the reference year",
    ),
    _c(
        "loss_before_ref_ha",
        "Σ over assessed plots of forest lost in 2001…reference year inside the plots: land where "
        "restoration can be targeted",
    ),
    _c("loss_after_ref_ha", "Σ over assessed plots of forest lost after the reference year"),
    _c(
        "baseline_mean_annual_loss_ha",
        "Σ `loss_YYYY_ha` over the baseline years / number of baseline years (ha per year)",
    ),
    _c("loss_YYYY_ha", "Σ over assessed plots of forest lost in year YYYY, every year of the product"),
    _c(
        "change_YYYY_vs_baseline_pct",
        "for each year after the reference year: 100 × (`loss_YYYY_ha` − `baseline_mean_annual_loss_ha`) / "
        "`baseline_mean_annual_loss_ha`; NULL when the baseline mean is 0 (below 1e-6 ha)",
    ),
    _c(
        "ring_area_ha",
        "with `--ring-m`: geodesic area of the union of the group's plots' rings (land near two plots counts once)",
    ),
    _c(
        "ring_forest_2000_ha, ring_loss_before_ref_ha",
        "Σ coverage × pixel area over that union: forest in 2000, and forest lost in 2001…reference year "
        "(cleared land around the plots)",
    ),
    _c("ring_data_coverage_pct", "share of that union over valid pixels (figures cover only that share)"),
)

#: Region totals (``--region-totals``, on with ``--regions``): columns of ``baseline_by_region``
#: and of the national row of ``baseline_by_group`` (NULL in the other rows).
REGION_TOTALS = (
    _c(
        "region_data_coverage_pct",
        "100 × area of the whole region over valid pixels / its area (the region figures cover only that share)",
    ),
    _c(
        "region_forest_2000_ha",
        "Σ coverage × pixel area over the **whole region**'s forest pixels in 2000 (the screening's product and "
        "forest definition); national row: Σ over the regions",
    ),
    _c(
        "region_baseline_mean_annual_loss_ha",
        "Σ `region_loss_YYYY_ha` over the baseline years / number of baseline years (ha per year)",
    ),
    _c("region_loss_YYYY_ha", "forest lost in year YYYY in the whole region, every year of the product"),
    _c(
        "cocoa_area_ha",
        "area of the **union** of the assessed plots reaching the region, clipped to it (overlaps count once; a "
        "plot crossing the border counts here for its part here)",
    ),
    _c(
        "cocoa_baseline_mean_annual_loss_ha",
        "mean annual forest loss over the baseline years inside that union (ha per year)",
    ),
    _c(
        "cocoa_baseline_mean_annual_loss_sum_of_plots_ha",
        "the same from the plots' own figures: `baseline_mean_annual_loss_ha` of the row (each plot whole in the "
        "region holding most of it, overlapping plots counted each time); national row: Σ over the regions "
        "(plots in no region left out); for comparison",
    ),
    _c(
        "cocoa_share_of_baseline_loss_pct",
        "100 × `cocoa_baseline_mean_annual_loss_ha` / `region_baseline_mean_annual_loss_ha`: the share of the "
        "region's baseline loss that lay in cocoa plots (0–100); NULL when the region lost nothing (below "
        "1e-6 ha) or has no valid data",
    ),
    _c(
        "cocoa_share_of_baseline_loss_sum_of_plots_pct",
        "100 × `cocoa_baseline_mean_annual_loss_sum_of_plots_ha` / `region_baseline_mean_annual_loss_ha`: the "
        "same from the sum of plot figures (may pass 100 where plots overlap); for comparison",
    ),
    _c(
        "cocoa_share_of_loss_YYYY_pct",
        "100 × forest lost in year YYYY inside the union / `region_loss_YYYY_ha` (0–100; NULL when the region "
        "lost nothing that year or has no valid data)",
    ),
    _c(
        "near_cocoa_area_ha",
        "with `--ring-m`: area of the land within `ring_m` metres of those plots and in no plot (the union "
        "of their rings), clipped to the region",
    ),
    _c(
        "near_cocoa_baseline_mean_annual_loss_ha",
        "with `--ring-m`: mean annual forest loss over the baseline years in that land (ha per year)",
    ),
    _c(
        "near_cocoa_share_of_baseline_loss_pct, near_cocoa_share_of_loss_YYYY_pct",
        "with `--ring-m`: the shares of the region's loss (baseline, year YYYY) in that land; cocoa + near cocoa "
        "= the share within `ring_m` metres of cocoa, plots included",
    ),
)

#: ``baseline_plots`` and ``restoration_rings`` (one row per plot).
BASELINE_PLOTS = (
    _c("plot_id, source_row, status", "as in the screening's `plots`"),
    _c("region_id, region_name", "the region holding most of the plot's area, or `unassigned`"),
    _c("region_overlap_pct", "100 × geodesic area of (plot ∩ region) / plot area"),
    _c(
        "group_<name>",
        "one column per grouping, named after it (`cooperative_id`, `producer_id`…): the plot's group; "
        "`group_<name>` when the name is taken",
        label="*(one per grouping)*, `group_<name>`",
    ),
    _c("area_ha, loss_before_ref_ha", "from the screening's `plots`"),
    _c(
        "ring_area_ha, ring_forest_2000_ha, ring_loss_before_ref_ha, ring_data_coverage_pct",
        "with `--ring-m`: the figures of the plot's own ring (as for a group, over the one ring)",
    ),
)

#: ``deliveries`` (one row per row of the deliveries CSV).
DELIVERIES = (
    _c("source_row", "the CSV's row (1-based; blank lines skipped but counted)"),
    _c("lot_id, plot_id", "as in the CSV"),
    _c("quantity", "the delivered quantity (the CSV's quantity column, in its unit)"),
    _c("buyer", "as in the CSV (when it has a `buyer` column)"),
    _c("date", "the delivery date (when the CSV has a `date` column)"),
    _c(
        "plot_status",
        "the status of the plot, or `unknown` when no plot of the screening has that id",
    ),
    _c(
        "plot_rows",
        "how many screening rows carry the id: 0 unknown; above 1, ambiguous, and the least favourable of "
        "their statuses is taken: detected, review, invalid, not assessed, free — never free unless all are",
    ),
)

#: ``lots`` (per ``lot_id``) and ``buyers`` (per ``buyer``).
SUPPLY = (
    _c("lot_id", "the lot (layer `lots`)"),
    _c(
        "buyer, n_lots",
        "the lot's buyer(s) (`lots`); the buyer (`buyers`, `(missing)` when empty) and its number of lots",
    ),
    _c("first_date, last_date", "earliest and latest delivery date (when the CSV has `date`)"),
    _c("n_deliveries, n_plots", "delivery rows; distinct plot ids"),
    _c("quantity", "Σ quantity"),
    _c(
        "quantity_<status>",
        "Σ quantity from plots of that status, and `quantity_unknown` from unknown plot ids",
    ),
    _c(
        "deforestation_free_quantity_pct",
        "100 × `quantity_deforestation_free` / `quantity` (NULL when the quantity is 0)",
    ),
    _c(
        "contains_<status>",
        "true when any delivery comes from a `deforestation_detected`, `review`, `not_assessed`, `invalid` or "
        "`unknown` plot",
    ),
    _c("deforestation_free", "true when every delivery comes from a `deforestation_free` plot"),
    _c(
        "unknown_plot_ids, ambiguous_plot_ids",
        "the plot ids in no plot of the screening; those naming several plots",
    ),
)

#: ``alerts_by_month`` of ``baseline.gpkg`` (with alert products).
ALERTS_BY_MONTH_GROUPS = (
    _c(
        "group_by, group",
        "`all` (national), each grouping as in `baseline_by_group` (the cooperative column, `--group-by`), "
        "and `region` with the region's id (with `--regions`; `unassigned` for plots in none)",
    ),
    _c("product", "the alert product"),
    _c("month", "`YYYY-MM`: the month of the alerts (all after the cut-off day)"),
    _c("n_plots", "plots with alerts that count that month"),
    _c("alert_ha", "Σ area of the alerts that count (after the cut-off, at least `min_confidence`)"),
    _c(
        "alert_low_ha, alert_high_ha, alert_highest_ha",
        "Σ area of every alert that month, by confidence (the levels the products have)",
    ),
)

#: ``status_changes`` (with ``--previous``).
STATUS_CHANGES = (
    _c("plot_id", "the plot's id; plots are matched by it (the k-th row of a repeated id with its k-th row then)"),
    _c("source_row, previous_source_row", "its row now and then"),
    _c(
        "change",
        "`status_changed`, `new_alerts` (same status, new alerts: see below), `new` (only now) or `gone` (only then)",
    ),
    _c("previous_status, status", "the status then and now"),
    _c("previous_loss_after_ref_ha, loss_after_ref_ha", "loss after the reference year then and now"),
    _c("first_loss_year_after_ref", "as in `plots`"),
    _c("status_reason", "as in `plots` (now)"),
    _c(
        "new_alerts",
        "with alert products: what is new, product by product (`gfw_integrated: +0.27 ha, last 2025-10-02`)",
    ),
    _c(
        "new_alert_ha",
        "with alert products: the largest increase of the area of alerts that count over the products",
    ),
)

#: Every table, by the name of its docs region (``<!-- columns-NAME:start -->``).
TABLES: dict[str, tuple[Column, ...]] = {
    "plots": PLOTS,
    "alert_product": ALERT_PRODUCT,
    "alerts_by_month_plots": ALERTS_BY_MONTH_PLOTS,
    "alerts_by_month_groups": ALERTS_BY_MONTH_GROUPS,
    "loss_by_year": LOSS_BY_YEAR,
    "loss_patches": LOSS_PATCHES,
    "plot_issues": PLOT_ISSUES,
    "run_metadata": RUN_METADATA,
    "groups": GROUPS,
    "region_totals": REGION_TOTALS,
    "baseline_plots": BASELINE_PLOTS,
    "deliveries": DELIVERIES,
    "supply": SUPPLY,
    "status_changes": STATUS_CHANGES,
}

#: Which table describes each layer of ``screening.gpkg`` (and ``validate --out``).
SCREENING_LAYERS = {
    "plots": PLOTS,
    "loss_by_year": LOSS_BY_YEAR,
    "loss_patches": LOSS_PATCHES,
    "plot_issues": PLOT_ISSUES,
    "alerts_by_month": ALERTS_BY_MONTH_PLOTS,
    "run_metadata": RUN_METADATA,
}
#: Which table describes each layer of ``baseline.gpkg``.
BASELINE_LAYERS = {
    "run_metadata": RUN_METADATA,
    "alerts_by_month": ALERTS_BY_MONTH_GROUPS,
    "baseline_by_group": GROUPS + REGION_TOTALS,
    "baseline_by_region": GROUPS + REGION_TOTALS,
    "baseline_plots": BASELINE_PLOTS,
    "restoration_rings": BASELINE_PLOTS,
    "deliveries": DELIVERIES,
    "lots": SUPPLY,
    "buyers": SUPPLY,
    "status_changes": STATUS_CHANGES,
}


def markdown_table(rows: tuple[Column, ...]) -> str:
    """The docs table of ``rows``: column, meaning."""
    return "\n".join(["| column | meaning |", "| --- | --- |", *(r.docs_row() for r in rows)]) + "\n"


_LINK = re.compile(r"\[([^\]]*)\]\([^)]*\)")


def plain(markdown: str) -> str:
    """Markdown as plain text: links keep their text, code spans their code, escapes go."""
    text = _LINK.sub(r"\1", markdown)
    return text.replace("`", "").replace("*", "").replace("\\|", "|")


def describe(layer: str, column: str, products: tuple[str, ...] = (), file: str = "screening") -> str | None:
    """What ``column`` of ``layer`` of ``file`` (``screening`` or ``baseline``) means, as plain
    text; None when no row names it.

    With several products (``products``, the primary first), ``<product>_<column>`` is the
    product's own figure: its description is the column's, measured on that product alone (an
    alert product's columns: :data:`ALERT_PRODUCT`).
    """
    tables = BASELINE_LAYERS if file == "baseline" else SCREENING_LAYERS
    for row in tables.get(layer, ()):
        if row.matches(column):
            return plain(_(row.meaning))
    for p in products:
        if column.startswith(f"{p}_") and layer == "plots":
            inner = column[len(p) + 1 :]
            for row in ALERT_PRODUCT:
                if row.matches(inner) and inner not in ("status", *REASON_COLUMNS, "data_coverage_pct"):
                    return tr("{product}: {meaning}", product=p, meaning=plain(_(row.meaning)))
            text = describe(layer, inner, file=file)
            if text is not None:
                return tr("{product} alone: {meaning}", product=p, meaning=text)
    return None


#: The description of an input attribute carried into an output layer.
INPUT_ATTRIBUTE = N_("an attribute of the input file, kept as it was")
#: The description of another column of the deliveries CSV, carried into ``deliveries``.
DELIVERY_ATTRIBUTE = N_("a column of the deliveries file, kept as it was")


def grouping_text(name: str) -> str:
    """The description of a grouping's column in ``baseline_plots``."""
    return tr("the plot's group in the grouping by {name}", name=name)


def describe_layers(
    columns: dict[str, list[str]],
    products: tuple[str, ...] = (),
    given: dict[str, dict[str, str]] | None = None,
    file: str = "screening",
) -> dict[str, dict[str, str]]:
    """{layer: {column: description}} for the columns of each layer; ``given`` describes the
    columns only the job knows (input attributes: :data:`INPUT_ATTRIBUTE`; groupings:
    :func:`grouping_text`) and wins over the tables."""
    out: dict[str, dict[str, str]] = {}
    for layer, cols in columns.items():
        own = (given or {}).get(layer, {})
        found = {}
        for c in cols:
            text = _(own[c]) if own.get(c) else describe(layer, c, products, file)
            if text is not None:
                found[c] = text
        out[layer] = found
    return out
