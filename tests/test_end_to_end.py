"""The bundled sample screened end to end, as `make run` does, checked against exactextract."""

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import cli_main as main
from reference import exactextract_figures

from pipeline.config import ExecutionConfig, ScreeningConfig, load_config
from pipeline.engine.geodesy import geodesic_areas
from pipeline.io.plots import read_plots
from pipeline.io.rasters import open_hansen
from pipeline.stages.screening import screen_plots

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def screened(sample_run):
    """`make run`'s job on the sample (the session's run): (sample paths, screening.gpkg)."""
    return sample_run.paths, sample_run.screening


def test_the_committed_sample_config_is_valid():
    cfg = load_config(REPO / "configs" / "sample.yaml")
    assert cfg.plots.path == REPO / "data" / "sample" / "plots.gpkg"
    assert cfg.output.path == REPO / "outputs" / "screening.gpkg"
    assert cfg.screening.reference_year == 2020 and cfg.screening.canopy_threshold == 10
    assert cfg.baseline.output == REPO / "outputs" / "baseline.gpkg"
    assert cfg.baseline.regions.path == REPO / "data" / "sample" / "districts.gpkg"
    assert cfg.baseline.deliveries.path == REPO / "data" / "sample" / "deliveries.csv"


def test_the_sample_run_writes_the_baseline_layers(screened):
    paths, out = screened
    baseline = out.parent / "baseline.gpkg"
    layers = {name for name, _ in pyogrio.list_layers(baseline)}
    assert layers == {
        "baseline_by_region",
        "baseline_by_group",
        "baseline_plots",
        "restoration_rings",
        "deliveries",
        "lots",
        "buyers",
        "alerts_by_month",
        "run_metadata",
        "layer_styles",  # QGIS's table of default styles
    }
    plots = pyogrio.read_dataframe(out, layer="plots", use_arrow=True)
    by_plot = pyogrio.read_dataframe(baseline, layer="baseline_plots", use_arrow=True)
    assert by_plot["source_row"].tolist() == sorted(plots["source_row"])  # every plot, in input order
    regions = pyogrio.read_dataframe(baseline, layer="baseline_by_region", use_arrow=True)
    assert set(regions["region_id"]) == {"229901", "229902", "229903", "229904", "unassigned"}
    unassigned = regions.set_index("region_id").loc["unassigned", "n_plots"]
    assert 0 < unassigned < 0.3 * len(plots)  # the eastern strip lies in no district
    groups = pyogrio.read_dataframe(baseline, layer="baseline_by_group", use_arrow=True)
    national = groups[groups["group_by"] == "all"].iloc[0]
    for c in (
        "n_plots",
        "n_deforestation_free",
        "area_ha",
        "forest_2000_ha",
        "loss_2022_ha",
        "loss_before_ref_ha",
        "baseline_mean_annual_loss_ha",
    ):
        assert regions[c].sum() == pytest.approx(national[c], rel=1e-9), c
        for _, sub in groups[groups["group_by"] != "all"].groupby("group_by"):
            assert sub[c].sum() == pytest.approx(national[c], rel=1e-9), c
    assessed = plots["status"].isin(["deforestation_free", "review", "deforestation_detected"])
    base = sum(plots.loc[assessed, f"loss_{y}_ha"].sum() for y in range(2011, 2021)) / 10
    assert national["baseline_mean_annual_loss_ha"] == pytest.approx(base, rel=1e-9)
    lots = pyogrio.read_dataframe(baseline, layer="lots", use_arrow=True)
    assert lots["contains_unknown"].sum() == 1 and "SM-00000" in set(lots["unknown_plot_ids"])
    assert lots["contains_invalid"].any() and lots["deforestation_free"].any()
    meta = dict(pyogrio.read_dataframe(baseline, layer="run_metadata")[["key", "value"]].values)
    assert meta["regions_repaired"] == "229903" and meta["ring_m"] == "100"
    # rings of neighbouring plots overlap: a group's ring is the union of its plots' rings
    rings = pyogrio.read_dataframe(baseline, layer="restoration_rings", use_arrow=True)
    union = shapely.union_all(rings.geometry.dropna().to_numpy())
    assert national["ring_area_ha"] == pytest.approx(geodesic_areas([union])[0] / 10_000, rel=1e-9)
    assert national["ring_area_ha"] < 0.95 * rings["ring_area_ha"].sum()  # summing would count ~8 % twice
    coop = groups[(groups["group_by"] == "cooperative_id") & (groups["group"] == "COOP-03")].iloc[0]
    mine = by_plot["cooperative_id"] == "COOP-03"
    union = shapely.union_all(rings.geometry[mine].dropna().to_numpy())
    assert coop["ring_area_ha"] == pytest.approx(geodesic_areas([union])[0] / 10_000, rel=1e-9)


def test_every_sample_row_comes_out_with_a_status(screened):
    paths, out = screened
    plots_in = pyogrio.read_dataframe(paths.plots, layer="plots")
    plots = pyogrio.read_dataframe(out, layer="plots", use_arrow=True)
    assert len(plots) == len(plots_in)
    plots = plots.sort_values("source_row", ignore_index=True)  # written in location order
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
    assert (
        bowtie["status"] != "invalid"
        and "geometry_repaired: invalid polygon (Self-intersection" in bowtie["qc_summary"]
    )
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
    one = screen_plots(plots, source, ScreeningConfig(), execution=ExecutionConfig(workers=1)).plots
    two = screen_plots(plots, source, ScreeningConfig(), execution=ExecutionConfig(workers=2)).plots
    cols = [c for c in one.columns if c != "geometry"]
    assert one[cols].equals(two[cols])


