"""pipeline.stages.baseline: hand-computed cases for every figure, on tiny frames built here."""

from datetime import date

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import shapely

from pipeline.engine.geodesy import geodesic_areas
from pipeline.errors import BaselineError, DeliveriesError, RegionsError
from pipeline.stages.baseline.groups import (
    additive_columns,
    attribute_labels,
    group_figures,
    national_figures,
    parse_group_by,
    sort_labels,
)
from pipeline.stages.baseline.monitoring import status_changes
from pipeline.stages.baseline.periods import baseline_period
from pipeline.stages.baseline.regions import assign_regions, prepare_regions, region_labels
from pipeline.stages.baseline.rings import buffer_m, ring_clusters, ring_geometries, ring_group_figures, ring_overlaps
from pipeline.stages.baseline.supply import match_deliveries, parse_deliveries, supply_figures
from pipeline.vocab import MISSING_VALUE

YEARS = [2018, 2019, 2020, 2021, 2022]


def plots_frame(rows, years=YEARS):
    """A screening-like plots frame: rows of (plot_id, status, area_ha, {year: loss}, extra attrs)."""
    recs = []
    for i, (pid, status, area, loss, attrs) in enumerate(rows):
        rec = {"plot_id": pid, "source_row": i + 1, "status": status, "area_ha": area, **attrs}
        figures = status != "invalid"
        for y in years:
            rec[f"loss_{y}_ha"] = float(loss.get(y, 0.0)) if figures else np.nan
        before = sum(v for y, v in loss.items() if y <= 2020)
        rec["forest_2000_ha"] = 10.0 if figures else np.nan
        rec["forest_ref_ha"] = 10.0 - before if figures else np.nan
        rec["loss_before_ref_ha"] = before if figures else np.nan
        rec["loss_after_ref_ha"] = sum(v for y, v in loss.items() if y > 2020) if figures else np.nan
        recs.append(rec)
    return pd.DataFrame(recs)


# ---------------------------------------------------------------------------------------------
# Baseline period, mean, change, shares
# ---------------------------------------------------------------------------------------------


def test_default_baseline_period_is_the_ten_years_ending_with_the_reference_year():
    p = baseline_period(2020, list(range(2001, 2025)))
    assert (p.start, p.end) == (2011, 2020) and len(p.years) == 10
    assert str(baseline_period(2020, list(range(2001, 2025)), start=2016)) == "2016-2020"
    assert str(baseline_period(2020, list(range(2001, 2025)), end=2018)) == "2009-2018"


@pytest.mark.parametrize(
    "start, end, match",
    [
        (2015, 2021, "after the reference year"),
        (1999, 2020, "not within the loss product"),
        (2019, 2018, "first year is after the last"),
    ],
)
def test_a_baseline_period_that_cannot_be_is_refused(start, end, match):
    with pytest.raises(BaselineError, match=match):
        baseline_period(2020, list(range(2001, 2025)), start, end)


def test_baseline_mean_and_change_by_hand():
    plots = plots_frame(
        [
            ("a", "deforestation_free", 2.0, {2019: 1.0, 2020: 3.0}, {"coop": "A"}),
            (
                "b",
                "deforestation_detected",
                1.0,
                {2018: 5.0, 2019: 1.0, 2020: 1.0, 2021: 2.0, 2022: 6.0},
                {"coop": "A"},
            ),
            ("c", "deforestation_free", 4.0, {}, {"coop": "B"}),
            ("d", "deforestation_detected", 1.0, {2021: 0.5}, {"coop": "B"}),
        ]
    )
    period = baseline_period(2020, YEARS, start=2019)
    t = group_figures(plots, plots["coop"], period, 2020, YEARS)
    a, b = t.loc["A"], t.loc["B"]
    # A: baseline 2019-2020 = (1 + 1) and (3 + 1) -> mean (2 + 4) / 2 = 3 ha/yr
    assert a["baseline_mean_annual_loss_ha"] == pytest.approx(3.0)
    assert a["change_2021_vs_baseline_pct"] == pytest.approx(100 * (2.0 - 3.0) / 3.0)  # -33.3 %
    assert a["change_2022_vs_baseline_pct"] == pytest.approx(100 * (6.0 - 3.0) / 3.0)  # +100 %
    assert a["loss_2018_ha"] == 5.0 and "change_2020_vs_baseline_pct" not in t.columns
    assert a["loss_before_ref_ha"] == pytest.approx(1 + 3 + 5 + 1 + 1)
    assert a["loss_after_ref_ha"] == pytest.approx(8.0)
    # B: no loss in the baseline: a change against zero is undefined, not infinite
    assert b["baseline_mean_annual_loss_ha"] == 0.0
    assert np.isnan(b["change_2021_vs_baseline_pct"]) and b["loss_2021_ha"] == 0.5


