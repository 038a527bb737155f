"""The vectorised plot areas quality control uses (pipeline.engine.geodesy.geodesic_areas), against known
answers and Karney."""

from __future__ import annotations

import numpy as np
import pytest
import shapely
import shapely.affinity
from pyproj import Geod

from pipeline.engine.geodesy import cell_areas
from pipeline.engine.geodesy import geodesic_areas as plot_areas

_GEOD = Geod(ellps="WGS84")


def karney(geoms) -> np.ndarray:
    """Karney's geodesic-edge areas, one plot at a time (pyproj)."""
    out = []
    for g in geoms:
        total = 0.0
        for part in getattr(g, "geoms", [g]):
            total += abs(_GEOD.geometry_area_perimeter(part)[0])
        out.append(total)
    return np.array(out)


def test_a_lon_lat_rectangle_is_exactly_the_ellipsoid_between_its_parallels_and_meridians():
    # straight lon/lat edges along parallels ARE the parallels: the answer is the closed-form cell
    for lat0, lat1, width in [(-8.25, -8.2, 0.05), (0.0, 0.00025, 0.00025), (40.0, 41.0, 1.0), (-70.0, -60.0, 3.0)]:
        box = shapely.box(-76.5, lat0, -76.5 + width, lat1)
        cell = cell_areas(np.array([lat1]), np.array([lat0]), width)[0]
        assert plot_areas([box])[0] == pytest.approx(cell, rel=1e-10)
    # the whole ellipsoid from the equator to the pole, one degree of longitude: a²/2 · q(90°) · π/180
    band = shapely.box(0, 0, 1, 90)
    assert plot_areas([band])[0] * 360 * 2 / 1e6 == pytest.approx(510_065_621.724, abs=0.001)


@pytest.mark.parametrize(
    "lat, radius_deg, rtol",
    [
        (0.0, 0.0005, 1e-6),
        (-8.3, 0.0005, 1e-6),
        (-8.3, 0.005, 1e-6),
        (13.2, 0.00003, 5e-6),  # a 30 m2 plot: Karney's own rounding is ~5e-7 here
        (45.0, 0.01, 1e-5),
        (70.0, 0.05, 2e-4),  # large plots far from the equator: edges bow more
    ],
)
def test_plot_sized_polygons_agree_with_karney_to_a_few_millionths(lat, radius_deg, rtol):
    rng = np.random.default_rng(7)
    n = 40
    ang = (np.arange(10) + rng.uniform(-0.3, 0.3, (n, 10))) * 2 * np.pi / 10
    r = radius_deg * rng.uniform(0.6, 1.4, (n, 10))
    x = rng.uniform(-77, -76, (n, 1)) + r * np.cos(ang)
    y = lat + r * np.sin(ang)
    geoms = shapely.polygons(np.stack([np.c_[x, x[:, :1]], np.c_[y, y[:, :1]]], -1))
    np.testing.assert_allclose(plot_areas(geoms), karney(geoms), rtol=rtol)


def test_no_digits_are_lost_on_tiny_plots_anywhere():
    small = shapely.box(0, -8.2, 0.00005, -8.19995)  # ~30 m2
    moved = [shapely.affinity.translate(small, dx) for dx in np.linspace(-179, 179, 20)]
    a = plot_areas(moved)
    assert np.ptp(a) / a.mean() < 1e-9


def test_holes_multiparts_orientation_types_empties_and_chunks():
    outer = shapely.box(0, 0, 0.01, 0.01)
    hole = shapely.box(0.004, 0.004, 0.006, 0.006)
    with_hole = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    far = shapely.box(1, 1, 1.01, 1.01)
    a_outer, a_hole, a_far = plot_areas([outer, hole, far])
    got = plot_areas(
        [
            with_hole,
            shapely.Polygon(list(outer.exterior.coords)[::-1]),
            shapely.MultiPolygon([outer, far]),
            shapely.MultiPolygon([with_hole, far]),
            shapely.Point(0, 0),
            shapely.LineString([(0, 0), (1, 1)]),
            shapely.Polygon(),
            None,
        ]
    )
    np.testing.assert_allclose(
        got[:4], [a_outer - a_hole, a_outer, a_outer + a_far, a_outer - a_hole + a_far], rtol=1e-12
    )
    assert got[4] == 0 and got[5] == 0 and np.isnan(got[6]) and np.isnan(got[7])
    # more rows than a chunk: the same answers, in order
    many = np.array([outer, with_hole, None] * 6000, dtype=object)
    np.testing.assert_array_equal(plot_areas(many), np.tile([a_outer, a_outer - a_hole, np.nan], 6000))
