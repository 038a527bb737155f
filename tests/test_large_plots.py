"""Large plots, window by window: the same figures as the whole-plot computation, in bounded memory."""

import numpy as np
import pytest
import shapely

from pipeline.config import ExecutionConfig, ForestDefinition
from pipeline.engine import zonal
from pipeline.engine.coverage import Grid, coverage_fractions, polygon_pieces, window_coverage
from pipeline.engine.zonal import large_windows, measure_polygon, measure_product
from pipeline.io.rasters import open_product

PX = 0.001
X0, Y0 = -76.5, -8.0
N = 300
GRID = Grid(X0, Y0, PX, PX)


def blob(cx, cy, radius, seed=3, holes=True):
    """An irregular polygon of ``radius`` pixels with a hole and a second part."""
    rng = np.random.default_rng(seed)
    ang = np.sort(rng.uniform(0, 2 * np.pi, 40))
    rad = radius * rng.uniform(0.6, 1.0, 40) * PX
    shell = shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)])
    g = shapely.make_valid(shell)
    if holes:
        g = g.difference(shapely.Point(cx, cy).buffer(radius * 0.2 * PX))
        g = g.union(shapely.box(cx + radius * 1.1 * PX, cy, cx + radius * 1.3 * PX, cy + radius * 0.4 * PX))
    return g


@pytest.fixture(scope="module")
def product(memory_raster):
    rng = np.random.default_rng(11)
    loss = rng.choice([0, 0, 0, 0, 3, 12, 19, 21, 22, 24], (N, N)).astype("uint8")
    loss[:5, :5] = 255  # nodata
    cover = rng.integers(0, 101, (N, N)).astype("uint8")
    return open_product(
        "hansen",
        kind="hansen",
        loss_year=memory_raster(loss, x0=X0, y0=Y0, px=PX, nodata=255),
        tree_cover=memory_raster(cover, x0=X0, y0=Y0, px=PX),
    )


def test_window_coverage_is_the_coverage_cell_for_cell():
    g = blob(X0 + 150 * PX, Y0 - 150 * PX, 90)
    cov = coverage_fractions([g], GRID)
    whole = np.zeros((N + 2, N + 2))
    whole[cov.row + 1, cov.col + 1] = cov.fraction
    pieces = polygon_pieces(g, GRID)
    for r0, c0, h, w in [(40, 50, 37, 81), (0, 0, 300, 300), (150, 10, 60, 5), (200, 230, 1, 70)]:
        got = window_coverage(pieces.band(r0, h), r0, c0, h, w)
        np.testing.assert_allclose(got, whole[r0 + 1 : r0 + 1 + h, c0 + 1 : c0 + 1 + w], atol=1e-12)
    tiles = large_windows(pieces, 64)
    assert len({t[:2] for t in tiles}) == len(tiles)
    assert sum(h * w for _, _, h, w in tiles) == pieces.height * pieces.width
    assert all(r % 64 == 0 or r == pieces.row0 for r, *_ in tiles)


@pytest.mark.parametrize("patch_ha", [0.0, 0.5])
def test_a_plot_measured_in_windows_has_the_figures_of_the_whole_plot(product, patch_ha):
    forest = ForestDefinition(min_forest_patch_ha=patch_ha)
    g = blob(X0 + 140 * PX, Y0 - 160 * PX, 100)
    whole = measure_product(np.array([g], dtype=object), product, forest)
    seen = []
    windowed = measure_polygon(g, product, forest, window=48, progress=lambda done, total: seen.append((done, total)))
    for f in ("total", "valid", "forest", "loss", "missing", "invalid"):
        np.testing.assert_allclose(getattr(windowed, f), getattr(whole, f), rtol=1e-12, atol=1e-6)
    assert whole.forest[0] > 1e6 and whole.loss.sum() > 1e5 and whole.invalid[0] == 0
    assert seen[-1][0] == seen[-1][1] > 20 and [d for d, _ in seen] == list(range(1, len(seen) + 1))
    # the same on another scheduler, bit for bit
    again = measure_polygon(g, product, forest, ExecutionConfig(scheduler="local", workers=1), window=48)
    assert all(np.array_equal(getattr(again, f), getattr(windowed, f)) for f in zonal.PlotStats.FIELDS)


def test_large_plots_among_small_ones_go_window_by_window(product, monkeypatch):
    forest = ForestDefinition()
    rng = np.random.default_rng(5)
    small = [
        shapely.box(x, y, x + 3.3 * PX, y + 2.7 * PX)
        for x, y in rng.uniform(-76.45, -76.25, (50, 2)) * [1, 0] + [0, Y0 - 0.2]
    ]
    big = blob(X0 + 150 * PX, Y0 - 150 * PX, 120, seed=8)
    geoms = np.array([*small[:20], big, *small[20:], None], dtype=object)
    before = measure_product(geoms, product, forest)
    calls = []
    real = zonal.measure_polygon
    monkeypatch.setattr(zonal, "LARGE_PLOT_CELLS", 10_000)
    monkeypatch.setattr(zonal, "measure_polygon", lambda g, *a, **k: calls.append(g) or real(g, *a, **k))
    after = measure_product(geoms, product, forest)
    assert calls == [big]
    keep = np.arange(len(geoms)) != 20
    for f in zonal.PlotStats.FIELDS:  # the small plots: bit for bit; the large one: to rounding
        assert np.array_equal(getattr(after, f)[keep], getattr(before, f)[keep])
        np.testing.assert_allclose(getattr(after, f)[20], getattr(before, f)[20], rtol=1e-12, atol=1e-6)


def test_a_polygon_much_larger_than_the_rasters_completes(product):
    """A 10 x 10 degree square over a 0.3 x 0.3 degree raster: windows without a tile read nothing."""
    g = shapely.box(-80, -18, -70, -8)
    stats = measure_polygon(g, product, ForestDefinition(), window=2000)
    inside = measure_product(
        np.array([shapely.box(X0, Y0 - N * PX, X0 + N * PX, Y0)], dtype=object), product, ForestDefinition()
    )
    np.testing.assert_allclose(stats.forest, inside.forest, rtol=1e-12)
    np.testing.assert_allclose(stats.loss, inside.loss, rtol=1e-12, atol=1e-6)
    assert stats.missing[0] > 0.99 * stats.total[0]
    assert stats.total[0] == pytest.approx(1.2e12, rel=0.05)  # ~1.2 million km²
