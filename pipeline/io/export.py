"""Writing exports (``cacao-screen export``): CSV, GeoParquet, FlatGeobuf, GeoJSON, and the EUDR
folder of GeoJSON files with its manifest. Every output appears complete or not at all: files are
written under a temporary name beside the target and renamed; the EUDR folder is staged and
swapped in whole.
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from ..errors import OutputError
from ..i18n import tr
from .atomic import check_folder_target, replace_dir
from .csv_cells import write_csv
from .outputs import (
    check_folder,
    check_not_input,
    deferred_signals,
    make_folder,
    private_dir,
    rename_into,
    temp_prefix,
)

log = logging.getLogger(__name__)


@dataclass
class Folder:
    """What a folder export holds: text files (name → text) and tables written as CSV (name → frame)."""

    files: dict[str, str]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)


class Writer:
    """An export format: its name (``--format``), the names its output takes (a file's suffixes, or
    a folder), and :meth:`write`, which writes the data to a temporary path that is then renamed
    onto the output (a file) or swapped in whole (a folder). A new format is one subclass and one
    :func:`register`."""

    name: ClassVar[str]
    suffixes: ClassVar[tuple[str, ...]] = ()
    folder: ClassVar[bool] = False
    needs_geometry: ClassVar[bool] = True

    def __init__(self, **options) -> None:
        self.options = options

    def write(self, data, tmp: Path) -> None:  # pragma: no cover - every format overrides it
        raise NotImplementedError


#: Every export format, by name: the one place a format is registered.
WRITERS: dict[str, type[Writer]] = {}


def register(cls: type[Writer]) -> type[Writer]:
    """Register an export format (a class decorator)."""
    WRITERS[cls.name] = cls
    return cls


def writer_for(fmt: str, **options) -> Writer:
    """The writer of ``fmt``, with its options (``wkt=True`` for csv)."""
    if fmt not in WRITERS:
        raise OutputError(tr("unknown export format {fmt} (formats: {formats})", fmt=fmt, formats=", ".join(WRITERS)))
    return WRITERS[fmt](**options)


@register
class CsvWriter(Writer):
    """CSV, UTF-8, without geometry (``wkt=True``: the geometry as WKT in ``geometry_wkt``)."""

    name, suffixes, needs_geometry = "csv", (".csv",), False

    def write(self, data, tmp: Path) -> None:
        spatial = isinstance(data, gpd.GeoDataFrame)
        table = pd.DataFrame(data.drop(columns=data.geometry.name)) if spatial else pd.DataFrame(data)
        if self.options.get("wkt") and spatial:
            table["geometry_wkt"] = shapely.to_wkt(data.geometry.to_numpy(), rounding_precision=-1)
        write_csv(table, tmp)


@register
class GeoParquetWriter(Writer):
    """GeoParquet 1.1 with a ``bbox`` column (covering metadata); Parquet for a layer without geometry."""

    name, suffixes, needs_geometry = "geoparquet", (".parquet", ".geoparquet"), False

    def write(self, data, tmp: Path) -> None:
        if isinstance(data, gpd.GeoDataFrame):
            data.to_parquet(tmp, index=False, write_covering_bbox=True)
        else:
            pd.DataFrame(data).to_parquet(tmp, index=False)


@register
class FlatGeobufWriter(Writer):
    """FlatGeobuf with its spatial index, which cannot hold a row without a geometry (an invalid
    plot's): such rows are kept, and the file has no index then."""

    name, suffixes = "flatgeobuf", (".fgb",)

    def write(self, data, tmp: Path) -> None:
        missing = bool(data.geometry.isna().any() or data.geometry.is_empty.any())
        if missing:
            log.info("rows without a geometry; FlatGeobuf written without its spatial index")
        pyogrio.write_dataframe(
            data, tmp, driver="FlatGeobuf", promote_to_multi=True, SPATIAL_INDEX="NO" if missing else "YES"
        )


@register
class GeoJsonWriter(Writer):
    """GeoJSON, RFC 7946 (GDAL's writer: 7 decimals, exterior rings counter-clockwise)."""

    name, suffixes = "geojson", (".geojson", ".json")

    def write(self, data, tmp: Path) -> None:
        pyogrio.write_dataframe(data, tmp, driver="GeoJSON", RFC7946="YES", WRITE_NAME="NO")


@register
class EudrWriter(Writer):
    """The EUDR folder: its GeoJSON files (built by :mod:`pipeline.stages.eudr`) and CSV tables."""

    name, folder = "eudr", True

    def write(self, data: Folder, tmp: Path) -> None:
        for name, text in data.files.items():
            (tmp / name).write_text(text, encoding="utf-8")
        for name, frame in data.tables.items():
            write_csv(frame, tmp / name)


#: The file name extensions each format is written under.
SUFFIXES = {name: cls.suffixes for name, cls in WRITERS.items() if not cls.folder}

#: The files of an EUDR folder written before folders carried a marker (see :mod:`.atomic`).
EUDR_LEGACY = re.compile(r"^(?:[\w.-]+-\d{3,}\.geojson|manifest\.csv)$")


def check_export_target(path: str | Path, fmt: str, overwrite: bool, inputs=()) -> Path:
    """Fail before any work: an existing output without ``overwrite``, a name that says
    another format (``--format csv --out x.geojson``), one of ``inputs``, a folder not writable."""
    path = Path(path)
    if WRITERS[fmt].folder:
        if path.suffix.lower() in {s for sx in SUFFIXES.values() for s in sx}:
            raise OutputError(
                tr(
                    "{path}: the {fmt} export is a folder (GeoJSON files and manifest.csv); give a folder name",
                    path=path,
                    fmt=fmt,
                )
            )
        if path.exists() and not path.is_dir():
            raise OutputError(tr("{path}: exists and is not a folder", path=path))
        return check_folder_target(path, overwrite, what=f"{fmt} export", inputs=inputs, legacy=EUDR_LEGACY)
    check_not_input(path, inputs)
    if path.suffix.lower() not in SUFFIXES[fmt]:
        raise OutputError(
            tr("{path}: a {fmt} export is named {suffixes}", path=path, fmt=fmt, suffixes=" or ".join(SUFFIXES[fmt]))
        )
    if path.is_dir():
        raise OutputError(tr("{target}: is a folder, expected a file name", target=path))
    if path.exists() and not overwrite:
        raise OutputError(tr("{path}: output already exists; pass --overwrite to replace it", path=path))
    check_folder(path.parent, f"{fmt} export")
    return path


@contextmanager
def atomic_file(path: Path, overwrite: bool) -> Iterator[Path]:
    """A temporary path beside ``path``, renamed onto it when the block succeeds; removed otherwise."""
    folder = private_dir(path)  # some writers want to create the file themselves: no one else can enter
    try:
        tmp = folder / path.name
        yield tmp
        if path.exists() and not overwrite:
            raise OutputError(tr("{path}: output appeared while exporting; pass --overwrite to replace it", path=path))
        rename_into(tmp, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_layer(path: str | Path, layer: str) -> pd.DataFrame:
    """A layer of a GeoPackage (a GeoDataFrame in EPSG:4326 when it has geometries)."""
    path = Path(path)
    if not path.is_file():
        raise OutputError(tr("{path}: GeoPackage not found", path=path))
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
        if layer not in names:
            raise OutputError(
                tr("{path}: no layer {layer!r} (layers: {layers})", path=path, layer=layer, layers=", ".join(names))
            )
        frame = pyogrio.read_dataframe(path, layer=layer, use_arrow=True)
    except (DataSourceError, DataLayerError) as exc:
        raise OutputError(tr("{path}: cannot read layer {layer} ({error})", path=path, layer=layer, error=exc)) from exc
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame


def write_export(data, path: str | Path, fmt: str, *, overwrite: bool = False, **options) -> Path:
    """Write ``data`` (a frame; a :class:`Folder` for a folder format) as ``fmt`` at ``path``,
    atomically: a file is written beside and renamed, a folder is staged and swapped in whole."""
    writer = writer_for(fmt, **options)
    path = check_export_target(path, fmt, overwrite)
    if writer.folder:
        return _write_folder(writer, data, path, overwrite)
    if writer.needs_geometry and not isinstance(data, gpd.GeoDataFrame):
        raise OutputError(tr("a {fmt} export needs a layer with geometries; this one has none (try csv)", fmt=fmt))
    with atomic_file(path, overwrite) as tmp:
        writer.write(data, tmp)
    return path


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str, *, wkt: bool = False, overwrite: bool = False) -> Path:
    """Write ``frame`` as ``fmt`` (csv, geoparquet, flatgeobuf, geojson), atomically."""
    return write_export(frame, path, fmt, overwrite=overwrite, wkt=wkt)


def _write_folder(writer: Writer, data, folder: Path, overwrite: bool) -> Path:
    make_folder(folder.parent)  # disk full: DiskFullError
    staged: Path | None = None
    try:
        with deferred_signals():  # removed below even if a signal comes as it is made
            staged = Path(tempfile.mkdtemp(prefix=temp_prefix(folder), suffix=".tmp", dir=folder.parent))
        writer.write(data, staged)
        os.chmod(staged, 0o755)
        if folder.exists() and not overwrite:
            raise OutputError(
                tr("{path}: output appeared while exporting; pass --overwrite to replace it", path=folder)
            )
        replace_dir(staged, folder, what=f"{writer.name} export", legacy=EUDR_LEGACY)
    except BaseException:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        raise
    return folder
