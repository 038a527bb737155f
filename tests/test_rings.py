"""Restoration rings are measured with exactly the screening's forest definition and product.

A 60 x 60 pixel job where every part of the definition changes the ring's figures: tree cover
exactly at the threshold (counts only with ``>=``), water in the Hansen datamask, and forest
patches smaller than the minimum patch area. The ring's forest and loss are then computed
independently — exactextract's coverage of the ring geometry, times the ellipsoidal pixel areas,
over a forest mask built here with scipy — and must equal what the baseline wrote.
"""

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
import yaml
from conftest import PX, pixel_box, write_raster
from conftest import cli_main as main
from scipy import ndimage

from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas

X0, Y0 = -76.5, -8.0
N = 60
THRESHOLD, MIN_PATCH_HA = 30, 0.5


def rasters():
    rng = np.random.default_rng(5)
    cover = np.full((N, N), THRESHOLD, dtype="uint8")  # forest only with '>='
    cover[:, :20] = 80
    cover[40:, :] = 5  # not forest
    for r, c in ((41, 26), (41, 33), (45, 30), (52, 20)):  # islands of forest, 2 x 2 px: under 0.5 ha
        cover[r : r + 2, c : c + 2] = 90
    datamask = np.ones((N, N), dtype="uint8")
    datamask[18:22, 5:55] = 2  # a river across the ring: water is never forest
    datamask[55:, :] = 0  # no data
    loss = np.where(rng.random((N, N)) < 0.15, rng.integers(1, 25, (N, N)), 0).astype("uint8")
    return loss, cover, datamask


def forest_mask(cover, datamask, operator):
    forest = (cover >= THRESHOLD) if operator == ">=" else (cover > THRESHOLD)
    forest &= datamask == 1
    labels, n = ndimage.label(forest, structure=ndimage.generate_binary_structure(2, 1))  # 4-connected
    row_area = pixel_row_areas(Y0, PX, PX, 0, N)
    area = np.bincount(labels.ravel(), weights=np.broadcast_to(row_area[:, None], (N, N)).ravel(), minlength=n + 1)
    keep = area >= MIN_PATCH_HA * M2_PER_HA
    keep[0] = False
    return keep[labels]


def exact_figures(geom, mask, loss, d):
    """Forest and loss up to 2020 (ha) in ``geom``: exactextract's coverage x pixel area over ``mask``."""
    import exactextract

    path = write_raster(d / "cells.tif", np.arange(N * N, dtype="uint32").reshape(N, N), x0=X0, y0=Y0)
    feat = [{"type": "Feature", "properties": {}, "geometry": shapely.geometry.mapping(geom)}]
    ee = exactextract.exact_extract(str(path), feat, ["coverage", "values"], output="pandas").iloc[0]
    cells = np.asarray(ee["values"]).astype(int)
    rows, cols = cells // N, cells % N
    w = np.asarray(ee["coverage"]) * pixel_row_areas(Y0, PX, PX, 0, N)[rows] / M2_PER_HA
    forest = mask[rows, cols]
    before = forest & (loss[rows, cols] >= 1) & (loss[rows, cols] <= 20)
    return w[forest].sum(), w[before].sum()


