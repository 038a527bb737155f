"""Status rules: each status from figures built by hand."""

import numpy as np
import pandas as pd
import pytest

from pipeline.config import ScreeningConfig
from pipeline.stages.rules import classify


def figures(coverage, after, forest=2.0, first=None):
    return pd.DataFrame(
        {
            "data_coverage_pct": [coverage],
            "loss_after_ref_ha": [after],
            "forest_2000_ha": [forest],
            "first_loss_year_after_ref": pd.array([first], dtype="Int64"),
        }
    )


def verdict(fig, invalid="", **params):
    out = classify(fig, pd.Series([invalid]), ScreeningConfig(**params))
    return out.iloc[0]


@pytest.mark.parametrize(
    "after,status,flag",
    [
        (0.0, "deforestation_free", True),
        (1e-9, "deforestation_free", True),  # floating-point noise, not loss
        (0.05, "review", None),
        (0.1, "review", None),  # the tolerance is inclusive
        (0.1000001, "deforestation_detected", False),
        (3.2, "deforestation_detected", False),
    ],
)
def test_loss_after_reference_year_decides(after, status, flag):
    v = verdict(figures(100.0, after, first=2022 if after > 1e-6 else None))
    assert v["status"] == status
    assert (v["deforestation_free"] is pd.NA and flag is None) or v["deforestation_free"] == flag
    if status != "deforestation_free":
        assert "2022" in v["status_reason"] and "after 2020" in v["status_reason"]


def test_partial_coverage_is_never_free_even_without_loss():
    v = verdict(figures(98.9, 0.0))
    assert v["status"] == "not_assessed" and v["deforestation_free"] is pd.NA
    assert "98.9 %" in v["status_reason"] and "minimum 99 %" in v["status_reason"]


def test_partial_coverage_reports_loss_already_seen():
    v = verdict(figures(50.0, 1.5, first=2021))
    assert v["status"] == "not_assessed"
    assert "1.50 ha" in v["status_reason"] and "2021" in v["status_reason"]


def test_no_data_at_all():
    v = verdict(figures(0.0, np.nan, forest=np.nan))
    assert v["status"] == "not_assessed" and "no valid raster data" in v["status_reason"]


def test_invalid_geometry_wins_and_keeps_its_reason():
    v = verdict(figures(np.nan, np.nan, forest=np.nan), invalid="invalid polygon: Self-intersection[1 1]")
    assert v["status"] == "invalid" and "Self-intersection" in v["status_reason"]


def test_parameters_move_the_boundaries():
    fig = figures(97.0, 0.3, first=2023)
    assert verdict(fig, min_data_coverage_pct=95, review_max_ha=0.5)["status"] == "review"
    assert verdict(fig, min_data_coverage_pct=95, review_max_ha=0.2)["status"] == "deforestation_detected"
    assert verdict(fig, reference_year=2022, min_data_coverage_pct=95)["status_reason"].find("after 2022") > 0


def test_plot_without_forest_is_free_and_says_so():
    v = verdict(figures(100.0, 0.0, forest=0.0))
    assert v["status"] == "deforestation_free" and "no forest in 2000" in v["status_reason"]
