"""Loss products as configuration (issue 6): tile mosaics, missing tiles, datamask, forest masks,
year encodings, minimum forest patches, several products, and the checks that protect the user."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from conftest import PX, write_raster
from rasterio.transform import from_origin

from pipeline.config import ScreeningConfig
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.engine.pixels import NO_TILE
from pipeline.errors import RasterError
from pipeline.io.plots import normalise
from pipeline.io.rasters import hansen_version_year, open_layer, open_product
from pipeline.stages.screening import screen_plots

X0, Y0 = -76.5, -8.0
N = 40


def split(path: Path, out_dir: Path, name: str, rows: int = 2, cols: int = 2, skip=()) -> Path:
    """Write ``path`` as rows x cols tiles named like Hansen's (``<name>_r<i>_c<j>.tif``)."""
    out_dir.mkdir(exist_ok=True)
    with rasterio.open(path) as src:
        arr, t, nodata = src.read(1), src.transform, src.nodata
    h, w = arr.shape
    for i in range(rows):
        for j in range(cols):
            if (i, j) in skip:
                continue
            r0, r1 = i * h // rows, (i + 1) * h // rows
            c0, c1 = j * w // cols, (j + 1) * w // cols
            write_raster(
                out_dir / f"{name}_r{i}_c{j}.tif",
                arr[r0:r1, c0:c1],
                x0=t.c + c0 * t.a,
                y0=t.f + r0 * t.e,
                nodata=nodata,
            )
    return out_dir


@pytest.fixture
def landscape(tmp_path):
    rng = np.random.default_rng(42)
    loss = rng.choice([0, 0, 0, 0, 3, 12, 19, 21, 22, 24], size=(N, N)).astype("uint8")
    cover = rng.integers(0, 101, size=(N, N)).astype("uint8")
    lp = write_raster(tmp_path / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp_path / "treecover2000.tif", cover, x0=X0, y0=Y0)
    return dict(loss=loss, cover=cover, lp=lp, cp=cp, tmp=tmp_path)


