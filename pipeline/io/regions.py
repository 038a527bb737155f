"""Reading administrative boundaries (regions) for the baseline: any vector format, any CRS."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from ..config import RegionsConfig
from ..errors import RegionsError, missing_file
from ..i18n import N_, _, tr


@dataclass
class RawRegions:
    """Regions as read: one row per feature, in EPSG:4326 (repairing and dissolving is the stage's)."""

    ids: np.ndarray
    names: np.ndarray | None
    geoms: np.ndarray
    source: str


def read_regions(cfg: RegionsConfig) -> RawRegions:
    """Read the boundaries file, check its columns, and reproject it to EPSG:4326."""
    path = Path(cfg.path)
    if not path.exists():
        raise RegionsError(f"{path}: {missing_file(path, 'regions file')}")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        if cfg.layer is not None and cfg.layer not in layers:
            held = ", ".join(layers) or _("none")
            raise RegionsError(
                tr("{path}: no layer {layer!r}; the file holds: {layers}", path=path, layer=cfg.layer, layers=held)
            )
        gdf = pyogrio.read_dataframe(path, layer=cfg.layer or (layers[0] if layers else None))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise RegionsError(tr("{path}: not a readable vector file ({error})", path=path, error=exc)) from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise RegionsError(tr("{path}: the regions layer has no geometry", path=path))
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    missing = {
        N_("{path}: no region id column {column!r}; columns are: {columns}"): cfg.id_column,
        N_("{path}: no region name column {column!r}; columns are: {columns}"): cfg.name_column,
    }
    for message, col in missing.items():
        if col is not None and col not in columns:
            raise RegionsError(tr(message, path=path, column=col, columns=", ".join(columns)))
    if len(gdf) == 0:
        raise RegionsError(tr("{path}: the regions layer is empty", path=path))
    if gdf.crs is None:
        raise RegionsError(tr("{path}: the regions have no coordinate reference system", path=path))
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    _refuse_nonfinite(gdf, cfg, path)
    names = gdf[cfg.name_column].to_numpy(dtype=object) if cfg.name_column else None
    return RawRegions(gdf[cfg.id_column].to_numpy(dtype=object), names, gdf.geometry.to_numpy(), str(path))


def _refuse_nonfinite(gdf: gpd.GeoDataFrame, cfg: RegionsConfig, path: Path) -> None:
    """A vertex that is not a finite number (NaN, infinity) makes a region's shape unknowable: a
    repair would silently drop it and move the boundary, so the file is refused, naming the rows."""
    xy, which = shapely.get_coordinates(gdf.geometry.to_numpy(), return_index=True)
    rows = np.unique(which[~np.isfinite(xy).all(axis=1)])
    if len(rows):
        ids = gdf[cfg.id_column].to_numpy(dtype=object)[rows]
        listed = ", ".join(
            tr("row {row} ({column} {id!r})", row=r + 1, column=cfg.id_column, id=i)
            for r, i in zip(rows[:10], ids[:10])
        )
        if len(rows) > 10:
            listed = tr("{listed} and {more} more", listed=listed, more=len(rows) - 10)
        raise RegionsError(
            tr(
                "{path}: {n} region(s) with a vertex that is not a finite number (NaN or infinity): {listed}; fix "
                "or remove these vertices (a failed reprojection or export?)",
                path=path,
                n=len(rows),
                listed=listed,
            )
        )
