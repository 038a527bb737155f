"""`cacao-screen baseline` end to end on a 20 x 20 pixel job built in tmp_path, every figure by hand."""

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from conftest import PX, pixel_box, write_raster
from conftest import cli_main as main

from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas

X0, Y0 = -76.5, -8.0
N = 20
A = pixel_row_areas(Y0, PX, PX, 0, N) / M2_PER_HA  # hectares of one pixel, per row


def lonlat(col, row):
    return X0 + col * PX, Y0 - row * PX


@pytest.fixture
def job(tmp_path):
    """Two versions of a loss product (2001-2023 and 2001-2024), plots, regions and deliveries."""
    cover = np.full((N, N), 95, dtype="uint8")
    loss = np.zeros((N, N), dtype="uint8")
    loss[2, 2] = 15  # 'free': 2015, inside the baseline
    loss[2, 10:12] = 22  # 'det': 2 px of 2022 loss (> 0.1 ha)
    loss[3, 10] = 12  # 'det': 2012, inside the baseline
    loss[9, 5] = 8  # 'ring': just above the plot: 2008, in its 30 m ring
    loss[10, 4] = 10  # 'ring': just left of it: 2010, in the ring
    loss[10, 7] = 22  # 'ring': just right: 2022, in the ring but after the reference year
    loss[10, 9] = 5  # 'ring': two pixels away (55 m): outside the 30 m ring
    loss[14, 16] = 15  # 'na': seen on the covered part of a not-assessed plot
    loss[:, 18:] = 255  # no data
    old = loss.copy()
    loss[15, 3] = 24  # 'free2': 1 px of 2024 loss, only in the newer version -> review
    d = tmp_path
    write_raster(d / "lossyear_v2023.tif", old, x0=X0, y0=Y0, nodata=255)
    write_raster(d / "lossyear_v2024.tif", loss, x0=X0, y0=Y0, nodata=255)
    write_raster(d / "treecover2000.tif", cover, x0=X0, y0=Y0)
    plots = gpd.GeoDataFrame(
        {
            "plot_id": ["free", "det", "ring", "na", "free2", "south", "empty"],
            "cooperative_id": ["C1", "C1", "C2", "C2", "C1", None, "C2"],
            "district_hint": ["w", "e", "w", "e", "w", "none", "none"],
        },
        geometry=[
            pixel_box(2, 2, 4, 4),
            pixel_box(10, 2, 12, 4),
            pixel_box(5, 10, 7, 12),
            pixel_box(16, 14, 19, 16),
            pixel_box(2, 14, 4, 16),
            pixel_box(12, 17.5, 14, 19.5),
            None,
        ],
        crs="EPSG:4326",
    )
    plots.to_file(d / "plots.gpkg", layer="plots", driver="GPKG")
    # two districts split at column 9.5 over rows 0..17; 'south' lies below them
    west = shapely.box(*lonlat(-5, 17), *lonlat(9.5, -5))
    east = shapely.box(*lonlat(9.5, 17), *lonlat(25, -5))
    gpd.GeoDataFrame(
        {"IDDIST": ["220101", "220102"], "NOMBDIST": ["OESTE", "ESTE"]}, geometry=[west, east], crs="EPSG:4326"
    ).to_file(d / "districts.geojson", driver="GeoJSON")
    (d / "deliveries.csv").write_text(
        "lot_id,plot_id,quantity,buyer\nL1,free,60,B1\nL1,det,40,B1\nL2,free,10,B2\nL2,SM-TYPO,5,B2\n", encoding="utf-8"
    )
    return d


def screen(job, version="v2024", out="screening.gpkg", *extra):
    last = "2024" if version == "v2024" else "2023"
    args = [
        "-q",
        "screen",
        "--plots",
        str(job / "plots.gpkg"),
        "--loss-year",
        str(job / f"lossyear_{version}.tif"),
        "--tree-cover",
        str(job / "treecover2000.tif"),
        "--last-year",
        last,
        "--out",
        str(job / out),
        *extra,
    ]
    assert main(args) == 0
    return job / out


def baseline_args(job, *extra):
    return [
        "baseline",
        "--screening",
        str(job / "screening.gpkg"),
        "--out",
        str(job / "out" / "baseline.gpkg"),
        "--regions",
        str(job / "districts.geojson"),
        "--region-id-column",
        "IDDIST",
        "--region-name-column",
        "NOMBDIST",
        "--deliveries",
        str(job / "deliveries.csv"),
        *extra,
    ]


def layer(job, name):
    return pyogrio.read_dataframe(job / "out" / "baseline.gpkg", layer=name, use_arrow=True)


