"""The field form of a check package as QGIS styles (QML): what QGIS and QField show.

The form lives in the package itself, in QGIS's ``layer_styles`` table (a style per language:
Spanish, the default, and English): value-map widgets for the fields with a list
(``field_verdict``, ``land_use_2020``, ``shade_trees_removed``), a date widget for
``checked_on``, a photo widget for ``photos``, labels (aliases) for every field, the screening's
fields read-only, and the required fields as constraints (with a date not in the future). QField
opens the GeoPackage's layers with their default style: the form is ready without a QGIS project.
"""

from __future__ import annotations

from xml.sax.saxutils import quoteattr

from ..i18n import N_, _, using
from ..vocab import CHECK_COLUMNS, FORM_FIELDS

#: The QGIS version the styles are written for.
QGIS_VERSION = "3.28.0-Firenze"

#: The languages of the form: code -> its style's name (Spanish first: the default).
LANGUAGES = {"es": "formulario de campo (es)", "en": "field form (en)"}

#: Labels of every field of ``checks`` (message ids: each style shows them in its language).
LABELS = {
    "plot_id": N_("Plot id"),
    "producer": N_("Producer"),
    "group": N_("Group"),
    "status": N_("Satellite status"),
    "status_reason": N_("Why"),
    "area_ha": N_("Area (ha)"),
    "loss_after_ref_ha": N_("Forest loss after the cut-off (ha)"),
    "loss_years": N_("Years of loss"),
    "field_verdict": N_("Verdict in the field"),
    "land_use_2020": N_("Land use in 2020"),
    "shade_trees_removed": N_("Shade trees removed?"),
    "photos": N_("Photos"),
    "checked_by": N_("Checked by"),
    "checked_on": N_("Checked on"),
    "notes": N_("Notes"),
}

#: The constraint on ``checked_on`` and its description.
DATE_CONSTRAINT = "\"checked_on\" <= format_date(now(), 'yyyy-MM-dd')"
DATE_CONSTRAINT_TEXT = N_("The date cannot be in the future")


def _option(name: str, value: str) -> str:
    return f'<Option type="QString" name={quoteattr(name)} value={quoteattr(value)}/>'


def _widget(name: str, values: dict | None) -> str:
    if values is not None:
        items = "".join(f'<Option type="Map">{_option(_(label), code)}</Option>' for code, label in values.items())
        config = f'<Option type="Map"><Option type="List" name="map">{items}</Option></Option>'
        return f'<editWidget type="ValueMap"><config>{config}</config></editWidget>'
    if name == "checked_on":
        config = (
            '<Option type="Map"><Option type="bool" name="allow_null" value="true"/>'
            '<Option type="bool" name="calendar_popup" value="true"/>'
            + _option("display_format", "yyyy-MM-dd")
            + _option("field_format", "yyyy-MM-dd")
            + '<Option type="bool" name="field_iso_format" value="false"/></Option>'
        )
        return f'<editWidget type="DateTime"><config>{config}</config></editWidget>'
    if name == "photos":
        config = (
            '<Option type="Map"><Option type="int" name="DocumentViewer" value="1"/>'
            '<Option type="bool" name="FileWidget" value="true"/>'
            '<Option type="bool" name="FileWidgetButton" value="true"/>'
            '<Option type="int" name="RelativeStorage" value="1"/></Option>'
        )
        return f'<editWidget type="ExternalResource"><config>{config}</config></editWidget>'
    multiline = "true" if name in ("notes", "status_reason") else "false"
    config = f'<Option type="Map"><Option type="bool" name="IsMultiline" value="{multiline}"/></Option>'
    return f'<editWidget type="TextEdit"><config>{config}</config></editWidget>'


def form_qml(language: str, renderer: str = "") -> str:
    """The QML of the ``checks`` layer's form in ``language`` (``es`` or ``en``); ``renderer``: a
    ``<renderer-v2>`` element to include (the symbology)."""
    with using(language):
        return _form_qml(renderer)


def _form_qml(renderer: str) -> str:
    lists = {name: values for name, values, _req in FORM_FIELDS}
    required = {name for name, _values, req in FORM_FIELDS if req}
    names = [*CHECK_COLUMNS, *lists]
    fields = "".join(
        f'<field name={quoteattr(n)} configurationFlags="None">{_widget(n, lists.get(n))}</field>' for n in names
    )
    aliases = "".join(
        f"<alias field={quoteattr(n)} index={quoteattr(str(i + 1))} name={quoteattr(_(LABELS[n]))}/>"
        for i, n in enumerate(names)
    )

    def constraint(n: str) -> str:
        notnull, expression = int(n in required), int(n == "checked_on")
        return (
            f'<constraint field={quoteattr(n)} constraints="{notnull + 4 * expression}" '
            f'notnull_strength="{notnull}" unique_strength="0" exp_strength="{expression}"/>'
        )

    constraints = "".join(constraint(n) for n in names)
    expressions = "".join(
        f"<constraint field={quoteattr(n)} exp={quoteattr(DATE_CONSTRAINT if n == 'checked_on' else '')} "
        f"desc={quoteattr(_(DATE_CONSTRAINT_TEXT) if n == 'checked_on' else '')}/>"
        for n in names
    )
    editable = "".join(f'<field name={quoteattr(n)} editable="{0 if n in CHECK_COLUMNS else 1}"/>' for n in names)
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology|Fields|Forms">{renderer}'
        f"<fieldConfiguration>{fields}</fieldConfiguration><aliases>{aliases}</aliases>"
        f"<constraints>{constraints}</constraints><constraintExpressions>{expressions}</constraintExpressions>"
        f'<editform tolerant="1"></editform><editforminit/><editforminitcodesource>0</editforminitcodesource>'
        f"<editable>{editable}</editable><editorlayout>generatedlayout</editorlayout>"
        "<layerGeometryType>2</layerGeometryType></qgis>\n"
    )
