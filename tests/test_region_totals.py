"""Region totals: each region's whole forest loss and cocoa's share of it, pinned by hand.

A 24 x 24 pixel grid, two regions side by side (R1: columns 0-10, R2: columns 10-20, rows 0-10)
and two plots: P1 (columns 2-7, rows 2-5) and P2 (columns 5-12, rows 4-6), which overlaps P1 on
2 pixels and crosses from R1 into R2 (10 of its 14 pixels in R1, so it belongs to R1). Every
edge lies on pixel lines, so each figure is a sum of whole pixels; a pixel's area is the
ellipsoidal area of its row (``a[r]``). Tree cover is 50 % (forest) but at row 4, column 0.

Loss: 2012 along row 4 (all columns), 2018 in rows 8-9 of R1, 2021 at row 5, columns 10-11 (in
P2's part in R2). So, by hand:

* R1 lost 9 a4 (2012; column 0 is no forest) and 10 (a8 + a9) (2018); R2 lost 10 a4 and 2 a5;
* the union of the plots in R1 holds row 4, columns 2-10: 8 a4 of 2012 loss — not the 12 a4 of
  the two plots' own figures (5 + 7, the overlap twice and P2's part in R2);
* in R2 the union is P2's columns 10-12: 2 a4 of 2012 and all of 2021's loss.
"""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from conftest import PX, pixel_box, write_raster
from conftest import cli_main as main

from pipeline.config import ForestDefinition
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.stages.baseline.region_totals import cocoa_geometries

X0, Y0 = -76.5, -8.0
N = 24
A = pixel_row_areas(Y0, PX, PX, 0, N) / M2_PER_HA  # ha of one pixel, per row


def rasters():
    loss = np.zeros((N, N), dtype="uint8")
    loss[4, :] = 12
    loss[8:10, 0:10] = 18
    loss[5, 10:12] = 21
    cover = np.full((N, N), 50, dtype="uint8")
    cover[4, 0] = 5
    return loss, cover


