"""Quality control, one defect kind at a time: the code, the severity, and what happens to the geometry.

Every case below is a tiny plots frame built in memory (the readers' own cases, which need files,
are in test_readers.py). ``test_every_code_is_exercised`` checks that no issue code lacks a case.
"""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity

from pipeline.config import QCConfig
from pipeline.engine.geodesy import M2_PER_HA, geodesic_areas
from pipeline.io.plots import normalise
from pipeline.stages.qc import ISSUE_CODES, check_plots

LON, LAT = -76.512345678, -8.234567891  # San Martín, many decimals
M_PER_DEG = 111_320.0


def square(lon=LON, lat=LAT, side_m=100.0) -> shapely.Polygon:
    """A square of about side_m metres with its south-west corner at (lon, lat)."""
    dx = side_m / (M_PER_DEG * math.cos(math.radians(lat)))
    dy = side_m / 110_600.0
    return shapely.box(lon, lat, lon + dx, lat + dy)


def frame(geoms, ids=None, wgs84_source=True, **cols) -> gpd.GeoDataFrame:
    ids = ids if ids is not None else [f"P{i + 1}" for i in range(len(geoms))]
    gdf = gpd.GeoDataFrame({"plot_id": ids, **cols}, geometry=list(geoms), crs="EPSG:4326")
    out = normalise(gdf)
    out.attrs["wgs84_source"] = wgs84_source
    return out


def issues_of(qc, row: int) -> dict[str, str]:
    """{code: severity} of one row (1-based)."""
    i = qc.issues[qc.issues["source_row"] == row]
    return dict(zip(i["code"], i["severity"]))


def message(qc, row: int, code: str) -> str:
    i = qc.issues
    return i.loc[(i["source_row"] == row) & (i["code"] == code), "message"].item()


def ha(g) -> float:
    return geodesic_areas([g])[0] / M2_PER_HA


# --- one case per defect kind -----------------------------------------------------------------


def test_clean_plot_has_no_issue():
    plot = square()
    qc = check_plots(frame([plot], declared_area_ha=[round(ha(plot), 2)]))
    assert qc.issues.empty
    assert qc.qc_status.tolist() == ["ok"] and qc.screenable.tolist() == [True]
    assert qc.geometry[0] is plot  # screened untouched
    assert qc.area_ha[0] == pytest.approx(ha(plot), rel=1e-7)


@pytest.mark.parametrize("geom", [None, shapely.Polygon()], ids=["null", "empty"])
def test_empty_geometry_is_an_error_and_not_screened(geom):
    qc = check_plots(frame([geom, square()]))
    assert issues_of(qc, 1) == {"empty_geometry": "error"}
    assert qc.geometry[0] is None and not qc.screenable[0]
    assert qc.qc_status[0] == "error" and "no geometry" in qc.error_reason[0]
    assert issues_of(qc, 2) == {}  # the neighbour is unaffected


def test_line_is_non_polygonal_error():
    line = shapely.LineString(square().exterior.coords)
    qc = check_plots(frame([line]))
    assert issues_of(qc, 1) == {"non_polygonal": "error"}
    assert "LineString" in message(qc, 1, "non_polygonal") and "close the line" in message(qc, 1, "non_polygonal")
    assert qc.geometry[0] is None


def test_several_points_in_one_row_are_non_polygonal():
    qc = check_plots(frame([shapely.MultiPoint([(LON, LAT), (LON + 0.01, LAT)])]))
    assert issues_of(qc, 1) == {"non_polygonal": "error"}
    assert qc.geometry[0] is None


def test_bowtie_is_repaired_and_the_repair_is_screened():
    s = square(side_m=200)
    x0, y0, x1, y1 = s.bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    qc = check_plots(frame([bowtie]))
    assert issues_of(qc, 1) == {"geometry_repaired": "warning"}
    assert "Self-intersection" in message(qc, 1, "geometry_repaired")
    fixed = qc.geometry[0]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    assert ha(fixed) == pytest.approx(ha(s) / 2, rel=1e-6)  # two triangles: half the square
    assert qc.screenable[0] and qc.qc_status[0] == "warning"


