"""The command line end to end on tiny rasters built in tmp_path: outputs, exit codes, atomicity."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from conftest import PX, pixel_box
from conftest import cli_main as main

from pipeline import __version__
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas

X0, Y0 = -76.5, -8.0
N = 20


@pytest.fixture
def small_job(tmp_path, hansen_pair):
    """A 20 x 20 pixel raster pair with known loss, and plots exercising every status."""
    loss = np.zeros((N, N), dtype="uint8")
    cover = np.full((N, N), 95, dtype="uint8")
    loss[2:4, 2:4] = 22  # 4 pixels of post-2020 loss
    loss[10, 10] = 23  # one pixel of post-2020 loss
    loss[15:17, 2:6] = 8  # pre-2020 loss
    loss[:, 18:] = 255  # a no-data strip
    lp, cp = hansen_pair(loss, cover, x0=X0, y0=Y0)
    geoms = [
        pixel_box(1, 1, 5, 5),  # detected: 4 px of 2022 loss
        pixel_box(10, 10, 10.5, 11),  # review: half a pixel of 2023 loss (~0.038 ha)
        pixel_box(1, 14, 7, 18),  # free: only 2008 loss
        pixel_box(16, 1, 19.5, 4),  # not assessed: over the no-data strip
        pixel_box(-3, 6, 2, 8),  # not assessed: sticks out of the raster
        shapely.Polygon(
            [
                (X0 + 6 * PX, Y0 - 6 * PX),
                (X0 + 9 * PX, Y0 - 9 * PX),
                (X0 + 9 * PX, Y0 - 6 * PX),
                (X0 + 6 * PX, Y0 - 9 * PX),
            ]
        ),  # bowtie: repaired, free
        None,  # empty: invalid
        pixel_box(12, 12, 14, 14),  # free, duplicated id
        pixel_box(12, 1, 14, 3),  # free, duplicated id
    ]
    ids = ["detected", "review", "free", "nodata", "edge", "bowtie", "empty", "dup", "dup"]
    plots = gpd.GeoDataFrame(
        {"plot_id": ids, "cooperative_id": ["C1"] * 9, "area_ha": np.arange(9.0)}, geometry=geoms, crs="EPSG:4326"
    )
    pp = tmp_path / "plots.gpkg"
    plots.to_file(pp, layer="plots", driver="GPKG")
    return dict(plots=pp, loss=lp, cover=cp, out=tmp_path / "out" / "screening.gpkg", tmp=tmp_path)


def screen_args(job, *extra):
    return [
        "screen",
        "--plots",
        str(job["plots"]),
        "--loss-year",
        str(job["loss"]),
        "--tree-cover",
        str(job["cover"]),
        "--out",
        str(job["out"]),
        *extra,
    ]


def test_screen_writes_every_row_with_the_right_status_and_exact_hectares(small_job, capsys):
    assert main(screen_args(small_job)) == 0
    out = pyogrio.read_dataframe(small_job["out"], layer="plots", use_arrow=True)
    assert len(out) == 9
    out = out.sort_values("source_row", ignore_index=True)  # rows are written in location order
    assert out["source_row"].tolist() == list(range(1, 10))
    status = dict(zip(out["source_row"], out["status"]))
    assert [status[i] for i in range(1, 10)] == [
        "deforestation_detected",
        "review",
        "deforestation_free",
        "not_assessed",
        "not_assessed",
        "deforestation_free",
        "invalid",
        "deforestation_free",
        "deforestation_free",
    ]
    assert out["deforestation_free"].tolist()[:3] == [False, None, True]
    areas = pixel_row_areas(Y0, PX, PX, 0, N) / M2_PER_HA
    first = out.iloc[0]
    assert first["loss_2022_ha"] == pytest.approx(2 * areas[2] + 2 * areas[3], rel=1e-9)
    assert first["loss_after_ref_ha"] == pytest.approx(first["loss_2022_ha"], rel=1e-12)
    assert first["forest_2000_ha"] == pytest.approx(4 * areas[1:5].sum(), rel=1e-9)
    assert first["area_ha"] == pytest.approx(first["forest_2000_ha"], rel=1e-5)  # geodesic vs plate-carree cells
    assert first["first_loss_year_after_ref"] == 2022
    assert out.iloc[1]["loss_2023_ha"] == pytest.approx(0.5 * areas[10], rel=1e-9)
    assert out.iloc[2]["loss_2008_ha"] == pytest.approx(
        8 * (areas[15] + areas[16]) / 2 * 0 + 4 * areas[15] + 4 * areas[16], rel=1e-9
    )
    assert "ha of forest lost after 2020" in first["status_reason"]
    assert out.iloc[4]["data_coverage_pct"] == pytest.approx(40.0, rel=1e-6)
    # the bowtie is repaired (two triangles: half the 3 x 3 pixel square) and screened; the output keeps it as drawn
    bowtie = out.iloc[5]
    assert bowtie["qc_status"] == "warning" and "geometry_repaired" in bowtie["qc_summary"]
    assert "Self-intersection" in bowtie["qc_summary"]
    assert bowtie["area_ha"] == pytest.approx(4.5 * areas[6:9].mean(), rel=1e-3)
    assert not bowtie.geometry.is_valid  # the original, not the repair
    assert "the row has no geometry or an empty one" in out.iloc[6]["status_reason"]
    # the input's own attributes survive; a clashing name is kept aside, not overwritten
    assert (out["cooperative_id"] == "C1").all()
    assert out["input_area_ha"].tolist() == list(np.arange(9.0))
    # the printed summary
    printed = capsys.readouterr().out
    assert "deforestation_detected" in printed and "Screened 9 plots" in printed


def test_output_layers_metadata_and_issues(small_job):
    assert main(screen_args(small_job, "--reference-year", "2021", "--canopy-threshold", "30")) == 0
    layers = {name for name, _ in pyogrio.list_layers(small_job["out"])}
    assert layers == {"plots", "loss_by_year", "loss_patches", "plot_issues", "run_metadata", "layer_styles"}
    meta = pyogrio.read_dataframe(small_job["out"], layer="run_metadata")
    meta = dict(zip(meta["key"], meta["value"]))
    assert meta["reference_year"] == "2021" and meta["canopy_threshold_pct"] == "30"
    assert meta["generator"] == f"cacao-screen {__version__}"
    assert meta["plots_in"] == meta["plots_out"] == "9"
    assert pyogrio.read_info(small_job["out"], layer="plots")["layer_metadata"]["reference_year"] == "2021"
    lby = pyogrio.read_dataframe(small_job["out"], layer="loss_by_year")
    plots = pyogrio.read_dataframe(small_job["out"], layer="plots")
    for _, p in plots.iterrows():
        rows = lby[lby["source_row"] == p["source_row"]]
        total = p["loss_total_ha"] if pd.notna(p["loss_total_ha"]) else 0.0
        assert rows["loss_ha"].sum() == pytest.approx(total, abs=1e-12)
    issues = pyogrio.read_dataframe(small_job["out"], layer="plot_issues")
    codes = dict(zip(issues["source_row"].astype(str) + issues["code"], issues["severity"]))
    assert codes["6geometry_repaired"] == "warning" and codes["7empty_geometry"] == "error"
    assert codes["8duplicate_id"] == codes["9duplicate_id"] == "warning"


def test_existing_output_is_refused_without_overwrite(small_job, capsys):
    assert main(screen_args(small_job)) == 0
    before = small_job["out"].stat().st_mtime_ns
    assert main(screen_args(small_job)) == 2
    assert "already exists" in capsys.readouterr().err
    assert small_job["out"].stat().st_mtime_ns == before
    assert main(screen_args(small_job, "--overwrite")) == 0


def test_missing_and_unreadable_inputs_exit_2_naming_the_file(small_job, capsys):
    job = dict(small_job, loss=small_job["tmp"] / "nope.tif")
    assert main(screen_args(job)) == 2
    assert "nope.tif" in capsys.readouterr().err
    garbage = small_job["tmp"] / "garbage.gpkg"
    garbage.write_text("not a geopackage")
    assert main(screen_args(dict(small_job, plots=garbage))) == 2
    assert "garbage.gpkg" in capsys.readouterr().err
    assert main(screen_args(small_job, "--id-column", "parcela")) == 2
    assert "parcela" in capsys.readouterr().err
    assert main(screen_args(small_job, "--layer", "lotes")) == 2
    assert "lotes" in capsys.readouterr().err
    assert not small_job["out"].exists()


def test_raster_on_another_grid_is_refused(small_job, capsys):
    from conftest import write_raster

    other = write_raster(small_job["tmp"] / "shifted.tif", np.zeros((N, N), "uint8"), x0=X0 + PX / 2, y0=Y0)
    assert main(screen_args(dict(small_job, cover=other))) == 2
    err = capsys.readouterr().err
    assert "shifted.tif" in err and "grid" in err


def test_without_rasters_the_message_names_what_is_missing(small_job, capsys):
    args = ["screen", "--plots", str(small_job["plots"]), "--out", str(small_job["out"])]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "no forest-loss raster" in err and "--loss-year" in err and "--tree-cover" in err and "not both" not in err
    assert main([*args, "--loss-year", str(small_job["loss"])]) == 2
    assert "tree_cover" in capsys.readouterr().err


@pytest.mark.parametrize("command", ["screen", "run"])
def test_help_groups_the_options(command, capsys):
    assert main([command, "--help"]) == 0
    text = capsys.readouterr().out
    heads = ["Input options:", "Forest definition options:", "Rules and quality control options:",
             "Output options:", "Execution options:"]  # fmt: skip
    at = [text.index(h) for h in heads]
    assert at == sorted(at)

    def group(flag: str) -> str:
        return [h for h, i in zip(heads, at) if i < text.index(f"  {flag} ")][-1]

    assert group("--canopy-threshold") == "Forest definition options:"
    assert group("--reference-year") == group("--max-area-ha") == "Rules and quality control options:"
    assert group("--overwrite") == "Output options:" and group("--workers") == "Execution options:"
    if command == "screen":
        assert group("--plots") == group("--loss-year") == "Input options:"


def test_usage_errors_exit_2(capsys):
    assert main(["screen", "--plots", "x.gpkg"]) == 2
    assert main(["screen", "--bogus"]) == 2
    assert main(["--version"]) == 0
    assert __version__ in capsys.readouterr().out


@pytest.mark.parametrize("layer", ["plots", "loss_by_year", "run_metadata"])
def test_a_crash_while_writing_leaves_no_partial_file(small_job, monkeypatch, layer):
    import pipeline.io.gpkg as outputs

    def flaky(real):
        def write(data, path, **kw):
            if kw.get("layer") == layer:
                if layer == "plots" and not kw.get("append"):  # the stream of the plots: fails midway
                    reader = data
                    next(iter(reader))
                raise OSError("disk full (simulated)")
            return real(data, path, **kw)

        return write

    monkeypatch.setattr(outputs.pyogrio, "write_arrow", flaky(outputs.pyogrio.write_arrow))
    monkeypatch.setattr(outputs.pyogrio, "write_dataframe", flaky(outputs.pyogrio.write_dataframe))
    direct = outputs.gdal_arrow.LayerWriter.write  # the plots and the layers without geometry, streamed

    def midway(self, batch, name=None):
        direct(self, batch, name)
        if (name or self.name) == layer:
            raise OSError("disk full (simulated)")

    monkeypatch.setattr(outputs.gdal_arrow.LayerWriter, "write", midway)
    assert main(screen_args(small_job)) == 1
    assert not small_job["out"].exists()
    folder = small_job["out"].parent  # made for the run, removed with it: nothing left behind
    assert not folder.exists() or list(folder.iterdir()) == []


def test_run_with_config_relative_paths_and_overrides(small_job, tmp_path, monkeypatch):
    cfg_dir = tmp_path / "cfg"
    cfg_dir.mkdir()
    cfg = {
        "plots": {"path": "../plots.gpkg", "id_column": "plot_id"},
        "rasters": {"loss_year": str(small_job["loss"]), "tree_cover": "../treecover2000.tif"},
        "screening": {"reference_year": 2020},
        "output": {"path": "result.gpkg"},
    }
    (cfg_dir / "job.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path.parent)  # somewhere else entirely: paths are relative to the file
    assert main(["run", "--config", str(cfg_dir / "job.yaml"), "--reference-year", "2022"]) == 0
    meta = dict(pyogrio.read_dataframe(cfg_dir / "result.gpkg", layer="run_metadata")[["key", "value"]].values)
    assert meta["reference_year"] == "2022"
    out = pyogrio.read_dataframe(cfg_dir / "result.gpkg", layer="plots")
    assert out.loc[out["plot_id"] == "detected", "status"].item() == "deforestation_free"  # 2022 is not after 2022
    assert out.loc[out["plot_id"] == "review", "status"].item() == "review"


def test_config_errors_name_the_file_and_the_key(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "plots: {path: a.gpkg}\nrasters: {loss_year: a.tif, tree_cover: b.tif}\nscreening: {refrence_year: 2020}\n"
    )
    assert main(["run", "--config", str(bad)]) == 2
    err = capsys.readouterr().err
    assert "bad.yaml" in err and "screening.refrence_year" in err and "unknown key" in err
    bad.write_text("plots: [unclosed\n")
    assert main(["run", "--config", str(bad)]) == 2
    assert "not valid YAML" in capsys.readouterr().err
    assert main(["run", "--config", str(tmp_path / "missing.yaml")]) == 2
    bad.write_text(
        "plots: {path: a.gpkg}\nrasters: {loss_year: a.tif, tree_cover: b.tif, last_year: 2024}\n"
        "screening: {reference_year: 2024}\n"
    )
    assert main(["run", "--config", str(bad)]) == 2
    assert "last_year" in capsys.readouterr().err


@pytest.mark.slow
def test_python_dash_m_pipeline_works(small_job):
    import subprocess
    import sys

    r = subprocess.run(
        [sys.executable, "-m", "pipeline", "-q", *screen_args(small_job)], capture_output=True, text=True
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout == ""
    assert Path(small_job["out"]).exists()
    # -q and -v also work after the command name
    r = subprocess.run(
        [sys.executable, "-m", "pipeline", *screen_args(small_job), "--overwrite", "-q"], capture_output=True, text=True
    )
    assert r.returncode == 0 and r.stdout == "", r.stderr
    r = subprocess.run(
        [sys.executable, "-m", "pipeline", *screen_args(small_job), "--overwrite", "-v"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "Screened 9 plots" in r.stdout
    assert "9 plots read and checked" in r.stderr and "INFO: phases: " in r.stderr  # -v: each phase's time


@pytest.mark.parametrize("name", ["plots.geojson", "plots.csv", "plots.parquet", "plots"])
def test_an_output_name_of_another_format_is_refused_before_any_work(tmp_path, capsys, name):
    """`--out x.geojson` would get a GeoPackage under a GeoJSON name: refused at once (exit 2), before
    the inputs are even looked at (here they do not exist), pointing at `export`."""
    out = tmp_path / name
    code = main(
        [
            "screen",
            "--plots",
            str(tmp_path / "no.gpkg"),
            "--loss-year",
            "no.tif",
            "--tree-cover",
            "no.tif",
            "--out",
            str(out),
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "written as a GeoPackage; name it .gpkg" in err and "cacao-screen export" in err
    assert "no.gpkg" not in err and not out.exists() and list(tmp_path.iterdir()) == []
    assert main(["baseline", "--screening", str(tmp_path / "s.gpkg"), "--out", str(tmp_path / "b.csv")]) == 2
    assert "the baseline is written as a GeoPackage" in capsys.readouterr().err


def test_the_errors_exit_codes_are_the_documented_ones():
    """pipeline.errors (which may import only i18n) carries the numbers of pipeline.vocab's exit codes."""
    from pipeline import errors, vocab

    assert errors.CacaoScreenError.exit_code == vocab.EXIT_FAILURE
    assert errors.DiskFullError.exit_code == vocab.EXIT_FAILURE
    assert errors.InputError.exit_code == errors.ConfigError.exit_code == vocab.EXIT_USAGE
    assert errors.LockedError.exit_code == vocab.EXIT_LOCKED
