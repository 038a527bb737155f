"""A new GeoPackage layer written from Arrow batches through GDAL's C API, without the GIL.

``pyogrio.write_arrow`` holds Python's GIL while GDAL encodes and inserts the rows: the screening's
``plots`` layer, written on a thread of its own as the chunks come, so stopped every other thread
for its whole length (0.7 s of GIL at 100,000 plots, ~7 s at a million). Here the same GDAL calls
(``GDALCreate``, ``GDALDatasetCreateLayer``, ``OGR_L_CreateFieldFromArrowSchema``,
``OGR_L_WriteArrowBatch``) are made through :mod:`ctypes`, which releases the GIL around each
foreign call: the engine's threads go on while GDAL writes.

It is the very GDAL library that pyogrio loaded (the copy shipped in its wheel: same drivers, same
configuration options, e.g. ``OGR_SQLITE_SYNCHRONOUS``), called as ``pyogrio.write_arrow`` calls
it, so the file is the same (``tests/test_gpkg_writer.py`` compares them). :func:`available` is
False when that library cannot be found (a pyogrio built against a system GDAL, or GDAL < 3.8):
callers then use ``pyogrio.write_arrow``.
"""

from __future__ import annotations

import ctypes
import glob
import os
import threading
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import pyarrow as pa

from ..errors import WriteError
from ..i18n import _, ntr, tr

#: OGRwkbGeometryType of the layer geometry types the screening writes.
GEOMETRY_TYPES = {
    "Unknown": 0,
    "Point": 1,
    "LineString": 2,
    "Polygon": 3,
    "MultiPoint": 4,
    "MultiLineString": 5,
    "MultiPolygon": 6,
    "GeometryCollection": 7,
}

#: OGRwkbGeometryType of a layer without geometry.
_WKB_NONE = 100
_OAMS_TRADITIONAL_GIS_ORDER = 0
_GDT_UNKNOWN = 0


class _ArrowSchema(ctypes.Structure):
    pass


