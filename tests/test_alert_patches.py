"""Alert patches in ``loss_patches``: every patch of alerts after the cut-off day inside a plot, with
its dates and confidence, exact areas adding up to the plot's ``alert_ha`` (a hand-built raster;
the sample's GFW alerts)."""

from __future__ import annotations

import datetime as dt

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import shapely
from conftest import write_raster

from pipeline.config import AlertDatasetConfig
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.io.alerts import open_alert_product
from pipeline.io.plots import normalise
from pipeline.io.rasters import open_product
from pipeline.stages.screening import screen_plots

APX = 0.0001  # GFW's alert grid
X0, Y0 = -76.5, -8.0
EPOCH = dt.date(2014, 12, 31)


def gfw(code: int, day: dt.date) -> int:
    """A pixel of GFW's integrated alerts: confidence digit (2 low, 3 high, 4 highest), days since 2014-12-31."""
    return code * 10_000 + (day - EPOCH).days


def pbox(c0, r0, c1, r1):
    return shapely.box(X0 + c0 * APX, Y0 - r1 * APX, X0 + c1 * APX, Y0 - r0 * APX)


def by_hand_ha(plot, cells) -> float:
    """Σ (share of each cell inside the plot, by shapely) x ellipsoidal pixel area, in ha."""
    total = 0.0
    for r, c in cells:
        share = plot.intersection(pbox(c, r, c + 1, r + 1)).area / APX**2
        total += share * pixel_row_areas(Y0, APX, APX, r, r + 1)[0]
    return total / M2_PER_HA


@pytest.fixture(scope="module")
def screened(tmp_path_factory):
    d = tmp_path_factory.mktemp("alert-patches")
    a = np.zeros((30, 30), dtype="uint16")
    a[2:5, 2:5] = gfw(3, dt.date(2022, 3, 1))  # a high-confidence clearing...
    a[5, 5] = gfw(3, dt.date(2022, 4, 10))  # ...that grew a cell, touching by a corner, later that year
    a[2:4, 9:11] = gfw(4, dt.date(2022, 6, 1))  # highest confidence: its own patch
    a[4, 8] = gfw(3, dt.date(2022, 6, 1))  # high, touching it by a corner: its own patch (another level)
    a[12:14, 2] = gfw(3, dt.date(2023, 2, 1))  # another year
    a[10, 10] = gfw(2, dt.date(2023, 1, 1))  # low confidence: a patch that does not count
    a[15:17, 15:17] = gfw(3, dt.date(2020, 12, 31))  # on the cut-off day: history, no patch
    a[25, 25] = gfw(3, dt.date(2021, 5, 5))  # under the second plot, a quarter of it
    alerts = write_raster(d / "alerts.tif", a, x0=X0, y0=Y0, px=APX, nodata=0)
    loss = write_raster(d / "lossyear.tif", np.zeros((12, 12), "uint8"), x0=X0, y0=Y0, nodata=255)
    cover = write_raster(d / "treecover2000.tif", np.full((12, 12), 80, "uint8"), x0=X0, y0=Y0)
    hansen = open_product("hansen", loss_year=loss, tree_cover=cover)
    g = open_alert_product("g", AlertDatasetConfig(kind="alerts", alerts=str(alerts)))
    plots = {"A": pbox(2.5, 2.25, 18, 18), "B": pbox(24.5, 24.5, 25.5, 25.5)}
    frame = normalise(gpd.GeoDataFrame({"plot_id": list(plots)}, geometry=list(plots.values()), crs="EPSG:4326"))
    return screen_plots(frame, [hansen, g]), plots, d, (loss, cover, alerts)


