"""`make run` on the sample shows every case of the forest at the cut-off (docs/forest-at-cutoff.md)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyogrio
import rasterio


def test_the_sample_maps_are_on_their_own_grids(default_sample):
    paths, _ = default_sample
    with (
        rasterio.open(paths.loss_year) as h,
        rasterio.open(paths.forest2020) as f,
        rasterio.open(paths.plantation) as p,
    ):
        assert abs(f.transform.a - 1 / 11132) < 1e-15 and abs(h.transform.a - 0.00025) < 1e-15
        assert abs(p.transform.a - 0.0005) < 1e-15
        offset = (p.transform.c - h.transform.c) / h.transform.a
        assert abs(offset - round(offset)) > 0.1  # not on the loss grid
        assert set(np.unique(f.read(1))) <= {0, 1} and set(np.unique(p.read(1))) == {0, 2}
    plots = pyogrio.read_dataframe(paths.plots, layer="plots")
    given = plots["established"].dropna()
    assert 0.2 * len(plots) < len(given) < 0.8 * len(plots)
    years = pd.to_numeric(given.str[:4])
    assert (years <= 2020).any() and (years > 2020).any() and given.str.contains("-").any()


def test_make_run_shows_every_case(sample_run):
    cases = pd.read_csv(sample_run.paths.cutoff_cases)
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots", use_arrow=True)
    plots = plots.drop_duplicates("plot_id").set_index("plot_id")
    got = plots.loc[cases["plot_id"], ["status", "loss_context", "status_reason"]].set_index(cases["case"])
    # a plot inside a protected area goes to review whatever its loss (the overlays, docs/overlays.md)
    got = got[~got["status_reason"].str.contains("(overlay ", regex=False)]
    expected = {
        "shaded_cocoa": ("deforestation_free", "outside_forest"),
        "plantation": ("deforestation_free", "in_agricultural_use"),
        "disagree": ("review", "in_cutoff_forest"),
        "new_plot": ("deforestation_detected", "in_cutoff_forest"),
    }
    for case, (status, context) in expected.items():
        rows = got.loc[[case]]
        assert len(rows) >= 5, case
        assert (rows["status"] == status).all(), (case, rows["status"].value_counts().to_dict())
        assert (rows["loss_context"] == context).all(), case
    assert got.loc[["shaded_cocoa"], "status_reason"].str.contains("shade trees or renovation").all()
    assert got.loc[["disagree"], "status_reason"].str.contains("the map and the declaration disagree").all()
    # the indicators and the map's figures, per plot
    assert set(plots["ind_forest_2020_gfc2020"]) <= {"yes", "no", "unknown"}
    assert (plots.loc[cases.loc[cases["case"] == "shaded_cocoa", "plot_id"], "ind_forest_2020_gfc2020"] == "no").all()
    pct = plots["gfc2020_forest_cutoff_pct"].dropna()
    assert len(pct) > 0.9 * len(plots) and pct.between(0, 100).all() and (pct == 0).any() and (pct > 50).any()