def test_counts_include_every_plot_figures_only_assessed_ones_shares_all():
    plots = plots_frame(
        [
            ("free", "deforestation_free", 2.0, {2019: 1.0}, {}),
            ("det", "deforestation_detected", 1.0, {2021: 0.5}, {}),
            ("rev", "review", 0.5, {2022: 0.05}, {}),
            ("na", "not_assessed", 1.5, {2019: 7.0, 2021: 9.0}, {}),  # partial figures: left out
            ("bad", "invalid", np.nan, {}, {}),
        ]
    )
    t = national_figures(plots, baseline_period(2020, YEARS, start=2019), 2020, YEARS).iloc[0]
    assert t["n_plots"] == 5 and t["n_assessed"] == 3
    assert [
        t[f"n_{s}"] for s in ("deforestation_free", "review", "deforestation_detected", "not_assessed", "invalid")
    ] == [1, 1, 1, 1, 1]
    assert t["area_ha"] == pytest.approx(5.0)  # all plots with a geometry
    assert t["area_assessed_ha"] == pytest.approx(3.5)
    assert t["loss_2019_ha"] == pytest.approx(1.0)  # not the not_assessed plot's 7
    assert t["loss_2021_ha"] == pytest.approx(0.5)
    assert t["forest_2000_ha"] == pytest.approx(30.0)  # three assessed plots x 10 ha
    assert t["deforestation_free_plots_pct"] == pytest.approx(20.0)  # 1 of 5, not 1 of 3
    assert t["deforestation_free_area_pct"] == pytest.approx(40.0)  # 2 of 5 ha
    assert t["baseline_mean_annual_loss_ha"] == pytest.approx(0.5)  # (1 + 0) / 2


def test_group_totals_add_up_to_the_national_figures():
    rng = np.random.default_rng(3)
    statuses = ["deforestation_free", "review", "deforestation_detected", "not_assessed", "invalid"]
    rows = []
    for i in range(60):
        s = statuses[i % 5]
        loss = {y: float(rng.uniform(0, 2)) for y in YEARS}
        coop = [None, "C1", "C2", "C3", ""][int(rng.integers(5))]
        rows.append((f"p{i}", s, float(rng.uniform(0.3, 5)), loss, {"coop": coop, "dist": f"D{i % 4}"}))
    plots = plots_frame(rows)
    period = baseline_period(2020, YEARS, start=2018)
    nat = national_figures(plots, period, 2020, YEARS).iloc[0]
    for cols in (["coop"], ["dist"], ["coop", "dist"]):
        labels = attribute_labels(plots, cols)
        t = group_figures(plots, labels, period, 2020, YEARS)
        assert t["n_plots"].sum() == 60
        for c in additive_columns(YEARS):
            assert t[c].sum() == pytest.approx(nat[c], rel=1e-12, abs=1e-12), c
    labels = attribute_labels(plots, ["coop"])
    assert MISSING_VALUE in set(labels)  # None and "" are a group of their own, not dropped
    assert sort_labels(set(labels))[-1] == MISSING_VALUE


