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

from ..vocab import CHECK_COLUMNS, FORM_FIELDS

#: The QGIS version the styles are written for.
QGIS_VERSION = "3.28.0-Firenze"

#: The languages of the form: code -> (style name, position of the label in the value lists).
LANGUAGES = {"es": ("formulario de campo (es)", 1), "en": ("field form (en)", 0)}

#: Labels of every field of ``checks``, by language.
LABELS = {
    "plot_id": ("Plot id", "Código de parcela"),
    "producer": ("Producer", "Productor"),
    "group": ("Group", "Grupo"),
    "status": ("Satellite status", "Estado satelital"),
    "status_reason": ("Why", "Motivo"),
    "area_ha": ("Area (ha)", "Área (ha)"),
    "loss_after_ref_ha": ("Forest loss after the cut-off (ha)", "Pérdida de bosque después de la fecha de corte (ha)"),
    "loss_years": ("Years of loss", "Años de pérdida"),
    "field_verdict": ("Verdict in the field", "Veredicto en campo"),
    "land_use_2020": ("Land use in 2020", "Uso del suelo en 2020"),
    "shade_trees_removed": ("Shade trees removed?", "¿Se quitaron árboles de sombra?"),
    "photos": ("Photos", "Fotos"),
    "checked_by": ("Checked by", "Verificado por"),
    "checked_on": ("Checked on", "Fecha de verificación"),
    "notes": ("Notes", "Notas"),
}

#: The constraint on ``checked_on`` and its description, by language.
DATE_CONSTRAINT = "\"checked_on\" <= format_date(now(), 'yyyy-MM-dd')"
DATE_CONSTRAINT_TEXT = ("The date cannot be in the future", "La fecha no puede estar en el futuro")


def _option(name: str, value: str) -> str:
    return f'<Option type="QString" name={quoteattr(name)} value={quoteattr(value)}/>'


def _widget(name: str, values: dict | None, lang: int) -> str:
    if values is not None:
        items = "".join(f'<Option type="Map">{_option(labels[lang], code)}</Option>' for code, labels in values.items())
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
    lang = LANGUAGES[language][1]
    lists = {name: values for name, values, _ in FORM_FIELDS}
    required = {name for name, _, req in FORM_FIELDS if req}
    names = [*CHECK_COLUMNS, *lists]
    fields = "".join(
        f'<field name={quoteattr(n)} configurationFlags="None">{_widget(n, lists.get(n), lang)}</field>' for n in names
    )
    aliases = "".join(
        f"<alias field={quoteattr(n)} index={quoteattr(str(i + 1))} name={quoteattr(LABELS[n][lang])}/>"
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
        f"desc={quoteattr(DATE_CONSTRAINT_TEXT[lang] if n == 'checked_on' else '')}/>"
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
