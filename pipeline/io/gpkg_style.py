"""Self-describing GeoPackages: styles, field descriptions, provenance and spec-clean geometries.

:func:`enrich` works on a finished GeoPackage (the temporary file, before it is renamed into
place), whatever wrote its layers, with Python's ``sqlite3``:

* **styles**: a default style per layer in QGIS's ``layer_styles`` table (QML, plus SLD), which
  QGIS applies when it opens the layer — ``plots`` and ``baseline_plots`` by ``status``,
  ``baseline_by_region`` graduated by its deforestation-free share of area, rings outlined;
* **field descriptions** in ``gpkg_data_columns`` (the GeoPackage schema extension), and the
  statuses as an enumerated value list in ``gpkg_data_column_constraints`` (GDAL reads it as a
  field domain, QGIS as a value map);
* **provenance** as a JSON document in ``gpkg_metadata``, referenced to the whole GeoPackage;
* **empty geometries** stored as NULL. The spec's empty-geometry encoding (flag bit 4, no
  envelope, which GDAL writes) is read differently by GDAL's own validator, which rejects every
  empty geometry; a NULL geometry is valid for all, and the row's ``status_reason`` says the
  input geometry was empty.
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import shapely

from ..i18n import _, tr
from ..vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, STATUS_LABELS, STATUS_MEANINGS, STATUSES

#: ``md_standard_uri`` of the provenance document in ``gpkg_metadata``.
PROVENANCE_URI = "urn:cacao-screen:provenance:1"
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

    def qml(self) -> str:
        return _qml(self)

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
        "cacao-screen deforestation-free area",
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
            f"up to {PATCH_FIRST_YEAR}",
            Symbol(PATCH_YEAR_COLOURS[0], stroke="#6b0000", width_mm=0.2),
            lower=1900,
            upper=PATCH_FIRST_YEAR,
        )
    ]
    for i in range(1, n):
        year = PATCH_FIRST_YEAR + i
        label = str(year) if i < n - 1 else f"{year} and later"
        upper = year if i < n - 1 else 2999
        classes.append(
            Class(label, Symbol(PATCH_YEAR_COLOURS[i], stroke="#6b0000", width_mm=0.2), lower=year - 1, upper=upper)
        )
    return LayerStyle(
        "cacao-screen loss patches",
        "Patches of forest lost after the cut-off, coloured by year: yellow the earliest, dark purple the latest",
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


def _qml(style: LayerStyle) -> str:
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
        f'<qgis version="{QGIS_VERSION}" styleCategories="Symbology">{renderer}'
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


# --- Reading GeoPackage geometry blobs (for the rtree triggers GDAL leaves in the file) --------------


def _header(blob: bytes) -> tuple[bool, int, tuple[float, ...] | None]:
    """(empty flag, header length, envelope (minx, maxx, miny, maxy) or None) of a GeoPackage blob."""
    flags = blob[3]
    order = "<" if flags & 1 else ">"
    env = (flags >> 1) & 7
    n = (0, 4, 6, 6, 8)[env] if env <= 4 else 0
    envelope = struct.unpack(f"{order}{n}d", blob[8 : 8 + 8 * n])[:4] if n else None
    return bool(flags & 0x10), 8 + 8 * n, envelope


def _geometry(blob: bytes):
    _, length, _ = _header(blob)
    return shapely.from_wkb(bytes(blob[length:]))


def _is_empty(blob) -> int | None:
    if blob is None:
        return None
    empty, length, _ = _header(blob)
    return int(empty or shapely.is_empty(_geometry(blob)))


def _bound(i: int):
    def f(blob):
        if blob is None:
            return None
        empty, _, envelope = _header(blob)
        if envelope is not None:
            return envelope[i]
        g = _geometry(blob)
        if g.is_empty:
            return None
        minx, miny, maxx, maxy = g.bounds
        return (minx, maxx, miny, maxy)[i]

    return f


def connect(path: str | Path) -> sqlite3.Connection:
    """A connection to a GeoPackage with the spatial functions GDAL's rtree triggers call; its
    commits do not wait for the disk (the files enriched are temporary ones, synced once by their
    writer before the rename: :func:`pipeline.io.gpkg.sync_file`)."""
    con = sqlite3.connect(path)
    con.execute("PRAGMA synchronous = OFF")
    con.create_function("ST_IsEmpty", 1, _is_empty, deterministic=True)
    for i, name in enumerate(("ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY")):
        con.create_function(name, 1, _bound(i), deterministic=True)
    return con


# --- The steps -----------------------------------------------------------------------------------


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def feature_tables(con: sqlite3.Connection) -> dict[str, str]:
    """{table: geometry column} of every feature table."""
    return dict(con.execute("SELECT table_name, column_name FROM gpkg_geometry_columns").fetchall())


def null_empty_geometries(con: sqlite3.Connection) -> dict[str, int]:
    """Store every empty geometry as NULL; return how many per table."""
    done = {}
    for table, column in feature_tables(con).items():
        cur = con.execute(
            f"UPDATE {_ident(table)} SET {_ident(column)} = NULL "
            f"WHERE {_ident(column)} IS NOT NULL AND ST_IsEmpty({_ident(column)})"
        )
        done[table] = cur.rowcount
    return done


def _ensure_extension(con: sqlite3.Connection, table: str, column: str | None, name: str, definition: str, scope: str):
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, "
        "definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, "
        "extension_name))"
    )
    con.execute(
        "INSERT OR IGNORE INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
        "VALUES (?, ?, ?, ?, ?)",
        (table, column, name, definition, scope),
    )


STATUS_CONSTRAINT = "cacao_screen_status"
#: Columns whose values are plot statuses (each layer's ``status`` and ``previous_status``).
STATUS_COLUMNS = ("status", "previous_status")


def write_data_columns(con: sqlite3.Connection, descriptions: dict[str, dict[str, str]]) -> int:
    """Describe columns in ``gpkg_data_columns`` (schema extension); the status columns also get
    the list of statuses as an enumerated constraint. Returns the number of columns described."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_data_columns (table_name TEXT NOT NULL, column_name TEXT NOT NULL, "
        "name TEXT, title TEXT, description TEXT, mime_type TEXT, constraint_name TEXT, "
        "CONSTRAINT pk_gdc PRIMARY KEY (table_name, column_name), CONSTRAINT gdc_tn UNIQUE (table_name, name))"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_data_column_constraints (constraint_name TEXT NOT NULL, "
        "constraint_type TEXT NOT NULL, value TEXT, min NUMERIC, min_is_inclusive BOOLEAN, max NUMERIC, "
        "max_is_inclusive BOOLEAN, description TEXT, CONSTRAINT gdcc_ntv UNIQUE (constraint_name, "
        "constraint_type, value))"
    )
    schema = "http://www.geopackage.org/spec/#extension_schema"
    _ensure_extension(con, "gpkg_data_columns", None, "gpkg_schema", schema, "read-write")
    _ensure_extension(con, "gpkg_data_column_constraints", None, "gpkg_schema", schema, "read-write")
    con.executemany(
        "INSERT OR IGNORE INTO gpkg_data_column_constraints (constraint_name, constraint_type, value, description) "
        "VALUES (?, 'enum', ?, ?)",
        [(STATUS_CONSTRAINT, s, _(STATUS_MEANINGS[s])) for s in STATUSES],
    )
    present = {t for (t,) in con.execute("SELECT table_name FROM gpkg_contents")}
    n = 0
    for table, cols in descriptions.items():
        if table not in present:
            continue
        existing = {row[1] for row in con.execute(f"PRAGMA table_info({_ident(table)})")}
        for column, text in cols.items():
            if column not in existing:
                continue
            constraint = STATUS_CONSTRAINT if column in STATUS_COLUMNS else None
            con.execute(
                "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, description, "
                "mime_type, constraint_name) VALUES (?, ?, ?, NULL, ?, NULL, ?)",
                (table, column, column, text, constraint),
            )
            n += 1
    return n


