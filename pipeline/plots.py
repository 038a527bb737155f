"""Reading plot files into a GeoDataFrame in EPSG:4326.

Every reader returns the same shape: one row per input feature, in input order, with
``plot_id`` (string), ``source_row`` (1-based position of the feature in the file), the file's own
attributes, and the geometry reprojected to EPSG:4326. Nothing is dropped here; checks live in
:mod:`pipeline.qc`.
"""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from .errors import PlotsError

log = logging.getLogger(__name__)

#: Columns the pipeline adds; an input column with one of these names is kept as ``input_<name>``.
RESERVED = {"plot_id", "source_row", "geometry"}


def read_plots(path: str | Path, *, layer: str | None = None, id_column: str = "plot_id",
               id_column_required: bool = False) -> gpd.GeoDataFrame:
    """Read a GeoPackage, GeoJSON or Shapefile of plots.

    ``id_column`` names the column holding plot identifiers. When it is absent and
    ``id_column_required`` is false, ids ``row-<n>`` are made from the row number, with a warning;
    when required, :class:`PlotsError` lists the columns there are.
    """
    path = Path(path)
    if not path.exists():
        raise PlotsError(f"{path}: plots file not found")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, OSError) as exc:
        raise PlotsError(f"{path}: not a readable vector file ({exc})") from exc
    if layer is None:
        layer = "plots" if "plots" in layers else (layers[0] if layers else None)
        if len(layers) > 1:
            log.info("%s holds layers %s; reading %r (choose with --layer)", path, ", ".join(layers), layer)
    elif layer not in layers:
        raise PlotsError(f"{path}: no layer {layer!r}; the file holds: {', '.join(layers) or 'none'}")
    try:
        gdf = pyogrio.read_dataframe(path, layer=layer)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise PlotsError(f"{path}: cannot read layer {layer!r} ({exc})") from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.geometry.name not in gdf:
        raise PlotsError(f"{path}: layer {layer!r} has no geometry column")
    if len(gdf) == 0:
        raise PlotsError(f"{path}: layer {layer!r} holds no plots")
    if gdf.crs is None:
        raise PlotsError(f"{path}: the plots have no coordinate reference system; "
                         "save the file with one (EPSG:4326 for longitude/latitude)")
    if not gdf.crs.equals("EPSG:4326"):
        log.info("%s: reprojecting plots from %s to EPSG:4326", path, gdf.crs.to_string())
        gdf = gdf.to_crs("EPSG:4326")
    return normalise(gdf, path=path, id_column=id_column, id_column_required=id_column_required)


def normalise(gdf: gpd.GeoDataFrame, *, path: str | Path = "<memory>", id_column: str = "plot_id",
              id_column_required: bool = False) -> gpd.GeoDataFrame:
    """Give a plots frame the standard columns: ``plot_id``, ``source_row``, attributes, geometry."""
    geom_name = gdf.geometry.name
    attrs = [c for c in gdf.columns if c != geom_name]
    if id_column not in attrs:
        if id_column_required:
            raise PlotsError(f"{path}: no id column {id_column!r}; columns are: {', '.join(attrs) or 'none'} "
                             "(choose one with --id-column)")
        log.warning("%s: no column %r; plot ids are made from the row number (row-1, row-2, ...)", path, id_column)
        ids = pd.Series([None] * len(gdf), index=gdf.index, dtype=object)
    else:
        ids = gdf[id_column]
    source_row = pd.RangeIndex(1, len(gdf) + 1)
    ids = ids.astype(object).where(ids.notna(), None)
    plot_id = [f"row-{n}" if (v is None or str(v).strip() == "") else _id_str(v)
               for v, n in zip(ids, source_row)]
    out = {"plot_id": plot_id, "source_row": list(source_row)}
    for c in attrs:
        if c == id_column:
            continue
        name = f"input_{c}" if c in RESERVED or c.lower() in RESERVED else c
        out[name] = gdf[c].to_numpy()
    result = gpd.GeoDataFrame(out, geometry=gdf.geometry.to_numpy(), crs=gdf.crs)
    result["plot_id"] = result["plot_id"].astype(str)
    result["source_row"] = result["source_row"].astype("int64")
    # Which rows got a made-up id (read by pipeline.qc); attrs travel with the frame, not the file.
    result.attrs["id_generated"] = np.array([v is None or str(v).strip() == "" for v in ids], dtype=bool)
    return result


def _id_str(v) -> str:
    """Plot ids as text; whole floats (ids read from a numeric column with NULLs) lose their '.0'."""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)