def test_sample_tiles_mosaic_to_the_single_rasters(default_sample):
    import rasterio

    from pipeline.io.rasters import open_layer

    paths, _ = default_sample
    for role, single in (("loss-year", paths.loss_year), ("tree-cover", paths.tree_cover)):
        layer = open_layer(paths.root / "tiles", role)
        assert len(layer.tiles) == 4
        with rasterio.open(single) as src:
            np.testing.assert_array_equal(layer.read(0, 0, src.height, src.width), src.read(1).astype("int32"))


def test_incremental_rerun_equals_a_full_run_and_computes_only_new_plots(default_sample, tmp_path, monkeypatch):
    import os

    import pipeline.stages.screening as wf
    from pipeline.vocab import ASSESSED

    paths, _ = default_sample
    plots = read_plots(paths.plots)
    source = open_hansen(paths.root / "tiles", paths.root / "tiles")
    full_result = screen_plots(plots, source)
    full = full_result.plots
    # a previous run that lacked 1 % of the plots
    rng = np.random.default_rng(0)
    dropped = rng.choice(len(plots), size=len(plots) // 100, replace=False)
    older_result = screen_plots(plots.drop(index=plots.index[dropped]), source)
    older = older_result.plots
    previous = pd.DataFrame(older.drop(columns="geometry"))

    computed = []
    real = wf.measure_product

    def spy(geoms, *args, **kw):
        computed.append(sum(g is not None for g in geoms))
        return real(geoms, *args, **kw)

    monkeypatch.setattr(wf, "measure_product", spy)
    again_result = screen_plots(plots, source, previous=previous, previous_patches=older_result.loss_patches)
    again = again_result.plots
    pd.testing.assert_frame_equal(again.drop(columns="geometry"), full.drop(columns="geometry"), check_exact=True)
    # the patches of the reused plots come from the previous output: the same as a full run's
    cols = ["plot_id", "source_row", "year", "area_ha", "max_distance_from_edge_m"]
    full_patches = full_result.loss_patches.sort_values(["source_row", "year", "area_ha"], ignore_index=True)
    again_patches = again_result.loss_patches.sort_values(["source_row", "year", "area_ha"], ignore_index=True)
    pd.testing.assert_frame_equal(again_patches[cols], full_patches[cols])
    not_reusable = (~older["status"].isin(ASSESSED)).sum()
    assert computed == [
        len(dropped)
        + not_reusable
        - (older["status"] == "invalid").sum()
        - (full.iloc[dropped]["status"] == "invalid").sum()
    ]
    assert computed[0] < len(plots) * 0.05

    # anything that could change the figures invalidates the keys: a parameter, a raster file
    computed.clear()
    screen_plots(plots, source, ScreeningConfig(canopy_threshold=30), previous=previous)
    assert computed[0] == (full["status"] != "invalid").sum()
    tile = source.loss.tiles[0].path
    st = os.stat(tile)
    try:
        os.utime(tile, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
        computed.clear()
        screen_plots(plots, source, previous=previous)
        assert computed[0] == (full["status"] != "invalid").sum()
    finally:
        os.utime(tile, ns=(st.st_atime_ns, st.st_mtime_ns))


def test_incremental_flag_reuses_the_existing_output(screened, sample_run, tmp_path, capsys):
    import shutil

    import yaml

    paths, out = screened
    target = tmp_path / "screening.gpkg"
    shutil.copy(out, target)
    cfg = yaml.safe_load(sample_run.config.read_text())  # make run's screening, alone
    cfg["output"] = {"path": str(target), "incremental": True}
    for section in ("baseline", "report", "exports"):
        cfg.pop(section, None)
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    args = ["run", "--config", str(job)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    reused = int(printed.split("Incremental: ")[1].split()[0])
    assert reused > 0.95 * 2003 and "screened" in printed
    a = pyogrio.read_dataframe(out, layer="plots", read_geometry=False)
    b = pyogrio.read_dataframe(target, layer="plots", read_geometry=False)
    pd.testing.assert_frame_equal(
        a.drop(columns=["screen_key", "row_digest"]), b.drop(columns=["screen_key", "row_digest"]), check_exact=True
    )


def test_the_sample_alerts_see_the_clearings_the_annual_loss_does_not(screened):
    paths, out = screened
    readme = (paths.root / "README.md").read_text(encoding="utf-8")
    listed = readme.split("only the alerts see them:")[1].split(";")[0]
    ids = re.findall(r"`(SM-\d+)`", listed)
    assert len(ids) == 12
    plots = pyogrio.read_dataframe(out, layer="plots", use_arrow=True).set_index("plot_id")
    seen = plots.loc[ids]
    assert (seen["loss_after_ref_ha"] == 0).all()
    # under the forest rule, a clearing on land that was not forest in 2020 does not count
    counted = seen["gfw_integrated_status"].isin(["deforestation_detected", "review"])
    assert counted.sum() >= 9
    rest = seen[~counted]
    assert (rest["gfw_integrated_alert_ha"] == 0).all() and (rest["gfc2020_forest_cutoff_pct"] < 50).all()
    seen = seen[counted]
    assert (seen["gfw_integrated_first_alert_date"].astype(str) >= "2025-01-01").all()
    assert seen["status"].isin(["deforestation_detected", "review"]).all()
    # elsewhere the alerts mostly agree with the annual loss after 2020
    # (on forest of 2020: the alerts count only there, under the forest rule)
    both = plots[(plots["loss_after_cutoff_forest_ha"] > 0.2) & (plots["status"] != "not_assessed")]
    assert (both["gfw_integrated_alert_ha"] > 0).mean() > 0.8
