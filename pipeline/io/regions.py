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
            raise RegionsError(f"{path}: no layer {cfg.layer!r}; the file holds: {', '.join(layers) or 'none'}")
        gdf = pyogrio.read_dataframe(path, layer=cfg.layer or (layers[0] if layers else None))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise RegionsError(f"{path}: not a readable vector file ({exc})") from exc
    if not isinstance(gdf, gpd.GeoDataFrame):
        raise RegionsError(f"{path}: the regions layer has no geometry")
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    for label, col in (("id", cfg.id_column), ("name", cfg.name_column)):
        if col is not None and col not in columns:
            raise RegionsError(f"{path}: no region {label} column {col!r}; columns are: {', '.join(columns)}")
    if len(gdf) == 0:
        raise RegionsError(f"{path}: the regions layer is empty")
    if gdf.crs is None:
        raise RegionsError(f"{path}: the regions have no coordinate reference system")
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
        listed = ", ".join(f"row {r + 1} ({cfg.id_column} {i!r})" for r, i in zip(rows[:10], ids[:10]))
        more = f" and {len(rows) - 10} more" if len(rows) > 10 else ""
        raise RegionsError(
            f"{path}: {len(rows)} region(s) with a vertex that is not a finite number (NaN or infinity): "
            f"{listed}{more}; fix or remove these vertices (a failed reprojection or export?)"
        )
