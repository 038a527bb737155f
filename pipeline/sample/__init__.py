"""Deterministic generator of a SYNTHETIC sample dataset for cacao-screen.

Nothing written by this module is real data.  It produces a small, seeded,
reproducible stand-in for the inputs of a deforestation screening in the cocoa
frontier of San Martín, Peru, so that the pipeline, its tests and ``make run``
work without downloading the (large) real rasters.

What it imitates
----------------
The rasters follow the conventions of the Hansen/UMD/Google/USGS/NASA *Global
Forest Change* (GFC) product:

``treecover2000.tif``
    Canopy closure in the year 2000, in percent (0-100), ``uint8``, no nodata.
``lossyear.tif``
    Year of stand-replacement forest loss: ``0`` = no loss, ``k`` = loss in
    year ``2000 + k`` (``k`` in 1..24), ``255`` = nodata.

Both are EPSG:4326 GeoTIFFs on a 0.00025° (~27.7 m) grid, tiled in 256 x 256
blocks, DEFLATE-compressed, and tagged ``SYNTHETIC=yes``.

The landscape is painted from seeded smooth noise (``numpy.random.default_rng``
plus :mod:`scipy.ndimage`) and a few hand-drawn structures:

* dense humid forest (cover ~80-100 %) with smooth spatial variation;
* a meandering river (open water, cover ~0) with riverside fields;
* a trunk road along the valley and one or two feeder roads, lined with
  pasture/cropland clearings (cover 0-30 %) that already existed in 2000;
* patches and clearing fringes of secondary/degraded forest (cover 20-70 %);
* forest-loss patches: irregular blobs clustered at the edges of the 2000
  clearings, each with a single loss year.  Years follow the rising trend of
  the Peruvian Amazon (peaks in 2014, 2017, 2020 and 2024) and patches further
  from the original clearings tend to be more recent, so the agricultural
  frontier visibly grows away from the roads.  A little single-pixel speckle
  and a few loss pixels on non-forest pixels imitate GFC noise;
* a ~40 px wide, slightly slanted strip of nodata (255) in the loss raster,
  like a scan gap or persistent cloud; the tree cover stays valid there.

``gfw_integrated_alerts.tif`` (and its tiles in ``alerts/``) is a synthetic
deforestation-alerts raster in the encoding of Global Forest Watch's integrated
alerts (uint16: leading digit = confidence 2/3/4, then days since 2014-12-31;
0 = no alert) on their 0.0001° grid: detections of the Hansen loss of
2019-2024, one patch dated on the cut-off day 2020-12-31, clearings of 2025 seen
only by the alerts, and low-confidence speckle (see ``alerts``).

``plots.gpkg`` (layer ``plots``) holds invented cocoa plots: non-overlapping,
irregular polygons of 0.3-15 ha (median ~2 ha, geodesic areas), clustered by
cooperative near the roads and clearings.  It deliberately includes edge cases
(plots straddling the raster edge, plots over the nodata strip, tiny plots, a
polygon with a hole, a two-part MultiPolygon) and three *defective* rows
appended at the end, flagged in the ``note`` column: an empty geometry, a
self-intersecting "bowtie" polygon and a duplicated ``plot_id``.

Determinism: the same seed and arguments always give byte-identical raster
arrays and identical plot geometries and attributes.

Usage::

    from pipeline.sample import generate_sample
    paths = generate_sample("data/sample")          # ~ what `cacao-screen sample` runs

Layout: the subpackage is split by what it makes.  ``grid`` holds the pixel grid and the
random fields and paths; ``landscape`` paints the two rasters as arrays; ``shapes`` makes plot
polygons of an exact geodesic area; ``plots`` places them and builds the plots table;
``producers`` adds the producers' names, country and place; ``districts``, ``deliveries``, ``alerts``
and ``readme`` make the other files; ``files`` writes GeoTIFFs and
replaces the output folder atomically; this module assembles the sample.  It imports nothing
else from ``pipeline``: an independent generator is what makes the sample a check of the engine.
"""

from __future__ import annotations

import math
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio

from .alerts import _Alerts, _make_alerts
from .deliveries import _make_deliveries
from .districts import _make_districts
from .files import GENERATOR, _replace_dir, _tiles, _write_raster
from .forest2020 import _Forest2020, _make_forest2020, _readme_forest2020
from .grid import _Grid, _Progress
from .landscape import (
    CUTOFF_YEAR,  # noqa: F401  (a constant of pipeline.sample before the split)
    LAST_LOSS_YEAR,
    LOSS_NODATA,
    _Landscape,
    _make_landscape,
)
from .overlays import readme_overlays, write_overlays
from .plots import _make_plots
from .producers import _add_producer_columns
from .readme import _readme, _readme_alerts, _readme_baseline