@pytest.fixture
def job(tmp_path, monkeypatch):
    monkeypatch.setenv("CACAO_SCREEN_CACHE", str(tmp_path / "cache"))
    loss, cover = rasters()
    write_raster(tmp_path / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    write_raster(tmp_path / "treecover2000.tif", cover, x0=X0, y0=Y0)
    gpd.GeoDataFrame(
        {"plot_id": ["P1", "P2"]}, geometry=[pixel_box(2, 2, 7, 5), pixel_box(5, 4, 12, 6)], crs="EPSG:4326"
    ).to_file(tmp_path / "plots.gpkg", layer="plots")
    gpd.GeoDataFrame(
        {"ubigeo": ["R1", "R2", "R3"], "name": ["uno", "dos", "tres"]},
        geometry=[pixel_box(0, 0, 10, 10), pixel_box(10, 0, 20, 10), pixel_box(100, 100, 110, 110)],
        crs="EPSG:4326",
    ).to_file(tmp_path / "regions.gpkg", layer="regions")
    cfg = {
        "plots": {"path": "plots.gpkg"},
        "rasters": {"loss_year": "lossyear.tif", "tree_cover": "treecover2000.tif", "last_year": 2024},
        "output": {"path": "screening.gpkg"},
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["-q", "run", "--config", str(tmp_path / "job.yaml")]) == 0
    return tmp_path


def baseline(d, *extra, out="baseline.gpkg"):
    args = ["baseline", "--screening", str(d / "screening.gpkg"), "--out", str(d / out)]
    args += ["--regions", str(d / "regions.gpkg"), "--region-id-column", "ubigeo", *extra]
    return main(args)


def read(d, layer, out="baseline.gpkg"):
    return pyogrio.read_dataframe(d / out, layer=layer, read_geometry=False)


def test_region_totals_and_cocoa_share_by_hand(job):
    assert baseline(job, "-q") == 0
    r = read(job, "baseline_by_region").set_index("region_id")
    assert list(r.index) == ["R1", "R2", "R3", "unassigned"]  # every region, with plots or not
    a4, a5, a8, a9 = A[4], A[5], A[8], A[9]
    r1, r2 = r.loc["R1"], r.loc["R2"]
    assert r1["n_plots"] == 2 and r2["n_plots"] == 0

    # whole regions
    assert r1["region_data_coverage_pct"] == pytest.approx(100.0)
    assert r1["region_forest_2000_ha"] == pytest.approx(10 * A[:10].sum() - a4, rel=1e-12)
    assert r1["region_loss_2012_ha"] == pytest.approx(9 * a4, rel=1e-12)
    assert r1["region_loss_2018_ha"] == pytest.approx(10 * (a8 + a9), rel=1e-12)
    assert r1["region_loss_2021_ha"] == 0
    assert r2["region_loss_2012_ha"] == pytest.approx(10 * a4, rel=1e-12)
    assert r2["region_loss_2021_ha"] == pytest.approx(2 * a5, rel=1e-12)
    assert r1["region_baseline_mean_annual_loss_ha"] == pytest.approx((9 * a4 + 10 * (a8 + a9)) / 10, rel=1e-12)

    # cocoa: the union in each region, counted once
    assert r1["cocoa_area_ha"] == pytest.approx(5 * A[2] + 5 * A[3] + 8 * a4 + 5 * a5, rel=1e-12)
    assert r2["cocoa_area_ha"] == pytest.approx(2 * a4 + 2 * a5, rel=1e-12)
    assert r1["cocoa_baseline_mean_annual_loss_ha"] == pytest.approx(8 * a4 / 10, rel=1e-12)
    assert r1["cocoa_baseline_mean_annual_loss_sum_of_plots_ha"] == pytest.approx(12 * a4 / 10, rel=1e-12)
    assert r1["baseline_mean_annual_loss_ha"] == pytest.approx(12 * a4 / 10, rel=1e-12)  # the plots' own
    assert r1["cocoa_share_of_loss_2012_pct"] == pytest.approx(100 * 8 / 9, rel=1e-12)
    assert r1["cocoa_share_of_loss_2018_pct"] == 0
    assert pd.isna(r1["cocoa_share_of_loss_2021_pct"])  # R1 lost nothing in 2021: no share, not 0
    assert pd.isna(r1["cocoa_share_of_loss_2005_pct"])
    assert r1["cocoa_share_of_baseline_loss_pct"] == pytest.approx(100 * 8 * a4 / (9 * a4 + 10 * (a8 + a9)), rel=1e-12)
    assert r1["cocoa_share_of_baseline_loss_sum_of_plots_pct"] == pytest.approx(
        100 * 12 * a4 / (9 * a4 + 10 * (a8 + a9)), rel=1e-12
    )
    assert r2["cocoa_share_of_loss_2012_pct"] == pytest.approx(20.0, rel=1e-12)
    assert r2["cocoa_share_of_loss_2021_pct"] == pytest.approx(100.0, rel=1e-12)
    assert r2["cocoa_share_of_baseline_loss_pct"] == pytest.approx(20.0, rel=1e-12)
    assert r2["cocoa_share_of_baseline_loss_sum_of_plots_pct"] == 0  # no plot belongs to R2
    shares = r[[c for c in r.columns if c.startswith("cocoa_share_of_loss_")]].to_numpy(dtype=float)
    assert np.nanmin(shares) >= 0 and np.nanmax(shares) <= 100
    assert pd.isna(r.loc["unassigned", "region_loss_2012_ha"])
    # R3 lies beyond the rasters: no data, so no figures and no shares (never a 0)
    assert r.loc["R3", "region_data_coverage_pct"] == 0
    assert (
        r.loc["R3", ["region_forest_2000_ha", "region_loss_2012_ha", "cocoa_share_of_baseline_loss_pct"]].isna().all()
    )

    # the national row: the regions summed, then the same ratios
    g = read(job, "baseline_by_group")
    nat = g[g["group_by"] == "all"].iloc[0]
    for c in ["region_forest_2000_ha", "region_baseline_mean_annual_loss_ha", "cocoa_area_ha"] + [
        f"region_loss_{y}_ha" for y in range(2001, 2025)
    ]:
        assert nat[c] == pytest.approx(r.loc[["R1", "R2"], c].sum(), rel=1e-12, abs=1e-12), c
    # the union of all plots holds 10 pixels of row 4: P1 and P2 together, once
    assert nat["cocoa_share_of_loss_2012_pct"] == pytest.approx(100 * 10 / 19, rel=1e-12)
    assert nat["cocoa_share_of_loss_2021_pct"] == pytest.approx(100.0, rel=1e-12)
    assert g.loc[g["group_by"] != "all", "region_loss_2012_ha"].isna().all()

    # the CSV copy has the same columns
    csv = pd.read_csv(job / "baseline_csv" / "baseline_by_region.csv", dtype={"region_id": str}).set_index("region_id")
    assert csv.loc["R1", "cocoa_share_of_loss_2012_pct"] == pytest.approx(100 * 8 / 9, rel=1e-9)
    meta = dict(read(job, "run_metadata")[["key", "value"]].values)
    assert meta["region_totals_forest_definition"] == "treecover2000 > 10 %"


def test_near_cocoa_is_the_land_around_the_plots_outside_them(job):
    assert baseline(job, "-q", "--ring-m", "40") == 0
    r = read(job, "baseline_by_region").set_index("region_id")
    for rid in ("R1", "R2"):
        row = r.loc[rid]
        for y in range(2001, 2025):
            cocoa, near = row[f"cocoa_share_of_loss_{y}_pct"], row[f"near_cocoa_share_of_loss_{y}_pct"]
            if pd.isna(row[f"region_loss_{y}_ha"]) or row[f"region_loss_{y}_ha"] < 1e-6:
                assert pd.isna(cocoa) and pd.isna(near)
            else:  # plots and their surroundings are disjoint parts of the region
                assert 0 <= near <= 100 and cocoa + near <= 100 + 1e-9
    # 40 m is 1.45 pixels (27.6 m at 8° S). In R1, row 4's only 2012 loss outside the plots is
    # column 1, whole within 28 m of P1; 2018's rows 8-9 are 55 m below P2: not near
    assert r.loc["R1", "near_cocoa_share_of_loss_2012_pct"] == pytest.approx(100 / 9, rel=1e-9)
    assert r.loc["R1", "near_cocoa_share_of_loss_2018_pct"] == 0
    assert r.loc["R1", "cocoa_share_of_loss_2012_pct"] == pytest.approx(100 * 8 / 9, rel=1e-12)
    # in R2, east of P2: column 12 whole, column 13 for some 45 % of it (10-20 % of 10 pixels)
    assert 10 < r.loc["R2", "near_cocoa_share_of_loss_2012_pct"] < 20
    assert r.loc["R2", "near_cocoa_share_of_loss_2021_pct"] == 0  # all of it inside P2


def test_the_union_is_counted_once_and_clipped():
    p1, p2 = pixel_box(2, 2, 7, 5), pixel_box(5, 4, 12, 6)
    regions = np.array([pixel_box(0, 0, 10, 10), pixel_box(10, 0, 20, 10), pixel_box(30, 30, 40, 40)], dtype=object)
    cocoa, near = cocoa_geometries(np.array([p1, p2, None], dtype=object), regions)
    assert near is None and cocoa[2] is None
    assert cocoa[0].area == pytest.approx((15 + 10 - 2) * PX * PX, rel=1e-9)
    assert cocoa[1].area == pytest.approx(4 * PX * PX, rel=1e-9)
    assert cocoa[0].intersection(cocoa[1]).area == 0


def test_cache_skips_unchanged_regions_and_follows_the_forest_definition(job, caplog):
    caplog.set_level("INFO", logger="pipeline")
    assert baseline(job, "-v") == 0
    assert "0 from the cache, 2 measured, 1 outside its rasters" in caplog.text
    first = read(job, "baseline_by_region")
    cached = list((job / "cache" / "regions").glob("*.json"))
    assert len(cached) == 2
    # a rerun, and a new plot list over the same regions: from the cache, the same figures
    gpd.GeoDataFrame({"plot_id": ["P3"]}, geometry=[pixel_box(12, 1, 15, 3)], crs="EPSG:4326").to_file(
        job / "plots.gpkg", layer="plots"
    )
    assert main(["-q", "run", "--config", str(job / "job.yaml"), "--overwrite"]) == 0
    caplog.clear()
    assert baseline(job, "-v", "--overwrite") == 0
    assert "2 from the cache, 0 measured, 1 outside its rasters" in caplog.text
    again = read(job, "baseline_by_region").set_index("region_id")
    pd.testing.assert_series_equal(
        again.loc[["R1", "R2"], "region_loss_2018_ha"],
        first.set_index("region_id").loc[["R1", "R2"], "region_loss_2018_ha"],
    )
    assert again.loc["R2", "n_plots"] == 1 and again.loc["R2", "cocoa_share_of_loss_2012_pct"] == 0
    # another forest definition is another key: measured again (tree cover 50 % is no forest above 60)
    cfg = yaml.safe_load((job / "job.yaml").read_text())
    cfg["screening"] = {"canopy_threshold": 60}
    (job / "job.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["-q", "run", "--config", str(job / "job.yaml"), "--overwrite"]) == 0
    caplog.clear()
    assert baseline(job, "-v", "--overwrite") == 0
    assert "0 from the cache, 2 measured, 1 outside its rasters" in caplog.text
    assert read(job, "baseline_by_region").set_index("region_id").loc["R1", "region_forest_2000_ha"] == 0
    assert len(list((job / "cache" / "regions").glob("*.json"))) == 4


def test_no_region_totals(job):
    assert baseline(job, "-q", "--no-region-totals") == 0
    r = read(job, "baseline_by_region")
    assert list(r["region_id"]) == ["R1", "unassigned"]  # regions holding plots, as before
    assert not [c for c in r.columns if c.startswith(("region_loss", "cocoa_"))]
    assert not (job / "cache" / "regions").exists()
    args = ["baseline", "--screening", str(job / "screening.gpkg"), "--out", str(job / "b2.gpkg")]
    assert main([*args, "--region-totals"]) == 2  # needs --regions
    assert not (job / "b2.gpkg").exists()


def test_region_cache_key_depends_on_geometry_product_and_definition(tmp_path):
    from pipeline.io.rasters import open_hansen
    from pipeline.io.region_cache import RegionCache

    loss, cover = rasters()
    lp = write_raster(tmp_path / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp_path / "treecover2000.tif", cover, x0=X0, y0=Y0)
    product = open_hansen(str(lp), str(cp), last_year=2024)
    key = RegionCache.key(pixel_box(0, 0, 10, 10), product, ForestDefinition())
    assert key == RegionCache.key(pixel_box(0, 0, 10, 10), product, ForestDefinition())
    assert key != RegionCache.key(pixel_box(0, 0, 10, 11), product, ForestDefinition())
    assert key != RegionCache.key(pixel_box(0, 0, 10, 10), product, ForestDefinition(canopy_operator=">="))
    assert key != RegionCache.key(
        pixel_box(0, 0, 10, 10), open_hansen(str(lp), str(cp), last_year=2023), ForestDefinition()
    )


@pytest.mark.slow
@pytest.mark.realdata
def test_real_peru_districts_on_a_synthetic_raster_add_up_to_the_national_row(real_data, tmp_path, monkeypatch):
    """Four real San Martín districts (Tocache, Uchiza, Pólvora, Alto Biavo) around a synthetic
    0.2° raster, with the file's rows without a geometry and two districts far from any data,
    all the way to a written baseline."""
    from pipeline.sample import generate_sample

    monkeypatch.setenv("CACAO_SCREEN_CACHE", str(tmp_path / "cache"))
    every = gpd.read_file(real_data / "peru-admin" / "peru_distrital_simple.geojson")
    near = every.geometry.intersects(shapely.box(-76.6, -8.3, -76.4, -8.1))
    broken = every.geometry.isna() | ~every.geometry.is_valid
    far = every["IDDIST"].isin(["150101", "080101"])  # Lima, Cusco: no raster there
    subset = every[near | broken | far]
    assert near.sum() == 4 and broken.sum() == 8
    subset.to_file(tmp_path / "districts.geojson", driver="GeoJSON")
    paths = generate_sample(tmp_path / "sample", bounds=(-76.6, -8.3, -76.4, -8.1), n_plots=150, tiles=1)
    screen = ["-q", "screen", "--plots", str(paths.plots), "--loss-year", str(paths.loss_year)]
    screen += ["--tree-cover", str(paths.tree_cover), "--last-year", "2024", "--out", str(tmp_path / "s.gpkg")]
    assert main(screen) == 0
    args = ["-q", "baseline", "--screening", str(tmp_path / "s.gpkg"), "--out", str(tmp_path / "b.gpkg")]
    args += ["--regions", str(tmp_path / "districts.geojson"), "--region-id-column", "IDDIST", "--ring-m", "50"]
    assert main(args) == 0
    r = pyogrio.read_dataframe(tmp_path / "b.gpkg", layer="baseline_by_region").set_index("region_id")
    ids = [i for i in r.index if i != "unassigned"]
    assert len(ids) == 6 and {"221001", "221005", "150101"} <= set(ids)  # every region with a geometry
    g = pyogrio.read_dataframe(tmp_path / "b.gpkg", layer="baseline_by_group", read_geometry=False)
    nat = g[g["group_by"] == "all"].iloc[0]
    additive = ["region_forest_2000_ha", "region_baseline_mean_annual_loss_ha", "cocoa_area_ha", "near_cocoa_area_ha"]
    additive += [f"region_loss_{y}_ha" for y in range(2001, 2025)]
    additive += ["cocoa_baseline_mean_annual_loss_ha", "near_cocoa_baseline_mean_annual_loss_ha"]
    for c in additive:
        assert nat[c] == pytest.approx(r.loc[ids, c].sum(), rel=1e-9), c
    assert nat["region_loss_2015_ha"] > 0
    # the union of the plots is what the plots lost, less the overlaps and the plots outside every region
    assert nat["cocoa_baseline_mean_annual_loss_ha"] <= nat["cocoa_baseline_mean_annual_loss_sum_of_plots_ha"] + 1e-6
    for rid in ids:
        shares = r.loc[rid, [c for c in r.columns if "share_of_loss_" in c]].to_numpy(dtype=float)
        assert np.all((shares[~np.isnan(shares)] >= 0) & (shares[~np.isnan(shares)] <= 100))
    # the raster covers part of each San Martín district, none of Lima's
    assert 0 < r.loc["221001", "region_data_coverage_pct"] < 100
    assert r.loc["150101", "region_data_coverage_pct"] == 0 and pd.isna(r.loc["150101", "region_loss_2015_ha"])
    assert pd.isna(r.loc["150101", "cocoa_share_of_baseline_loss_pct"])
    sm = r.loc[["221001", "221005", "221003", "220202"]]
    assert (sm["cocoa_share_of_baseline_loss_pct"] > 0).any()
    meta = dict(pyogrio.read_dataframe(tmp_path / "b.gpkg", layer="run_metadata")[["key", "value"]].values)
    assert len(meta["regions_without_geometry"].split(", ")) == 8


def test_without_the_rasters_region_totals_are_left_out_unless_asked_for(job, caplog):
    (job / "lossyear.tif").rename(job / "moved.tif")
    assert baseline(job, "--region-totals") == 2  # asked for, cannot be measured: refused
    assert not (job / "baseline.gpkg").exists()
    caplog.set_level("WARNING", logger="pipeline")
    assert baseline(job) == 0  # on by default: the baseline without them, and a warning
    assert "the region totals are left out" in caplog.text
    r = read(job, "baseline_by_region")
    assert list(r["region_id"]) == ["R1", "unassigned"] and "region_loss_2012_ha" not in r.columns
    meta = dict(read(job, "run_metadata")[["key", "value"]].values)
    assert meta["region_totals"].startswith("left out:")
    # the rasters given on the command line instead: measured
    args = ["--loss-year", str(job / "moved.tif"), "--tree-cover", str(job / "treecover2000.tif"), "--overwrite"]
    assert baseline(job, "-q", *args) == 0
    assert read(job, "baseline_by_region").set_index("region_id").loc["R1", "region_loss_2012_ha"] > 0