def test_alert_patches_with_dates_confidence_and_exact_areas(screened):
    res, plots, _, _ = screened
    patches = res.loss_patches
    alerts = patches[patches["kind"] == "alert"]
    assert (patches["kind"] == "alert").all()  # the loss product sees nothing
    a = alerts[alerts["plot_id"] == "A"]
    got = a[["year", "alert_date", "last_alert_date", "confidence", "counted", "cells"]].values.tolist()
    assert sorted(got) == sorted(
        [
            [2022, "2022-03-01", "2022-04-10", "high", True, 10],  # the clearing and the cell it grew
            [2022, "2022-06-01", "2022-06-01", "highest", True, 4],
            [2022, "2022-06-01", "2022-06-01", "high", True, 1],
            [2023, "2023-02-01", "2023-02-01", "high", True, 2],
            [2023, "2023-01-01", "2023-01-01", "low", False, 1],
        ]
    )
    assert set(a["product"]) == {"g"}
    # the clearing by hand: its top row and left column cut by the plot's edges
    clearing = [(r, c) for r in range(2, 5) for c in range(2, 5)] + [(5, 5)]
    row = a[a["alert_date"] == "2022-03-01"].iloc[0]
    assert row["area_ha"] == pytest.approx(by_hand_ha(plots["A"], clearing), rel=1e-9)
    assert shapely.within(row.geometry, plots["A"].buffer(1e-12)) and row.geometry.is_valid
    assert row.geometry.area == pytest.approx(plots["A"].intersection(
        shapely.union_all([pbox(c, r, c + 1, r + 1) for r, c in clearing])).area, rel=1e-9)  # fmt: skip
    # the patches that count add up to the plot's alert_ha; all of them to the alerts of every level
    p = res.plots.set_index("plot_id")
    for pid, group in alerts.groupby("plot_id"):
        assert group.loc[group["counted"], "area_ha"].sum() == pytest.approx(p.loc[pid, "g_alert_ha"], abs=1e-9)
        levels = sum(p.loc[pid, f"g_alert_{lv}_ha"] for lv in ("low", "high", "highest"))
        assert group["area_ha"].sum() == pytest.approx(levels, abs=1e-9)
    b = alerts[alerts["plot_id"] == "B"]
    assert b["alert_date"].tolist() == ["2021-05-05"] and b["share_of_plot_pct"].iloc[0] == pytest.approx(25, rel=1e-3)


def test_alert_patches_are_written_to_the_screening_geopackage(screened, tmp_path):
    from conftest import cli_main as main

    res, plots, d, (loss, cover, alerts) = screened
    src = tmp_path / "plots.gpkg"
    frame = gpd.GeoDataFrame({"plot_id": list(plots)}, geometry=list(plots.values()), crs="EPSG:4326")
    frame.to_file(src)
    out = tmp_path / "screening.gpkg"
    args = ["-q", "screen", "--plots", str(src), "--loss-year", str(loss), "--tree-cover", str(cover)]
    assert main([*args, "--alerts", str(alerts), "--out", str(out)]) == 0
    layer = pyogrio.read_dataframe(out, layer="loss_patches")
    assert len(layer) == len(res.loss_patches) == 6
    assert set(layer["kind"]) == {"alert"} and set(layer["confidence"]) == {"low", "high", "highest"}
    assert sorted(layer["alert_date"]) == sorted(res.loss_patches["alert_date"])
    # the layer's QGIS style colours every patch, loss or alert, by its year (the alerts' year)
    from pipeline.io.gpkg_style import connect

    with connect(out) as con:
        (qml,) = con.execute("SELECT styleQML FROM layer_styles WHERE f_table_name = 'loss_patches'").fetchone()
    assert 'attr="year"' in qml and set(layer["year"]) == {2021, 2022, 2023}
    screened_plots = pyogrio.read_dataframe(out, layer="plots").set_index("plot_id")
    counted = layer[layer["counted"].astype(bool)].groupby("plot_id")["area_ha"].sum()
    for pid, ha in counted.items():
        assert ha == pytest.approx(screened_plots.loc[pid, "gfw_integrated_alert_ha"], abs=1e-6)


def test_the_sample_alert_patches_add_up_to_each_plots_alert_area(sample_run):
    patches = pyogrio.read_dataframe(sample_run.screening, layer="loss_patches")
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots", read_geometry=False).set_index("plot_id")
    alerts = patches[patches["kind"] == "alert"]
    assert len(alerts) > 0 and set(alerts["product"]) == {"gfw_integrated"}
    counted = alerts[alerts["counted"].astype(bool)].groupby("plot_id")["area_ha"].sum()
    expected = plots["gfw_integrated_alert_ha"].fillna(0.0)
    assert np.abs(counted.reindex(expected.index).fillna(0.0) - expected).max() < 1e-6
    # the loss patches still add up to the loss after the reference year
    loss = patches[patches["kind"] == "loss"].groupby("plot_id")["area_ha"].sum()
    after = plots["loss_after_ref_ha"].fillna(0.0)
    assert np.abs(loss.reindex(after.index).fillna(0.0) - after).max() < 1e-6
