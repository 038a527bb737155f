"""The tiles job (``cacao-screen fetch-tiles``): download the raster tiles under the plots."""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from ..config import PlotsConfig
from ..i18n import tr
from ..io.plots import read_plots

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TileRequest:
    """Which tiles to fetch: ``product`` ``hansen`` (``layers`` of release ``version``), or a GFW
    alert product (``gfw_integrated``...: its ``date_conf`` tiles of ``version``, ``latest`` by
    default), GFC2020 (``gfc2020``: the JRC's tiles of ``version``), or any product at
    ``url_template`` (``{tile}`` = ``10S_080W``, ``{jrc_tile}`` = ``S10_W80``); ``base_url`` replaces
    the product's host, ``api_key`` is sent to GFW's host only."""

    version: str
    layers: tuple[str, ...] = ()
    product: str = "hansen"
    base_url: str | None = None
    api_key: str | None = None
    url_template: str | None = None


def run_fetch_tiles(
    plots_cfg: PlotsConfig,
    request: TileRequest,
    *,
    dest: Path,
    retries: int = 5,
    progress: bool = False,
    dry_run: bool = False,
) -> tuple[int, list[Any]]:
    """Download the tiles of ``request`` under the plots into ``dest``: (number of tiles, one
    result per file)."""
    import shapely

    from ..io.fetch import fetch_alert_tiles, fetch_hansen_tiles
    from ..io.tiles import tiles_for_bounds
    from ..stages.qc.geometry import locatable

    plots = read_plots(plots_cfg)
    geoms = plots.geometry.to_numpy()
    bounds = shapely.bounds(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
    placed = locatable(bounds)  # no tiles for coordinates off the globe or across the antimeridian
    if not placed.all():
        log.warning(
            tr(
                "{path}: {n} plot(s) out of longitude/latitude range, not finite, or across the antimeridian: "
                "no tiles fetched for them (cacao-screen validate says which)",
                path=plots_cfg.path,
                n=int((~placed).sum()),
            )
        )
    bounds = bounds[placed]
    if request.product == "gfc2020" and request.url_template is None:
        from ..io.tiles import gfc2020_template

        request = replace(request, url_template=gfc2020_template(request.version, request.base_url))
    if request.product != "hansen" or request.url_template is not None:
        alerts = fetch_alert_tiles(
            bounds,
            product=request.product,
            version=request.version,
            dest=dest,
            api_key=request.api_key,
            base_url=request.base_url,
            url_template=request.url_template,
            retries=retries,
            progress=progress,
            dry_run=dry_run,
        )
        return len(tiles_for_bounds(bounds)), alerts
    results = fetch_hansen_tiles(
        bounds,
        version=request.version,
        layers=list(request.layers),
        dest=dest,
        base_url=request.base_url,
        retries=retries,
        progress=progress,
        dry_run=dry_run,
    )
    return len(tiles_for_bounds(bounds)), results
