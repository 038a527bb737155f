"""Fuzzing plot files (hypothesis): random GeoJSON geometries, flipped and truncated bytes.

Whatever the file holds, the command line only ever exits 0, 2, 3 or 4 — never 1, an "unexpected
error" or a traceback — and when it writes an output, every row of the file is in it, in order.
A few dozen examples per test keep the suite fast, the same on every clone (the ``ci`` profile of
conftest.py); ``make fuzz`` draws 1,000 new ones per test. Each crash fuzzing found is an
``@example`` here.
"""

from __future__ import annotations

import json
import math

import numpy as np
import pyogrio
import pytest
from conftest import HYPOTHESIS_PROFILE, write_raster
from conftest import cli_main as main
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

X0, Y0, PX = -76.5, -8.0, 0.00025
ALLOWED = (0, 2, 3, 4)
#: 30 examples per test in the suite; the ``fuzz`` profile's 1,000 under ``make fuzz``.
FUZZ = settings(
    max_examples=1000 if HYPOTHESIS_PROFILE == "fuzz" else 30, deadline=None, suppress_health_check=list(HealthCheck)
)


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    d = tmp_path_factory.mktemp("fuzz-rasters")
    rng = np.random.default_rng(3)
    loss = rng.choice([0, 0, 0, 5, 22, 255], size=(60, 60)).astype("uint8")
    cover = rng.integers(0, 101, (60, 60)).astype("uint8")
    return (
        write_raster(d / "lossyear.tif", loss, x0=X0, y0=Y0, nodata=255),
        write_raster(d / "treecover2000.tif", cover, x0=X0, y0=Y0),
    )


# --- Random GeoJSON geometries --------------------------------------------------------------------

#: Numbers a coordinate may be: inside the rasters mostly, and every kind of wrong.
number = st.one_of(
    st.floats(X0, X0 + 60 * PX),
    st.floats(Y0 - 60 * PX, Y0),
    st.sampled_from([math.nan, math.inf, -math.inf, 1e308, -180.0, 180.0, 90.0, 350123.5, 0.0]),
    st.floats(allow_nan=False, allow_infinity=False, width=32),
)
position = st.lists(number, min_size=0, max_size=3)  # a position may have too few or too many numbers
ring = st.lists(position, min_size=0, max_size=6)


def _closed(r: list) -> list:
    return r + r[:1] if r else r


coordinates = st.one_of(
    position,
    ring,
    st.lists(ring.map(_closed), max_size=3),  # a polygon
    st.lists(st.lists(ring.map(_closed), max_size=2), max_size=3),  # a multipolygon
    st.none(),
    st.just([]),
    st.just("text"),
)
geometry = st.one_of(
    st.none(),
    st.fixed_dictionaries(
        {
            "type": st.sampled_from(
                ["Polygon", "MultiPolygon", "Point", "MultiPoint", "LineString", "GeometryCollection", "Nonsense"]
            ),
            "coordinates": coordinates,
        }
    ),
)
properties = st.fixed_dictionaries(
    {},
    optional={
        "plot_id": st.one_of(st.text(max_size=5), st.integers(), st.none()),
        "Area_ha": st.one_of(st.floats(allow_nan=True), st.text(max_size=4)),
        "fid": st.one_of(st.integers(-3, 3), st.text(max_size=3)),
        "Status": st.text(max_size=3),
        "geom": st.text(max_size=3),
    },
)
features = st.lists(st.tuples(properties, geometry), min_size=1, max_size=8)


def run(argv: list[str], capsys) -> tuple[int, str]:
    rc = main(argv)
    cap = capsys.readouterr()
    seen = cap.err + cap.out
    assert rc in ALLOWED, (rc, seen)
    assert "Traceback" not in seen and "unexpected error" not in seen, seen
    return rc, seen


def rows_of(out) -> list[int]:
    return pyogrio.read_dataframe(out, layer="plots", read_geometry=False)["source_row"].tolist()


