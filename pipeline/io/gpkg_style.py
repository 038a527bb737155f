"""Self-describing GeoPackages: styles, field descriptions, provenance and spec-clean geometries.

:func:`enrich` works on a finished GeoPackage (the temporary file, before it is renamed into
place), whatever wrote its layers, with Python's ``sqlite3``:

* **styles**: a default style per layer in QGIS's ``layer_styles`` table (QML, plus SLD), which
  QGIS applies when it opens the layer — ``plots`` and ``baseline_plots`` by ``status``,
  ``baseline_by_region`` graduated by its deforestation-free share of area, rings outlined;
* **field titles and descriptions** in ``gpkg_data_columns`` (the GeoPackage schema extension:
  GDAL 3.7 and later read the title as the field's alternative name, the description as its
  comment), the titles again as aliases in the QGIS styles (QGIS on an older GDAL reads them
  there), and the statuses as an enumerated value list in ``gpkg_data_column_constraints`` (GDAL
  reads it as a field domain, QGIS as a value map);
* **layer descriptions** in ``gpkg_contents.description`` (GDAL's ``DESCRIPTION``);
* **provenance** as a JSON document in ``gpkg_metadata``, referenced to the whole GeoPackage;
* **empty geometries** stored as NULL. The spec's empty-geometry encoding (flag bit 4, no
  envelope, which GDAL writes) is read differently by GDAL's own validator, which rejects every
  empty geometry; a NULL geometry is valid for all, and the row's ``status_reason`` says the
  input geometry was empty.

Every GeoPackage is written as version 1.2 (:data:`CREATION_OPTIONS`): GDAL 3.6 and QGIS 3.22,
still common on long-term-support systems, warn that 1.4 "may only be partially supported" and
expect 1.2's R-tree triggers; nothing here needs 1.3 or 1.4 (docs/outputs.md). Each extension
is registered once in ``gpkg_extensions`` (:func:`dedupe_extensions`).
"""

from __future__ import annotations

import json
import sqlite3
import struct
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

import shapely

from ..i18n import _
from ..vocab import STATUS_MEANINGS, STATUSES
from .qgis_style import DEFAULT_STYLES, LayerStyle, fields_qml, patch_style, status_style

__all__ = ["DEFAULT_STYLES", "LayerStyle", "enrich", "patch_style", "read_provenance", "status_style", "store_style"]

#: ``md_standard_uri`` of the provenance document in ``gpkg_metadata``.
PROVENANCE_URI = "urn:cacao-screen:provenance:1"
#: The GeoPackage version written, and GDAL's dataset creation options that choose it.
GPKG_VERSION = "1.2"
CREATION_OPTIONS = {"VERSION": GPKG_VERSION}
#: ``layer_styles.styleName`` is TEXT(30): QGIS and GDAL's validator hold names to 30 characters.
STYLE_NAME_MAX = 30


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
    """Register an extension once. The table's UNIQUE constraint does not stop a second row whose
    ``column_name`` is NULL (NULLs are distinct in SQL), so an existing row is looked for first."""
    con.execute(
        "CREATE TABLE IF NOT EXISTS gpkg_extensions (table_name TEXT, column_name TEXT, extension_name TEXT NOT NULL, "
        "definition TEXT NOT NULL, scope TEXT NOT NULL, CONSTRAINT ge_tce UNIQUE (table_name, column_name, "
        "extension_name))"
    )
    found = con.execute(
        "SELECT 1 FROM gpkg_extensions WHERE table_name IS ? AND column_name IS ? AND extension_name = ?",
        (table, column, name),
    ).fetchone()
    if found is None:
        con.execute(
            "INSERT INTO gpkg_extensions (table_name, column_name, extension_name, definition, scope) "
            "VALUES (?, ?, ?, ?, ?)",
            (table, column, name, definition, scope),
        )


def dedupe_extensions(con: sqlite3.Connection) -> int:
    """Remove repeated rows of ``gpkg_extensions`` (same table, column and extension; the first
    kept); return how many went."""
    try:
        cur = con.execute(
            "DELETE FROM gpkg_extensions WHERE rowid NOT IN (SELECT MIN(rowid) FROM gpkg_extensions "
            "GROUP BY table_name, column_name, extension_name)"
        )
    except sqlite3.OperationalError:  # no such table
        return 0
    return cur.rowcount


def write_layer_descriptions(con: sqlite3.Connection, descriptions: dict[str, str]) -> int:
    """Set ``gpkg_contents.description`` of each layer present; return how many."""
    n = 0
    for table, text in descriptions.items():
        n += con.execute("UPDATE gpkg_contents SET description = ? WHERE table_name = ?", (text, table)).rowcount
    return n


