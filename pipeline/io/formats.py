"""Format readers: one plots file -> a GeoDataFrame in the file's own CRS, plus per-row read notes.

Supported: GeoPackage (a named layer), GeoJSON (including EUDR-style files), Shapefile (also in a
``.zip``), CSV with a WKT column or latitude/longitude columns, GeoParquet (or plain Parquet with
such columns), and any other vector format GDAL reads. Every feature of the file comes back as one
row, in file order; a row whose geometry cannot be read keeps a null geometry and a read note
(``unreadable_geometry``, an error), so that it still appears in every output.

Read notes are issue records (position, code, severity, message) that :mod:`pipeline.stages.qc` merges
with its own findings. The coordinate reference system is handled by :mod:`pipeline.io.plots`.
"""

from __future__ import annotations

import json
import logging
import warnings
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from ..errors import PlotsError
from ..i18n import _, fmt, formatter, tr
from .read_notes import RawPlots, ReadNotes
from .tables import read_csv, read_parquet

log = logging.getLogger(__name__)

CSV_SUFFIXES = {".csv", ".tsv", ".txt"}
PARQUET_SUFFIXES = {".parquet", ".geoparquet", ".pq"}
GEOJSON_SUFFIXES = {".geojson", ".json"}


def read_any(
    path: Path,
    *,
    layer: str | None = None,
    id_column: str | None = None,
    wkt_column: str | None = None,
    lat_column: str | None = None,
    lon_column: str | None = None,
) -> RawPlots:
    """Read ``path`` with the reader its extension calls for."""
    suffix = path.suffix.lower()
    if suffix in CSV_SUFFIXES:
        return read_csv(path, id_column=id_column, wkt_column=wkt_column, lat_column=lat_column, lon_column=lon_column)
    if suffix in PARQUET_SUFFIXES:
        return read_parquet(
            path, id_column=id_column, wkt_column=wkt_column, lat_column=lat_column, lon_column=lon_column
        )
    if suffix == ".zip":
        return read_ogr(path, layer=layer, vsi=_zip_member(path, layer))
    return read_ogr(path, layer=layer)


# --- GDAL formats: GeoPackage, GeoJSON, Shapefile, ... ----------------------------------------


def _zip_member(path: Path, layer: str | None) -> str:
    """The GDAL path of the vector file inside a zip (a zipped Shapefile, usually)."""
    try:
        with zipfile.ZipFile(path) as zf:
            names = [n for n in zf.namelist() if not n.endswith("/") and "__MACOSX" not in n]
    except (zipfile.BadZipFile, OSError) as exc:
        raise PlotsError(tr("{path}: not a readable zip file ({error})", path=path, error=exc)) from exc
    for kind in (".shp", ".gpkg", ".geojson", ".json", ".fgb", ".kml"):
        found = [n for n in names if n.lower().endswith(kind)]
        if layer is not None and len(found) > 1:
            found = [n for n in found if Path(n).stem == layer] or found
        if len(found) == 1:
            return f"/vsizip/{path.resolve()}/{found[0]}"
        if len(found) > 1:
            raise PlotsError(
                tr(
                    "{path}: the zip holds several {kind} files ({files}); name the one to read with --layer (its "
                    "name without extension)",
                    path=path,
                    kind=kind,
                    files=", ".join(found),
                )
            )
    raise PlotsError(
        tr(
            "{path}: the zip holds no Shapefile, GeoPackage or GeoJSON (it holds: {files})",
            path=path,
            files=", ".join(names[:10]) or _("nothing"),
        )
    )


