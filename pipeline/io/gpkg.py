"""GeoPackages: the screening and baseline outputs, written atomically, and read back.

Layers of ``screening.gpkg``:

* ``plots`` — every input row with its figures, status and geometry (EPSG:4326);
* ``loss_by_year`` — long format (``plot_id``, ``source_row``, ``year``, ``loss_ha``), one row per
  plot and year with loss (years without loss are omitted);
* ``plot_issues`` — quality-control findings (``plot_id``, ``source_row``, ``code``, ``severity``,
  ``message``);
* ``alerts_by_month`` — with alert products: alert area per plot, month and confidence after the
  cut-off day (written from the ``extra`` layers the job gives);
* ``run_metadata`` — the run's parameters as ``key``/``value`` rows (also stored as GeoPackage
  metadata of the ``plots`` layer).

The file is written under a temporary name beside the target and renamed into place only when
complete, so a crash or a kill never leaves half a GeoPackage under the final name.

A screening of any size is written as it is computed (:class:`ScreeningWriter`): the ``plots``
layer is streamed into the temporary file by one GDAL session (one transaction; a writer thread
takes the rows chunk after chunk while the next chunk is screened), and with it the layers without
a geometry (``loss_by_year``, ``plot_issues``) when GDAL is called directly
(:mod:`pipeline.io.gdal_arrow`); the layers with a geometry (``loss_patches``: its type is known at
the end), and all of them through pyogrio, are staged in Arrow files beside it and appended when the
plots are written; then ``run_metadata``; then the rename.
"""

from __future__ import annotations

import logging
import os
import queue
import re
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.ipc as ipc
import pyogrio
import shapely

from ..errors import OutputError
from ..i18n import N_, tr
from . import gdal_arrow
from .atomic import check_folder_target, replace_dir
from .csv_cells import write_csv
from .gpkg_style import CREATION_OPTIONS
from .outputs import Staged, check_destination, deferred_signals, temp_prefix

log = logging.getLogger(__name__)


def check_target(
    path: str | Path,
    overwrite: bool,
    *,
    inputs: Iterable[tuple[str, str | Path | None]] = (),
    suffixes: tuple[str, ...] = (".gpkg",),
) -> Path:
    """Fail early (before any work) when the output cannot be written where asked: see
    :func:`pipeline.io.outputs.check_destination` (exists without ``overwrite``, not a cacao-screen
    output, one of ``inputs``, a folder that cannot be written, another extension)."""
    return check_destination(path, overwrite, suffixes=suffixes, inputs=inputs)


@contextmanager
def atomic_path(path: str | Path, overwrite: bool, suffixes: tuple[str, ...] = (".gpkg",)) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = check_target(path, overwrite, suffixes=suffixes)
    with Staged(path, overwrite) as staged:
        yield staged.tmp
        staged.publish()


#: A last step on the complete temporary GeoPackage, before it is renamed into place (styles,
#: descriptions, provenance: :func:`pipeline.io.gpkg_style.enrich`).
Finish = Callable[[Path], None]


def write_layers(
    path: str | Path,
    layers: dict[str, pd.DataFrame],
    metadata: dict[str, str],
    *,
    overwrite: bool = False,
    finish: Finish | None = None,
) -> Path:
    """Write tables and layers to one GeoPackage atomically, plus a ``run_metadata`` table.

    The first layer also carries ``metadata`` as GeoPackage layer metadata. Frames with a geometry
    are written as spatial layers (EPSG:4326 expected), others as attribute tables. ``finish``
    runs on the complete temporary file before the rename.
    """
    path = Path(path)
    with atomic_path(path, overwrite) as tmp:
        _write_layers_to(tmp, layers, metadata, finish)
    return path


