"""The bundled sample screened end to end, as `make run` does, checked against exactextract."""

from pathlib import Path

import numpy as np
import pyogrio
import pytest
import yaml

from pipeline.cli import main
from pipeline.config import load_config
from pipeline.plots import read_plots
from pipeline.rasters import open_hansen
from pipeline.workflow import ScreenParams, screen_plots
from reference import exactextract_figures

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def screened(default_sample, tmp_path_factory):
    paths, _ = default_sample
    cfg = yaml.safe_load((REPO / "configs" / "sample.yaml").read_text())
    cfg["plots"]["path"] = str(paths.plots)
    cfg["rasters"]["loss_year"] = str(paths.loss_year)
    cfg["rasters"]["tree_cover"] = str(paths.tree_cover)
    out_dir = tmp_path_factory.mktemp("run")
    cfg["output"]["path"] = str(out_dir / "screening.gpkg")
    (out_dir / "job.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["-q", "run", "--config", str(out_dir / "job.yaml")]) == 0
    return paths, out_dir / "screening.gpkg"


def test_the_committed_sample_config_is_valid():
    cfg = load_config(REPO / "configs" / "sample.yaml")
    assert cfg.plots.path == REPO / "data" / "sample" / "plots.gpkg"
    assert cfg.output.path == REPO / "outputs" / "screening.gpkg"
    assert cfg.screening.reference_year == 2020 and cfg.screening.canopy_threshold == 10


def test_every_sample_row_comes_out_with_a_status(screened):
    paths, out = screened
    plots_in = pyogrio.read_dataframe(paths.plots, layer="plots")
    plots = pyogrio.read_dataframe(out, layer="plots", use_arrow=True)
    assert len(plots) == len(plots_in)
    assert plots["source_row"].tolist() == list(range(1, len(plots_in) + 1))
    assert plots["plot_id"].tolist() == plots_in["plot_id"].tolist()
    counts = plots["status"].value_counts()
    for status in ("deforestation_free", "deforestation_detected", "review", "not_assessed", "invalid"):
        assert counts.get(status, 0) > 0, status
    assert counts["deforestation_free"] > len(plots) / 2
    # the deliberately defective rows
    defects = plots[plots["note"] != ""]
    assert set(defects.loc[defects["note"].str.contains("empty", case=False), "status"]) == {"invalid"}
    # the bowtie is repaired and screened (geometry_repaired), keeping its drawn geometry in the output
    bowtie = defects[defects["note"].str.contains("bowtie", case=False)].iloc[0]
    assert bowtie["status"] != "invalid" and "geometry_repaired: invalid polygon (Self-intersection" in bowtie["qc_summary"]
    assert not bowtie.geometry.is_valid
    assert (plots["qc_status"] == "warning").sum() >= 2  # the duplicated id, both rows
    # plots that stick out of the rasters are never called free
    outside = plots["data_coverage_pct"] < 99
    assert set(plots.loc[outside & (plots["status"] != "invalid"), "status"]) == {"not_assessed"}
    assert plots.loc[plots["status"] == "deforestation_free", "data_coverage_pct"].min() >= 99
    assert plots.loc[plots["status"] == "deforestation_free", "deforestation_free"].all()


def test_sample_figures_equal_exactextract_to_a_millionth_of_a_hectare(screened):
    paths, out = screened
    plots = pyogrio.read_dataframe(out, layer="plots")
    ok = plots[(plots["status"] != "invalid") & (plots["data_coverage_pct"] > 0)]
    sub = ok.sample(200, random_state=1)
    forest, lost, valid = exactextract_figures(sub.geometry.to_numpy(), str(paths.loss_year), str(paths.tree_cover))
    np.testing.assert_allclose(sub["forest_2000_ha"], forest, atol=1e-6, rtol=0)
    for year in (2005, 2015, 2020, 2021, 2022, 2023, 2024):
        np.testing.assert_allclose(sub[f"loss_{year}_ha"], lost[year], atol=1e-6, rtol=0)
    # geodesic polygon area vs exactextract's coverage-weighted pixel areas: the same to 2e-6 relative
    full = (sub["data_coverage_pct"] == 100).to_numpy()
    assert full.sum() > 150
    np.testing.assert_allclose(sub["area_ha"].to_numpy()[full], valid[full] / 10_000, rtol=2e-6)


def test_two_processes_give_identical_results(default_sample):
    paths, _ = default_sample
    plots = read_plots(paths.plots).iloc[:400]
    source = open_hansen(paths.loss_year, paths.tree_cover)
    one = screen_plots(plots, source, ScreenParams(), workers=1).plots
    two = screen_plots(plots, source, ScreenParams(), workers=2).plots
    cols = [c for c in one.columns if c != "geometry"]
    assert one[cols].equals(two[cols])


def test_the_check_by_hand_notebook_reproduces_the_figures(screened, tmp_path):
    import shutil
    import subprocess
    import sys

    paths, out = screened
    repo = tmp_path / "repo"
    (repo / "outputs").mkdir(parents=True)
    (repo / "notebooks").mkdir()
    shutil.copy(out, repo / "outputs" / "screening.gpkg")
    shutil.copy(REPO / "notebooks" / "check_a_plot_by_hand.py", repo / "notebooks")
    r = subprocess.run([sys.executable, str(repo / "notebooks" / "check_a_plot_by_hand.py")],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "All figures match." in r.stdout and "loss_20" in r.stdout
