"""The project's vocabulary: statuses and their precedence, shared column names (and the one
rule that names input attributes beside them), labels and metadata keys. Every module may import
this one, and it imports only :mod:`pipeline.i18n` (to mark texts for translation).
"""

from __future__ import annotations

from .i18n import N_

# --- Statuses -----------------------------------------------------------------------------------

FREE = "deforestation_free"
REVIEW = "review"
DETECTED = "deforestation_detected"
NOT_ASSESSED = "not_assessed"
INVALID = "invalid"

#: Every plot status, in the order summaries list them.
STATUSES = (FREE, REVIEW, DETECTED, NOT_ASSESSED, INVALID)

#: What each status means, in a few words (``--help``, the GeoPackage's value list, the report);
#: English message ids: show them through ``pipeline.i18n._``.
STATUS_MEANINGS = {
    FREE: N_("no forest loss after the reference year"),
    REVIEW: N_("some forest loss after the reference year, at most --review-max-ha (check imagery)"),
    DETECTED: N_("more forest loss after the reference year than --review-max-ha"),
    NOT_ASSESSED: N_("less than --min-data-coverage-pct of the plot over valid data"),
    INVALID: N_("the geometry cannot be screened (see status_reason)"),
}

#: Each status in words, for legends (QGIS styles, the report): the codes stay in the data.
STATUS_LABELS = {
    FREE: N_("deforestation-free"),
    REVIEW: N_("review"),
    DETECTED: N_("deforestation detected"),
    NOT_ASSESSED: N_("not assessed"),
    INVALID: N_("invalid"),
}

#: Statuses whose figures describe the whole plot (the data covers it).
ASSESSED = (FREE, REVIEW, DETECTED)

#: The least favourable first. When several verdicts meet — the products screening one plot
#: (status rule ``any``), or the rows sharing one plot id that a delivery names — the first of
#: these present wins, so nothing is ever called free unless every verdict is free.
STATUS_PRECEDENCE = (INVALID, DETECTED, NOT_ASSESSED, REVIEW, FREE)

#: The order in which people act on plots (the report's lists, the cooperative tables): the plots
#: to leave out first, then those to check, those without a verdict, and the free ones last.
SEVERITY = (DETECTED, REVIEW, NOT_ASSESSED, INVALID, FREE)

#: Loss below this many hectares (0.01 m²) is floating-point noise, not loss.
ZERO_HA = 1e-6

# --- Columns ------------------------------------------------------------------------------------

#: Per-product figures of the ``plots`` layer (besides ``loss_YYYY_ha``), in output order.
MAIN_COLUMNS = (
    "data_coverage_pct",
    "forest_2000_ha",
    "forest_ref_ha",
    "loss_total_ha",
    "loss_before_ref_ha",
    "loss_after_ref_ha",
    "first_loss_year_after_ref",
)

#: Columns of a quality-control finding (layer ``plot_issues``).
ISSUE_COLUMNS = ("plot_id", "source_row", "code", "severity", "message")

#: Columns the pipeline gives every plot first; an input attribute of the same name is renamed.
PLOT_KEY_COLUMNS = ("plot_id", "source_row")

#: Names a GeoPackage layer uses itself: the feature id and the geometry column (``geom`` is
#: GDAL's default name for it; frames call theirs ``geometry``). No attribute may take them.
GPKG_OWN_COLUMNS = ("fid", "geom", "geometry")

#: The prefix of an input attribute renamed because its name is taken (``input_status``...).
INPUT_PREFIX = "input_"


def attribute_names(attributes, taken) -> list[str]:
    """The output name of each input attribute, unique case-insensitively (GeoPackage field names
    are): its own name unless a pipeline column (``taken``), a name of :data:`GPKG_OWN_COLUMNS` or
    an earlier attribute has it, case aside; else ``input_<name>``, or ``input_<name>_2``, ``_3``...
    when that is taken too. Every attribute keeps a name: none is ever dropped or overwritten.
    Returns the names in the attributes' order (repeated attributes get names of their own).
    """
    attributes = [str(a) for a in attributes]
    used = {str(t).lower() for t in taken} | set(GPKG_OWN_COLUMNS)
    out: list[str | None] = [None] * len(attributes)
    for i, a in enumerate(attributes):  # first, every attribute that can keep its name keeps it
        if a.lower() not in used:
            out[i] = a
            used.add(a.lower())
    for i, a in enumerate(attributes):
        if out[i] is None:
            name, k = f"{INPUT_PREFIX}{a}", 1
            while name.lower() in used:
                k += 1
                name = f"{INPUT_PREFIX}{a}_{k}"
            out[i] = name
            used.add(name.lower())
    return [str(n) for n in out]


