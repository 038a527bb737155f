"""Layers on their own grids (engine.grids): every figure against an exact oracle.

The oracle is independent of the engine's coverage and of its reading: for every cell of the fine
grid, the plot's share of the cell is a shapely intersection, the cell's area the ellipsoidal area
of its row, and each layer's value is looked up in the whole (untiled) raster with rasterio's own
transform at the cell's centre. Figures must agree to 1e-6 ha."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from conftest import PX, write_raster
from rasterio.transform import rowcol

from pipeline.config import ScreeningConfig
from pipeline.engine.coverage import Grid
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.engine.grids import OnGrid, centre_index, finest, offset, reader_on
from pipeline.io.plots import normalise
from pipeline.io.rasters import open_product
from pipeline.stages.screening import screen_plots

X0, Y0 = -76.5, -8.0
FINE = 0.000089831528  # GFC2020's pixel (10 m at the equator) beside Hansen's 0.00025 (30 m)
N = 40  # coarse pixels a side


class ArrayReader:
    """A layer held in memory: rows and columns outside the array read as no tile."""

    def __init__(self, array, grid):
        self.array, self.grid = np.asarray(array), grid

    def read_raw(self, row0, col0, height, width):
        out = np.zeros((height, width), dtype=self.array.dtype)
        present = np.zeros((height, width), dtype=bool)
        r0, c0 = max(row0, 0), max(col0, 0)
        r1, c1 = min(row0 + height, self.array.shape[0]), min(col0 + width, self.array.shape[1])
        if r1 > r0 and c1 > c0:
            out[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = self.array[r0:r1, c0:c1]
            present[r0 - row0 : r1 - row0, c0 - col0 : c1 - col0] = True
        return out, present


def test_centres_and_straddling_cells():
    coarse = Grid(0.0, 0.0, 1.0, 1.0)
    fine = Grid(0.2, 0.0, 0.4, 0.4)  # fine columns span 0.2-0.6, 0.6-1.0, 1.0-1.4, 1.4-1.8...
    # centres 0.4, 0.8, 1.2, 1.6, 2.0 (on a coarse line: the cell east of it), 2.4
    assert centre_index(fine, coarse, 0, 6, "col").tolist() == [0, 0, 1, 1, 2, 2]
    # rows go south: centres at -0.2, -0.6, -1.0 (on a line: the cell south of it)
    assert centre_index(fine, coarse, 0, 3, "row").tolist() == [0, 0, 1]
    values = np.arange(9, dtype="uint8").reshape(3, 3)
    data, present = OnGrid(ArrayReader(values, coarse), coarse, fine).read_raw(0, 0, 3, 6)
    assert data.tolist() == [[0, 0, 1, 1, 2, 2], [0, 0, 1, 1, 2, 2], [3, 3, 4, 4, 5, 5]]
    assert present.all()
    # a window reaching past the coarse raster reads no tile there
    data, present = OnGrid(ArrayReader(values, coarse), coarse, fine).read_raw(-3, 0, 4, 2)
    assert present.tolist() == [[False, False]] * 3 + [[True, True]]


def test_grids_a_whole_number_of_pixels_apart_are_one_grid():
    a = Grid(-76.5, -8.0, PX, PX)
    b = Grid(-76.5 + 3 * PX, -8.0 - 2 * PX, PX, PX)
    assert offset(b, a) == (2, 3)
    assert offset(Grid(-76.5 + 0.3 * PX, -8.0, PX, PX), a) is None
    assert offset(Grid(-76.5, -8.0, FINE, FINE), a) is None
    values = np.arange(100, dtype="int32").reshape(10, 10)
    shifted = reader_on(ArrayReader(values, a), a, b)  # b's cell (0, 0) is a's (2, 3)
    assert shifted.read_raw(0, 0, 2, 2)[0].tolist() == [[23, 24], [33, 34]]
    assert reader_on(values, a, a) is values
    assert finest([a, Grid(0, 0, FINE, FINE), Grid(0, 0, FINE, FINE)]) == Grid(0, 0, FINE, FINE)
    assert finest([a, b]) == a  # a tie: the first


def split(path, out_dir, rows=2, cols=2):
    """Write a raster as rows x cols tiles (each on the raster's own grid)."""
    out_dir.mkdir()
    with rasterio.open(path) as src:
        arr, t, nodata = src.read(1), src.transform, src.nodata
    h, w = arr.shape
    for i in range(rows):
        for j in range(cols):
            r0, r1, c0, c1 = i * h // rows, (i + 1) * h // rows, j * w // cols, (j + 1) * w // cols
            write_raster(
                out_dir / f"t_{i}_{j}.tif",
                arr[r0:r1, c0:c1],
                x0=t.c + c0 * t.a,
                y0=t.f + r0 * t.e,
                px=t.a,
                nodata=nodata,
            )
    return out_dir


@pytest.fixture(scope="module")
def mismatched(tmp_path_factory):
    """Hansen-like loss year and tree cover at 30 m, a forest mask at 10 m whose origin is off by a
    fraction of a fine cell, each split in 2 x 2 tiles on its own grid, plus the whole rasters."""
    tmp = tmp_path_factory.mktemp("grids")
    rng = np.random.default_rng(7)
    loss = rng.choice([0, 0, 0, 5, 19, 21, 22, 23], size=(N, N)).astype("uint8")
    loss[rng.random((N, N)) < 0.03] = 255
    cover = rng.integers(0, 101, size=(N, N)).astype("uint8")
    fx0, fy0 = X0 - 0.37 * FINE, Y0 + 0.61 * FINE
    nf = int(N * PX / FINE) + 2
    mask = (rng.random((nf, nf)) < 0.7).astype("uint8")
    mask[rng.random((nf, nf)) < 0.02] = 255
    whole = {
        "loss": write_raster(tmp / "loss.tif", loss, x0=X0, y0=Y0, nodata=255),
        "cover": write_raster(tmp / "cover.tif", cover, x0=X0, y0=Y0),
        "mask": write_raster(tmp / "mask.tif", mask, x0=fx0, y0=fy0, px=FINE, nodata=255),
    }
    tiles = {key: split(path, tmp / key) for key, path in whole.items()}
    return whole, tiles


def oracle(geoms, whole, threshold=10.0):
    """Per plot: (total, forest, loss by year) in ha, computed cell by cell of the fine grid."""
    with rasterio.open(whole["mask"]) as src:
        mask, mt, mnodata = src.read(1), src.transform, src.nodata
    with rasterio.open(whole["loss"]) as src:
        loss, lt = src.read(1), src.transform
    with rasterio.open(whole["cover"]) as src:
        cover = src.read(1)
    gx0, gy0, d = mt.c, mt.f, mt.a
    out = []
    for g in geoms:
        minx, miny, maxx, maxy = g.bounds
        c0, c1 = int(np.floor((minx - gx0) / d)), int(np.ceil((maxx - gx0) / d))
        r0, r1 = int(np.floor((gy0 - maxy) / d)), int(np.ceil((gy0 - miny) / d))
        areas = pixel_row_areas(gy0, d, d, r0, r1)
        total = forest = 0.0
        years: dict[int, float] = {}
        for r in range(r0, r1):
            for c in range(c0, c1):
                cell = shapely.box(gx0 + c * d, gy0 - (r + 1) * d, gx0 + (c + 1) * d, gy0 - r * d)
                frac = shapely.intersection(g, cell).area / cell.area
                if frac <= 0:
                    continue
                w = frac * areas[r - r0]
                total += w
                cx, cy = gx0 + (c + 0.5) * d, gy0 - (r + 0.5) * d
                lr, lc = rowcol(lt, cx, cy)
                m = mask[r, c]
                lv, cv = loss[lr, lc], cover[lr, lc]
                if m == mnodata or lv == 255:
                    continue
                if m == 1 and cv > threshold:
                    forest += w
                    if lv:
                        years[2000 + int(lv)] = years.get(2000 + int(lv), 0.0) + w
        out.append((total / M2_PER_HA, forest / M2_PER_HA, {y: v / M2_PER_HA for y, v in years.items()}))
    return out


def crossing_plots():
    """Plots around the point where the tiles of both grids meet, crossing their edges."""
    rng = np.random.default_rng(3)
    mid_x, mid_y = X0 + 20 * PX, Y0 - 20 * PX
    geoms = []
    for _ in range(12):
        cx, cy = mid_x + rng.uniform(-4, 4) * PX, mid_y + rng.uniform(-4, 4) * PX
        geoms.append(shapely.Point(cx, cy).buffer(rng.uniform(1.5, 6) * PX, quad_segs=5))
    geoms.append(shapely.box(mid_x - 7.3 * PX, mid_y - 6.1 * PX, mid_x + 5.2 * PX, mid_y + 8.4 * PX))
    # one fine cell straddling a coarse edge (taking the value under its centre)
    fx = X0 - 0.37 * FINE + 56 * FINE
    geoms.append(shapely.box(fx, Y0 - 30 * PX, fx + FINE, Y0 - 30 * PX + FINE))
    return geoms


def test_a_10m_mask_beside_30m_layers_against_the_exact_oracle(mismatched):
    whole, tiles = mismatched
    product = open_product(
        "hansen",
        kind="hansen",
        loss_year=str(tiles["loss"]),
        tree_cover=str(tiles["cover"]),
        forest_mask=str(tiles["mask"]),
        last_year=2024,
    )
    assert product.grid.dx == pytest.approx(FINE) and product.loss.grid.dx == pytest.approx(PX)
    geoms = crossing_plots()
    plots = normalise(
        gpd.GeoDataFrame({"plot_id": [f"p{i}" for i in range(len(geoms))]}, geometry=geoms, crs="EPSG:4326")
    )
    res = screen_plots(plots, product, ScreeningConfig(reference_year=2020)).plots
    for i, (total, forest, years) in enumerate(oracle(geoms, whole)):
        row = res.iloc[i]
        assert row["forest_2000_ha"] == pytest.approx(forest, abs=1e-6), i
        for y in range(2001, 2025):
            assert row[f"loss_{y}_ha"] == pytest.approx(years.get(y, 0.0), abs=1e-6), (i, y)
        assert row["loss_after_ref_ha"] == pytest.approx(sum(v for y, v in years.items() if y > 2020), abs=1e-6)
        assert total > 0
    assert (res["forest_2000_ha"] > 0).sum() >= 10  # the test checks something


def test_the_content_check_reads_a_layer_on_its_own_grid_in_its_own_blocks(mismatched, tmp_path):
    """A 10 m 'forest mask' holding tree cover (0-100) is refused, though it is on another grid."""
    from pipeline.errors import RasterError
    from pipeline.io.raster_content import check_content

    whole, tiles = mismatched
    with rasterio.open(whole["mask"]) as src:
        shape, t = src.shape, src.transform
    cover = np.random.default_rng(1).integers(0, 101, size=shape).astype("uint8")
    bad = write_raster(tmp_path / "cover_as_mask.tif", cover, x0=t.c, y0=t.f, px=t.a)
    product = open_product("h", kind="hansen", loss_year=whole["loss"], tree_cover=whole["cover"], forest_mask=bad)
    good = open_product(
        "h", kind="hansen", loss_year=whole["loss"], tree_cover=whole["cover"], forest_mask=whole["mask"]
    )
    geoms = np.array(crossing_plots(), dtype=object)
    check_content(good, geoms)
    with pytest.raises(RasterError, match="cover_as_mask.tif: the forest mask holds values up to 100"):
        check_content(product, geoms)
