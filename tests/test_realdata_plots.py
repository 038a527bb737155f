"""Every real plot file in ../shared/real-data/plots is read and checked (skipped when absent)."""

import json

import numpy as np
import pytest

from pipeline.cli import main
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