def test_baseline_figures_by_hand(job, capsys):
    screen(job)
    assert main(baseline_args(job, "--group-by", "district_hint", "--group-by", "cooperative_id,district_hint")) == 0
    printed = capsys.readouterr().out
    assert "Baseline 2011-2020" in printed and "UNKNOWN plot_id(s): SM-TYPO" in printed

    g = layer(job, "baseline_by_group")
    nat = g[g["group_by"] == "all"].iloc[0]
    # assessed: free, det, ring, free2, south; 'na' (not assessed) and 'empty' (invalid) counted, not summed
    assert nat["n_plots"] == 7 and nat["n_assessed"] == 5 and nat["n_not_assessed"] == 1 and nat["n_invalid"] == 1
    mean = (A[2] + A[3]) / 10  # 2015 in 'free' and 2012 in 'det', over 2011-2020
    assert nat["baseline_mean_annual_loss_ha"] == pytest.approx(mean, rel=1e-9)
    assert nat["loss_2022_ha"] == pytest.approx(2 * A[2], rel=1e-9)
    assert nat["change_2022_vs_baseline_pct"] == pytest.approx(100 * (2 * A[2] - mean) / mean, rel=1e-9)
    assert nat["loss_2024_ha"] == pytest.approx(A[15], rel=1e-9)
    assert nat["loss_2015_ha"] == pytest.approx(A[2], rel=1e-9)  # not the not-assessed plot's 2015 pixel
    assert nat["deforestation_free_plots_pct"] == pytest.approx(100 * 3 / 7)  # free, ring, south
    # groups add up to the national row, for every grouping
    additive = [
        "n_plots",
        "n_assessed",
        "area_ha",
        "forest_2000_ha",
        "loss_before_ref_ha",
        "loss_2022_ha",
        "baseline_mean_annual_loss_ha",
    ]
    for name, sub in g[g["group_by"] != "all"].groupby("group_by"):
        for c in additive:
            assert sub[c].sum() == pytest.approx(nat[c], rel=1e-12), (name, c)
    assert set(g.loc[g["group_by"] == "cooperative_id", "group"]) == {"C1", "C2", "(missing)"}
    assert "C1 | w" in set(g.loc[g["group_by"] == "cooperative_id,district_hint", "group"])

    r = layer(job, "baseline_by_region")
    assert list(r["region_id"]) == ["220101", "220102", "unassigned"]
    assert list(r["n_plots"]) == [3, 2, 2]  # free, ring, free2 | det, na | south, empty
    assert r.geometry.iloc[0] is not None and r.geometry.iloc[2] is None
    for c in additive:
        assert r[c].sum() == pytest.approx(nat[c], rel=1e-12), c
    p = layer(job, "baseline_plots")
    assert list(p["region_id"]) == ["220101", "220102", "220101", "220102", "220101", "unassigned", "unassigned"]
    assert list(p["region_name"][:2]) == ["OESTE", "ESTE"] and p["region_overlap_pct"].iloc[0] == 100.0

    lots = layer(job, "lots").set_index("lot_id")
    assert lots.loc["L1", "deforestation_free_quantity_pct"] == pytest.approx(60.0)
    assert bool(lots.loc["L1", "contains_deforestation_detected"])
    assert lots.loc["L2", "deforestation_free_quantity_pct"] == pytest.approx(100 * 10 / 15)
    assert bool(lots.loc["L2", "contains_unknown"]) and lots.loc["L2", "unknown_plot_ids"] == "SM-TYPO"
    buyers = layer(job, "buyers").set_index("buyer")
    assert buyers.loc["B1", "quantity"] == 100 and buyers.loc["B2", "quantity_unknown"] == 5
    deliveries = layer(job, "deliveries")
    assert len(deliveries) == 4 and list(deliveries["plot_status"])[-1] == "unknown"

    meta = dict(layer(job, "run_metadata")[["key", "value"]].values)
    assert meta["baseline_period"] == "2011-2020" and meta["plots_unassigned"] == "2"
    assert meta["unknown_plot_ids"] == "SM-TYPO"
    # CSV copies: the same tables, without geometry
    folder = job / "out" / "baseline_csv"
    assert sorted(f.name for f in folder.iterdir()) == sorted(
        [
            "baseline_by_region.csv",
            "baseline_by_group.csv",
            "baseline_plots.csv",
            "deliveries.csv",
            "lots.csv",
            "buyers.csv",
            "run_metadata.csv",
            ".cacao-screen-output",  # the marker: the folder is cacao-screen's to replace
        ]
    )
    csv = pd.read_csv(folder / "baseline_by_region.csv", dtype={"region_id": str})
    assert list(csv["region_id"]) == ["220101", "220102", "unassigned"] and "geometry" not in csv.columns
    np.testing.assert_allclose(csv["baseline_mean_annual_loss_ha"], r["baseline_mean_annual_loss_ha"], rtol=1e-15)