def test_attribute_labels_several_columns_and_unknown_column():
    plots = pd.DataFrame({"a": ["x", "y", None], "b": [1.0, 2.0, 3.5]})
    assert list(attribute_labels(plots, ["a", "b"])) == ["x | 1", "y | 2", "(missing) | 3.5"]
    assert parse_group_by(["a", " a , b ", "a"]) == [("a",), ("a", "b")]
    with pytest.raises(BaselineError, match="no column 'zz'.*columns are: a, b"):
        attribute_labels(plots, ["zz"])


# ---------------------------------------------------------------------------------------------
# Regions: largest geodesic overlap
# ---------------------------------------------------------------------------------------------

X0, Y0 = -76.5, -8.0


def box(x0, y0, x1, y1):
    return shapely.box(X0 + x0, Y0 + y0, X0 + x1, Y0 + y1)


def test_a_plot_goes_to_the_region_holding_most_of_its_area():
    west, east = box(-1, -1, 0, 0), box(0, -1, 1, 0)
    regions = prepare_regions(["150101", "150102"], ["Oeste", "Este"], [west, east])
    plots = [
        box(-0.0003, -0.5, 0.0004, -0.4995),  # 3/7 west, 4/7 east
        box(-0.0006, -0.5, 0.0001, -0.4995),  # 6/7 west
        box(-0.5, -0.5, -0.4995, -0.4995),  # whole in the west
        box(2, 2, 2.001, 2.001),  # in no region
        box(1, -0.5, 1.001, -0.499),  # touches the east only along an edge
        None,
    ]
    a = assign_regions(plots, regions.geoms)
    assert list(region_labels(a, regions)) == ["150102", "150101", "150101", "unassigned", "unassigned", "unassigned"]
    # shares measured on the ellipsoid: the split is along a meridian, so 4/7 and 6/7 up to the
    # (sub-ppm) difference between geodesic and parallel edges
    assert a.share_pct[0] == pytest.approx(100 * 4 / 7, rel=1e-6)
    assert a.share_pct[1] == pytest.approx(100 * 6 / 7, rel=1e-6)
    assert a.share_pct[2] == 100.0 and np.isnan(a.share_pct[3])
    inter = shapely.intersection(plots[0], east)
    assert a.share_pct[0] == pytest.approx(100 * geodesic_areas([inter])[0] / geodesic_areas([plots[0]])[0], rel=1e-12)


def test_ties_go_to_the_first_region_and_invalid_geometries_are_repaired():
    square = box(0, 0, 0.01, 0.01)
    bowtie = shapely.Polygon([(X0 + 0.02, Y0), (X0 + 0.03, Y0 + 0.01), (X0 + 0.03, Y0), (X0 + 0.02, Y0 + 0.01)])
    assert not bowtie.is_valid
    regions = prepare_regions(["B", "A", "C", "D"], None, [square, square, bowtie, None])
    assert list(regions.ids) == ["A", "B", "C"] and regions.repaired_ids == ["C"] and regions.dropped_ids == ["D"]
    plots = [
        box(0.004, 0.004, 0.005, 0.005),
        shapely.Point(X0 + 0.0275, Y0 + 0.005).buffer(0.0005),  # inside the bowtie's right lobe
        shapely.Polygon(
            [(X0 + 0.001, Y0 + 0.001), (X0 + 0.002, Y0 + 0.002), (X0 + 0.002, Y0 + 0.001), (X0 + 0.001, Y0 + 0.002)]
        ),
    ]  # an invalid plot: repaired, then assigned
    a = assign_regions(plots, regions.geoms)
    assert list(region_labels(a, regions)) == ["A", "C", "A"]


def test_rows_sharing_a_region_id_are_one_region():
    regions = prepare_regions(
        ["22", "22", "23"], ["SAN MARTIN", None, "TUMBES"], [box(-1, -1, 0, 0), box(0, -1, 1, 0), box(5, 5, 6, 6)]
    )
    assert list(regions.ids) == ["22", "23"] and list(regions.names) == ["SAN MARTIN", "TUMBES"]
    a = assign_regions([box(-0.0003, -0.5, 0.0004, -0.4995)], regions.geoms)
    assert a.region[0] == 0 and a.share_pct[0] == 100.0


