"""An independent reference for per-plot figures: exactextract's coverage fractions and pixel values,
weighted by the same ellipsoidal pixel areas. Used by tests (and benchmarks) to check the engine."""

from __future__ import annotations

import numpy as np
import rasterio
import shapely

from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas


def exactextract_figures(
    geoms, loss_path, cover_path, *, canopy_threshold=10.0, first_year=2001, last_year=2024, loss_nodata=255
):
    """Per plot: forest_2000_ha, loss_ha per year (dict year -> array), valid share, via exactextract."""
    import exactextract

    with rasterio.open(loss_path) as src:
        top, res_y, res_x, height = src.transform.f, -src.transform.e, src.transform.a, src.height
    feats = [
        {"type": "Feature", "properties": {"i": i}, "geometry": shapely.geometry.mapping(g)}
        for i, g in enumerate(geoms)
    ]
    ops = ["coverage", "values", "center_y"]
    loss = exactextract.exact_extract(loss_path, feats, ops, output="pandas", include_cols=["i"])
    cover = exactextract.exact_extract(cover_path, feats, ops, output="pandas", include_cols=["i"])
    areas = pixel_row_areas(top, res_y, res_x, 0, height)
    n = len(geoms)
    years = list(range(first_year, last_year + 1))
    forest = np.zeros(n)
    lost = {y: np.zeros(n) for y in years}
    valid_m2 = np.zeros(n)
    for (_, lrow), (_, crow) in zip(loss.iterrows(), cover.iterrows()):
        i = lrow["i"]
        cov = np.asarray(lrow["coverage"], dtype="float64")
        lv = np.asarray(lrow["values"]).astype("int64")
        cv = np.asarray(crow["values"]).astype("int64")
        rows = np.floor((top - np.asarray(lrow["center_y"])) / res_y).astype(int)
        w = cov * areas[rows]
        ok = (lv != loss_nodata) & (lv <= last_year - 2000) & (cv <= 100)
        f = ok & (cv > canopy_threshold)
        valid_m2[i] = w[ok].sum()
        forest[i] = w[f].sum() / M2_PER_HA
        for y in years:
            lost[y][i] = w[f & (lv == y - 2000)].sum() / M2_PER_HA
    return forest, lost, valid_m2


def exactextract_cells(geoms, path):
    """Per plot, exactextract's cells: (values, weights in m² = coverage x ellipsoidal pixel area)."""
    import exactextract

    with rasterio.open(path) as src:
        top, res_y, res_x, height = src.transform.f, -src.transform.e, src.transform.a, src.height
    feats = [
        {"type": "Feature", "properties": {"i": i}, "geometry": shapely.geometry.mapping(g)}
        for i, g in enumerate(geoms)
    ]
    df = exactextract.exact_extract(
        path, feats, ["coverage", "values", "center_y"], output="pandas", include_cols=["i"]
    )
    areas = pixel_row_areas(top, res_y, res_x, 0, height)
    out = [(np.zeros(0, dtype="int64"), np.zeros(0))] * len(geoms)
    for _, row in df.iterrows():
        rows = np.floor((top - np.asarray(row["center_y"])) / res_y).astype(int)
        weights = np.asarray(row["coverage"], dtype="float64") * areas[rows]
        out[row["i"]] = (np.asarray(row["values"]).astype("int64"), weights)
    return out
