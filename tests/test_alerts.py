"""Deforestation alerts beside annual loss (issue 13): the encodings, the cut-off day, per-plot
figures pinned on hand-built rasters, exactextract as the reference, the status, and the layers."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from conftest import write_raster
from reference import exactextract_cells

from pipeline.config import (
    ALERT_PRESETS,
    AlertDatasetConfig,
    AlertEncoding,
    ScreeningConfig,
    build_config,
)
from pipeline.engine.alerts import day_number, decode_alerts
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.engine.pixels import NO_TILE
from pipeline.errors import ConfigError
from pipeline.io.alerts import alert_spec, open_alert_product
from pipeline.io.plots import normalise
from pipeline.io.rasters import open_product
from pipeline.stages.screening import screen_plots

APX = 0.0001  # GFW's alert grid
X0, Y0 = -76.5, -8.0
N = 40
EPOCH = dt.date(2014, 12, 31)
D = dt.date


def gfw(code: int, day: dt.date) -> int:
    """A pixel of GFW's integrated alerts, encoded here by hand: confidence digit, then days since 2014-12-31."""
    return code * 10_000 + (day - EPOCH).days


def pbox(c0, r0, c1, r1):
    """A lon/lat box in (fractional) columns and rows of the alert grid."""
    return shapely.box(X0 + c0 * APX, Y0 - r1 * APX, X0 + c1 * APX, Y0 - r0 * APX)


def expected_ha(plot, mask: np.ndarray) -> float:
    """Σ (share of the pixel inside the plot, by shapely) x ellipsoidal pixel area over ``mask``, in ha."""
    total = 0.0
    for r, c in zip(*np.nonzero(mask)):
        share = plot.intersection(pbox(c, r, c + 1, r + 1)).area / APX**2
        total += share * pixel_row_areas(Y0, APX, APX, r, r + 1)[0]
    return total / M2_PER_HA


# --- Encodings --------------------------------------------------------------------------------------


def decode(values, encoding: AlertEncoding, **layers):
    arrays = {"alerts": np.asarray(values, dtype="int64"), **{k: np.asarray(v) for k, v in layers.items()}}
    px = decode_alerts(arrays, alert_spec(encoding, None))
    dates = [
        None if d < 0 else (np.datetime64("1970-01-01") + np.timedelta64(int(d), "D")).astype(object) for d in px["day"]
    ]
    return px, dates


def test_the_documented_gfw_examples_decode_as_published():
    # GFW's own examples: 20001, 30055, 21847, 41847; 0 = no alert; a code 5 or 1 is no level
    px, dates = decode([0, 20001, 30055, 21847, 41847, 51847, 11847, NO_TILE], ALERT_PRESETS["gfw_integrated"])
    assert dates[:5] == [None, D(2015, 1, 1), D(2015, 2, 24), D(2020, 1, 21), D(2020, 1, 21)]
    levels = ALERT_PRESETS["gfw_integrated"].level_names
    assert [levels[c] if c >= 0 else None for c in px["cls"][:5]] == [None, "low", "high", "low", "highest"]
    assert px["valid"].tolist() == [True] * 5 + [False, False, False]
    assert px["invalid"].tolist() == [False] * 5 + [True, True, False]
    assert px["missing"].tolist() == [False] * 7 + [True]
    # GLAD-L, GLAD-S2 and RADD as GFW distributes them have no 'highest' (4): invalid there
    px, _ = decode([41847, 31847], ALERT_PRESETS["gfw_radd"])
    assert px["invalid"].tolist() == [True, False]