def ogr_layer(path: Path, *, layer: str | None = None, vsi: str | None = None) -> tuple[str, str, str]:
    """The GDAL source, the layer to read and its driver: the named layer, else ``plots`` if there
    is one, else the first."""
    source = vsi or str(path)
    try:
        info_layers = pyogrio.list_layers(source)
        layers = [str(name) for name, _ in info_layers]
    except (DataSourceError, OSError) as exc:
        raise PlotsError(tr("{path}: not a readable vector file ({error})", path=path, error=exc)) from exc
    except UnicodeDecodeError as exc:  # a layer name
        raise PlotsError(f"{path}: {_not_utf8(path if vsi is None else None, exc)}") from None
    if vsi is not None and layer is not None and layer not in layers:
        layer = None  # the zip member was chosen by --layer
    if layer is None:
        spatial = [str(name) for name, kind in info_layers if kind]  # attribute tables have no geometry type
        if "plots" in layers:
            layer = "plots"
        elif len(spatial) > 1:  # which one holds the plots cannot be guessed
            raise PlotsError(
                tr(
                    "{path}: the file holds {n} layers with geometries ({layers}) and none is called 'plots'; name "
                    "the one to screen with --layer (plots.layer)",
                    path=path,
                    n=len(spatial),
                    layers=", ".join(spatial),
                )
            )
        else:
            layer = spatial[0] if spatial else (layers[0] if layers else None)
        if len(layers) > 1:
            log.info("%s holds layers %s; reading %r (choose with --layer)", path, ", ".join(layers), layer)
    elif layer not in layers:
        raise PlotsError(
            tr(
                "{path}: no layer {layer!r}; the file holds: {layers}",
                path=path,
                layer=layer,
                layers=", ".join(layers) or _("none"),
            )
        )
    if layer is None:
        raise PlotsError(tr("{path}: holds no layer", path=path))
    try:
        driver = pyogrio.read_info(source, layer=layer).get("driver") or ""
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise PlotsError(
            tr("{path}: cannot read layer {layer!r} ({error})", path=path, layer=layer, error=exc)
        ) from exc
    except UnicodeDecodeError as exc:  # a field name
        raise PlotsError(f"{path}: {_not_utf8(path if vsi is None else None, exc)}") from None
    return source, layer, driver


def read_ogr(path: Path, *, layer: str | None = None, vsi: str | None = None) -> RawPlots:
    """Read one layer with GDAL (pyogrio); GeoJSON rows GDAL cannot read are recovered if possible."""
    source, layer, driver = ogr_layer(path, layer=layer, vsi=vsi)
    notes = ReadNotes()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            try:
                gdf = pyogrio.read_dataframe(source, layer=layer)
            except shapely.errors.GEOSException:
                gdf = _read_ogr_lenient(source, layer, notes)
        except (DataSourceError, DataLayerError, OSError) as exc:
            raise PlotsError(
                tr("{path}: cannot read layer {layer!r} ({error})", path=path, layer=layer, error=exc)
            ) from exc
        except UnicodeDecodeError as exc:
            if driver == "GeoJSON":  # the whole file's text is not UTF-8: refused, naming the byte
                raise PlotsError(f"{path}: {_not_utf8(path if vsi is None else None, exc)}") from None
            gdf = _read_ogr_replacing(source, layer, notes)  # one attribute's cells: replaced, noted
    for w in caught:
        log.debug("%s: GDAL: %s", path, w.message)
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise PlotsError(tr("{path}: layer {layer!r} has no geometry column", path=path, layer=layer))
    if driver == "GeoJSON" and vsi is None:
        features = _json_features(path)
        if features is not None and len(features) != len(gdf):  # GDAL skipped entries: read them all
            gdf = _from_features(path, features, gdf, notes)
        gdf = _recover_geojson(path, gdf, notes, features)
    return RawPlots(gdf, notes, driver)


#: Formats read in batches (the others — CSV, Parquet, GeoJSON — are read whole: a GeoJSON row
#: GDAL cannot read is recovered from the whole file, and a CSV column's type depends on all its
#: cells).
def streamable(path: Path) -> bool:
    """Whether ``path`` is read in batches: a GDAL vector format other than GeoJSON (GeoPackage,
    FlatGeobuf, Shapefile...)."""
    suffix = path.suffix.lower()
    return suffix not in CSV_SUFFIXES | PARQUET_SUFFIXES | GEOJSON_SUFFIXES | {".zip"}


@dataclass
class OgrBatches:
    """A layer read in batches: its CRS, geometry and field names, and the batches (Arrow record
    batches of the fields, and the geometries parsed, with the notes on rows that could not be)."""

    crs: str | None
    fields: list[str]
    driver: str
    batches: Iterator[Any]  # iterator of (pyarrow.RecordBatch of the fields, geometries, their WKB, ReadNotes)


