"""The exactextract pipeline: the same screening GeoPackage from exactextract, in one Python process.

    python -m bench.ee_pipeline --plots P.gpkg --loss-year L.tif --tree-cover C.tif --out S.gpkg

What a competent user would write with exactextract (``coverage``/``values``/``weights``/``center_y``
arrays, plots in chunks of 100,000 so the per-cell arrays stay bounded; ``--strategy``
``raster-sequential``, the faster on these inputs, or ``feature-sequential``, the leaner):
read the plots (pyogrio, Arrow),
one ``exact_extract`` pass over both rasters (``lossyear`` as values, ``treecover2000`` as weights),
the per-plot hectares summed with numpy with the same ellipsoidal pixel areas, statuses by the same
rules (vectorised), and the GeoPackage written with pyogrio (Arrow): ``plots`` (every input column,
the figures, status, reason, geometry), ``loss_by_year`` and ``run_metadata``. No quality control
(a user of exactextract has none to run). Used by :mod:`bench.e2e` to compare whole processes.
"""

from __future__ import annotations

import argparse
import sys
import time

import numpy as np

FIRST_YEAR, LAST_YEAR = 2001, 2024
N_YEARS = LAST_YEAR - FIRST_YEAR + 1
CANOPY = 10
REFERENCE_YEAR = 2020
REVIEW_MAX_HA = 0.1
CHUNK = 100_000


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--plots", required=True)
    p.add_argument("--loss-year", required=True)
    p.add_argument("--tree-cover", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--id-column", default="plot_id", help="column of the plot ids (the lean anchor's farms: farm_id)")
    p.add_argument("--strategy", default="raster-sequential", choices=["raster-sequential", "feature-sequential"])
    a = p.parse_args(argv)

    import exactextract
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import rasterio

    from pipeline.engine.geodesy import pixel_row_areas

    started = time.time()
    gdf = pyogrio.read_dataframe(a.plots, use_arrow=True)
    n = len(gdf)
    with rasterio.open(a.loss_year) as src:
        t = src.transform
        top, res_y, areas = t.f, -t.e, pixel_row_areas(t.f, -t.e, t.a, 0, src.height)
    total = np.zeros(n)
    forest = np.zeros(n)
    loss = np.zeros((n, N_YEARS))
    for start in range(0, n, CHUNK):
        part = gdf.iloc[start : start + CHUNK][["geometry"]]
        df = exactextract.exact_extract(
            a.loss_year,
            part,
            ["coverage", "values", "weights", "center_y"],
            weights=a.tree_cover,
            output="pandas",
            strategy=a.strategy,
        )
        lens = np.fromiter((len(x) for x in df["coverage"]), dtype=np.int64, count=len(df))
        owner = np.repeat(np.arange(len(df)), lens)
        cov = np.concatenate(df["coverage"].to_numpy())
        rows = np.floor((top - np.concatenate(df["center_y"].to_numpy())) / res_y).astype(np.int64)
        w = cov * areas[np.clip(rows, 0, len(areas) - 1)]
        values = np.concatenate(df["values"].to_numpy()).astype(np.int64)
        cover = np.concatenate(df["weights"].to_numpy()).astype(np.int64)
        m = len(df)
        total[start : start + m] = np.bincount(owner, weights=w, minlength=m) / 1e4
        valid = (values >= 0) & (values <= N_YEARS) & (cover >= 0) & (cover <= 100)
        is_forest = valid & (cover > CANOPY)
        forest[start : start + m] = np.bincount(owner[is_forest], weights=w[is_forest], minlength=m) / 1e4
        lost = is_forest & (values > 0)
        loss[start : start + m] = (
            np.bincount(owner[lost] * N_YEARS + values[lost] - 1, weights=w[lost], minlength=m * N_YEARS).reshape(
                m, N_YEARS
            )
            / 1e4
        )
        del df, cov, rows, owner, w, values, cover
    years = np.arange(FIRST_YEAR, LAST_YEAR + 1)
    after = years > REFERENCE_YEAR
    loss_after = loss[:, after].sum(axis=1)
    loss_before = loss[:, ~after].sum(axis=1)
    seen = loss[:, after] >= 1e-6
    first_after = np.where(seen.any(axis=1), years[after][seen.argmax(axis=1)], -1)
    status = np.select(
        [loss_after > REVIEW_MAX_HA, loss_after >= 1e-6], ["deforestation_detected", "review"], "deforestation_free"
    )
    reason = pd.Series(status).map(
        {
            "deforestation_detected": f"forest lost after {REFERENCE_YEAR}",
            "review": f"some forest lost after {REFERENCE_YEAR}; check imagery",
            "deforestation_free": f"no forest loss after {REFERENCE_YEAR}",
        }
    )
    out = gdf.drop(columns="geometry").copy()
    out.insert(0, "source_row", np.arange(1, n + 1))
    figures = {
        "status": status,
        "deforestation_free": pd.array(
            np.where(status == "deforestation_free", True, np.where(status == "review", None, False)), dtype="boolean"
        ),
        "status_reason": reason.to_numpy(),
        "area_ha": total,
        "data_coverage_pct": np.full(n, 100.0),
        "forest_2000_ha": forest,
        "forest_ref_ha": forest - loss_before,
        "loss_total_ha": loss.sum(axis=1),
        "loss_before_ref_ha": loss_before,
        "loss_after_ref_ha": loss_after,
        "first_loss_year_after_ref": pd.array(np.where(first_after > 0, first_after, None), dtype="Int64"),
        **{f"loss_{y}_ha": loss[:, j] for j, y in enumerate(years)},
    }
    out = pd.concat([out, pd.DataFrame(figures, index=out.index)], axis=1)
    plots = gpd.GeoDataFrame(out, geometry=gdf.geometry.values, crs=gdf.crs)
    i, j = np.nonzero(loss > 0)
    by_year = pd.DataFrame(
        {"plot_id": out[a.id_column].to_numpy()[i], "source_row": i + 1, "year": years[j], "loss_ha": loss[i, j]}
    )
    meta = pd.DataFrame(
        {"key": ["generator", "elapsed_s"], "value": ["bench/ee_pipeline.py", f"{time.time() - started:.1f}"]}
    )
    pyogrio.write_dataframe(plots, a.out, layer="plots", driver="GPKG", use_arrow=True, promote_to_multi=True)
    pyogrio.write_dataframe(by_year, a.out, layer="loss_by_year", driver="GPKG", use_arrow=True)
    pyogrio.write_dataframe(meta, a.out, layer="run_metadata", driver="GPKG", use_arrow=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