def test_generic_encodings():
    # days since an epoch, confidence in a separate band
    band = AlertEncoding(date="days", epoch=D(2018, 12, 31), confidence="band", levels={1: "low", 2: "high"})
    px, dates = decode([0, 1, 1500, 7], band, confidence=[0, 1, 2, 3])
    assert dates[:3] == [None, D(2019, 1, 1), D(2018, 12, 31) + dt.timedelta(days=1500)]
    assert px["cls"].tolist()[:3] == [-1, 0, 1] and px["invalid"].tolist() == [False, False, False, True]
    # YYYYMMDD without confidence: impossible dates are invalid values, not alerts
    ymd = AlertEncoding(date="yyyymmdd", confidence="none")
    px, dates = decode([20220301, 20240229, 20230229, 20221301, 20220100, 0], ymd)
    assert dates[:2] == [D(2022, 3, 1), D(2024, 2, 29)]
    assert px["invalid"].tolist() == [False, False, True, True, True, False]
    # a leading confidence digit before a YYYYMMDD date
    lead = AlertEncoding(date="yyyymmdd", date_digits=8, levels={2: "low", 3: "high"})
    px, dates = decode([320220301, 220221231], lead)
    assert dates == [D(2022, 3, 1), D(2022, 12, 31)] and px["cls"].tolist() == [1, 0]
    # a forest mask: alerts count on 1 only; other values are invalid
    px, _ = decode([30055, 30055, 30055], ALERT_PRESETS["gfw_integrated"], forest_mask=[1, 0, 2])
    assert px["alert"].tolist() == [True, False, False] and px["invalid"].tolist() == [False, False, True]


def test_encoding_and_alert_dataset_checks():
    ok = {"kind": "alerts", "alerts": "a.tif"}
    loss = {"kind": "hansen", "loss_year": "l.tif", "tree_cover": "c.tif"}

    def job(**datasets):
        return build_config({"plots": {"path": "p.gpkg"}, "datasets": datasets})

    cfg = job(hansen=loss, gfw=ok, mine={**ok, "encoding": {"date": "yyyymmdd", "confidence": "none"}})
    assert cfg.alert_configs()["gfw"].encoding == ALERT_PRESETS["gfw_integrated"]
    assert cfg.alert_configs()["mine"].counted_levels == ()  # no confidence: every alert counts
    assert list(cfg.dataset_configs()) == ["hansen"]
    # a mapping naming a preset starts from it; changing a key makes it the generic form
    radd = AlertDatasetConfig(kind="alerts", alerts="a.tif", encoding={"preset": "gfw_radd"}).encoding
    assert radd == ALERT_PRESETS["gfw_radd"]
    moved = AlertDatasetConfig(kind="alerts", alerts="a.tif", encoding={"preset": "gfw_radd", "epoch": "2015-01-01"})
    assert moved.encoding.preset is None and moved.encoding.levels == {2: "low", 3: "high"}
    bad = [
        ({"gfw": ok, "hansen": loss}, "first dataset \\(gfw\\) is the primary product"),
        ({"hansen": loss, "g": {**ok, "encoding": "glad"}}, "datasets.g.encoding: .*unknown alert encoding 'glad'"),
        ({"hansen": loss, "g": {**ok, "encoding": {"confidence": "band"}}}, "needs confidence_layer"),
        ({"hansen": loss, "g": {**ok, "encoding": "gfw_radd", "min_confidence": "highest"}}, "no alert could ever"),
        ({"hansen": loss, "g": {**ok, "nodata": 0}}, "0 means no alert"),
        ({"hansen": loss, "g": {**ok, "encoding": {"date": "yyyymmdd"}}}, "date_digits: 8"),
        ({"hansen": loss, "g": {**ok, "min_confidence": "medium"}}, "datasets.g.min_confidence"),
        ({"hansen": loss, "g": {**ok, "colour": 1}}, "datasets.g.colour: unknown key"),
    ]
    for datasets, message in bad:
        with pytest.raises(ConfigError, match=message):
            job(**datasets)


def test_the_cutoff_date_defaults_to_the_end_of_the_reference_year():
    assert ScreeningConfig().cutoff == D(2020, 12, 31)
    assert ScreeningConfig(reference_year=2018).cutoff == D(2018, 12, 31)
    assert ScreeningConfig(cutoff_date="2021-03-01").cutoff == D(2021, 3, 1)


# --- Figures on hand-built rasters -------------------------------------------------------------------

