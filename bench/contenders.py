"""One benchmark contender, run in its own process by :mod:`bench.run` (so that its memory is its own).

    python -m bench.contenders {cacao,exactextract,rasterstats} --plots P.gpkg --loss-year L.tif \\
        --tree-cover C.tif --out figures.npz [--workers N] [--scheduler S] [--limit N] [--profile F]

Every contender computes the same per-plot figures, in hectares, in input order:

* ``forest_2000_ha`` — Σ coverage × pixel area over pixels with tree cover > 10 %,
* ``loss_ha`` (n x 24) — the same over those pixels whose loss year is 2001 ... 2024,

with pixel areas on the WGS84 ellipsoid (:func:`pipeline.engine.geodesy.pixel_row_areas`), and writes
them to ``--out`` (``.npz``). It prints one JSON line: the seconds spent reading the plots
(``read_s``) and computing the figures (``compute_s``; the rasters are read in this phase).

* ``cacao``: :func:`pipeline.stages.screening.screen_plots` — the whole library call (quality checks,
  geodesic plot areas, statuses included), on ``--scheduler`` with ``--workers`` processes or
  threads (default: what cacao-screen chooses by itself).
* ``exactextract``: one ``exact_extract`` pass over both rasters (``lossyear`` as values,
  ``treecover2000`` as weights) returning each plot's ``coverage``, ``values``, ``weights`` and
  ``center_y``; the hectares are then summed with numpy (vectorised, no Python loop over plots).
  Plots are passed in chunks of 100,000 so that the per-cell arrays do not grow with the number of
  plots. Single process, as exactextract is.
* ``rasterstats``: ``zonal_stats(..., raster_out=True)`` once per raster (it reads one raster at a
  time), pixel-centre masks, the same hectare sums. Single process. Its error against exact
  coverage is what a pixel-centre method costs, not a bug.
"""

from __future__ import annotations

import argparse
import json
import sys
import time

import numpy as np

FIRST_YEAR, LAST_YEAR = 2001, 2024
N_YEARS = LAST_YEAR - FIRST_YEAR + 1
CANOPY = 10
CHUNK = 100_000


def _row_areas(path: str):
    import rasterio

    from pipeline.engine.geodesy import pixel_row_areas

    with rasterio.open(path) as src:
        t = src.transform
        return t.f, -t.e, pixel_row_areas(t.f, -t.e, t.a, 0, src.height)


def _sum_figures(n: int, owner: np.ndarray, w: np.ndarray, loss: np.ndarray, cover: np.ndarray):
    """Forest and per-year loss hectares from flat per-cell arrays (``w`` = coverage x area, m²)."""
    loss = loss.astype(np.int64)
    cover = cover.astype(np.int64)
    valid = (loss >= 0) & (loss <= N_YEARS) & (cover >= 0) & (cover <= 100)
    forest = valid & (cover > CANOPY)
    forest_ha = np.bincount(owner[forest], weights=w[forest], minlength=n) / 1e4
    lost = forest & (loss > 0)
    loss_ha = (
        np.bincount(owner[lost] * N_YEARS + loss[lost] - 1, weights=w[lost], minlength=n * N_YEARS).reshape(n, N_YEARS)
        / 1e4
    )
    return forest_ha, loss_ha


def open_source(loss_path, cover_path):
    """The Hansen pair as the engine takes it."""
    from pipeline.io.rasters import open_product

    return open_product(
        "hansen", kind="hansen", loss_year=str(loss_path), tree_cover=str(cover_path), last_year=LAST_YEAR
    )


def run_cacao(plots_path, loss_path, cover_path, *, workers=None, scheduler="local"):
    from pipeline.config import ExecutionConfig, ScreeningConfig
    from pipeline.engine.schedulers import default_workers
    from pipeline.io.plots import read_plots
    from pipeline.stages.screening import screen_plots

    t0 = time.perf_counter()
    plots = read_plots(plots_path)
    t1 = time.perf_counter()
    workers = workers or default_workers(len(plots), scheduler)  # what screen_plots would choose
    source = open_source(loss_path, cover_path)
    result = screen_plots(
        plots,
        source,
        ScreeningConfig(canopy_threshold=CANOPY),
        execution=ExecutionConfig(workers=workers, scheduler=scheduler),
    )
    t2 = time.perf_counter()
    p = result.plots
    forest = p["forest_2000_ha"].to_numpy(dtype=float, na_value=np.nan)
    loss = p[[f"loss_{y}_ha" for y in range(FIRST_YEAR, LAST_YEAR + 1)]].to_numpy(dtype=float, na_value=np.nan)
    extra = {"workers": workers, "statuses": {k: int(v) for k, v in p["status"].value_counts().items()}}
    return t1 - t0, t2 - t1, forest, loss, extra