@contextmanager
def ogr_batches(path: Path, *, layer: str | None = None, batch_size: int = 65_536) -> Iterator[OgrBatches]:
    """Read one layer of a GDAL vector file in batches of ``batch_size`` features (Arrow), so that
    memory holds one batch, not the file. Geometries GEOS refuses are noted
    (``unreadable_geometry``) and read as missing, as :func:`read_ogr` does."""
    from pyogrio.raw import open_arrow

    source, layer, driver = ogr_layer(path, layer=layer)
    try:
        ctx = open_arrow(source, layer=layer, batch_size=batch_size, use_pyarrow=True)
        meta, reader = ctx.__enter__()
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise PlotsError(
            tr("{path}: cannot read layer {layer!r} ({error})", path=path, layer=layer, error=exc)
        ) from exc
    except UnicodeDecodeError as exc:
        raise PlotsError(f"{path}: {_not_utf8(path, exc)}") from None
    try:
        geom_col = meta.get("geometry_name") or "wkb_geometry"
        if geom_col not in reader.schema.names:
            raise PlotsError(tr("{path}: layer {layer!r} has no geometry column", path=path, layer=layer))
        fields = [n for n in reader.schema.names if n != geom_col]

        def batches():
            try:
                for batch in reader:
                    wkb = batch.column(geom_col).to_numpy(zero_copy_only=False)
                    notes = ReadNotes()
                    geoms = from_wkb_noted(wkb, notes)
                    yield utf8_text(batch.drop_columns([geom_col]), notes), geoms, wkb, notes
            except (DataSourceError, DataLayerError, OSError) as exc:
                raise PlotsError(
                    tr("{path}: cannot read layer {layer!r} ({error})", path=path, layer=layer, error=exc)
                ) from exc
            except UnicodeDecodeError as exc:
                raise PlotsError(f"{path}: {_not_utf8(path, exc)}") from None

        yield OgrBatches(meta.get("crs"), fields, driver, batches())
    finally:
        ctx.__exit__(None, None, None)


def utf8_text(batch, notes: ReadNotes):
    """``batch`` (Arrow) with every text cell valid UTF-8: bytes that are not (a Shapefile whose
    ``.cpg`` says UTF-8 but which holds Latin-1) are replaced by U+FFFD, and the row noted
    (``text_not_utf8``), so that no later command fails on them."""
    import pyarrow as pa

    for i, name in enumerate(batch.schema.names):
        column = batch.column(i)
        if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
            continue
        try:
            column.validate(full=True)
            continue
        except pa.ArrowInvalid:
            pass
        raw = column.cast(pa.binary() if pa.types.is_string(column.type) else pa.large_binary()).to_pylist()
        fixed: list[str | None] = []
        bad: list[tuple[int, str]] = []
        for row, value in enumerate(raw):
            if value is None:
                fixed.append(None)
                continue
            try:
                fixed.append(value.decode("utf-8"))
            except UnicodeDecodeError as exc:
                fixed.append(value.decode("utf-8", errors="replace"))
                bad.append((row, f"0x{value[exc.start]:02x}"))
        batch = batch.set_column(i, name, pa.array(fixed, type=column.type))
        fill = formatter(
            _(
                "{column!r} holds byte {byte}, which is not UTF-8: replaced by \ufffd (is the file's encoding, "
                "its .cpg, right?)"
            )
        )
        for row, byte in bad:
            notes.add(row, "text_not_utf8", "warning", fill(column=name, byte=byte))
    return batch


def _not_utf8(path: Path | None, exc: UnicodeDecodeError) -> str:
    """Where a file that should be UTF-8 is not: its line and column, when the file can be read."""
    if path is not None and path.is_file():
        raw = path.read_bytes()
        try:
            raw.decode("utf-8")
        except UnicodeDecodeError as err:
            byte = f"0x{raw[err.start]:02x}"
            return tr(
                "the text of the file is not UTF-8 (byte {byte} at line {line}, column {column}): {reason}; "
                "GeoJSON and GeoPackage text is UTF-8 by definition: save the file as UTF-8",
                byte=byte,
                line=raw.count(b"\n", 0, err.start) + 1,
                column=err.start - (raw.rfind(b"\n", 0, err.start) + 1) + 1,
                reason=exc.reason,
            )
    return tr(
        "the text of the file is not UTF-8: {reason}; GeoJSON and GeoPackage text is UTF-8 by definition: save "
        "the file as UTF-8",
        reason=exc.reason,
    )


def from_wkb_noted(wkb, notes: ReadNotes) -> np.ndarray:
    """Geometries from WKB; one GEOS refuses (a ring not closed, too few points) becomes None and
    an ``unreadable_geometry`` error in ``notes``, with GEOS's message."""
    geoms = shapely.from_wkb(wkb, on_invalid="ignore")
    for i in np.flatnonzero(shapely.is_missing(geoms) & pd.notna(np.asarray(wkb, dtype=object))):
        try:
            shapely.from_wkb(wkb[i])
            reason = _("not a geometry")
        except Exception as exc:  # noqa: BLE001 - GEOS's errors have no common type
            reason = str(exc).split(": ", 1)[-1]
        notes.add(i, "unreadable_geometry", "error", tr("the geometry cannot be read: {reason}", reason=reason))
    return geoms