@pytest.fixture
def job(tmp_path):
    loss, cover, datamask = rasters()
    d = tmp_path
    write_raster(d / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    write_raster(d / "treecover2000.tif", cover, x0=X0, y0=Y0)
    write_raster(d / "datamask.tif", datamask, x0=X0, y0=Y0)
    plots = gpd.GeoDataFrame(
        {"plot_id": ["a", "b"]}, geometry=[pixel_box(20, 12, 30, 22), pixel_box(30, 30, 38, 38)], crs="EPSG:4326"
    )
    plots.to_file(d / "plots.gpkg", layer="plots")
    cfg = {
        "plots": {"path": "plots.gpkg"},
        "datasets": {
            "hansen": {
                "kind": "hansen",
                "loss_year": "lossyear.tif",
                "tree_cover": "treecover2000.tif",
                "datamask": "datamask.tif",
                "last_year": 2024,
            }
        },
        "screening": {
            "canopy_threshold": THRESHOLD,
            "canopy_operator": ">=",
            "min_forest_patch_ha": MIN_PATCH_HA,
            "patch_connectivity": 4,
        },
        "output": {"path": "screening.gpkg"},
        "baseline": {"output": "baseline.gpkg", "ring_m": 150},
    }
    (d / "job.yaml").write_text(yaml.safe_dump(cfg))
    return d, loss, cover, datamask


@pytest.mark.parametrize("how", ["run", "baseline"])
def test_rings_use_the_screenings_forest_definition_and_datamask(job, how):
    d, loss, cover, datamask = job
    if how == "run":  # the baseline chained to the screening, with the job's own products
        assert main(["-q", "run", "--config", str(d / "job.yaml")]) == 0
    else:  # the baseline command alone: the definition and rasters come from the screening's stored config
        cfg = yaml.safe_load((d / "job.yaml").read_text())
        del cfg["baseline"]
        (d / "job.yaml").write_text(yaml.safe_dump(cfg))
        assert main(["-q", "run", "--config", str(d / "job.yaml")]) == 0
        args = ["--screening", str(d / "screening.gpkg"), "--out", str(d / "baseline.gpkg"), "--ring-m", "150"]
        assert main(["-q", "baseline", *args]) == 0
    rings = pyogrio.read_dataframe(d / "baseline.gpkg", layer="restoration_rings").set_index("plot_id")
    screened = pyogrio.read_dataframe(d / "screening.gpkg", layer="plots").set_index("plot_id")
    right = forest_mask(cover, datamask, ">=")
    default = cover > 10  # what a ring measured with the default definition, without the datamask, would see
    for pid in ("a", "b"):
        ring = rings.loc[pid, "geometry"]
        forest, before = exact_figures(ring, right, loss, d)
        assert rings.loc[pid, "ring_forest_2000_ha"] == pytest.approx(forest, abs=1e-6)
        assert rings.loc[pid, "ring_loss_before_ref_ha"] == pytest.approx(before, abs=1e-6)
        # the plot itself was screened with the same definition
        f_plot, b_plot = exact_figures(screened.loc[pid, "geometry"], right, loss, d)
        assert screened.loc[pid, "forest_2000_ha"] == pytest.approx(f_plot, abs=1e-6)
        assert screened.loc[pid, "loss_before_ref_ha"] == pytest.approx(b_plot, abs=1e-6)
    # the case is sensitive: another definition would have given other ring figures
    for pid in ("a", "b"):
        wrong, _ = exact_figures(rings.loc[pid, "geometry"], default, loss, d)
        assert abs(wrong - rings.loc[pid, "ring_forest_2000_ha"]) > 0.1
    meta = dict(pyogrio.read_dataframe(d / "baseline.gpkg", layer="run_metadata")[["key", "value"]].values)
    assert meta["ring_forest_definition"] == "treecover2000 >= 30 %, patches >= 0.5 ha (4-connected)"


def test_region_totals_use_the_screenings_forest_definition_and_datamask(job):
    """A region with edges off the pixel lines, measured whole: its forest and loss up to 2020 are
    exactextract's coverage x ellipsoidal area over the screening's forest (threshold with '>=',
    no water, patches of 0.5 ha), not the default definition's."""
    d, loss, cover, datamask = job
    region = shapely.Polygon(
        [(X0 + 3.3 * PX, Y0 - 2.7 * PX), (X0 + 51.6 * PX, Y0 - 9.2 * PX), (X0 + 44.1 * PX, Y0 - 57.5 * PX),
         (X0 + 8.8 * PX, Y0 - 48.3 * PX)]
    )  # fmt: skip
    gpd.GeoDataFrame({"id": ["R"]}, geometry=[region], crs="EPSG:4326").to_file(d / "regions.gpkg", layer="regions")
    cfg = yaml.safe_load((d / "job.yaml").read_text())
    cfg["baseline"]["regions"] = {"path": "regions.gpkg", "id_column": "id"}
    (d / "job.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["-q", "run", "--config", str(d / "job.yaml")]) == 0
    r = pyogrio.read_dataframe(d / "baseline.gpkg", layer="baseline_by_region").set_index("region_id").loc["R"]
    forest, before = exact_figures(region, forest_mask(cover, datamask, ">="), loss, d)
    assert r["region_forest_2000_ha"] == pytest.approx(forest, abs=1e-6)
    assert sum(r[f"region_loss_{y}_ha"] for y in range(2001, 2021)) == pytest.approx(before, abs=1e-6)
    wrong, _ = exact_figures(region, cover > 10, loss, d)
    assert abs(wrong - r["region_forest_2000_ha"]) > 0.1
    assert r["region_data_coverage_pct"] < 100  # the datamask's no-data rows