def _write_layers_to(tmp: Path, layers: dict[str, pd.DataFrame], metadata: dict[str, str], finish) -> None:
    kw = dict(driver="GPKG", use_arrow=True)
    with unsynced():
        for i, (name, frame) in enumerate(layers.items()):
            extra: dict[str, Any] = {}
            if isinstance(frame, gpd.GeoDataFrame):
                extra["promote_to_multi"] = True
            if i == 0:
                extra["metadata"] = metadata
                extra["dataset_options"] = CREATION_OPTIONS  # the version, chosen when the file is created
            pyogrio.write_dataframe(frame, tmp, layer=name, append=False, **extra, **kw)
        meta = pd.DataFrame({"key": list(metadata), "value": [str(v) for v in metadata.values()]})
        pyogrio.write_dataframe(meta, tmp, layer="run_metadata", append=False, **kw)
        if finish is not None:
            finish(tmp)
    sync_file(tmp)


@contextmanager
def unsynced() -> Iterator[None]:
    """GDAL's SQLite commits without waiting for the disk (``OGR_SQLITE_SYNCHRONOUS=OFF``) while a
    temporary GeoPackage is made: it is renamed into place only once complete, after one
    :func:`sync_file` (each layer appended to a GeoPackage otherwise waits for several syncs, about
    0.15 s each on a busy disk; the file as a whole is synced once either way)."""
    pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": "OFF"})
    try:
        yield
    finally:
        pyogrio.set_gdal_config_options({"OGR_SQLITE_SYNCHRONOUS": None})