def _read_ogr_replacing(source: str, layer: str, notes: ReadNotes) -> gpd.GeoDataFrame:
    """A layer whose text cells are not all UTF-8, read through Arrow with :func:`utf8_text`."""
    from pyogrio.raw import read_arrow

    meta, table = read_arrow(source, layer=layer)
    geom_col = meta.get("geometry_name") or "wkb_geometry"
    batch = utf8_text(table.drop_columns([geom_col]).combine_chunks().to_batches()[0], notes)
    wkb = table.column(geom_col).to_numpy(zero_copy_only=False)
    return gpd.GeoDataFrame(batch.to_pandas(), geometry=from_wkb_noted(wkb, notes), crs=meta.get("crs"))


def _read_ogr_lenient(source: str, layer: str, notes: ReadNotes) -> gpd.GeoDataFrame:
    """Some geometries GEOS refuses (a ring not closed, too few points): read the attributes and the
    raw WKB apart, keep what parses, and note each refused row (GEOS's message)."""
    from pyogrio.raw import read as read_raw

    attrs = pyogrio.read_dataframe(source, layer=layer, read_geometry=False)
    meta, _fids, wkb, _fields = read_raw(source, layer=layer, columns=[], read_geometry=True)
    return gpd.GeoDataFrame(attrs, geometry=from_wkb_noted(wkb, notes), crs=meta.get("crs"))


def _depth(coords) -> int:
    """Nesting depth of a GeoJSON coordinates array: a position is 1, a ring 2, a polygon 3..."""
    d = 0
    while isinstance(coords, list) and coords:
        coords = coords[0]
        d += 1
    return d if isinstance(coords, (int, float)) else 0


def _polygon(rings) -> shapely.Polygon:
    rings = [[tuple(p[:2]) for p in ring] for ring in rings]
    return shapely.Polygon(rings[0], rings[1:])


def geojson_polygonal(geom: dict) -> tuple[shapely.Geometry | None, str]:
    """A (Multi)Polygon from a GeoJSON geometry whose coordinates are nested at the wrong depth.

    Returns the geometry (None when it cannot be made) and a description of what was wrong.
    """
    kind = geom.get("type")
    coords = geom.get("coordinates")
    if kind not in ("Polygon", "MultiPolygon") or not isinstance(coords, list):
        return None, ""
    depth = _depth(coords)
    expected = 3 if kind == "Polygon" else 4
    if depth == 4:
        parts = [_polygon(p) for p in coords if p]
        made = parts[0] if len(parts) == 1 else shapely.MultiPolygon(parts)
    elif depth == 3:
        made = _polygon(coords)
    elif depth == 2:
        made = _polygon([coords])
    else:
        return None, tr(
            "a {kind} whose coordinates cannot be read as rings (nesting depth {depth})", kind=kind, depth=depth
        )
    like = {4: "MultiPolygon", 3: "Polygon"}.get(depth) or _("single ring")
    if depth > expected:
        text = _("a {kind} whose coordinates are nested like a {like} (one level too deep); read as a {made}")
    elif depth == expected - 1:
        text = _("a {kind} whose coordinates are nested like a {like} (one level too shallow); read as a {made}")
    else:
        text = _(
            "a {kind} whose coordinates are nested like a {like} (nested {depth} deep instead of {expected}); "
            "read as a {made}"
        )
    return made, fmt(text, kind=kind, like=like, depth=depth, expected=expected, made=made.geom_type)


#: GeoJSON files up to this size are also parsed as JSON, to check that GDAL returned every feature
#: (it skips, silently, an entry of ``features`` that is not a proper Feature).
MAX_JSON_CHECK_BYTES = 256 * 1024**2


def _json_features(path: Path) -> list | None:
    """The entries of a GeoJSON file's ``features`` (a lone Feature: itself), or None when the file
    is too large to check or not JSON that says so."""
    try:
        if path.stat().st_size > MAX_JSON_CHECK_BYTES:
            log.debug("%s: larger than %d bytes; GDAL's features are not counted again", path, MAX_JSON_CHECK_BYTES)
            return None
        with open(path, encoding="utf-8-sig") as f:
            data = json.load(f)
    except (OSError, ValueError) as exc:
        log.debug("%s: not parsed as JSON (%s)", path, exc)
        return None
    if isinstance(data, dict) and data.get("type") == "Feature":
        return [data]
    features = data.get("features") if isinstance(data, dict) else None
    return features if isinstance(features, list) else None


