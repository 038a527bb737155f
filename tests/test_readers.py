"""Readers: every supported format, written tiny in tmp_path, read back with its CRS, ids and defects."""

from __future__ import annotations

import json
import zipfile

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipeline.engine.geodesy import M2_PER_HA, geodesic_areas
from pipeline.errors import PlotsError
from pipeline.io.plots import read_plots
from pipeline.stages.qc import check_plots

LON, LAT = -76.512345, -8.234567


def box(i: int = 0, size: float = 0.001) -> shapely.Polygon:
    """Disjoint ~1.2 ha boxes with 6-decimal corners."""
    x, y = round(LON + 0.01 * i, 6), LAT
    return shapely.box(x, y, round(x + size, 6), round(y + size, 6))


def ha(g) -> float:
    return geodesic_areas([g])[0] / M2_PER_HA


def codes(qc, row: int) -> dict[str, str]:
    i = qc.issues[qc.issues["source_row"] == row]
    return dict(zip(i["code"], i["severity"]))


# --- GeoPackage -----------------------------------------------------------------------------


def test_geopackage_named_layer(tmp_path):
    p = tmp_path / "farms.gpkg"
    gpd.GeoDataFrame({"plot_id": ["a", "b"]}, geometry=[box(0), box(1)], crs="EPSG:4326").to_file(p, layer="lotes")
    gpd.GeoDataFrame({"plot_id": ["x"]}, geometry=[box(2)], crs="EPSG:4326").to_file(p, layer="otros")
    plots = read_plots(p, layer="otros")
    assert plots["plot_id"].tolist() == ["x"] and plots.crs.equals("EPSG:4326")
    assert read_plots(p, layer="lotes")["plot_id"].tolist() == ["a", "b"]
    with pytest.raises(PlotsError, match="no layer 'parcelas'.*lotes, otros"):
        read_plots(p, layer="parcelas")


def test_projected_file_is_reprojected_and_its_decimals_are_not_judged(tmp_path):
    utm = shapely.box(350000.5, 9089000.5, 350100.5, 9089100.5)  # 1 ha in UTM 18S, San Martín
    p = tmp_path / "utm.gpkg"
    gpd.GeoDataFrame({"plot_id": ["u"]}, geometry=[utm], crs="EPSG:32718").to_file(p)
    plots = read_plots(p)
    assert plots.crs.equals("EPSG:4326") and plots.attrs["source_crs"] == "EPSG:32718"
    assert plots.attrs["wgs84_source"] is False
    x0, y0, x1, y1 = plots.geometry.iloc[0].bounds
    assert -77.5 < x0 < x1 < -76 and -8.5 < y0 < y1 < -8
    # UTM's scale factor (0.9996 at the central meridian, ~1.0000 here) keeps the area within 0.1 %
    assert ha(plots.geometry.iloc[0]) == pytest.approx(1.0, rel=1e-3)
    qc = check_plots(plots)
    assert qc.issues.empty  # no low_precision on reprojected coordinates


def test_z_coordinates_are_dropped(tmp_path):
    p = tmp_path / "z.gpkg"
    g = shapely.force_3d(box(0), 120.0)
    gpd.GeoDataFrame({"plot_id": ["z"]}, geometry=[g], crs="EPSG:4326").to_file(p)
    plots = read_plots(p)
    assert not shapely.has_z(plots.geometry.iloc[0])


# --- GeoJSON ------------------------------------------------------------------------------------


def _feature(geometry, **props):
    return {"type": "Feature", "properties": props, "geometry": geometry}


