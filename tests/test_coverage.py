"""Exact coverage fractions, checked against exactextract (the reference) and against geometry."""

import numpy as np
import pytest
import shapely
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from pipeline.engine.coverage import Grid, coverage_fractions
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas

exactextract = pytest.importorskip("exactextract")
from exactextract.raster import NumPyRasterSource  # noqa: E402

PX = 0.00025
X0, Y0 = -76.5, -8.0
NROWS = NCOLS = 40
HANSEN = Grid(X0, Y0, PX, PX)


def _star(rng, cx, cy, radius, n):
    ang = np.sort(rng.uniform(0, 2 * np.pi, n))
    rad = radius * rng.uniform(0.35, 1.0, n)
    return shapely.make_valid(shapely.Polygon(np.c_[cx + rad * np.cos(ang), cy + rad * np.sin(ang)]))


def random_plots(seed=7, n=120):
    """Sub-pixel, pixel-edge, holed and multipart plots inside a 40 x 40 Hansen-pixel window."""
    rng = np.random.default_rng(seed)
    px = lambda c, r: (X0 + c * PX, Y0 - r * PX)  # noqa: E731
    geoms = []
    for i in range(n):
        kind = i % 6
        cx, cy = px(rng.uniform(6, 34), rng.uniform(6, 34))
        if kind == 0:  # sub-pixel
            g = _star(rng, cx, cy, PX * rng.uniform(0.05, 0.45), rng.integers(3, 9))
        elif kind == 1:  # a plot of a few pixels
            g = _star(rng, cx, cy, PX * rng.uniform(1, 5), rng.integers(5, 14))
        elif kind == 2:  # edges exactly on pixel lines
            c, r = rng.integers(5, 30, 2)
            g = shapely.box(*px(c, r + rng.integers(1, 5)), *px(c + rng.integers(1, 5), r))
        elif kind == 3:  # with a hole
            g = _star(rng, cx, cy, PX * 5, 12)
            g = g.difference(shapely.Point(cx, cy).buffer(PX * 1.7, quad_segs=4))
        elif kind == 4:  # multipart
            g = shapely.union(_star(rng, cx, cy, PX * 2, 7), _star(rng, cx + 4.3 * PX, cy - 3.1 * PX, PX * 1.2, 6))
        else:  # a vertex on a pixel corner, diagonal edges
            c, r = rng.integers(5, 30, 2)
            g = shapely.Polygon([px(c, r), px(c + 3.5, r + 1), px(c + 2, r + 4.25)])
        g = shapely.make_valid(g)
        if g.geom_type not in ("Polygon", "MultiPolygon"):
            g = shapely.MultiPolygon([p for p in getattr(g, "geoms", [g]) if p.geom_type == "Polygon"])
        geoms.append(g)
    return geoms


def exactextract_coverage(geoms):
    """{(plot, row, col): fraction} from exactextract on a NROWS x NCOLS Hansen window."""
    raster = NumPyRasterSource(np.zeros((NROWS, NCOLS)), xmin=X0, ymin=Y0 - NROWS * PX, xmax=X0 + NCOLS * PX, ymax=Y0)
    feats = [
        {"type": "Feature", "properties": {"i": i}, "geometry": shapely.geometry.mapping(g)}
        for i, g in enumerate(geoms)
    ]
    df = exactextract.exact_extract(
        raster, feats, ["coverage", "center_x", "center_y"], output="pandas", include_cols=["i"]
    )
    out = {}
    for i, cov, cx, cy in zip(df["i"], df["coverage"], df["center_x"], df["center_y"]):
        for f, x, y in zip(cov, cx, cy):
            if f > 0:
                out[(i, int(np.floor((Y0 - y) / PX)), int(np.floor((x - X0) / PX)))] = float(f)
    return out


def ours_dict(cov):
    return {(int(i), int(r), int(c)): float(f) for i, r, c, f in zip(cov.index, cov.row, cov.col, cov.fraction)}


def test_fractions_match_exactextract_cell_by_cell():
    geoms = random_plots()
    ours = ours_dict(coverage_fractions(geoms, HANSEN))
    ref = exactextract_coverage(geoms)
    keys = set(ours) | set(ref)
    diff = max(abs(ours.get(k, 0.0) - ref.get(k, 0.0)) for k in keys)
    assert diff < 1e-6  # exactextract stores fractions as float32
    # no cell is missed on either side (beyond float32 noise)
    assert {k for k in ours if ours[k] > 1e-6} <= set(ref)
    assert {k for k in ref if ref[k] > 1e-6} <= set(ours)


def test_per_plot_hectares_match_exactextract_to_a_millionth_of_a_hectare():
    geoms = random_plots(seed=11)
    areas = pixel_row_areas(Y0, PX, PX, 0, NROWS)  # the same pixel areas on both sides
    cov = coverage_fractions(geoms, HANSEN)
    ours = np.bincount(cov.index, weights=cov.fraction * areas[cov.row], minlength=len(geoms)) / M2_PER_HA
    ref = np.zeros(len(geoms))
    for (i, r, _c), f in exactextract_coverage(geoms).items():
        ref[i] += f * areas[r] / M2_PER_HA
    assert np.max(np.abs(ours - ref)) < 1e-6
    assert ours.min() > 0