A_DAY, B_DAY, C_DAY, E_DAY = D(2022, 3, 1), D(2020, 12, 31), D(2023, 1, 1), D(2022, 1, 1)
D_TOP, D_BOTTOM = D(2022, 5, 10), D(2021, 6, 1)


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    """A 40 x 40 alert raster (merged, and as 2 x 2 tiles split at row/col 20), a loss product that
    sees no loss, and the plots:

    A  a high-confidence alert after the cut-off          B  a high-confidence alert ON the cut-off day
    C  a low-confidence alert (under min_confidence high)  D  high and highest alerts across the tile corner
    E  half outside the alert raster
    """
    d = tmp_path_factory.mktemp("alerts")
    a = np.zeros((N, N), dtype="uint16")
    a[2:6, 2:6] = gfw(3, A_DAY)
    a[2:6, 10:14] = gfw(3, B_DAY)
    a[2:6, 24:28] = gfw(2, C_DAY)
    a[16:20, 16:24] = gfw(4, D_TOP)
    a[20:24, 16:24] = gfw(3, D_BOTTOM)
    a[30:34, 36:40] = gfw(3, E_DAY)
    merged = write_raster(d / "alerts.tif", a, x0=X0, y0=Y0, px=APX, nodata=0)
    tiles = d / "tiles"
    tiles.mkdir()
    for i in range(2):
        for j in range(2):
            sub = a[20 * i : 20 * (i + 1), 20 * j : 20 * (j + 1)]
            write_raster(tiles / f"a_{i}{j}.tif", sub, x0=X0 + 20 * j * APX, y0=Y0 - 20 * i * APX, px=APX, nodata=0)
    lp = write_raster(d / "lossyear.tif", np.zeros((20, 20), "uint8"), x0=X0, y0=Y0, nodata=255)
    cp = write_raster(d / "treecover2000.tif", np.full((20, 20), 80, "uint8"), x0=X0, y0=Y0)
    plots = {
        "A": pbox(2, 2, 6, 6),
        "B": pbox(10, 2, 14, 6),
        "C": pbox(24, 2, 28, 6),
        "D": pbox(17.5, 17.25, 22.5, 22.75),
        "E": pbox(36, 30, 44, 34),
    }
    return dict(dir=d, values=a, merged=merged, tiles=tiles, loss=lp, cover=cp, plots=plots)


