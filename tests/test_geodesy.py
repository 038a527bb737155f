import numpy as np
import pytest
import shapely

from pipeline.engine.geodesy import cell_areas, geodesic_areas, pixel_row_areas

HANSEN_PX = 0.00025


def test_hansen_pixel_at_equator_matches_global_forest_watch():
    # GFW's own test value for a 0.00025 degree pixel at the equator: 769.3170049535535 m2
    area = pixel_row_areas(HANSEN_PX, HANSEN_PX, HANSEN_PX, 0, 1)[0]
    assert area == pytest.approx(769.3170, abs=1e-4)
    assert area == pytest.approx(769.3170049535535, rel=1e-12)


def test_rows_are_symmetric_about_the_equator_and_shrink_poleward():
    north = pixel_row_areas(10.0, 1.0, 1.0, 0, 10)  # rows 10..0 N
    south = pixel_row_areas(0.0, 1.0, 1.0, 0, 10)  # rows 0..10 S
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
        [
            outer,
            hole,
            with_hole,
            reversed_ring,
            shapely.MultiPolygon([outer, shapely.box(1, 1, 1.01, 1.01)]),
            shapely.Polygon(),
            None,
        ]
    )
    assert a_with == pytest.approx(a_outer - a_hole, rel=1e-12)
    assert a_rev == pytest.approx(a_outer, rel=1e-12)
    assert a_multi > a_outer * 1.99
    assert np.isnan(a_empty) and np.isnan(a_none)


def test_vectorised_areas_agree_with_karney_and_are_exact_for_lon_lat_edges():
    from pipeline.engine.geodesy import karney_areas

    rng = np.random.default_rng(5)
    geoms = []
    for lat in (-14.0, -8.3, 0.0, 5.5):
        for _ in range(50):
            n = rng.integers(3, 14)
            ang = np.sort(rng.uniform(0, 2 * np.pi, n))
            r = rng.uniform(0.0002, 0.004) * rng.uniform(0.5, 1.0, n)
            geoms.append(shapely.make_valid(shapely.Polygon(np.c_[-76.4 + r * np.cos(ang), lat + r * np.sin(ang)])))
    geoms = [g for g in geoms if g.geom_type == "Polygon" and g.area > 0]
    ours = geodesic_areas(geoms)
    # geodesic and straight lon/lat edges differ by micrometres on tropical plots of 0.1 to 500 ha
    np.testing.assert_allclose(ours, karney_areas(geoms), rtol=1e-5)
    # a box between two parallels: the analytic area of that band of the ellipsoid, exactly
    for box in (shapely.box(-55.0, -27.0, -54.0, -26.0), shapely.box(-76.5, -8.3, -76.49975, -8.29975)):
        minx, miny, maxx, maxy = box.bounds
        band = cell_areas(np.array([maxy]), np.array([miny]), maxx - minx)[0]
        assert geodesic_areas([box])[0] == pytest.approx(band, rel=1e-9)