__all__ = [
    "DEFAULT_SEED",
    "PIXEL_SIZE",
    "SAMPLE_BOUNDS",
    "SamplePaths",
    "generate_sample",
    "max_plots",
]

DEFAULT_SEED = 20201231
SAMPLE_BOUNDS = (-76.75, -8.5, -76.25, -8.0)  # lon_min, lat_min, lon_max, lat_max
PIXEL_SIZE = 0.00025

#: The sample's plots (about 2.6 ha on average) are placed without overlap near cooperatives, on
#: suitable land: a window holds at most one per this many hectares of it. (In the default window,
#: 15,000 plots, one per 20 ha, take a minute; 20,000 cannot be placed, which took minutes to find out.)
HA_PER_PLOT = 25.0


def max_plots(bounds: tuple[float, float, float, float] = SAMPLE_BOUNDS) -> int:
    """The most plots :func:`generate_sample` can place in ``bounds`` (checked before any work)."""
    lon_min, lat_min, lon_max, lat_max = (float(v) for v in bounds)
    width_m = (lon_max - lon_min) * 111_320.0 * math.cos(math.radians((lat_min + lat_max) / 2))
    height_m = (lat_max - lat_min) * 110_600.0
    return max(1, int(width_m * height_m / 10_000 / HA_PER_PLOT))


@dataclass(frozen=True)
class SamplePaths:
    """Locations of the files of a generated sample."""

    root: Path
    loss_year: Path  # root / "lossyear.tif"
    tree_cover: Path  # root / "treecover2000.tif"
    plots: Path  # root / "plots.gpkg" (layer "plots")

    @property
    def districts(self) -> Path:
        """``root / "districts.gpkg"`` (layer ``districts``): synthetic administrative regions."""
        return self.root / "districts.gpkg"

    @property
    def deliveries(self) -> Path:
        """``root / "deliveries.csv"``: synthetic cocoa deliveries (lots of plots sold to buyers)."""
        return self.root / "deliveries.csv"

    @property
    def alerts(self) -> Path:
        """``root / "gfw_integrated_alerts.tif"``: synthetic deforestation alerts (GFW integrated encoding)."""
        return self.root / "gfw_integrated_alerts.tif"

    @property
    def alert_tiles(self) -> Path:
        """``root / "alerts"``: the same alerts as 2 x 2 tiles (when the sample is tiled)."""
        return self.root / "alerts"

    @property
    def forest2020(self) -> Path:
        """``root / "forest2020.tif"``: a synthetic forest map of 2020 (GFC2020's form, 10 m grid)."""
        return self.root / "forest2020.tif"

    @property
    def forest2020_tiles(self) -> Path:
        """``root / "forest2020"``: the same map as 2 x 2 tiles (when the sample is tiled)."""
        return self.root / "forest2020"

    @property
    def plantation(self) -> Path:
        """``root / "plantation.tif"``: a synthetic land-use map (2 = cocoa plantation)."""
        return self.root / "plantation.tif"

    @property
    def cutoff_cases(self) -> Path:
        """``root / "cutoff_cases.csv"``: the plots with loss after 2020 by case of the forest rule."""
        return self.root / "cutoff_cases.csv"

    @property
    def overlays(self) -> Path:
        """``root / "overlays.gpkg"``: a synthetic protected area and native community (layers
        ``areas_protegidas``, ``comunidades_nativas``)."""
        return self.root / "overlays.gpkg"

    @classmethod
    def under(cls, root: Path | str) -> SamplePaths:
        """The paths a sample written to ``root`` has."""
        root = Path(root)
        return cls(
            root=root,
            loss_year=root / "lossyear.tif",
            tree_cover=root / "treecover2000.tif",
            plots=root / "plots.gpkg",
        )


