"""Overlays (issue 22): what lies under each plot. The figures match shapely's intersections with
the same geodesic areas, to 1e-6 ha, on hand-built cases: a plot inside, across two features, on a
feature's edge, over an overlay's hole, under features that overlap each other."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import LineString, Polygon

from pipeline.config import OverlayConfig
from pipeline.engine.geodesy import M2_PER_HA, geodesic_areas
from pipeline.engine.overlay import OverlayLayer, overlaps
from pipeline.errors import OverlayError
from pipeline.io.overlays import read_overlay
from pipeline.stages.overlays import apply_overlay_effects, overlay_columns

X0, Y0 = -76.5, -8.3


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def _layer(effect="review") -> OverlayLayer:
    park = box(0, 0, 0.01, 0.01).difference(box(0.004, 0.004, 0.006, 0.006))  # a park with a hole
    community = box(0.01, 0, 0.02, 0.01)  # beside it, sharing its east edge
    annex = box(0.015, 0.005, 0.025, 0.015)  # overlapping the community
    return OverlayLayer("anp", "protected_area", effect, [park, community, annex], ["Park", "Community", "Annex"])


PLOTS = {
    "inside": box(0.001, 0.001, 0.002, 0.002),
    "across": box(0.009, 0.001, 0.011, 0.0015),  # half in the park, half in the community
    "on_edge": box(0.01, -0.002, 0.011, 0.0),  # touches the community's south edge only... and the park's corner
    "outside": box(0.03, 0.03, 0.031, 0.031),
    "over_hole": box(0.0035, 0.0045, 0.0045, 0.0055),  # partly over the park's hole
    "in_hole": box(0.0045, 0.0045, 0.0055, 0.0055),  # inside the hole: not in the park
    "overlapping": box(0.014, 0.004, 0.016, 0.006),  # under the community and the annex, which overlap
    "none": None,
}


def test_overlaps_match_shapely_intersections_with_geodesic_areas():
    layer = _layer()
    geoms = np.array(list(PLOTS.values()), dtype=object)
    found = overlaps(layer, geoms)
    union = shapely.union_all(layer.geoms)
    for (name, plot), got in zip(PLOTS.items(), found.area_m2):
        want = 0.0 if plot is None else np.nan_to_num(geodesic_areas([plot.intersection(union)])[0])
        assert got / M2_PER_HA == pytest.approx(want / M2_PER_HA, abs=1e-6), name
    by = dict(zip(PLOTS, zip(found.area_m2 / M2_PER_HA, found.labels)))
    assert by["inside"][1] == ["Park"] and by["inside"][0] == pytest.approx(geodesic_areas([PLOTS["inside"]])[0] / 1e4)
    assert by["across"][1] == ["Community", "Park"]
    assert by["on_edge"] == (0.0, [])  # an edge in common is no overlap, and names nothing
    assert by["in_hole"] == (0.0, []) and by["outside"] == (0.0, []) and by["none"] == (0.0, [])
    assert 0 < by["over_hole"][0] < geodesic_areas([PLOTS["over_hole"]])[0] / 1e4
    assert by["overlapping"][1] == ["Annex", "Community"]  # counted once though the two overlap
    assert by["overlapping"][0] == pytest.approx(geodesic_areas([PLOTS["overlapping"]])[0] / 1e4, abs=1e-6)


def test_chunks_give_the_same_figures_as_one_batch():
    layer = _layer()
    rng = np.random.default_rng(22)
    xy = rng.uniform(-0.002, 0.027, size=(300, 2))
    geoms = shapely.box(X0 + xy[:, 0], Y0 + xy[:, 1], X0 + xy[:, 0] + 0.0015, Y0 + xy[:, 1] + 0.001)
    whole = overlaps(layer, geoms)
    parts = [overlaps(layer, geoms[i : i + 37]) for i in range(0, 300, 37)]
    np.testing.assert_array_equal(whole.area_m2, np.concatenate([p.area_m2 for p in parts]))
    assert whole.labels == [x for p in parts for x in p.labels]
    union = shapely.union_all(layer.geoms)
    want = np.nan_to_num(geodesic_areas(shapely.intersection(geoms, union)))
    np.testing.assert_allclose(whole.area_m2 / M2_PER_HA, want / M2_PER_HA, atol=1e-6, rtol=0)


def test_columns_and_effects_on_the_status():
    geoms = np.array([PLOTS["inside"], PLOTS["outside"], PLOTS["across"], PLOTS["inside"]], dtype=object)
    area = geodesic_areas(geoms) / M2_PER_HA
    from pipeline import reasons

    parts = [[reasons.part("no_loss", reference_year=2020)]] * 2 + [
        [reasons.part("loss_detected", loss_ha=1.2, reference_year=2020, review_max_ha=0.1)],
        [reasons.part("no_data")],
    ]
    verdict = pd.DataFrame(
        {
            "status": ["deforestation_free", "deforestation_free", "deforestation_detected", "not_assessed"],
            "deforestation_free": pd.array([True, True, False, None], dtype="boolean"),
            **reasons.columns(parts),
        }
    )
    for effect in ("review", "flag", "exclude"):
        layer = _layer(effect)
        cols = overlay_columns(geoms, area, [layer])
        assert list(cols.columns) == ["anp_overlap_ha", "anp_overlap_pct", "anp_names"]
        assert cols["anp_overlap_pct"].tolist()[:2] == [pytest.approx(100), 0]
        assert cols["anp_names"].tolist()[:3] == ["Park", "", "Community; Park"]
        out = apply_overlay_effects(verdict, cols, [layer])
        want = "review" if effect == "review" else "deforestation_free"
        assert out["status"].tolist() == [want, "deforestation_free", "deforestation_detected", "not_assessed"]
        assert out["deforestation_free"].tolist()[:3] == [pd.NA if effect == "review" else True, True, False]
        assert "inside protected area Park (overlay anp)" in out["status_reason"][0]
        assert (
            out["status_reason"][1] == "no forest loss after 2020"
            and out["status_reason"][3] == verdict["status_reason"][3]
        )
        assert "Community; Park" in out["status_reason"][2]  # the detected plot's reason says it too
        # the stored parts render the same text again, in English or in Spanish
        assert [reasons.render(p) for p in out["status_reason_params"]] == out["status_reason"].tolist()
        assert "área protegida" in reasons.render(out["status_reason_params"][0], "es")
        first = "overlay_review" if effect == "review" else "no_loss"
        assert out["status_reason_code"].tolist() == [first, "no_loss", "loss_detected", "no_data"]
    assert out["status_reason"][0].endswith(
        "; 1.22 ha (100.0 %) inside protected area Park (overlay anp): left out of the EUDR export"
    )


def test_the_reader_repairs_and_counts_invalid_features(tmp_path):
    bowtie = Polygon([(X0, Y0), (X0 + 0.01, Y0 + 0.01), (X0 + 0.01, Y0), (X0, Y0 + 0.01)])
    frame = gpd.GeoDataFrame(
        {"nombre": ["Bowtie", "Line", "Square"]},
        geometry=[bowtie, LineString([(X0, Y0), (X0 + 1, Y0)]), box(0.02, 0, 0.03, 0.01)],
        crs="EPSG:4326",
    ).to_crs("EPSG:32718")  # any CRS: read back in EPSG:4326
    path = tmp_path / "anp.gpkg"
    frame.to_file(path, layer="anp")
    cfg = OverlayConfig(name="anp", file=path, layer="anp", kind="protected_area", name_column="nombre")
    layer = read_overlay(cfg)
    assert (layer.repaired, layer.dropped) == (1, 1) and list(layer.labels) == ["Bowtie", "Square"]
    assert all(g.is_valid for g in layer.geoms) and layer.effect == "review"
    assert layer.geoms[0].area == pytest.approx(0.01 * 0.01 / 2, rel=1e-6)  # both triangles of the bowtie
    with pytest.raises(OverlayError, match="no name column 'name'"):
        read_overlay(cfg.model_copy(update={"name_column": "name"}))
    with pytest.raises(OverlayError, match="no layer 'x'"):
        read_overlay(cfg.model_copy(update={"layer": "x"}))
    with pytest.raises(OverlayError, match="not found"):
        read_overlay(cfg.model_copy(update={"file": tmp_path / "none.gpkg"}))


def test_the_screening_measures_overlays_and_applies_their_effect(hansen_pair):
    from pipeline.io.plots import normalise
    from pipeline.io.rasters import open_product
    from pipeline.stages.screening import screen_plots

    loss = np.zeros((120, 120), dtype="uint8")
    loss[:, 60:] = 22  # loss in 2022 east of the middle
    lp, cp = hansen_pair(loss, np.full((120, 120), 80), x0=X0, y0=Y0 + 0.03)
    geoms = {"free_in": box(0.001, 0.001, 0.002, 0.002), "free_out": box(0.001, 0.02, 0.002, 0.021),
             "lost_in": box(0.0025 + 0.016, 0.001, 0.0035 + 0.016, 0.002)}  # fmt: skip
    plots = normalise(gpd.GeoDataFrame({"plot_id": list(geoms)}, geometry=list(geoms.values()), crs="EPSG:4326"))
    hansen = open_product("hansen", loss_year=lp, tree_cover=cp)
    res = screen_plots(plots, [hansen, _layer("review")])
    p = res.plots.set_index("plot_id")
    assert p["status"].to_dict() == {"free_in": "review", "free_out": "deforestation_free",
                                     "lost_in": "deforestation_detected"}  # fmt: skip
    assert p.loc["free_in", "anp_overlap_pct"] == pytest.approx(100) and p.loc["free_in", "anp_names"] == "Park"
    assert p.loc["free_in", "anp_overlap_ha"] == pytest.approx(p.loc["free_in", "area_ha"], abs=1e-9)
    assert p.loc["free_in", "status_reason"].startswith("1.22 ha (100.0 %) inside protected area Park (overlay anp)")
    assert p.loc["free_out", "anp_overlap_ha"] == 0 and p.loc["free_out", "anp_names"] == ""
    assert "Community" in p.loc["lost_in", "anp_names"]


def test_the_sample_run_overlays_its_protected_area_and_native_community(sample_run):
    import json

    import pyogrio

    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots", read_geometry=False)
    meta = pyogrio.read_dataframe(sample_run.screening, layer="run_metadata")
    layers = json.loads(dict(zip(meta["key"], meta["value"]))["overlays"])
    assert [(o["name"], o["kind"], o["effect"], o["repaired"], o["dropped"]) for o in layers] == [
        ("anp", "protected_area", "review", 0, 0),
        ("comunidades", "indigenous_land", "flag", 0, 0),
    ]
    anp = plots["anp_overlap_ha"] > 0
    assert anp.sum() > 5 and (plots.loc[anp, "anp_names"] == "BOSQUE DE PROTECCION SINTETICO").all()
    free = plots["status"] == "deforestation_free"
    assert not (anp & free).any()  # review: no plot inside the protected area is called free
    became = anp & plots["status_reason"].str.startswith(tuple(f"{h:.2f} ha" for h in plots["anp_overlap_ha"]))
    assert (plots.loc[became, "status"] == "review").all() and became.sum() > 0
    community = plots["comunidades_overlap_ha"] > 0
    assert community.sum() > 5 and (community & free).any()  # flag: reported only
    assert plots.loc[community & free, "status_reason"].str.contains("(overlay comunidades)", regex=False).all()
    manifest = pd.read_csv(next(p for p in sample_run.exports if p.name == "eudr") / "manifest.csv")
    assert {"anp_overlap_ha", "comunidades_overlap_pct", "comunidades_names"} <= set(manifest.columns)
    assert "What lies under the plots" in sample_run.report.read_text(encoding="utf-8")


def test_an_exclude_overlay_leaves_its_plots_out_of_the_eudr_export():
    from pipeline.config import ExportConfig
    from pipeline.stages.export import OverlayEffect, eudr_columns, eudr_features

    geoms = np.array([PLOTS["inside"], PLOTS["outside"]], dtype=object)
    cols = overlay_columns(geoms, geodesic_areas(geoms) / M2_PER_HA, [_layer("exclude")])
    plots = gpd.GeoDataFrame(
        {"plot_id": ["in", "out"], "source_row": [1, 2], "status": "deforestation_free", "country": "PE", **cols},
        geometry=list(geoms),
        crs="EPSG:4326",
    )
    cfg = ExportConfig(format="eudr", out="e")
    overlays = [OverlayEffect("anp", "protected_area", "exclude")]
    features, m = eudr_features(plots, cfg, eudr_columns(plots.columns, cfg), overlays=overlays)
    assert m["outcome"].tolist() == ["left_out", "exported"] and len(features) == 1
    assert m["reason"][0] == "1.22 ha inside protected area Park (overlay anp, effect exclude)"
    assert m["anp_names"].tolist() == ["Park", ""]


def test_the_screen_summary_says_what_each_overlay_found(default_sample, tmp_path, capsys):
    from pipeline.cli import main

    paths, _ = default_sample
    out = tmp_path / "s.gpkg"
    spec = f"name=anp,file={paths.overlays},layer=areas_protegidas,kind=protected_area,name_column=anp_nomb"
    args = ["screen", "--plots", str(paths.plots), "--loss-year", str(paths.loss_year)]
    assert main([*args, "--tree-cover", str(paths.tree_cover), "--overlay", spec, "--out", str(out)]) == 0
    said = capsys.readouterr().out
    import pyogrio

    plots = pyogrio.read_dataframe(out, layer="plots", read_geometry=False)
    hit = plots["anp_overlap_ha"] > 0
    review = (plots["status_reason_code"] == "overlay_review").sum()
    assert f"Overlay anp: {hit.sum()} plots overlap it, {plots['anp_overlap_ha'].sum():.2f} ha; {review} made" in said
    assert main([*args, "--tree-cover", str(paths.tree_cover), "--overlay", "name=anp", "--out", str(out)]) == 2
