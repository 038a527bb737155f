"""Reading plot files into a GeoDataFrame in EPSG:4326.

Every reader returns the same shape: one row per input feature, in input order, with
``plot_id`` (string), ``source_row`` (1-based position of the feature in the file), the file's own
attributes, and the geometry reprojected to EPSG:4326. Nothing is dropped here; checks live in
:mod:`pipeline.stages.qc`. The formats themselves are read by :mod:`pipeline.io.formats`.

Coordinate reference systems: a file that declares one is reprojected to EPSG:4326 (longitude,
latitude on WGS84) unless it is already WGS84 longitude/latitude; a file without one (a CSV, a
Shapefile without ``.prj``) is refused unless the user states it (``crs=``, ``--crs``). A stated CRS
that contradicts the file's own is refused too: which one is right cannot be guessed.

:func:`open_plots` reads a file in batches instead (:class:`PlotStream`): GDAL vector formats other
than GeoJSON are read a batch at a time (memory holds a batch, not the file); CSV, Parquet and
GeoJSON files are read whole and then handed out in batches. Every batch is normalised exactly as
:func:`read_plots` normalises the whole file.

What the checks need to know about the reading travels in ``GeoDataFrame.attrs``:
``id_generated`` (bool per row), ``read_issues`` (per-row notes of the reader, see
:class:`pipeline.io.formats.ReadNotes`), ``source_crs`` and ``wgs84_source`` (True when the coordinates
are the file's own longitude/latitude, not a reprojection: only then is their number of decimals
meaningful).
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import CRS
from pyproj.exceptions import CRSError

from ..config import PlotsConfig
from ..errors import PlotsError, missing_file
from ..i18n import _, fmt, tr
from ..vocab import PLOT_KEY_COLUMNS, attribute_names
from .formats import CSV_SUFFIXES, ogr_batches, read_any, streamable

if TYPE_CHECKING:
    import pyarrow as pa

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
        raise PlotsError(
            tr("{path}: layer {layer!r} holds no plots", path=path, layer=layer)
            if layer
            else tr("{path}: holds no plots", path=path)
        )
    gdf, source_crs, wgs84 = _to_wgs84(gdf, cfg.crs, path, is_table=path.suffix.lower() in CSV_SUFFIXES)
    result = normalise(gdf, path=path, id_column=id_column, id_column_required=id_column_required)
    result.attrs["read_issues"] = raw.notes.as_attrs()
    result.attrs["source_crs"] = source_crs
    result.attrs["wgs84_source"] = wgs84
    return result


def _to_wgs84(gdf: gpd.GeoDataFrame, stated: str | None, path: Path, *, is_table: bool, announce: bool = True):
    """The frame in EPSG:4326 (2D), the source CRS's name, and whether no transformation was needed."""
    stated_crs = None
    if stated is not None:
        try:
            stated_crs = CRS.from_user_input(stated)
        except CRSError as exc:
            raise PlotsError(
                tr(
                    "{path}: --crs {crs!r} is not a coordinate reference system (try EPSG:4326 or EPSG:32718): {error}",
                    path=path,
                    crs=stated,
                    error=exc,
                )
            ) from exc
    if gdf.crs is None:
        if stated_crs is None:
            if is_table:
                text = _(
                    "{path}: a CSV file carries no coordinate reference system: state it with --crs (EPSG:4326 for "
                    "GPS longitude/latitude, EPSG:32718 for UTM zone 18S...) or save the file with one"
                )
            else:
                text = _(
                    "{path}: the plots have no coordinate reference system: state it with --crs (EPSG:4326 for "
                    "GPS longitude/latitude, EPSG:32718 for UTM zone 18S...) or save the file with one"
                )
            raise PlotsError(fmt(text, path=path))
        gdf = gdf.set_crs(stated_crs)
    elif stated_crs is not None and not gdf.crs.equals(stated_crs, ignore_axis_order=True):
        raise PlotsError(
            tr(
                "{path}: the file declares the CRS {declared} but --crs says {stated}; --crs is for files without "
                "one: remove it, or fix the file's CRS",
                path=path,
                declared=gdf.crs.to_string(),
                stated=stated,
            )
        )
    source = gdf.crs.to_string()
    geoms = gdf.geometry.to_numpy()
    if shapely.has_z(geoms).any():
        if announce:
            log.info("%s: z coordinates dropped (plots are screened in 2D)", path)
        gdf = gdf.set_geometry(shapely.force_2d(geoms), crs=gdf.crs)
    wgs84 = gdf.crs.equals("EPSG:4326", ignore_axis_order=True)
    if wgs84:
        gdf = gdf.set_crs("EPSG:4326", allow_override=True)
    else:
        if announce:
            log.info("%s: reprojecting plots from %s to EPSG:4326", path, source)
        gdf = gdf.to_crs("EPSG:4326")
    return gdf, source, wgs84


