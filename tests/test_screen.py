"""Per-plot statistics on tiny in-memory rasters, with hand-computed answers."""

import numpy as np
import pandas as pd
import pytest
import shapely

from pipeline.config import ForestDefinition
from pipeline.engine.coverage import Grid, coverage_fractions
from pipeline.engine.geodesy import M2_PER_HA, pixel_row_areas
from pipeline.engine.partitions import partition, pixel_bounds, window_of
from pipeline.engine.pixels import ProductSpec
from pipeline.engine.stats import derive_figures, plot_statistics

PX = 0.00025
GRID = Grid(-76.5, -8.0, PX, PX)
SPEC = ProductSpec(first_year=2001, last_year=2024, year_offset=2000, loss_nodata=255)
ROW_AREA = pixel_row_areas(GRID.y0, PX, PX, 0, 5)


def box(c0, r0, c1, r1):
    return shapely.box(GRID.x0 + c0 * PX, GRID.y0 - r1 * PX, GRID.x0 + c1 * PX, GRID.y0 - r0 * PX)


def stats_for(geoms, loss, cover, threshold=10):
    cov = coverage_fractions(geoms, GRID)
    layers = {"loss": np.asarray(loss, "uint16"), "tree_cover": np.asarray(cover, "uint16")}
    return plot_statistics(
        cov,
        len(geoms),
        GRID,
        [(0, 0, 5, 5)],
        [layers],
        SPEC,
        ForestDefinition(canopy_threshold=threshold),
        np.zeros(len(geoms), dtype="int64"),
    )


LOSS = np.array(
    [
        [0, 0, 21, 21, 0],
        [0, 5, 5, 22, 0],
        [0, 0, 0, 0, 255],
        [3, 0, 0, 0, 255],
        [0, 0, 24, 0, 0],
    ]
)
COVER = np.array(
    [
        [90, 90, 90, 10, 90],
        [90, 90, 90, 11, 90],
        [5, 5, 50, 50, 50],
        [90, 90, 90, 90, 90],
        [90, 90, 90, 90, 90],
    ]
)


def test_one_pixel_of_loss_is_that_pixels_ellipsoidal_area():
    s = stats_for([box(2, 0, 3, 1)], LOSS, COVER)
    assert s.total[0] == pytest.approx(ROW_AREA[0], rel=1e-9)
    assert s.forest[0] == pytest.approx(ROW_AREA[0], rel=1e-9)
    assert s.loss[0, 2021 - 2001] == pytest.approx(ROW_AREA[0], rel=1e-9)
    assert s.loss[0].sum() == pytest.approx(ROW_AREA[0], rel=1e-9)


def test_partial_pixels_are_weighted_by_the_covered_fraction():
    # covers 3/4 of (row 0, col 2), 3/4 of (0, 3), 1/4 of (1, 2), 1/4 of (1, 3)
    g = box(2, 0.25, 4, 1.25)
    s = stats_for([g], LOSS, COVER)
    a0, a1 = ROW_AREA[0], ROW_AREA[1]
    # treecover exactly 10 is not forest (threshold is "more than 10 %"); 11 is
    assert s.forest[0] == pytest.approx(0.75 * a0 + 0.25 * a1 + 0.25 * a1, rel=1e-9)
    assert s.loss[0, 2021 - 2001] == pytest.approx(0.75 * a0, rel=1e-9)
    assert s.loss[0, 2022 - 2001] == pytest.approx(0.25 * a1, rel=1e-9)
    assert s.loss[0, 2005 - 2001] == pytest.approx(0.25 * a1, rel=1e-9)


def test_loss_on_non_forest_pixels_is_not_counted_and_threshold_is_configurable():
    g = box(3, 0, 4, 1)  # lossyear 21 on cover 10
    assert stats_for([g], LOSS, COVER).loss.sum() == 0
    assert stats_for([g], LOSS, COVER, threshold=9).loss.sum() == pytest.approx(ROW_AREA[0])


def test_nodata_and_out_of_range_values_reduce_valid_area():
    g = box(3, 2, 5, 4)  # cols 3-4 of rows 2-3: (2,4) and (3,4) are nodata
    s = stats_for([g], LOSS, COVER)
    assert s.valid[0] / s.total[0] == pytest.approx(0.5, rel=1e-9)
    bad = LOSS.copy()
    bad[2, 3] = 30  # beyond the product's last year (k=24): not a valid value
    s2 = stats_for([g], bad, COVER)
    assert s2.valid[0] / s2.total[0] == pytest.approx(0.25, rel=1e-6)


def test_derived_figures_after_and_before_reference_year():
    g = box(0, 0, 5, 5)
    s = stats_for([g], LOSS, COVER)
    f = derive_figures(s, SPEC.years, 2020).iloc[0]
    a = ROW_AREA / M2_PER_HA
    after = a[0] * 1 + a[1] * 1 + a[4] * 1  # 21 at (0,2); 22 at (1,3) cover 11; 24 at (4,2)
    assert f["loss_after_ref_ha"] == pytest.approx(after, rel=1e-9)
    assert f["loss_before_ref_ha"] == pytest.approx(2 * a[1] + a[3], rel=1e-9)  # 5, 5, 3
    assert f["first_loss_year_after_ref"] == 2021
    assert f["forest_ref_ha"] == pytest.approx(f["forest_2000_ha"] - f["loss_before_ref_ha"], rel=1e-9)
    assert f["loss_total_ha"] == pytest.approx(f["loss_after_ref_ha"] + f["loss_before_ref_ha"], rel=1e-9)
    assert f["data_coverage_pct"] == pytest.approx(100 * (1 - (a[2] + a[3]) / (5 * a.sum())), rel=1e-9)
    # another reference year moves the split, not the totals
    f2 = derive_figures(s, SPEC.years, 2021).iloc[0]
    assert f2["loss_after_ref_ha"] == pytest.approx(after - a[0], rel=1e-9)
    assert f2["first_loss_year_after_ref"] == 2022


def test_plot_outside_the_data_has_no_figures():
    s = stats_for([box(0, 0, 1, 1)], np.full((5, 5), 255), COVER)
    f = derive_figures(s, SPEC.years, 2020).iloc[0]
    assert f["data_coverage_pct"] == 0
    assert pd.isna(f["forest_2000_ha"]) and pd.isna(f["first_loss_year_after_ref"])


def test_partition_covers_every_plot_once_and_windows_hold_their_plots():
    rng = np.random.default_rng(0)
    cols = rng.uniform(-100, 3000, 500)
    rows = rng.uniform(-100, 3000, 500)
    geoms = [box(c, r, c + rng.uniform(0.2, 9), r + rng.uniform(0.2, 9)) for c, r in zip(cols, rows)]
    pix = pixel_bounds(shapely.bounds(np.array(geoms)), GRID)
    groups = partition(pix, block_size=512, max_plots=40)
    allidx = np.concatenate(groups)
    assert sorted(allidx.tolist()) == list(range(500))
    assert max(len(g) for g in groups) <= 40
    for g in groups:
        r0, c0, h, w = window_of(pix[g])
        cov = coverage_fractions([geoms[i] for i in g], GRID)
        assert cov.row.min() >= r0 and cov.row.max() < r0 + h
        assert cov.col.min() >= c0 and cov.col.max() < c0 + w
