import numpy as np
import pytest
import shapely

from pipeline.geodesy import cell_areas, geodesic_areas, pixel_row_areas

HANSEN_PX = 0.00025


def test_hansen_pixel_at_equator_matches_global_forest_watch():
    # GFW's own test value for a 0.00025 degree pixel at the equator: 769.3170049535535 m2
    area = pixel_row_areas(HANSEN_PX, HANSEN_PX, HANSEN_PX, 0, 1)[0]
    assert area == pytest.approx(769.3170, abs=1e-4)
    assert area == pytest.approx(769.3170049535535, rel=1e-12)


def test_rows_are_symmetric_about_the_equator_and_shrink_poleward():
    north = pixel_row_areas(10.0, 1.0, 1.0, 0, 10)   # rows 10..0 N
    south = pixel_row_areas(0.0, 1.0, 1.0, 0, 10)    # rows 0..10 S
    np.testing.assert_allclose(north[::-1], south, rtol=1e-13)
    assert np.all(np.diff(south) < 0)


def test_whole_ellipsoid_surface():
    # WGS84 surface area: 510,065,621.724 km2; 0.5 degree rows integrate it to the metre
    rows = pixel_row_areas(90.0, 0.5, 360.0, 0, 360)
    assert rows.sum() / 1e6 == pytest.approx(510_065_621.724, abs=0.001)


def test_sphere_would_be_off_by_two_thirds_of_a_percent():
    sphere = (6378137.0 * np.radians(HANSEN_PX)) ** 2
    ellipsoid = pixel_row_areas(HANSEN_PX, HANSEN_PX, HANSEN_PX, 0, 1)[0]
    assert sphere / ellipsoid - 1 == pytest.approx(0.0067, abs=0.0003)


def test_geodesic_area_of_a_pixel_square_equals_the_cell_area():
    box = shapely.box(-76.5, -8.25, -76.5 + HANSEN_PX, -8.25 + HANSEN_PX)
    cell = cell_areas(np.array([-8.25 + HANSEN_PX]), np.array([-8.25]), HANSEN_PX)[0]
    assert geodesic_areas([box])[0] == pytest.approx(cell, rel=1e-6)


def test_geodesic_areas_handle_holes_multiparts_orientation_and_empties():
    outer = shapely.box(0, 0, 0.01, 0.01)
    hole = shapely.box(0.004, 0.004, 0.006, 0.006)
    with_hole = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    reversed_ring = shapely.Polygon(list(outer.exterior.coords)[::-1])
    a_outer, a_hole, a_with, a_rev, a_multi, a_empty, a_none = geodesic_areas(
        [outer, hole, with_hole, reversed_ring, shapely.MultiPolygon([outer, shapely.box(1, 1, 1.01, 1.01)]),
         shapely.Polygon(), None])
    assert a_with == pytest.approx(a_outer - a_hole, rel=1e-12)
    assert a_rev == pytest.approx(a_outer, rel=1e-12)
    assert a_multi > a_outer * 1.99
    assert np.isnan(a_empty) and np.isnan(a_none)


# --- ellipsoid_areas: the vectorised areas quality control uses ------------------------------------

from pipeline.geodesy import AUTHALIC_RADIUS, ellipsoid_areas  # noqa: E402
import shapely.affinity  # noqa: E402


@pytest.mark.parametrize("lat, radius_deg, rtol", [
    (0.0, 0.0005, 1e-7), (-8.3, 0.0005, 1e-7), (-8.3, 0.005, 1e-7), (13.2, 0.00003, 2e-5),
    (45.0, 0.01, 5e-7), (70.0, 0.05, 2e-6), (-8.3, 0.2, 5e-6),
])
def test_ellipsoid_areas_agree_with_karney(lat, radius_deg, rtol):
    rng = np.random.default_rng(7)
    n = 50
    ang = (np.arange(10) + rng.uniform(-0.3, 0.3, (n, 10))) * 2 * np.pi / 10
    r = radius_deg * rng.uniform(0.6, 1.4, (n, 10))
    x = rng.uniform(-77, -76, (n, 1)) + r * np.cos(ang)
    y = lat + r * np.sin(ang)
    geoms = shapely.polygons(np.stack([np.c_[x, x[:, :1]], np.c_[y, y[:, :1]]], -1))
    # (Karney's own rounding noise is ~5e-7 relative for a 27 m2 plot: the tiny case's tolerance)
    np.testing.assert_allclose(ellipsoid_areas(geoms), geodesic_areas(geoms), rtol=rtol)


def test_ellipsoid_areas_are_exact_where_the_answer_is_known():
    # a band of 1 degree of longitude between two parallels is exactly the cell area
    band = shapely.Polygon([(10, -9), (11, -9), (11, -8), (10, -8)]).segmentize(0.0001)
    # (straight edges in lon/lat along a parallel are not great circles: densify them to follow it)
    cell = cell_areas(np.array([-8.0]), np.array([-9.0]), 1.0)[0]
    assert ellipsoid_areas([band])[0] == pytest.approx(cell, rel=1e-8)
    # the whole ellipsoid, through its authalic sphere
    assert 4 * np.pi * AUTHALIC_RADIUS**2 / 1e6 == pytest.approx(510_065_621.724, abs=0.001)
    # translation in longitude changes nothing (to ~1e-10: no digits lost for tiny plots)
    small = shapely.box(0, -8.2, 0.00005, -8.19995)
    moved = [shapely.affinity.translate(small, dx) for dx in np.linspace(-179, 179, 20)]
    a = ellipsoid_areas(moved)
    assert np.ptp(a) / a.mean() < 1e-9


def test_ellipsoid_areas_handle_holes_multiparts_orientation_types_and_empties():
    outer = shapely.box(0, 0, 0.01, 0.01)
    hole = shapely.box(0.004, 0.004, 0.006, 0.006)
    with_hole = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    multi = shapely.MultiPolygon([outer, shapely.box(1, 1, 1.01, 1.01)])
    geoms = [outer, with_hole, shapely.Polygon(list(outer.exterior.coords)[::-1]), multi,
             shapely.MultiPolygon([with_hole, shapely.box(1, 1, 1.01, 1.01)]),
             shapely.Point(0, 0), shapely.LineString([(0, 0), (1, 1)]), shapely.Polygon(), None]
    got = ellipsoid_areas(geoms)
    want = geodesic_areas(geoms[:5])
    np.testing.assert_allclose(got[:5], want, rtol=1e-8)
    assert got[5] == 0 and got[6] == 0 and np.isnan(got[7]) and np.isnan(got[8])
    # more rows than a chunk: the same answers, in order
    many = np.array([outer, with_hole] * 6000, dtype=object)
    np.testing.assert_array_equal(ellipsoid_areas(many), np.tile(got[:2], 6000))