def test_regions_without_an_id_are_refused():
    with pytest.raises(RegionsError, match="row\\(s\\) 2 have no region id"):
        prepare_regions(["01", None], None, [box(0, 0, 1, 1), box(1, 1, 2, 2)], source="d.gpkg")


# ---------------------------------------------------------------------------------------------
# Rings
# ---------------------------------------------------------------------------------------------


def test_a_ring_is_the_plot_grown_in_metres_minus_every_plot():
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    # a ~100 m x 100 m square at 8 S
    side = 0.0009
    plot = box(0, 0, side, side)
    neighbour = box(side, 0, 2 * side, side)  # shares the plot's east edge
    d = 20.0
    rings = ring_geometries([plot, neighbour], d)
    ring = rings[0]
    assert not ring.intersects(plot.buffer(-1e-9)) and not ring.intersects(neighbour.buffer(-1e-9))
    # grown square alone: s^2 + 4 s d + pi d^2 (the rounded corners are 64-gons: -0.16 % of pi d^2)
    grown = buffer_m(plot, d)
    s_m = np.sqrt(geodesic_areas([plot])[0])
    expected = s_m**2 + 4 * s_m * d + np.pi * d**2
    assert geodesic_areas([grown])[0] == pytest.approx(expected, rel=2e-3)
    # every point of the grown plot's boundary is d metres from the plot
    for x, y in list(grown.exterior.coords)[::7]:
        nearest = shapely.ops.nearest_points(plot.boundary, shapely.Point(x, y))[0]
        assert geod.inv(x, y, nearest.x, nearest.y)[2] == pytest.approx(d, abs=0.05)
    assert geodesic_areas([ring])[0] == pytest.approx(
        geodesic_areas([grown])[0] - geodesic_areas([shapely.intersection(grown, neighbour)])[0] - s_m**2, rel=1e-6
    )


def test_group_rings_count_shared_land_once():
    side = 0.0009
    a, b = box(0, 0, side, side), box(2 * side, 0, 3 * side, side)  # 100 m apart: 80 m rings overlap
    far = box(0.5, 0.5, 0.5 + side, 0.5 + side)
    rings = ring_geometries([a, b, far, None], 80.0)
    overlaps = ring_overlaps(rings)
    assert [list(x) for x in overlaps] == [[0], [1]]
    clusters, labels = ring_clusters(rings, ["g", "g", "g", "g"], overlaps)
    assert sorted(map(list, clusters)) == [[0, 1], [2]] and list(labels) == ["g", "g"]
    clusters, labels = ring_clusters(rings, ["g", "h", "g", "g"], overlaps)  # different groups: apart
    assert sorted(map(list, clusters)) == [[0], [1], [2]]
    union = shapely.union_all(rings[:2])
    separate = geodesic_areas(rings[:2]).sum()
    overlap = geodesic_areas([shapely.intersection(rings[0], rings[1])])[0]
    assert overlap > 0 and geodesic_areas([union])[0] == pytest.approx(separate - overlap, rel=1e-9)


def test_ring_group_figures_sum_parts_and_weight_coverage_by_area():
    part = pd.DataFrame(
        {
            "area_ha": [1.0, 3.0, 2.0],
            "data_coverage_pct": [100.0, 50.0, 100.0],
            "forest_2000_ha": [1.0, 1.0, np.nan],
            "loss_before_ref_ha": [0.5, 0.25, np.nan],
        }
    )
    g = ring_group_figures(part, ["x", "x", "y"], ["x", "y", "z"])
    assert g.loc["x", "ring_area_ha"] == 4.0 and g.loc["x", "ring_loss_before_ref_ha"] == 0.75
    assert g.loc["x", "ring_data_coverage_pct"] == pytest.approx(100 * (1 + 1.5) / 4)
    assert g.loc["z", "ring_area_ha"] == 0 and np.isnan(g.loc["z", "ring_data_coverage_pct"])


# ---------------------------------------------------------------------------------------------
# Supply chain
# ---------------------------------------------------------------------------------------------


def raw(text):
    import io

    return pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False)