def test_eudr_geojson_with_points_nested_rings_and_nulls(tmp_path):
    poly = box(0)
    ring = [list(c) for c in poly.exterior.coords]
    features = [
        _feature(
            shapely.geometry.mapping(poly) | {"coordinates": [ring]},
            ProducerName="Ana",
            ProducerCountry="PE",
            ProductionPlace="Finca 1",
            Area=1.2,
        ),
        _feature(
            {"type": "Point", "coordinates": [LON + 0.05, LAT]},
            ProducerName="Luis",
            ProducerCountry="PE",
            ProductionPlace="Finca 2",
            Area=3.0,
        ),
        _feature(
            {"type": "Polygon", "coordinates": [[[[x + 0.1, y] for x, y in ring]]]},  # nested one level too deep
            ProducerName="Eva",
            ProducerCountry="PE",
            ProductionPlace="Finca 3",
            Area=1.2,
        ),
        _feature(None, ProducerName="Rosa", ProducerCountry="PE", ProductionPlace="Finca 4", Area=2.0),
    ]
    p = tmp_path / "eudr.geojson"
    p.write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    plots = read_plots(p, id_column="ProductionPlace")
    assert plots["plot_id"].tolist() == ["Finca 1", "Finca 2", "Finca 3", "Finca 4"]
    assert plots["ProducerName"].tolist() == ["Ana", "Luis", "Eva", "Rosa"]
    assert plots.attrs["wgs84_source"] is True
    qc = check_plots(plots)
    assert codes(qc, 1) == {}
    assert codes(qc, 2) == {"point_buffered": "warning"}
    assert ha(qc.geometry[1]) == pytest.approx(3.0, rel=1e-6)  # the EUDR 'Area' property
    assert codes(qc, 3) == {"nested_rings_repaired": "warning"}
    recovered = plots.geometry.iloc[2]  # read correctly: the output keeps the recovered polygon
    assert recovered.geom_type == "Polygon" and ha(recovered) == pytest.approx(ha(poly), rel=1e-6)
    assert "nested like a MultiPolygon" in qc.issues.loc[qc.issues["code"] == "nested_rings_repaired", "message"].item()
    assert codes(qc, 4) == {"empty_geometry": "error"}


def test_geojson_coordinates_that_are_not_rings_are_unreadable(tmp_path):
    p = tmp_path / "bad.geojson"
    p.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "features": [
                    _feature({"type": "Polygon", "coordinates": [[[LON, LAT], [LON + 0.001, LAT]]]}, plot_id="short"),
                    _feature(shapely.geometry.mapping(box(1)), plot_id="fine"),
                ],
            }
        )
    )
    plots = read_plots(p)
    qc = check_plots(plots)
    assert codes(qc, 1) == {"unreadable_geometry": "error"}
    assert (qc.issues["source_row"] == 1).sum() == 1
    assert "closed" in qc.error_reason[0]  # GEOS's reason
    assert codes(qc, 2) == {}
    assert not qc.screenable[0] and plots.geometry.iloc[1].equals(box(1))


# --- Shapefile ----------------------------------------------------------------------------------


def _shapefile(folder, name="plots", crs="EPSG:4326"):
    folder.mkdir(exist_ok=True)
    gdf = gpd.GeoDataFrame({"plot_id": ["s1", "s2"]}, geometry=[box(0), box(1)], crs=crs)
    with pytest.warns(UserWarning) if crs is None else _nothing():
        gdf.to_file(folder / f"{name}.shp")
    return folder / f"{name}.shp"


class _nothing:
    def __enter__(self):
        return self

    def __exit__(self, *a):
        return False


def test_shapefile_without_prj_needs_a_stated_crs(tmp_path):
    shp = _shapefile(tmp_path / "noprj", crs=None)
    assert not shp.with_suffix(".prj").exists()
    with pytest.raises(PlotsError, match=r"noprj/plots.shp: the plots have no coordinate reference system.*--crs"):
        read_plots(shp)
    plots = read_plots(shp, crs="EPSG:4326")
    assert plots["plot_id"].tolist() == ["s1", "s2"] and plots.attrs["source_crs"] == "EPSG:4326"
    with pytest.raises(PlotsError, match="not a coordinate reference system"):
        read_plots(shp, crs="EPSG:999999")


def test_a_stated_crs_that_contradicts_the_file_is_refused(tmp_path):
    shp = _shapefile(tmp_path / "prj")
    with pytest.raises(PlotsError, match="declares the CRS EPSG:4326 but --crs says EPSG:32718"):
        read_plots(shp, crs="EPSG:32718")
    assert len(read_plots(shp, crs="OGC:CRS84")) == 2  # the same CRS, other axis order: fine


@pytest.mark.parametrize("inside", ["", "export/"], ids=["at-root", "in-a-folder"])
def test_zipped_shapefile(tmp_path, inside):
    shp = _shapefile(tmp_path / "src")
    z = tmp_path / "plots.zip"
    with zipfile.ZipFile(z, "w") as zf:
        for f in shp.parent.iterdir():
            zf.write(f, inside + f.name)
    plots = read_plots(z)
    assert plots["plot_id"].tolist() == ["s1", "s2"]
    assert plots.geometry.iloc[1].equals(box(1))


def test_zip_without_vector_data_is_refused(tmp_path):
    z = tmp_path / "photos.zip"
    with zipfile.ZipFile(z, "w") as zf:
        zf.writestr("a.jpg", b"xx")
    with pytest.raises(PlotsError, match="photos.zip: the zip holds no Shapefile"):
        read_plots(z)