def _from_features(path: Path, features: list, gdf: gpd.GeoDataFrame, notes: ReadNotes) -> gpd.GeoDataFrame:
    """Every entry of ``features`` as a row, when GDAL skipped some: the properties of each, its
    geometry where it parses, and an error note on every entry that is not a proper Feature."""
    log.warning(
        tr(
            "{path}: GDAL read {n} of the {total} entries of 'features'; every entry is kept (see unreadable_geometry)",
            path=path,
            n=len(gdf),
            total=len(features),
        )
    )
    props, geoms = [], []
    for i, entry in enumerate(features):
        kind = entry.get("type") if isinstance(entry, dict) else None
        if kind != "Feature":
            what = (
                tr("entry {n} of 'features' is not a GeoJSON Feature (type {kind!r})", n=i + 1, kind=kind)
                if isinstance(entry, dict)
                else tr(
                    "entry {n} of 'features' is not a GeoJSON Feature (a JSON {kind})",
                    n=i + 1,
                    kind=type(entry).__name__,
                )
            )
            notes.add(i, "unreadable_geometry", "error", what)
        entry = entry if isinstance(entry, dict) else {}
        p = entry.get("properties")
        props.append(p if isinstance(p, dict) else {})
        g = entry.get("geometry")
        try:
            geoms.append(shapely.from_geojson(json.dumps(g)) if isinstance(g, dict) and kind == "Feature" else None)
        except (shapely.errors.GEOSException, ValueError, TypeError):
            geoms.append(None)  # recovered or noted by _recover_geojson
    table = pd.DataFrame(props)
    ordered = [c for c in gdf.columns if c in table.columns and c != gdf.geometry.name]
    table = table[ordered + [c for c in table.columns if c not in ordered]]
    return gpd.GeoDataFrame(table, geometry=np.asarray(geoms, dtype=object), crs=gdf.crs)


def _recover_geojson(
    path: Path, gdf: gpd.GeoDataFrame, notes: ReadNotes, features: list | None = None
) -> gpd.GeoDataFrame:
    """Rows GDAL returned without geometry: parse the file's own coordinates (wrong nesting...)."""
    geoms = gdf.geometry.to_numpy()
    lost = np.flatnonzero(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    if not len(lost):
        return gdf
    features = features if features is not None else _json_features(path)
    if features is None:
        log.warning(tr("{path}: cannot re-read the GeoJSON to recover {n} geometries", path=path, n=len(lost)))
        return gdf
    if len(features) != len(gdf):
        log.warning(
            tr(
                "{path}: cannot match the file's features to GDAL's rows; {n} empty geometries kept",
                path=path,
                n=len(lost),
            )
        )
        return gdf
    geoms = geoms.copy()
    noted = set(notes.positions)
    for i in lost:
        if i in noted:
            continue
        raw = (features[i] or {}).get("geometry")
        if not isinstance(raw, dict) or not raw.get("coordinates"):
            continue  # truly empty or null: QC reports it
        try:
            made, what = geojson_polygonal(raw)
        except TypeError:  # float(None), float("1.5"): JSON null or text among the numbers
            what = tr("the {kind} geometry cannot be read: a coordinate is null or not a number", kind=raw.get("type"))
            notes.add(i, "unreadable_geometry", "error", what)
            continue
        except (ValueError, IndexError, shapely.errors.GEOSException) as exc:
            what = tr("the {kind} geometry cannot be read ({reason})", kind=raw.get("type"), reason=exc)
            notes.add(i, "unreadable_geometry", "error", what)
            continue
        if made is None or made.is_empty:
            what = what or tr("GDAL could not read this {kind} geometry", kind=raw.get("type"))
            notes.add(i, "unreadable_geometry", "error", what)
            continue
        geoms[i] = made
        notes.add(i, "nested_rings_repaired", "warning", what)
    out = gdf.copy()
    out[gdf.geometry.name] = gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs)
    if notes.positions:
        log.info(
            "%s: %d geometries GDAL could not read were recovered from the file's coordinates",
            path,
            sum(c == "nested_rings_repaired" for c in notes.codes),
        )
    return out