def write_styles(con: sqlite3.Connection, styles: dict[str, LayerStyle]) -> list[str]:
    """Store each layer's style as its default in ``layer_styles`` (QGIS's table); return the
    layers styled (those present, with the field their style classifies)."""
    geometry = feature_tables(con)
    chosen = {}
    for table, style in styles.items():
        columns = {row[1] for row in con.execute(f"PRAGMA table_info({_ident(table)})")}
        if table in geometry and (style.field is None or style.field in columns):
            chosen[table] = style
    if not chosen:
        return []
    for table, style in chosen.items():
        store_style(con, table, geometry[table], style.name, style.qml(), style.sld(table), style.description)
    return list(chosen)


def store_style(
    con: sqlite3.Connection,
    table: str,
    geometry_column: str,
    name: str,
    qml: str,
    sld: str,
    description: str,
    *,
    default: bool = True,
) -> None:
    """Store one style of ``table`` in ``layer_styles`` (made and registered if needed); a
    ``default`` one replaces the layer's earlier default."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS layer_styles (id INTEGER PRIMARY KEY AUTOINCREMENT, f_table_catalog TEXT(256), "
        "f_table_schema TEXT(256), f_table_name TEXT(256), f_geometry_column TEXT(256), styleName TEXT(30), "
        "styleQML TEXT, styleSLD TEXT, useAsDefault BOOLEAN, description TEXT, owner TEXT(30), ui TEXT(30), "
        "update_time DATETIME DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
    )
    # Registered as an attribute table, as QGIS does: GDAL (and so QGIS) only opens registered tables.
    con.execute(
        "INSERT OR IGNORE INTO gpkg_contents (table_name, data_type, identifier, description, last_change, srs_id) "
        "VALUES ('layer_styles', 'attributes', 'layer_styles', ?, ?, 0)",
        (_("Default QGIS styles of the layers"), _now()),
    )
    if default:
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (table,))
    con.execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
        "styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
        "VALUES ('', '', ?, ?, ?, ?, ?, ?, ?, 'cacao-screen', NULL, ?)",
        (table, geometry_column, name, qml, sld, int(default), description, _now()),
    )


def write_provenance(con: sqlite3.Connection, provenance: dict) -> None:
    """Store ``provenance`` as a JSON document in ``gpkg_metadata`` for the whole GeoPackage."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_metadata (id INTEGER CONSTRAINT m_pk PRIMARY KEY ASC NOT NULL, "
        "md_scope TEXT NOT NULL DEFAULT 'dataset', md_standard_uri TEXT NOT NULL, mime_type TEXT NOT NULL "
        "DEFAULT 'text/xml', metadata TEXT NOT NULL DEFAULT '')"
    )
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_metadata_reference (reference_scope TEXT NOT NULL, table_name TEXT, "
        "column_name TEXT, row_id_value INTEGER, timestamp DATETIME NOT NULL DEFAULT "
        "(strftime('%Y-%m-%dT%H:%M:%fZ','now')), md_file_id INTEGER NOT NULL, md_parent_id INTEGER, "
        "CONSTRAINT crmr_mfi_fk FOREIGN KEY (md_file_id) REFERENCES gpkg_metadata(id), CONSTRAINT crmr_mpi_fk "
        "FOREIGN KEY (md_parent_id) REFERENCES gpkg_metadata(id))"
    )
    definition = "http://www.geopackage.org/spec120/#extension_metadata"
    _ensure_extension(con, "gpkg_metadata", None, "gpkg_metadata", definition, "read-write")
    _ensure_extension(con, "gpkg_metadata_reference", None, "gpkg_metadata", definition, "read-write")
    old = [i for (i,) in con.execute("SELECT id FROM gpkg_metadata WHERE md_standard_uri = ?", (PROVENANCE_URI,))]
    for i in old:
        con.execute("DELETE FROM gpkg_metadata_reference WHERE md_file_id = ?", (i,))
        con.execute("DELETE FROM gpkg_metadata WHERE id = ?", (i,))
    cur = con.execute(
        "INSERT INTO gpkg_metadata (md_scope, md_standard_uri, mime_type, metadata) VALUES ('dataset', ?, "
        "'application/json', ?)",
        (PROVENANCE_URI, json.dumps(provenance, indent=1, ensure_ascii=False, default=str)),
    )
    con.execute(
        "INSERT INTO gpkg_metadata_reference (reference_scope, table_name, column_name, row_id_value, timestamp, "
        "md_file_id, md_parent_id) VALUES ('geopackage', NULL, NULL, NULL, ?, ?, NULL)",
        (_now(), cur.lastrowid),
    )