def plots_of(geoms):
    return normalise(
        gpd.GeoDataFrame({"plot_id": [f"p{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4326")
    )


def corner_plots():
    rng = np.random.default_rng(1)
    geoms = []
    for _ in range(30):  # plots around the corner where four tiles meet (pixel 20, 20)
        cx = X0 + (20 + rng.uniform(-4, 4)) * PX
        cy = Y0 - (20 + rng.uniform(-4, 4)) * PX
        geoms.append(shapely.Point(cx, cy).buffer(rng.uniform(1, 6) * PX, quad_segs=6))
    geoms.append(shapely.box(X0 + 19.5 * PX, Y0 - 20.5 * PX, X0 + 20.5 * PX, Y0 - 19.5 * PX))
    return geoms


def figures(result):
    cols = [c for c in result.plots.columns if c.endswith("_ha") or c == "data_coverage_pct"]
    return result.plots[cols].astype("float64")


def test_plots_over_a_tile_corner_equal_the_merged_raster(landscape):
    d = landscape["tmp"]
    tiles = split(landscape["lp"], d / "tiles", "lossyear")
    split(landscape["cp"], d / "tiles", "treecover2000")
    plots = plots_of(corner_plots())
    merged = screen_plots(plots, open_product("hansen", loss_year=landscape["lp"], tree_cover=landscape["cp"]))
    for spec in (tiles, str(tiles / "lossyear_*.tif"), sorted(str(p) for p in tiles.glob("lossyear_*"))):
        cover_spec = tiles if isinstance(spec, Path) else str(tiles / "treecover2000_*.tif")
        tiled = screen_plots(plots, open_product("hansen", loss_year=spec, tree_cover=cover_spec))
        pd.testing.assert_frame_equal(figures(tiled), figures(merged), rtol=0, atol=1e-12)
    assert (merged.plots["data_coverage_pct"] == 100).all()


def test_a_missing_tile_makes_the_plots_under_it_not_assessed(landscape):
    d = landscape["tmp"]
    split(landscape["lp"], d / "t", "lossyear", skip={(1, 1)})  # the south-east tile is missing
    split(landscape["cp"], d / "t", "treecover2000")
    inside_missing = shapely.box(X0 + 25 * PX, Y0 - 35 * PX, X0 + 35 * PX, Y0 - 25 * PX)
    across = shapely.box(X0 + 15 * PX, Y0 - 25 * PX, X0 + 25 * PX, Y0 - 15 * PX)
    present = shapely.box(X0 + 2 * PX, Y0 - 12 * PX, X0 + 12 * PX, Y0 - 2 * PX)
    res = screen_plots(
        plots_of([inside_missing, across, present]), open_product("hansen", loss_year=d / "t", tree_cover=d / "t")
    )
    p = res.plots
    assert p["status"].tolist()[:2] == ["not_assessed", "not_assessed"]
    assert p["data_coverage_pct"].iloc[0] == 0 and p["data_coverage_pct"].iloc[1] == pytest.approx(
        75, rel=1e-5
    )  # by area: rows differ slightly
    assert (
        "no raster tile" in p["status_reason"].iloc[0]
        and "25.0 % lies where no raster tile is" in p["status_reason"].iloc[1]
    )
    assert p["status"].iloc[2] != "not_assessed"


def test_loss_years_after_the_products_last_year_are_never_read_as_free(landscape):
    d = landscape["tmp"]
    loss = np.zeros((N, N), "uint8")
    loss[5:10, 5:10] = 24  # loss in 2024, but the product is declared to end in 2022
    lp = write_raster(d / "l.tif", loss, x0=X0, y0=Y0, nodata=255)
    plot = shapely.box(X0 + 4 * PX, Y0 - 11 * PX, X0 + 11 * PX, Y0 - 4 * PX)
    res = screen_plots(
        plots_of([plot]), open_product("hansen", loss_year=lp, tree_cover=landscape["cp"], last_year=2022)
    )
    row = res.plots.iloc[0]
    assert row["status"] == "not_assessed" and pd.isna(row["deforestation_free"])
    assert "values the product does not define" in row["status_reason"] and "last_year" in row["status_reason"]


def test_hansen_release_year_is_read_from_file_names(landscape):
    d = landscape["tmp"]
    lp = d / "Hansen_GFC-2023-v1.11_lossyear_00N_080W.tif"
    landscape["lp"].rename(lp)
    p = open_product("hansen", loss_year=lp, tree_cover=landscape["cp"])
    assert p.last_year == 2023 and p.years[-1] == 2023
    assert open_product("hansen", loss_year=lp, tree_cover=landscape["cp"], last_year=2024).last_year == 2024
    assert hansen_version_year(["x/Hansen_GFC-2024-v1.12_lossyear_10S_080W.tif"]) == 2024
    with pytest.raises(RasterError, match="several Hansen releases"):
        hansen_version_year(
            ["Hansen_GFC-2024-v1.12_lossyear_10S_080W.tif", "Hansen_GFC-2023-v1.11_lossyear_10S_070W.tif"]
        )


def test_datamask_water_is_not_forest_and_zero_is_no_data(landscape):
    d = landscape["tmp"]
    mask = np.ones((N, N), "uint8")
    mask[:, 20:30] = 2  # water
    mask[:, 30:] = 0  # no data
    dm = write_raster(d / "datamask.tif", mask, x0=X0, y0=Y0)
    land = shapely.box(X0 + 10 * PX, Y0 - 10 * PX, X0 + 20 * PX, Y0)
    water = shapely.box(X0 + 20 * PX, Y0 - 10 * PX, X0 + 30 * PX, Y0)
    nodata = shapely.box(X0 + 30 * PX, Y0 - 10 * PX, X0 + 40 * PX, Y0)
    plots = plots_of([land, water, nodata])
    with_mask = screen_plots(
        plots, open_product("hansen", loss_year=landscape["lp"], tree_cover=landscape["cp"], datamask=dm)
    ).plots
    without = screen_plots(plots, open_product("hansen", loss_year=landscape["lp"], tree_cover=landscape["cp"])).plots
    assert with_mask["forest_2000_ha"].iloc[0] == pytest.approx(without["forest_2000_ha"].iloc[0], rel=1e-12)
    assert without["forest_2000_ha"].iloc[1] > 0 and with_mask["forest_2000_ha"].iloc[1] == 0
    assert with_mask["loss_total_ha"].iloc[1] == 0 and with_mask["status"].iloc[1] == "deforestation_free"
    assert with_mask["status"].iloc[2] == "not_assessed" and with_mask["data_coverage_pct"].iloc[2] == 0


def test_year_encoded_product_with_forest_mask_equals_offset_encoding(landscape):
    d = landscape["tmp"]
    loss, cover = landscape["loss"], landscape["cover"]
    as_year = np.where(loss > 0, loss.astype("uint16") + 2000, 0).astype("uint16")
    forest = (cover > 10).astype("uint8")
    yp = write_raster(d / "defyear.tif", as_year, x0=X0, y0=Y0)
    fm = write_raster(d / "forest.tif", forest, x0=X0, y0=Y0)
    plots = plots_of(corner_plots())
    hansen = screen_plots(plots, open_product("hansen", loss_year=landscape["lp"], tree_cover=landscape["cp"]))
    generic = screen_plots(
        plots,
        open_product(
            "g", kind="loss_year", loss_year=yp, forest_mask=fm, encoding="year", first_year=2001, last_year=2024
        ),
    )
    pd.testing.assert_frame_equal(figures(generic), figures(hansen), rtol=0, atol=1e-12)
    # without a forest layer, every flagged pixel counts as forest loss
    bare = screen_plots(plots, open_product("g", kind="loss_year", loss_year=yp, encoding="year", last_year=2024))
    assert (bare.plots["loss_total_ha"] >= hansen.plots["loss_total_ha"] - 1e-12).all()
    assert (bare.plots["loss_total_ha"] > hansen.plots["loss_total_ha"] + 1e-9).any()


def test_canopy_operator_and_minimum_patch(landscape):
    d = landscape["tmp"]
    cover = np.zeros((N, N), "uint8")
    cover[2:4, 2:4] = 30  # a 4-pixel patch (0.3 ha): not forest with a 0.5 ha minimum
    cover[10:13, 10:14] = 30  # 12 pixels (0.9 ha): forest
    cover[20:22, 20:22] = 10  # exactly 10 %: forest only with '>='
    cover[30:32, 30] = 30  # two pixels touching a third diagonally
    cover[32, 31] = 30
    cp = write_raster(d / "c.tif", cover, x0=X0, y0=Y0)
    loss = np.zeros((N, N), "uint8")
    lp = write_raster(d / "l.tif", loss, x0=X0, y0=Y0, nodata=255)
    everything = shapely.box(X0, Y0 - N * PX, X0 + N * PX, Y0)
    product = open_product("hansen", loss_year=lp, tree_cover=cp)
    a = pixel_row_areas(Y0, PX, PX, 0, N) / M2_PER_HA

    def forest(**kw):
        return screen_plots(plots_of([everything]), product, ScreeningConfig(**kw)).plots["forest_2000_ha"].iloc[0]

    assert forest() == pytest.approx(a[2:4].sum() * 2 + a[10:13].sum() * 4 + a[30:33].sum(), rel=1e-9)
    assert forest(canopy_operator=">=") == pytest.approx(forest() + a[20:22].sum() * 2, rel=1e-9)
    assert forest(min_forest_patch_ha=0.5) == pytest.approx(a[10:13].sum() * 4, rel=1e-9)
    assert forest(min_forest_patch_ha=0.2) == pytest.approx(forest(), rel=1e-9)
    # diagonal neighbours: one 3-pixel patch with 8-connectivity, pieces of 2 and 1 with 4-connectivity
    assert forest(min_forest_patch_ha=0.2, patch_connectivity=4) == pytest.approx(forest() - a[30:33].sum(), rel=1e-9)


def test_minimum_patch_with_a_margin_equals_the_whole_raster(tmp_path):
    # patches are judged whole even when they reach beyond a small plot's window
    rng = np.random.default_rng(3)
    from scipy import ndimage

    cover = (ndimage.gaussian_filter(rng.normal(size=(120, 120)), 1.5) > 0.1).astype("uint8") * 60
    cp = write_raster(tmp_path / "c.tif", cover, x0=X0, y0=Y0)
    lp = write_raster(tmp_path / "l.tif", np.zeros_like(cover), x0=X0, y0=Y0, nodata=255)
    product = open_product("hansen", loss_year=lp, tree_cover=cp)
    small = [shapely.Point(X0 + c * PX, Y0 - r * PX).buffer(2.5 * PX) for r, c in rng.uniform(10, 110, size=(40, 2))]
    whole = shapely.box(X0, Y0 - 120 * PX, X0 + 120 * PX, Y0)
    params = ScreeningConfig(min_forest_patch_ha=0.5)
    got = screen_plots(plots_of(small + [whole]), product, params).plots["forest_2000_ha"].to_numpy()
    # reference: label the whole raster once
    labels, n = ndimage.label(cover > 10, structure=np.ones((3, 3)))
    areas = pixel_row_areas(Y0, PX, PX, 0, 120)
    patch_area = np.bincount(labels.ravel(), weights=np.repeat(areas, 120), minlength=n + 1)
    keep = patch_area >= 0.5 * M2_PER_HA
    keep[0] = False
    mask = keep[labels].astype("uint8")
    fm = write_raster(tmp_path / "fm.tif", mask, x0=X0, y0=Y0)
    ref = screen_plots(
        plots_of(small + [whole]), open_product("r", kind="loss_year", loss_year=lp, forest_mask=fm, nodata=255)
    ).plots
    np.testing.assert_allclose(got, ref["forest_2000_ha"].to_numpy(), rtol=0, atol=1e-12)


def test_two_products_get_their_own_columns_and_the_any_rule(landscape):
    d = landscape["tmp"]
    other_loss = np.zeros((N, N), "uint16")
    other_loss[30:35, 30:35] = 2022  # the second product sees loss where Hansen may not
    op = write_raster(d / "tmf.tif", other_loss, x0=X0, y0=Y0)
    hansen = open_product("hansen", loss_year=landscape["lp"], tree_cover=landscape["cp"])
    tmf = open_product("tmf", kind="loss_year", loss_year=op, encoding="year", first_year=1990, last_year=2024)
    plot = shapely.box(X0 + 30 * PX, Y0 - 35 * PX, X0 + 35 * PX, Y0 - 30 * PX)
    clean = np.zeros((N, N), "uint8")
    quiet = open_product(
        "hansen", loss_year=write_raster(d / "q.tif", clean, x0=X0, y0=Y0, nodata=255), tree_cover=landscape["cp"]
    )
    res = screen_plots(plots_of([plot]), [quiet, tmf])
    row = res.plots.iloc[0]
    assert row["hansen_status"] == "deforestation_free" and row["tmf_status"] == "deforestation_detected"
    assert row["status"] == "deforestation_detected" and "tmf:" in row["status_reason"]
    assert row["tmf_loss_2022_ha"] == pytest.approx(row["tmf_loss_after_ref_ha"]) and row["tmf_loss_after_ref_ha"] > 0.1
    assert "tmf_loss_1990_ha" in res.plots and "loss_1990_ha" not in res.plots  # unprefixed = primary product
    assert row["loss_after_ref_ha"] == 0
    primary = screen_plots(plots_of([plot]), [quiet, tmf], ScreeningConfig(status_rule="primary")).plots.iloc[0]
    assert primary["status"] == "deforestation_free"
    assert set(res.loss_by_year["product"]) == {"tmf"}
    both = screen_plots(plots_of([plot]), [hansen, tmf])
    assert set(both.loss_by_year["product"]) <= {"hansen", "tmf"}


def test_rasters_that_do_not_fit_are_refused_naming_the_file(landscape):
    d = landscape["tmp"]
    with pytest.raises(RasterError, match=r"utm.tif.*geographic.*gdalwarp -t_srs EPSG:4326 -r near .*utm.tif"):
        prof = dict(
            driver="GTiff",
            width=4,
            height=4,
            count=1,
            dtype="uint8",
            crs="EPSG:32718",
            transform=from_origin(300000, 9100000, 30, 30),
        )
        with rasterio.open(d / "utm.tif", "w", **prof) as dst:
            dst.write(np.zeros((4, 4), "uint8"), 1)
        open_product("hansen", loss_year=d / "utm.tif", tree_cover=landscape["cp"])
    # a layer on its own grid (half a pixel off, or twice as coarse) is taken, not refused
    half = write_raster(d / "half.tif", landscape["cover"], x0=X0 + PX / 2, y0=Y0)
    assert open_product("hansen", loss_year=landscape["lp"], tree_cover=half).tree_cover.grid.x0 == X0 + PX / 2
    coarse = write_raster(d / "coarse.tif", landscape["cover"], x0=X0, y0=Y0, px=2 * PX)
    assert open_product("hansen", loss_year=landscape["lp"], tree_cover=coarse).grid.dx == PX
    floats = write_raster(d / "f.tif", landscape["cover"].astype("float32"), x0=X0, y0=Y0)
    with pytest.raises(RasterError, match="f.tif.*float32"):
        open_product("hansen", loss_year=landscape["lp"], tree_cover=floats)
    with pytest.raises(RasterError, match="no file matches"):
        open_product("hansen", loss_year=str(d / "nothing_*.tif"), tree_cover=landscape["cp"])
    (d / "empty").mkdir()
    with pytest.raises(RasterError, match="empty.*no raster files"):
        open_product("hansen", loss_year=d / "empty", tree_cover=landscape["cp"])


def test_a_truncated_tile_is_refused_naming_it(landscape):
    d = landscape["tmp"]
    big = np.random.default_rng(0).integers(0, 25, size=(600, 600)).astype("uint8")
    path = d / "big.tif"
    prof = dict(
        driver="GTiff",
        width=600,
        height=600,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=from_origin(X0, Y0, PX, PX),
        tiled=True,
        blockxsize=256,
        blockysize=256,
        compress="deflate",
    )
    with rasterio.open(path, "w", **prof) as dst:
        dst.write(big, 1)
    data = path.read_bytes()
    cut = d / "cut.tif"
    cut.write_bytes(data[: int(len(data) * 0.7)])
    with pytest.raises(RasterError, match="cut.tif.*truncated or corrupt"):
        open_layer(cut, "loss-year")


def test_mosaic_reads_missing_where_no_tile_is(tmp_path):
    a = write_raster(tmp_path / "a.tif", np.full((4, 4), 7, "uint8"), x0=X0, y0=Y0)
    b = write_raster(tmp_path / "b.tif", np.full((4, 4), 9, "uint8"), x0=X0 + 8 * PX, y0=Y0 - 8 * PX)
    layer = open_layer([a, b], "loss-year")
    w = layer.read(-1, -1, 14, 14)
    assert w.shape == (14, 14)
    assert (w[1:5, 1:5] == 7).all() and (w[9:13, 9:13] == 9).all()
    assert (w == NO_TILE).sum() == 14 * 14 - 32
    assert layer.bounds == pytest.approx((X0, Y0 - 12 * PX, X0 + 12 * PX, Y0))
