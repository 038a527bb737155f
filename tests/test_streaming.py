"""A registry screened in chunks (pipeline.job.run) gives what screening it whole gives: every
figure, status and finding, bit for bit, whatever the chunk and batch sizes; rows come out in
location order."""

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import rasterio
import shapely
from conftest import cli_main as main

from pipeline.config import QCConfig, ScreeningConfig
from pipeline.engine.coverage import Grid
from pipeline.engine.partitions import KeyGrid
from pipeline.io.gpkg import output_wkb
from pipeline.io.plots import read_plots
from pipeline.io.rasters import open_product
from pipeline.io.spill import KEY, Position, Spill
from pipeline.job import screen as screen_job
from pipeline.job import streaming
from pipeline.stages.qc import check_plots
from pipeline.stages.screening import screen_plots


@pytest.fixture(scope="module")
def registry(default_sample, tmp_path_factory):
    """The sample's plots and, appended at the end of the file (far from their partners in file
    order), duplicated and overlapping copies of some of them, a plot wider than a raster block
    over hundreds of them, an id used again, and a point."""
    paths, _ = default_sample
    plots = pyogrio.read_dataframe(paths.plots, layer="plots")
    g = plots.geometry.to_numpy()
    rng = np.random.default_rng(4)
    pick = rng.choice(np.flatnonzero(~shapely.is_missing(g) & ~shapely.is_empty(g)), 40, replace=False)
    extra = [g[i] for i in pick[:15]]  # duplicates
    extra += [shapely.affinity.translate(g[i], 0.0004, 0.0003) for i in pick[15:35]]  # overlaps
    extra += [shapely.box(-76.7, -8.45, -76.4, -8.3)]  # wider than a 512-pixel block (0.128°)
    extra += [shapely.box(-76.7, -8.45, -76.4, -8.3)]  # ... twice
    extra += [shapely.Point(g[pick[36]].centroid)]
    ids = [f"EXTRA-{i}" for i in range(len(extra))]
    ids[0] = plots["plot_id"].iloc[5]  # an id used far away
    more = gpd.GeoDataFrame({"plot_id": ids, "note": "appended"}, geometry=extra, crs=plots.crs)
    both = pd.concat([plots, more], ignore_index=True)
    path = tmp_path_factory.mktemp("registry") / "plots.gpkg"
    pyogrio.write_dataframe(both, path, layer="plots")
    return path, paths


def run_cli(path, paths, out, *extra):
    args = ["-q", "screen", "--plots", str(path), "--loss-year", str(paths.loss_year)]
    args += ["--tree-cover", str(paths.tree_cover), "--out", str(out), *extra]
    assert main(args) == 0
    return {
        name: pyogrio.read_dataframe(out, layer=name, use_arrow=True, read_geometry=name == "plots")
        for name in ("plots", "loss_by_year", "plot_issues")
    }


def same_values(a: pd.DataFrame, b: pd.DataFrame) -> list[str]:
    """The columns whose values differ (NaN, None and NA are one missing value; numbers bit for bit)."""
    out = []
    for c in a.columns:
        x, y = a[c], b[c]
        if pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y) and not pd.api.types.is_bool_dtype(x):
            xv, yv = x.to_numpy("float64", na_value=np.nan), y.to_numpy("float64", na_value=np.nan)
            ok = (xv == yv) | (np.isnan(xv) & np.isnan(yv))
        else:
            xs = [None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in x.astype(object)]
            ys = [None if v is None or (not isinstance(v, str) and pd.isna(v)) else v for v in y.astype(object)]
            ok = np.array([p == q for p, q in zip(xs, ys)])
        if not ok.all():
            out.append(c)
    return out


def by_row(frame):
    return frame.iloc[np.argsort(frame["source_row"].to_numpy(), kind="stable")].reset_index(drop=True)


@pytest.fixture(scope="module")
def whole(registry):
    path, paths = registry
    product = open_product("hansen", kind="hansen", loss_year=str(paths.loss_year), tree_cover=str(paths.tree_cover))
    return screen_plots(read_plots(path), product, ScreeningConfig())


