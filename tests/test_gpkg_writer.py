"""The streamed GeoPackage writer (io.gpkg.ScreeningWriter) against a plain write of the same frame.

The screening's ``plots`` layer is streamed chunk by chunk as Arrow batches on a thread of its own;
what it leaves on disk must be what one ``pyogrio.write_dataframe`` of the whole frame leaves:
the same rows in the same order, the same columns with the same declared types, byte-identical
geometry blobs, and the same spatial index (the R-tree's rows, its triggers and its extension
row), whichever way GDAL builds the index.
"""

from __future__ import annotations

import sqlite3

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely

from pipeline.io import gdal_arrow
from pipeline.io.gpkg import ScreeningWriter, arrow_table, output_wkb, write_layers


def _frame(n: int = 1500, seed: int = 20) -> gpd.GeoDataFrame:
    """Plots of every kind of column the screening writes: text (with NULLs), int64, int32, float
    (with NaN), a flag with a third state, a nullable year; polygons and a few multipolygons."""
    rng = np.random.default_rng(seed)
    x = -76.0 + rng.random(n) * 0.5
    y = -8.0 + rng.random(n) * 0.5
    w = 0.0005 + rng.random(n) * 0.002
    geoms = shapely.box(x, y, x + w, y + w * 0.7)
    multi = rng.random(n) < 0.05
    geoms[multi] = [shapely.MultiPolygon([g, shapely.box(*(np.array(g.bounds) + 0.01))]) for g in geoms[multi]]
    flag = rng.integers(0, 3, n)
    year = rng.integers(2021, 2025, n)
    return gpd.GeoDataFrame(
        {
            "plot_id": [f"P{i:05d}" for i in range(n)],
            "source_row": np.arange(1, n + 1, dtype="int64"),
            "coop_id": rng.integers(0, 40, n).astype("int32"),
            "status": np.where(flag == 0, "deforestation_free", "review"),
            "deforestation_free": pd.array(np.where(flag == 2, None, flag == 0), dtype="boolean"),
            "status_reason": np.where(rng.random(n) < 0.1, None, "no forest loss after 2020").astype(object),
            "area_ha": rng.random(n) * 10,
            "forest_2000_ha": np.where(rng.random(n) < 0.02, np.nan, rng.random(n) * 5),
            "first_loss_year_after_ref": pd.array(np.where(flag == 1, year, None), dtype="Int64"),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def _tables(n: int = 700, seed: int = 21) -> dict[str, pd.DataFrame]:
    """Rows of the layers without a geometry, streamed with the plots: text (with NULLs), int64, float."""
    rng = np.random.default_rng(seed)
    loss = pd.DataFrame(
        {
            "plot_id": [f"P{i:05d}" for i in rng.integers(0, 1500, n)],
            "source_row": rng.integers(1, 1500, n).astype("int64"),
            "product": "hansen_gfc",
            "year": rng.integers(2001, 2025, n).astype("int64"),
            "loss_ha": rng.random(n),
        }
    )
    issues = pd.DataFrame(
        {
            "plot_id": [f"P{i:05d}" for i in rng.integers(0, 1500, n // 2)],
            "code": np.where(rng.random(n // 2) < 0.5, "overlap", "sliver"),
            "message": np.where(rng.random(n // 2) < 0.2, None, 'an issue; with a ; and "quotes"').astype(object),
        }
    )
    return {"loss_by_year": loss, "plot_issues": issues}


def _streamed(path, frame: gpd.GeoDataFrame, staging, chunks: int, metadata: dict[str, str], tables=None) -> None:
    """``frame`` written as the job writes a screening: chunks of Arrow rows with WKB geometries;
    ``tables`` (the layers without geometry, empty by default) split among the chunks."""
    attrs = pd.DataFrame(frame.drop(columns="geometry"))
    wkb, types = output_wkb(frame.geometry.to_numpy())
    loss = pd.DataFrame({"plot_id": pd.Series([], dtype=object), "year": pd.Series([], dtype="int64")})
    issues = pd.DataFrame({"plot_id": pd.Series([], dtype=object), "code": pd.Series([], dtype=object)})
    tables = tables or {"loss_by_year": loss, "plot_issues": issues}
    with ScreeningWriter(path, overwrite=False, geometry_type="MultiPolygon", staging=staging, rows=len(frame)) as w:
        for k, part in enumerate(np.array_split(np.arange(len(frame)), chunks)):
            table = arrow_table(attrs.iloc[part]).append_column("geometry", _binary(wkb[part]))
            rows = {name: t.iloc[np.array_split(np.arange(len(t)), chunks)[k]] for name, t in tables.items()}
            w.add(table, rows["loss_by_year"], rows["plot_issues"])
        w.finish(metadata)
    assert types == {"Polygon", "MultiPolygon"}


def _binary(values):
    import pyarrow as pa

    return pa.array(list(values), type=pa.binary())


def _content(path) -> dict:
    """What a GeoPackage holds of the ``plots`` layer, read with SQLite (no GDAL in between)."""
    con = sqlite3.connect(path)
    try:
        q = con.execute
        return {
            "columns": q("PRAGMA table_info(plots)").fetchall(),  # names, declared types, not null, pk
            "rows": q("SELECT * FROM plots ORDER BY fid").fetchall(),  # geometry blobs included
            "geometry": q("SELECT * FROM gpkg_geometry_columns WHERE table_name = 'plots'").fetchall(),
            "contents": q(
                "SELECT data_type, srs_id, min_x, min_y, max_x, max_y FROM gpkg_contents WHERE table_name = 'plots'"
            ).fetchall(),
            "rtree": q("SELECT * FROM rtree_plots_geom ORDER BY id").fetchall(),
            "rtree_ext": q(
                "SELECT table_name, column_name, extension_name FROM gpkg_extensions WHERE table_name = 'plots'"
            ).fetchall(),
            "triggers": sorted(
                r[0] for r in q("SELECT name FROM sqlite_master WHERE type = 'trigger' AND tbl_name = 'plots'")
            ),
            "tables": sorted(r[0] for r in q("SELECT name FROM sqlite_master WHERE type = 'table'")),
            **{
                f"{t} {what}": q(sql.format(t=t)).fetchall()
                for t in ("loss_by_year", "plot_issues")
                for what, sql in (("columns", "PRAGMA table_info({t})"), ("rows", "SELECT * FROM {t} ORDER BY fid"))
            },
            "attribute tables": q("SELECT table_name, data_type, srs_id FROM gpkg_contents ORDER BY 1").fetchall(),
        }
    finally:
        con.close()


@pytest.mark.parametrize("index_at_end", [False, True], ids=["index-in-memory", "index-at-the-end"])
@pytest.mark.parametrize("through", ["gdal-ctypes", "pyogrio"])
def test_streamed_plots_layer_equals_a_plain_write(tmp_path, monkeypatch, index_at_end, through):
    if index_at_end:  # the path of registries too large for the in-memory index
        monkeypatch.setattr(ScreeningWriter, "IN_MEMORY_INDEX_ROWS", 10)
    if through == "pyogrio":  # where pyogrio's GDAL cannot be called directly
        monkeypatch.setattr(gdal_arrow, "available", lambda: False)
    else:
        assert gdal_arrow.available(), "pyogrio's wheel ships its GDAL: it is called directly"
    frame = _frame()
    metadata = {"generator": "test", "plots_in": str(len(frame))}
    staging = tmp_path / "staging"
    staging.mkdir()
    streamed, plain = tmp_path / "streamed.gpkg", tmp_path / "plain.gpkg"
    tables = _tables()
    _streamed(streamed, frame, staging, chunks=4, metadata=metadata, tables=tables)
    write_layers(plain, {"plots": frame, **tables}, metadata)

    a, b = _content(streamed), _content(plain)
    assert len(a["rows"]) == len(frame)
    assert len(a["loss_by_year rows"]) == len(tables["loss_by_year"]) and len(a["plot_issues rows"]) == 350
    for key in a:
        assert a[key] == b[key], key
    assert len(a["rtree"]) == len(frame) and a["rtree_ext"], "a spatial index of every plot"
    # and as a reader sees it: the same frame, types included
    got = pyogrio.read_dataframe(streamed, layer="plots")
    want = pyogrio.read_dataframe(plain, layer="plots")
    pd.testing.assert_frame_equal(got, want)
    assert pyogrio.read_info(streamed, layer="plots")["layer_metadata"] == metadata
    assert list(staging.iterdir()) == [], "the staged tables are removed"


def test_streamed_rows_keep_their_order_and_nulls(tmp_path):
    """Chunks of different sizes, one of a single row: every row once, in the order given."""
    frame = _frame(n=301, seed=3)
    staging = tmp_path / "s"
    staging.mkdir()
    out = tmp_path / "out.gpkg"
    _streamed(out, frame, staging, chunks=7, metadata={"k": "v"})
    back = pyogrio.read_dataframe(out, layer="plots")
    assert back["plot_id"].tolist() == frame["plot_id"].tolist()
    assert back["status_reason"].isna().sum() == frame["status_reason"].isna().sum()
    assert shapely.equals(back.geometry.to_numpy(), frame.geometry.to_numpy()).all()


def test_gdal_errors_are_raised_with_gdals_message_and_the_file(tmp_path):
    import pyarrow as pa

    schema = pa.schema([("plot_id", pa.string()), ("geometry", pa.binary())])
    where = tmp_path / "no-such-folder" / "out.gpkg"
    with pytest.raises(gdal_arrow.WriteError, match="no-such-folder"):
        with gdal_arrow.LayerWriter(
            where, "plots", schema, geometry_name="geometry", geometry_type="MultiPolygon", crs="EPSG:4326",
            dataset_options={},
        ):  # fmt: skip
            pass
    out = tmp_path / "out.gpkg"
    names = ["plot_id", "extra", "geometry"]
    bad = pa.record_batch([pa.array(["A"]), pa.array([1]), pa.array([b"\x01"], type=pa.binary())], names=names)
    gdal_says = "Cannot find OGR field for Arrow array extra"
    with pytest.raises(gdal_arrow.WriteError, match=f"cannot write 1 row to the layer plots: .*{gdal_says}"):
        with gdal_arrow.LayerWriter(
            out, "plots", schema, geometry_name="geometry", geometry_type="MultiPolygon", crs="EPSG:4326",
            dataset_options={},
        ) as w:  # fmt: skip
            w.write(bad)