def sync_file(path: Path) -> None:
    """Wait until ``path``'s content is on the disk (before it is renamed into place)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


# --- Writing as the screening goes -------------------------------------------------------------

_MULTI = {"Point": "MultiPoint", "LineString": "MultiLineString", "Polygon": "MultiPolygon"}


def output_wkb(geoms: np.ndarray, wkb: np.ndarray | None = None) -> tuple[np.ndarray, set[str]]:
    """The geometries as written: single parts promoted to multi-parts (as geopandas writes a
    GeoPackage), as WKB, empty ones as NULL (as :func:`pipeline.io.gpkg_style.enrich` would make
    them); and the geometry types met before promotion (see :func:`layer_geometry_type`).
    ``wkb``: the geometries' own (2D, little-endian) WKB, when at hand: a single part is then
    promoted by prefixing its bytes, the same bytes shapely writes."""
    geoms = np.asarray(geoms, dtype=object)
    types = shapely.get_type_id(geoms)
    names = {_TYPE_NAMES[t] for t in np.unique(types) if t >= 0}
    out, names = _output_wkb(geoms, types, names, wkb)
    empty = shapely.is_empty(geoms)
    if empty.any():
        out = np.where(empty, None, out)
    return out, names


def _output_wkb(geoms, types, names, wkb):
    if wkb is not None:
        out = np.asarray(wkb, dtype=object).copy()
        for single, prefix in _PREFIX.items():
            at = np.flatnonzero(types == single)
            if len(at):
                out[at] = [prefix + w if w[:1] == b"\x01" else _promote_one(g) for w, g in zip(out[at], geoms[at])]
        return out, names
    out = geoms.copy()
    for single, maker in ((0, shapely.multipoints), (1, shapely.multilinestrings), (3, shapely.multipolygons)):
        m = types == single
        if m.any():
            out[m] = maker(np.atleast_2d(geoms[m]).T)
    return shapely.to_wkb(out), names


#: WKB header of a (little-endian, 2D) multi-part holding one part, by the type of the part.
_PREFIX = {
    0: b"\x01\x04\x00\x00\x00\x01\x00\x00\x00",
    1: b"\x01\x05\x00\x00\x00\x01\x00\x00\x00",
    3: b"\x01\x06\x00\x00\x00\x01\x00\x00\x00",
}


def _promote_one(g) -> bytes:
    maker = {0: shapely.multipoints, 1: shapely.multilinestrings, 3: shapely.multipolygons}[shapely.get_type_id(g)]
    return shapely.to_wkb(maker([g]))


_TYPE_NAMES = {
    0: "Point",
    1: "LineString",
    2: "LinearRing",
    3: "Polygon",
    4: "MultiPoint",
    5: "MultiLineString",
    6: "MultiPolygon",
    7: "GeometryCollection",
}


def layer_geometry_type(types: set[str]) -> str:
    """The layer's geometry type for the types met (what geopandas chooses with promotion to
    multi-parts): the one multi type when there is one, else ``Unknown``."""
    promoted = {_MULTI.get(t, t) for t in types}
    if len(promoted) == 1 and len(types) <= 2:
        return promoted.pop()
    return "Unknown"


def arrow_table(frame: pd.DataFrame) -> pa.Table:
    """A frame as Arrow, as pyogrio writes it: no index, columns of nulls as text."""
    table = pa.Table.from_pandas(frame, preserve_index=False).replace_schema_metadata(None)
    for i, f in enumerate(table.schema):
        if pa.types.is_null(f.type):
            table = table.set_column(i, f.with_type(pa.string()), table.column(i).cast(pa.string()))
    return table


def _no_rows(schema: pa.Schema) -> pa.RecordBatch:
    return pa.RecordBatch.from_pylist([], schema=schema)


class ScreeningWriter:
    """``screening.gpkg`` written chunk by chunk, atomically (see the module docstring).

    Use as a context manager; :meth:`add` each chunk's ``plots`` rows (an Arrow table whose last
    column is the WKB ``geometry``), ``loss_by_year`` and ``plot_issues`` rows; :meth:`finish`
    with the metadata. Leaving the block without :meth:`finish` (an error) leaves nothing behind.
    """

    #: Up to this many plots, GDAL builds the GeoPackage's spatial index in memory as the rows come
    #: (fastest; ~45 bytes a plot); beyond, at the end from the table, in bounded memory.
    IN_MEMORY_INDEX_ROWS = 2_000_000

    def __init__(
        self,
        path: str | Path,
        *,
        overwrite: bool,
        geometry_type: str,
        staging: str | Path,
        rows: int = 0,
        staged: Staged | None = None,
    ) -> None:
        self.expected_rows = rows
        self.staged = staged  # given: written there, and published by the caller (with other outputs)
        self.path = Path(path)
        self.overwrite = overwrite
        self.geometry_type = geometry_type
        self.staging = Path(staging)
        self.rows = 0
        self._stack = ExitStack()
        self._queue: queue.Queue = queue.Queue(maxsize=1)
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._tables: dict[str, tuple] = {}  # staged layer -> (file, writer)
        self._spatial: dict[str, set[str]] = {}  # staged layers with a geometry -> the types met
        self._schemas: dict[str, pa.Schema] = {}  # layer -> the schema of its first rows
        # GDAL called directly: the layers without geometry are written with the plots, as they
        # come; else (and the layers with a geometry, whose type is known at the end) staged
        self._direct = gdal_arrow.available()
        self._done = False
        self.write_s = 0.0  # seconds spent writing (the thread's life, less its waits for rows; and finish)
        self.wait_s = 0.0  # seconds the writer thread waited for the next chunk's rows

    def __enter__(self) -> ScreeningWriter:
        if self.staged is not None:
            self.tmp = self.staged.tmp
        else:
            self.tmp = self._stack.enter_context(atomic_path(self.path, self.overwrite))
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if not self._done:
            self._stop(abort=True)
            self._close_staged()
            if exc_type is None:
                exc = RuntimeError("internal error: the screening writer was left unfinished")
                self._stack.__exit__(RuntimeError, exc, None)  # removes the temporary file
                raise exc
        return bool(self._stack.__exit__(exc_type, exc, tb))

    def _close_staged(self) -> None:
        for name, (sink, writer) in list(self._tables.items()):
            try:
                writer.close()
                sink.close()
            except (OSError, pa.ArrowException):
                pass
            try:
                os.unlink(self.staging / f"{name}.arrow")
            except OSError:
                pass
        self._tables.clear()

    def _stream(self, schema: pa.Schema) -> None:
        """The writer thread: one GDAL session writing the ``plots`` layer from the queue."""
        import time

        def batches():  # (layer, batch), chunk after chunk
            while True:
                waiting = time.perf_counter()
                item = self._queue.get()
                self.wait_s += time.perf_counter() - waiting
                if item is None:
                    return
                if isinstance(item, BaseException):
                    raise item
                for name, table in item:  # an empty table still makes its layer
                    yield from ((name, batch) for batch in table.to_batches() or [_no_rows(table.schema)])

        started = time.perf_counter()
        if self.expected_rows > self.IN_MEMORY_INDEX_ROWS:
            pyogrio.set_gdal_config_options({"OGR_GPKG_ALLOW_THREADED_RTREE": "NO"})
        layer: dict[str, Any] = dict(geometry_name="geometry", geometry_type=self.geometry_type, crs="EPSG:4326")
        try:
            if self._direct:  # GDAL's calls without the GIL: the screening goes on meanwhile
                with gdal_arrow.LayerWriter(self.tmp, "plots", schema, dataset_options=CREATION_OPTIONS, **layer) as w:
                    for name, batch in batches():
                        if name not in w.layers:
                            w.add_table(name, batch.schema)
                        if batch.num_rows:
                            w.write(batch, name)
            else:
                rows = (batch for _, batch in batches() if batch.num_rows)
                reader = pa.RecordBatchReader.from_batches(schema, rows)
                pyogrio.write_arrow(
                    reader, self.tmp, layer="plots", driver="GPKG", dataset_options=CREATION_OPTIONS, **layer
                )
        except BaseException as exc:  # noqa: BLE001 - handed to the main thread
            self._error = exc
        finally:
            self.write_s += time.perf_counter() - started - self.wait_s
            pyogrio.set_gdal_config_options({"OGR_GPKG_ALLOW_THREADED_RTREE": None})

    def _put(self, item) -> None:
        """Hand ``item`` to the writer thread (waiting while it is busy), unless it has stopped."""
        while self._thread is not None and self._thread.is_alive():
            try:
                self._queue.put(item, timeout=0.5)
                return
            except queue.Full:
                continue

    def _check(self) -> None:
        if self._error is not None:
            raise self._error

    def add(
        self,
        plots: pa.Table,
        loss_by_year: pd.DataFrame,
        issues: pd.DataFrame,
        extra: dict[str, pd.DataFrame] | None = None,
    ) -> None:
        """Write one chunk's rows (the plots in the order they are given); ``extra``: rows of more
        layers (``alerts_by_month``), written after the others."""
        self._check()
        if self._thread is None:
            self.schema = plots.schema
            self._thread = threading.Thread(target=self._stream, args=(self.schema,), name="gpkg-writer", daemon=True)
            self._thread.start()
        elif not plots.schema.equals(self.schema):
            plots = plots.cast(self.schema)
        item = [("plots", plots)]
        for name, frame in [("loss_by_year", loss_by_year), ("plot_issues", issues), *(extra or {}).items()]:
            if self._direct and not isinstance(frame, gpd.GeoDataFrame):
                item.append((name, self._conformed(name, arrow_table(frame))))
            else:
                self._stage(name, frame)
        self._put(item)
        self._check()
        self.rows += len(plots)

    def _conformed(self, name: str, table: pa.Table) -> pa.Table:
        """``table`` in the schema of the first rows of layer ``name``."""
        schema = self._schemas.setdefault(name, table.schema)
        return table if table.schema.equals(schema) else table.cast(schema)

    def _stage(self, name: str, frame: pd.DataFrame) -> None:
        if isinstance(frame, gpd.GeoDataFrame):  # a spatial layer: its geometry staged as WKB
            wkb, types = output_wkb(np.asarray(frame.geometry.array, dtype=object))
            self._spatial.setdefault(name, set()).update(types)
            table = arrow_table(pd.DataFrame(frame.drop(columns=frame.geometry.name)))
            table = table.append_column(pa.field("geometry", pa.binary()), pa.array(list(wkb), type=pa.binary()))
        else:
            table = arrow_table(frame)
        if name not in self._tables:
            sink = pa.OSFile(str(self.staging / f"{name}.arrow"), "wb")
            self._tables[name] = (sink, ipc.new_stream(sink, self._conformed(name, table).schema))
        sink, writer = self._tables[name]
        writer.write_table(self._conformed(name, table))

    def _stop(self, abort: bool) -> None:
        if self._thread is None:
            return
        self._put(RuntimeError("screening stopped") if abort else None)
        self._thread.join()
        self._thread = None

    def finish(self, metadata: dict[str, str], finish: Finish | None = None) -> Path:
        """Finish the ``plots`` layer, append the staged tables and ``run_metadata``, run ``finish``
        on the complete temporary file (styles, descriptions, provenance), and rename the file into
        place (unless the writer was given a :class:`~pipeline.io.outputs.Staged` file: its
        owner publishes it). Returns the path."""
        import time

        self._stop(abort=False)
        self._check()
        started = time.perf_counter()
        with unsynced():
            self._append_tables(metadata, finish)
        sync_file(self.tmp)
        self.write_s += time.perf_counter() - started
        self._done = True
        self._stack.close()  # the rename
        return self.path

    def _append_tables(self, metadata: dict[str, str], finish: Finish | None) -> None:
        kw = dict(driver="GPKG", dataset_options=CREATION_OPTIONS)
        # the plots layer's metadata, now that it is known (an empty append sets it)
        pyogrio.write_arrow(
            self.schema.empty_table(),
            self.tmp,
            layer="plots",
            geometry_name="geometry",
            geometry_type=self.geometry_type,
            crs="EPSG:4326",
            append=True,
            layer_metadata=metadata,
            **kw,
        )
        for name in list(self._tables):  # the staged layers, in the order they came
            sink, writer = self._tables.pop(name)
            writer.close()
            sink.close()
            spatial = {}
            if name in self._spatial:
                spatial = dict(
                    geometry_name="geometry",
                    geometry_type=layer_geometry_type(self._spatial[name]) if self._spatial[name] else "MultiPolygon",
                    crs="EPSG:4326",
                )
            with pa.memory_map(str(self.staging / f"{name}.arrow"), "r") as src:
                pyogrio.write_arrow(ipc.open_stream(src), self.tmp, layer=name, append=False, **spatial, **kw)
            os.unlink(self.staging / f"{name}.arrow")
        meta = pd.DataFrame({"key": list(metadata), "value": [str(v) for v in metadata.values()]})
        pyogrio.write_dataframe(meta, self.tmp, layer="run_metadata", append=False, use_arrow=True, driver="GPKG")
        if finish is not None:
            finish(self.tmp)


def write_validation(
    path: str | Path,
    plots: gpd.GeoDataFrame,
    issues: pd.DataFrame,
    metadata: dict[str, str],
    *,
    overwrite: bool = False,
    finish: Finish | None = None,
) -> Path:
    """Write ``validate``'s findings: ``.gpkg`` (plots with qc columns, plot_issues, run_metadata) or
    ``.csv`` (the issues), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return write_layers(path, {"plots": plots, "plot_issues": issues}, metadata, overwrite=overwrite, finish=finish)
    if suffix == ".csv":
        with atomic_path(path, overwrite, suffixes=(".csv",)) as tmp:
            write_csv(issues, tmp)
        return path
    raise OutputError(tr("{path}: the issues are written as .gpkg or .csv; choose one of these extensions", path=path))