def _read_gdf(plots_path, limit=None):
    import pyogrio

    return pyogrio.read_dataframe(plots_path, layer="plots", max_features=limit)


def run_exactextract(plots_path, loss_path, cover_path, *, limit=None, strategy="feature-sequential"):
    import exactextract

    t0 = time.perf_counter()
    gdf = _read_gdf(plots_path, limit)[["geometry"]]
    t1 = time.perf_counter()
    top, res_y, areas = _row_areas(loss_path)
    n = len(gdf)
    forest = np.zeros(n)
    loss = np.zeros((n, N_YEARS))
    for start in range(0, n, CHUNK):
        part = gdf.iloc[start : start + CHUNK]
        df = exactextract.exact_extract(
            loss_path,
            part,
            ["coverage", "values", "weights", "center_y"],
            weights=cover_path,
            output="pandas",
            strategy=strategy,
        )
        lens = np.fromiter((len(a) for a in df["coverage"]), dtype=np.int64, count=len(df))
        owner = np.repeat(np.arange(len(df)), lens)
        cov = np.concatenate(df["coverage"].to_numpy())
        rows = np.floor((top - np.concatenate(df["center_y"].to_numpy())) / res_y).astype(np.int64)
        f, lost = _sum_figures(
            len(df),
            owner,
            cov * areas[rows],
            np.concatenate(df["values"].to_numpy()),
            np.concatenate(df["weights"].to_numpy()),
        )
        forest[start : start + len(df)] = f
        loss[start : start + len(df)] = lost
        del df, cov, rows, owner
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, forest, loss, {"strategy": strategy}


def run_rasterstats(plots_path, loss_path, cover_path, *, limit=None):
    import warnings

    from rasterstats import zonal_stats

    t0 = time.perf_counter()
    gdf = _read_gdf(plots_path, limit)
    t1 = time.perf_counter()
    top, res_y, areas = _row_areas(loss_path)
    n = len(gdf)
    geoms = gdf.geometry.to_numpy()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        zl = zonal_stats(geoms, loss_path, stats=[], raster_out=True, nodata=255)
        zc = zonal_stats(geoms, cover_path, stats=[], raster_out=True, nodata=255)
    owner, w, lv, cv = [], [], [], []
    for i, (a, b) in enumerate(zip(zl, zc)):
        la, ca = a["mini_raster_array"], b["mini_raster_array"]
        inside = ~np.ma.getmaskarray(la)
        r, _ = np.nonzero(inside)
        row0 = int(round((top - a["mini_raster_affine"].f) / res_y))
        owner.append(np.full(len(r), i))
        w.append(areas[np.clip(row0 + r, 0, len(areas) - 1)])
        lv.append(np.ma.getdata(la)[inside])
        cv.append(np.ma.getdata(ca)[inside])
    forest, loss = _sum_figures(n, np.concatenate(owner), np.concatenate(w), np.concatenate(lv), np.concatenate(cv))
    t2 = time.perf_counter()
    return t1 - t0, t2 - t1, forest, loss, {}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("contender", choices=["cacao", "exactextract", "rasterstats"])
    p.add_argument("--plots", required=True)
    p.add_argument("--loss-year", required=True)
    p.add_argument("--tree-cover", required=True)
    p.add_argument("--out", required=True, help=".npz file for the figures")
    p.add_argument(
        "--workers", type=int, default=None, help="cacao: processes or threads (default: cacao-screen's own default)"
    )
    p.add_argument("--scheduler", default="local", help="cacao: local, threads or a Dask scheduler address")
    p.add_argument("--limit", type=int, default=None, help="only the first N plots (not for cacao)")
    p.add_argument("--strategy", default="feature-sequential", help="exactextract's processing strategy")
    p.add_argument("--profile", default=None, help="write a cProfile of the computation here")
    a = p.parse_args(argv)

    if a.contender == "cacao":
        call = lambda: run_cacao(a.plots, a.loss_year, a.tree_cover, workers=a.workers, scheduler=a.scheduler)  # noqa: E731
    elif a.contender == "exactextract":
        call = lambda: run_exactextract(a.plots, a.loss_year, a.tree_cover, limit=a.limit, strategy=a.strategy)  # noqa: E731
    else:
        call = lambda: run_rasterstats(a.plots, a.loss_year, a.tree_cover, limit=a.limit)  # noqa: E731
    if a.profile:
        import cProfile

        prof = cProfile.Profile()
        read_s, compute_s, forest, loss, extra = prof.runcall(call)
        prof.dump_stats(a.profile)
    else:
        read_s, compute_s, forest, loss, extra = call()
    np.savez(a.out, forest_2000_ha=forest, loss_ha=loss)
    print(
        json.dumps(
            {
                "contender": a.contender,
                "n": len(forest),
                "read_s": read_s,
                "compute_s": compute_s,
                "workers": 1,
                **extra,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
