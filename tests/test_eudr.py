"""The EUDR file an operator can file (issue 22): GPS points, the producer's country, holes split
into parts, plots held back, coordinates with exactly --decimals digits, files of at most 25 MB,
the totals and the provenance digest; every file strict RFC 7946 (also on the real plot files)."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely
from shapely import MultiPoint, Point, Polygon

from pipeline.cli import main
from pipeline.config import ExportConfig
from pipeline.engine.geodesy import M2_PER_HA, geodesic_areas
from pipeline.errors import ConfigError
from pipeline.stages.eudr import country_code, geometry_json, rfc7946_problems, split_files
from pipeline.stages.eudr.geometry import split_holes
from pipeline.stages.export import declared_area_column, eudr_columns, eudr_features

X0, Y0 = -76.5, -8.3


def _frame(rows, columns=("plot_id", "geometry", "input_area_ha", "country")) -> gpd.GeoDataFrame:
    frame = pd.DataFrame(rows, columns=list(columns))
    frame.insert(1, "source_row", range(1, len(rows) + 1))
    frame["status"] = "deforestation_free"
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _export(plots, **kw):
    cfg = ExportConfig(format="eudr", out="eudr", **kw)
    columns = eudr_columns(plots.columns, cfg)
    features, manifest = eudr_features(plots, cfg, columns, declared=declared_area_column(plots.columns))
    return [json.loads(f) for f in features], manifest.set_index("plot_id")


def _box(x, y, w, h=None):
    return shapely.box(X0 + x, Y0 + y, X0 + x + w, Y0 + y + (w if h is None else h))


def test_points_are_exported_as_points_with_their_declared_area():
    plots = _frame(
        [
            ("P", Point(X0, Y0), 1.5, "PE"),
            ("M1", MultiPoint([(X0 + 0.01, Y0)]), 2.0, "PE"),  # a GeoPackage's point: a MultiPoint of one
            ("NA", Point(X0 + 0.02, Y0), None, "PE"),
            ("BIG", MultiPoint([(X0 + 0.03, Y0)]), 4.5, "PE"),
            ("M2", MultiPoint([(X0, Y0 + 0.01), (X0 + 0.001, Y0 + 0.01)]), 1.0, "PE"),
        ]
    )
    features, m = _export(plots)
    assert m["outcome"].tolist() == ["exported", "exported", "left_out", "left_out", "left_out"]
    assert [f["geometry"]["type"] for f in features] == ["Point", "Point"]
    assert [f["properties"]["Area"] for f in features] == [1.5, 2.0]
    assert m.loc[["P", "M1"], "area_ha"].tolist() == [1.5, 2.0]
    assert "a point without a declared area" in m.loc["NA", "reason"] and "polygon" in m.loc["NA", "reason"]
    assert "over 4 ha the EUDR asks for the plot's polygon" in m.loc["BIG", "reason"]
    assert m.loc["M2", "reason"].startswith("a MultiPoint of 2 points")


def test_gps_points_from_a_csv_go_through_screen_and_export(hansen_pair, tmp_path, capsys):
    loss, cover = hansen_pair(np.zeros((400, 400)), np.full((400, 400), 80))
    csv = tmp_path / "pts.csv"
    csv.write_text(
        "plot_id,lon,lat,area_ha,pais,productor,lugar\n"
        "P1,-76.48173800,-8.04157,1.5,Perú,Ana Ríos,Sector 1\nP2,-76.47,-8.03,2.0,PER,Luis Mego,Sector 2\n"
        "P3,-76.46,-8.02,2.5,,Rosa Flores,Sector 3\n",
        encoding="utf-8",
    )
    screening = tmp_path / "s.gpkg"
    args = ["-q", "screen", "--plots", str(csv), "--crs", "EPSG:4326", "--declared-area-column", "area_ha"]
    assert main([*args, "--loss-year", str(loss), "--tree-cover", str(cover), "--out", str(screening)]) == 0
    out = tmp_path / "eudr"
    export = ["export", "--screening", str(screening), "--format", "eudr", "--out", str(out)]
    assert main(export) == 2  # P3 has no country: refused, naming it, nothing written
    err = capsys.readouterr().err
    assert "ProducerCountry is required: 1 plot(s) to export have none (column pais): P3" in err
    assert not out.exists()
    csv.write_text(csv.read_text(encoding="utf-8").replace(",,Rosa", ",Peru,Rosa"), encoding="utf-8")
    assert (
        main([*args, "--loss-year", str(loss), "--tree-cover", str(cover), "--out", str(screening), "--overwrite"]) == 0
    )
    capsys.readouterr()
    assert main(export) == 0
    said = capsys.readouterr().out
    assert "3 plots in 1 file(s)" in said and ", 0 left out" in said
    assert "ProducerName: column productor" in said and "ProductionPlace: column lugar" in said
    assert re.search(r"provenance digest sha256:[0-9a-f]{64}", said)
    collection = json.loads((out / "eudr-001.geojson").read_text(encoding="utf-8"))
    props = [f["properties"] for f in collection["features"]]
    assert [p["ProducerCountry"] for p in props] == ["PE", "PE", "PE"] and props[0]["ProducerName"] == "Ana Ríos"
    assert [p["Area"] for p in props] == [1.5, 2.0, 2.5]
    assert '"coordinates":[-76.481738,-8.041570]' in (out / "eudr-001.geojson").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "value,code", [("PE", "PE"), ("pe", "PE"), ("PER", "PE"), ("Peru", "PE"), ("Perú", "PE"), ("PERÚ", "PE"),
                   ("Costa de Marfil", "CI"), ("Côte d'Ivoire", "CI"), ("Ghana", "GH"), ("Países Bajos", "NL"),
                   ("Narnia", None), ("", None)],
)  # fmt: skip
def test_country_names_and_codes_map_to_iso2(value, code):
    assert country_code(value) == code


def test_the_producer_columns_are_found_under_spanish_names_and_a_missing_country_refuses():
    plots = _frame([("A", _box(0, 0, 0.001), None, None)], ("plot_id", "geometry", "input_area_ha", "nombre"))
    cfg = ExportConfig(format="eudr", out="e")
    with pytest.raises(ConfigError, match=r"ProducerCountry is required: 1 plot\(s\).*no country column.*: A"):
        eudr_features(plots, cfg, eudr_columns(plots.columns, cfg))
    plots["País"], plots["Productor"], plots["Lugar"] = ["Perú"], ["Ana"], ["Sector 1"]
    cols = eudr_columns(plots.columns, cfg)
    assert (cols.producer_country, cols.producer_name, cols.production_place) == ("País", "Productor", "Lugar")
    features, m = _export(plots)
    assert features[0]["properties"] == {"ProducerName": "Ana", "ProducerCountry": "PE", "ProductionPlace": "Sector 1"}
    plots["País"] = [" "]
    with pytest.raises(ConfigError, match="ProducerCountry is required"):
        _export(plots)
    features, _ = _export(plots, producer_country="PER")  # one country for all
    assert features[0]["properties"]["ProducerCountry"] == "PE"


def _holed() -> shapely.Polygon:
    outer = [(0, 0), (0.004, 0), (0.004, 0.003), (0.002, 0.0035), (0, 0.003)]
    holes = [
        [(0.0005, 0.0005), (0.0012, 0.0005), (0.0012, 0.0011), (0.0005, 0.0011)],
        [(0.0021, 0.0021), (0.0031, 0.0012), (0.0033, 0.0025)],  # a triangle
        [(0.0014, 0.0005), (0.0019, 0.0005), (0.0019, 0.0026), (0.0014, 0.0026)],  # a long one beside the first
    ]
    return Polygon([(X0 + x, Y0 + y) for x, y in outer], [[(X0 + x, Y0 + y) for x, y in h] for h in holes])


def test_holes_are_split_into_parts_that_cover_the_plot_exactly():
    plot = _holed()
    donut = shapely.box(X0, Y0, X0 + 0.002, Y0 + 0.002).difference(_box(0.0007, 0.0007, 0.0006))
    for geom in (plot, donut, shapely.MultiPolygon([plot, _box(0.01, 0, 0.001)])):
        parts = shapely.get_parts(split_holes(geom))
        assert all(p.is_valid and not p.interiors and p.exterior.is_ccw for p in parts)
        total = geodesic_areas(parts).sum() / M2_PER_HA
        assert total == pytest.approx(geodesic_areas([geom])[0] / M2_PER_HA, abs=1e-6)
        for i in range(len(parts)):
            for j in range(i + 1, len(parts)):
                assert parts[i].intersection(parts[j]).area == pytest.approx(0, abs=1e-15)  # edges shared at most
        assert shapely.union_all(parts).symmetric_difference(geom).area == pytest.approx(0, abs=1e-15)
        # no coordinate was added or moved: every vertex of the parts is a vertex of the plot
        assert set(map(tuple, shapely.get_coordinates(parts))) <= set(map(tuple, shapely.get_coordinates(geom)))
    features, m = _export(_frame([("H", plot, None, "PE")]))
    assert m.loc["H", "outcome"] == "exported" and features[0]["geometry"]["type"] == "MultiPolygon"
    exported = shapely.geometry.shape(features[0]["geometry"])
    rounded = shapely.set_precision(plot, 1e-6)
    assert geodesic_areas([exported])[0] / M2_PER_HA == pytest.approx(
        geodesic_areas([rounded])[0] / M2_PER_HA, abs=1e-6
    )


def test_repairs_that_change_the_area_and_duplicated_ids_are_held_back():
    bowtie = Polygon([(X0, Y0), (X0 + 0.002, Y0 + 0.002), (X0 + 0.002, Y0), (X0, Y0 + 0.002)])
    plots = _frame(
        [
            ("BOW", bowtie, 1.3, "PE"),
            ("D", _box(0.01, 0, 0.001), None, "PE"),
            ("D", _box(0.02, 0, 0.001), None, "PE"),
            ("OK", _box(0.03, 0, 0.001), None, "PE"),
        ]
    )
    features, m = _export(plots)
    assert m["outcome"].tolist() == ["left_out", "left_out", "left_out", "exported"] and len(features) == 1
    assert re.match(
        r"held back: the repair changed the area: \d\.\d{4} ha exported, 1.3 ha declared", m["reason"].iloc[0]
    )
    assert (m.loc["D", "reason"] == "held back: plot id D is on 2 rows (--include-flagged exports it)").all()
    features, m = _export(plots, include_flagged=True)
    assert m["outcome"].tolist() == ["repaired", "exported", "exported", "exported"] and len(features) == 4
    assert m["flag"].iloc[0].endswith("(included: --include-flagged)") and m.loc["OK", "flag"] == ""
    _, m = _export(plots, max_repair_change_pct=100)
    assert m.loc["BOW", "outcome"] == "repaired"


@pytest.mark.parametrize("decimals", [6, 7, 9])
def test_coordinates_have_exactly_the_decimals_asked(decimals):
    geom = Polygon([(-76.48173800000001, -8.421569999999999), (-76.4807, -8.42157), (-76.4807, -8.4206)])
    text = geometry_json(shapely.orient_polygons(shapely.set_precision(geom, 10.0**-decimals)), decimals)
    numbers = re.findall(r"-?\d+\.\d+", text)
    assert numbers and all(len(n.split(".")[1]) == decimals for n in numbers)
    assert f"-76.{'481738'.ljust(decimals, '0')}" in text and f"-8.{'421570'.ljust(decimals, '0')}" in text
    assert geometry_json(Point(-0.0, 0.5), 6) == '{"type":"Point","coordinates":[0.000000,0.500000]}'


def test_a_30_mb_export_splits_into_files_of_at_most_25_mb():
    n = 1300  # circles of 1024 vertices: about 30 MB of GeoJSON
    centres = np.column_stack([X0 + (np.arange(n) % 50) * 0.002, Y0 + (np.arange(n) // 50) * 0.002])
    circles = shapely.buffer(shapely.points(centres), 0.0007, quad_segs=256)
    plots = _frame([(f"P{i}", g, None, "Perú") for i, g in enumerate(circles)])
    plots["producer_name"] = "Ñusta Quispe Ríos"  # multi-byte UTF-8 counts in the size
    cfg = ExportConfig(format="eudr", out="e")
    texts, manifest = eudr_features(plots, cfg, eudr_columns(plots.columns, cfg))
    assert sum(len(t.encode()) for t in texts) > 30_000_000
    files, manifest = split_files(texts, manifest, 25_000_000)
    sizes = [len(t.encode("utf-8")) for t in files.values()]
    # as full as a file can be: the next feature would not have fitted
    assert len(files) == 2 and max(sizes) <= 25_000_000 and sizes[0] + len(texts[0].encode()) + 2 > 25_000_000
    assert sum(len(json.loads(t)["features"]) for t in files.values()) == n == (manifest["file"] != "").sum()
    assert manifest["feature"].tolist() == [*range(1, sizes and 1 + (manifest["file"] == "eudr-001.geojson").sum()),
                                            *range(1, 1 + (manifest["file"] == "eudr-002.geojson").sum())]  # fmt: skip
    assert rfc7946_problems(files["eudr-002.geojson"], 6) == []


def test_the_strict_check_finds_each_problem():
    good = '{"type":"FeatureCollection","features":[{"type":"Feature","properties":{},"geometry":'
    ring = "[[0.000000,0.000000],[1.000000,0.000000],[1.000000,1.000000],[0.000000,0.000000]]"
    assert rfc7946_problems(good + f'{{"type":"Polygon","coordinates":[{ring}]}}}}]}}', 6) == []
    cw = "[[0.000000,0.000000],[1.000000,1.000000],[1.000000,0.000000],[0.000000,0.000000]]"
    cases = {
        "counter-clockwise": f'{{"type":"Polygon","coordinates":[{cw}]}}',
        "not closed": '{"type":"Polygon","coordinates":[[[0.000000,0.000000],[1.000000,0.000000],'
        "[1.000000,1.000000],[0.000000,1.000000]]]}",
        "hole": f'{{"type":"Polygon","coordinates":[{ring},{cw}]}}',
        "exactly 6 decimals": '{"type":"Point","coordinates":[-8.421569999999999,1.000000]}',
    }
    for what, geometry in cases.items():
        assert any(what in p for p in rfc7946_problems(good + geometry + "}]}", 6)), what
    assert rfc7946_problems('{"type":"FeatureCollection","crs":{},"features":[]}', 6) == [
        "a crs member (RFC 7946 has none)"
    ]


def test_every_eudr_file_of_the_sample_run_is_strict_rfc7946(sample_run):
    folder = next(p for p in sample_run.exports if p.name == "eudr")
    for path in sorted(folder.glob("eudr-*.geojson")):
        assert rfc7946_problems(path.read_text(encoding="utf-8"), 6) == [], path.name


@pytest.mark.realdata
def test_every_real_plot_file_exports_strict_rfc7946(real_data):
    from pipeline.io.plots import read_plots
    from pipeline.stages.qc import check_plots

    ids = {"nicaragua_coffee_efico_noPII.geojson": "Plot ID", "public_CICC_plots_subset_simple.geojson": "UID"}
    files = sorted((real_data / "plots").glob("*.geojson")) + sorted((real_data / "peru-whisp-plots").glob("*.geojson"))
    assert len(files) >= 5
    for f in files:
        plots = read_plots(f, id_column=ids.get(f.name, "plot_id"))
        qc = check_plots(plots)
        plots["status"] = np.where(qc.screenable, "deforestation_free", "invalid")
        plots["plot_id"] = [f"{i}-{r}" for i, r in zip(plots["plot_id"], plots["source_row"])]  # unique
        cfg = ExportConfig(format="eudr", out="e", producer_country="PE", include_flagged=True)
        texts, manifest = eudr_features(plots, cfg, eudr_columns(plots.columns, cfg))
        files_out, manifest = split_files(texts, manifest, 25_000_000)
        assert (manifest["outcome"] != "left_out").sum() >= 0.95 * qc.screenable.sum(), f.name
        for text in files_out.values():
            assert rfc7946_problems(text, 6) == [], f.name


def test_every_export_format_is_one_registered_writer():
    from typing import get_args

    from pipeline.config import EXPORT_FORMATS
    from pipeline.io.export import WRITERS, Writer

    assert tuple(WRITERS) == EXPORT_FORMATS == get_args(ExportConfig.model_fields["format"].annotation)
    assert all(issubclass(w, Writer) and w.name == name for name, w in WRITERS.items())