def test_sum_of_fractions_is_the_planar_area_in_pixels():
    geoms = random_plots(seed=3)
    cov = coverage_fractions(geoms, HANSEN)
    total = np.bincount(cov.index, weights=cov.fraction, minlength=len(geoms))
    np.testing.assert_allclose(total, shapely.area(np.array(geoms)) / PX**2, rtol=1e-9, atol=1e-9)


def test_hand_computed_cases():
    grid = Grid(0.0, 10.0, 1.0, 1.0)
    half = shapely.box(0.0, 9.5, 1.0, 10.0)  # top half of cell (0, 0)
    straddle = shapely.box(1.5, 8.5, 2.5, 9.5)  # a unit square over four cells
    triangle = shapely.Polygon([(3, 10), (4, 10), (3, 9)])  # half of cell (0, 3)
    holed = shapely.Polygon(shapely.box(5, 5, 8, 8).exterior.coords, [shapely.box(6, 6, 7, 7).exterior.coords])
    got = ours_dict(coverage_fractions([half, straddle, triangle, holed, None, shapely.Polygon()], grid))
    assert got[(0, 0, 0)] == pytest.approx(0.5)
    assert [got[(1, r, c)] for r, c in ((0, 1), (0, 2), (1, 1), (1, 2))] == pytest.approx([0.25] * 4)
    assert got[(2, 0, 3)] == pytest.approx(0.5)
    holed_cells = {k[1:]: v for k, v in got.items() if k[0] == 3}
    assert len(holed_cells) == 8 and (3, 6) not in holed_cells  # the hole's cell (row 3, col 6) is empty
    assert all(v == pytest.approx(1.0) for v in holed_cells.values())
    assert not any(k[0] in (4, 5) for k in got)


def test_orientation_does_not_matter():
    g = random_plots(seed=5, n=30)
    flipped = [shapely.reverse(x) for x in g]
    a, b = coverage_fractions(g, HANSEN), coverage_fractions(flipped, HANSEN)
    assert ours_dict(a).keys() == ours_dict(b).keys()
    np.testing.assert_allclose(a.fraction, b.fraction, atol=1e-12)


def test_plots_beyond_any_raster_get_cells_with_negative_indices():
    g = shapely.box(X0 - 2.5 * PX, Y0 - 1 * PX, X0 + 0.5 * PX, Y0 + 1.5 * PX)
    cov = coverage_fractions([g], HANSEN)
    assert cov.col.min() == -3 and cov.row.min() == -2
    assert cov.fraction.sum() == pytest.approx(3.0 * 2.5)


coords = st.floats(min_value=-3.0, max_value=3.0, allow_nan=False, allow_infinity=False)


@settings(max_examples=150, deadline=None)
@given(st.lists(st.tuples(coords, coords), min_size=3, max_size=12), st.integers(-5, 5), st.integers(-5, 5))
def test_property_fractions_in_range_sum_to_area_and_follow_translation(points, dc, dr):
    try:
        poly = shapely.make_valid(shapely.Polygon(points))
    except shapely.errors.GEOSException:  # GEOS cannot repair some degenerate rings (1e-145 next to 1.0)
        assume(False)
    polys = [p for p in getattr(poly, "geoms", [poly]) if p.geom_type == "Polygon" and p.area > 1e-9]
    if not polys:
        return
    g = shapely.MultiPolygon(polys)
    grid = Grid(0.0, 0.0, 0.7, 0.7)
    cov = coverage_fractions([g], grid)
    assert np.all(cov.fraction > 0) and np.all(cov.fraction <= 1.0)
    assert cov.fraction.sum() * 0.49 == pytest.approx(g.area, rel=1e-9, abs=1e-9)
    moved = coverage_fractions([shapely.affinity.translate(g, dc * 0.7, -dr * 0.7)], grid)
    a = {(r + dr, c + dc): f for r, c, f in zip(cov.row, cov.col, cov.fraction)}
    b = {(r, c): f for r, c, f in zip(moved.row, moved.col, moved.fraction)}
    for k in set(a) | set(b):  # the same fractions, cell for cell (float noise aside)
        assert a.get(k, 0.0) == pytest.approx(b.get(k, 0.0), abs=1e-8)


def test_a_plots_fractions_do_not_depend_on_the_plots_beside_it():
    # Batches without holes take their rings straight from the polygons; with holes, only the
    # holed polygons' rings are split out. Either way, each plot's fractions are the same, bit for bit.
    geoms = random_plots(seed=11, n=36)
    holed = [i for i, g in enumerate(geoms) if shapely.get_num_interior_rings(g) > 0 or g.geom_type == "MultiPolygon"]
    assert holed and len(holed) < len(geoms)
    together = ours_dict(coverage_fractions(geoms, HANSEN))
    for i, g in enumerate(geoms):
        alone = {(i, *k[1:]): f for k, f in ours_dict(coverage_fractions([g], HANSEN)).items()}
        assert alone == {k: f for k, f in together.items() if k[0] == i}