# --- CSV ------------------------------------------------------------------------------------------


def test_csv_with_wkt_keeps_ids_as_text_and_reports_bad_rows(tmp_path):
    p = tmp_path / "plots.csv"
    pd.DataFrame(
        {
            "plot_id": ["007", "008", "009", "010"],
            "productor": ["Ana", "Luis", "Eva", "Rosa"],
            "area_ha": ["1.23", "1.2", "", "0.5"],
            "WKT": [box(0).wkt, "POLYGON ((1 2, 3 4", box(2).wkt, ""],
        }
    ).to_csv(p, index=False)
    with pytest.raises(PlotsError, match=r"plots.csv: a CSV file carries no coordinate reference system.*--crs"):
        read_plots(p)
    plots = read_plots(p, crs="EPSG:4326")
    assert plots["plot_id"].tolist() == ["007", "008", "009", "010"]  # leading zeros kept
    assert plots["area_ha"].dtype.kind == "f" and np.isnan(plots["area_ha"].iloc[2])
    assert plots.geometry.iloc[0].equals(box(0))
    qc = check_plots(plots)
    assert codes(qc, 1) == {}
    assert codes(qc, 2) == {"unreadable_geometry": "error"}
    msg = qc.issues.loc[qc.issues["source_row"] == 2, "message"].item()
    assert "POLYGON ((1 2, 3 4" in msg and "cannot be read" in msg
    assert codes(qc, 4) == {"empty_geometry": "error"}
    assert qc.screenable.tolist() == [True, False, True, False]


def test_csv_with_latitude_longitude_semicolons_and_decimal_commas(tmp_path):
    p = tmp_path / "puntos.csv"
    p.write_text(
        "codigo;Latitud;Longitud;Area\n"
        "A1;-8,234567;-76,512345;2,5\n"
        "A2;abc;-76,412345;1\n"
        "A3;;;1\n"
        "A4;-8,134567;-76,312345;\n",
        encoding="utf-8",
    )
    plots = read_plots(p, id_column="codigo", crs="EPSG:4326")
    assert plots["plot_id"].tolist() == ["A1", "A2", "A3", "A4"]
    assert plots.geometry.iloc[0].equals(shapely.Point(-76.512345, -8.234567))
    qc = check_plots(plots)
    assert codes(qc, 1) == {"point_buffered": "warning"}
    assert ha(qc.geometry[0]) == pytest.approx(2.5, rel=1e-6)
    assert codes(qc, 2) == {"unreadable_geometry": "error"}
    assert "Latitud 'abc' is not a number" in qc.issues.loc[qc.issues["source_row"] == 2, "message"].item()
    assert codes(qc, 3) == {"empty_geometry": "error"}
    assert codes(qc, 4) == {"point_buffered": "warning"}
    assert ha(qc.geometry[3]) == pytest.approx(4.0, rel=1e-6)  # no declared area: the default


def test_csv_geometry_columns_by_name_and_errors(tmp_path):
    p = tmp_path / "odd.csv"
    p.write_text("id,northing_deg,easting_deg\nx,-8.234567,-76.512345\n")
    with pytest.raises(PlotsError, match="odd.csv: no geometry.*northing_deg"):
        read_plots(p, crs="EPSG:4326")
    plots = read_plots(p, crs="EPSG:4326", lat_column="northing_deg", lon_column="easting_deg", id_column="id")
    assert plots.geometry.iloc[0].equals(shapely.Point(-76.512345, -8.234567))
    with pytest.raises(PlotsError, match="no latitude column 'lat'"):
        read_plots(p, crs="EPSG:4326", lat_column="lat", lon_column="easting_deg")
    bad = tmp_path / "ragged.csv"
    bad.write_text("id,lat,lon\nx,1,2\ny,1,2,3,4\n")
    with pytest.raises(PlotsError, match="ragged.csv: cannot read the CSV.*line 3"):
        read_plots(bad, crs="EPSG:4326")


# --- Parquet --------------------------------------------------------------------------------------


def test_geoparquet_and_plain_parquet(tmp_path):
    p = tmp_path / "plots.parquet"
    gpd.GeoDataFrame(
        {"plot_id": ["g1", "g2"], "declared_area_ha": [1.0, 2.0]}, geometry=[box(0), box(1)], crs="EPSG:4326"
    ).to_parquet(p)
    plots = read_plots(p)
    assert plots["plot_id"].tolist() == ["g1", "g2"] and plots.attrs["wgs84_source"] is True
    assert plots.geometry.iloc[0].equals_exact(box(0), 1e-12)
    q = tmp_path / "table.parquet"
    pd.DataFrame({"plot_id": ["t1"], "lat": [-8.234567], "lon": [-76.512345]}).to_parquet(q)
    with pytest.raises(PlotsError, match="--crs"):
        read_plots(q)
    assert read_plots(q, crs="EPSG:4326").geometry.iloc[0].equals(shapely.Point(-76.512345, -8.234567))


