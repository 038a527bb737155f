"""SYNTHETIC maps of the cut-off day and the plots' establishment years.

* ``forest2020/`` — a "forest 2020" map in the form of the EU's GFC2020: 1 = forest, 0 = not
  forest, on GFC2020's own 10 m grid (1/11132° pixels: 2.78 of them per Hansen pixel, so many
  straddle a Hansen pixel's edge), in 2 x 2 tiles. It is the Hansen forest of 2000 (cover above
  10 %) not lost by 2020, read at each 10 m cell's centre, except on the plots of shaded cocoa
  below, which it maps as not forest (agricultural use), as GFC2020 maps much of the cocoa it sees.
* ``plantation.tif`` — a small land-use map on a 0.0005° grid of its own (its origin 0.8 Hansen
  pixels off): 2 = cocoa plantation, 0 = other.
* the ``established`` column of ``plots.gpkg``: the year (or date) each plot was established, as
  a cooperative registers it, on part of the plots.

The plots with Hansen loss after 2020 are dealt into the cases of docs/forest-at-cutoff.md:

* ``shaded_cocoa`` — established before 2021, the forest map says not forest: free (shade trees);
* ``disagree`` — established before 2021, the forest map says forest: review;
* ``new_plot`` — established after 2020 on forest: deforestation_detected;
* ``plantation`` — the forest map says forest, the plantation map says cocoa: free;
* the others keep an empty establishment date: deforestation_detected, as before.

From its own random stream: the rasters and plots of the sample are unchanged. It imports nothing
else of ``pipeline``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import shapely
from rasterio.features import rasterize

from .grid import _Grid
from .landscape import _Landscape

#: GFC2020's pixel: 1/11132 of a degree (about 10 m).
GFC_PX = 1 / 11132
PLANTATION_PX = 0.0005
PLANTATION_CLASS = 2
#: The share of the plots with loss after 2020 dealt into each case (the rest: no date).
CASE_SHARES = {"shaded_cocoa": 0.3, "disagree": 0.15, "new_plot": 0.15, "plantation": 0.1}


@dataclass
class _Forest2020:
    forest: np.ndarray  # uint8: 1 forest, 0 not
    grid: _Grid
    plantation: np.ndarray  # uint8: PLANTATION_CLASS or 0
    plantation_grid: _Grid
    established: list[str | None]  # per plot row
    cases: dict[str, list[str]] = field(default_factory=dict)


def _snapped(lon_min: float, lat_max: float, lon_span: float, lat_span: float, px: float) -> _Grid:
    """A grid of ``px`` pixels from (lon_min, lat_max), wide and high enough to span the sizes given."""
    w = math.ceil(round(lon_span / px, 6))
    h = math.ceil(round(lat_span / px, 6))
    return _Grid.from_bounds((lon_min, lat_max - h * px, lon_min + w * px, lat_max), px)


def _fine_grid(grid: _Grid) -> _Grid:
    return _snapped(grid.lon_min, grid.lat_max, grid.lon_max - grid.lon_min, grid.lat_max - grid.lat_min, GFC_PX)


def _plantation_grid(grid: _Grid) -> _Grid:
    """Its origin 0.0002° west and north of the Hansen grid's (0.8 Hansen pixels off)."""
    return _snapped(
        grid.lon_min - 0.0002,
        grid.lat_max + 0.0002,
        grid.lon_max - grid.lon_min + 0.0004,
        grid.lat_max - grid.lat_min + 0.0004,
        PLANTATION_PX,
    )


def _loss_after_pixels(grid: _Grid, land: _Landscape, geoms: list) -> np.ndarray:
    """Per plot, the Hansen pixels with loss in 2021 or later whose centre lies in it."""
    index = rasterize(
        ((g, i + 1) for i, g in enumerate(geoms) if g is not None and not g.is_empty),
        out_shape=grid.shape,
        transform=grid.transform,
        fill=0,
        dtype="int32",
    )
    after = (land.loss_year >= 21) & (land.loss_year <= 24)
    return np.bincount(index[after], minlength=len(geoms) + 1)[1:]


def _mask(geoms: list, grid: _Grid, buffer_deg: float) -> np.ndarray:
    """The cells of ``grid`` whose centre lies in any of the polygons (grown by ``buffer_deg``)."""
    shapes = [shapely.buffer(g, buffer_deg) for g in geoms]
    if not shapes:
        return np.zeros(grid.shape, dtype=bool)
    return rasterize(((s, 1) for s in shapes), out_shape=grid.shape, transform=grid.transform, dtype="uint8") == 1


def _years(rng: np.random.Generator, n: int, low: int, high: int, dates: float = 0.2) -> list[str]:
    """``n`` establishment years in ``low..high``, some written as dates."""
    out = []
    for y in rng.integers(low, high + 1, size=n):
        out.append(f"{y}-{rng.integers(1, 13):02d}-{rng.integers(1, 29):02d}" if rng.random() < dates else str(y))
    return out