@pytest.fixture(scope="module")
def chunked(registry, tmp_path_factory):
    """Chunks of 150 plots, read 97 rows at a time and spilled two batches a run: many chunks,
    keys split between runs."""
    path, paths = registry
    out = tmp_path_factory.mktemp("chunked") / "s.gpkg"
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(screen_job, "BATCH_ROWS", 97)
        mp.setattr(streaming, "SPILL_RUN_ROWS", 150)
        return run_cli(path, paths, out, "--chunk-plots", "150")


def test_chunks_give_the_figures_and_findings_of_the_whole_file(whole, chunked):
    w = whole.plots.drop(columns=["screen_key", "row_digest"], errors="ignore")
    c = by_row(chunked["plots"]).drop(columns=["screen_key", "row_digest"], errors="ignore")
    assert len(c) == len(w) == w["source_row"].max()
    cols = [x for x in w.columns if x != "geometry"]
    assert list(c.columns) == list(w.columns)
    assert same_values(c[cols], w[cols]) == []
    written, _ = output_wkb(w.geometry.to_numpy())  # as drawn, single parts made multi-parts
    empty = shapely.is_empty(w.geometry.to_numpy())  # written as NULL
    got = shapely.to_wkb(c.geometry.to_numpy())
    assert [x == y for x, y, e in zip(written, got, empty) if not e] == [True] * int((~empty).sum())
    assert shapely.is_missing(c.geometry.to_numpy()[empty]).all()
    issues = by_row(chunked["plot_issues"])
    assert len(issues) == len(whole.issues) and same_values(issues, whole.issues) == []
    codes = set(issues["code"])
    assert {"duplicate_geometry", "overlap", "duplicate_id", "point_buffered", "large_plot"} <= codes
    big = issues[issues["source_row"] == len(w) - 2]  # the plot wider than a block
    assert (big["code"] == "overlap").sum() == 5 and (big["code"] == "duplicate_geometry").sum() == 1
    listed = big.loc[big["code"] == "overlap", "message"].str.extract(r"one of ([\d,]+) overlaps")[0]
    assert (listed.str.replace(",", "").astype(int) > 100).all()  # hundreds, the 5 largest listed
    loss = by_row(chunked["loss_by_year"])
    assert len(loss) == len(whole.loss_by_year) and same_values(loss, whole.loss_by_year) == []


def test_rows_come_out_in_location_order_whatever_the_chunks(registry, chunked, tmp_path):
    path, paths = registry
    one = run_cli(path, paths, tmp_path / "one.gpkg")  # one chunk
    order = chunked["plots"]["source_row"].tolist()
    assert one["plots"]["source_row"].tolist() == order
    assert order != sorted(order)
    for layer in ("plots", "plot_issues", "loss_by_year"):
        a, b = one[layer], chunked[layer]
        assert (
            same_values(a.drop(columns="geometry", errors="ignore"), b.drop(columns="geometry", errors="ignore")) == []
        )
    # the order: by the raster block under the plot screened (north to south, west to east), then by row
    plots = read_plots(path)
    with rasterio.open(paths.loss_year) as src:
        keys = KeyGrid(Grid.from_transform(src.transform))
        extent = src.bounds
    screened = check_plots(plots, QCConfig(), coverage_bounds=tuple(extent)).geometry
    geoms = np.where([s is None for s in screened], plots.geometry.to_numpy(), screened)
    bounds = np.full((len(geoms), 4), np.nan)
    ok = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    bounds[ok] = shapely.bounds(geoms[ok])
    k = keys.keys(bounds)
    rows = plots["source_row"].to_numpy()
    assert order == rows[np.lexsort((rows, k))].tolist()


def test_phases_are_reported_with_verbose(registry, tmp_path, caplog):
    import logging

    path, paths = registry
    caplog.set_level(logging.INFO, logger="pipeline")
    args = ["-v", "screen", "--plots", str(path), "--loss-year", str(paths.loss_year)]
    assert main([*args, "--tree-cover", str(paths.tree_cover), "--out", str(tmp_path / "v.gpkg")]) == 0
    line = next(r.getMessage() for r in caplog.records if r.getMessage().startswith("phases:"))
    for phase in ("read and check plots", "screen", "write", "total"):
        assert phase in line