# --- general ----------------------------------------------------------------------------------------


def test_ids_missing_unreadable_and_empty_files(tmp_path):
    p = tmp_path / "noid.gpkg"
    gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[box(0), box(1)], crs="EPSG:4326").to_file(p)
    plots = read_plots(p)
    assert plots["plot_id"].tolist() == ["row-1", "row-2"] and plots.attrs["id_generated"].all()
    with pytest.raises(PlotsError, match="no id column 'parcela'.*name"):
        read_plots(p, id_column="parcela")
    junk = tmp_path / "junk.gpkg"
    junk.write_bytes(b"\x00" * 100)
    with pytest.raises(PlotsError, match="junk.gpkg: not a readable vector file"):
        read_plots(junk)
    with pytest.raises(PlotsError, match="nothere.geojson: plots file not found"):
        read_plots(tmp_path / "nothere.geojson")
    empty = tmp_path / "empty.csv"
    empty.write_text("plot_id,wkt\n")
    with pytest.raises(PlotsError, match="empty.csv: holds no plots"):
        read_plots(empty, crs="EPSG:4326")


def test_every_format_gives_the_same_plots(tmp_path):
    geoms = [box(0), box(1)]
    gdf = gpd.GeoDataFrame({"plot_id": ["a", "b"], "area_ha": [1.2, 1.2]}, geometry=geoms, crs="EPSG:4326")
    paths = {
        "gpkg": tmp_path / "p.gpkg",
        "geojson": tmp_path / "p.geojson",
        "shp": tmp_path / "p.shp",
        "parquet": tmp_path / "p.parquet",
        "csv": tmp_path / "p.csv",
    }
    gdf.to_file(paths["gpkg"])
    gdf.to_file(paths["geojson"], driver="GeoJSON")
    gdf.to_file(paths["shp"])
    gdf.to_parquet(paths["parquet"])
    pd.DataFrame({"plot_id": ["a", "b"], "area_ha": [1.2, 1.2], "wkt": [g.wkt for g in geoms]}).to_csv(
        paths["csv"], index=False
    )
    for kind, path in paths.items():
        plots = read_plots(path, crs="EPSG:4326" if kind == "csv" else None)
        assert plots["plot_id"].tolist() == ["a", "b"], kind
        assert plots["source_row"].tolist() == [1, 2], kind
        assert plots["area_ha"].tolist() == [1.2, 1.2], kind
        for got, want in zip(plots.geometry, geoms):
            assert shapely.normalize(got).equals_exact(shapely.normalize(want), 1e-12), kind
        assert check_plots(plots).issues.empty, kind


def test_text_that_is_not_utf8_is_replaced_and_flagged(tmp_path):
    """Issue 19: a Shapefile whose .cpg says UTF-8 but which holds Latin-1 ('José' as byte 0xE9)
    was screened, and its export then failed (ArrowException). The bytes are replaced by U+FFFD and
    the row flagged ``"text_not_utf8"``, whichever reader reads it (whole or in batches)."""
    from pipeline.io.plots import open_plots

    p = tmp_path / "plots.shp"
    gpd.GeoDataFrame(
        {"plot_id": ["a", "b"], "producer": ["JosXX", "Ana"]}, geometry=[box(0), box(1)], crs=4326
    ).to_file(p)
    dbf = p.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes().replace(b"JosXX", b"Jos\xe9 "))
    plots = read_plots(p)
    assert plots["producer"].str.strip().tolist() == ["Jos\ufffd", "Ana"]
    qc = check_plots(plots)
    assert codes(qc, 1)["text_not_utf8"] == "warning" and "text_not_utf8" not in codes(qc, 2)
    assert "'producer' holds byte 0xe9" in qc.issues.loc[qc.issues["code"] == "text_not_utf8", "message"].item()
    batch = next(open_plots(p).batches())  # streamed: read in Arrow batches
    assert [str(v).strip() for v in batch.attributes.column("producer").to_pylist()] == ["Jos\ufffd", "Ana"]
    notes = batch.frame.attrs["read_issues"]
    assert list(notes["code"]) == ["text_not_utf8"] and list(notes["position"]) == [0]
