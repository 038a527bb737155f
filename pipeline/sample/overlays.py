"""Overlay layers of the sample (``overlays.gpkg``): a SYNTHETIC protected area and a SYNTHETIC
native community, in the columns of Peru's official layers (SERNANP's ``anp_nomb``, the native
communities' ``nomb_cn``), over parts of the window where plots lie (docs/overlays.md)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from shapely import Polygon

from .grid import _Grid

#: The file and its layers.
OVERLAYS_FILE = "overlays.gpkg"
PROTECTED_LAYER, COMMUNITY_LAYER = "areas_protegidas", "comunidades_nativas"


def _blob(cx: float, cy: float, rx: float, ry: float, phase: float) -> Polygon:
    """A wiggly oval around (cx, cy): a boundary as a map's, deterministic."""
    t = np.linspace(0, 2 * np.pi, 73)[:-1]
    r = 1 + 0.08 * np.sin(5 * t + phase) + 0.05 * np.cos(3 * t + 2 * phase)
    return Polygon(np.column_stack([cx + rx * r * np.cos(t), cy + ry * r * np.sin(t)]))


def make_overlays(grid: _Grid) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """(protected areas, native communities) over the window: the protected area in its north-east
    with an enclave (a hole: a village inside it), the community in its south-west; a function of
    the window only."""
    w, h = grid.lon_max - grid.lon_min, grid.lat_max - grid.lat_min
    park = _blob(grid.lon_min + 0.72 * w, grid.lat_min + 0.74 * h, 0.13 * w, 0.11 * h, 0.4)
    enclave = _blob(grid.lon_min + 0.70 * w, grid.lat_min + 0.76 * h, 0.03 * w, 0.025 * h, 1.1)
    park = shapely.Polygon(park.exterior.coords, [enclave.exterior.coords])
    community = _blob(grid.lon_min + 0.25 * w, grid.lat_min + 0.22 * h, 0.10 * w, 0.09 * h, 2.3)
    protected = gpd.GeoDataFrame(
        {"anp_codi": ["BP99"], "anp_nomb": ["BOSQUE DE PROTECCION SINTETICO"], "anp_cate": ["Bosque de Protección"]},
        geometry=[shapely.orient_polygons(park)],
        crs="EPSG:4326",
    )
    communities = gpd.GeoDataFrame(
        {"nomb_cn": ["COMUNIDAD NATIVA SINTETICA"], "pueblo": ["(sintético)"]},
        geometry=[shapely.orient_polygons(community)],
        crs="EPSG:4326",
    )
    return protected, communities


def write_overlays(root: Path, grid: _Grid) -> Path:
    """Write ``overlays.gpkg`` (both layers) under ``root``."""
    path = Path(root) / OVERLAYS_FILE
    protected, communities = make_overlays(grid)
    pyogrio.write_dataframe(protected, path, layer=PROTECTED_LAYER, driver="GPKG", promote_to_multi=True)
    pyogrio.write_dataframe(communities, path, layer=COMMUNITY_LAYER, driver="GPKG", promote_to_multi=True, append=True)
    return path


def readme_overlays(grid: _Grid) -> str:
    """The README's paragraph on the overlays."""
    return (
        "\n## Overlays (`overlays.gpkg`)\n\n"
        f"Layer `{PROTECTED_LAYER}`: one SYNTHETIC protected area, *BOSQUE DE PROTECCION SINTETICO*, in the "
        "north-east of the window, with an enclave (a hole) inside it; layer "
        f"`{COMMUNITY_LAYER}`: one SYNTHETIC native community, *COMUNIDAD NATIVA SINTETICA*, in the "
        "south-west. Their columns follow SERNANP's (`anp_nomb`) and the native communities' "
        "(`nomb_cn`) layers; `make run` overlays both (configs/sample.yaml, docs/overlays.md).\n"
    )