def normalise(
    gdf: gpd.GeoDataFrame,
    *,
    path: str | Path = "<memory>",
    id_column: str = "plot_id",
    id_column_required: bool = False,
    first_row: int = 1,
) -> gpd.GeoDataFrame:
    """Give a plots frame the standard columns: ``plot_id``, ``source_row``, attributes, geometry.

    ``first_row`` is the ``source_row`` of the frame's first row (a batch of a larger file)."""
    geom_name = gdf.geometry.name
    positions = [j for j, c in enumerate(gdf.columns) if c != geom_name]
    attrs = [gdf.columns[j] for j in positions]
    n = len(gdf)
    source_row = np.arange(first_row, first_row + n, dtype="int64")
    ids, generated = plot_ids(gdf[id_column] if id_column in attrs else None, source_row)
    if id_column not in attrs:
        if id_column_required:
            raise PlotsError(
                tr(
                    "{path}: no id column {column!r}; columns are: {columns} (choose one with --id-column)",
                    path=path,
                    column=id_column,
                    columns=", ".join(attrs) or _("none"),
                )
            )
        if first_row == 1:
            log.warning(
                tr(
                    "{path}: no column {column!r}; plot ids are made from the row number (row-1, row-2, ...)",
                    path=path,
                    column=id_column,
                )
            )
    out = {"plot_id": ids, "source_row": source_row}
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