# --- Group labels (baseline) --------------------------------------------------------------------

#: The region of a plot that lies in no region (or has no geometry).
UNASSIGNED = "unassigned"
#: The group of a plot whose grouping column is empty.
MISSING_VALUE = "(missing)"
#: ``group_by`` and ``group`` of the national row.
NATIONAL = "all"
#: A delivery whose ``plot_id`` is in no row of the screening.
UNKNOWN = "unknown"

# --- Products -----------------------------------------------------------------------------------

#: The layers each Hansen Global Forest Change release publishes, one GeoTIFF per 10° tile.
HANSEN_LAYERS = ("lossyear", "treecover2000", "datamask", "gain", "first", "last")

#: The ``kind`` of a deforestation-alert product in ``datasets``.
ALERTS_KIND = "alerts"
#: Confidence levels of an alert, from the lowest; a product's encoding names which it has.
CONFIDENCE_LEVELS = ("low", "high", "highest")
#: Per-product figures of an alert product in the ``plots`` layer (prefixed ``<name>_``), besides
#: ``alert_<level>_ha`` for each confidence level of its encoding.
ALERT_COLUMNS = (
    "data_coverage_pct",
    "alert_ha",
    "first_alert_date",
    "last_alert_date",
    "alert_to_cutoff_ha",
)
#: Layer of ``screening.gpkg`` (and of ``baseline.gpkg``) with the alert area per month after the cut-off.
ALERTS_BY_MONTH = "alerts_by_month"
#: Layer of ``screening.gpkg`` with every patch of forest lost after the reference year in a plot.
LOSS_PATCHES = "loss_patches"

# --- The field check (a package of forms, the review log) ---------------------------------------

#: The values of the form's fields with a list: code -> English label (a message id: the form
#: shows it in its language through the catalogs, ``pipeline.io.forms``).
FIELD_VERDICTS = {
    "no_deforestation": N_("No deforestation"),
    "deforestation": N_("Deforestation"),
    "cannot_tell": N_("Cannot tell"),
}
LAND_USES = {
    "cocoa": N_("Cocoa"),
    "forest": N_("Forest"),
    "other_crop": N_("Other crop"),
    "pasture": N_("Pasture"),
    "fallow": N_("Fallow"),
    "unknown": N_("Unknown"),
}
YES_NO = {"yes": N_("Yes"), "no": N_("No")}

#: The form's fields, in order: (name, list of values or None, required).
FORM_FIELDS: tuple[tuple[str, dict | None, bool], ...] = (
    ("field_verdict", FIELD_VERDICTS, True),
    ("land_use_2020", LAND_USES, False),
    ("shade_trees_removed", YES_NO, False),
    ("photos", None, False),
    ("checked_by", None, True),
    ("checked_on", None, True),
    ("notes", None, False),
)
FORM_NAMES = tuple(name for name, _, _ in FORM_FIELDS)

#: The columns of ``checks`` before the form (what the screening says; read-only in the form).
CHECK_COLUMNS = (
    "plot_id",
    "producer",
    "group",
    "status",
    "status_reason",
    "area_ha",
    "loss_after_ref_ha",
    "loss_years",
)

#: The columns of a review record (the ``reviews`` log), in order.
REVIEW_COLUMNS = (
    "record_key",
    "plot_id",
    "field_verdict",
    "land_use_2020",
    "shade_trees_removed",
    "checked_by",
    "checked_on",
    "notes",
    "photos",
    "screening_sha256",
    "screening_created_utc",
    "seen_status",
    "seen_loss_after_ref_ha",
    "seen_loss_years",
    "pack",
    "imported_utc",
)


# --- Metadata keys (table ``run_metadata``) -----------------------------------------------------

#: The effective run configuration as JSON: what a later step (the baseline) reads the
#: screening's parameters from, with the same model that validated them.
META_CONFIG = "config"
META_GENERATOR = "generator"
META_CREATED = "created_utc"
META_REFERENCE_YEAR = "reference_year"

# --- Exit codes ---------------------------------------------------------------------------------

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_USAGE = 2
#: ``validate``: some plots have errors (screening would mark them ``invalid``).
EXIT_PLOT_ERRORS = 3
#: A screening whose share of ``not_assessed`` plots is above ``--max-not-assessed-pct`` (outputs written).
EXIT_NOT_ASSESSED = 4
#: Another run is writing the same output (EX_TEMPFAIL: try again later, or pass ``--wait-lock``).
EXIT_LOCKED = 75
#: Interrupted by Ctrl-C (SIGINT) or by SIGTERM (``timeout``, systemd): 128 + the signal's number.
EXIT_INTERRUPTED = 130
EXIT_TERMINATED = 143
