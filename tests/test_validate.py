"""``cacao-screen validate`` and the plot-intake options of ``screen``/``run``, end to end on tmp_path files."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from conftest import cli_main as main
from conftest import pixel_box

from pipeline.vocab import EXIT_PLOT_ERRORS

X0, Y0 = -76.5, -8.0


def plot(i: int, size: float = 0.001) -> shapely.Polygon:
    x, y = round(-76.512345 + 0.01 * i, 6), -8.234567
    return shapely.box(x, y, round(x + size, 6), round(y + size, 6))


@pytest.fixture
def clean(tmp_path):
    p = tmp_path / "clean.gpkg"
    gpd.GeoDataFrame({"plot_id": ["a", "b"]}, geometry=[plot(0), plot(1)], crs="EPSG:4326").to_file(p)
    return p


@pytest.fixture
def messy(tmp_path):
    p = tmp_path / "messy.gpkg"
    x0, y0, x1, y1 = plot(2).bounds
    geoms = [
        plot(0),
        None,
        shapely.LineString([(x0, y0), (x1, y1)]),
        shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)]),
        shapely.Point(-76.4, -8.3),
        plot(0),
    ]
    gpd.GeoDataFrame(
        {"plot_id": ["a", "b", "c", "d", "e", "f"], "area_ha": [1.21, 1, 1, 1, 2.0, 1.21]},
        geometry=geoms,
        crs="EPSG:4326",
    ).to_file(p)
    return p


def test_clean_file_exits_0_and_prints_the_summary(clean, capsys):
    assert main(["validate", str(clean)]) == 0
    out = capsys.readouterr().out
    assert "Checked 2 plots" in out and "2 ok, 0 with warnings, 0 with errors" in out and "No issues found." in out


def test_errors_exit_3_with_the_table_by_code_and_severity(messy, tmp_path, capsys):
    out_csv = tmp_path / "issues.csv"
    assert main(["validate", str(messy), "--out", str(out_csv)]) == EXIT_PLOT_ERRORS == 3
    printed = capsys.readouterr().out
    assert "6 plots" in printed and "2 with errors" in printed
    lines = {line.split()[0]: line.split()[1:] for line in printed.splitlines()[2:] if line and "written" not in line}
    assert lines["empty_geometry"] == ["error", "1", "1"]
    assert lines["non_polygonal"] == ["error", "1", "1"]
    assert lines["duplicate_geometry"] == ["warning", "2", "2"]
    assert printed.index("non_polygonal") < printed.index("duplicate_geometry")  # errors first
    issues = pd.read_csv(out_csv)
    assert list(issues.columns) == ["plot_id", "source_row", "code", "severity", "message"]
    got = set(zip(issues["source_row"], issues["code"], issues["severity"]))
    assert {
        (2, "empty_geometry", "error"),
        (3, "non_polygonal", "error"),
        (4, "geometry_repaired", "warning"),
        (5, "point_buffered", "warning"),
        (1, "duplicate_geometry", "warning"),
        (6, "duplicate_geometry", "warning"),
    } <= got


def test_geopackage_output_has_every_row_with_its_qc_columns(messy, tmp_path):
    out = tmp_path / "qc.gpkg"
    assert main(["-q", "validate", str(messy), "--out", str(out)]) == 3
    # the data layers, and the default styles that carry their plain-language field names (aliases)
    assert {name for name, _ in pyogrio.list_layers(out)} == {"plots", "plot_issues", "run_metadata", "layer_styles"}
    plots = pyogrio.read_dataframe(out, layer="plots")
    assert plots["source_row"].tolist() == [1, 2, 3, 4, 5, 6]  # rows out = rows in
    assert plots["qc_status"].tolist() == ["warning", "error", "error", "warning", "warning", "warning"]
    assert plots["screened"].tolist() == [True, False, False, True, True, True]
    assert plots["input_area_ha"].tolist() == [1.21, 1, 1, 1, 2.0, 1.21]  # the input's own column, kept aside
    assert plots.loc[4, "area_ha"] == pytest.approx(2.0, rel=1e-6)  # the point's circle
    assert plots.geometry.iloc[4].geom_type in ("Point", "MultiPoint")  # the original geometry
    meta = dict(pyogrio.read_dataframe(out, layer="run_metadata")[["key", "value"]].values)
    assert meta["plots_in"] == meta["plots_out"] == "6" and meta["qc_max_area_ha"] == "100.0"
    # an existing output is refused without --overwrite, before any work
    assert main(["-q", "validate", str(messy), "--out", str(out)]) == 2
    assert main(["-q", "validate", str(messy), "--out", str(out), "--overwrite"]) == 3


def test_settings_flags_change_the_findings(messy, tmp_path, capsys):
    assert main(["validate", str(messy), "--no-repair", "--point-default-area-ha", "1"]) == 3
    printed = capsys.readouterr().out
    assert "invalid_geometry" in printed and "geometry_repaired" not in printed
    assert main(["validate", str(messy), "--overlap-min-share", "2"]) == 2  # above 1: refused
    assert "overlap_min_share" in capsys.readouterr().err
    assert main(["validate", str(messy), "--out", str(tmp_path / "x.txt")]) == 2
    assert "gpkg or .csv" in capsys.readouterr().err


def test_unusable_input_exits_2(tmp_path, capsys):
    assert main(["validate", str(tmp_path / "none.gpkg")]) == 2
    assert "none.gpkg: plots file not found" in capsys.readouterr().err
    csv = tmp_path / "p.csv"
    csv.write_text("plot_id,lat,lon\na,-8.234567,-76.512345\n")
    assert main(["validate", str(csv)]) == 2
    assert "p.csv" in capsys.readouterr().err
    assert main(["validate", str(csv), "--crs", "EPSG:4326"]) == 0
    assert main(["validate"]) == 2  # neither a file nor a config


def test_bounds_flag_swapped_plots_and_fix_them(tmp_path, capsys):
    p = tmp_path / "swapped.gpkg"
    good = plot(0)
    gpd.GeoDataFrame(
        {"plot_id": ["ok", "swapped"]},
        geometry=[good, shapely.transform(plot(1), lambda c: c[:, ::-1])],
        crs="EPSG:4326",
    ).to_file(p)
    bounds = ["--bounds", "-77", "-8.5", "-76", "-8"]
    assert main(["validate", str(p), *bounds]) == 0  # a warning only
    assert "suspect_swapped_coordinates" in capsys.readouterr().out
    assert main(["validate", str(p), *bounds, "--fix-swapped-coordinates"]) == 0
    assert "swapped_coordinates_fixed" in capsys.readouterr().out


def test_validate_reads_a_job_config(messy, tmp_path, capsys):
    cfg = tmp_path / "job.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "plots": {"path": messy.name},
                "rasters": {"loss_year": "l.tif", "tree_cover": "t.tif"},
                "qc": {"max_area_ha": 0.5, "repair_invalid": False},
            }
        )
    )
    assert main(["validate", "--config", str(cfg)]) == 3
    printed = capsys.readouterr().out
    assert "large_plot" in printed and "invalid_geometry" in printed
    assert main(["validate", "--config", str(cfg), "--max-area-ha", "50"]) == 3  # flags override the file
    assert "large_plot" not in capsys.readouterr().out


def test_python_dash_m_validate_exit_code(messy):
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "pipeline", "-q", "validate", str(messy)], capture_output=True, text=True)
    assert r.returncode == 3 and r.stdout == "", r.stderr


# --- screen and run: the plot-intake options ---------------------------------------------------


@pytest.fixture
def rasters(hansen_pair):
    n = 20
    loss = np.zeros((n, n), dtype="uint8")
    loss[2:4, 2:4] = 22
    return hansen_pair(loss, np.full((n, n), 90, dtype="uint8"), x0=X0, y0=Y0)


def test_screen_a_csv_with_crs_and_points_and_swapped_plots(rasters, tmp_path):
    lp, cp = rasters
    inside = pixel_box(1, 1, 5, 5)
    swapped = shapely.transform(pixel_box(10, 10, 14, 14), lambda c: c[:, ::-1])
    centre = pixel_box(15, 15, 16, 16).centroid
    csv = tmp_path / "plots.csv"
    pd.DataFrame(
        {
            "plot_id": ["in", "swapped", "point"],
            "declared_area_ha": ["", "", "0.05"],
            "wkt": [shapely.to_wkt(g, rounding_precision=12) for g in (inside, swapped, centre)],
        }
    ).to_csv(csv, index=False)
    out = tmp_path / "s.gpkg"
    base = ["-q", "screen", "--plots", str(csv), "--loss-year", str(lp), "--tree-cover", str(cp), "--out", str(out)]
    assert main(base) == 2  # a CSV has no CRS
    assert main([*base, "--crs", "EPSG:4326"]) == 0
    plots = pyogrio.read_dataframe(out, layer="plots").sort_values("source_row", ignore_index=True)
    st = dict(zip(plots["plot_id"], plots["status"]))
    assert st["in"] == "deforestation_detected"
    assert st["swapped"] == "not_assessed"  # screened where it lies: outside the rasters
    assert "suspect_swapped_coordinates" in plots.loc[1, "qc_summary"]
    assert st["point"] == "deforestation_free" and plots.loc[2, "area_ha"] == pytest.approx(0.05, rel=1e-6)
    assert plots.loc[2, "forest_2000_ha"] == pytest.approx(0.05, rel=1e-3)  # the circle, screened exactly
    meta = dict(pyogrio.read_dataframe(out, layer="run_metadata")[["key", "value"]].values)
    assert meta["plots_crs"] == "EPSG:4326"
    assert main([*base, "--crs", "EPSG:4326", "--overwrite", "--fix-swapped-coordinates"]) == 0
    plots = pyogrio.read_dataframe(out, layer="plots").sort_values("source_row", ignore_index=True)
    assert plots.loc[1, "status"] == "deforestation_free" and plots.loc[1, "data_coverage_pct"] == pytest.approx(100)
    assert "swapped_coordinates_fixed" in plots.loc[1, "qc_summary"]
    # the output keeps the plot as it was in the file
    assert plots.geometry.iloc[1].equals(shapely.MultiPolygon([swapped]))


def test_run_takes_the_qc_section_and_the_overrides(rasters, tmp_path):
    lp, cp = rasters
    p = tmp_path / "p.gpkg"
    gpd.GeoDataFrame(
        {"plot_id": ["big", "swapped"]},
        geometry=[pixel_box(1, 1, 15, 15), shapely.transform(pixel_box(10, 10, 14, 14), lambda c: c[:, ::-1])],
        crs="EPSG:4326",
    ).to_file(p)
    cfg = tmp_path / "job.yaml"
    cfg.write_text(
        yaml.safe_dump(
            {
                "plots": {"path": "p.gpkg"},
                "rasters": {"loss_year": str(lp), "tree_cover": str(cp)},
                "qc": {"max_area_ha": 1.0, "min_decimals": 0},
                "output": {"path": "o.gpkg"},
            }
        )
    )
    assert main(["-q", "run", "--config", str(cfg)]) == 0
    plots = pyogrio.read_dataframe(tmp_path / "o.gpkg", layer="plots")
    assert "large_plot" in plots.loc[0, "qc_summary"] and plots.loc[1, "status"] == "not_assessed"
    assert main(["-q", "run", "--config", str(cfg), "--fix-swapped-coordinates", "--overwrite"]) == 0
    plots = pyogrio.read_dataframe(tmp_path / "o.gpkg", layer="plots")
    assert plots.loc[1, "status"] == "deforestation_free"
    cfg.write_text(cfg.read_text().replace("max_area_ha", "max_area"))
    assert main(["-q", "run", "--config", str(cfg), "--overwrite"]) == 2  # unknown key


def test_the_sample_config_documents_every_qc_setting():
    from pathlib import Path

    from pipeline.config import QCConfig

    text = (Path(__file__).resolve().parents[1] / "configs" / "sample.yaml").read_text()
    for key in QCConfig.model_fields:
        assert key in text, key
