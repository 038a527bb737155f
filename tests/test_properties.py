"""Property tests (hypothesis): rows out = rows in, always; results do not depend on row order."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
import shapely.affinity
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pipeline.config import ExecutionConfig, QCConfig
from pipeline.io.plots import normalise
from pipeline.stages.qc import check_plots

X0, Y0, PX = -76.5, -8.0, 0.00025
SIDE = 0.0012  # a grid cell of the generated plots (about 130 m)

KINDS = [
    "box",
    "box",
    "box",
    "copy",
    "shifted",
    "bowtie",
    "point",
    "point_area",
    "line",
    "empty",
    "none",
    "lat_beyond_90",
    "coarse",
    "hole",
    "collinear",
    "outside_swapped",
]


@st.composite
def rows(draw):
    """A list of (kind, cell, size, id) rows: valid plots and every kind of defect, mixed."""
    n = draw(st.integers(1, 25))
    out = []
    for i in range(n):
        kind = draw(st.sampled_from(KINDS))
        cell = draw(st.integers(0, 11))
        size = draw(st.floats(0.2, 1.3))
        pid = draw(st.sampled_from([f"P{i}", f"P{i}", "dup", None]))
        out.append((kind, cell, size, pid))
    return out


def geometry(kind: str, cell: int, size: float, previous: list) -> shapely.Geometry | None:
    x = round(X0 + 0.0004 + (cell % 4) * SIDE, 9)
    y = round(Y0 - 0.0004 - (cell // 4) * SIDE - SIDE, 9)
    w = SIDE * 0.8 * size / 1.3
    b = shapely.box(x, y, x + w, y + w)
    if kind == "copy" and previous:
        return previous[-1]
    if kind == "shifted" and previous and previous[-1] is not None:
        return shapely.affinity.translate(previous[-1], w / 3)
    if kind == "bowtie":
        return shapely.Polygon([(x, y), (x + w, y + w), (x + w, y), (x, y + w)])
    if kind in ("point", "point_area"):
        return shapely.Point(x + w / 2, y + w / 2)
    if kind == "line":
        return shapely.LineString([(x, y), (x + w, y + w)])
    if kind == "empty":
        return shapely.Polygon()
    if kind == "none":
        return None
    if kind == "lat_beyond_90":
        return shapely.box(y, 95 + x / 100, y + w, 95 + x / 100 + w)
    if kind == "coarse":
        return shapely.box(round(x, 4), round(y, 4), round(x + w, 4), round(y + w, 4))
    if kind == "hole":
        return shapely.Polygon(b.exterior.coords, [shapely.affinity.scale(b, 0.3, 0.3).exterior.coords])
    if kind == "collinear":
        return shapely.Polygon([(x, y), (x + w, y), (x + 2 * w, y), (x, y)])
    if kind == "outside_swapped":
        return shapely.transform(b, lambda c: c[:, ::-1])
    return b


def build(spec, perm=None) -> gpd.GeoDataFrame:
    """The plots of ``spec`` (normalised), optionally with the rows in the order ``perm``."""
    raw = raw_frame(spec)
    if perm is not None:
        raw = raw.iloc[perm].reset_index(drop=True)
    return normalise(raw)


def raw_frame(spec) -> gpd.GeoDataFrame:
    geoms, previous = [], []
    for kind, cell, size, _ in spec:
        g = geometry(kind, cell, size, previous)
        geoms.append(g)
        previous.append(g)
    area = [2.0 if k == "point_area" else (None if k == "point" else round(s, 2)) for k, _, s, _ in spec]
    gdf = gpd.GeoDataFrame(
        {"plot_id": [p for *_, p in spec], "key": np.arange(len(spec)), "area_ha": area},
        geometry=geoms,
        crs="EPSG:4326",
    )
    return gdf


COVERAGE = (X0, Y0 - 20 * SIDE, X0 + 20 * SIDE, Y0)


def per_key(plots, qc) -> dict:
    """What each input row got, keyed by its own identity (not its position)."""
    out = {}
    for pos, key in enumerate(plots["key"]):
        i = qc.issues[qc.issues["source_row"] == plots["source_row"].iloc[pos]]
        g = qc.geometry[pos]
        out[key] = (
            sorted(zip(i["code"], i["severity"])),
            bool(qc.screenable[pos]),
            qc.qc_status.iloc[pos],
            None if g is None else shapely.normalize(g).wkb,
            None if np.isnan(qc.area_ha[pos]) else round(float(qc.area_ha[pos]), 9),
        )
    return out


@pytest.mark.slow
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(spec=rows(), order=st.randoms(use_true_random=False), fix=st.booleans())
def test_rows_out_equal_rows_in_and_order_does_not_matter(spec, order, fix):
    params = QCConfig(fix_swapped_coordinates=fix)
    plots = build(spec)
    qc = check_plots(plots, params, coverage_bounds=COVERAGE)
    n = len(plots)
    # rows out = rows in, in every per-row result
    assert len(qc.screenable) == len(qc.qc_status) == len(qc.qc_summary) == len(qc.geometry) == len(qc.area_ha) == n
    assert set(qc.issues["source_row"]) <= set(range(1, n + 1))
    assert (qc.screenable == (qc.qc_status != "error").to_numpy()).all()
    assert all((g is None) != s for g, s in zip(qc.geometry, qc.screenable))
    assert (np.isnan(qc.area_ha) == ~qc.screenable).all()
    errors = set(qc.issues.loc[qc.issues["severity"] == "error", "source_row"])
    assert errors == set(plots["source_row"][~qc.screenable])
    # a shuffled file gives every row the same findings and the same geometry to screen
    perm = list(range(n))
    order.shuffle(perm)
    shuffled = build(spec, perm)
    qc2 = check_plots(shuffled, params, coverage_bounds=COVERAGE)
    assert per_key(shuffled, qc2) == per_key(plots, qc)


@pytest.fixture(scope="module")
def source(memory_raster):
    from pipeline.io.rasters import open_hansen

    n = 24
    rng = np.random.default_rng(3)
    loss = memory_raster(rng.choice([0, 0, 0, 5, 21, 23], (n, n)).astype("uint8"), x0=X0, y0=Y0, px=0.001, nodata=255)
    cover = memory_raster(rng.integers(0, 100, (n, n)).astype("uint8"), x0=X0, y0=Y0, px=0.001)
    return open_hansen(loss, cover)


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(spec=rows(), order=st.randoms(use_true_random=False))
def test_screening_keeps_every_row_whatever_the_order(source, spec, order):
    from pipeline.stages.screening import screen_plots

    plots = build(spec)
    res = screen_plots(plots, source, execution=ExecutionConfig(workers=1))
    assert len(res.plots) == len(plots)
    assert res.plots["source_row"].tolist() == plots["source_row"].tolist()
    assert res.plots["plot_id"].tolist() == plots["plot_id"].tolist()
    assert ((res.plots["status"] == "invalid") == (res.plots["qc_status"] == "error")).all()
    perm = list(range(len(spec)))
    order.shuffle(perm)
    shuffled = build(spec, perm)
    res2 = screen_plots(shuffled, source, execution=ExecutionConfig(workers=1))
    cols = ["status", "qc_status", "area_ha", "forest_2000_ha", "loss_after_ref_ha"]
    a = res.plots.set_index("key")[cols].sort_index()
    b = res2.plots.set_index("key")[cols].sort_index()
    assert (a["status"] == b["status"]).all() and (a["qc_status"] == b["qc_status"]).all()
    np.testing.assert_allclose(a[cols[2:]].to_numpy(float), b[cols[2:]].to_numpy(float), rtol=1e-12, atol=1e-12)