def test_overlapping_parts_are_united_not_cut():
    a, b = square(side_m=100), shapely.affinity.translate(square(side_m=100), 0.0004, 0.0004)
    multi = shapely.MultiPolygon([a, b])
    assert not multi.is_valid
    qc = check_plots(frame([multi]))
    assert issues_of(qc, 1) == {"geometry_repaired": "warning"}
    assert ha(qc.geometry[0]) == pytest.approx(ha(shapely.union(a, b)), rel=1e-6)


def test_geometry_collection_keeps_its_polygons():
    plot = square()
    coll = shapely.GeometryCollection([plot, shapely.LineString([(LON, LAT), (LON + 0.01, LAT + 0.01)])])
    qc = check_plots(frame([coll]))
    assert issues_of(qc, 1) == {"geometry_repaired": "warning"}
    assert "1 other part(s) dropped" in message(qc, 1, "geometry_repaired")
    assert qc.geometry[0].equals(plot)


def test_invalid_polygon_is_an_error_when_repair_is_off():
    x0, y0, x1, y1 = square().bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    qc = check_plots(frame([bowtie]), QCConfig(repair_invalid=False))
    assert issues_of(qc, 1) == {"invalid_geometry": "error"}
    assert "Self-intersection" in qc.error_reason[0] and qc.geometry[0] is None


@pytest.mark.parametrize(
    "coords",
    [
        [(LON, LAT), (LON + 0.001, LAT + 0.001), (LON + 0.002, LAT + 0.002), (LON, LAT)],  # on a line
        [(LON, LAT), (LON, LAT), (LON, LAT), (LON, LAT)],  # at one spot
    ],
    ids=["collinear", "one-spot"],
)
def test_collapsed_polygon_is_an_error(coords):
    qc = check_plots(frame([shapely.Polygon(coords)]))
    assert issues_of(qc, 1) == {"collapsed_polygon": "error"}
    assert qc.geometry[0] is None and not qc.screenable[0]


def test_point_with_declared_area_is_screened_as_a_geodesic_circle_of_that_area():
    pt = shapely.Point(LON, LAT)
    qc = check_plots(frame([pt], declared_area_ha=[2.5]))
    assert issues_of(qc, 1) == {"point_buffered": "warning"}
    circle = qc.geometry[0]
    assert circle.geom_type == "Polygon" and circle.is_valid
    # Karney's geodesic area of the circle: the declared area within 0.1 % (in fact ~1e-8)
    assert ha(circle) == pytest.approx(2.5, rel=1e-6)
    assert qc.area_ha[0] == pytest.approx(2.5, rel=1e-6)
    # centred on the point: every vertex at the same geodesic distance from it
    from pyproj import Geod

    xy = np.asarray(circle.exterior.coords)
    _, _, dist = Geod(ellps="WGS84").inv(np.full(len(xy), LON), np.full(len(xy), LAT), xy[:, 0], xy[:, 1])
    assert np.ptp(dist) < 1e-6 and dist[0] == pytest.approx(math.sqrt(2.5e4 / math.pi), rel=2e-3)
    assert "2.5 ha (declared)" in message(qc, 1, "point_buffered")