def test_ring_loss_by_hand(job):
    screen(job)
    assert main(["-q", *baseline_args(job, "--ring-m", "30")]) == 0
    p = layer(job, "baseline_plots").set_index("plot_id")
    ring = p.loc["ring"]
    # 30 m covers the pixel just above (row 9) and just left (row 10) whole: 2008 and 2010 loss.
    # The 2022 pixel is after the reference year; the 2005 pixel is 55 m away.
    assert ring["ring_loss_before_ref_ha"] == pytest.approx(A[9] + A[10], rel=1e-9)
    assert ring["loss_before_ref_ha"] == 0
    assert ring["ring_data_coverage_pct"] == pytest.approx(100.0)
    # ring area: grown square minus the plot, 2 x 2 pixels of ~27.6 m
    side = np.sqrt(A[10] * 1e4) * 2
    assert ring["ring_area_ha"] * 1e4 == pytest.approx(4 * side * 30 + np.pi * 30**2, rel=3e-3)
    assert np.isnan(p.loc["empty", "ring_area_ha"])
    rings = layer(job, "restoration_rings")
    assert len(rings) == 7 and not rings.geometry.iloc[2].intersects(pixel_box(5.01, 10.01, 6.99, 11.99))
    g = layer(job, "baseline_by_group")
    nat = g[g["group_by"] == "all"].iloc[0]
    # no two rings overlap here, so the national ring figures are the plots' sum
    assert nat["ring_loss_before_ref_ha"] == pytest.approx(p["ring_loss_before_ref_ha"].sum(), rel=1e-9)
    assert nat["ring_area_ha"] == pytest.approx(p["ring_area_ha"].sum(), rel=1e-9)
    r = layer(job, "baseline_by_region").set_index("region_id")
    assert r.loc["220101", "ring_loss_before_ref_ha"] == pytest.approx(A[9] + A[10], rel=1e-9)
    # the rasters default to those the screening used
    assert main(["-q", *baseline_args(job, "--ring-m", "30", "--overwrite")[:-1], "--overwrite"]) == 0


def test_status_changes_with_a_newer_product_version(job, capsys):
    screen(job, "v2023", "screening_2023.gpkg")
    screen(job, "v2024")
    assert (
        main(
            [
                "baseline",
                "--screening",
                str(job / "screening.gpkg"),
                "--previous",
                str(job / "screening_2023.gpkg"),
                "--out",
                str(job / "out" / "baseline.gpkg"),
            ]
        )
        == 0
    )
    assert "1 status changes, 0 new, 0 gone" in capsys.readouterr().out
    c = layer(job, "status_changes")
    assert list(c["plot_id"]) == ["free2"]
    assert (c["previous_status"].iloc[0], c["status"].iloc[0]) == ("deforestation_free", "review")
    assert c["loss_after_ref_ha"].iloc[0] == pytest.approx(A[15], rel=1e-9)
    assert c["first_loss_year_after_ref"].iloc[0] == 2024
    meta = dict(layer(job, "run_metadata")[["key", "value"]].values)
    assert meta["new_loss_years"] == "2024" and meta["plots_status_changed"] == "1"
    g = layer(job, "baseline_by_group")
    nat = g[g["group_by"] == "all"].iloc[0]
    mean = (A[2] + A[3]) / 10
    assert nat["change_2024_vs_baseline_pct"] == pytest.approx(100 * (A[15] - mean) / mean, rel=1e-9)
    # the same file against itself: nothing changed (an empty layer, not a missing one)
    assert (
        main(
            [
                "-q",
                "baseline",
                "--screening",
                str(job / "screening.gpkg"),
                "--previous",
                str(job / "screening.gpkg"),
                "--out",
                str(job / "out" / "baseline.gpkg"),
                "--overwrite",
            ]
        )
        == 0
    )
    assert len(layer(job, "status_changes")) == 0


def test_bad_deliveries_exit_2_naming_file_line_and_column_and_write_nothing(job, capsys):
    screen(job)
    (job / "deliveries.csv").write_text("lot_id,plot_id,quantity\nL1,free,12\nL1,det,doce\n", encoding="utf-8")
    assert main(baseline_args(job)) == 2
    err = capsys.readouterr().err
    assert "deliveries.csv" in err and "line 3 (row 2), column 'quantity': 'doce' is not a number" in err
    (job / "deliveries.csv").write_text("lot,plot_id,qty\nL1,free,12\n", encoding="utf-8")
    assert main(baseline_args(job)) == 2
    assert "missing column(s) lot_id, quantity" in capsys.readouterr().err
    assert not (job / "out").exists()