def plots_frame(geoms: dict) -> gpd.GeoDataFrame:
    return normalise(gpd.GeoDataFrame({"plot_id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326"))


def screen(r, alerts: dict, screening=ScreeningConfig(), geoms=None):
    hansen = open_product("hansen", loss_year=r["loss"], tree_cover=r["cover"])
    products = [open_alert_product(name, AlertDatasetConfig(kind="alerts", **ds)) for name, ds in alerts.items()]
    return screen_plots(plots_frame(geoms or r["plots"]), [hansen, *products], screening)


def test_each_figure_on_hand_built_rasters(rasters):
    r = rasters
    res = screen(r, {"g": {"alerts": str(r["tiles"])}})
    p = res.plots.set_index("plot_id")
    a, P = r["values"], r["plots"]
    # A: a high-confidence alert after the cut-off: counted, dated, detected
    area_a = expected_ha(P["A"], a == gfw(3, A_DAY))
    assert area_a > 0.1
    assert p.loc["A", "g_alert_ha"] == pytest.approx(area_a, rel=1e-12)
    assert p.loc["A", "g_alert_high_ha"] == pytest.approx(area_a, rel=1e-12)
    assert p.loc["A", "g_alert_low_ha"] == 0 and p.loc["A", "g_alert_highest_ha"] == 0
    assert p.loc["A", "g_first_alert_date"] == A_DAY and p.loc["A", "g_last_alert_date"] == A_DAY
    assert p.loc["A", "g_status"] == "deforestation_detected" and p.loc["A", "g_data_coverage_pct"] == 100
    assert p.loc["A", "g_status_reason"] == (
        f"{area_a:.2f} ha of alerts after the cut-off 2020-12-31, more than the 0.1 ha review tolerance; "
        "all of high confidence; alerts on 2022-03-01"
    )
    assert p.loc["A", "g_status_reason_code"] == "alerts_detected"
    assert p.loc["A", "status"] == "deforestation_detected" and not p.loc["A", "deforestation_free"]
    # B: an alert on the cut-off day itself is history
    area_b = expected_ha(P["B"], a == gfw(3, B_DAY))
    assert p.loc["B", "g_alert_ha"] == 0 and p.loc["B", "g_alert_high_ha"] == 0
    assert p.loc["B", "g_alert_to_cutoff_ha"] == pytest.approx(area_b, rel=1e-12)
    assert p.loc["B", "g_first_alert_date"] is None and p.loc["B", "g_status"] == "deforestation_free"
    assert p.loc["B", "g_status_reason"].endswith(f"{area_b:.2f} ha of alerts up to the cut-off (history)")
    assert p.loc["B", "status"] == "deforestation_free" and p.loc["B", "deforestation_free"]
    # C: a low-confidence alert under min_confidence high is reported, not counted
    area_c = expected_ha(P["C"], a == gfw(2, C_DAY))
    assert p.loc["C", "g_alert_low_ha"] == pytest.approx(area_c, rel=1e-12) and p.loc["C", "g_alert_ha"] == 0
    assert p.loc["C", "g_status"] == "deforestation_free"
    assert f"{area_c:.2f} ha of low-confidence alerts not counted (min_confidence high)" in p.loc[
        "C", "g_status_reason"
    ] and p.loc["C", "g_status_reason"].startswith("no alerts after the cut-off 2020-12-31")
    # D: across the corner of four tiles, partial pixels, two levels and two dates
    top, bottom = expected_ha(P["D"], a == gfw(4, D_TOP)), expected_ha(P["D"], a == gfw(3, D_BOTTOM))
    assert p.loc["D", "g_alert_highest_ha"] == pytest.approx(top, rel=1e-12)
    assert p.loc["D", "g_alert_high_ha"] == pytest.approx(bottom, rel=1e-12)
    assert p.loc["D", "g_alert_ha"] == pytest.approx(top + bottom, rel=1e-12)
    assert (p.loc["D", "g_first_alert_date"], p.loc["D", "g_last_alert_date"]) == (D_BOTTOM, D_TOP)
    assert p.loc["D", "g_status_reason"] == (
        f"{top + bottom:.2f} ha of alerts after the cut-off 2020-12-31, more than the 0.1 ha review tolerance; "
        f"{bottom:.2f} ha of high-confidence alerts; {top:.2f} ha of highest-confidence alerts; "
        "alerts from 2021-06-01 to 2022-05-10"
    )
    # E: half outside the alert tiles: not assessed, with what is already seen
    assert p.loc["E", "g_data_coverage_pct"] == pytest.approx(50, rel=1e-6)
    assert p.loc["E", "g_status"] == "not_assessed" == p.loc["E", "status"]
    assert "50.0 % lies where no alert tile is" in p.loc["E", "g_status_reason"]
    seen = "ha of alerts after the cut-off 2020-12-31 already seen on the covered part; all of high confidence"
    assert f"{seen}; alerts on 2022-01-01" in p.loc["E", "g_status_reason"]
    # the loss product sees nothing: every detection is the alerts'
    assert (p["loss_after_ref_ha"] == 0).all()


def test_a_plot_across_tiles_gets_the_figures_of_the_merged_raster(rasters):
    r = rasters
    tiled = screen(r, {"g": {"alerts": str(r["tiles"])}}).plots
    merged = screen(r, {"g": {"alerts": str(r["merged"])}}).plots
    cols = [c for c in tiled.columns if c.startswith("g_") and c.endswith(("_ha", "_pct"))]
    pd.testing.assert_frame_equal(tiled[cols], merged[cols], check_exact=False, rtol=0, atol=1e-12)
    assert tiled["g_first_alert_date"].tolist() == merged["g_first_alert_date"].tolist()


def test_the_cutoff_date_and_min_confidence_move_alerts_in_and_out(rasters):
    r = rasters
    later = screen(r, {"g": {"alerts": str(r["merged"])}}, ScreeningConfig(cutoff_date="2022-03-01")).plots
    p = later.set_index("plot_id")
    assert p.loc["A", "g_alert_ha"] == 0 and p.loc["A", "g_status"] == "deforestation_free"  # on the day: history
    assert p.loc["D", "g_first_alert_date"] == D_TOP  # the 2021 alerts are history now
    both = screen(
        r, {"g": {"alerts": str(r["merged"])}, "low_too": {"alerts": str(r["merged"]), "min_confidence": "low"}}
    )
    p = both.plots.set_index("plot_id")
    assert p.loc["C", "g_status"] == "deforestation_free" and p.loc["C", "low_too_status"] == "deforestation_detected"
    assert p.loc["C", "status"] == "deforestation_detected"  # status_rule any: one product detects
    assert (
        "low_too: " in p.loc["C", "status_reason"]
        and "all of low confidence; alerts on 2023-01-01" in p.loc["C", "status_reason"]
    )
    primary = screen(r, {"g": {"alerts": str(r["merged"])}}, ScreeningConfig(status_rule="primary")).plots
    assert (primary["status"] == "deforestation_free").all()  # the loss product decides (it covers E)
    assert (primary["g_status"] == "deforestation_detected").sum() == 2  # A and D, reported beside


def test_alert_area_per_month(rasters):
    r = rasters
    res = screen(r, {"g": {"alerts": str(r["merged"])}})
    m = res.alerts_by_month
    assert list(m.columns) == ["plot_id", "source_row", "product", "month", "confidence", "counted", "alert_ha"]
    d = m[m["plot_id"] == "D"]
    assert d[["month", "confidence", "counted"]].values.tolist() == [
        ["2021-06", "high", True],
        ["2022-05", "highest", True],
    ]
    p = res.plots.set_index("plot_id")
    assert d["alert_ha"].tolist() == pytest.approx([p.loc["D", "g_alert_high_ha"], p.loc["D", "g_alert_highest_ha"]])
    assert m.loc[m["plot_id"] == "C", ["month", "confidence", "counted"]].values.tolist() == [["2023-01", "low", False]]
    assert "B" not in set(m["plot_id"])  # history is not monitoring


def test_alert_areas_equal_exactextract_coverage_times_pixel_area(tmp_path):
    rng = np.random.default_rng(13)
    days = [D(2020, 12, 30), D(2020, 12, 31), D(2021, 1, 1), D(2022, 7, 15), D(2024, 2, 29)]
    values = np.array([0] + [gfw(c, d) for c in (2, 3, 4) for d in days], dtype="uint16")
    a = values[rng.integers(0, len(values), size=(60, 60))]
    a[rng.random((60, 60)) < 0.5] = 0
    path = write_raster(tmp_path / "alerts.tif", a, x0=X0, y0=Y0, px=APX, nodata=0)
    geoms = []
    for _ in range(25):
        cx, cy = X0 + rng.uniform(8, 52) * APX, Y0 - rng.uniform(8, 52) * APX
        geoms.append(shapely.Point(cx, cy).buffer(rng.uniform(1.5, 7) * APX, quad_segs=5))
    product = open_alert_product("g", AlertDatasetConfig(kind="alerts", alerts=str(path), min_confidence="low"))
    lp = write_raster(tmp_path / "l.tif", np.zeros((30, 30), "uint8"), x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp_path / "c.tif", np.full((30, 30), 80, "uint8"), x0=X0, y0=Y0)
    res = screen_plots(
        plots_frame({f"p{i}": g for i, g in enumerate(geoms)}),
        [open_product("h", loss_year=lp, tree_cover=cp), product],
    )
    cutoff = day_number(D(2020, 12, 31))
    for i, (v, w) in enumerate(exactextract_cells(geoms, str(path))):
        code, day = np.divmod(v, 10_000)
        day = day + day_number(EPOCH)
        row = res.plots.iloc[i]
        for c, level in ((2, "low"), (3, "high"), (4, "highest")):
            ref = w[(code == c) & (day > cutoff)].sum() / M2_PER_HA
            assert abs(row[f"g_alert_{level}_ha"] - ref) < 1e-6, (i, level)
        assert abs(row["g_alert_to_cutoff_ha"] - w[(v > 0) & (day <= cutoff)].sum() / M2_PER_HA) < 1e-6
        assert abs(row["g_alert_ha"] - w[(v > 0) & (day > cutoff)].sum() / M2_PER_HA) < 1e-6


def test_a_declared_nodata_other_than_zero_is_no_data(tmp_path):
    a = np.full((10, 10), 65535, dtype="uint16")
    a[:, :5] = gfw(3, D(2022, 1, 1))
    path = write_raster(tmp_path / "a.tif", a, x0=X0, y0=Y0, px=APX, nodata=65535)
    product = open_alert_product("g", AlertDatasetConfig(kind="alerts", alerts=str(path)))
    assert product.spec.nodata == 65535
    zero = write_raster(tmp_path / "z.tif", np.zeros((10, 10), "uint16"), x0=X0, y0=Y0, px=APX, nodata=0)
    assert open_alert_product("g", AlertDatasetConfig(kind="alerts", alerts=str(zero))).spec.nodata is None
    with rasterio.open(path) as src:
        assert src.nodata == 65535


# --- Through the command line: screening.gpkg, baseline.gpkg, monitoring against a previous one -------


def test_screen_alerts_then_baseline_with_previous(rasters, tmp_path, capsys):
    import pyogrio
    from conftest import cli_main as main

    r = rasters
    plots = plots_frame(r["plots"]).drop(columns=["source_row"])
    plots["cooperative_id"] = ["X", "X", "Y", "Y", "Y"]
    pyogrio.write_dataframe(plots, tmp_path / "plots.gpkg", layer="plots")
    v1 = r["values"].copy()
    v1[16:20, 16:24] = 0  # D's later alerts are not out yet
    old = write_raster(tmp_path / "alerts_v1.tif", v1, x0=X0, y0=Y0, px=APX, nodata=0)
    v2 = r["values"].copy()
    v2[3:5, 11:13] = gfw(4, D(2025, 2, 1))  # B: a new clearing
    new = write_raster(tmp_path / "alerts_v2.tif", v2, x0=X0, y0=Y0, px=APX, nodata=0)
    common = ["screen", "--plots", str(tmp_path / "plots.gpkg"), "--loss-year", str(r["loss"])]
    common += ["--tree-cover", str(r["cover"]), "--last-year", "2024"]
    assert main([*common, "--alerts", str(old), "--out", str(tmp_path / "s1.gpkg")]) == 0
    assert main([*common, "--alerts", str(new), "--out", str(tmp_path / "s2.gpkg")]) == 0
    out = capsys.readouterr().out
    assert "Alerts after the cut-off 2020-12-31 (gfw_integrated): 4 plots" in out

    s2 = tmp_path / "s2.gpkg"
    info = pyogrio.read_info(s2, layer="plots")
    types = dict(zip(info["fields"], info["dtypes"]))
    assert types["gfw_integrated_first_alert_date"] == "datetime64[D]"  # a DATE field in QGIS
    meta = dict(pyogrio.read_dataframe(s2, layer="run_metadata")[["key", "value"]].values)
    assert meta["cutoff_date"] == "2020-12-31" and meta["gfw_integrated_min_confidence"] == "high"
    assert meta["gfw_integrated_product_kind"].startswith("alerts (gfw_integrated: leading digit = confidence")
    months = pyogrio.read_dataframe(s2, layer="alerts_by_month")
    assert set(months["plot_id"]) == {"A", "B", "C", "D", "E"}

    assert (
        main(
            [
                "baseline",
                "--screening",
                str(s2),
                "--previous",
                str(tmp_path / "s1.gpkg"),
                "--out",
                str(tmp_path / "b.gpkg"),
            ]
        )
        == 0
    )
    assert "1 with new alerts" in capsys.readouterr().out
    changes = pyogrio.read_dataframe(tmp_path / "b.gpkg", layer="status_changes").set_index("plot_id")
    assert changes["change"].to_dict() == {"B": "status_changed", "D": "new_alerts"}
    p2 = pyogrio.read_dataframe(s2, layer="plots").set_index("plot_id")
    grown = p2.loc["D", "gfw_integrated_alert_highest_ha"]
    assert changes.loc["D", "new_alert_ha"] == pytest.approx(grown, rel=1e-9)
    assert changes.loc["D", "new_alerts"] == f"gfw_integrated: +{grown:.2f} ha, last 2022-05-10"
    assert changes.loc["B", "new_alerts"].endswith("last 2025-02-01") and changes.loc["B", "status"] == "review"

    by_month = pyogrio.read_dataframe(tmp_path / "b.gpkg", layer="alerts_by_month")
    assert list(by_month.columns[:6]) == ["group_by", "group", "product", "month", "n_plots", "alert_ha"]
    nat = by_month[by_month["group_by"] == "all"].set_index("month")
    # assessed plots only: E (half outside the alerts) is not assessed by the product
    assessed = months[months["plot_id"] != "E"]
    counted = assessed[assessed["counted"]].groupby("month")["alert_ha"].sum()
    assert nat["alert_ha"].to_dict() == pytest.approx(counted.reindex(nat.index, fill_value=0).to_dict(), rel=1e-12)
    assert nat.loc["2023-01", "alert_ha"] == 0 and nat.loc["2023-01", "alert_low_ha"] > 0  # C: low, not counted
    assert nat.loc["2025-02", "n_plots"] == 1
    coop = by_month[by_month["group_by"] == "cooperative_id"]
    for month, rows in coop.groupby("month"):
        assert rows["alert_ha"].sum() == pytest.approx(nat.loc[month, "alert_ha"], rel=1e-12)  # groups add up


def test_alert_figures_do_not_depend_on_the_scheduler(rasters):
    from pipeline.config import ExecutionConfig

    r = rasters
    hansen = open_product("hansen", loss_year=r["loss"], tree_cover=r["cover"])
    product = open_alert_product("g", AlertDatasetConfig(kind="alerts", alerts=str(r["tiles"])))
    plots = plots_frame(r["plots"])
    runs = [
        screen_plots(plots, [hansen, product], execution=ExecutionConfig(scheduler=s, workers=2))
        for s in ("threads", "local")
    ]
    cols = [c for c in runs[0].plots.columns if c.startswith("g_")]
    pd.testing.assert_frame_equal(runs[0].plots[cols], runs[1].plots[cols])
    pd.testing.assert_frame_equal(runs[0].alerts_by_month, runs[1].alerts_by_month)


def test_screen_takes_alerts_and_run_takes_them_from_the_config(rasters, tmp_path):
    from conftest import cli_main as main

    r = rasters
    pp = tmp_path / "plots.gpkg"
    plots_frame(r["plots"]).drop(columns=["source_row"]).to_file(pp, layer="plots")
    base = ["--plots", str(pp), "--loss-year", str(r["loss"]), "--tree-cover", str(r["cover"])]
    out = tmp_path / "s.gpkg"
    args = ["-q", "screen", *base, "--alerts", str(r["merged"]), "--alerts-min-confidence", "low", "--out", str(out)]
    assert main(args) == 0
    import pyogrio

    p = pyogrio.read_dataframe(out, layer="plots").set_index("plot_id")
    assert p.loc["C", "gfw_integrated_status"] == "deforestation_detected"  # low counts with min low
    assert main(["-q", "screen", *base, "--alerts-min-confidence", "low", "--out", str(tmp_path / "x.gpkg")]) == 2
    assert main(["-q", "run", "--config", str(tmp_path / "job.yaml"), "--alerts", "a.tif"]) == 2  # no such flag