def test_absurd_or_negative_declared_areas_are_findings_with_the_value():
    """Issue 19: a point of 5e210 ha crashed (the circle's radius overflowed); 1e9 ha drew a circle
    1,790 km across and read 16,384 windows; a negative area was silently "no declared area"."""
    plot = square()
    qc = check_plots(
        frame(
            [shapely.Point(LON, LAT), shapely.Point(LON, LAT + 0.1), shapely.Point(LON, LAT + 0.2), plot, plot],
            declared_area_ha=[5e210, 1e9, -3.0, -1.0, math.inf],
            ids=["A", "B", "C", "D", "E"],
        )
    )
    assert issues_of(qc, 1) == {"declared_area_implausible": "error"}
    assert "5e+210 ha" in message(qc, 1, "declared_area_implausible")
    assert issues_of(qc, 2) == {"declared_area_implausible": "error"} and "1e+09 ha" in message(
        qc, 2, "declared_area_implausible"
    )
    assert qc.screenable.tolist() == [False, False, True, True, True]
    # a negative area is said and ignored: the point gets the default circle
    assert issues_of(qc, 3) == {"declared_area_implausible": "warning", "point_buffered": "warning"}
    assert "-3 ha" in message(qc, 3, "declared_area_implausible") and "negative" in message(
        qc, 3, "declared_area_implausible"
    )
    assert "qc.point_default_area_ha" in message(qc, 3, "point_buffered")
    # a polygon's absurd figure is ignored too (no area_mismatch beside it), and the polygon is screened
    assert issues_of(qc, 4)["declared_area_implausible"] == "warning" and "area_mismatch" not in issues_of(qc, 4)
    assert "inf ha" in message(qc, 5, "declared_area_implausible") and "area_mismatch" not in issues_of(qc, 5)


def test_a_point_at_a_pole_is_a_finding_not_a_crash():
    """Issue 19: a point at latitude ±90 made GEOS fail (exit 1)."""
    qc = check_plots(frame([shapely.Point(LON, 90.0), shapely.Point(LON, -90.0), shapely.Point(LON, 89.9999)]))
    for row in (1, 2, 3):
        assert issues_of(qc, row) == {"coordinates_out_of_range": "error"}
        assert "pole" in message(qc, row, "coordinates_out_of_range")
    assert not qc.screenable.any()


def test_a_points_circle_wider_than_max_extent_is_refused_before_any_window():
    """The circle, not the point, is checked against qc.max_extent_deg: a point of 900,000 ha at
    60° S spans 1.9° of longitude."""
    qc = check_plots(frame([shapely.Point(LON, -60.0)], declared_area_ha=[900_000.0]))
    assert issues_of(qc, 1)["too_large_to_screen"] == "error" and not qc.screenable[0]
    assert "spans 1.9" in message(qc, 1, "too_large_to_screen")
    qc = check_plots(frame([shapely.Point(LON, 60.0)], declared_area_ha=[0.45]), QCConfig(max_extent_deg=0.0008))
    assert issues_of(qc, 1)["too_large_to_screen"] == "error" and "declared_area_implausible" not in issues_of(qc, 1)


def test_point_without_declared_area_uses_the_default():
    qc = check_plots(
        frame([shapely.Point(LON, LAT), shapely.Point(LON + 0.1, LAT)], declared_area_ha=[None, 0.0]),
        QCConfig(point_default_area_ha=1.5),
    )
    for row in (1, 2):
        assert issues_of(qc, row) == {"point_buffered": "warning"}
        assert "qc.point_default_area_ha" in message(qc, row, "point_buffered")
    assert ha(qc.geometry[0]) == pytest.approx(1.5, rel=1e-6)


def test_point_declared_over_4_ha_is_flagged_and_screened_at_its_area():
    qc = check_plots(frame([shapely.Point(LON, LAT)], Area=[6.0]))  # the EUDR GeoJSON property
    assert issues_of(qc, 1) == {"point_buffered": "warning", "point_over_4ha": "warning"}
    assert ha(qc.geometry[0]) == pytest.approx(6.0, rel=1e-6)


def test_large_plot_is_flagged_but_screened():
    big = square(side_m=1200)  # 144 ha
    qc = check_plots(frame([big]))
    assert issues_of(qc, 1) == {"large_plot": "warning"}
    assert qc.geometry[0] is big
    qc = check_plots(frame([big]), QCConfig(max_area_ha=200))
    assert qc.issues.empty