def generate_sample(
    out_dir: Path | str,
    *,
    seed: int = DEFAULT_SEED,
    n_plots: int = 2000,
    bounds: tuple[float, float, float, float] = SAMPLE_BOUNDS,
    pixel_size: float = PIXEL_SIZE,
    progress: bool = False,
    tiles: int = 2,
    publish: Callable[[Path, Path], None] | None = None,
) -> SamplePaths:
    """Generate the synthetic sample (two Hansen-style rasters and a plots layer).

    Args:
        out_dir: Directory to create.  An existing directory is replaced.
        seed: Seed of ``numpy.random.default_rng``; the same seed and
            arguments give identical rasters and plots.
        n_plots: Number of normal (valid) plots; three defective rows are added.
        bounds: ``(lon_min, lat_min, lon_max, lat_max)`` of the raster grid,
            in degrees; must be a whole number of pixels wide and high.
        pixel_size: Pixel size in degrees (Hansen GFC uses 0.00025).
        progress: Print progress messages to stderr.
        tiles: Also write both rasters as ``tiles`` x ``tiles`` tiles in ``tiles/``
            (``lossyear_r<i>_c<j>.tif``...), like a folder of Hansen tiles, so the
            multi-tile path is exercised; 1 writes no tiles.
        publish: How the finished folder replaces ``out_dir`` (``publish(staged, out_dir)``);
            by default a rename that replaces whatever is there (the command line passes one
            that replaces only a folder cacao-screen wrote).

    Returns:
        The paths of the written files.

    The sample is written to a temporary sibling directory which is renamed
    into place once complete, so ``out_dir`` is never left half-written.  The
    last file written before the rename is the empty marker ``.complete``.
    """
    _check_count(n_plots, bounds)
    grid = _Grid.from_bounds(bounds, pixel_size)
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise FileExistsError(f"{out_dir} exists and is not a directory")
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    log = _Progress(progress)

    rng = np.random.default_rng(seed)
    land = _make_landscape(rng, grid, log)
    plots, specials = _make_plots(rng, grid, land, n_plots, log)
    # Districts and deliveries come after, from their own stream, so that adding them changed
    # nothing in the rasters and plots above.
    districts = _make_districts(grid)
    deliveries = _make_deliveries(np.random.default_rng([seed, 1]), plots)
    alerts = _make_alerts(np.random.default_rng([seed, 2]), grid, land, plots)
    log("alerts painted")
    # The columns of an EU due-diligence statement, from a fourth stream, likewise.
    plots = _add_producer_columns(np.random.default_rng([seed, 3]), plots)
    cutoff = _make_forest2020(np.random.default_rng([seed, 4]), grid, land, plots)  # a fifth stream likewise
    plots["established"] = cutoff.established
    log("forest 2020 painted")

    tmp = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.partial-", dir=out_dir.parent))
    try:
        staged = SamplePaths.under(tmp)
        _write_rasters(staged, land, grid, seed, tiles)
        log("rasters written")
        _write_tables(staged, plots, districts, deliveries, log)
        _write_alerts(staged, alerts, seed, tiles)
        log("alerts written")
        _write_forest2020(staged, cutoff, seed, tiles)
        log("forest 2020 written")
        write_overlays(tmp, grid)
        readme = _readme_all(seed, grid, n_plots, tiles, land, plots, specials, (districts, deliveries, alerts, cutoff))
        (tmp / "README.md").write_text(readme, encoding="utf-8")
        (tmp / ".complete").touch()
        os.chmod(tmp, 0o755)  # mkdtemp creates it 0700
        (publish or _replace_dir)(tmp, out_dir)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    log(f"sample complete in {out_dir}")
    return SamplePaths.under(out_dir)


def _readme_all(seed, grid, n_plots, tiles, land, plots, specials, parts) -> str:
    """The sample's README: the rasters and plots, then ``parts`` (districts, deliveries, alerts,
    the maps of the cut-off day) and the overlays."""
    districts, deliveries, alerts, cutoff = parts
    readme = _readme(seed, grid, n_plots, land, plots, specials)
    readme += _readme_baseline(districts, deliveries, plots)
    readme += _readme_alerts(alerts, tiles)
    readme += readme_overlays(grid)
    return readme + _readme_forest2020(cutoff, tiles)


def _check_count(n_plots: int, bounds: tuple[float, float, float, float]) -> None:
    """Refuse a number of plots that is not at least one, or that does not fit in ``bounds``."""
    if n_plots < 1:
        raise ValueError(f"n_plots must be >= 1, got {n_plots}")
    if n_plots > max_plots(bounds):
        raise ValueError(
            f"{n_plots} plots cannot be placed without overlap in the sample's window "
            f"({bounds}); at most {max_plots(bounds):,} fit (one per {HA_PER_PLOT:g} ha)"
        )


def _write_rasters(staged: SamplePaths, land: _Landscape, grid: _Grid, seed: int, tiles: int) -> None:
    """Write the two rasters, and their ``tiles`` x ``tiles`` tiles in ``tiles/`` if ``tiles > 1``.

    Every raster goes through this module's ``_write_raster`` (the tests replace it to simulate
    a failure half-way).
    """
    tags = {"GENERATOR": GENERATOR, "SEED": str(seed), "SYNTHETIC": "yes"}
    _write_raster(
        staged.loss_year,
        land.loss_year,
        grid,
        nodata=LOSS_NODATA,
        tags={
            **tags,
            "DESCRIPTION": (
                "SYNTHETIC Hansen-GFC-like forest loss year: 0 = no loss, "
                f"k = loss in year 2000+k (1..{LAST_LOSS_YEAR}), "
                f"{LOSS_NODATA} = nodata. NOT real Hansen data."
            ),
        },
    )
    _write_raster(
        staged.tree_cover,
        land.tree_cover,
        grid,
        nodata=None,
        tags={
            **tags,
            "DESCRIPTION": (
                "SYNTHETIC Hansen-GFC-like tree canopy cover for year 2000, percent 0-100. NOT real Hansen data."
            ),
        },
    )
    if tiles > 1:
        folder = staged.root / "tiles"
        folder.mkdir(exist_ok=True)
        for name, array, nodata in (
            ("lossyear", land.loss_year, LOSS_NODATA),
            ("treecover2000", land.tree_cover, None),
        ):
            tile_tags = {**tags, "DESCRIPTION": f"SYNTHETIC {name} tile. NOT real Hansen data."}
            for i, j, tile, tile_grid in _tiles(array, grid, tiles):
                _write_raster(folder / f"{name}_r{i}_c{j}.tif", tile, tile_grid, nodata=nodata, tags=tile_tags)


