"""Grouping plots by Peru's real districts and departments (../shared/real-data/peru-admin; skipped when absent)."""

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Geod

from pipeline.config import BaselineConfig, RegionsConfig
from pipeline.job import load_baseline_inputs
from pipeline.stages.baseline.groups import additive_columns, group_figures, national_figures
from pipeline.stages.baseline.periods import baseline_period
from pipeline.stages.baseline.regions import assign_regions, region_labels

pytestmark = pytest.mark.realdata

GEOD = Geod(ellps="WGS84")


def geodesic_m2(g) -> float:
    """Independent of pipeline.engine.geodesy: pyproj's own geometry area on the ellipsoid."""
    if g is None or g.is_empty:
        return 0.0
    return abs(GEOD.geometry_area_perimeter(g)[0])


@pytest.fixture(scope="module")
def districts(request):
    from conftest import REAL_DATA

    path = REAL_DATA / "peru-admin" / "peru_distrital_simple.geojson"
    if not path.exists():
        pytest.skip("../shared/real-data/peru-admin is absent")
    return path


def plots_around_san_martin():
    """Irregular plots of 0.5-10 ha near Tarapoto, Moyobamba, Juanjuí and Tocache (San Martín), one
    straddling a district border, one in Brazil and one in the Pacific off Lima."""
    rng = np.random.default_rng(2020)
    centres = [(-76.37, -6.49), (-76.97, -6.03), (-76.73, -7.18), (-76.51, -8.19)]
    geoms = []
    for lon, lat in centres:
        for _ in range(10):
            cx, cy = lon + rng.uniform(-0.05, 0.05), lat + rng.uniform(-0.05, 0.05)
            r = np.sqrt(rng.uniform(0.5, 10) * 1e4 / np.pi) / 111_000  # degrees, roughly
            angles = np.sort(rng.uniform(0, 2 * np.pi, 9))
            radii = r * rng.uniform(0.7, 1.3, 9)
            geoms.append(shapely.Polygon(np.c_[cx + radii * np.cos(angles), cy + radii * np.sin(angles)]))
    return geoms


def read_regions(cfg: RegionsConfig):
    """Regions as the baseline reads and prepares them."""
    return load_baseline_inputs(BaselineConfig(regions=cfg)).regions


def test_every_plot_is_assigned_to_a_district_or_unassigned(districts):
    regions = read_regions(RegionsConfig(path=districts, id_column="IDDIST", name_column="NOMBDIST"))
    # 1834 rows, 8 of them without a geometry as published: they are listed, never silently dropped
    assert len(regions) == 1834 - 8 and len(regions.dropped_ids) == 8
    assert "010204" in regions.dropped_ids  # ubigeo codes keep their leading zero
    assert all(g.is_valid for g in regions.geoms)

    plots = plots_around_san_martin()
    # a plot straddling the border of two San Martín districts
    sm = [i for i, rid in enumerate(regions.ids) if rid.startswith("22")]
    a, b = next(
        (i, j)
        for i in sm
        for j in sm
        if i < j
        and regions.geoms[i].touches(regions.geoms[j])
        and shapely.intersection(regions.geoms[i], regions.geoms[j]).length > 0.01
    )
    border = shapely.intersection(regions.geoms[a].boundary, regions.geoms[b].boundary)
    p = (
        shapely.line_interpolate_point(shapely.line_merge(border), 0.5, normalized=True)
        if border.geom_type != "Point"
        else border
    )
    straddle = shapely.box(p.x - 0.0012, p.y - 0.001, p.x + 0.0018, p.y + 0.001)
    brazil = shapely.box(-60.0, -10.0, -59.99, -9.99)
    pacific = shapely.box(-77.6, -12.2, -77.59, -12.19)
    plots += [straddle, brazil, pacific, None]

    assignment = assign_regions(plots, regions.geoms)
    labels = region_labels(assignment, regions)
    assert len(labels) == len(plots)
    assert all(lab.startswith("22") for lab in labels[:40]), "the San Martín plots lie in San Martín districts"
    assert list(labels[-3:]) == ["unassigned"] * 3
    # the straddling plot: the district holding most of its geodesic area, checked independently
    overlaps = {
        regions.ids[k]: geodesic_m2(shapely.intersection(straddle, regions.geoms[k])) for k in range(len(regions))
    }
    winner = max(overlaps, key=overlaps.get)
    assert labels[40] == winner and winner in (regions.ids[a], regions.ids[b])
    assert 50 < assignment.share_pct[40] < 100
    assert assignment.share_pct[40] == pytest.approx(100 * overlaps[winner] / geodesic_m2(straddle), rel=1e-5)

    # grouped: the districts' totals add up to the national figures
    years = [2019, 2020, 2021]
    frame = pd.DataFrame(
        {
            "plot_id": [f"p{i}" for i in range(len(plots))],
            "source_row": range(1, len(plots) + 1),
            "status": ["deforestation_free"] * (len(plots) - 1) + ["invalid"],
            "area_ha": [geodesic_m2(g) / 1e4 if g is not None else np.nan for g in plots],
        }
    )
    for c in (
        "forest_2000_ha",
        "forest_ref_ha",
        "loss_before_ref_ha",
        "loss_after_ref_ha",
        *(f"loss_{y}_ha" for y in years),
    ):
        frame[c] = np.where(frame["status"] == "invalid", np.nan, 0.25)
    period = baseline_period(2020, years, start=2019)
    t = group_figures(frame, labels, period, 2020, years)
    nat = national_figures(frame, period, 2020, years).iloc[0]
    assert t.index[-1] == "unassigned" and t.loc["unassigned", "n_plots"] == 3
    for c in additive_columns(years):
        assert t[c].sum() == pytest.approx(nat[c], rel=1e-12), c


def test_departments_by_dissolving_districts_on_their_department_code(districts):
    regions = read_regions(RegionsConfig(path=districts, id_column="IDDPTO", name_column="NOMBDEP"))
    assert len(regions) == 25 and regions.dropped_ids == []
    plots = plots_around_san_martin()[::5]
    a = assign_regions(plots, regions.geoms)
    labels = region_labels(a, regions)
    assert set(labels) == {"22"} and list(regions.names[regions.ids == "22"]) == ["SAN MARTIN"]