def screened_statuses():
    return pd.DataFrame(
        {
            "plot_id": ["F1", "F2", "D1", "R1", "N1", "X", "X"],
            "status": [
                "deforestation_free",
                "deforestation_free",
                "deforestation_detected",
                "review",
                "not_assessed",
                "deforestation_free",
                "review",
            ],
        }
    )


def test_lot_and_buyer_shares_by_hand():
    d = parse_deliveries(
        raw(
            "lot_id,plot_id,quantity,buyer,date\n"
            "L1,F1,60,B1,2025-01-02\n"
            "L1,D1,40,B1,2025-01-05\n"
            "L2,F2,10,B2,2025-02-01\n"
            "L2,TYPO,5,B2,2025-02-01\n"
            "L3,F1,30,B1,\n"
            "L3,F2,20,B1,2025-03-01\n"
            "L4,X,8,,2025-03-02\n"
            "L4,N1,2,,2025-03-02\n"
            "L5,R1,0,B2,2025-04-01\n"
        ),
        "d.csv",
    )
    m = match_deliveries(d, screened_statuses())
    assert list(m["plot_status"]) == [
        "deforestation_free",
        "deforestation_detected",
        "deforestation_free",
        "unknown",
        "deforestation_free",
        "deforestation_free",
        "review",
        "not_assessed",
        "review",
    ]
    lots = supply_figures(m, "lot_id").set_index("lot_id")
    assert lots.loc["L1", "deforestation_free_quantity_pct"] == pytest.approx(60.0)
    assert lots.loc["L1", "contains_deforestation_detected"] and not lots.loc["L1", "deforestation_free"]
    assert lots.loc["L2", "deforestation_free_quantity_pct"] == pytest.approx(100 * 10 / 15)
    assert lots.loc["L2", "contains_unknown"] and lots.loc["L2", "unknown_plot_ids"] == "TYPO"
    assert lots.loc["L2", "quantity_unknown"] == 5.0
    assert lots.loc["L3", "deforestation_free_quantity_pct"] == 100.0 and lots.loc["L3", "deforestation_free"]
    # Dates are dates (a GeoPackage DATE), not text.
    assert (lots.loc["L3", "first_date"], lots.loc["L3", "last_date"]) == (date(2025, 3, 1), date(2025, 3, 1))
    # X names a free and a review plot: the delivery counts as review, never as free
    assert lots.loc["L4", "ambiguous_plot_ids"] == "X" and lots.loc["L4", "quantity_review"] == 8.0
    assert lots.loc["L4", "contains_not_assessed"] and lots.loc["L4", "deforestation_free_quantity_pct"] == 0.0
    assert np.isnan(lots.loc["L5", "deforestation_free_quantity_pct"])  # no quantity: no share
    assert lots.loc["L1", "buyer"] == "B1" and lots.loc["L1", "n_plots"] == 2
    buyers = supply_figures(m, "buyer").set_index("buyer")
    assert list(buyers.index) == ["B1", "B2", "(missing)"]
    assert buyers.loc["B1", "n_lots"] == 2 and buyers.loc["B1", "quantity"] == 150.0
    assert buyers.loc["B1", "deforestation_free_quantity_pct"] == pytest.approx(100 * 110 / 150)
    assert buyers.loc["B2", "unknown_plot_ids"] == "TYPO" and buyers.loc["B2", "contains_review"]
    assert buyers["quantity"].sum() == lots["quantity"].sum() == d["quantity"].sum()


