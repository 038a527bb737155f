"""Reading a screening GeoPackage back: its plots and provenance, or one of its tables."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from ..errors import BaselineError
from ..i18n import tr


def read_screening(path: str | Path, what: str = "screening") -> tuple[gpd.GeoDataFrame, dict[str, str]]:
    """The ``plots`` layer (EPSG:4326) and the ``run_metadata`` of a screening GeoPackage."""
    path = Path(path)
    if not path.is_file():
        raise BaselineError(tr("{path}: {what} GeoPackage not found", path=path, what=what))
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        if "plots" not in layers:
            raise BaselineError(
                tr(
                    "{path}: no 'plots' layer (layers: {layers}); expected a screening.gpkg written by cacao-screen",
                    path=path,
                    layers=", ".join(layers) or "none",
                )
            )
        plots = pyogrio.read_dataframe(path, layer="plots", use_arrow=True)
        meta = {}
        if "run_metadata" in layers:
            m = pyogrio.read_dataframe(path, layer="run_metadata")
            meta = dict(zip(m["key"].astype(str), m["value"].astype(str)))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise BaselineError(
            tr("{path}: cannot read the {what} GeoPackage ({error})", path=path, what=what, error=exc)
        ) from exc
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
        raise BaselineError(
            tr("{path}: cannot read the {layer} layer ({error})", path=path, layer=layer, error=exc)
        ) from exc