@FUZZ
@given(feats=features, screen=st.booleans())
# the crashes fuzzing found (issue 18): a point on a pole (its circle's ring left the globe), and an
# absurd declared area (the circle's radius overflowed); both are quality-control findings now
@example(
    feats=[
        ({"plot_id": "N"}, {"type": "Point", "coordinates": [X0 + 0.001, 90.0]}),
        ({"plot_id": "S"}, {"type": "Point", "coordinates": [X0 + 0.001, -90.0]}),
    ],
    screen=True,
)
@example(
    feats=[({"plot_id": "A", "Area_ha": 5e210}, {"type": "Point", "coordinates": [X0 + 0.001, Y0 - 0.001]})],
    screen=True,
)
def test_random_geojson_geometries_never_crash_nor_lose_a_row(feats, screen, rasters, tmp_path_factory, capsys):
    d = tmp_path_factory.mktemp("fuzz")
    path = d / "plots.geojson"
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in feats],
    }
    path.write_text(json.dumps(fc))
    out = d / "out.gpkg"
    if screen:
        argv = ["-q", "screen", "--plots", str(path), "--loss-year", str(rasters[0]), "--tree-cover", str(rasters[1])]
        rc, seen = run([*argv, "--out", str(out)], capsys)
    else:
        rc, seen = run(["-q", "validate", str(path), "--out", str(out)], capsys)
    if rc in (0, 3, 4):
        rows = rows_of(out)
        if screen:  # a screening lists its rows in location order (docs/outputs.md): each row once
            rows = sorted(rows)
        assert rows == list(range(1, len(feats) + 1)), seen
    else:
        assert not out.exists()


# --- Flipped and truncated bytes ----------------------------------------------------------------


def _valid_geojson() -> bytes:
    feats = []
    for i in range(6):
        x, y = X0 + 0.001 + 0.002 * i, Y0 - 0.004
        ring = [[x, y], [x + 0.0015, y], [x + 0.0015, y - 0.0015], [x, y - 0.0015], [x, y]]
        feats.append(
            {
                "type": "Feature",
                "properties": {"plot_id": f"P{i}", "Area_ha": 2.7, "producer": "Asociación"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        )
    return json.dumps({"type": "FeatureCollection", "features": feats}).encode()


def _valid_csv() -> bytes:
    lines = ["plot_id;lat;lon;Area_ha"] + [f"P{i};-8,00{i}5;-76,49{i}5;1,5" for i in range(6)]
    return ("\n".join(lines) + "\n").encode()


def _valid_gpkg() -> bytes:
    import tempfile
    from pathlib import Path

    import geopandas as gpd

    doc = json.loads(_valid_geojson())
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "plots.gpkg"
        gpd.GeoDataFrame.from_features(doc["features"], crs="EPSG:4326").to_file(path, layer="plots")
        return path.read_bytes()


VALID = {}


def valid(kind: str) -> bytes:
    if kind not in VALID:
        VALID[kind] = {"geojson": _valid_geojson, "csv": _valid_csv, "gpkg": _valid_gpkg}[kind]()
    return VALID[kind]


def _expected_rows(kind: str, data: bytes) -> int | None:
    """The rows the damaged file still holds, when that can be told independently; else None."""
    if kind == "geojson":
        try:
            doc = json.loads(data.decode("utf-8"))
            return len(doc["features"]) if isinstance(doc, dict) and isinstance(doc.get("features"), list) else None
        except (ValueError, UnicodeDecodeError):
            return None
    return None  # a CSV's rows depend on how its damaged quoting reads, a GeoPackage's on SQLite


@FUZZ
@given(
    kind=st.sampled_from(["geojson", "csv", "gpkg"]),
    flips=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)), max_size=4),
    cut=st.one_of(st.none(), st.floats(0, 1)),
)
def test_flipped_and_truncated_bytes_never_crash_nor_lose_a_row(kind, flips, cut, tmp_path_factory, capsys):
    data = bytearray(valid(kind))
    for where, value in flips:
        data[int(where * len(data))] = value
    if cut is not None:
        data = data[: int(cut * len(data))]
    d = tmp_path_factory.mktemp("bytes")
    path = d / f"plots.{kind}"
    path.write_bytes(bytes(data))
    out = d / "out.gpkg"
    extra = ["--crs", "EPSG:4326"] if kind == "csv" else []
    rc, seen = run(["-q", "validate", str(path), "--out", str(out), *extra], capsys)
    if rc in (0, 3):
        rows = rows_of(out)
        assert rows == list(range(1, len(rows) + 1))
        expected = _expected_rows(kind, bytes(data))
        if expected is not None:
            assert len(rows) == expected, seen
    else:
        assert not out.exists()
