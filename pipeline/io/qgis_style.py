"""QGIS styles of the GeoPackages' layers, as QML (what QGIS reads) and SLD: a polygon symbol per
class, categories of a field (plots by status) or ranges (regions by their deforestation-free
share), and the layers' field aliases. :mod:`pipeline.io.gpkg_style` stores them in
``layer_styles``.
"""

from __future__ import annotations

from dataclasses import dataclass
from xml.sax.saxutils import escape, quoteattr

from ..i18n import _, tr
from ..vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, STATUS_LABELS, STATUSES

#: The QGIS version the QML declares (QGIS reads styles of older versions).
QGIS_VERSION = "3.22.0-Białowieża"


# --- Styles ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Symbol:
    """A polygon symbol: fill colour (None: no fill), outline colour and width, dashed or not."""

    fill: str | None
    stroke: str = "#232323"
    width_mm: float = 0.26
    dashed: bool = False
    opacity: float = 1.0  # of the fill


@dataclass(frozen=True)
class Class:
    """One class of a style: a category value, or a range ``lower``..``upper`` (inclusive)."""

    label: str
    symbol: Symbol
    value: str | None = None
    lower: float | None = None
    upper: float | None = None


@dataclass(frozen=True)
class LayerStyle:
    """A layer's default style: a single symbol, categories of ``field`` or ranges of ``field``."""

    name: str
    description: str
    classes: tuple[Class, ...]
    field: str | None = None
    kind: str = "single"  # single | categorized | graduated

    def qml(self, aliases: dict[str, str] | None = None) -> str:
        return _qml(self, aliases)

    def sld(self, layer: str) -> str:
        return _sld(self, layer)


STATUS_COLOURS = {
    FREE: "#1a9850",
    REVIEW: "#f5a623",
    DETECTED: "#d73027",
    NOT_ASSESSED: "#9e9e9e",
    INVALID: None,  # outlined
}


def status_symbol(status: str) -> Symbol:
    if status == INVALID:
        return Symbol(None, stroke="#5e3c99", width_mm=0.6, dashed=True)
    return Symbol(STATUS_COLOURS[status], stroke="#232323", width_mm=0.2)


def status_style() -> LayerStyle:
    """Plots by status, the legend in the language in use (the values stay the status codes)."""
    return LayerStyle(
        "cacao-screen status",
        _("Plots coloured by status: free green, review amber, detected red, not assessed grey, invalid outlined"),
        tuple(Class(_(STATUS_LABELS[s]), status_symbol(s), value=s) for s in STATUSES),
        field="status",
        kind="categorized",
    )


#: Classes of the deforestation-free share of area (%), from red to green.
FREE_SHARE_BREAKS = (
    (0, 50, "#d73027"),
    (50, 75, "#fc8d59"),
    (75, 90, "#fee08b"),
    (90, 99, "#91cf60"),
    (99, 100, "#1a9850"),
)


def free_share_style() -> LayerStyle:
    return LayerStyle(
        "cacao-screen free area",
        _(
            "Regions graduated by deforestation_free_area_pct, the share of their plots' area that is "
            "deforestation-free"
        ),
        tuple(
            Class(tr("{lower:g} – {upper:g} % of plot area free", lower=lo, upper=hi),
                  Symbol(c, stroke="#4d4d4d", width_mm=0.3, opacity=0.75), lower=lo, upper=hi)
            for lo, hi, c in FREE_SHARE_BREAKS
        ),
        field="deforestation_free_area_pct",
        kind="graduated",
    )  # fmt: skip


def ring_style() -> LayerStyle:
    return LayerStyle(
        "cacao-screen rings",
        _("Restoration rings outlined"),
        (Class(_("ring around a plot"), Symbol(None, stroke="#e66101", width_mm=0.4)),),
    )


#: Colours of the loss patches by year: from yellow (the first years after the cut-off) to dark purple.
PATCH_YEAR_COLOURS = (
    "#ffffb2", "#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026", "#67001f", "#49006a",
)  # fmt: skip
#: The first year of the patch style's own colours (earlier years share the first colour).
PATCH_FIRST_YEAR = 2021


