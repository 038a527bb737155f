"""Reading overlay layers (protected areas, native communities' lands, concessions): any vector
format GDAL reads, any CRS, reprojected to EPSG:4326; invalid polygons repaired and counted."""

from __future__ import annotations

import logging
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from ..engine.overlay import OverlayLayer
from ..errors import OverlayError, missing_file
from ..i18n import _, tr

log = logging.getLogger(__name__)


def _polygonal(geoms: np.ndarray) -> np.ndarray:
    """The polygonal parts of each geometry (a collection's too), one (Multi)Polygon or None per row."""
    out = np.full(len(geoms), None, dtype=object)
    parts, row = shapely.get_parts(geoms, return_index=True)
    parts, sub = shapely.get_parts(parts, return_index=True)
    row = row[sub]
    keep = (shapely.get_type_id(parts) == 3) & ~shapely.is_empty(parts)
    if keep.any():
        shapely.multipolygons(parts[keep], indices=row[keep], out=out)
    return out


def read_overlay(cfg) -> OverlayLayer:
    """The layer ``cfg`` names (an ``OverlayConfig``: name, file, layer, kind, name_column, effect),
    its polygons valid: an invalid one is repaired (``shapely.make_valid``, structure method) and
    counted; a feature with no area left (a line, a point, an empty geometry) is counted as dropped
    and named in the log. Refused (exit 2) when the file, the layer or the name column is missing."""
    path = Path(cfg.file)
    if not path.exists():
        raise OverlayError(f"{path}: {missing_file(path, f'overlay {cfg.name} file')}")
    try:
        layers = [str(name) for name, _ in pyogrio.list_layers(path)]
        if cfg.layer is not None and cfg.layer not in layers:
            raise OverlayError(
                tr(
                    "{path}: no layer {layer!r}; the file holds: {layers}",
                    path=path,
                    layer=cfg.layer,
                    layers=", ".join(layers) or _("none"),
                )
            )
        gdf = pyogrio.read_dataframe(path, layer=cfg.layer or (layers[0] if layers else None))
    except (DataSourceError, DataLayerError, OSError) as exc:
        raise OverlayError(
            tr("{path}: overlay {name} is not a readable vector file ({error})", path=path, name=cfg.name, error=exc)
        ) from exc
    if not isinstance(gdf, gpd.GeoDataFrame) or gdf.crs is None:
        raise OverlayError(
            tr("{path}: overlay {name} has no geometry or no coordinate reference system", path=path, name=cfg.name)
        )
    columns = [c for c in gdf.columns if c != gdf.geometry.name]
    if cfg.name_column is not None and cfg.name_column not in columns:
        raise OverlayError(
            tr(
                "{path}: no name column {column!r} in overlay {name}; columns are: {columns}",
                path=path,
                column=cfg.name_column,
                name=cfg.name,
                columns=", ".join(columns),
            )
        )
    if not gdf.crs.equals("EPSG:4326"):
        gdf = gdf.to_crs("EPSG:4326")
    geoms = gdf.geometry.to_numpy()
    labels = (
        gdf[cfg.name_column].astype(str).to_numpy(dtype=object)
        if cfg.name_column
        else np.array([f"{cfg.name} #{i + 1}" for i in range(len(gdf))], dtype=object)
    )
    present = ~(shapely.is_missing(geoms) | shapely.is_empty(geoms))
    invalid = present & ~shapely.is_valid(geoms)
    fixed = geoms.copy()
    fixed[invalid] = shapely.make_valid(geoms[invalid], method="structure", keep_collapsed=False)
    fixed[present] = _polygonal(fixed[present])
    usable = np.array([g is not None and g.area > 0 for g in fixed], dtype=bool)
    if (~usable).any():
        log.warning(tr("overlay {overlay}: {n} feature(s) without an area left out: {names}", overlay=cfg.name,
                       n=int((~usable).sum()), names=", ".join(labels[~usable][:10])))  # fmt: skip
    if invalid.any():
        log.info("overlay %s: %d invalid feature(s) repaired", cfg.name, int(invalid.sum()))
    return OverlayLayer(cfg.name, cfg.kind, cfg.effect, fixed[usable], labels[usable], str(path),
                        repaired=int((invalid & usable).sum()), dropped=int((~usable).sum()))  # fmt: skip