def test_declared_area_far_from_the_computed_one_is_flagged():
    plot = square(side_m=100)  # 1 ha
    qc = check_plots(frame([plot, plot.buffer(0)], ids=["A", "B"], area_ha=[1.5, 1.04]))
    assert issues_of(qc, 1) == {"area_mismatch": "warning", "duplicate_geometry": "warning"}
    assert "declared 1.5 ha (area_ha)" in message(qc, 1, "area_mismatch")
    assert "area_mismatch" not in issues_of(qc, 2)  # 4 % off: within the 10 % tolerance
    assert qc.geometry[0] is plot
    # a tighter tolerance flags the second too
    qc = check_plots(frame([plot], area_ha=[1.04]), QCConfig(area_tolerance_pct=2))
    assert issues_of(qc, 1) == {"area_mismatch": "warning"}


def test_declared_area_that_is_not_a_number_is_flagged():
    qc = check_plots(frame([square()], declared_area_ha=["about one"]))
    assert issues_of(qc, 1) == {"declared_area_unreadable": "warning"}
    assert qc.screenable[0]


def test_declared_area_column_can_be_named_and_must_exist():
    plot = square(side_m=100)
    plots = frame([plot], superficie=[3.0], area_ha=[1.0])
    assert check_plots(plots).issues.empty  # area_ha is found by its name
    qc = check_plots(plots, QCConfig(declared_area_column="superficie"))
    assert issues_of(qc, 1) == {"area_mismatch": "warning"}
    from pipeline.errors import PlotsError

    with pytest.raises(PlotsError, match="no declared-area column 'sup'.*superficie"):
        check_plots(plots, QCConfig(declared_area_column="sup"))


def test_coordinates_with_too_few_decimals_are_flagged():
    coarse = shapely.box(-76.5123, -8.2345, -76.5113, -8.2335)  # 4 decimals
    fine = shapely.box(-76.502301, -8.2345, -76.5013, -8.2335)  # one coordinate with 6
    qc = check_plots(frame([coarse, fine]))
    assert issues_of(qc, 1) == {"low_precision": "warning"}
    assert "at most 4 decimal(s)" in message(qc, 1, "low_precision")
    assert issues_of(qc, 2) == {}
    assert qc.geometry[0] is coarse
    # not checked on reprojected coordinates (their decimals say nothing about the survey)
    assert check_plots(frame([coarse], wgs84_source=False)).issues.empty


def test_holes_are_noted_but_allowed():
    outer = square(side_m=200)
    hole = shapely.affinity.scale(outer, 0.3, 0.3)
    plot = shapely.Polygon(outer.exterior.coords, [hole.exterior.coords])
    qc = check_plots(frame([plot]))
    assert issues_of(qc, 1) == {"has_holes": "info"}
    assert qc.qc_status[0] == "ok" and qc.geometry[0] is plot
    assert qc.area_ha[0] == pytest.approx(ha(outer) - ha(hole), rel=1e-6)


def test_latitude_beyond_90_that_fits_swapped_is_an_error_unless_fixed():
    good = square(lon=-8.234567, lat=-76.512345)  # (lat, lon) written as (x, y)
    swapped_plot = shapely.transform(good, lambda c: c[:, ::-1])
    bad = shapely.Polygon(
        [
            (x, y)
            for x, y in [(10.123456, 95.123456), (10.133456, 95.123456), (10.133456, 95.133456), (10.123456, 95.123456)]
        ]
    )
    qc = check_plots(frame([bad]))
    assert issues_of(qc, 1) == {"suspect_swapped_coordinates": "error"}
    assert qc.geometry[0] is None
    qc = check_plots(frame([bad]), QCConfig(fix_swapped_coordinates=True))
    assert issues_of(qc, 1) == {"swapped_coordinates_fixed": "warning"}
    fixed = qc.geometry[0]
    assert fixed.bounds == pytest.approx((95.123456, 10.123456, 95.133456, 10.133456))
    assert swapped_plot.is_valid  # (the helper)