def _make_forest2020(rng: np.random.Generator, grid: _Grid, land: _Landscape, plots: gpd.GeoDataFrame) -> _Forest2020:
    """Paint the maps and deal the plots into the cases (see the module docstring)."""
    geoms = list(plots.geometry)
    ids = plots["plot_id"].astype(str).tolist()
    lossy = np.flatnonzero(_loss_after_pixels(grid, land, geoms) >= 3)
    lossy = lossy[rng.permutation(len(lossy))]
    cases: dict[str, list[int]] = {}
    start = 0
    for case, share in CASE_SHARES.items():
        k = int(round(share * len(lossy)))
        cases[case] = sorted(lossy[start : start + k].tolist())
        start += k
    established: list[str | None] = [None] * len(geoms)
    for case, (low, high) in {
        "shaded_cocoa": (2005, 2019),
        "disagree": (2008, 2018),
        "new_plot": (2021, 2023),
        "plantation": (2012, 2016),
    }.items():
        for i, y in zip(cases[case], _years(rng, len(cases[case]), low, high)):
            established[i] = y
    others = np.setdiff1d(np.arange(len(geoms)), lossy)
    draw = rng.random(len(others))
    for i, d, y_old, y_new in zip(
        others, draw, _years(rng, len(others), 1995, 2020), _years(rng, len(others), 2021, 2024)
    ):
        established[i] = y_old if d < 0.4 else (y_new if d < 0.55 else None)

    fine = _fine_grid(grid)
    hrow = np.minimum(((np.arange(fine.height) + 0.5) * GFC_PX / grid.px).astype(np.int64), grid.height - 1)
    hcol = np.minimum(((np.arange(fine.width) + 0.5) * GFC_PX / grid.px).astype(np.int64), grid.width - 1)
    lost_by_2020 = (land.loss_year >= 1) & (land.loss_year <= 20)
    forest_h = (land.tree_cover > 10) & ~lost_by_2020
    forest = forest_h[np.ix_(hrow, hcol)].astype("uint8")
    # shaded cocoa: mapped as not forest (grown by a Hansen pixel, so no edge cell keeps forest)
    forest[_mask([geoms[i] for i in cases["shaded_cocoa"]], fine, grid.px * 1.5)] = 0
    pgrid = _plantation_grid(grid)
    plantation = np.where(
        _mask([geoms[i] for i in cases["plantation"]], pgrid, PLANTATION_PX * 1.5), PLANTATION_CLASS, 0
    ).astype("uint8")
    return _Forest2020(
        forest,
        fine,
        plantation,
        pgrid,
        established,
        {case: [ids[i] for i in rows] for case, rows in cases.items()},
    )


def _readme_forest2020(f: _Forest2020, tiles: int) -> str:
    """The README's section on the maps of the cut-off day."""
    where = f"`forest2020/` ({tiles} x {tiles} tiles) and " if tiles > 1 else ""
    n_dates = sum(v is not None for v in f.established)
    lines = [
        "",
        "## Forest on the cut-off day, plantations and establishment years (SYNTHETIC)",
        "",
        f"- {where}`forest2020.tif`: a forest map of 2020 in the form of the EU's GFC2020 (1 = forest, 0 = not "
        f"forest) on its own 10 m grid (1/11132° pixels, {f.grid.width} x {f.grid.height}): the Hansen forest of "
        "2000 not lost by 2020, read at each cell's centre, except on the plots of shaded cocoa, mapped as not forest.",
        f"- `plantation.tif`: a land-use map on a 0.0005° grid of its own ({f.plantation_grid.width} x "
        f"{f.plantation_grid.height}, origin 0.8 Hansen pixels off): {PLANTATION_CLASS} = cocoa plantation.",
        f"- `plots.gpkg` column `established`: the year (or date) the plot was established, on {n_dates} plots; "
        "empty on the others.",
        "",
        "Plots with Hansen loss after 2020, by case (configs/sample.yaml screens them with the forest rule; "
        "`cutoff_cases.csv` lists them all):",
        "",
    ]
    expect = {
        "shaded_cocoa": "established before 2021, not forest on the map: deforestation_free (shade trees)",
        "disagree": "established before 2021, forest on the map: review (map and declaration disagree)",
        "new_plot": "established after 2020: deforestation_detected",
        "plantation": "forest on the map, cocoa on the plantation map: deforestation_free",
    }
    for case, plot_ids in f.cases.items():
        shown = ", ".join(plot_ids[:5]) + (", ..." if len(plot_ids) > 5 else "")
        lines.append(f"- `{case}` ({len(plot_ids)} plots: {shown}): {expect[case]}")
    return "\n".join(lines) + "\n"
