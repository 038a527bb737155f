"""Loss patches: exact areas adding up to each plot's loss after the reference year, their
geometry and depth, and the edge_only_loss flag (hand-built rasters; the real Hansen clips)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
from conftest import PX, pixel_box, write_raster

from pipeline.config import ScreeningConfig
from pipeline.engine.coverage import Grid
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.io.plots import normalise
from pipeline.io.rasters import open_product
from pipeline.stages.patches import _cell_unions, label_cells, metres_per_degree
from pipeline.stages.screening import screen_plots

X0, Y0 = -76.5, -8.0


def plots_of(geoms, ids=None):
    ids = ids or [f"P{i}" for i in range(len(geoms))]
    return normalise(gpd.GeoDataFrame({"plot_id": ids}, geometry=list(geoms), crs="EPSG:4326"))


def product(tmp_path, loss, cover=None):
    loss = np.asarray(loss, dtype="uint8")
    cover = np.full(loss.shape, 90, dtype="uint8") if cover is None else np.asarray(cover, dtype="uint8")
    lp = write_raster(tmp_path / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp_path / "treecover2000.tif", cover, x0=X0, y0=Y0)
    return open_product("hansen", loss_year=lp, tree_cover=cp)


def test_cells_touching_by_a_corner_are_one_patch_and_years_apart_are_not():
    # plot 0: (0,0)-(1,1) diagonal, (5,5) alone; year 1 at (0,1) apart; plot 1 the same cell as plot 0's
    plot = np.array([0, 0, 0, 0, 1])
    group = np.array([0, 0, 0, 1, 0])
    row = np.array([0, 1, 5, 0, 0])
    col = np.array([0, 1, 5, 1, 0])
    assert label_cells(plot, group, row, col).tolist() == [0, 0, 1, 2, 3]
    # a ring of cells is one patch; a cell two columns away is not
    r = np.array([0, 0, 0, 1, 1, 2, 2, 2, 0])
    c = np.array([0, 1, 2, 0, 2, 0, 1, 2, 4])
    labels = label_cells(np.zeros(9, "int64"), np.zeros(9, "int64"), r, c)
    assert len(set(labels[:8])) == 1 and labels[8] != labels[0]


def test_labels_are_scipys_8_connected_components_of_each_plot_and_year():
    from scipy import ndimage

    rng = np.random.default_rng(20)
    for density in (0.2, 0.45, 0.6):  # sparse, near percolation, most cells
        plot, group, row, col = (a.ravel() for a in np.indices((3, 2, 30, 30)))
        keep = rng.random(plot.size) < density
        plot, group, row, col = plot[keep], group[keep], row[keep], col[keep]
        labels = label_cells(plot, group, row, col)
        for p in range(3):
            for g in range(2):
                mine = (plot == p) & (group == g)
                grid = np.zeros((30, 30), dtype=bool)
                grid[row[mine], col[mine]] = True
                theirs, n = ndimage.label(grid, structure=np.ones((3, 3)))
                pairs = set(zip(labels[mine].tolist(), theirs[row[mine], col[mine]].tolist()))
                assert len(pairs) == n == len({a for a, _ in pairs})  # the same partition of the cells
        in_order = labels[np.lexsort((col, row, group, plot))]  # by plot, year, row, column
        assert list(dict.fromkeys(in_order.tolist())) == list(range(labels.max() + 1))  # numbered as first met


def test_patches_add_up_to_the_loss_after_the_reference_year_with_exact_areas(tmp_path):
    loss = np.zeros((20, 20), dtype="uint8")
    loss[1:3, 1:4] = 22  # a 2 x 3 block lost in 2022, its top row and left column cut by the plot
    loss[3, 4] = 22  # touching it by a corner: the same patch
    loss[10:12, 10] = 23  # another year
    loss[10, 11] = 22  # beside it, another year: its own patch
    loss[15, 15] = 19  # before the reference year: no patch
    loss[6, 6] = 21
    p = product(tmp_path, loss)
    plot = pixel_box(1.5, 1.5, 14.25, 16.5)  # cuts cells at its edges: fractions
    other = pixel_box(9.5, 9.5, 10.5, 10.5)  # overlaps one lost cell of the first
    res = screen_plots(plots_of([plot, other]), p)
    patches = res.loss_patches
    first = patches[patches["plot_id"] == "P0"]
    assert sorted(first["year"].tolist()) == [2021, 2022, 2022, 2023]
    after = res.plots.set_index("plot_id")["loss_after_ref_ha"]
    for pid, group in patches.groupby("plot_id"):
        assert group["area_ha"].sum() == pytest.approx(after[pid], abs=1e-9)
    # by hand: the 2022 block's top row and left column are cut in half by the plot at 1.5 px
    rows = pixel_row_areas(Y0, PX, PX, 0, 20)
    block = (0.25 + 0.5 + 0.5) * rows[1] + (0.5 + 1 + 1) * rows[2] + rows[3]
    big = first[(first["year"] == 2022) & (first["cells"] == 7)]
    assert len(big) == 1 and big["area_ha"].iloc[0] == pytest.approx(block / M2_PER_HA, rel=1e-9)
    # its geometry: the cells clipped to the plot, with the same area (planar in degrees)
    g = big.geometry.iloc[0]
    assert shapely.within(g, plot.buffer(1e-12)) and g.is_valid
    parts = shapely.get_parts(g)  # the block and the cell touching it by a corner: rectangles, cells dissolved
    assert len(parts) == 2 and all(len(shapely.normalize(p).simplify(0).exterior.coords) == 5 for p in parts)
    assert g.area == pytest.approx((1.25 + 2.5 + 1) * PX * PX, rel=1e-9)
    # the other plot holds only a quarter of a 2023 cell
    second = patches[patches["plot_id"] == "P1"]
    assert second["year"].tolist() == [2023] and second["cells"].tolist() == [1]
    assert second["share_of_plot_pct"].iloc[0] == pytest.approx(25.0, rel=1e-3)
    # written as a layer of the screening, one feature per patch
    assert set(patches.columns) >= {"plot_id", "product", "year", "area_ha", "max_distance_from_edge_m"}


def test_depth_of_a_patch_from_the_plot_boundary(tmp_path):
    loss = np.zeros((40, 40), dtype="uint8")
    loss[20, 20] = 22  # the centre cell of a 41 x 41 px plot
    loss[0:40, 0] = 22  # a strip along its west edge, inside the plot by half a cell
    p = product(tmp_path, loss)
    plot = pixel_box(-0.5, -0.5, 40.5, 40.5)
    res = screen_plots(plots_of([plot]), p)
    patches = res.loss_patches.sort_values("cells")
    mx, my = metres_per_degree(np.array([Y0 - 20 * PX]))
    centre_depth = 20.5 * PX * min(mx[0], my[0])  # the far side of the centre cell, towards the nearest side
    assert patches["max_distance_from_edge_m"].iloc[0] == pytest.approx(centre_depth, abs=0.1)
    # the strip reaches 1.5 px in from the west edge (~41 m), deeper at its middle rows than 1.5 px? no:
    # its cells span columns -0.5..1 of the plot, i.e. 1.5 px from the west boundary
    assert patches["max_distance_from_edge_m"].iloc[1] == pytest.approx(1.5 * PX * mx[0], abs=0.1)
    assert not res.plots["edge_only_loss"].iloc[0]


def test_a_plot_shifted_20_m_into_its_neighbours_forest_gets_edge_only_loss(tmp_path):
    # The neighbour's forest east of x = 60 px was cleared in 2022; the plot is drawn 20 m too far east.
    loss = np.zeros((60, 120), dtype="uint8")
    loss[:, 60:] = 22
    p = product(tmp_path, loss)
    lat = Y0 - 30 * PX
    shift = 20 / metres_per_degree(np.array([lat]))[0][0] / PX  # 20 m in pixels of longitude
    true_plot = pixel_box(20, 10, 60, 50)
    shifted = pixel_box(20 + shift, 10, 60 + shift, 50)
    deep = pixel_box(40, 10, 80, 50)  # a plot really half in the cleared forest
    res = screen_plots(plots_of([true_plot, shifted, deep], ["true", "shifted", "deep"]), p)
    plots = res.plots.set_index("plot_id")
    assert plots.loc["true", "status"] == "deforestation_free" and not plots.loc["true", "edge_only_loss"]
    assert plots.loc["shifted", "status"] == "deforestation_detected"
    assert bool(plots.loc["shifted", "edge_only_loss"])
    assert (
        "all loss within 30 m of the boundary: check the boundary before the forest"
        in (plots.loc["shifted", "status_reason"])
    )
    patch = res.loss_patches.set_index("plot_id").loc["shifted"]
    assert patch["max_distance_from_edge_m"] == pytest.approx(20.0, abs=0.1)
    assert plots.loc["deep", "status"] == "deforestation_detected" and not plots.loc["deep", "edge_only_loss"]
    assert "boundary" not in plots.loc["deep", "status_reason"]


def test_loss_patches_layer_in_the_screening_geopackage(tmp_path, hansen_pair):
    from pipeline.cli import main

    loss = np.zeros((30, 30), dtype="uint8")
    loss[5:8, 5:9] = 21
    loss[20, 20] = 23
    lp, cp = hansen_pair(loss, np.full((30, 30), 80, "uint8"))
    plots = plots_of([pixel_box(2, 2, 25, 25), pixel_box(26, 26, 29, 29)])
    src = tmp_path / "plots.gpkg"
    plots.drop(columns=["source_row"]).to_file(src)
    out = tmp_path / "screening.gpkg"
    rc = main(["-q", "screen", "--plots", str(src), "--loss-year", str(lp), "--tree-cover", str(cp), "--out", str(out)])
    assert rc == 0
    assert "loss_patches" in pyogrio.list_layers(out)[:, 0]
    layer = pyogrio.read_dataframe(out, layer="loss_patches")
    screened = pyogrio.read_dataframe(out, layer="plots").set_index("plot_id")
    assert layer.crs.to_epsg() == 4326 and (layer.geom_type == "MultiPolygon").all()
    assert len(layer) == 2 and sorted(layer["year"]) == [2021, 2023]
    assert layer["area_ha"].sum() == pytest.approx(screened.loc["P0", "loss_after_ref_ha"], abs=1e-9)
    assert "edge_only_loss" in screened.columns


def _patches_add_up(res):
    after = res.plots.set_index("plot_id")["loss_after_ref_ha"].fillna(0.0)
    sums = res.loss_patches.groupby("plot_id")["area_ha"].sum().reindex(after.index).fillna(0.0)
    assert np.abs(sums - after).max() < 1e-6
    return sums


@pytest.mark.realdata
def test_patches_add_up_on_the_real_hansen_clips(real_data):
    d = real_data / "hansen-clip-dominican-republic"
    p = open_product(
        "hansen",
        loss_year=d / "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif",
        tree_cover=d / "Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif",
        last_year=2023,
    )
    whole = normalise(pyogrio.read_dataframe(d / "gfw_sample.gpkg")).geometry.iloc[0]
    first = screen_plots(plots_of([whole]), p)
    assert _patches_add_up(first).iloc[0] > 1
    # plots of a few hectares around the largest patches, cut by their edges (coverage fractions)
    largest = first.loss_patches.nlargest(12, "area_ha").geometry
    small = [shapely.box(*(np.array(g.centroid.coords[0] * 2) + [-0.0013, -0.0011, 0.0012, 0.0009])) for g in largest]
    res = screen_plots(plots_of(small), p)
    assert (_patches_add_up(res) > 0).sum() == len(small)
    assert (res.loss_patches["max_distance_from_edge_m"] >= 0).all()

    v = real_data / "hansen-clip-vietnam-laos"
    p = open_product(
        "hansen",
        loss_year=v / "pkgTest_lossyear.tif",
        tree_cover=v / "pkgTest_treecover2000.tif",
        last_year=2018,
    )
    plots = normalise(pyogrio.read_dataframe(v / "aoi_polys.gpkg"), id_column="id")
    res = screen_plots(plots, p, ScreeningConfig(reference_year=2015))
    assert (_patches_add_up(res) > 0).sum() > 0


def test_a_large_plot_measured_window_by_window_keeps_the_same_cells(tmp_path):
    from pipeline.config import ForestDefinition
    from pipeline.engine.zonal import measure_polygon, measure_product

    rng = np.random.default_rng(7)
    loss = np.where(rng.random((40, 40)) < 0.2, rng.integers(18, 24, (40, 40)), 0).astype("uint8")
    p = product(tmp_path, loss)
    plot = pixel_box(1.3, 2.6, 37.2, 38.9)
    whole = measure_product(np.array([plot], dtype=object), p, ForestDefinition(), cells_from_year=2021)
    windows = measure_polygon(plot, p, ForestDefinition(), window=7, cells_from=2021 - p.spec.first_year)
    a, b = whole.loss_cells(), windows.loss_cells()
    assert len(a) == len(b) > 20
    ka, kb = np.lexsort((a.col, a.row)), np.lexsort((b.col, b.row))
    for f in ("row", "col", "year_index"):
        assert (getattr(a, f)[ka] == getattr(b, f)[kb]).all()
    np.testing.assert_allclose(a.m2[ka], b.m2[kb], rtol=1e-12)
    after = whole.loss[0, 2021 - p.spec.first_year :].sum()
    assert a.m2.sum() == pytest.approx(after, rel=1e-12)


def test_an_incremental_run_keeps_the_patches_of_reused_plots(tmp_path):
    loss = np.zeros((20, 20), dtype="uint8")
    loss[3:6, 3:6] = 22
    p = product(tmp_path, loss)
    plots = plots_of([pixel_box(1, 1, 9, 9), pixel_box(10, 10, 18, 18)])
    first = screen_plots(plots, p)
    again = screen_plots(plots, p, previous=first.plots)
    assert again.reused == 2
    cols = ["plot_id", "year", "area_ha", "max_distance_from_edge_m"]
    assert again.loss_patches[cols].equals(first.loss_patches[cols]) and len(first.loss_patches) == 1


def test_cell_unions_are_the_coverage_union_of_each_groups_squares():
    grid = Grid(-75.0, -8.0, PX, PX)
    rng = np.random.default_rng(5)
    # each group: distinct cells of a 12 x 12 window, dense enough for holes, corners and parts
    picks = [rng.choice(144, rng.integers(1, 60), replace=False) for _ in range(60)]
    row, col = np.divmod(np.concatenate(picks), 12)
    sizes = np.array([len(p) for p in picks])
    bounds = np.r_[0, np.cumsum(sizes)]
    got = _cell_unions(row, col, bounds, grid)
    for k in range(len(sizes)):
        r, c = row[bounds[k] : bounds[k + 1]], col[bounds[k] : bounds[k + 1]]
        left, top = grid.x0 + c * grid.dx, grid.y0 - r * grid.dy
        squares = shapely.box(left, grid.y0 - (r + 1) * grid.dy, grid.x0 + (c + 1) * grid.dx, top)
        want = shapely.coverage_union_all(squares)
        assert shapely.equals(got[k], want), k
        assert shapely.area(got[k]) == pytest.approx(len(r) * PX * PX, rel=1e-9)


def test_deepest_distance_is_the_depth_of_the_patchs_deepest_point():
    # Against a grid of points 0.5 m apart: the deepest of those inside the patch is a lower bound;
    # the deepest of those within a cell of it, plus half a cell's diagonal, an upper bound. GEOS's
    # buffers simplify the plot's outline by up to 1 % of their distance.
    from pipeline.stages.patches import DISTANCE_TOLERANCE_M, deepest_distance

    rng = np.random.default_rng(6)
    plots, patches = [], []
    for _ in range(40):
        angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
        radii = rng.uniform(40, 120, 9)
        plot = shapely.make_valid(shapely.Polygon(np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])))
        x, y = rng.uniform(-60, 60, 2)
        patch = shapely.intersection(plot, shapely.box(x, y, x + rng.uniform(5, 60), y + rng.uniform(5, 60)))
        if not patch.is_empty:
            plots.append(plot)
            patches.append(patch)
    assert len(patches) > 20
    got = deepest_distance(np.array(patches, dtype=object), np.array(plots, dtype=object))
    step = 0.5
    for patch, plot, depth in zip(patches, plots, got):
        x0, y0, x1, y1 = patch.bounds
        xx, yy = np.meshgrid(np.arange(x0 - step, x1 + 2 * step, step), np.arange(y0 - step, y1 + 2 * step, step))
        points = shapely.points(xx.ravel(), yy.ravel())
        deep = shapely.distance(points, plot.boundary)
        inside = shapely.intersects(patch, points)
        near = shapely.distance(patch, points) <= step / np.sqrt(2)
        lower, upper = deep[inside].max(), deep[near].max() + step / np.sqrt(2)
        assert lower - DISTANCE_TOLERANCE_M <= depth <= 1.01 * upper + DISTANCE_TOLERANCE_M


def test_edge_only_from_the_patches_depths_is_the_exact_buffer_test():
    # Patches reaching 24-36 m into square plots: the depths settle most; those within the margin
    # around 30 m are tested with the buffer. Without depths, every patch is tested: same answer.
    from pipeline.stages.patches import deepest_distance, edge_only, local_metres

    lat = Y0 - 30 * PX
    mx, my = metres_per_degree(np.array([lat]))
    rows, plots, patches = [], {}, []
    for i, reach_m in enumerate(np.linspace(24.0, 36.0, 49)):
        x0 = X0 + i * 0.01
        plot = shapely.box(x0, lat - 0.002, x0 + 0.002, lat)  # ~220 m a side
        depth_deg = reach_m / mx[0]
        patches.append(shapely.box(x0, lat - 0.0015, x0 + depth_deg, lat - 0.0005))  # from the west edge inward
        plots[i] = plot
        rows.append(i)
    geoms_by_row = pd.Series(plots)
    frame = gpd.GeoDataFrame({"source_row": rows}, geometry=patches, crs="EPSG:4326")
    plot_geoms = geoms_by_row.loc[rows].to_numpy()
    c = shapely.bounds(plot_geoms)
    lon0, lat0 = (c[:, 0] + c[:, 2]) / 2, (c[:, 1] + c[:, 3]) / 2
    depth = deepest_distance(
        local_metres(np.array(patches, dtype=object), lon0, lat0), local_metres(plot_geoms, lon0, lat0)
    )
    with_depth = frame.assign(max_distance_from_edge_m=np.round(depth, 2))
    exact = edge_only(frame, geoms_by_row, 30.0)
    assert edge_only(with_depth, geoms_by_row, 30.0).equals(exact)
    assert exact.any() and not exact.all()
    clear = np.abs(depth - 30.0) > 0.1  # the reach of 30 m itself may fall either side
    assert exact.to_numpy()[clear].tolist() == (depth < 30.0)[clear].tolist()