def plot_ids(values: pd.Series | None, source_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Plot ids as text, and which were made from the row number (``row-<n>``: no id column, or
    an empty or missing id)."""
    n = len(source_row)
    if values is None:
        generated = np.ones(n, dtype=bool)
        given = np.full(n, "", dtype=object)
    else:
        ids = values.astype(object)
        text = ids.map(_id_str, na_action="ignore")
        generated = (ids.isna() | (text.fillna("").astype(str).str.strip() == "")).to_numpy()
        given = text.to_numpy(dtype=object)
    made = np.char.add("row-", source_row.astype(str)).astype(object)
    return np.where(generated, made, given), generated


def _id_str(v) -> str:
    """Plot ids as text; whole floats (ids read from a numeric column with NULLs) lose their '.0'."""
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    return str(v)


# --- Reading in batches ----------------------------------------------------------------------


@dataclass
class PlotBatch:
    """A batch of a plots file, normalised as :func:`read_plots` normalises the whole file.

    ``frame``: ``plot_id``, ``source_row``, the columns quality control reads (the declared
    area), and the geometry in EPSG:4326, with the ``attrs`` of :func:`read_plots` (read notes
    positioned in the batch). ``attributes``: every other input column, as an Arrow table, under
    its output name (:func:`pipeline.vocab.attribute_names`), in file order."""

    frame: gpd.GeoDataFrame
    attributes: pa.Table
    wkb: np.ndarray | None = None  # the file's own WKB of the geometries, when the frame holds them unchanged

    def __len__(self) -> int:
        return len(self.frame)


class PlotStream:
    """A plots file read in batches (see :func:`open_plots`). ``columns``: the input's attribute
    columns under their output names; ``source_crs``, ``wgs84_source`` as in :func:`read_plots`;
    ``rows``: the rows handed out so far."""

    def __init__(self, cfg: PlotsConfig, *, batch_size: int = 65_536, keep: tuple[str, ...] = ()) -> None:
        self.cfg = cfg
        self.path = Path(cfg.path)
        self.batch_size = batch_size
        self.keep = {k.lower() for k in keep}
        self.rows = 0
        self.source_crs = ""
        self.wgs84_source = True
        if not self.path.exists():
            raise PlotsError(f"{self.path}: {missing_file(self.path, 'plots file')}")
        self.streamed = streamable(self.path)
        self.columns: list[str] = []
        self._input_columns: list[str] = []
        self._whole: gpd.GeoDataFrame | None = None
        if self.streamed:
            with ogr_batches(self.path, layer=cfg.layer, batch_size=1) as src:
                self._input_columns = list(src.fields)
        else:
            self._whole = read_plots(cfg)
            self._input_columns = [c for c in self._whole.columns if c != self._whole.geometry.name]
            self.source_crs = self._whole.attrs.get("source_crs", "")
            self.wgs84_source = bool(self._whole.attrs.get("wgs84_source", True))
        id_column = cfg.id_column
        if self.streamed:
            required = id_column != PlotsConfig.model_fields["id_column"].default
            if id_column not in self._input_columns:
                if required:
                    raise PlotsError(
                        tr(
                            "{path}: no id column {column!r}; columns are: {columns} (choose one with --id-column)",
                            path=self.path,
                            column=id_column,
                            columns=", ".join(self._input_columns) or _("none"),
                        )
                    )
                log.warning(
                    tr(
                        "{path}: no column {column!r}; plot ids are made from the row number (row-1, row-2, ...)",
                        path=self.path,
                        column=id_column,
                    )
                )
            kept = [c for c in self._input_columns if c != id_column]
            self.columns = attribute_names(kept, PLOT_KEY_COLUMNS)
            self._rename = dict(zip(kept, self.columns))
        else:
            self.columns = [c for c in self._input_columns if c not in PLOT_KEY_COLUMNS]

    def _qc_columns(self, names: list[str]) -> list[str]:
        return [c for c in names if c.lower() in self.keep or c in self.keep]

    def batches(self) -> Iterator[PlotBatch]:
        """The batches, in file order (``source_row`` counts on from batch to batch)."""
        import pyarrow as pa

        if not self.streamed:
            whole = self._whole
            assert whole is not None, "the batches of a plots file read whole are handed out once"
            self._whole = None  # handed out batch by batch from here
            table = pa.Table.from_pandas(pd.DataFrame(whole[self.columns]), preserve_index=False)
            qc_cols = self._qc_columns(self.columns)
            read = whole.attrs.get("read_issues") or {}
            gen = whole.attrs.get("id_generated")
            for start in range(0, len(whole), self.batch_size):
                stop = min(start + self.batch_size, len(whole))
                part = whole.iloc[start:stop][["plot_id", "source_row", *qc_cols, whole.geometry.name]].copy()
                part.attrs = {
                    "id_generated": np.asarray(gen[start:stop]) if gen is not None else np.zeros(stop - start, bool),
                    "read_issues": _slice_notes(read, start, stop),
                    "source_crs": self.source_crs,
                    "wgs84_source": self.wgs84_source,
                }
                self.rows = stop
                yield PlotBatch(part, table.slice(start, stop - start))
            return
        cfg = self.cfg
        with ogr_batches(self.path, layer=cfg.layer, batch_size=self.batch_size) as src:
            for fields, geoms, wkb, notes in src.batches:
                n = len(geoms)
                gdf = gpd.GeoDataFrame(geometry=geoms, crs=src.crs)
                qc_cols = self._qc_columns([c for c in fields.schema.names if c != cfg.id_column])
                for c in qc_cols:
                    gdf[c] = fields.column(c).to_pandas()
                gdf, self.source_crs, self.wgs84_source = _to_wgs84(
                    gdf, cfg.crs, self.path, is_table=False, announce=self.rows == 0
                )
                first = self.rows + 1
                source_row = np.arange(first, first + n, dtype="int64")
                if cfg.id_column in fields.schema.names:
                    ids, generated = _arrow_ids(fields.column(cfg.id_column), source_row)
                else:
                    ids, generated = plot_ids(None, source_row)
                frame = gpd.GeoDataFrame(
                    {"plot_id": pd.Series(ids, dtype=object), "source_row": source_row},
                    geometry=gdf.geometry.to_numpy(),
                    crs="EPSG:4326",
                )
                for c in qc_cols:
                    frame[self._rename[c]] = gdf[c].to_numpy()
                frame = frame[["plot_id", "source_row", *(self._rename[c] for c in qc_cols), "geometry"]]
                frame.attrs = {
                    "id_generated": generated,
                    "read_issues": notes.as_attrs(),
                    "source_crs": self.source_crs,
                    "wgs84_source": self.wgs84_source,
                }
                keep = [c for c in fields.schema.names if c != cfg.id_column]
                attributes = pa.Table.from_batches([fields.select(keep)]).rename_columns(
                    [self._rename[c] for c in keep]
                )
                self.rows += n
                same = self.wgs84_source and not shapely.has_z(geoms).any()  # no reprojection, no z dropped
                yield PlotBatch(frame, attributes, wkb if same else None)
        if self.rows == 0:
            raise PlotsError(
                tr("{path}: layer {layer!r} holds no plots", path=self.path, layer=cfg.layer)
                if cfg.layer
                else tr("{path}: holds no plots", path=self.path)
            )


def _arrow_ids(column, source_row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`plot_ids` of an Arrow column: text ids without going through Python one by one."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if pa.types.is_integer(column.type):  # whole numbers: the same text as str(int), in one call
        column = pc.cast(column, pa.string())
    if not (pa.types.is_string(column.type) or pa.types.is_large_string(column.type)):
        return plot_ids(column.to_pandas(), source_row)
    blank = pc.or_kleene(pc.is_null(column), pc.equal(pc.utf8_trim_whitespace(column), "")).fill_null(True)
    generated = blank.to_numpy(zero_copy_only=False)
    ids = column.to_numpy(zero_copy_only=False).astype(object)
    if generated.any():
        made = np.char.add("row-", source_row[generated].astype(str)).astype(object)
        ids[generated] = made
    return ids, generated


def _slice_notes(read: dict, start: int, stop: int) -> dict:
    """The read notes of rows ``start..stop``, positioned in that slice."""
    if not len(read.get("position", ())):
        return {}
    m = (read["position"] >= start) & (read["position"] < stop)
    return {k: (v[m] - start if k == "position" else v[m]) for k, v in read.items()}


def open_plots(
    source: PlotsConfig | str | Path, *, batch_size: int = 65_536, keep: tuple[str, ...] = (), **settings
) -> PlotStream:
    """A plots file to read in batches (:class:`PlotStream`); ``keep`` names the attribute columns
    (compared case-insensitively) that quality control reads and each batch's frame must hold."""
    cfg = source if isinstance(source, PlotsConfig) else PlotsConfig(path=Path(source), **settings)
    return PlotStream(cfg, batch_size=batch_size, keep=keep)