def test_the_spill_plans_chunks_and_reads_them_back_in_key_order(tmp_path):
    import pyarrow as pa

    spill = Spill(tmp_path)
    rng = np.random.default_rng(1)
    row = 0
    for n in (50, 80, 30):
        keys = rng.choice([3, 7, 7, 7, 9, 12], n)
        spill.append(pa.table({"source_row": np.arange(row + 1, row + n + 1), KEY: keys}))
        row += n
    everything = spill.read(Position(0, 0), Position(100, 0))
    keys, rows = everything[KEY].to_numpy(), everything["source_row"].to_numpy()
    assert (np.lexsort((rows, keys)) == np.arange(len(rows))).all()  # by key, then by row
    for max_rows in (1, 20, 60, 1000):
        chunks = spill.plan(max_rows)
        parts = [spill.read(c.start, c.stop) for c in chunks]
        assert [len(p) for p in parts] == [c.rows for c in chunks]
        assert np.concatenate([p["source_row"].to_numpy() for p in parts]).tolist() == rows.tolist()
        for c, p in zip(chunks, parts):
            assert p[KEY].to_numpy().max() == c.last_key
            # a chunk holds at most max_rows unless one key's rows of one run are more
            assert c.rows <= max(max_rows, 60)
    spill.remove()
    assert not spill.path.exists()


@pytest.mark.parametrize("dictionary", [False, True])
def test_the_spill_gives_back_every_run_as_written_empty_ones_too(tmp_path, dictionary):
    # Runs are read in place from where they were written (not through the file's footer); columns
    # of a dictionary (a coded field domain) are decoded, each batch may bring its own.
    import pyarrow as pa

    spill = Spill(tmp_path)
    rng = np.random.default_rng(2)
    written = []
    for run, n in enumerate((40, 0, 25, 1)):
        names = pa.array([f"plot {run}-{i}" for i in range(n)], pa.string())
        table = pa.table(
            {
                "plot_id": names.dictionary_encode() if dictionary else names,
                "source_row": np.arange(n) + 100 * run,
                KEY: rng.choice([2, 5, 8], n),
            }
        )
        spill.append(table)
        written.append(table)
    for lo, hi in ((0, 100), (2, 6), (5, 5), (8, 9)):
        got = spill.read(Position(lo, 0), Position(hi, 0))
        want = pa.concat_tables(written)
        want = want.filter(pa.compute.and_(pa.compute.greater_equal(want[KEY], lo), pa.compute.less(want[KEY], hi)))
        key_then_row = np.lexsort((want["source_row"].to_numpy(), want[KEY].to_numpy()))
        assert got.to_pydict() == want.take(key_then_row).to_pydict()
        assert got.schema.field("plot_id").type == pa.string()
    spill.remove()


def test_a_spill_read_keeps_the_rows_picked_from_the_keep_columns_alone(tmp_path):
    # keep sees only its columns of the runs' slices, one after the other; the other columns of
    # the rows it picks come back, in (key, run, row) order.
    import pyarrow as pa

    spill = Spill(tmp_path)
    rng = np.random.default_rng(3)
    seen = []
    for run, n in enumerate((30, 0, 45, 7)):
        spill.append(
            pa.table(
                {
                    "plot_id": pa.array([f"p{run}-{i}" for i in range(n)], pa.string()),
                    "source_row": np.arange(n, dtype="int64") + 100 * run,
                    "w": rng.integers(0, 4, n),
                    KEY: rng.choice([1, 4, 6, 9], n),
                }
            )
        )

    def odd_w(table):
        seen.append(table.column_names)
        return np.flatnonzero(table.column("w").to_numpy() % 2 == 1)[::-1]  # any order

    got = spill.read(Position(4, 0), Position(9, 0), ["plot_id", "source_row"], keep=odd_w, keep_columns=["w"])
    every = spill.read(Position(4, 0), Position(9, 0))
    want = every.filter(pa.compute.equal(pa.compute.bit_wise_and(every["w"], 1), 1)).select(["plot_id", "source_row"])
    assert len(want) and got.to_pydict() == want.to_pydict()
    assert seen == [["w"]]
    assert len(spill.read(Position(4, 0), Position(9, 0), ["plot_id"], keep=lambda t: [], keep_columns=["w"])) == 0
    with pytest.raises(RuntimeError, match="closed for reading"):  # appending now would truncate the file
        spill.append(pa.table({"source_row": [1], "w": [1], KEY: [1]}))
    spill.remove()