STATUS_CONSTRAINT = "cacao_screen_status"
#: Columns whose values are plot statuses (each layer's ``status`` and ``previous_status``).
STATUS_COLUMNS = ("status", "previous_status")


def write_data_columns(
    con: sqlite3.Connection, descriptions: dict[str, dict[str, str]], titles: dict[str, dict[str, str]] | None = None
) -> int:
    """Describe columns in ``gpkg_data_columns`` (schema extension): ``titles`` (short names: the
    field aliases) and ``descriptions``; the status columns also get the list of statuses as an
    enumerated constraint. Returns the number of columns described."""
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
    titles = titles or {}
    for table in present & (set(descriptions) | set(titles)):
        existing = {row[1] for row in con.execute(f"PRAGMA table_info({_ident(table)})")}
        texts, names = descriptions.get(table, {}), titles.get(table, {})
        for column in [c for c in {**texts, **names} if c in existing]:
            constraint = STATUS_CONSTRAINT if column in STATUS_COLUMNS else None
            con.execute(
                "INSERT OR REPLACE INTO gpkg_data_columns (table_name, column_name, name, title, description, "
                "mime_type, constraint_name) VALUES (?, ?, ?, ?, ?, NULL, ?)",
                (table, column, column, names.get(column), texts.get(column), constraint),
            )
            n += 1
    return n


def write_styles(
    con: sqlite3.Connection, styles: dict[str, LayerStyle], aliases: dict[str, dict[str, str]] | None = None
) -> list[str]:
    """Store each layer's style as its default in ``layer_styles`` (QGIS's table), with the field
    ``aliases`` of its layer; an attribute table with aliases gets a style of its aliases alone.
    Return the layers styled (those present, with the field their style classifies)."""
    geometry = feature_tables(con)
    aliases = aliases or {}
    present = {t for (t,) in con.execute("SELECT table_name FROM gpkg_contents")}
    chosen: dict[str, LayerStyle | None] = {}
    for table, style in styles.items():
        columns = {row[1] for row in con.execute(f"PRAGMA table_info({_ident(table)})")}
        if table in geometry and (style.field is None or style.field in columns):
            chosen[table] = style
    for table in aliases:
        if table in present and table not in geometry and table != "layer_styles":
            chosen.setdefault(table, None)
    if not chosen:
        return []
    for table, picked in chosen.items():
        mine = aliases.get(table)
        if picked is None:
            name, qml, sld, text = "cacao-screen field names", fields_qml(mine or {}), "", "Plain-language field names"
        else:
            name, qml, sld, text = picked.name, picked.qml(mine), picked.sld(table), picked.description
        store_style(con, table, geometry.get(table, ""), name, qml, sld, text)
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
    ``default`` one replaces the layer's earlier default. The name is held to 30 characters."""
    _create_layer_styles(con)
    if default:
        con.execute("UPDATE layer_styles SET useAsDefault = 0 WHERE f_table_name = ?", (table,))
    con.execute(
        "INSERT INTO layer_styles (f_table_catalog, f_table_schema, f_table_name, f_geometry_column, styleName, "
        "styleQML, styleSLD, useAsDefault, description, owner, ui, update_time) "
        "VALUES ('', '', ?, ?, ?, ?, ?, ?, ?, 'cacao-screen', NULL, ?)",
        (table, geometry_column, name[:STYLE_NAME_MAX], qml, sld, int(default), description, _now()),
    )


def _create_layer_styles(con: sqlite3.Connection) -> None:
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
    titles: dict[str, dict[str, str]] | None = None,
    layer_descriptions: dict[str, str] | None = None,
    styles: dict[str, LayerStyle] | None = None,
    provenance: dict | None = None,
    empty_geometries: bool = True,
) -> None:
    """Make the GeoPackage at ``path`` self-describing (see the module docstring), in one transaction.

    ``titles`` are the columns' short names (field aliases), ``descriptions`` what they mean,
    ``layer_descriptions`` what each layer holds. ``styles`` defaults to :data:`DEFAULT_STYLES`
    for the layers present. ``empty_geometries``: look for empty geometries to store as NULL (a
    scan of every row; a writer that wrote them as NULL itself says False)."""
    con = connect(path)
    try:
        with con:
            if empty_geometries:
                null_empty_geometries(con)
            if descriptions or titles:
                write_data_columns(con, descriptions or {}, titles)
            present = feature_tables(con)
            chosen = styles if styles is not None else {t: make() for t, make in DEFAULT_STYLES.items() if t in present}
            if chosen or titles:
                write_styles(con, chosen, titles)
            if provenance is not None:
                write_provenance(con, provenance)
            if layer_descriptions:
                write_layer_descriptions(con, layer_descriptions)
            dedupe_extensions(con)
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