def test_plot_outside_the_rasters_that_fits_swapped_is_flagged_and_fixed_on_request():
    plot = square()  # inside the coverage
    swapped_plot = shapely.transform(plot, lambda c: c[:, ::-1])  # lon -8, lat -76: valid, but outside
    coverage = (-77.0, -8.5, -76.0, -8.0)
    qc = check_plots(frame([plot, swapped_plot]), coverage_bounds=coverage)
    assert issues_of(qc, 1) == {}
    assert issues_of(qc, 2) == {"suspect_swapped_coordinates": "warning"}
    assert qc.geometry[1] is swapped_plot and qc.screenable[1]  # screened as it is (it will be not_assessed)
    qc = check_plots(frame([plot, swapped_plot]), QCConfig(fix_swapped_coordinates=True), coverage_bounds=coverage)
    assert issues_of(qc, 2) == {"swapped_coordinates_fixed": "warning", "duplicate_geometry": "warning"}
    assert qc.geometry[1].equals(plot)


def test_projected_coordinates_in_a_geographic_file_are_out_of_range():
    utm = shapely.box(350123.5, 9089123.5, 350223.5, 9089223.5)
    qc = check_plots(frame([utm]))
    assert issues_of(qc, 1) == {"coordinates_out_of_range": "error"}
    assert "--crs" in message(qc, 1, "coordinates_out_of_range")
    assert qc.geometry[0] is None
    inf = shapely.box(np.inf, 0, np.inf, 1)
    qc = check_plots(frame([inf]))
    assert "not finite" in message(qc, 1, "coordinates_out_of_range")


def test_a_nan_vertex_is_out_of_range_never_repaired_away():
    """Issue 10: GEOS leaves a NaN vertex out of the box, and make_valid dropped it: a 0.99 ha plot
    was screened as 0.49 ha. Any vertex that is not finite now refuses the plot."""
    xy = shapely.get_coordinates(square()).copy()
    xy[2, 0] = np.nan
    nan_polygon = shapely.polygons(xy)
    assert np.isfinite(shapely.bounds(nan_polygon)).all()  # the box hides it
    qc = check_plots(frame([nan_polygon, square(lon=LON + 0.01)]))
    assert issues_of(qc, 1) == {"coordinates_out_of_range": "error"}
    assert "vertex 3 is NaN" in message(qc, 1, "coordinates_out_of_range")
    assert qc.geometry[0] is None and qc.screenable.tolist() == [False, True]


def test_a_plot_across_the_antimeridian_is_refused_not_read_as_the_globe():
    ring = shapely.box(179.999, -16.801, 180.0, -16.8)
    crossing = shapely.Polygon([(179.999, -16.8), (-179.999, -16.8), (-179.999, -16.801), (179.999, -16.801)])
    split = shapely.MultiPolygon([ring, shapely.box(-180.0, -16.801, -179.999, -16.8)])
    near = shapely.box(179.5, -16.801, 179.501, -16.8)
    qc = check_plots(frame([crossing, split, near]))
    assert issues_of(qc, 1) == issues_of(qc, 2) == {"crosses_antimeridian": "error"}
    assert "split it at 180°" in message(qc, 1, "crosses_antimeridian")
    assert "split at 180° already" in message(qc, 2, "crosses_antimeridian")
    assert qc.screenable.tolist() == [False, False, True]


def test_a_plot_spanning_degrees_is_not_screened():
    """A row 68° wide (a fuzzed triangle) once asked the engine for 70 GiB; 0.7° (a real GFW box) is screened."""
    huge = shapely.Polygon([(-76.5, -76.5), (-76.5, -8.0), (-8.0, -76.5)])
    big = shapely.box(-55.0, -26.5, -54.29, -25.97)
    qc = check_plots(frame([huge, big]))
    assert issues_of(qc, 1) == {"too_large_to_screen": "error"}
    assert "spans 68.5°" in message(qc, 1, "too_large_to_screen")
    assert qc.screenable.tolist() == [False, True]
    assert check_plots(frame([huge]), QCConfig(max_extent_deg=90)).screenable.all()


