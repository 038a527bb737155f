"""`cacao-screen export`: the EUDR GeoJSON (properties, 6 decimals, repairs, points up to 4 ha,
statuses, files of at most 25 MB, the manifest) and CSV, GeoParquet, FlatGeobuf, GeoJSON."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import pandas as pd
import pyarrow.parquet as pq
import pyogrio
import pytest
import shapely
from conftest import cli_main as main
from shapely import LineString, Point, Polygon

from pipeline.config import ExportConfig
from pipeline.errors import ConfigError
from pipeline.stages.export import declared_area_column, eudr_columns, eudr_features, split_files

X0, Y0 = -76.5, -8.3


def _at(coords):
    return [(X0 + x, Y0 + y) for x, y in coords]


def _plots() -> gpd.GeoDataFrame:
    square = Polygon(_at([(0, 0), (0.002, 0), (0.002, 0.002), (0, 0.002)]))
    # a notch from the top that stops 0.4e-6 above the bottom edge: valid, but rounding to 6
    # decimals puts its tip on that edge (the ring touches itself: invalid)
    notch = Polygon(
        _at(
            [
                (0, 0),
                (0.001, 0),
                (0.001, 0.001),
                (0.0005004, 0.001),
                (0.0005, 0.0000004),
                (0.0004996, 0.001),
                (0, 0.001),
            ]
        )
    )
    speck = Polygon(_at([(0.0030001, 0.0030001), (0.0030003, 0.0030001), (0.0030002, 0.0030003)]))
    rows = [
        ("A", "deforestation_free", square, 4.4, "Ana Ríos", "pe", "Sector 1, Juanjuí"),
        ("B", "deforestation_free", Point(X0 + 0.01, Y0 + 0.01), 3.0, "Luis Mego", "PE", "Sector 2"),
        ("C", "deforestation_free", Point(X0 + 0.02, Y0 + 0.02), 6.5, "Rosa Flores", "PE", "Sector 3"),
        ("D", "deforestation_free", notch, None, "Edwin Lozano", "PE", None),
        ("E", "deforestation_free", speck, 0.0, "Irma Pinedo", "PE", "Sector 5"),
        ("F", "review", square, 4.4, "Walter Ríos", "PE", "Sector 6"),
        ("G", "invalid", Polygon(), None, "Nelly Torres", "PE", "Sector 7"),
        ("H", "deforestation_free", square, 4.4, "Óscar Chávez", "Peru", "Sector 8"),
        ("I", "deforestation_free", LineString(_at([(0, 0), (0.001, 0.001)])), None, "Pedro Olano", "PE", "x"),
        ("J", "deforestation_detected", square, 4.4, "Sonia Rengifo", "PE", "Sector 9"),
    ]
    frame = pd.DataFrame(
        rows, columns=["plot_id", "status", "geometry", "input_area_ha", "producer_name", "country", "place"]
    )
    frame.insert(1, "source_row", range(1, len(rows) + 1))
    return gpd.GeoDataFrame(frame, geometry="geometry", crs="EPSG:4326")


def _export(plots, **kw):
    cfg = ExportConfig(format="eudr", out="eudr", **kw)
    declared = declared_area_column(plots.columns)
    features, manifest = eudr_features(plots, cfg, eudr_columns(plots.columns, cfg), declared=declared)
    return features, manifest.set_index("plot_id")


def test_eudr_features_by_hand():
    features, m = _export(_plots())
    out = {json.loads(f)["properties"].get("ProducerName"): json.loads(f) for f in features}
    assert list(m["outcome"]) == [
        "exported", "exported", "left_out", "repaired", "left_out", "left_out", "left_out", "exported", "left_out",
        "left_out",
    ]  # fmt: skip
    a = out["Ana Ríos"]
    assert a["properties"] == {
        "ProducerName": "Ana Ríos",
        "ProducerCountry": "PE",
        "ProductionPlace": "Sector 1, Juanjuí",
    }
    assert a["geometry"]["type"] == "Polygon" and "Area" not in a["properties"]  # a polygon needs no Area
    ring = a["geometry"]["coordinates"][0]
    assert shapely.Polygon(ring).exterior.is_ccw  # RFC 7946: exterior rings counter-clockwise
    b = out["Luis Mego"]
    assert (
        b["geometry"] == {"type": "Point", "coordinates": [round(X0 + 0.01, 6), round(Y0 + 0.01, 6)]}
        and '"coordinates":[-76.490000,-8.290000]' in features[1]  # exactly 6 decimals, zeros kept
        and b["properties"]["Area"] == 3.0
    )
    assert "over 4 ha the EUDR asks for the plot's polygon" in m.loc["C", "reason"]  # a 6.5 ha point
    d = out["Edwin Lozano"]
    assert "ProductionPlace" not in d["properties"]  # empty values are left out, not sent empty
    assert m.loc["D", "reason"].startswith("repaired: the polygon was invalid after rounding to 6 decimals")
    repaired = shapely.geometry.shape(d["geometry"])
    assert repaired.is_valid and repaired.area == pytest.approx(_plots().geometry[3].area, rel=1e-3)
    assert "no valid polygon is left at 6 decimals" in m.loc["E", "reason"]
    assert m.loc["F", "reason"] == "status review (exported: deforestation_free)"
    assert m.loc["G", "reason"].startswith("status invalid")
    assert out["Óscar Chávez"]["properties"]["ProducerCountry"] == "PE"  # "Peru" names Peru
    assert m.loc["I", "reason"] == "a LineString, not a polygon or a point"
    # every coordinate of every feature has exactly 6 decimals
    for f in features:
        for number in re.findall(r"-?\d+\.\d+", f[f.index('"geometry"') :]):
            assert len(number.split(".")[1]) == 6, number


def test_statuses_country_and_columns_are_chosen():
    features, m = _export(_plots(), statuses=["review", "deforestation_detected"], producer_country="pe")
    assert m.loc[["F", "J"], "outcome"].tolist() == ["exported", "exported"]
    assert m.loc["A", "reason"] == "status deforestation_free (exported: deforestation_detected, review)"
    assert {json.loads(f)["properties"]["ProducerCountry"] for f in features} == {"PE"}
    with pytest.raises(ConfigError, match="no column 'grower'.*the plots have: plot_id"):
        _export(_plots(), producer_name_column="grower")
    with pytest.raises(ConfigError, match="names no country"):
        _export(_plots(), producer_country="Perusia")
    _, m = _export(_plots(), producer_country="Perú")
    assert m.loc["H", "outcome"] == "exported" and m.loc["H", "country"] == "PE"


def test_files_never_exceed_the_limit_and_the_manifest_finds_every_feature():
    plots = pd.concat([_plots().iloc[[0]]] * 60, ignore_index=True)
    plots["plot_id"] = [f"P{i}" for i in range(60)]
    plots["producer_name"] = plots["plot_id"]
    plots["source_row"] = range(1, 61)
    features, manifest = _export(gpd.GeoDataFrame(plots, crs="EPSG:4326"))
    files, m = split_files(features, manifest.reset_index(), max_bytes=2000)
    assert len(files) > 5 and all(len(text.encode()) <= 2000 for text in files.values())
    for row in m.itertuples():
        collection = json.loads(files[row.file])
        assert collection["type"] == "FeatureCollection"
        assert collection["features"][row.feature - 1]["properties"]["ProducerName"] == row.plot_id
    one = len(features[0].encode())
    files, m = split_files(features, manifest.reset_index(), max_bytes=one)  # no file can hold one feature
    assert files == {} and set(m["outcome"]) == {"left_out"} and "alone is over" in m["reason"].iloc[0]


def test_make_run_writes_the_eudr_folder(sample_run):
    folder = next(p for p in sample_run.exports if p.name == "eudr")
    manifest = pd.read_csv(folder / "manifest.csv", dtype={"plot_id": str}, keep_default_na=False)
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots", read_geometry=False)
    plots = plots.sort_values("source_row", ignore_index=True)  # exported in input order
    assert manifest["source_row"].tolist() == plots["source_row"].tolist()  # every plot, in order
    sent = manifest["outcome"].isin(["exported", "repaired"])
    assert (manifest.loc[sent, "status"] == "deforestation_free").all()
    # the sample's repaired bowtie (declared 1.3 ha, 0.61 ha once repaired) and both rows of its
    # duplicated id are held back, with the reason; every other free plot is exported
    held = manifest["reason"].str.startswith("held back: ")
    assert set(manifest.loc[held, "plot_id"]) == {"SM-00913", "SM-02002"} and held.sum() == 3
    assert "the repair changed the area: 0.6093 ha exported, 1.3 ha declared" in manifest.loc[held, "flag"].str.cat()
    assert sent.sum() + held.sum() == (plots["status"] == "deforestation_free").sum()
    totals = pd.read_csv(folder / "totals.csv", keep_default_na=False)
    assert totals["plots"].iloc[-1] == sent.sum() and totals["countries"].iloc[-1] == "PE"
    assert totals["area_ha"].iloc[-1] == pytest.approx(pd.to_numeric(manifest.loc[sent, "area_ha"]).sum(), abs=1e-3)
    files = sorted(folder.glob("eudr-*.geojson"))
    assert files and all(f.stat().st_size <= 25_000_000 for f in files)
    n = sum(len(json.loads(f.read_text(encoding="utf-8"))["features"]) for f in files)
    assert n == sent.sum()
    first = json.loads(files[0].read_text(encoding="utf-8"))["features"][0]["properties"]
    assert first["ProducerCountry"] == "PE" and first["ProducerName"] and first["ProductionPlace"]


@pytest.mark.parametrize(
    "fmt,name", [("csv", "p.csv"), ("geoparquet", "p.parquet"), ("flatgeobuf", "p.fgb"), ("geojson", "p.geojson")]
)
def test_table_formats_round_trip(sample_run, tmp_path, fmt, name):
    out = tmp_path / name
    args = ["-q", "export", "--screening", str(sample_run.screening), "--format", fmt, "--out", str(out)]
    assert main([*args, "--wkt", "--statuses", "deforestation_free,review"]) == 0
    plots = pyogrio.read_dataframe(sample_run.screening, layer="plots").sort_values("source_row")
    want = plots[plots["status"].isin(["deforestation_free", "review"])].reset_index(drop=True)  # in input order
    if fmt == "csv":
        got = pd.read_csv(out, dtype={"plot_id": str})
        geoms = shapely.from_wkt(got["geometry_wkt"].to_numpy())
    elif fmt == "geoparquet":
        got = gpd.read_parquet(out)
        geoms = got.geometry.to_numpy()
        meta = json.loads(pq.read_schema(out).metadata[b"geo"])
        assert meta["columns"]["geometry"]["covering"]["bbox"]["xmin"] == ["bbox", "xmin"]
    else:
        # FlatGeobuf's spatial index stores features in spatial order: source_row gives the input order
        got = pyogrio.read_dataframe(out).sort_values("source_row", ignore_index=True)
        geoms = got.geometry.to_numpy()
    assert got["plot_id"].astype(str).tolist() == want["plot_id"].tolist()
    assert got["loss_after_ref_ha"].to_numpy() == pytest.approx(want["loss_after_ref_ha"].to_numpy(), abs=1e-9)
    # GeoJSON (RFC 7946) has 7 decimals and counter-clockwise exterior rings (the bowtie's is reversed)
    tolerance = 1e-7 if fmt == "geojson" else 1e-12
    for g, h in zip(geoms, want.geometry):
        g = shapely.normalize(g)
        assert g.equals_exact(shapely.normalize(h), tolerance) or g.equals_exact(
            shapely.normalize(shapely.reverse(h)), tolerance
        )
    assert main(args) == 2  # exists: refused without --overwrite


def test_bad_export_requests_are_refused_before_any_work(sample_run, tmp_path, capsys):
    base = ["export", "--screening", str(sample_run.screening)]
    assert main([*base, "--format", "csv", "--out", str(tmp_path / "p.geojson")]) == 2
    assert "a csv export is named .csv" in capsys.readouterr().err
    assert main([*base, "--format", "eudr", "--out", str(tmp_path / "e.geojson")]) == 2
    assert "the eudr export is a folder" in capsys.readouterr().err
    assert main([*base, "--format", "csv", "--out", str(tmp_path / "p.csv"), "--statuses", "free"]) == 2
    assert "unknown status(es) free" in capsys.readouterr().err
    assert main([*base, "--format", "eudr", "--out", str(tmp_path / "e"), "--producer-name-column", "grower"]) == 2
    assert "no column 'grower'" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []  # nothing written, no litter
    assert (
        main(
            ["export", "--screening", str(tmp_path / "none.gpkg"), "--format", "csv", "--out", str(tmp_path / "p.csv")]
        )
        == 2
    )
