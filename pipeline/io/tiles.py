"""Hansen 10° x 10° tiles: names, which tiles plots need, and their published addresses.

A tile is named after its top-left (north-west) corner: ``10S_080W`` covers latitudes -10 to -20
and longitudes -80 to -70. Each release publishes one GeoTIFF per layer and tile, named
``Hansen_<version>_<layer>_<tile>.tif`` (e.g. ``Hansen_GFC-2024-v1.12_lossyear_10S_080W.tif``).
"""

from __future__ import annotations

import numpy as np

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