def read_provenance(path: str | Path) -> dict | None:
    """The provenance document of a GeoPackage written by :func:`enrich`, or None."""
    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        row = con.execute(
            "SELECT metadata FROM gpkg_metadata WHERE md_standard_uri = ? ORDER BY id DESC LIMIT 1", (PROVENANCE_URI,)
        ).fetchone()
    except sqlite3.OperationalError:
        return None
    finally:
        con.close()
    return json.loads(row[0]) if row else None


def enrich(
    path: str | Path,
    *,
    descriptions: dict[str, dict[str, str]] | None = None,
    styles: dict[str, LayerStyle] | None = None,
    provenance: dict | None = None,
    empty_geometries: bool = True,
) -> None:
    """Make the GeoPackage at ``path`` self-describing (see the module docstring), in one transaction.

    ``styles`` defaults to :data:`DEFAULT_STYLES` for the layers present. ``empty_geometries``:
    look for empty geometries to store as NULL (a scan of every row; a writer that wrote them as
    NULL itself says False)."""
    con = connect(path)
    try:
        with con:
            if empty_geometries:
                null_empty_geometries(con)
            if descriptions:
                write_data_columns(con, descriptions)
            present = feature_tables(con)
            chosen = styles if styles is not None else {t: make() for t, make in DEFAULT_STYLES.items() if t in present}
            if chosen:
                write_styles(con, chosen)
            if provenance is not None:
                write_provenance(con, provenance)
    finally:
        con.close()


def described_columns(path: str | Path) -> dict[tuple[str, str], str]:
    """{(table, column): description} of ``gpkg_data_columns`` (for checks and tests)."""
    con = sqlite3.connect(f"file:{Path(path)}?mode=ro", uri=True)
    try:
        rows: Iterable = con.execute("SELECT table_name, column_name, description FROM gpkg_data_columns")
        return {(t, c): d for t, c, d in rows}
    except sqlite3.OperationalError:
        return {}
    finally:
        con.close()
