"""Runs on the real datasets in ../shared/real-data (skipped when that folder is absent)."""

import numpy as np
import pyogrio
import pytest

from pipeline.cli import main
from reference import exactextract_figures

pytestmark = pytest.mark.realdata

DR = "hansen-clip-dominican-republic"


def test_cli_on_the_dominican_republic_hansen_clip(real_data, tmp_path):
    d = real_data / DR
    loss = d / "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif"
    cover = d / "Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif"
    out = tmp_path / "dr.gpkg"
    rc = main(["-q", "screen", "--plots", str(d / "gfw_sample.gpkg"), "--loss-year", str(loss), "--tree-cover",
               str(cover), "--last-year", "2023", "--out", str(out)])
    assert rc == 0
    plots = pyogrio.read_dataframe(out, layer="plots", use_arrow=True)
    assert len(plots) == 1
    p = plots.iloc[0]
    # the polygon covers the clip: all of it over valid data, ~2,272 ha, heavy loss in Sierra de Neiba
    assert p["data_coverage_pct"] == pytest.approx(100.0)
    assert 2200 < p["area_ha"] < 2350
    assert p["status"] == "deforestation_detected" and bool(p["deforestation_free"]) is False
    assert p["loss_after_ref_ha"] > 1

    # every figure equals exactextract's (same pixel areas) to 1e-6 ha
    geoms = plots.geometry.to_numpy()
    forest, lost, _ = exactextract_figures(geoms, str(loss), str(cover), last_year=2023)
    assert p["forest_2000_ha"] == pytest.approx(forest[0], abs=1e-6)
    for year, ha in lost.items():
        assert p[f"loss_{year}_ha"] == pytest.approx(ha[0], abs=1e-6), year


def test_two_hansen_versions_agree_on_the_years_they_share(real_data, tmp_path):
    d = real_data / DR
    figures = {}
    for version, last in (("2020-v1.8", 2020), ("2023-v1.11", 2023)):
        out = tmp_path / f"{version}.gpkg"
        assert main(["-q", "screen", "--plots", str(d / "gfw_sample.gpkg"),
                     "--loss-year", str(d / f"Hansen_GFC-{version}_lossyear_20N_080W.tif"),
                     "--tree-cover", str(d / f"Hansen_GFC-{version}_treecover2000_20N_080W.tif"),
                     "--last-year", str(last), "--reference-year", "2018", "--out", str(out)]) == 0
        figures[version] = pyogrio.read_dataframe(out, layer="plots").iloc[0]
    old, new = figures["2020-v1.8"], figures["2023-v1.11"]
    assert old["forest_2000_ha"] == pytest.approx(new["forest_2000_ha"], rel=0.02)
    # Hansen reprocesses earlier years between versions, so yearly loss differs a little; totals stay close
    early = [f"loss_{y}_ha" for y in range(2001, 2019)]
    assert old[early].sum() == pytest.approx(new[early].sum(), rel=0.25)


def test_uint16_clips_with_65535_nodata_vietnam_laos(real_data, tmp_path):
    d = real_data / "hansen-clip-vietnam-laos"
    out = tmp_path / "vl.gpkg"
    assert main(["-q", "screen", "--plots", str(d / "aoi_polys.gpkg"), "--id-column", "id",
                 "--loss-year", str(d / "pkgTest_lossyear.tif"), "--tree-cover", str(d / "pkgTest_treecover2000.tif"),
                 "--last-year", "2018", "--reference-year", "2015", "--out", str(out)]) == 0
    plots = pyogrio.read_dataframe(out, layer="plots")
    assert len(plots) == 8 and set(plots["plot_id"]) == {str(i) for i in range(1, 9)}
    assert (plots["area_ha"].between(70, 470)).all()
    screened = plots[plots["data_coverage_pct"] > 0]
    forest, lost, valid = exactextract_figures(plots.geometry.to_numpy(), str(d / "pkgTest_lossyear.tif"),
                                               str(d / "pkgTest_treecover2000.tif"), last_year=2018,
                                               loss_nodata=65535)
    np.testing.assert_allclose(screened["forest_2000_ha"], forest[screened.index], atol=1e-6)
    for y in (2016, 2017, 2018):
        np.testing.assert_allclose(screened[f"loss_{y}_ha"], lost[y][screened.index], atol=1e-6)
    assert set(plots["status"]) <= {"deforestation_detected", "review", "deforestation_free", "not_assessed"}
    assert (plots["status"] == "deforestation_detected").any()