_ArrowSchema._fields_ = [
    ("format", ctypes.c_char_p),
    ("name", ctypes.c_char_p),
    ("metadata", ctypes.c_char_p),
    ("flags", ctypes.c_int64),
    ("n_children", ctypes.c_int64),
    ("children", ctypes.POINTER(ctypes.POINTER(_ArrowSchema))),
    ("dictionary", ctypes.c_void_p),
    ("release", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
    ("private_data", ctypes.c_void_p),
]


class _ArrowArray(ctypes.Structure):
    _fields_ = [
        ("length", ctypes.c_int64),
        ("null_count", ctypes.c_int64),
        ("offset", ctypes.c_int64),
        ("n_buffers", ctypes.c_int64),
        ("n_children", ctypes.c_int64),
        ("buffers", ctypes.c_void_p),
        ("children", ctypes.c_void_p),
        ("dictionary", ctypes.c_void_p),
        ("release", ctypes.CFUNCTYPE(None, ctypes.c_void_p)),
        ("private_data", ctypes.c_void_p),
    ]


_LOCK = threading.Lock()
_LIB: list[ctypes.CDLL | None] = []


def _library_path() -> str | None:
    """The GDAL library of pyogrio's wheel (``pyogrio.libs/libgdal-*.so*``), if there is one."""
    import pyogrio  # loads it, and registers GDAL's drivers

    libs = Path(pyogrio.__file__).resolve().parent.parent / "pyogrio.libs"
    found = sorted(glob.glob(str(libs / "libgdal*.so*"))) + sorted(glob.glob(str(libs / "libgdal*.dylib")))
    return found[0] if len(found) == 1 else None


def _declare(lib: ctypes.CDLL) -> None:
    p, c = ctypes.c_void_p, ctypes.c_char_p
    sigs = {
        "GDALGetDriverByName": (p, [c]),
        "GDALCreate": (p, [p, c, ctypes.c_int, ctypes.c_int, ctypes.c_int, ctypes.c_int, p]),
        "GDALClose": (ctypes.c_int, [p]),
        "GDALDatasetCreateLayer": (p, [p, c, p, ctypes.c_int, p]),
        "OSRNewSpatialReference": (p, [c]),
        "OSRSetFromUserInput": (ctypes.c_int, [p, c]),
        "OSRSetAxisMappingStrategy": (None, [p, ctypes.c_int]),
        "OSRRelease": (None, [p]),
        "OGR_L_CreateFieldFromArrowSchema": (ctypes.c_bool, [p, ctypes.POINTER(_ArrowSchema), p]),
        "OGR_L_WriteArrowBatch": (ctypes.c_bool, [p, ctypes.POINTER(_ArrowSchema), ctypes.POINTER(_ArrowArray), p]),
        "CPLGetLastErrorMsg": (c, []),
        "CPLErrorReset": (None, []),
        "CPLPushErrorHandler": (None, [p]),
        "CPLPopErrorHandler": (None, []),
    }
    for name, (restype, argtypes) in sigs.items():
        fn = getattr(lib, name)
        fn.restype, fn.argtypes = restype, argtypes


def _lib() -> ctypes.CDLL | None:
    with _LOCK:
        if not _LIB:
            lib = None
            path = _library_path()
            if path is not None:
                try:
                    lib = ctypes.CDLL(path)  # already loaded by pyogrio: the same library
                    _declare(lib)
                except (OSError, AttributeError):  # not found, or a GDAL without the Arrow write API
                    lib = None
            _LIB.append(lib)
        return _LIB[0]


def available() -> bool:
    """Whether layers can be written here (else use ``pyogrio.write_arrow``)."""
    return _lib() is not None


def _options(values: Mapping[str, str]) -> ctypes.Array[ctypes.c_char_p]:
    """A NULL-terminated ``char **`` of ``KEY=VALUE`` strings."""
    items = [f"{k}={v}".encode() for k, v in values.items()]
    return (ctypes.c_char_p * (len(items) + 1))(*items, None)


class LayerWriter:
    """A new GeoPackage (``path``, created with ``dataset_options``) with one layer ``name`` of
    ``schema``'s columns, the binary column ``geometry_name`` as its geometry (WKB, of
    ``geometry_type``, in ``crs``); :meth:`write` appends a batch. :meth:`add_table` adds a layer
    without geometry to the same file, written in the same session (its batches may come between
    the first layer's). Use as a context manager: the file is closed (and complete) when the block
    ends. One thread at a time."""

    def __init__(
        self,
        path: str | Path,
        name: str,
        schema: pa.Schema,
        *,
        geometry_name: str,
        geometry_type: str,
        crs: str,
        dataset_options: Mapping[str, str],
    ) -> None:
        lib = _lib()
        if lib is None:
            raise WriteError(tr("{path}: GDAL's Arrow write API is not available here", path=path))
        self._gdal = lib
        self.path, self.name, self.schema = Path(path), name, schema
        self._geometry_name = geometry_name
        self._geometry_type = GEOMETRY_TYPES[geometry_type]
        self._crs = crs
        self._dataset_options = dict(dataset_options)
        self._ds: int | None = None
        self._layers: dict[str, tuple[int, ctypes.Array[ctypes.c_char_p]]] = {}  # name -> (OGRLayerH, options)

    @property
    def layers(self) -> list[str]:
        """The layers created, in order."""
        return list(self._layers)

    def _fail(self, what: str) -> WriteError:
        """``what`` failed (a sentence from the catalogs), with GDAL's last message."""
        msg = self._gdal.CPLGetLastErrorMsg()
        text = msg.decode("utf-8", "replace") if msg else ""
        return WriteError(tr("{path}: {what}", path=self.path, what=what) + (f": {text}" if text else ""))

    def __enter__(self) -> LayerWriter:
        g = self._gdal
        g.CPLPushErrorHandler(ctypes.cast(g.CPLQuietErrorHandler, ctypes.c_void_p))  # errors read back, not printed
        try:
            self._open()
        except BaseException:
            self._close()
            raise
        return self

    def _open(self) -> None:
        g = self._gdal
        g.CPLErrorReset()
        driver = g.GDALGetDriverByName(b"GPKG")
        if not driver:
            raise self._fail(_("GDAL has no GeoPackage driver"))
        opts = _options(self._dataset_options)
        self._ds = g.GDALCreate(driver, os.fsencode(self.path), 0, 0, 0, _GDT_UNKNOWN, opts)
        if not self._ds:
            raise self._fail(_("cannot create the GeoPackage"))
        srs = g.OSRNewSpatialReference(None)
        try:
            if g.OSRSetFromUserInput(srs, self._crs.encode()) != 0:
                raise self._fail(tr("unknown CRS {crs}", crs=self._crs))
            g.OSRSetAxisMappingStrategy(srs, _OAMS_TRADITIONAL_GIS_ORDER)
            layer = g.GDALDatasetCreateLayer(self._ds, self.name.encode(), srs, self._geometry_type, None)
        finally:
            g.OSRRelease(srs)
        self._created(self.name, layer, self.schema, {"GEOMETRY_NAME": self._geometry_name})

    def add_table(self, name: str, schema: pa.Schema) -> None:
        """A layer ``name`` without geometry, of ``schema``'s columns."""
        self._gdal.CPLErrorReset()
        layer = self._gdal.GDALDatasetCreateLayer(self._ds, name.encode(), None, _WKB_NONE, None)
        self._created(name, layer, schema, {})

    def _created(self, name: str, layer: int | None, schema: pa.Schema, options: Mapping[str, str]) -> None:
        """The layer just created (``layer``, NULL if that failed) given ``schema``'s fields (all
        but the geometry column), and written with ``options`` from then on."""
        if not layer:
            raise self._fail(tr("cannot create the layer {layer}", layer=name))
        c_schema = _ArrowSchema()
        schema._export_to_c(ctypes.addressof(c_schema))
        try:
            for i, field in enumerate(schema):
                if field.name == options.get("GEOMETRY_NAME"):
                    continue
                if not self._gdal.OGR_L_CreateFieldFromArrowSchema(layer, c_schema.children[i], None):
                    raise self._fail(
                        tr("cannot create the field {field} ({type})", field=field.name, type=str(field.type))
                    )
        finally:
            if c_schema.release:
                c_schema.release(ctypes.addressof(c_schema))
        self._layers[name] = (layer, _options(options))

    def write(self, batch: pa.RecordBatch, layer: str | None = None) -> None:
        """Append ``batch`` (of that layer's schema) to the layer ``layer`` (the first one: ``name``)."""
        name = self.name if layer is None else layer
        handle, options = self._layers[name]
        c_schema, c_array = _ArrowSchema(), _ArrowArray()
        batch._export_to_c(ctypes.addressof(c_array), ctypes.addressof(c_schema))
        try:
            if not self._gdal.OGR_L_WriteArrowBatch(handle, c_schema, c_array, options):
                raise self._fail(
                    ntr(
                        "cannot write {n} row to the layer {layer}",
                        "cannot write {n} rows to the layer {layer}",
                        batch.num_rows,
                        layer=name,
                    )
                )
        finally:
            if c_array.release:
                c_array.release(ctypes.addressof(c_array))
            if c_schema.release:
                c_schema.release(ctypes.addressof(c_schema))

    def _close(self) -> int:
        status = 0
        if self._ds:
            status = self._gdal.GDALClose(self._ds)  # writes what is pending: the R-tree, the extent
            self._ds = None
        self._gdal.CPLPopErrorHandler()
        return status

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        failed = self._close() != 0
        if failed and exc_type is None:
            raise self._fail(_("cannot finish the GeoPackage"))