@pytest.mark.parametrize(
    "text, message",
    [
        (
            "lot_id,plot,quantity\nL1,F1,3\n",
            r"d.csv: missing column\(s\) plot_id \(the file has: lot_id, plot, quantity\)",
        ),
        (
            "lot_id,plot_id,quantity\nL1,F1,3\nL1,F2,abc\n",
            r"d.csv: line 3 \(row 2\), column 'quantity': 'abc' is not a number",
        ),
        (
            'lot_id,plot_id,quantity\nL1,F1,"3,5"\n',
            r"line 2 \(row 1\), column 'quantity': '3,5' is not a number \(use a point",
        ),
        ("lot_id,plot_id,quantity\nL1,F1,-2\n", r"line 2 \(row 1\), column 'quantity': '-2' is negative"),
        ("lot_id,plot_id,quantity\nL1,,2\n", r"line 2 \(row 1\), column 'plot_id': empty plot_id"),
        ("lot_id,plot_id,quantity\nL1,F1,\n", r"column 'quantity': empty quantity"),
        ("lot_id,plot_id,quantity,date\nL1,F1,1,31/12/2025\n", r"column 'date': '31/12/2025' is not a date"),
    ],
)
def test_bad_deliveries_name_the_file_line_and_column(text, message):
    with pytest.raises(DeliveriesError, match=message):
        parse_deliveries(raw(text), "d.csv")


def test_blank_lines_are_skipped_and_lines_keep_their_numbers():
    import io

    text = "lot_id,plot_id,quantity\nL1,F1,1\n\nL1,F2,x\n"
    table = pd.read_csv(io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False)
    with pytest.raises(DeliveriesError, match=r"line 4 \(row 3\), column 'quantity': 'x'"):
        parse_deliveries(table, "d.csv")
    d = parse_deliveries(table.iloc[:2], "d.csv")  # a trailing blank line
    assert list(d["source_row"]) == [1] and list(d["plot_id"]) == ["F1"]


def test_deliveries_columns_are_matched_ignoring_case_and_other_columns_are_kept():
    d = parse_deliveries(raw("Lot_ID , PLOT_ID,Kg,note\nL1,F1,2.5,first\n"), "d.csv", quantity_column="kg")
    assert list(d.columns) == ["source_row", "lot_id", "plot_id", "quantity", "note"]
    assert d.loc[0, "quantity"] == 2.5 and d.loc[0, "note"] == "first"


# ---------------------------------------------------------------------------------------------
# Monitoring
# ---------------------------------------------------------------------------------------------


def test_status_changes_new_and_gone_plots():
    g = [box(i * 0.01, 0, i * 0.01 + 0.001, 0.001) for i in range(6)]
    prev = gpd.GeoDataFrame(
        {
            "plot_id": ["a", "b", "c", "d", "x", "x"],
            "source_row": [1, 2, 3, 4, 5, 6],
            "status": [
                "deforestation_free",
                "deforestation_free",
                "deforestation_detected",
                "review",
                "deforestation_free",
                "review",
            ],
            "loss_after_ref_ha": [0, 0, 1.0, 0.05, 0, 0.01],
        },
        geometry=g,
        crs="EPSG:4326",
    )
    now = gpd.GeoDataFrame(
        {
            "plot_id": ["a", "b", "c", "e", "x", "x"],
            "source_row": [1, 2, 3, 4, 5, 6],
            "status": [
                "deforestation_free",
                "deforestation_detected",
                "deforestation_detected",
                "deforestation_free",
                "deforestation_free",
                "deforestation_detected",
            ],
            "loss_after_ref_ha": [0, 0.7, 1.2, 0, 0, 0.3],
            "first_loss_year_after_ref": [None, 2024, 2021, None, None, 2024],
        },
        geometry=g,
        crs="EPSG:4326",
    )
    c = status_changes(now, prev)

    def col(name):
        return [None if pd.isna(v) else v for v in c[name]]

    assert list(zip(col("plot_id"), col("change"), col("previous_status"), col("status"))) == [
        ("b", "status_changed", "deforestation_free", "deforestation_detected"),
        ("e", "new", None, "deforestation_free"),
        ("x", "status_changed", "review", "deforestation_detected"),  # the second x matched with the second x
        ("d", "gone", "review", None),
    ]
    assert c.loc[0, "previous_loss_after_ref_ha"] == 0 and c.loc[0, "loss_after_ref_ha"] == 0.7
    assert c.loc[0, "first_loss_year_after_ref"] == 2024
    assert c.geometry.iloc[3].equals(g[3])  # a gone plot keeps its previous geometry
    assert list(c["source_row"].astype("object").fillna(-1)) == [2, 4, 6, -1]
