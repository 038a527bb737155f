"""Reading plot files into a GeoDataFrame in EPSG:4326.

Every reader returns the same shape: one row per input feature, in input order, with
``plot_id`` (string), ``source_row`` (1-based position of the feature in the file), the file's own
attributes, and the geometry reprojected to EPSG:4326. Nothing is dropped here; checks live in
:mod:`pipeline.stages.qc`. The formats themselves are read by :mod:`pipeline.io.formats`.

Coordinate reference systems: a file that declares one is reprojected to EPSG:4326 (longitude,
latitude on WGS84) unless it is already WGS84 longitude/latitude; a file without one (a CSV, a
Shapefile without ``.prj``) is refused unless the user states it (``crs=``, ``--crs``). A stated CRS
that contradicts the file's own is refused too: which one is right cannot be guessed.

What the checks need to know about the reading travels in ``GeoDataFrame.attrs``:
``id_generated`` (bool per row), ``read_issues`` (per-row notes of the reader, see
:class:`pipeline.io.formats.ReadNotes`), ``source_crs`` and ``wgs84_source`` (True when the coordinates
are the file's own longitude/latitude, not a reprojection: only then is their number of decimals
meaningful).
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..config import PlotsConfig
from ..errors import PlotsError, missing_file
from ..vocab import PLOT_KEY_COLUMNS, attribute_names
from .formats import CSV_SUFFIXES, read_any

log = logging.getLogger(__name__)


def read_plots(source: PlotsConfig | str | Path, **settings) -> gpd.GeoDataFrame:
    """Read a plots file: GeoPackage, GeoJSON, Shapefile (or a zip of one), CSV, GeoParquet...

    ``source`` is a :class:`~pipeline.config.PlotsConfig`, or a path with the config's other fields
    as keywords (``layer``, ``id_column``, ``crs``, ``wkt_column``, ``lat_column``, ``lon_column``).
    When the id column is absent, ids ``row-<n>`` are made from the row number, with a warning, if
    it is the default ``plot_id``; a column named by the user must exist (:class:`PlotsError`
    lists the columns there are). ``crs`` states the CRS of a file that has none.
    """
    cfg = source if isinstance(source, PlotsConfig) else PlotsConfig(path=Path(source), **settings)
    path, layer, id_column = Path(cfg.path), cfg.layer, cfg.id_column
    id_column_required = id_column != PlotsConfig.model_fields["id_column"].default
    path = Path(path)
    if not path.exists():
        raise PlotsError(f"{path}: {missing_file(path, 'plots file')}")
    raw = read_any(
        path,
        layer=layer,
        id_column=id_column,
        wkt_column=cfg.wkt_column,
        lat_column=cfg.lat_column,
        lon_column=cfg.lon_column,
    )
    gdf = raw.frame
    if len(gdf) == 0:
        raise PlotsError(f"{path}: layer {layer!r} holds no plots" if layer else f"{path}: holds no plots")
    gdf, source_crs, wgs84 = _to_wgs84(gdf, cfg.crs, path, is_table=path.suffix.lower() in CSV_SUFFIXES)
    result = normalise(gdf, path=path, id_column=id_column, id_column_required=id_column_required)
    result.attrs["read_issues"] = raw.notes.as_attrs()
    result.attrs["source_crs"] = source_crs
    result.attrs["wgs84_source"] = wgs84
    return result


def _to_wgs84(gdf: gpd.GeoDataFrame, stated: str | None, path: Path, *, is_table: bool):
    """The frame in EPSG:4326 (2D), the source CRS's name, and whether no transformation was needed."""
    stated_crs = None
    if stated is not None:
        try:
            stated_crs = CRS.from_user_input(stated)
        except CRSError as exc:
            raise PlotsError(
                f"{path}: --crs {stated!r} is not a coordinate reference system (try EPSG:4326 or EPSG:32718): {exc}"
            ) from exc
    if gdf.crs is None:
        if stated_crs is None:
            hint = (
                "a CSV file carries no coordinate reference system: "
                if is_table
                else "the plots have no coordinate reference system: "
            )
            raise PlotsError(
                f"{path}: {hint}state it with --crs (EPSG:4326 for GPS longitude/latitude, "
                "EPSG:32718 for UTM zone 18S...) or save the file with one"
            )
        gdf = gdf.set_crs(stated_crs)
    elif stated_crs is not None and not gdf.crs.equals(stated_crs, ignore_axis_order=True):
        raise PlotsError(
            f"{path}: the file declares the CRS {gdf.crs.to_string()} but --crs says {stated}; "
            "--crs is for files without one: remove it, or fix the file's CRS"
        )
    source = gdf.crs.to_string()
    geoms = gdf.geometry.to_numpy()
    if shapely.has_z(geoms).any():
        log.info("%s: z coordinates dropped (plots are screened in 2D)", path)
        gdf = gdf.set_geometry(shapely.force_2d(geoms), crs=gdf.crs)
    wgs84 = gdf.crs.equals("EPSG:4326", ignore_axis_order=True)
    if wgs84:
        gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    else:
        log.info("%s: reprojecting plots from %s to EPSG:4326", path, source)
        gdf = gdf.to_crs("EPSG:4326")
    return gdf, source, wgs84


def normalise(
    gdf: gpd.GeoDataFrame,
    *,
    path: str | Path = "<memory>",
    id_column: str = "plot_id",
    id_column_required: bool = False,
) -> gpd.GeoDataFrame:
    """Give a plots frame the standard columns: ``plot_id``, ``source_row``, attributes, geometry."""
    geom_name = gdf.geometry.name
    positions = [j for j, c in enumerate(gdf.columns) if c != geom_name]
    attrs = [gdf.columns[j] for j in positions]
    n = len(gdf)
    source_row = np.arange(1, n + 1, dtype="int64")
    if id_column not in attrs:
        if id_column_required:
            raise PlotsError(
                f"{path}: no id column {id_column!r}; columns are: {', '.join(attrs) or 'none'} "
                "(choose one with --id-column)"
            )
        log.warning("%s: no column %r; plot ids are made from the row number (row-1, row-2, ...)", path, id_column)
        generated = np.ones(n, dtype=bool)
        given = np.full(n, "", dtype=object)
    else:
        ids = gdf[id_column].astype(object)
        text = ids.map(_id_str, na_action="ignore")
        generated = (ids.isna() | (text.fillna("").astype(str).str.strip() == "")).to_numpy()
        given = text.to_numpy(dtype=object)
    made = np.char.add("row-", source_row.astype(str)).astype(object)
    out = {"plot_id": np.where(generated, made, given), "source_row": source_row}
    # Attributes keep their names, unique case-insensitively; one clashing with plot_id,
    # source_row or another attribute becomes input_<name> (vocab.attribute_names).
    kept = [j for j, c in zip(positions, attrs) if c != id_column]
    for j, name in zip(kept, attribute_names([gdf.columns[j] for j in kept], PLOT_KEY_COLUMNS)):
        out[name] = gdf.iloc[:, j].to_numpy()
    result = gpd.GeoDataFrame(out, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    result["plot_id"] = result["plot_id"].astype(str)
    result["source_row"] = result["source_row"].astype("int64")
    # Which rows got a made-up id (read by pipeline.qc); attrs travel with the frame, not the file.
    result.attrs["id_generated"] = generated
    return result


def _id_str(v) -> str:
    """Plot ids as text; whole floats (ids read from a numeric column with NULLs) lose their '.0'."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)