def test_location_keys_of_touching_small_plots_are_at_most_a_row_of_blocks_apart():
    kg = KeyGrid(Grid(-80.0, 0.0, 0.00025, 0.00025))
    rng = np.random.default_rng(2)
    x, y = rng.uniform(-80, -70, 2000), rng.uniform(-10, 0, 2000)
    wa, wb = rng.uniform(0, 0.128, (2000, 2)), rng.uniform(0, 0.128, (2000, 2))
    a = np.c_[x, y, x + wa[:, 0], y + wa[:, 1]]
    centre = np.c_[x, y] + wa / 2 + rng.uniform(-1, 1, (2000, 2)) * (wa + wb) / 2  # b's box meets a's
    b = np.c_[centre - wb / 2, centre + wb / 2]
    assert kg.small(a).all() and kg.small(b).all()
    assert (np.abs(kg.keys(a) - kg.keys(b)) <= kg.width + 1).all()
    assert not kg.small(np.array([[0, 0, 0.2, 0.01]])).any()
    assert kg.keys(np.array([[np.nan] * 4, [500, 0, 501, 1]])).tolist() == [1 << 62] * 2


@pytest.mark.slow
def test_two_products_in_chunks_give_the_whole_file_figures(registry, tmp_path):
    import yaml

    path, paths = registry
    datasets = {
        "hansen": {"kind": "hansen", "loss_year": str(paths.loss_year), "tree_cover": str(paths.tree_cover)},
        "bare": {"kind": "loss_year", "loss_year": str(paths.loss_year), "last_year": 2024},
    }
    cfg = {
        "plots": {"path": str(path)},
        "datasets": datasets,
        "output": {"path": str(tmp_path / "two.gpkg")},
        "execution": {"chunk_plots": 300},
    }
    (tmp_path / "job.yaml").write_text(yaml.safe_dump(cfg, sort_keys=False))  # hansen first: the primary
    assert main(["-q", "run", "--config", str(tmp_path / "job.yaml")]) == 0
    products = [open_product(name, **d) for name, d in datasets.items()]
    whole = screen_plots(read_plots(path), products, ScreeningConfig())
    got = by_row(pyogrio.read_dataframe(tmp_path / "two.gpkg", layer="plots", read_geometry=False))
    want = whole.plots.drop(columns=["geometry"])
    assert list(got.columns) == list(want.columns) and "bare_loss_2021_ha" in got.columns
    assert (
        same_values(got.drop(columns=["screen_key", "row_digest"]), want.drop(columns=["screen_key", "row_digest"]))
        == []
    )
    loss = by_row(pyogrio.read_dataframe(tmp_path / "two.gpkg", layer="loss_by_year"))
    assert set(loss["product"]) == {"hansen", "bare"}
    assert same_values(loss, whole.loss_by_year) == []


@pytest.mark.skipif(not Path("/proc/self/smaps").exists(), reason="reads /proc/self/smaps (Linux)")
def test_a_spill_read_leaves_none_of_the_files_pages_in_memory(tmp_path):
    # A fault maps a whole folio of the page cache: the pages a read maps are let go once copied.
    import pyarrow as pa

    def resident_kb(path):
        rss, mapping = 0, None
        for line in Path("/proc/self/smaps").read_text().splitlines():
            head = line.split()
            if head and "-" in head[0] and ":" not in head[0]:
                mapping = head[-1]
            elif head and head[0] == "Rss:" and mapping == str(path):
                rss += int(head[1])
        return rss

    spill = Spill(tmp_path)
    rng = np.random.default_rng(4)
    for _ in range(3):
        n = 20_000
        spill.append(pa.table({"blob": pa.array([bytes(200)] * n, pa.binary()), KEY: rng.integers(0, 50, n)}))
    got = spill.read(Position(10, 0), Position(40, 0))
    assert len(got) > 30_000 and resident_kb(spill.path) == 0
    assert len(list(spill.scan(["blob"], rows=5_000))) == 12 and resident_kb(spill.path) == 0
    spill.remove()