def test_duplicate_ids_are_flagged_on_both_rows():
    qc = check_plots(frame([square(), square(lon=LON + 0.01)], ids=["X", "X"]))
    assert issues_of(qc, 1) == issues_of(qc, 2) == {"duplicate_id": "warning"}
    assert "row(s) 2" in message(qc, 1, "duplicate_id") and "row(s) 1" in message(qc, 2, "duplicate_id")
    assert qc.screenable.all()


def test_an_id_repeated_on_many_rows_gives_short_messages():
    qc = check_plots(frame([square(lon=LON + 0.002 * i) for i in range(12)], ids=["X"] * 12))
    assert (qc.issues["code"] == "duplicate_id").sum() == 12
    assert message(qc, 1, "duplicate_id") == "plot_id 'X' is also used on row(s) 2, 3, 4, 5, 6 and 6 more"


def test_missing_ids_are_generated_from_the_row_number():
    gdf = gpd.GeoDataFrame(
        {"plot_id": ["A", None, " "]},
        geometry=[square(), square(lon=LON + 0.01), square(lon=LON + 0.02)],
        crs="EPSG:4326",
    )
    plots = normalise(gdf)
    assert plots["plot_id"].tolist() == ["A", "row-2", "row-3"]
    qc = check_plots(plots)
    assert issues_of(qc, 2) == issues_of(qc, 3) == {"generated_id": "warning"}


def test_identical_geometries_are_flagged_with_the_partner():
    a = square()
    same_other_start = shapely.Polygon(list(a.exterior.coords)[2:-1] + list(a.exterior.coords)[:3])
    qc = check_plots(frame([a, square(lon=LON + 0.01), same_other_start], ids=["A", "B", "C"]))
    assert issues_of(qc, 1) == issues_of(qc, 3) == {"duplicate_geometry": "warning"}
    assert "'C' (row 3)" in message(qc, 1, "duplicate_geometry")
    assert "'A' (row 1)" in message(qc, 3, "duplicate_geometry")
    assert issues_of(qc, 2) == {}


def test_overlaps_above_the_share_of_the_smaller_plot_are_flagged_with_the_partner():
    a = square(side_m=100)
    w = a.bounds[2] - a.bounds[0]
    b = shapely.affinity.translate(a, w * 0.7)  # shares 30 % of a
    c = shapely.affinity.translate(a, w * 1.67, 0.0)  # shares 3 % of b: under the 10 % default
    d = shapely.affinity.translate(a, -w, 0.0)  # touches a along an edge: no overlap
    qc = check_plots(frame([a, b, c, d], ids=["A", "B", "C", "D"]))
    assert issues_of(qc, 1) == {"overlap": "warning"}
    assert issues_of(qc, 2) == {"overlap": "warning"}  # with A only
    msg = message(qc, 1, "overlap")
    assert "'B' (row 2)" in msg and "30.0 % of the smaller plot" in msg
    assert "'A' (row 1)" in message(qc, 2, "overlap")
    assert issues_of(qc, 3) == issues_of(qc, 4) == {}
    assert qc.geometry[0] is a  # screened as drawn
    shared = float(message(qc, 1, "overlap").split(" by ")[1].split(" ha")[0])
    assert shared == pytest.approx(ha(shapely.intersection(a, b)), abs=1e-4)
    # a lower threshold also catches the 3 % overlap
    qc = check_plots(frame([a, b, c, d], ids=["A", "B", "C", "D"]), QCConfig(overlap_min_share=0.01))
    assert issues_of(qc, 3) == {"overlap": "warning"}