def read_previous(path: str | Path) -> pd.DataFrame | None:
    """The ``plots`` layer of an earlier screening output, without geometries, for an incremental
    run; None (a full run) when there is none or it predates screen keys."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        prev = pyogrio.read_dataframe(path, layer="plots", read_geometry=False, use_arrow=True)
    except Exception as exc:  # noqa: BLE001 - an unreadable previous output only costs a full run
        log.warning(
            tr("{path}: cannot reuse the previous output ({error}); screening every plot", path=path, error=exc)
        )
        return None
    if "screen_key" not in prev:
        log.warning(tr("{path}: the previous output has no screen_key column; screening every plot", path=path))
        return None
    return prev


# --- The baseline: a GeoPackage and CSV copies of its tables ------------------------------------


#: The files of a baseline's CSV folder written before folders carried a marker (see :mod:`.atomic`).
BASELINE_CSV_LEGACY = re.compile(r"^[a-z0-9_]+\.csv$")


def csv_folder(path: str | Path) -> Path:
    """Where the CSV copies of ``path``'s tables go: ``<stem>_csv/`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}_csv")


def check_baseline_targets(
    path: str | Path, overwrite: bool, inputs: Iterable[tuple[str, str | Path | None]] = ()
) -> None:
    """Fail before any work when the GeoPackage or its CSV folder cannot be written (exists and
    ``overwrite`` is false, not a cacao-screen output, an input, a folder not writable...)."""
    check_target(path, overwrite, inputs=inputs)
    folder = csv_folder(path)
    if folder.exists() and not folder.is_dir():
        raise OutputError(tr("{path}: exists and is not a folder", path=folder))
    check_folder_target(folder, overwrite, what=N_("baseline's CSV folder"), inputs=inputs, legacy=BASELINE_CSV_LEGACY)