def test_usage_and_input_errors_exit_2(job, capsys):
    assert main(["baseline", "--screening", str(job / "nope.gpkg"), "--out", str(job / "b.gpkg")]) == 2
    assert "nope.gpkg: screening GeoPackage not found" in capsys.readouterr().err
    screen(job)
    args = ["baseline", "--screening", str(job / "screening.gpkg"), "--out", str(job / "b.gpkg")]
    assert main([*args, "--regions", str(job / "districts.geojson")]) == 2
    assert "--region-id-column" in capsys.readouterr().err
    assert main([*args, "--regions", str(job / "districts.geojson"), "--region-id-column", "UBIGEO"]) == 2
    assert "no region id column 'UBIGEO'; columns are: IDDIST, NOMBDIST" in capsys.readouterr().err
    assert main([*args, "--group-by", "cooperativa"]) == 2
    assert "no column 'cooperativa'" in capsys.readouterr().err
    assert main([*args, "--baseline-start", "1995"]) == 2
    assert "start_year: Input should be greater than or equal to 2001" in capsys.readouterr().err
    assert main([*args, "--baseline-end", "2022"]) == 2
    assert "ends after the reference year 2020" in capsys.readouterr().err
    assert main([*args, "--previous", str(job / "plots.gpkg")]) == 2
    assert "not a screening plots layer" in capsys.readouterr().err
    assert not (job / "b.gpkg").exists()
    assert main(args) == 0
    assert main(args) == 2  # exists: refused without --overwrite
    assert "already exists" in capsys.readouterr().err
    assert main([*args, "--overwrite", "-q"]) == 0


def test_a_crash_while_writing_leaves_the_previous_output(job, monkeypatch):
    import pipeline.io.gpkg as outputs

    screen(job)
    assert main(["-q", *baseline_args(job)]) == 0
    before = (job / "out" / "baseline.gpkg").read_bytes()
    csv_before = (job / "out" / "baseline_csv" / "lots.csv").read_bytes()

    def broken(*a, **k):
        raise OSError("disk full (simulated)")

    monkeypatch.setattr(outputs.pyogrio, "write_dataframe", broken)
    assert main(["-q", *baseline_args(job, "--overwrite", "--group-by", "district_hint")]) == 1
    assert (job / "out" / "baseline.gpkg").read_bytes() == before
    assert (job / "out" / "baseline_csv" / "lots.csv").read_bytes() == csv_before
    assert sorted(p.name for p in (job / "out").iterdir()) == ["baseline.gpkg", "baseline_csv"]


def test_run_builds_the_baseline_when_the_config_has_a_section(job, capsys):
    cfg = {
        "plots": {"path": "plots.gpkg"},
        "rasters": {"loss_year": "lossyear_v2024.tif", "tree_cover": "treecover2000.tif"},
        "output": {"path": "out/screening.gpkg"},
        "baseline": {
            "output": "out/baseline.gpkg",
            "start_year": 2015,
            "regions": {"path": "districts.geojson", "id_column": "IDDIST"},
            "deliveries": {"path": "deliveries.csv"},
            "ring_m": 30,
        },
    }
    (job / "job.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["run", "--config", str(job / "job.yaml")]) == 0
    assert "Baseline 2015-2020" in capsys.readouterr().out
    g = layer(job, "baseline_by_group")
    nat = g[g["group_by"] == "all"].iloc[0]
    assert nat["baseline_mean_annual_loss_ha"] == pytest.approx(A[2] / 6, rel=1e-9)  # 2015-2020: only the 2015 pixel
    assert "ring_loss_before_ref_ha" in g.columns
    # a bad deliveries file fails before the screening is written
    (job / "deliveries.csv").write_text("lot_id,plot_id,quantity\nL1,free,x\n")
    assert main(["run", "--config", str(job / "job.yaml"), "--overwrite", "--out", str(job / "other.gpkg")]) == 2
    assert not (job / "other.gpkg").exists()


def test_regions_in_a_projected_crs_and_a_semicolon_csv_with_bom(job):
    screen(job)
    gpd.read_file(job / "districts.geojson").to_crs("EPSG:32718").to_file(job / "utm.gpkg", driver="GPKG")
    (job / "deliveries.csv").write_bytes("\ufefflot_id;plot_id;quantity\nL1;free;1.5\n\nL1;det;0.5\n".encode("utf-8"))
    assert (
        main(
            [
                "-q",
                "baseline",
                "--screening",
                str(job / "screening.gpkg"),
                "--out",
                str(job / "out" / "baseline.gpkg"),
                "--regions",
                str(job / "utm.gpkg"),
                "--region-id-column",
                "IDDIST",
                "--deliveries",
                str(job / "deliveries.csv"),
            ]
        )
        == 0
    )
    p = layer(job, "baseline_plots")
    assert list(p["region_id"]) == ["220101", "220102", "220101", "220102", "220101", "unassigned", "unassigned"]
    lots = layer(job, "lots")
    assert lots["quantity"].tolist() == [2.0] and lots["deforestation_free_quantity_pct"].tolist() == [75.0]
    assert layer(job, "deliveries")["source_row"].tolist() == [1, 3]
