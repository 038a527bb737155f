"""Tests of the synthetic sample generator (pipeline/sample.py)."""

from __future__ import annotations

import re
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features
import rasterio.windows
import shapely
from pyproj import Geod
from rasterio.enums import Compression
from rasterio.transform import from_origin
from shapely import STRtree

from pipeline import sample
from pipeline.sample import (
    DEFAULT_SEED,
    PIXEL_SIZE,
    SAMPLE_BOUNDS,
    SamplePaths,
    generate_sample,
)

# A 0.1° x 0.1° (400 x 400 px) window inside the default one: fast to generate.
SMALL_BOUNDS = (-76.55, -8.3, -76.45, -8.2)
SMALL_PLOTS = 200
N_DEFECTS = 3
GEOD = Geod(ellps="WGS84")


# --------------------------------------------------------------------------
# Helpers and fixtures
# --------------------------------------------------------------------------


def geodesic_ha(geom) -> float:
    """Geodesic area in hectares, holes subtracted, any ring orientation."""
    if isinstance(geom, shapely.MultiPolygon):
        return sum(geodesic_ha(part) for part in geom.geoms)
    oriented = shapely.geometry.polygon.orient(geom, sign=1.0)
    return abs(GEOD.geometry_area_perimeter(oriented)[0]) / 10_000


def read_band(path: Path) -> np.ndarray:
    with rasterio.open(path) as src:
        return src.read(1)


def read_plots(paths: SamplePaths) -> gpd.GeoDataFrame:
    return gpd.read_file(paths.plots, layer="plots")


def plot_pixels(geom, array: np.ndarray, transform, *, all_touched: bool) -> np.ndarray:
    """Values of ``array`` under ``geom`` (pixel centres inside, or all touched)."""
    height, width = array.shape
    window = (
        rasterio.windows.from_bounds(*geom.bounds, transform=transform)
        .round_offsets(op="floor")
        .round_lengths(op="ceil")
    )
    row0 = max(int(window.row_off) - 1, 0)
    col0 = max(int(window.col_off) - 1, 0)
    row1 = min(int(window.row_off + window.height) + 2, height)
    col1 = min(int(window.col_off + window.width) + 2, width)
    if row0 >= row1 or col0 >= col1:
        return array[:0, 0]
    win = rasterio.windows.Window(col0, row0, col1 - col0, row1 - row0)
    inside = rasterio.features.geometry_mask(
        [geom],
        out_shape=(row1 - row0, col1 - col0),
        transform=rasterio.windows.transform(win, transform),
        invert=True,
        all_touched=all_touched,
    )
    return array[row0:row1, col0:col1][inside]


def normal_rows(plots: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    return plots[plots["note"] == ""]


@pytest.fixture(scope="module")
def small(tmp_path_factory) -> SamplePaths:
    out = tmp_path_factory.mktemp("small") / "sample"
    return generate_sample(out, n_plots=SMALL_PLOTS, bounds=SMALL_BOUNDS)


@pytest.fixture(scope="module")
def default(default_sample) -> tuple[SamplePaths, float]:
    return default_sample  # generated once per session (conftest.py)


# --------------------------------------------------------------------------
# Output directory
# --------------------------------------------------------------------------


def test_writes_all_files_marker_and_readme(small: SamplePaths):
    assert small == SamplePaths(
        root=small.root,
        loss_year=small.root / "lossyear.tif",
        tree_cover=small.root / "treecover2000.tif",
        plots=small.root / "plots.gpkg",
    )
    for path in (small.loss_year, small.tree_cover, small.plots):
        assert path.is_file() and path.stat().st_size > 0
    marker = small.root / ".complete"
    assert marker.is_file() and marker.stat().st_size == 0
    readme = (small.root / "README.md").read_text(encoding="utf-8")
    assert "SYNTHETIC" in readme
    assert "NOT real Hansen data" in readme
    assert "cacao-screen sample" in readme
    assert str(DEFAULT_SEED) in readme
    for word in ("lossyear.tif", "treecover2000.tif", "plots.gpkg", "empty", "bowtie", "duplicated"):
        assert word in readme
    # Nothing but the sample itself is left next to it (no staging dirs).
    assert [p.name for p in small.root.parent.iterdir()] == [small.root.name]


def test_replaces_an_existing_directory(tmp_path: Path):
    out = tmp_path / "sample"
    out.mkdir()
    (out / "stale.txt").write_text("from an older sample")
    paths = generate_sample(out, n_plots=20, bounds=SMALL_BOUNDS)
    assert not (out / "stale.txt").exists()
    assert (out / ".complete").is_file()
    assert paths.root == out
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]


