"""Forest at the cut-off: the forest rule, where loss after the cut-off fell, the verdicts of a
plot under cocoa before the cut-off, and the figures against an exact oracle on mismatched grids."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from conftest import PX, write_raster
from rasterio.transform import rowcol

from pipeline.config import ForestAtCutoffConfig, ScreeningConfig
from pipeline.engine.cutoff import rule_forest
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.io.class_maps import open_class_map
from pipeline.io.plots import normalise
from pipeline.io.rasters import open_product
from pipeline.stages.cutoff import established_before
from pipeline.stages.screening import screen_plots

X0, Y0 = -76.5, -8.0
FINE = 0.000089831528
N = 40


def test_the_rules_on_maps_that_disagree():
    yes, no, unknown = (np.array([True]), np.array([True])), (np.array([False]), np.array([True])), None
    unknown = (np.array([False]), np.array([False]))

    def run(states, rule):
        f, k = rule_forest(list(states), rule)
        return "forest" if f[0] else ("not" if k[0] else "unknown")

    assert [run((yes, no), r) for r in ("any", "all", "majority")] == ["forest", "not", "forest"]  # a tie: forest
    assert [run((yes, no, no), r) for r in ("any", "all", "majority")] == ["forest", "not", "not"]
    assert [run((yes, yes, no), r) for r in ("any", "all", "majority")] == ["forest", "not", "forest"]
    assert [run((no, unknown), r) for r in ("any", "all", "majority")] == ["unknown", "not", "not"]
    assert [run((yes, unknown), r) for r in ("any", "all", "majority")] == ["forest", "unknown", "forest"]
    assert [run((unknown, unknown), r) for r in ("any", "all", "majority")] == ["unknown"] * 3
    with pytest.raises(ValueError, match="unknown forest rule"):
        rule_forest([yes], "most")


def test_established_years_dates_and_empty():
    import datetime as dt

    before, year = established_before(
        [2014, "2020", "2021", "2020-12-31", "2021-01-01", "", None, "soon", 2014.0, float("nan")],
        dt.date(2020, 12, 31),
        10,
    )
    assert before.tolist() == [True, True, False, True, False, False, False, False, True, False]
    assert np.isnan(year[[5, 6, 7, 9]]).all() and year[[0, 3, 4]].tolist() == [2014, 2020, 2021]


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """Hansen: tree cover 80 % and loss in 2022 everywhere. gfc (10 m, origin off by a fraction of
    a cell): forest west of column 20, no data south of row 36. tmf (30 m, half a pixel off):
    forest north of row 20. east (30 m): forest east of column 20. cocoa (30 m): agricultural use
    (value 3) in rows and columns 0-10."""
    tmp = tmp_path_factory.mktemp("cutoff")
    loss = np.full((N, N), 22, dtype="uint8")
    cover = np.full((N, N), 80, dtype="uint8")
    lp = write_raster(tmp / "loss.tif", loss, x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp / "cover.tif", cover, x0=X0, y0=Y0)
    fx0, fy0 = X0 - 0.37 * FINE, Y0 + 0.61 * FINE
    nf = int(N * PX / FINE) + 2
    cx = fx0 + (np.arange(nf) + 0.5) * FINE
    cy = fy0 - (np.arange(nf) + 0.5) * FINE
    gfc = np.where(cx[None, :] < X0 + 20 * PX, 1, 0).repeat(nf, axis=0).astype("uint8")
    gfc[cy < Y0 - 36 * PX, :] = 255
    cols, rows = np.meshgrid(np.arange(N), np.arange(N))
    paths = {
        "hansen": (lp, cp),
        "gfc": write_raster(tmp / "gfc.tif", gfc, x0=fx0, y0=fy0, px=FINE, nodata=255),
        "tmf": write_raster(tmp / "tmf.tif", (rows < 20).astype("uint8"), x0=X0 - PX / 2, y0=Y0 + PX / 2, nodata=255),
        "east": write_raster(tmp / "east.tif", (cols >= 20).astype("uint8"), x0=X0, y0=Y0),
        "cocoa": write_raster(
            tmp / "cocoa.tif", np.where((rows < 10) & (cols < 10), 3, 0).astype("uint8"), x0=X0, y0=Y0
        ),
    }
    return paths


def box(col, row, size=2.0):
    """A plot of size x size pixels with its north-west corner at pixel (col, row) of the Hansen grid."""
    return shapely.box(X0 + col * PX, Y0 - (row + size) * PX, X0 + (col + size) * PX, Y0 - row * PX)


def screen(world, plots, *, maps=("gfc", "tmf"), rule="any", land_use=True, established=True):
    products = [open_product("hansen", loss_year=world["hansen"][0], tree_cover=world["hansen"][1], last_year=2024)]
    for name in maps:
        products.append(open_class_map(name, world[name], [1]))
    if land_use:
        products.append(open_class_map("cocoa", world["cocoa"], [3], land_use=True))
    frame = normalise(
        gpd.GeoDataFrame(
            {
                "plot_id": [p[0] for p in plots],
                "since": [p[2] for p in plots],
            },
            geometry=[p[1] for p in plots],
            crs="EPSG:4326",
        )
    )
    cfg = ScreeningConfig(reference_year=2020, forest_at_cutoff=ForestAtCutoffConfig(rule=rule))
    out = screen_plots(frame, products, cfg, established_column="since" if established else None).plots
    return out.set_index("plot_id")


def test_each_verdict_of_a_plot_under_cocoa(world):
    res = screen(
        world,
        [
            ("se_2014", box(28, 24), 2014),  # neither map shows forest: shade trees or renovation
            ("se_none", box(32, 24), ""),  # the same, no registry: free, not deforestation
            ("nw_2014", box(14, 12), 2014),  # both maps show forest, registry says cocoa before: review
            ("nw_2022", box(14, 14), "2022-03-01"),  # established after the cut-off: detected
            ("nw_none", box(16, 12), None),  # no establishment date: detected
            ("cocoa", box(3, 3), 2010),  # both maps forest, but the land-use map says cocoa: free
            ("nodata", box(30, 37), 2014),  # gfc has no data, tmf not forest: unknown, counted -> review
            ("nodata_new", box(34, 37), 2023),  # the same, established after: detected, reason says no data
        ],
    )
    st = res["status"].to_dict()
    assert st == {
        "se_2014": "deforestation_free",
        "se_none": "deforestation_free",
        "nw_2014": "review",
        "nw_2022": "deforestation_detected",
        "nw_none": "deforestation_detected",
        "cocoa": "deforestation_free",
        "nodata": "review",
        "nodata_new": "deforestation_detected",
    }
    reason = res["status_reason"]
    assert (
        "tree loss in 2022 on land that was not forest in 2020 according to gfc, tmf (cocoa since 2014)"
        in (reason["se_2014"])
    )
    assert "shade trees or renovation, not deforestation" in reason["se_2014"]
    assert reason["se_none"].endswith("according to gfc, tmf: not deforestation")
    assert "registry says cocoa since 2014: the map and the declaration disagree" in reason["nw_2014"]
    assert "where they have no data" in reason["nodata_new"]
    codes = res["status_reason_code"].to_dict()
    assert codes["se_2014"] == "cutoff_free_established" and codes["nw_2014"] == "cutoff_disagree"
    assert codes["se_none"] == "cutoff_free" and codes["nw_none"] == "cutoff_detected"
    ctx = res["loss_context"].to_dict()
    assert ctx["se_2014"] == "outside_forest" and ctx["nw_2014"] == "in_cutoff_forest"
    assert ctx["cocoa"] == "in_agricultural_use" and ctx["nodata"] == "unknown"
    assert res.loc["se_2014", "deforestation_free"] == True  # noqa: E712 - a nullable boolean
    assert res.loc["nw_2014", "loss_after_cutoff_forest_ha"] == pytest.approx(res.loc["nw_2014", "loss_after_ref_ha"])
    assert res.loc["se_2014", "loss_after_outside_forest_ha"] == pytest.approx(res.loc["se_2014", "area_ha"])
    # the figures of today stay: Hansen's loss after the cut-off is the whole plot's
    assert (res["loss_after_ref_ha"] > 0.05).all()
    assert res["established_year"].tolist()[:3] == [2014, pd_na(), 2014]
    ind = res[["ind_forest_2020_gfc", "ind_forest_2020_tmf", "ind_loss_after_hansen"]]
    assert ind.loc["se_2014"].tolist() == ["no", "no", "yes"]
    assert ind.loc["nw_2014"].tolist() == ["yes", "yes", "yes"]
    assert ind.loc["nodata"].tolist() == ["unknown", "no", "yes"]
    assert res.loc["nw_2014", "gfc_forest_cutoff_pct"] == pytest.approx(100.0)
    assert res.loc["cocoa", "cocoa_agricultural_pct"] == pytest.approx(100.0)


def pd_na():
    import pandas as pd

    return pd.NA


@pytest.mark.parametrize(
    "rule, maps, expected",
    [
        # ne: gfc no, tmf yes, east yes; sw: gfc yes, tmf no, east no
        ("any", ("gfc", "tmf"), {"ne": "deforestation_detected", "sw": "deforestation_detected"}),
        ("all", ("gfc", "tmf"), {"ne": "deforestation_free", "sw": "deforestation_free"}),
        ("majority", ("gfc", "tmf", "east"), {"ne": "deforestation_detected", "sw": "deforestation_free"}),
        ("majority", ("gfc", "tmf"), {"ne": "deforestation_detected", "sw": "deforestation_detected"}),  # ties
    ],
)
def test_maps_that_disagree_under_each_rule(world, rule, maps, expected):
    res = screen(world, [("ne", box(28, 8), ""), ("sw", box(8, 28), "")], maps=maps, rule=rule, land_use=False)
    assert res["status"].to_dict() == expected


def test_hansen_alone_and_a_plot_under_cocoa_before_the_cut_off_is_reviewed(world):
    res = screen(
        world, [("old", box(8, 8), 2014), ("new", box(12, 8), 2021), ("none", box(16, 8), "")], maps=(), land_use=False
    )
    assert res["status"].to_dict() == {
        "old": "review",
        "new": "deforestation_detected",
        "none": "deforestation_detected",
    }
    assert "without a map of forest at the cut-off" in res.loc["old", "status_reason"]
    assert "loss_context" not in res and "ind_loss_after_hansen" not in res


def test_without_maps_nor_registry_the_columns_are_those_of_before(world):
    res = screen(world, [("a", box(8, 8), "")], maps=(), land_use=False, established=False)
    assert not [c for c in res.columns if "cutoff" in c or c.startswith("ind_") or c == "established_year"]
    assert res.loc["a", "status"] == "deforestation_detected"


def test_a_rule_naming_a_product_that_is_not_a_forest_map_is_refused(world):
    products = [
        open_product("hansen", loss_year=world["hansen"][0], tree_cover=world["hansen"][1], last_year=2024),
        open_class_map("gfc", world["gfc"], [1]),
    ]
    frame = normalise(gpd.GeoDataFrame({"plot_id": ["a"]}, geometry=[box(8, 8)], crs="EPSG:4326"))
    cfg = ScreeningConfig(forest_at_cutoff=ForestAtCutoffConfig(products=["gfc", "hansen"]))
    with pytest.raises(ValueError, match="names hansen, which is not a forest_cover product"):
        screen_plots(frame, products, cfg)


def oracle_contexts(geom, world):
    """(in cut-off forest, outside forest) loss after 2020 in ha, cell by cell of gfc's 10 m grid,
    with tmf and Hansen read at each cell's centre; rule any; and gfc's own forest area."""
    with rasterio.open(world["gfc"]) as src:
        gfc, gt = src.read(1), src.transform
    with rasterio.open(world["tmf"]) as src:
        tmf, tt = src.read(1), src.transform
    with rasterio.open(world["hansen"][0]) as src:
        loss, lt = src.read(1), src.transform
    d, gx0, gy0 = gt.a, gt.c, gt.f
    minx, miny, maxx, maxy = geom.bounds
    c0, c1 = int(np.floor((minx - gx0) / d)), int(np.ceil((maxx - gx0) / d))
    r0, r1 = int(np.floor((gy0 - maxy) / d)), int(np.ceil((gy0 - miny) / d))
    areas = pixel_row_areas(gy0, d, d, r0, r1)
    forest = outside = gfc_forest = 0.0
    for r in range(r0, r1):
        for c in range(c0, c1):
            cell = shapely.box(gx0 + c * d, gy0 - (r + 1) * d, gx0 + (c + 1) * d, gy0 - r * d)
            w = shapely.intersection(geom, cell).area / cell.area * areas[r - r0]
            if w <= 0:
                continue
            cx, cy = gx0 + (c + 0.5) * d, gy0 - (r + 0.5) * d
            g = gfc[r, c]
            t = tmf[rowcol(tt, cx, cy)]
            gfc_forest += w * (g == 1)
            if loss[rowcol(lt, cx, cy)] > 20:
                if g == 1 or t == 1:
                    forest += w
                else:
                    outside += w
    return forest / M2_PER_HA, outside / M2_PER_HA, gfc_forest / M2_PER_HA


def test_contexts_against_the_exact_oracle_on_three_grids(world):
    """Plots across gfc's forest edge (10 m), tmf's (30 m, half a pixel off) and Hansen's pixels."""
    rng = np.random.default_rng(5)
    geoms = [
        shapely.Point(X0 + rng.uniform(17, 23) * PX, Y0 - rng.uniform(17, 23) * PX).buffer(
            rng.uniform(1.5, 5) * PX, quad_segs=5
        )
        for _ in range(8)
    ]
    res = screen(world, [(f"p{i}", g, "") for i, g in enumerate(geoms)], land_use=False)
    mixed = 0
    for i, g in enumerate(geoms):
        forest, outside, gfc_forest = oracle_contexts(g, world)
        row = res.loc[f"p{i}"]
        assert row["loss_after_cutoff_forest_ha"] == pytest.approx(forest, abs=1e-6)
        assert row["loss_after_outside_forest_ha"] == pytest.approx(outside, abs=1e-6)
        assert row["gfc_forest_cutoff_ha"] == pytest.approx(gfc_forest, abs=1e-6)
        mixed += forest > 0.01 and outside > 0.01
    assert mixed >= 3  # plots really straddle the maps' edges


def test_a_forest_map_declaring_0_as_no_data_reads_0_as_not_forest(tmp_path):
    arr = np.zeros((8, 8), dtype="uint8")
    arr[:4] = 1
    path = write_raster(tmp_path / "gfc.tif", arr, x0=X0, y0=Y0, nodata=0)
    m = open_class_map("gfc", path, [1])
    assert m.spec.nodata is None and m.notes
    assert open_class_map("gfc", path, [1], nodata=0).spec.nodata == 0  # unless the dataset says so
    f, k = m.spec.states(np.array([0, 1, -1]))
    assert f.tolist() == [False, True, False] and k.tolist() == [True, True, False]
