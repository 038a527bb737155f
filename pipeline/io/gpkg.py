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
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from ..errors import BaselineError, OutputError

log = logging.getLogger(__name__)


def check_target(path: str | Path, overwrite: bool) -> Path:
    """Fail early (before any work) when the output exists and ``overwrite`` is false."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise OutputError(f"{path}: output already exists; pass --overwrite to replace it")
    if path.exists() and path.is_dir():
        raise OutputError(f"{path}: is a folder, expected a .gpkg file name")
    return path


@contextmanager
def atomic_path(path: str | Path, overwrite: bool) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; rename it onto ``path`` if the block succeeds."""
    path = check_target(path, overwrite)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create the output folder ({exc.strerror})") from exc
    fd, tmp = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=f".tmp{path.suffix}", dir=path.parent)
    os.close(fd)
    os.unlink(tmp)  # GDAL wants to create the file itself
    tmp = Path(tmp)
    try:
        yield tmp
        if path.exists() and not overwrite:  # appeared while we worked
            raise OutputError(f"{path}: output appeared while screening; pass --overwrite to replace it")
        os.replace(tmp, path)
    finally:
        for leftover in (tmp, Path(f"{tmp}-journal"), Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            if leftover.exists():
                leftover.unlink()


def write_screening(
    path: str | Path,
    plots: gpd.GeoDataFrame,
    loss_by_year: pd.DataFrame,
    issues: pd.DataFrame,
    metadata: dict[str, str],
    *,
    overwrite: bool = False,
    extra: dict[str, pd.DataFrame] | None = None,
) -> Path:
    """Write the screening GeoPackage atomically (``extra``: more layers, after the others); return its path."""
    layers = {"plots": plots, "loss_by_year": loss_by_year, "plot_issues": issues, **(extra or {})}
    return write_layers(path, layers, metadata, overwrite=overwrite)


def write_layers(
    path: str | Path, layers: dict[str, pd.DataFrame], metadata: dict[str, str], *, overwrite: bool = False
) -> Path:
    """Write tables and layers to one GeoPackage atomically, plus a ``run_metadata`` table.

    The first layer also carries ``metadata`` as GeoPackage layer metadata. Frames with a geometry
    are written as spatial layers (EPSG:4326 expected), others as attribute tables.
    """
    path = Path(path)
    with atomic_path(path, overwrite) as tmp:
        kw = dict(driver="GPKG", use_arrow=True)
        for i, (name, frame) in enumerate(layers.items()):
            extra = {}
            if isinstance(frame, gpd.GeoDataFrame):
                extra["promote_to_multi"] = True
            if i == 0:
                extra["metadata"] = metadata
            pyogrio.write_dataframe(frame, tmp, layer=name, append=False, **extra, **kw)
        meta = pd.DataFrame({"key": list(metadata), "value": [str(v) for v in metadata.values()]})
        pyogrio.write_dataframe(meta, tmp, layer="run_metadata", append=False, **kw)
    return path


def write_validation(
    path: str | Path,
    plots: gpd.GeoDataFrame,
    issues: pd.DataFrame,
    metadata: dict[str, str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write ``validate``'s findings: ``.gpkg`` (plots with qc columns, plot_issues, run_metadata) or
    ``.csv`` (the issues), atomically."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".gpkg":
        return write_layers(path, {"plots": plots, "plot_issues": issues}, metadata, overwrite=overwrite)
    if suffix == ".csv":
        with atomic_path(path, overwrite) as tmp:
            issues.to_csv(tmp, index=False)
        return path
    raise OutputError(f"{path}: the issues are written as .gpkg or .csv; choose one of these extensions")


def read_screening(path: str | Path, what: str = "screening") -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The ``plots`` layer (EPSG:4326) and the ``run_metadata`` of a screening GeoPackage."""
    path = Path(path)
    if not path.is_file():
        raise BaselineError(f"{path}: {what} GeoPackage not found")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        if "plots" not in layers:
            raise BaselineError(
                f"{path}: no 'plots' layer (layers: {', '.join(layers) or 'none'}); "
                f"expected a screening.gpkg written by cacao-screen"
            )
        plots = pyogrio.read_dataframe(path, layer="plots", use_arrow=True)
        meta = {}
        if "run_metadata" in layers:
            m = pyogrio.read_dataframe(path, layer="run_metadata")
            meta = dict(zip(m["key"].astype(str), m["value"].astype(str)))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise BaselineError(f"{path}: cannot read the {what} GeoPackage ({exc})") from exc
    if plots.crs is None or not plots.crs.equals("EPSG:4326"):
        plots = plots.set_crs("EPSG:4326", allow_override=True) if plots.crs is None else plots.to_crs("EPSG:4326")
    if "plot_id" in plots.columns:
        plots["plot_id"] = plots["plot_id"].astype(str)
    return plots, meta


def read_table(path: str | Path, layer: str) -> pd.DataFrame | None:
    """A layer of a GeoPackage as a frame without geometry; None when the file has no such layer."""
    try:
        if layer not in {str(name) for name, _ in pyogrio.list_layers(path)}:
            return None
        return pyogrio.read_dataframe(path, layer=layer, read_geometry=False, use_arrow=True)
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise BaselineError(f"{path}: cannot read the {layer} layer ({exc})") from exc


def read_previous(path: str | Path) -> pd.DataFrame | None:
    """The ``plots`` layer of an earlier screening output, without geometries, for an incremental
    run; None (a full run) when there is none or it predates screen keys."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        prev = pyogrio.read_dataframe(path, layer="plots", read_geometry=False, use_arrow=True)
    except Exception as exc:  # noqa: BLE001 - an unreadable previous output only costs a full run
        log.warning("%s: cannot reuse the previous output (%s); screening every plot", path, exc)
        return None
    if "screen_key" not in prev:
        log.warning("%s: the previous output has no screen_key column; screening every plot", path)
        return None
    return prev


# --- The baseline: a GeoPackage and CSV copies of its tables ------------------------------------


def csv_folder(path: str | Path) -> Path:
    """Where the CSV copies of ``path``'s tables go: ``<stem>_csv/`` beside it."""
    path = Path(path)
    return path.with_name(f"{path.stem}_csv")


def check_baseline_targets(path: str | Path, overwrite: bool) -> None:
    """Fail before any work when the GeoPackage or its CSV folder exists and ``overwrite`` is false."""
    check_target(path, overwrite)
    folder = csv_folder(path)
    if folder.exists() and not overwrite:
        raise OutputError(f"{folder}: output already exists; pass --overwrite to replace it")
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"{folder}: exists and is not a folder")


def write_baseline(
    path: str | Path, layers: dict[str, pd.DataFrame], metadata: dict[str, str], *, overwrite: bool = False
) -> Path:
    """Write ``baseline.gpkg`` atomically, then swap in ``<stem>_csv/`` (one CSV per layer, no
    geometry, plus ``run_metadata.csv``)."""
    path = Path(path)
    check_baseline_targets(path, overwrite)
    folder = csv_folder(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create the output folder ({exc.strerror})") from exc
    staged = Path(tempfile.mkdtemp(prefix=f".{folder.name}.", dir=path.parent))
    try:
        for name, frame in layers.items():
            table = pd.DataFrame(
                frame.drop(columns=frame.geometry.name) if isinstance(frame, gpd.GeoDataFrame) else frame
            )
            table.to_csv(staged / f"{name}.csv", index=False, encoding="utf-8")
        pd.DataFrame({"key": list(metadata), "value": list(metadata.values())}).to_csv(
            staged / "run_metadata.csv", index=False, encoding="utf-8"
        )
        os.chmod(staged, 0o755)
        write_layers(path, layers, metadata, overwrite=overwrite)
        _replace_dir(staged, folder)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise
    return path


def _replace_dir(staged: Path, target: Path) -> None:
    """Rename ``staged`` onto ``target`` (replacing it): the folder is always old or new, never half."""
    if target.exists():
        trash = Path(tempfile.mkdtemp(prefix=f".{target.name}.old-", dir=target.parent))
        os.replace(target, trash / target.name)
        try:
            os.replace(staged, target)
        except BaseException:
            os.replace(trash / target.name, target)
            raise
        finally:
            shutil.rmtree(trash, ignore_errors=True)
    else:
        os.replace(staged, target)