def patch_style() -> LayerStyle:
    n = len(PATCH_YEAR_COLOURS)
    classes = [
        Class(
            tr("up to {year}", year=PATCH_FIRST_YEAR),
            Symbol(PATCH_YEAR_COLOURS[0], stroke="#6b0000", width_mm=0.2),
            lower=1900,
            upper=PATCH_FIRST_YEAR,
        )
    ]
    for i in range(1, n):
        year = PATCH_FIRST_YEAR + i
        label = str(year) if i < n - 1 else tr("{year} and later", year=year)
        upper = year if i < n - 1 else 2999
        classes.append(
            Class(label, Symbol(PATCH_YEAR_COLOURS[i], stroke="#6b0000", width_mm=0.2), lower=year - 1, upper=upper)
        )
    return LayerStyle(
        "cacao-screen loss patches",
        _(
            "Patches of forest lost (and alert patches) after the cut-off, coloured by year: yellow the "
            "earliest, dark purple the latest"
        ),
        tuple(classes),
        field="year",
        kind="graduated",
    )  # fmt: skip


#: The default style of each layer that has one.
DEFAULT_STYLES = {
    "loss_patches": patch_style,
    "plots": status_style,
    "baseline_plots": status_style,
    "baseline_by_region": free_share_style,
    "restoration_rings": ring_style,
}


def _rgba(colour: str | None, opacity: float = 1.0) -> str:
    if colour is None:
        return "0,0,0,0"
    c = colour.lstrip("#")
    return f"{int(c[0:2], 16)},{int(c[2:4], 16)},{int(c[4:6], 16)},{round(255 * opacity)}"


def _symbol_qml(name: str, s: Symbol) -> str:
    props = {
        "border_width_map_unit_scale": "3x:0,0,0,0,0,0",
        "color": _rgba(s.fill, s.opacity),
        "joinstyle": "bevel",
        "offset": "0,0",
        "offset_map_unit_scale": "3x:0,0,0,0,0,0",
        "offset_unit": "MM",
        "outline_color": _rgba(s.stroke),
        "outline_style": "dash" if s.dashed else "solid",
        "outline_width": f"{s.width_mm:g}",
        "outline_width_unit": "MM",
        "style": "no" if s.fill is None else "solid",
    }
    options = "".join(f'<Option type="QString" name="{k}" value={quoteattr(v)}/>' for k, v in props.items())
    legacy = "".join(f"<prop k={quoteattr(k)} v={quoteattr(v)}/>" for k, v in props.items())
    return (
        f'<symbol type="fill" name="{name}" alpha="1" clip_to_extent="1" force_rhr="0">'
        '<data_defined_properties><Option type="Map"><Option type="QString" name="name" value=""/>'
        '<Option name="properties"/><Option type="QString" name="type" value="collection"/></Option>'
        "</data_defined_properties>"
        f'<layer class="SimpleFill" enabled="1" locked="0" pass="0"><Option type="Map">{options}</Option>{legacy}'
        '<data_defined_properties><Option type="Map"><Option type="QString" name="name" value=""/>'
        '<Option name="properties"/><Option type="QString" name="type" value="collection"/></Option>'
        "</data_defined_properties></layer></symbol>"
    )


def _aliases(aliases: dict[str, str] | None) -> str:
    """QGIS's field aliases (the ``Fields`` style category)."""
    if not aliases:
        return ""
    items = "".join(
        f"<alias field={quoteattr(f)} index={quoteattr(str(i))} name={quoteattr(a)}/>"
        for i, (f, a) in enumerate(aliases.items())
    )
    return f"<aliases>{items}</aliases>"


def fields_qml(aliases: dict[str, str]) -> str:
    """A style of field aliases only (a layer without a symbology: an attribute table)."""
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{QGIS_VERSION}" styleCategories="Fields">{_aliases(aliases)}</qgis>\n'
    )


