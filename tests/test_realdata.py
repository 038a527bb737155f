"""Runs on the real datasets in ../shared/real-data (skipped when that folder is absent)."""

import numpy as np
import pyogrio
import pytest
from conftest import cli_main as main
from reference import exactextract_figures

pytestmark = pytest.mark.realdata

DR = "hansen-clip-dominican-republic"


def test_cli_on_the_dominican_republic_hansen_clip(real_data, tmp_path):
    d = real_data / DR
    loss = d / "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif"
    cover = d / "Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif"
    out = tmp_path / "dr.gpkg"
    rc = main(
        [
            "-q",
            "screen",
            "--plots",
            str(d / "gfw_sample.gpkg"),
            "--loss-year",
            str(loss),
            "--tree-cover",
            str(cover),
            "--last-year",
            "2023",
            "--out",
            str(out),
        ]
    )
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
        assert (
            main(
                [
                    "-q",
                    "screen",
                    "--plots",
                    str(d / "gfw_sample.gpkg"),
                    "--loss-year",
                    str(d / f"Hansen_GFC-{version}_lossyear_20N_080W.tif"),
                    "--tree-cover",
                    str(d / f"Hansen_GFC-{version}_treecover2000_20N_080W.tif"),
                    "--last-year",
                    str(last),
                    "--reference-year",
                    "2018",
                    "--out",
                    str(out),
                ]
            )
            == 0
        )
        figures[version] = pyogrio.read_dataframe(out, layer="plots").iloc[0]
    old, new = figures["2020-v1.8"], figures["2023-v1.11"]
    assert old["forest_2000_ha"] == pytest.approx(new["forest_2000_ha"], rel=0.02)
    # Hansen reprocesses earlier years between versions, so yearly loss differs a little; totals stay close
    early = [f"loss_{y}_ha" for y in range(2001, 2019)]
    assert old[early].sum() == pytest.approx(new[early].sum(), rel=0.25)


def test_uint16_clips_with_65535_nodata_vietnam_laos(real_data, tmp_path):
    d = real_data / "hansen-clip-vietnam-laos"
    out = tmp_path / "vl.gpkg"
    assert (
        main(
            [
                "-q",
                "screen",
                "--plots",
                str(d / "aoi_polys.gpkg"),
                "--id-column",
                "id",
                "--loss-year",
                str(d / "pkgTest_lossyear.tif"),
                "--tree-cover",
                str(d / "pkgTest_treecover2000.tif"),
                "--last-year",
                "2018",
                "--reference-year",
                "2015",
                "--out",
                str(out),
            ]
        )
        == 0
    )
    plots = pyogrio.read_dataframe(out, layer="plots")
    assert len(plots) == 8 and set(plots["plot_id"]) == {str(i) for i in range(1, 9)}
    assert (plots["area_ha"].between(70, 470)).all()
    screened = plots[plots["data_coverage_pct"] > 0]
    forest, lost, valid = exactextract_figures(
        plots.geometry.to_numpy(),
        str(d / "pkgTest_lossyear.tif"),
        str(d / "pkgTest_treecover2000.tif"),
        last_year=2018,
        loss_nodata=65535,
    )
    np.testing.assert_allclose(screened["forest_2000_ha"], forest[screened.index], atol=1e-6)
    for y in (2016, 2017, 2018):
        np.testing.assert_allclose(screened[f"loss_{y}_ha"], lost[y][screened.index], atol=1e-6)
    assert set(plots["status"]) <= {"deforestation_detected", "review", "deforestation_free", "not_assessed"}
    assert (plots["status"] == "deforestation_detected").any()


def test_peru_whisp_plots_with_10m_hansen_and_tmf_as_two_products(real_data, tmp_path):
    """Two real plots in Peru; each product's two clips (10 m grid, aligned) form one virtual mosaic."""
    import geopandas as gpd
    import pandas as pd
    import yaml

    d = real_data / "peru-whisp-plots"
    plots = pd.concat([gpd.read_file(d / f"plot{i}_polygon.geojson").assign(plot_id=f"plot{i}") for i in (10, 14)])
    plots_path = tmp_path / "plots.gpkg"
    plots.to_file(plots_path, layer="plots")
    cfg = {
        "plots": {"path": str(plots_path)},
        "datasets": {
            "gfc": {
                "kind": "loss_year",
                "loss_year": str(d / "plot*_gfc_lossyear_10m.tif"),
                "encoding": "offset",
                "last_year": 2024,
            },
            "tmf": {
                "kind": "loss_year",
                "loss_year": str(d / "plot*_tmf_defyear_10m.tif"),
                "encoding": "year",
                "first_year": 1990,
                "last_year": 2024,
            },
        },
        "output": {"path": str(tmp_path / "whisp.gpkg")},
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(cfg))
    assert main(["-q", "run", "--config", str(tmp_path / "job.yaml")]) == 0
    out = pyogrio.read_dataframe(tmp_path / "whisp.gpkg", layer="plots").set_index("plot_id")
    assert out.loc["plot10", "area_ha"] == pytest.approx(9.1, abs=0.1)
    assert out.loc["plot14", "area_ha"] == pytest.approx(26.0, abs=0.1)
    assert (out["gfc_data_coverage_pct"] == 100).all() and (out["tmf_data_coverage_pct"] == 100).all()
    for product in ("gfc", "tmf"):
        total = out[
            [c for c in out.columns if c.startswith(f"{product}_loss_") and c[len(product) + 6 : -3].isdigit()]
        ].sum(axis=1)
        np.testing.assert_allclose(total, out[f"{product}_loss_total_ha"], rtol=1e-12)
    assert (out["gfc_loss_total_ha"] <= out["area_ha"] + 1e-6).all()
    assert out["gfc_forest_2000_ha"].isna().all()  # no forest layer given: forest area is unknown, not invented
    # plot 10 (Yurimaguas) shows loss after 2020 in both products' rasters; the status follows the 'any' rule
    assert out.loc["plot10", "gfc_loss_after_ref_ha"] > 0
    worst = {"deforestation_detected": 0, "not_assessed": 1, "review": 2, "deforestation_free": 3}
    for _, row in out.iterrows():
        assert row["status"] == min(row["gfc_status"], row["tmf_status"], key=worst.get)

    # the TMF figures equal exactextract's coverage x the same ellipsoidal pixel areas
    import exactextract
    import rasterio

    from pipeline.engine.geodesy import pixel_row_areas

    for pid in ("plot10", "plot14"):
        path = d / f"{pid}_tmf_defyear_10m.tif"
        with rasterio.open(path) as src:
            t = src.transform
            areas = pixel_row_areas(t.f, -t.e, t.a, 0, src.height)
        geom = out.loc[pid, "geometry"]
        feat = [{"type": "Feature", "properties": {}, "geometry": geom.__geo_interface__}]
        ee = exactextract.exact_extract(str(path), feat, ["coverage", "values", "center_y"], output="pandas").iloc[0]
        rows = np.floor((t.f - np.asarray(ee["center_y"])) / -t.e).astype(int)
        ha = np.asarray(ee["coverage"]) * areas[rows] / 1e4
        vals = np.asarray(ee["values"]).astype(int)
        for year in (2016, 2020, 2022, 2023, 2024):
            assert out.loc[pid, f"tmf_loss_{year}_ha"] == pytest.approx(ha[vals == year].sum(), abs=1e-6), (pid, year)