class StagedBaseline:
    """``baseline.gpkg`` and its CSV folder, written under temporary names: :meth:`publish` renames
    both into place, :meth:`discard` removes them."""

    def __init__(self, path: Path, gpkg: Staged, folder: Path, overwrite: bool) -> None:
        self.path, self.gpkg, self.folder, self.overwrite = path, gpkg, folder, overwrite
        self.csv: Path | None = None

    def publish(self) -> Path:
        with deferred_signals():
            self.gpkg.publish()
            if self.csv is not None:
                replace_dir(
                    self.csv, csv_folder(self.path), what=N_("baseline's CSV folder"), legacy=BASELINE_CSV_LEGACY
                )
                self.csv = None
        return self.path

    def discard(self) -> None:
        self.gpkg.discard()
        if self.csv is not None:
            shutil.rmtree(self.csv, ignore_errors=True)
            self.csv = None


def write_baseline(
    path: str | Path,
    layers: dict[str, pd.DataFrame],
    metadata: dict[str, str],
    *,
    overwrite: bool = False,
    finish: Finish | None = None,
    publish: bool = True,
) -> Path | StagedBaseline:
    """Write ``baseline.gpkg`` atomically, then swap in ``<stem>_csv/`` (one CSV per layer, no
    geometry, plus ``run_metadata.csv``). ``publish=False``: write both under temporary names and
    return the :class:`StagedBaseline` (the caller publishes it with the screening)."""
    path = Path(path)
    check_baseline_targets(path, overwrite)
    folder = csv_folder(path)
    staged = StagedBaseline(path, Staged(path, overwrite), folder, overwrite)
    try:
        with deferred_signals():  # removed by discard() even if a signal comes as it is made
            staged.csv = Path(tempfile.mkdtemp(prefix=temp_prefix(folder), suffix=".tmp", dir=path.parent))
        for name, frame in layers.items():
            table = pd.DataFrame(
                frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else frame
            )
            write_csv(table, staged.csv / f"{name}.csv")
        write_csv(
            pd.DataFrame({"key": list(metadata), "value": list(metadata.values())}), staged.csv / "run_metadata.csv"
        )
        os.chmod(staged.csv, 0o755)
        _write_layers_to(staged.gpkg.tmp, layers, metadata, finish)
        if publish:
            staged.publish()
    except BaseException:
        staged.discard()
        raise
    return path if publish else staged