def _qml(style: LayerStyle, aliases: dict[str, str] | None = None) -> str:
    symbols = "".join(_symbol_qml(str(i), c.symbol) for i, c in enumerate(style.classes))
    if style.kind == "categorized":
        cats = "".join(
            f'<category render="true" symbol="{i}" value={quoteattr(str(c.value))} label={quoteattr(c.label)}/>'
            for i, c in enumerate(style.classes)
        )
        renderer = (
            f'<renderer-v2 type="categorizedSymbol" attr={quoteattr(str(style.field))} symbollevels="0" '
            f'enableorderby="0" forceraster="0" referencescale="-1"><categories>{cats}</categories>'
            f"<symbols>{symbols}</symbols><rotation/><sizescale/></renderer-v2>"
        )
    elif style.kind == "graduated":
        ranges = "".join(
            f'<range render="true" symbol="{i}" lower="{c.lower:.6f}" upper="{c.upper:.6f}" '
            f"label={quoteattr(c.label)}/>"
            for i, c in enumerate(style.classes)
        )
        renderer = (
            f'<renderer-v2 type="graduatedSymbol" attr={quoteattr(str(style.field))} graduatedMethod="GraduatedColor" '
            f'symbollevels="0" enableorderby="0" forceraster="0" referencescale="-1"><ranges>{ranges}</ranges>'
            f'<symbols>{symbols}</symbols><mode name="fixed"/><rotation/><sizescale/>'
            '<classificationMethod id="Fixed"><symmetricMode enabled="0" symmetrypoint="0" astride="0"/>'
            '<labelFormat format="%1 - %2" trimtrailingzeroes="1" labelprecision="0"/>'
            "<extraInformation/></classificationMethod></renderer-v2>"
        )
    else:
        renderer = (
            '<renderer-v2 type="singleSymbol" symbollevels="0" enableorderby="0" forceraster="0" '
            f'referencescale="-1"><symbols>{symbols}</symbols><rotation/><sizescale/></renderer-v2>'
        )
    return (
        "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>\n"
        f'<qgis version="{QGIS_VERSION}" styleCategories="{"Symbology|Fields" if aliases else "Symbology"}">'
        f"{renderer}{_aliases(aliases)}"
        "<blendMode>0</blendMode><featureBlendMode>0</featureBlendMode><layerGeometryType>2</layerGeometryType>"
        "</qgis>\n"
    )


def _symbolizer_sld(s: Symbol) -> str:
    fill = (
        f'<se:Fill><se:SvgParameter name="fill">{s.fill}</se:SvgParameter>'
        f'<se:SvgParameter name="fill-opacity">{s.opacity:g}</se:SvgParameter></se:Fill>'
        if s.fill is not None
        else ""
    )
    width_px = s.width_mm * 96 / 25.4
    dash = '<se:SvgParameter name="stroke-dasharray">6 3</se:SvgParameter>' if s.dashed else ""
    return (
        f"<se:PolygonSymbolizer>{fill}<se:Stroke>"
        f'<se:SvgParameter name="stroke">{s.stroke}</se:SvgParameter>'
        f'<se:SvgParameter name="stroke-width">{width_px:.2f}</se:SvgParameter>'
        f'<se:SvgParameter name="stroke-linejoin">bevel</se:SvgParameter>{dash}'
        "</se:Stroke></se:PolygonSymbolizer>"
    )


def _prop(op: str, field: str, literal: str) -> str:
    name, value = escape(field), escape(literal)
    return f"<ogc:{op}><ogc:PropertyName>{name}</ogc:PropertyName><ogc:Literal>{value}</ogc:Literal></ogc:{op}>"


def _sld(style: LayerStyle, layer: str) -> str:
    rules = []
    for c in style.classes:
        flt = ""
        if style.kind == "categorized":
            flt = f"<ogc:Filter>{_prop('PropertyIsEqualTo', str(style.field), str(c.value))}</ogc:Filter>"
        elif style.kind == "graduated":
            field = str(style.field)
            flt = (
                "<ogc:Filter><ogc:And>"
                f"{_prop('PropertyIsGreaterThanOrEqualTo', field, f'{c.lower:g}')}"
                f"{_prop('PropertyIsLessThanOrEqualTo', field, f'{c.upper:g}')}"
                "</ogc:And></ogc:Filter>"
            )
        rules.append(
            f"<se:Rule><se:Name>{escape(c.label)}</se:Name><se:Description><se:Title>{escape(c.label)}</se:Title>"
            f"</se:Description>{flt}{_symbolizer_sld(c.symbol)}</se:Rule>"
        )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<StyledLayerDescriptor xmlns="http://www.opengis.net/sld" xmlns:ogc="http://www.opengis.net/ogc" '
        'xmlns:se="http://www.opengis.net/se" xmlns:xlink="http://www.w3.org/1999/xlink" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" version="1.1.0" '
        'xsi:schemaLocation="http://www.opengis.net/sld http://schemas.opengis.net/sld/1.1.0/StyledLayerDescriptor.xsd">'
        f"<NamedLayer><se:Name>{escape(layer)}</se:Name><UserStyle><se:Name>{escape(style.name)}</se:Name>"
        f"<se:FeatureTypeStyle>{''.join(rules)}</se:FeatureTypeStyle></UserStyle></NamedLayer>"
        "</StyledLayerDescriptor>\n"
    )
