"""10° x 10° tiles: names, which tiles plots need, and their published addresses.

A tile is named after its top-left (north-west) corner: ``10S_080W`` covers latitudes -10 to -20
and longitudes -80 to -70. Each Hansen release publishes one GeoTIFF per layer and tile, named
``Hansen_<version>_<layer>_<tile>.tif`` (e.g. ``Hansen_GFC-2024-v1.12_lossyear_10S_080W.tif``).

Global Forest Watch's Data API serves its alert products on the same 10° tiles, with the same
names (grid ``10/100000``: 100,000 pixels of 0.0001° per tile side), one GeoTIFF per tile and
``pixel_meaning`` (``date_conf``: the encoded date and confidence), at
``/dataset/<dataset>/<version>/download/geotiff?grid=10/100000&tile_id=<tile>&pixel_meaning=date_conf``
(a redirect to the file; ``version`` may be ``latest``).

The JRC publishes GFC2020 (the EU's forest map of 2020) on the same 10° squares, named the other
way round: ``JRC_GFC2020_V3_S10_W80.tif`` is Hansen's ``10S_080W`` (:func:`jrc_tile_name`).
"""

from __future__ import annotations

from urllib.parse import quote, urlparse

import numpy as np

from ..i18n import tr
from ..vocab import HANSEN_LAYERS  # noqa: F401 - the layers a release publishes

#: Where the University of Maryland publishes the Global Forest Change releases.
HANSEN_BASE_URL = "https://storage.googleapis.com/earthenginepartners-hansen"
TILE_DEG = 10


def tile_name(lat_top: int, lon_left: int) -> str:
    """``10S_080W`` for the tile whose top-left corner is at (lat -10, lon -80)."""
    ns = "N" if lat_top >= 0 else "S"
    ew = "E" if lon_left >= 0 else "W"
    return f"{abs(int(lat_top)):02d}{ns}_{abs(int(lon_left)):03d}{ew}"


def parse_tile_name(name: str) -> tuple[int, int]:
    """(lat_top, lon_left) of a tile name such as ``10S_080W``."""
    lat, lon = name.strip().upper().split("_")
    lat_top = int(lat[:-1]) * (1 if lat[-1] == "N" else -1)
    lon_left = int(lon[:-1]) * (1 if lon[-1] == "E" else -1)
    return lat_top, lon_left


def tiles_for_bounds(bounds: np.ndarray) -> list[str]:
    """The tiles that the (n, 4) lon/lat ``bounds`` (minx, miny, maxx, maxy) touch, sorted."""
    b = np.asarray(bounds, dtype="float64").reshape(-1, 4)
    b = b[np.isfinite(b).all(axis=1)]
    if not len(b):
        return []
    tops = (np.ceil(b[:, [3, 1]] / TILE_DEG) * TILE_DEG).astype(int)  # tiles holding maxy and miny
    lefts = (np.floor(b[:, [0, 2]] / TILE_DEG) * TILE_DEG).astype(int)  # tiles holding minx and maxx
    tops = np.clip(tops, -80, 80)
    names = set()
    for t0, t1, l0, l1 in np.unique(np.column_stack([tops, lefts]), axis=0):
        for t in range(t1, t0 + 1, TILE_DEG):
            for lo in range(l0, l1 + 1, TILE_DEG):
                names.add((t, lo))
    return [tile_name(t, lo) for t, lo in sorted(names, key=lambda x: (-x[0], x[1]))]


def hansen_file_name(version: str, layer: str, tile: str) -> str:
    return f"Hansen_{version}_{layer}_{tile}.tif"


def hansen_url(version: str, layer: str, tile: str, base_url: str = HANSEN_BASE_URL) -> str:
    return f"{base_url.rstrip('/')}/{version}/{hansen_file_name(version, layer, tile)}"


#: Global Forest Watch's Data API.
GFW_DATA_API = "https://data-api.globalforestwatch.org"
#: The alert products GFW's Data API serves as ``date_conf`` tiles: encoding preset -> GFW dataset.
GFW_ALERT_DATASETS = {
    "gfw_integrated": "gfw_integrated_alerts",
    "gfw_glad_l": "umd_glad_landsat_alerts",
    "gfw_glad_s2": "umd_glad_sentinel2_alerts",
    "gfw_radd": "wur_radd_alerts",
}
GFW_ALERT_GRID = "10/100000"


def gfw_alert_file_name(dataset: str, version: str, tile: str) -> str:
    return f"{dataset}_{version}_{tile}.tif"


def gfw_alert_url(dataset: str, version: str, tile: str, base_url: str = GFW_DATA_API) -> str:
    return (
        f"{base_url.rstrip('/')}/dataset/{dataset}/{version}/download/geotiff"
        f"?grid={GFW_ALERT_GRID}&tile_id={tile}&pixel_meaning=date_conf"
    )


#: Where the JRC publishes GFC2020's 10° tiles (``JRC_GFC2020_V3_S10_W80.tif``); check the JRC
#: data catalogue (data.jrc.ec.europa.eu) when it moves, and pass --base-url.
GFC2020_BASE_URL = "https://jeodpp.jrc.ec.europa.eu/ftp/jrc-opendata/FOREST/GFC2020/LATEST/tiles"
GFC2020_VERSION = "V3"


def jrc_tile_name(tile: str) -> str:
    """The JRC's name of a 10° tile: ``S10_W80`` for Hansen's ``10S_080W`` (the same north-west
    corner; the hemisphere first, no zero padding)."""
    lat_top, lon_left = parse_tile_name(tile)
    return f"{'N' if lat_top >= 0 else 'S'}{abs(lat_top)}_{'E' if lon_left >= 0 else 'W'}{abs(lon_left)}"


def gfc2020_template(version: str = GFC2020_VERSION, base_url: str | None = None) -> str:
    """The address template of GFC2020's tiles (``{jrc_tile}`` = ``S10_W80``)."""
    return f"{(base_url or GFC2020_BASE_URL).rstrip('/')}/JRC_GFC2020_{version}_{{jrc_tile}}.tif"


def template_url(template: str, tile: str) -> str:
    """``template`` with ``{tile}`` replaced by the tile's name (``10S_080W``), or ``{jrc_tile}`` by
    the JRC's (``S10_W80``)."""
    if "{tile}" not in template and "{jrc_tile}" not in template:
        raise ValueError(
            tr("{template}: a URL template names the tile with {{tile}} (or {{jrc_tile}})", template=template)
        )
    return template.replace("{tile}", quote(tile)).replace("{jrc_tile}", quote(jrc_tile_name(tile)))


def template_file_name(template: str, tile: str) -> str:
    """The file name a template's URL gives the tile: the last part of its path."""
    name = urlparse(template_url(template, tile)).path.rsplit("/", 1)[-1]
    if tile not in name and jrc_tile_name(tile) not in name:
        raise ValueError(
            tr(
                "{template}: the file name at the end of the URL must hold {{tile}} (or {{jrc_tile}})",
                template=template,
            )
        )
    return name
