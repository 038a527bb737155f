"""Every real plot file in ../shared/real-data/plots is read and checked (skipped when absent)."""

import json

import numpy as np
import pyogrio
import pytest
from conftest import cli_main as main

from pipeline.engine.geodesy import M2_PER_HA, geodesic_areas
from pipeline.io.plots import read_plots
from pipeline.stages.qc import check_plots

pytestmark = pytest.mark.realdata

ID_COLUMNS = {"nicaragua_coffee_efico_noPII.geojson": "Plot ID", "public_CICC_plots_subset_simple.geojson": "UID"}


def test_every_plot_file_is_read_and_every_row_accounted_for(real_data):
    files = sorted((real_data / "plots").iterdir())
    assert len(files) >= 4
    for f in files:
        features = json.loads(f.read_text())["features"]
        plots = read_plots(f, id_column=ID_COLUMNS.get(f.name, "plot_id"))
        qc = check_plots(plots)
        assert len(plots) == len(qc.qc_status) == len(features), f.name
        assert plots["source_row"].tolist() == list(range(1, len(features) + 1))
        # every feature with coordinates in the file is screenable: nothing lost to a reader
        assert qc.screenable.all(), (f.name, qc.issues[qc.issues["severity"] == "error"].head())


def test_the_1124_nicaraguan_coffee_plots_are_all_accepted(real_data):
    f = real_data / "plots" / "nicaragua_coffee_efico_noPII.geojson"
    plots = read_plots(f, id_column="Plot ID")
    qc = check_plots(plots)
    assert len(plots) == 1124
    assert (qc.issues["severity"] != "error").all() and qc.screenable.all()
    assert plots.geometry.notna().all() and not plots.geometry.has_z.any()  # the 0.0 z values dropped
    area = qc.area_ha
    assert 0.05 < area.min() and area.max() < 15  # 0.06-14.9 ha, as published
    np.testing.assert_allclose(area, geodesic_areas(qc.geometry) / M2_PER_HA, rtol=1e-5)
    codes = set(qc.issues["code"])
    assert codes <= {"low_precision", "duplicate_id", "duplicate_geometry", "overlap"}, codes
    # the CLI agrees: exit 0 (no errors)
    assert main(["-q", "validate", str(f), "--id-column", "Plot ID"]) == 0


def test_the_18_cameroon_plots_with_wrongly_nested_rings_are_recovered(real_data):
    f = real_data / "plots" / "public_CICC_plots_subset_simple.geojson"
    plots = read_plots(f, id_column="UID")
    qc = check_plots(plots)
    assert len(plots) == 18
    assert plots.geometry.notna().all() and not plots.geometry.is_empty.any()
    assert set(qc.issues["code"]) == {"nested_rings_repaired"} and qc.screenable.all()
    declared = plots["Area_ha"].to_numpy()
    # the QC area and Karney's geodesic area both match the declared Area_ha within 0.01 ha
    np.testing.assert_allclose(qc.area_ha, declared, atol=0.01)
    np.testing.assert_allclose(geodesic_areas(plots.geometry.to_numpy()) / M2_PER_HA, declared, atol=0.01)
    # (in fact to a millionth of a hectare)
    np.testing.assert_allclose(qc.area_ha, declared, atol=1e-5)


def test_whisp_examples_and_ghana_plots(real_data):
    plots = read_plots(real_data / "plots" / "geojson_example.geojson")
    assert len(plots) == 50 and plots["plot_id"].iloc[0] == "row-1"
    qc = check_plots(plots)
    assert qc.screenable.all()
    plots = read_plots(real_data / "plots" / "public_feature_collection_gha.geojson")
    assert len(plots) == 2 and check_plots(plots).screenable.all()


#: Every real plot file, and the rasters it is screened against (its own clip where there is one).
DR_CLIP = ("hansen-clip-dominican-republic", "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif", "2023", "2020")
VN_CLIP = ("hansen-clip-vietnam-laos", "pkgTest_lossyear.tif", "2018", "2015")
REAL_PLOT_FILES = [
    *[(f"plots/{name}", DR_CLIP) for name in ID_COLUMNS],
    ("plots/geojson_example.geojson", DR_CLIP),
    ("plots/public_feature_collection_gha.geojson", DR_CLIP),
    ("peru-whisp-plots/plot10_polygon.geojson", DR_CLIP),
    ("peru-whisp-plots/plot14_polygon.geojson", DR_CLIP),
    ("gfw-published/colombia.geojson", DR_CLIP),
    ("gfw-published/argbra.geojson", DR_CLIP),
    ("hansen-clip-dominican-republic/gfw_sample.gpkg", DR_CLIP),
    ("hansen-clip-vietnam-laos/aoi_polys.gpkg", VN_CLIP),
]


def _input_fields(path) -> list[str]:
    return [str(f) for f in pyogrio.read_info(path)["fields"]]


@pytest.mark.parametrize("name, clip", REAL_PLOT_FILES, ids=[n for n, _ in REAL_PLOT_FILES])
def test_every_real_plot_file_is_screened_and_validated_to_a_written_output(real_data, tmp_path, name, clip):
    """Issue 10, item 1: attribute names that clash with output columns (Area_ha...) once failed
    the run at the last step. Every real file is carried to a written GeoPackage, every row and
    every attribute kept, under names unique case-insensitively."""
    src = real_data / name
    folder, loss_name, last_year, reference_year = clip
    loss = real_data / folder / loss_name
    cover = real_data / folder / loss_name.replace("lossyear", "treecover2000")
    n_in = pyogrio.read_info(src)["features"]
    fields = _input_fields(src)
    screened, checked = tmp_path / "screening.gpkg", tmp_path / "validation.gpkg"
    args = ["--loss-year", str(loss), "--tree-cover", str(cover), "--last-year", last_year]
    args += ["--reference-year", reference_year]
    # 4: most plots lie outside the clip (not_assessed), which the exit code says; the outputs are written
    assert main(["-q", "screen", "--plots", str(src), *args, "--out", str(screened)]) in (0, 4)
    assert main(["-q", "validate", str(src), "--out", str(checked)]) in (0, 3)
    for out in (screened, checked):
        plots = pyogrio.read_dataframe(out, layer="plots", use_arrow=True).sort_values("source_row")
        assert len(plots) == n_in and plots["source_row"].tolist() == list(range(1, n_in + 1))
        columns = [c for c in plots.columns if c != "geometry"]
        assert len({c.lower() for c in columns}) == len(columns), columns
        for field in fields:  # each attribute under its name, or input_<name> when that is taken
            assert field in columns or f"input_{field}" in columns or field == "plot_id", (field, columns)
