"""Writing results: the screening GeoPackage, written atomically.

Layers of ``screening.gpkg``:

* ``plots`` — every input row with its figures, status and geometry (EPSG:4326);
* ``loss_by_year`` — long format (``plot_id``, ``source_row``, ``year``, ``loss_ha``), one row per
  plot and year with loss (years without loss are omitted);
* ``plot_issues`` — quality-control findings (``plot_id``, ``source_row``, ``code``, ``severity``,
  ``message``);
* ``run_metadata`` — the run's parameters as ``key``/``value`` rows (also stored as GeoPackage
  metadata of the ``plots`` layer).

The file is written under a temporary name beside the target and renamed into place only when
complete, so a crash or a kill never leaves half a GeoPackage under the final name.
"""

from __future__ import annotations

import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

import geopandas as gpd
import pandas as pd
import pyogrio

from .errors import OutputError


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


def write_screening(path: str | Path, plots: gpd.GeoDataFrame, loss_by_year: pd.DataFrame,
                    issues: pd.DataFrame, metadata: dict[str, str], *, overwrite: bool = False,
                    extra_layers: dict[str, pd.DataFrame] | None = None) -> Path:
    """Write the screening GeoPackage atomically; return its path.

    ``extra_layers`` (name -> DataFrame or GeoDataFrame) are written after the standard ones.
    """
    layers = {"plots": plots, "loss_by_year": loss_by_year, "plot_issues": issues, **(extra_layers or {})}
    return write_layers(path, layers, metadata, overwrite=overwrite)


def write_layers(path: str | Path, layers: dict[str, pd.DataFrame], metadata: dict[str, str], *,
                 overwrite: bool = False) -> Path:
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


def read_metadata(path: str | Path) -> dict[str, str]:
    """The ``run_metadata`` table of a screening GeoPackage as a dict."""
    df = pyogrio.read_dataframe(path, layer="run_metadata")
    return dict(zip(df["key"], df["value"]))