def test_findings_grow_linearly_with_copies_of_each_plot():
    """Issue 10: twenty copies of each plot gave n² duplicate_geometry rows (760,760 for 1,124 plots).
    Now: one per plot (the group's size and one partner), and at most 5 overlaps per plot, with the count."""
    a = square(side_m=100)
    w = a.bounds[2] - a.bounds[0]
    b = shapely.affinity.translate(a, w * 0.7)  # overlaps a
    ring = [shapely.affinity.translate(a, w * 0.5 * math.cos(t), w * 0.5 * math.sin(t)) for t in np.arange(8)]
    geoms = [a, b, *ring]  # a overlaps b and the 8 ring plots
    copies = 20
    qc = check_plots(frame(geoms * copies, ids=[f"P{i}" for i in range(len(geoms) * copies)]))
    counts = qc.issues["code"].value_counts()
    n = len(geoms) * copies
    assert counts["duplicate_geometry"] == n  # once per plot, not 19 times
    assert counts["overlap"] <= 5 * n
    first = qc.issues[(qc.issues["source_row"] == 1) & (qc.issues["code"] == "duplicate_geometry")]
    assert first["message"].item() == "the same geometry as plot 'P10' (row 11) and 18 more row(s): 20 rows share it"
    over = qc.issues[(qc.issues["source_row"] == 1) & (qc.issues["code"] == "overlap")]["message"]
    assert len(over) == 5
    assert all("19 more row(s) with its geometry" in m and "one of 9 overlaps of this plot" in m for m in over)
    # one copy: the messages of a pair are what they always were
    qc = check_plots(frame([a, a, b], ids=["A", "A2", "B"]))
    assert message(qc, 1, "duplicate_geometry") == "the same geometry as plot 'A2' (row 2)"
    assert message(qc, 3, "overlap").startswith("overlaps plot 'A' (row 1) and 1 more row(s) with its geometry by ")


def test_a_plot_inside_another_overlaps_it_fully():
    outer = square(side_m=300)
    inner = shapely.affinity.scale(outer, 0.2, 0.2)
    qc = check_plots(frame([outer, inner], ids=["O", "I"]))
    assert "100.0 % of the smaller plot" in message(qc, 2, "overlap")


def test_plots_with_errors_are_left_out_of_the_cross_plot_checks():
    a = square()
    qc = check_plots(frame([a, shapely.LineString(a.exterior.coords)]))
    assert issues_of(qc, 1) == {}


# --- the whole ----------------------------------------------------------------------------------


def test_every_code_is_exercised_by_a_case_here_or_in_test_readers():
    import pathlib

    here = pathlib.Path(__file__).parent
    text = (here / "test_qc.py").read_text() + (here / "test_readers.py").read_text()
    for code in ISSUE_CODES:
        assert f'"{code}"' in text, code


def test_statuses_summaries_and_reasons_per_row():
    x0, y0, x1, y1 = square(lat=LAT + 0.01).bounds
    qc = check_plots(
        frame(
            [square(), None, shapely.Point(LON - 0.01, LAT), shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])],
            ids=["A", "B", "C", "C"],
        )
    )
    assert qc.qc_status.tolist() == ["ok", "error", "warning", "warning"]
    assert qc.screenable.tolist() == [True, False, True, True]
    assert qc.error_reason.tolist()[1] == "the row has no geometry or an empty one"
    assert qc.error_reason.tolist()[2] == ""
    s = qc.qc_summary.tolist()
    assert s[0] == "" and s[1].startswith("empty_geometry: ")
    assert "point_buffered: " in s[2] and "duplicate_id: " in s[2]
    # issues are sorted by row, then severity, then code
    i = qc.issues
    assert i["source_row"].is_monotonic_increasing
    assert list(i.columns) == ["plot_id", "source_row", "code", "severity", "message"]


def test_the_docs_document_every_code_with_its_severity():
    import pathlib

    readme = (pathlib.Path(__file__).resolve().parents[1] / "docs" / "qc.md").read_text()
    section = readme[readme.index("## Quality-control codes") :]
    section = section[: section.index("\n## ")]
    rows = {
        line.split("|")[1].strip(" `"): line.split("|")[2].strip()
        for line in section.splitlines()
        if line.startswith("| `")
    }
    assert rows == {code: c.severity for code, c in ISSUE_CODES.items()}