def _write_alerts(staged: SamplePaths, alerts: _Alerts, seed: int, tiles: int) -> None:
    """Write the alerts raster, and its ``tiles`` x ``tiles`` tiles in ``alerts/`` if ``tiles > 1``.

    Like GFW's tiles, the file declares 0 (no alert) as its nodata value."""
    tags = {
        "GENERATOR": GENERATOR,
        "SEED": str(seed),
        "SYNTHETIC": "yes",
        "DESCRIPTION": (
            "SYNTHETIC deforestation alerts in the encoding of GFW integrated alerts: 0 = no alert; "
            "leading digit = confidence (2 low, 3 high, 4 highest), then days since 2014-12-31. "
            "NOT real alerts."
        ),
    }
    _write_raster(staged.alerts, alerts.values, alerts.grid, nodata=0, tags=tags)
    if tiles > 1:
        staged.alert_tiles.mkdir(exist_ok=True)
        for i, j, tile, tile_grid in _tiles(alerts.values, alerts.grid, tiles):
            _write_raster(
                staged.alert_tiles / f"gfw_integrated_alerts_r{i}_c{j}.tif", tile, tile_grid, nodata=0, tags=tags
            )


def _write_forest2020(staged: SamplePaths, f: _Forest2020, seed: int, tiles: int) -> None:
    """Write the forest map (and its tiles in ``forest2020/``) and the plantation map."""
    tags = {"GENERATOR": GENERATOR, "SEED": str(seed), "SYNTHETIC": "yes"}
    forest_tags = {
        **tags,
        "DESCRIPTION": "SYNTHETIC forest map of 2020 in the form of GFC2020: 1 = forest, 0 = not forest. "
        "NOT real data.",
    }
    _write_raster(staged.forest2020, f.forest, f.grid, nodata=255, tags=forest_tags)
    if tiles > 1:
        staged.forest2020_tiles.mkdir(exist_ok=True)
        for i, j, tile, tile_grid in _tiles(f.forest, f.grid, tiles):
            _write_raster(
                staged.forest2020_tiles / f"forest2020_r{i}_c{j}.tif", tile, tile_grid, nodata=255, tags=forest_tags
            )
    rows = [(pid, case) for case, ids in f.cases.items() for pid in ids]
    pd.DataFrame(rows, columns=["plot_id", "case"]).to_csv(staged.cutoff_cases, index=False, lineterminator="\n")
    _write_raster(
        staged.plantation,
        f.plantation,
        f.plantation_grid,
        nodata=255,
        tags={**tags, "DESCRIPTION": "SYNTHETIC land-use map: 2 = cocoa plantation, 0 = other. NOT real data."},
    )


def _write_tables(
    staged: SamplePaths,
    plots: gpd.GeoDataFrame,
    districts: gpd.GeoDataFrame,
    deliveries: pd.DataFrame,
    log: _Progress,
) -> None:
    """Write the plots and districts GeoPackages and the deliveries CSV."""
    pyogrio.write_dataframe(
        plots,
        staged.plots,
        layer="plots",
        driver="GPKG",
        # Keep Polygon and MultiPolygon rows as they are (a generic
        # GEOMETRY layer) instead of promoting every plot to MultiPolygon.
        geometry_type="Unknown",
        promote_to_multi=False,
    )
    log("plots written")
    pyogrio.write_dataframe(districts, staged.districts, layer="districts", driver="GPKG", promote_to_multi=True)
    deliveries.to_csv(staged.deliveries, index=False, encoding="utf-8", lineterminator="\n")
    log("districts and deliveries written")


def main(argv: list[str] | None = None) -> None:
    """``python -m pipeline.sample OUT_DIR [SEED]`` (the CLI is ``cacao-screen sample``)."""
    args = sys.argv[1:] if argv is None else argv
    if not args:
        raise SystemExit("usage: python -m pipeline.sample OUT_DIR [SEED]")
    seed = int(args[1]) if len(args) > 1 else DEFAULT_SEED
    paths = generate_sample(args[0], seed=seed, progress=True)
    print(paths.root)
