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
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from ..errors import OutputError
from .atomic import check_folder_target, replace_dir
from .csv_cells import write_csv
from .outputs import check_folder, check_not_input, deferred_signals, private_dir, rename_into, temp_prefix

log = logging.getLogger(__name__)

#: The file name extensions each format is written under.
SUFFIXES = {
    "csv": (".csv",),
    "geoparquet": (".parquet", ".geoparquet"),
    "flatgeobuf": (".fgb",),
    "geojson": (".geojson", ".json"),
}

#: The files of an EUDR folder written before folders carried a marker (see :mod:`.atomic`).
EUDR_LEGACY = re.compile(r"^(?:[\w.-]+-\d{3,}\.geojson|manifest\.csv)$")


def check_export_target(path: str | Path, fmt: str, overwrite: bool, inputs=()) -> Path:
    """Fail before any work: an existing output without ``overwrite``, a name that says
    another format (``--format csv --out x.geojson``), one of ``inputs``, a folder not writable."""
    path = Path(path)
    if fmt == "eudr":
        if path.suffix.lower() in {s for sx in SUFFIXES.values() for s in sx}:
            raise OutputError(
                f"{path}: the eudr export is a folder (GeoJSON files and manifest.csv); give a folder name"
            )
        if path.exists() and not path.is_dir():
            raise OutputError(f"{path}: exists and is not a folder")
        return check_folder_target(path, overwrite, what="eudr export", inputs=inputs, legacy=EUDR_LEGACY)
    check_not_input(path, inputs)
    if path.suffix.lower() not in SUFFIXES[fmt]:
        raise OutputError(f"{path}: a {fmt} export is named {' or '.join(SUFFIXES[fmt])}")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, expected a file name")
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: output already exists; pass --overwrite to replace it")
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
            raise OutputError(f"{path}: output appeared while exporting; pass --overwrite to replace it")
        rename_into(tmp, path)
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def read_layer(path: str | Path, layer: str) -> pd.DataFrame:
    """A layer of a GeoPackage (a GeoDataFrame in EPSG:4326 when it has geometries)."""
    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{path}: GeoPackage not found")
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
        if layer not in names:
            raise OutputError(f"{path}: no layer {layer!r} (layers: {', '.join(names)})")
        frame = pyogrio.read_dataframe(path, layer=layer, use_arrow=True)
    except (DataSourceError, DataLayerError) as exc:
        raise OutputError(f"{path}: cannot read layer {layer} ({exc})") from exc
    if isinstance(frame, gpd.GeoDataFrame) and frame.crs is not None and not frame.crs.equals("EPSG:4326"):
        frame = frame.to_crs("EPSG:4326")
    return frame


def write_table(frame: pd.DataFrame, path: str | Path, fmt: str, *, wkt: bool = False, overwrite: bool = False) -> Path:
    """Write ``frame`` as ``fmt`` (csv, geoparquet, flatgeobuf, geojson), atomically."""
    path = check_export_target(path, fmt, overwrite)
    spatial = isinstance(frame, gpd.GeoDataFrame)
    with atomic_file(path, overwrite) as tmp:
        if fmt == "csv":
            table = pd.DataFrame(frame.drop(columns=frame.geometry.name)) if spatial else pd.DataFrame(frame)
            if wkt and spatial:
                table["geometry_wkt"] = shapely.to_wkt(frame.geometry.to_numpy(), rounding_precision=-1)
            write_csv(table, tmp)
        elif not spatial:
            if fmt == "geoparquet":
                pd.DataFrame(frame).to_parquet(tmp, index=False)
            else:
                raise OutputError(f"a {fmt} export needs a layer with geometries; this one has none (try csv)")
        elif fmt == "geoparquet":
            frame.to_parquet(tmp, index=False, write_covering_bbox=True)  # GeoParquet 1.1: a bbox column
        elif fmt == "flatgeobuf":
            # FlatGeobuf's spatial index cannot hold a row without a geometry (an invalid plot's):
            # such rows are kept, and the file has no index then.
            missing = bool(frame.geometry.isna().any() or frame.geometry.is_empty.any())
            if missing:
                log.info("%s: rows without a geometry; FlatGeobuf written without its spatial index", path)
            pyogrio.write_dataframe(
                frame, tmp, driver="FlatGeobuf", promote_to_multi=True, SPATIAL_INDEX="NO" if missing else "YES"
            )
        elif fmt == "geojson":
            pyogrio.write_dataframe(frame, tmp, driver="GeoJSON", RFC7946="YES", WRITE_NAME="NO")
        else:  # pragma: no cover - the config allows no other format
            raise OutputError(f"unknown export format {fmt}")
    return path


def write_eudr(folder: str | Path, files: dict[str, str], manifest: pd.DataFrame, *, overwrite: bool = False) -> Path:
    """Write the EUDR GeoJSON files and ``manifest.csv`` into ``folder``, replacing it whole."""
    folder = check_export_target(folder, "eudr", overwrite)
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{folder.parent}: cannot create the output folder ({exc.strerror})") from exc
    staged: Path | None = None
    try:
        with deferred_signals():  # removed below even if a signal comes as it is made
            staged = Path(tempfile.mkdtemp(prefix=temp_prefix(folder), suffix=".tmp", dir=folder.parent))
        for name, text in files.items():
            (staged / name).write_text(text, encoding="utf-8")
        write_csv(manifest, staged / "manifest.csv")
        os.chmod(staged, 0o755)
        if folder.exists() and not overwrite:
            raise OutputError(f"{folder}: output appeared while exporting; pass --overwrite to replace it")
        replace_dir(staged, folder, what="eudr export", legacy=EUDR_LEGACY)
    except BaseException:
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
        raise
    return folder