def test_failure_leaves_previous_sample_untouched(tmp_path: Path, monkeypatch):
    out = tmp_path / "sample"
    generate_sample(out, n_plots=20, bounds=SMALL_BOUNDS)
    before = {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()}

    calls = []

    def failing_write(*args, **kwargs):
        calls.append(args[0])
        if len(calls) == 2:  # crash after the first raster was written
            raise OSError("disk full")
        return original_write(*args, **kwargs)

    original_write = sample._write_raster
    monkeypatch.setattr(sample, "_write_raster", failing_write)
    with pytest.raises(OSError, match="disk full"):
        generate_sample(out, n_plots=20, bounds=SMALL_BOUNDS, seed=1)
    assert {str(p.relative_to(out)): p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["sample"]


def test_failure_without_previous_sample_leaves_nothing(tmp_path: Path, monkeypatch):
    def failing_write(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(sample, "_write_raster", failing_write)
    with pytest.raises(OSError):
        generate_sample(tmp_path / "sample", n_plots=20, bounds=SMALL_BOUNDS)
    assert list(tmp_path.iterdir()) == []


def test_rejects_bad_arguments(tmp_path: Path):
    with pytest.raises(ValueError):
        generate_sample(tmp_path / "a", bounds=(-76.5, -8.3, -76.50001, -8.2))
    with pytest.raises(ValueError):  # not a whole number of pixels
        generate_sample(tmp_path / "b", bounds=(-76.55, -8.3, -76.4501, -8.2))
    with pytest.raises(ValueError):
        generate_sample(tmp_path / "c", n_plots=0, bounds=SMALL_BOUNDS)
    (tmp_path / "file").write_text("x")
    with pytest.raises(FileExistsError):
        generate_sample(tmp_path / "file", n_plots=20, bounds=SMALL_BOUNDS)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file"]


# --------------------------------------------------------------------------
# Determinism
# --------------------------------------------------------------------------


def assert_same_sample(a: SamplePaths, b: SamplePaths) -> None:
    for name in ("loss_year", "tree_cover", "alerts"):
        x, y = read_band(getattr(a, name)), read_band(getattr(b, name))
        assert x.dtype == y.dtype and np.array_equal(x, y), name
    pa, pb = read_plots(a), read_plots(b)
    pd.testing.assert_frame_equal(pa.drop(columns="geometry"), pb.drop(columns="geometry"))
    assert list(pa.geometry.to_wkb()) == list(pb.geometry.to_wkb())
    assert (a.root / "README.md").read_text() == (b.root / "README.md").read_text()


def test_same_seed_gives_identical_sample(tmp_path: Path, small: SamplePaths):
    again = generate_sample(tmp_path / "again", n_plots=SMALL_PLOTS, bounds=SMALL_BOUNDS)
    assert_same_sample(small, again)


def test_different_seed_gives_different_sample(tmp_path: Path, small: SamplePaths):
    other = generate_sample(tmp_path / "other", seed=7, n_plots=SMALL_PLOTS, bounds=SMALL_BOUNDS)
    assert not np.array_equal(read_band(small.loss_year), read_band(other.loss_year))
    assert not np.array_equal(read_band(small.tree_cover), read_band(other.tree_cover))
    pa, pb = read_plots(small), read_plots(other)
    assert list(pa.geometry.to_wkb()) != list(pb.geometry.to_wkb())
    with rasterio.open(other.loss_year) as src:
        assert src.tags()["SEED"] == "7"


def test_does_not_touch_the_global_numpy_rng(tmp_path: Path):
    np.random.seed(12345)
    state = np.random.get_state()
    generate_sample(tmp_path / "s", n_plots=20, bounds=SMALL_BOUNDS)
    after = np.random.get_state()
    assert state[0] == after[0] and np.array_equal(state[1], after[1]) and state[2:] == after[2:]


# --------------------------------------------------------------------------
# Rasters
# --------------------------------------------------------------------------


@pytest.mark.parametrize("name, nodata", [("loss_year", 255), ("tree_cover", None)])
def test_raster_grid_and_format(small: SamplePaths, name: str, nodata):
    lon_min, lat_min, lon_max, lat_max = SMALL_BOUNDS
    with rasterio.open(getattr(small, name)) as src:
        assert src.driver == "GTiff"
        assert src.crs.to_epsg() == 4326
        assert (src.width, src.height, src.count) == (400, 400, 1)
        assert src.transform.almost_equals(from_origin(lon_min, lat_max, PIXEL_SIZE, PIXEL_SIZE))
        assert src.bounds == pytest.approx((lon_min, lat_min, lon_max, lat_max), abs=1e-9)
        assert src.dtypes == ("uint8",)
        assert src.nodata == nodata
        assert src.profile["tiled"] is True
        assert src.block_shapes == [(256, 256)]
        assert src.compression == Compression.deflate
        tags = src.tags()
        assert tags["SYNTHETIC"] == "yes"
        assert tags["GENERATOR"] == "cacao-screen sample"
        assert tags["SEED"] == str(DEFAULT_SEED)
        assert "NOT real Hansen data" in tags["DESCRIPTION"]


def test_raster_values(small: SamplePaths):
    loss = read_band(small.loss_year)
    cover = read_band(small.tree_cover)
    assert set(np.unique(loss)) <= set(range(25)) | {255}
    assert cover.max() <= 100
    valid = loss != 255
    lost = (loss > 0) & valid
    assert 0.03 < lost.sum() / valid.sum() < 0.20
    assert (loss[valid] > 20).sum() > 100  # loss after 2020 exists
    assert len(np.unique(loss[lost])) >= 20  # years spread over the period
    # Loss happens on forest, with only a handful of pixels on bare land.
    assert (cover[lost] > 10).mean() > 0.95
    assert (cover[lost] <= 10).sum() >= 1
    # The land cover has dense forest, open land and intermediate cover.
    assert (cover >= 80).mean() > 0.4
    assert (cover <= 30).mean() > 0.02
    assert ((cover > 30) & (cover < 70)).mean() > 0.01


def test_nodata_strip(small: SamplePaths):
    loss = read_band(small.loss_year)
    cover = read_band(small.tree_cover)
    strip = loss == 255
    per_row = strip.sum(axis=1)
    assert np.all((per_row >= 35) & (per_row <= 45))  # a ~40 px strip crossing every row
    # Contiguous in each row, and not along the outer edge.
    cols = [np.flatnonzero(row) for row in strip]
    assert all(c[-1] - c[0] + 1 == c.size for c in cols)
    assert all(0 < c[0] and c[-1] < loss.shape[1] - 1 for c in cols)
    # The tree cover stays valid (and mostly forest) under the strip.
    assert cover[strip].mean() > 50


# --------------------------------------------------------------------------
# Plots
# --------------------------------------------------------------------------


def test_plots_schema_and_identifiers(small: SamplePaths):
    plots = read_plots(small)
    assert plots.crs.to_epsg() == 4326
    assert list(plots.columns) == [
        "plot_id",
        "producer_id",
        "cooperative_id",
        "cooperative_name",
        "declared_area_ha",
        "note",
        "producer_name",
        "country",
        "place",
        "established",
        "geometry",
    ]
    assert len(plots) == SMALL_PLOTS + N_DEFECTS
    assert plots["plot_id"].str.fullmatch(r"SM-\d{5}").all()
    assert plots["producer_id"].str.fullmatch(r"P-\d{4}").all()
    assert plots["cooperative_id"].str.fullmatch(r"COOP-\d{2}").all()
    assert 2 <= plots["cooperative_id"].nunique() <= 20
    # One name per cooperative.
    assert (plots.groupby("cooperative_id")["cooperative_name"].nunique() == 1).all()
    plots_per_producer = normal_rows(plots)["producer_id"].value_counts()
    assert plots_per_producer.max() in (2, 3)
    assert (plots_per_producer == 1).mean() > 0.5
    # A producer's plots all belong to one cooperative.
    assert (plots.groupby("producer_id")["cooperative_id"].nunique() == 1).all()
    # What an EU due-diligence statement needs: one name per producer, the country, a place.
    assert (plots.groupby("producer_id")["producer_name"].nunique() == 1).all()
    assert plots["producer_name"].str.fullmatch(r"\S+ \S+.* \S+").all()
    assert (plots["country"] == "PE").all()
    assert plots["place"].str.endswith(", San Martín").all()
    assert (plots.groupby("place")["cooperative_id"].nunique() == 1).all()


def test_plot_geometries_and_areas(small: SamplePaths):
    plots = normal_rows(read_plots(small))
    assert len(plots) == SMALL_PLOTS
    assert plots.geometry.is_valid.all() and not plots.geometry.is_empty.any()
    assert set(plots.geom_type) == {"Polygon", "MultiPolygon"}
    areas = np.array([geodesic_ha(g) for g in plots.geometry])
    assert areas.min() >= 0.3 and areas.max() <= 15
    assert 1.3 < np.median(areas) < 3.0
    # Declared areas are the true ones perturbed by a few percent.
    ratio = plots["declared_area_ha"].to_numpy() / areas
    assert np.all(np.abs(ratio - 1) < 0.16) and 0.005 < np.std(ratio) < 0.06
    assert np.array_equal(plots["declared_area_ha"], plots["declared_area_ha"].round(2))
    # 6-14 vertices per ring, coordinates rounded to 7 decimals.
    for geom in plots.geometry:
        for poly in getattr(geom, "geoms", [geom]):
            assert 6 <= len(poly.exterior.coords) - 1 <= 14
    coords = shapely.get_coordinates(plots.geometry.values)
    assert np.array_equal(coords, np.round(coords, 7))


def test_normal_plots_do_not_overlap(small: SamplePaths):
    geoms = normal_rows(read_plots(small)).geometry.to_numpy()
    left, right = STRtree(geoms).query(geoms, predicate="intersects")
    assert np.array_equal(left, right)


def test_plots_are_clustered_by_cooperative(small: SamplePaths):
    plots = normal_rows(read_plots(small))
    xy = shapely.get_coordinates(shapely.centroid(plots.geometry.to_numpy()))
    coop = plots["cooperative_id"].to_numpy()
    spread_within = np.mean([xy[coop == c].std(axis=0).mean() for c in np.unique(coop)])
    assert spread_within < 0.6 * xy.std(axis=0).mean()


def test_edge_case_plots(small: SamplePaths):
    plots = normal_rows(read_plots(small))
    window = shapely.box(*SMALL_BOUNDS)
    straddling = plots.geometry.intersects(window) & ~plots.geometry.within(window)
    assert straddling.sum() >= 5
    assert plots.geometry.within(window.buffer(0.01)).all()

    loss = read_band(small.loss_year)
    with rasterio.open(small.loss_year) as src:
        transform = src.transform
    on_nodata = [(plot_pixels(g, loss, transform, all_touched=True) == 255).any() for g in plots.geometry]
    assert sum(on_nodata) >= 10

    areas = np.array([geodesic_ha(g) for g in plots.geometry])
    assert ((areas >= 0.3) & (areas <= 0.5)).sum() >= 3
    with_holes = [g for g in plots.geometry if g.geom_type == "Polygon" and len(g.interiors) > 0]
    assert len(with_holes) == 1
    multi = plots.geometry[plots.geom_type == "MultiPolygon"]
    assert len(multi) == 1 and len(multi.iloc[0].geoms) == 2


def test_defective_rows(small: SamplePaths):
    plots = read_plots(small)
    assert (plots["note"].iloc[:-N_DEFECTS] == "").all()
    defects = plots.iloc[-N_DEFECTS:]
    assert (defects["note"].str.startswith("DEFECT")).all()

    empty, bowtie, duplicate = (defects.iloc[i] for i in range(3))
    # The empty geometry survives the GeoPackage round trip as an empty
    # geometry (not as a missing one).
    assert empty.geometry is not None and empty.geometry.is_empty
    assert "empty" in empty["note"]
    # The bowtie is a self-intersecting, invalid polygon.
    assert bowtie.geometry.geom_type == "Polygon" and not bowtie.geometry.is_valid
    assert "Self-intersection" in shapely.is_valid_reason(bowtie.geometry)
    # The duplicate reuses an existing id, with a different valid geometry.
    assert duplicate.geometry.is_valid and not duplicate.geometry.is_empty
    same_id = plots[plots["plot_id"] == duplicate["plot_id"]]
    assert len(same_id) == 2 and (same_id["note"] == "").sum() == 1
    original = same_id[same_id["note"] == ""].geometry.iloc[0]
    assert not original.intersects(duplicate.geometry)
    assert plots["plot_id"].duplicated().sum() == 1
    assert 0.3 <= geodesic_ha(duplicate.geometry) <= 15


def test_districts_and_deliveries(small: SamplePaths, tmp_path: Path):
    districts = gpd.read_file(small.districts, layer="districts")
    assert list(districts["ubigeo"]) == ["229901", "229902", "229903", "229904"]
    assert list(districts.is_valid) == [True, True, False, True]  # one deliberately invalid
    repaired = shapely.make_valid(districts.geometry.iloc[2])
    assert repaired.area == pytest.approx(districts.geometry.iloc[2].area, rel=0.01)
    union = shapely.union_all([shapely.make_valid(g) for g in districts.geometry])
    plots = read_plots(small)
    normal = normal_rows(plots)
    inside = normal.geometry.within(union.buffer(1e-9))
    assert 0 < (~inside).sum() < 0.3 * len(normal)  # some plots in no district
    lon_min, _, lon_max, _ = SMALL_BOUNDS
    assert union.bounds[2] < lon_max - 0.1 * (lon_max - lon_min)
    deliveries = pd.read_csv(small.deliveries, dtype=str)
    assert list(deliveries.columns) == ["lot_id", "plot_id", "quantity_kg", "buyer", "date"]
    unknown = set(deliveries["plot_id"]) - set(plots["plot_id"])
    assert unknown == {"SM-00000"}
    assert set(plots.loc[plots["note"] != "", "plot_id"]) <= set(deliveries["plot_id"])  # defects deliver too
    assert (deliveries["quantity_kg"].astype(float) > 0).all()
    lots = deliveries.groupby("lot_id")
    assert lots["buyer"].nunique().max() == 1 and lots.size().max() <= 11
    again = generate_sample(tmp_path / "again", n_plots=SMALL_PLOTS, bounds=SMALL_BOUNDS)
    assert again.deliveries.read_bytes() == small.deliveries.read_bytes()
    assert list(gpd.read_file(again.districts).geometry.to_wkb()) == list(districts.geometry.to_wkb())


# --------------------------------------------------------------------------
# Default size (~55 km x 55 km, 2000 plots)
# --------------------------------------------------------------------------


def test_default_sample(default):
    paths, _ = default  # its speed is a benchmark's business (bench/), not a unit test's
    loss = read_band(paths.loss_year)
    with rasterio.open(paths.loss_year) as src:
        assert (src.width, src.height) == (2000, 2000)
        assert src.bounds == pytest.approx(SAMPLE_BOUNDS, abs=1e-9)
        transform = src.transform
    valid = loss != 255
    lost_share = ((loss > 0) & valid).sum() / valid.sum()
    assert 0.05 <= lost_share <= 0.15
    # Rising trend: more loss in the last decade than in the first one, and a
    # meaningful share after 2020.
    years = np.bincount(loss[valid], minlength=25)[1:25]
    assert years[14:].sum() > 1.3 * years[:10].sum()
    assert 0.1 < years[20:].sum() / years.sum() < 0.4

    plots = read_plots(paths)
    assert len(plots) == 2000 + N_DEFECTS
    assert plots["cooperative_id"].nunique() == 20
    normal = normal_rows(plots)
    areas = np.array([geodesic_ha(g) for g in normal.geometry])
    assert areas.min() >= 0.3 and areas.max() <= 15
    assert 1.6 < np.median(areas) < 2.4
    touching = np.mean(
        [
            ((px > 20) & (px != 255)).any()
            for px in (plot_pixels(g, loss, transform, all_touched=True) for g in normal.geometry)
        ]
    )
    assert 0.05 <= touching <= 0.2
    geoms = normal.geometry.to_numpy()
    left, right = STRtree(geoms).query(geoms, predicate="intersects")
    assert np.array_equal(left, right)
    assert re.search(r"seed \*\*20201231\*\*", (paths.root / "README.md").read_text())


# --------------------------------------------------------------------------
# Deforestation alerts (GFW integrated encoding)
# --------------------------------------------------------------------------


def test_the_alerts_layer_is_synthetic_and_in_the_gfw_integrated_encoding(small: SamplePaths):
    import datetime as dt

    with rasterio.open(small.alerts) as src:
        a = src.read(1)
        tags, nodata, res, bounds = src.tags(), src.nodata, src.res, src.bounds
    assert tags["SYNTHETIC"] == "yes" and "NOT real alerts" in tags["DESCRIPTION"]
    assert a.dtype == np.uint16 and nodata == 0 and res == pytest.approx((0.0001, 0.0001))
    assert bounds == pytest.approx(SMALL_BOUNDS, abs=1e-9)
    code, days = np.divmod(a[a > 0].astype(np.int64), 10_000)
    assert set(np.unique(code)) == {2, 3, 4}
    dates = np.datetime64("2014-12-31") + days.astype("timedelta64[D]")
    assert dates.min() >= np.datetime64("2019-01-01") and dates.max() <= np.datetime64("2025-10-31")
    assert (dates == np.datetime64("2020-12-31")).any()  # the patch dated on the cut-off day
    assert (dates >= np.datetime64("2025-01-01")).any()  # clearings only the alerts see
    # the tiles hold the same alerts
    tiles = sorted(small.alert_tiles.glob("gfw_integrated_alerts_r*_c*.tif"))
    assert len(tiles) == 4 and sum(int((read_band(t) > 0).sum()) for t in tiles) == int((a > 0).sum())
    readme = (small.root / "README.md").read_text(encoding="utf-8")
    assert "gfw_integrated_alerts.tif" in readme and "NOT real alerts" in readme
    # alerts follow the Hansen loss of 2019-2024 (by pixel centre): most recent loss pixels are alerted
    loss = read_band(small.loss_year)
    rows = np.minimum(((np.arange(a.shape[0]) + 0.5) * 0.0001 / PIXEL_SIZE).astype(int), loss.shape[0] - 1)
    cols = np.minimum(((np.arange(a.shape[1]) + 0.5) * 0.0001 / PIXEL_SIZE).astype(int), loss.shape[1] - 1)
    under = loss[np.ix_(rows, cols)]
    recent = (under >= 19) & (under <= 24)
    assert 0.75 < (a[recent] > 0).mean() < 1.0
    year = (dt.date(2014, 12, 31) + dt.timedelta(days=int(days[0]))).year
    assert 2019 <= year <= 2025
