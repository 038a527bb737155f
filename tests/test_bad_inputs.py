"""Bad inputs and faults, one row each: the command, its exit code, a fragment of its message, and
rows out = rows in wherever a file is written (issue 10, "No run lost, no wrong verdict").

Each row of :data:`CASES` is a :class:`Case`: ``make(ctx)`` builds its files in a fresh folder
(``ctx.tmp``, with a small Hansen pair ``ctx.loss``/``ctx.cover`` at hand) and returns the command's
arguments. The test runs the command in-process and checks, for every row:

* the exit code (``exit``);
* that ``message`` appears in what the user sees — stderr, stdout — or, when an output is written,
  in its issues or status reasons (``plot_issues``, ``status_reason``);
* that no traceback, no "unexpected error" and no site-packages path reaches the user;
* when an output is written (``ctx.out``, a GeoPackage), that its ``plots`` layer has one row per
  input row (``ctx.rows``, counted by the helpers that write plot files), in order;
* any extra assertion of the row (``check(ctx, output_plots, stderr)``).

To add a fault: write a ``make`` function (the helpers below write plot files, configs and
rasters) and append a ``Case``. Rows are grouped by the item of issue 10 they cover; the run and
output-safety rows (locks, signals, a full disk, exit 4, --out = input...) go in the section
marked for them at the end.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import shapely.affinity
import shapely.geometry
import yaml
from conftest import pixel_box, write_raster

from pipeline.cli import main

X0, Y0 = -76.5, -8.0
N = 40  # raster side, pixels


# --- What a row is ------------------------------------------------------------------------------


@dataclass
class Ctx:
    """One row's folder, the shared rasters, and what the row's helpers wrote."""

    tmp: Path
    loss: Path
    cover: Path
    out: Path | None = None  # the output the command writes (its plots layer is counted)
    rows: int | None = None  # rows of the plots file the helpers wrote
    extra: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Case:
    id: str
    make: Callable[[Ctx], list[str]]
    exit: int
    message: str
    check: Callable[[Ctx, pd.DataFrame | None, str], None] | None = None
    subprocess: bool = False  # run ``python -m pipeline`` in a process of its own (what a terminal shows)
    patch: Callable[[Ctx, pytest.MonkeyPatch], None] | None = None  # a fault injected in-process


# --- Helpers that write inputs ------------------------------------------------------------------


def box(c0=2, r0=2, c1=8, r1=8):
    return pixel_box(c0, r0, c1, r1, x0=X0, y0=Y0)


def mapping(g) -> dict | None:
    """A geometry as GeoJSON; a NaN coordinate stays NaN (written as the JSON literal ``NaN``)."""
    return None if g is None else json.loads(json.dumps(shapely.geometry.mapping(g)))


def geojson(ctx: Ctx, features: list[tuple[dict, dict | None]], name="plots.geojson", raw: str | None = None) -> Path:
    """A FeatureCollection from (properties, geometry mapping) pairs; NaN is written as JSON NaN."""
    path = ctx.tmp / name
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
    }
    path.write_text(raw if raw is not None else json.dumps(fc))
    ctx.rows = len(features)
    return path


def plots_geojson(ctx: Ctx, props: list[dict], geoms=None, name="plots.geojson") -> Path:
    geoms = geoms or [
        box(2 + 6 * (i % 5), 2 + 6 * (i // 5), 6 + 6 * (i % 5), 6 + 6 * (i // 5)) for i in range(len(props))
    ]
    return geojson(ctx, [(p, mapping(g)) for p, g in zip(props, geoms)], name)


def gpkg(ctx: Ctx, layers: dict[str, gpd.GeoDataFrame | pd.DataFrame], name="plots.gpkg") -> Path:
    path = ctx.tmp / name
    for layer, frame in layers.items():
        pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG", append=path.exists())
    ctx.rows = len(next(iter(layers.values())))
    return path


def frame(geoms, **cols) -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"plot_id": [f"P{i}" for i in range(len(geoms))], **cols}, geometry=geoms, crs=4326)


def csv(ctx: Ctx, text: str, name="plots.csv") -> Path:
    path = ctx.tmp / name
    path.write_text(text)
    ctx.rows = len(text.strip().splitlines()) - 1
    return path


def nan_box() -> shapely.Polygon:
    xy = shapely.get_coordinates(box()).copy()
    xy[2, 0] = np.nan
    return shapely.polygons(xy)


def screen(ctx: Ctx, plots: Path, *extra: str, loss=None, cover=None) -> list[str]:
    ctx.out = ctx.tmp / "out" / "screening.gpkg"
    return [
        "screen",
        "--plots",
        str(plots),
        "--loss-year",
        str(loss or ctx.loss),
        "--tree-cover",
        str(cover or ctx.cover),
        "--out",
        str(ctx.out),
        *extra,
    ]


def validate(ctx: Ctx, plots: Path, *extra: str) -> list[str]:
    ctx.out = ctx.tmp / "out" / "validation.gpkg"
    return ["validate", str(plots), "--out", str(ctx.out), *extra]


def config(ctx: Ctx, data: dict | None = None, text: str | bytes | None = None, name="job.yaml") -> Path:
    path = ctx.tmp / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text if text is not None else yaml.safe_dump(data))
    return path


def job_config(ctx: Ctx, plots: Path, **sections) -> dict:
    ctx.out = ctx.tmp / "out" / "screening.gpkg"
    data = {
        "plots": {"path": str(plots)},
        "rasters": {"loss_year": str(ctx.loss), "tree_cover": str(ctx.cover)},
        "output": {"path": str(ctx.out)},
    }
    data.update(sections)
    return data


def raster(ctx: Ctx, name: str, array, nodata=None) -> Path:
    return write_raster(ctx.tmp / name, np.asarray(array), x0=X0, y0=Y0, nodata=nodata)


def base_loss() -> np.ndarray:
    loss = np.zeros((N, N), dtype="uint8")
    loss[5:7, 5:7] = 22
    loss[20:22, 3:9] = 8
    return loss


def base_cover() -> np.ndarray:
    return np.random.default_rng(1).integers(20, 100, (N, N)).astype("uint8")


def screened_baseline(ctx: Ctx, *extra: str) -> list[str]:
    """Screen a small job, then return the arguments of a baseline on it."""
    plots = plots_geojson(ctx, [{"plot_id": "A"}, {"plot_id": "B"}])
    assert main(["-q", *screen(ctx, plots)]) == 0
    screening = ctx.out
    ctx.out = None  # the baseline's own output is not a plots layer
    return ["baseline", "--screening", str(screening), "--out", str(ctx.tmp / "b.gpkg"), *extra]


def deliveries(ctx: Ctx, quantities: list[str]) -> Path:
    lines = ["lot_id,plot_id,quantity"] + [f"L1,A,{q}" for q in quantities]
    return csv(ctx, "\n".join(lines) + "\n", name="deliveries.csv")


# --- Checks of the written output -----------------------------------------------------------------


def columns_unique(ctx: Ctx, plots: pd.DataFrame | None, err: str) -> None:
    assert plots is not None
    cols = [c for c in plots.columns if c != "geometry"]
    assert len({c.lower() for c in cols}) == len(cols), cols


def has_columns(*names: str):
    def check(ctx, plots, err):
        columns_unique(ctx, plots, err)
        assert set(names) <= set(plots.columns), (names, list(plots.columns))

    return check


def statuses(*expected: str):
    def check(ctx, plots, err):
        assert plots["status"].tolist() == list(expected), plots["status"].tolist()

    return check


def no_stderr(ctx, plots, err):
    assert err.strip() == "", err


def linear_findings(ctx, plots, err):
    issues = pyogrio.read_dataframe(ctx.out, layer="plot_issues")
    counts = issues["code"].value_counts()
    assert counts["duplicate_geometry"] == ctx.rows  # one per plot, not one per pair
    assert counts.get("overlap", 0) <= 5 * ctx.rows


# --- The rows -----------------------------------------------------------------------------------

CASES: list[Case] = []


def case(id: str, exit: int, message: str, check=None, subprocess: bool = False, patch=None):
    """Decorator: the function below is the row's ``make``."""

    def add(make):
        CASES.append(Case(id, make, exit, message, check, subprocess, patch))
        return make

    return add


# 1. Attribute names that clash with output columns (case-insensitively)


@case("area_ha-attribute-screen", 0, "", has_columns("input_Area_ha", "area_ha"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A", "Area_ha": 1.0}, {"plot_id": "B", "Area_ha": 2.0}]))


@case("area_ha-attribute-validate-gpkg", 0, "", has_columns("input_Area_ha", "area_ha"))
def _(ctx):
    return validate(ctx, plots_geojson(ctx, [{"plot_id": "A", "Area_ha": 1.0}, {"plot_id": "B", "Area_ha": 2.0}]))


@case("Status-attribute", 0, "", has_columns("input_Status", "status"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A", "Status": "ok"}]))


@case("AREA_HA-attribute", 0, "", has_columns("input_AREA_HA"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A", "AREA_HA": 3}]))


@case("fid-repeating", 0, "", has_columns("input_fid"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A", "fid": 1}, {"plot_id": "B", "fid": 1}]))


@case("fid-not-an-integer", 0, "", has_columns("input_fid"))
def _(ctx):
    return validate(ctx, plots_geojson(ctx, [{"plot_id": "A", "fid": "x-1"}, {"plot_id": "B", "fid": 2.5}]))


@case("geom-attribute", 0, "", has_columns("input_geom"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A", "geom": "polygon"}]))


@case("status-and-input_status", 0, "", has_columns("input_status", "input_status_2", "status"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A", "status": "x", "input_status": "y"}]))


@case("two-attributes-differing-in-case", 0, "", has_columns("Name", "input_name"))
def _(ctx):
    return screen(ctx, csv(ctx, 'plot_id,Name,name,wkt\nA,a,b,"' + box().wkt + '"\n'), "--crs", "EPSG:4326")


@case("plot_id-attribute-beside-another-id-column", 0, "", has_columns("input_plot_id"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"code": "A", "plot_id": "x"}]), "--id-column", "code")


@case("qc-column-names-in-validate", 0, "", has_columns("input_qc_status", "input_SCREENED", "qc_status"))
def _(ctx):
    return validate(ctx, plots_geojson(ctx, [{"plot_id": "A", "qc_status": "mine", "SCREENED": 1}]))


@case("Source_Row-in-a-csv", 0, "", has_columns("input_Source_Row"))
def _(ctx):
    return screen(ctx, csv(ctx, 'plot_id,Source_Row,wkt\nA,7,"' + box().wkt + '"\n'), "--crs", "EPSG:4326")


@case("figure-names-as-attributes", 0, "", has_columns("input_loss_2022_ha", "input_Forest_2000_HA"))
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A", "loss_2022_ha": 9, "Forest_2000_HA": 1}]))


# 2. Non-finite coordinates: never repaired away


@case("geojson-nan-vertex", 0, "vertex 3 is NaN", statuses("invalid", "deforestation_free"))
def _(ctx):
    return screen(
        ctx, geojson(ctx, [({"plot_id": "nan"}, mapping(nan_box())), ({"plot_id": "ok"}, mapping(box(20, 2, 24, 6)))])
    )


@case("geojson-nan-vertex-validate", 3, "coordinates are not finite")
def _(ctx):
    return validate(ctx, geojson(ctx, [({"plot_id": "nan"}, mapping(nan_box()))]))


@case("csv-wkt-nan", 0, "vertex 3 is NaN", statuses("invalid"))
def _(ctx):
    wkt = shapely.to_wkt(nan_box())
    return screen(ctx, csv(ctx, f'plot_id,wkt\nA,"{wkt}"\n'), "--crs", "EPSG:4326")


@case("csv-wkt-infinity", 0, "coordinates are not finite", statuses("invalid"))
def _(ctx):
    return screen(
        ctx, csv(ctx, 'plot_id,wkt\nA,"POLYGON ((-76.5 -8, -76.49 -8, inf -8.01, -76.5 -8))"\n'), "--crs", "EPSG:4326"
    )


@case("geoparquet-wkb-nan", 0, "vertex 3 is NaN", statuses("invalid", "deforestation_free"))
def _(ctx):
    path = ctx.tmp / "plots.parquet"
    frame([nan_box(), box(20, 2, 24, 6)]).to_parquet(path)
    ctx.rows = 2
    return screen(ctx, path)


@case("geopackage-nan-vertex", 0, "vertex 3 is NaN", statuses("invalid"))
def _(ctx):
    return screen(ctx, gpkg(ctx, {"plots": frame([nan_box()])}))


@case("csv-lat-lon-nan", 0, "lat 'nan' is not a number", statuses("invalid", "invalid"))
def _(ctx):
    return screen(ctx, csv(ctx, "plot_id,lat,lon\nA,nan,-76.5\nB,NaN,inf\n"), "--crs", "EPSG:4326")


@case("geojson-null-coordinate", 0, "a coordinate is null or not a number", statuses("invalid"))
def _(ctx):
    ring = mapping(box())["coordinates"][0]
    ring[2] = [None, ring[2][1]]
    return screen(ctx, geojson(ctx, [({"plot_id": "A"}, {"type": "Polygon", "coordinates": [ring]})]))


@case("regions-nan-vertex", 2, "not a finite number (NaN or infinity): row 1 (IDDIST '220901')")
def _(ctx):
    args = screened_baseline(ctx)
    regions = gpd.GeoDataFrame({"IDDIST": ["220901"]}, geometry=[nan_box()], crs=4326)
    regions.to_file(ctx.tmp / "districts.gpkg")
    return [*args, "--regions", str(ctx.tmp / "districts.gpkg"), "--region-id-column", "IDDIST"]


# 3. Plots across the antimeridian

ACROSS = shapely.Polygon([(179.999, -16.8), (-179.999, -16.8), (-179.999, -16.801), (179.999, -16.801)])
SPLIT = shapely.MultiPolygon(
    [shapely.box(179.999, -16.801, 180.0, -16.8), shapely.box(-180.0, -16.801, -179.999, -16.8)]
)


@case("antimeridian-ring", 0, "split it at 180°", statuses("invalid", "deforestation_free"))
def _(ctx):
    return screen(
        ctx, geojson(ctx, [({"plot_id": "fiji"}, mapping(ACROSS)), ({"plot_id": "ok"}, mapping(box(20, 2, 24, 6)))])
    )


@case("antimeridian-already-split", 0, "split at 180° already", statuses("invalid"))
def _(ctx):
    return screen(ctx, geojson(ctx, [({"plot_id": "fiji"}, mapping(SPLIT))]))


@case("antimeridian-validate", 3, "crosses_antimeridian")
def _(ctx):
    return validate(ctx, geojson(ctx, [({"plot_id": "fiji"}, mapping(ACROSS))]))


def one_tile(ctx, plots, err):
    assert "across the antimeridian" in err


@case("antimeridian-fetch-tiles", 0, "0 tile(s)", one_tile)
def _(ctx):
    p = geojson(ctx, [({"plot_id": "fiji"}, mapping(ACROSS))])
    return ["fetch-tiles", "--plots", str(p), "--dry-run", "--dest", str(ctx.tmp / "tiles")]


@case("projected-coordinates-fetch-tiles", 0, "1 tile(s)")
def _(ctx):
    utm = shapely.box(350123.5, 9089123.5, 350223.5, 9089223.5)
    p = geojson(ctx, [({"plot_id": "utm"}, mapping(utm)), ({"plot_id": "ok"}, mapping(box()))])
    return ["fetch-tiles", "--plots", str(p), "--dry-run", "--dest", str(ctx.tmp / "tiles")]


# 10. Rasters that are not what they seem


def one_plot(ctx):
    return plots_geojson(ctx, [{"plot_id": "A"}], [box(0, 0, 30, 30)])


@case("tree-cover-is-a-0-1-mask", 2, "a forest mask, not tree cover")
def _(ctx):
    return screen(ctx, one_plot(ctx), cover=raster(ctx, "mask.tif", (base_cover() > 50).astype("uint8")))


@case("tree-cover-all-zero", 2, "holds only 0")
def _(ctx):
    return screen(ctx, one_plot(ctx), cover=raster(ctx, "zero.tif", np.zeros((N, N), "uint8")))


@case("tree-cover-above-100", 2, "tree cover is a percentage, 0-100")
def _(ctx):
    return screen(ctx, one_plot(ctx), cover=raster(ctx, "x2.tif", (base_cover() * 2).astype("uint8")))


@case("tree-cover-undeclared-nodata-255", 2, "declare it as the file's nodata")
def _(ctx):
    cover = base_cover()
    cover[:5, :] = 255
    return screen(ctx, one_plot(ctx), cover=raster(ctx, "c255.tif", cover))


@case("swapped-layers", 2, "look swapped")
def _(ctx):
    return screen(ctx, one_plot(ctx), loss=ctx.cover, cover=ctx.loss)


@case("last-year-before-the-files-loss", 2, "Set --last-year (last_year:) to 2024")
def _(ctx):
    loss = base_loss()
    loss[10:20, 10:20] = 24
    return screen(ctx, one_plot(ctx), "--last-year", "2021", loss=raster(ctx, "l24.tif", loss, nodata=255))


@case("calendar-years-as-hansen", 2, "kind: loss_year and encoding: year")
def _(ctx):
    loss = base_loss().astype("uint16")
    loss[loss > 0] += 2000
    return screen(ctx, one_plot(ctx), loss=raster(ctx, "years.tif", loss))


@case("offsets-as-year-encoding", 2, "Use encoding: offset")
def _(ctx):
    data = job_config(ctx, one_plot(ctx))
    del data["rasters"]
    data["datasets"] = {"g": {"kind": "loss_year", "loss_year": str(ctx.loss), "encoding": "year", "last_year": 2024}}
    return ["run", "--config", str(config(ctx, data))]


@case("forest-mask-holding-percentages", 2, "the forest mask holds values up to")
def _(ctx):
    data = job_config(ctx, one_plot(ctx))
    del data["rasters"]
    data["datasets"] = {"g": {"kind": "loss_year", "loss_year": str(ctx.loss), "forest_mask": str(ctx.cover)}}
    return ["run", "--config", str(config(ctx, data))]


@case("a-few-odd-loss-pixels-are-tolerated", 0, "values the product does not define")
def _(ctx):
    big = np.zeros((200, 200), "uint8")
    big[100, 100] = 77  # one pixel in 40,000: not a mix-up, but that plot is not assessed
    loss = write_raster(ctx.tmp / "big.tif", big, x0=X0, y0=Y0, nodata=255)
    cover = write_raster(ctx.tmp / "bigc.tif", np.full((200, 200), 80, "uint8"), x0=X0, y0=Y0)
    p = plots_geojson(ctx, [{"plot_id": "odd"}, {"plot_id": "all"}], [box(99, 99, 102, 102), box(0, 0, 190, 190)])
    return screen(ctx, p, loss=loss, cover=cover)


# 12. Findings that grow with the square of the input


@case("twenty-copies-of-each-plot", 0, "duplicate_geometry", linear_findings)
def _(ctx):
    plots = [box(2 + 3 * i, 2, 5 + 3 * i, 5) for i in range(5)] + [box(3, 3, 8, 8)]
    return validate(ctx, gpkg(ctx, {"plots": frame(plots * 20)}))


# 13. Smaller ones


@case("config-in-windows-1252", 2, "looks like Windows-1252")
def _(ctx):
    return ["run", "--config", str(config(ctx, text="plots:\n  path: caf\xe9.gpkg\n".encode("cp1252")))]


@case("config-in-utf-16", 2, "looks like UTF-16")
def _(ctx):
    return ["run", "--config", str(config(ctx, text="plots: {path: a.gpkg}\n".encode("utf-16")))]


@case("duplicate-yaml-key", 2, "the key 'plots' is given twice (lines 1 and 4)")
def _(ctx):
    p = plots_geojson(ctx, [{"plot_id": "A"}])
    return ["run", "--config", str(config(ctx, text=f"plots:\n  path: {p}\nrasters: {{}}\nplots:\n  path: b\n"))]


@case("duplicate-nested-yaml-key", 2, "the key 'reference_year' is given twice (lines 2 and 3)")
def _(ctx):
    return ["run", "--config", str(config(ctx, text="screening:\n  reference_year: 2020\n  reference_year: 2018\n"))]


@case("geopackage-several-layers-no-plots", 2, "holds 2 layers with geometries (farms, parcels)")
def _(ctx):
    return screen(ctx, gpkg(ctx, {"farms": frame([box()]), "parcels": frame([box()])}))


@case("geopackage-several-layers-named", 0, "")
def _(ctx):
    return screen(
        ctx, gpkg(ctx, {"farms": frame([box()]), "parcels": frame([box(), box(10, 10, 12, 12)])}), "--layer", "farms"
    )


@case("geopackage-plots-and-other-layers", 0, "")
def _(ctx):
    return screen(ctx, gpkg(ctx, {"plots": frame([box()]), "farms": frame([box(), box()])}))


@case("geopackage-one-layer-and-a-table", 0, "")
def _(ctx):
    return screen(ctx, gpkg(ctx, {"farms": frame([box()]), "notes": pd.DataFrame({"k": [1, 2]})}))


@case("sample-plots-beyond-what-fits", 2, "do not fit in the sample's window")
def _(ctx):
    return ["sample", "--out", str(ctx.tmp / "sample"), "--plots", "100000"]


@case("fetch-tiles-base-url-not-a-url", 2, "is not a URL")
def _(ctx):
    p = plots_geojson(ctx, [{"plot_id": "A"}])
    return ["fetch-tiles", "--plots", str(p), "--base-url", "notaurl", "--dry-run", "--dest", str(ctx.tmp / "t")]


def loop(ctx, name):
    a, b = ctx.tmp / f"{name}.a", ctx.tmp / name
    os.symlink(b, a)
    os.symlink(a, b)
    return b


@case("plots-symlink-loop", 2, "is a symbolic link loop")
def _(ctx):
    return screen(ctx, loop(ctx, "plots.geojson"))


@case("plots-dangling-symlink", 2, "which does not exist")
def _(ctx):
    os.symlink(ctx.tmp / "gone.geojson", ctx.tmp / "plots.geojson")
    return screen(ctx, ctx.tmp / "plots.geojson")


@case("config-symlink-loop", 2, "configuration file is a symbolic link loop")
def _(ctx):
    return ["run", "--config", str(loop(ctx, "job.yaml"))]


@case("raster-symlink-loop", 2, "loss-year raster is a symbolic link loop")
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), loss=loop(ctx, "lossyear.tif"))


def warned_in_words(ctx, plots, err):
    assert "shapely says: invalid value encountered" in err, err


@case("library-warning-reworded", 3, "coordinates are not finite", warned_in_words, subprocess=True)
def _(ctx):
    return validate(ctx, csv(ctx, f'plot_id,wkt\nA,"{shapely.to_wkt(nan_box())}"\n'), "--crs", "EPSG:4326")


@case("library-warning-silent-with-q", 3, "", no_stderr, subprocess=True)
def _(ctx):
    return ["-q", *validate(ctx, csv(ctx, f'plot_id,wkt\nA,"{shapely.to_wkt(nan_box())}"\n'), "--crs", "EPSG:4326")]


@case("delivery-quantity-1e308", 2, "'1e308' is more than 1e+12")
def _(ctx):
    args = screened_baseline(ctx)
    return [*args, "--deliveries", str(deliveries(ctx, ["1e308", "1e308"]))]


@case("delivery-quantity-infinite", 2, "'inf' is not a finite number")
def _(ctx):
    args = screened_baseline(ctx)
    return [*args, "--deliveries", str(deliveries(ctx, ["inf"]))]


# Found by fuzzing (tests/test_fuzz_plots.py)


@case(
    "geojson-entry-that-is-not-a-feature",
    0,
    "entry 2 of 'features' is not a GeoJSON Feature",
    statuses("deforestation_free", "invalid", "invalid", "deforestation_free"),
)
def _(ctx):
    good = mapping(box(20, 2, 24, 6))
    p = geojson(
        ctx, [({"plot_id": "A"}, good), ({"plot_id": "B"}, good), ({"plot_id": "C"}, good), ({"plot_id": "D"}, good)]
    )
    doc = json.loads(p.read_text())
    doc["features"][1]["type"] = "Feat"  # GDAL skips such entries silently
    doc["features"][2] = None
    p.write_text(json.dumps(doc))
    return screen(ctx, p)


@case("geojson-text-not-utf-8", 2, "is not UTF-8 (byte 0xe9 at line 1")
def _(ctx):
    p = plots_geojson(ctx, [{"plot_id": "A", "producer": "Asociaci\u00f3n"}])
    p.write_bytes(p.read_bytes().replace(b"\\u00f3", b"\xe9"))
    return screen(ctx, p)


@case("point-at-latitude-1e308", 0, "coordinates outside longitude", statuses("invalid"))
def _(ctx):
    return screen(ctx, geojson(ctx, [({"plot_id": "A"}, {"type": "Point", "coordinates": [-76.5, 1e308]})]))


@case("a-plot-68-degrees-wide", 0, "more than qc.max_extent_deg (1°)", statuses("invalid"))
def _(ctx):
    coords = [[-76.5, -76.5], [-76.5, -8.0], [-8.0, -76.5]]  # a ring given as a Polygon's coordinates
    return screen(ctx, geojson(ctx, [({"plot_id": "A"}, {"type": "Polygon", "coordinates": coords})]))


# Inputs that were already handled well: kept so they stay so


@case("plots-not-found", 2, "plots file not found")
def _(ctx):
    return screen(ctx, ctx.tmp / "nope.geojson")


@case("plots-empty-feature-collection", 2, "holds no plots")
def _(ctx):
    return screen(ctx, geojson(ctx, []))


@case("plots-not-a-vector-file", 2, "not a readable vector file")
def _(ctx):
    (ctx.tmp / "plots.gpkg").write_bytes(b"\x00not a geopackage" * 50)
    return screen(ctx, ctx.tmp / "plots.gpkg")


@case("plots-truncated-geojson", 2, "plots.geojson")
def _(ctx):
    p = plots_geojson(ctx, [{"plot_id": "A"}, {"plot_id": "B"}])
    p.write_text(p.read_text()[:120])
    return screen(ctx, p)


@case("csv-without-crs", 2, "--crs")
def _(ctx):
    return screen(ctx, csv(ctx, 'plot_id,wkt\nA,"' + box().wkt + '"\n'))


@case("csv-without-geometry-columns", 2, "no geometry: expected a WKT column")
def _(ctx):
    return screen(ctx, csv(ctx, "plot_id,colour\nA,red\n"), "--crs", "EPSG:4326")


@case("id-column-absent", 2, "no id column 'code'")
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), "--id-column", "code")


@case("crs-contradicting-the-file", 2, "--crs is for files without one")
def _(ctx):
    return screen(ctx, gpkg(ctx, {"plots": frame([box()])}), "--crs", "EPSG:32718")


@case("crs-not-a-crs", 2, "is not a coordinate reference system")
def _(ctx):
    return screen(ctx, csv(ctx, 'plot_id,wkt\nA,"' + box().wkt + '"\n'), "--crs", "EPSG:nope")


@case("layer-absent", 2, "no layer 'farms'")
def _(ctx):
    return screen(ctx, gpkg(ctx, {"plots": frame([box()])}), "--layer", "farms")


@case("zip-without-vector-data", 2, "the zip holds no Shapefile")
def _(ctx):
    import zipfile

    with zipfile.ZipFile(ctx.tmp / "plots.zip", "w") as z:
        z.writestr("readme.txt", "nothing")
    return screen(ctx, ctx.tmp / "plots.zip")


@case("loss-raster-not-found", 2, "loss-year raster not found")
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), loss=ctx.tmp / "nope.tif")


@case("raster-of-floats", 2, "expected integers")
def _(ctx):
    return screen(
        ctx, plots_geojson(ctx, [{"plot_id": "A"}]), cover=raster(ctx, "f.tif", base_cover().astype("float32"))
    )


@case("raster-in-a-projected-crs", 2, "reproject it with: gdalwarp -t_srs EPSG:4326 -r near")
def _(ctx):
    utm = write_raster(ctx.tmp / "utm.tif", base_loss(), x0=350000, y0=9090000, px=30, crs="EPSG:32718")
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), loss=utm)


@case("raster-not-a-raster", 2, "cannot read the loss-year raster")
def _(ctx):
    (ctx.tmp / "junk.tif").write_bytes(b"II*\x00junk" * 10)
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), loss=ctx.tmp / "junk.tif")


@case("output-exists", 2, "pass --overwrite to replace it")
def _(ctx):
    args = screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]))
    assert main(["-q", *args]) == 0
    ctx.out = None  # it exists, and must stay as it is
    return args


@case("reference-year-not-before-last-year", 2, "must be before the last_year")
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), "--last-year", "2020")


@case("config-unknown-key", 2, "screening.referense_year: unknown key")
def _(ctx):
    return ["run", "--config", str(config(ctx, text="screening:\n  referense_year: 2020\n"))]


@case("config-not-found", 2, "configuration file not found")
def _(ctx):
    return ["run", "--config", str(ctx.tmp / "nope.yaml")]


@case("config-not-yaml", 2, "not valid YAML")
def _(ctx):
    return ["run", "--config", str(config(ctx, text="plots: [unclosed\n"))]


@case("validate-out-not-gpkg-or-csv", 2, "written as .gpkg or .csv")
def _(ctx):
    return ["validate", str(plots_geojson(ctx, [{"plot_id": "A"}])), "--out", str(ctx.tmp / "x.txt")]


@case("csv-unreadable-wkt-row", 0, "unreadable_geometry", statuses("invalid", "deforestation_free"))
def _(ctx):
    return screen(
        ctx, csv(ctx, f'plot_id,wkt\nA,"POLYGON ((1 2, oops))"\nB,"{box(20, 2, 24, 6).wkt}"\n'), "--crs", "EPSG:4326"
    )


@case("empty-and-null-geometries", 0, "the row has no geometry", statuses("invalid", "invalid"))
def _(ctx):
    return screen(
        ctx, geojson(ctx, [({"plot_id": "A"}, None), ({"plot_id": "B"}, {"type": "Polygon", "coordinates": []})])
    )


@case("a-line-not-a-polygon", 0, "only polygons and single points", statuses("invalid"))
def _(ctx):
    return screen(ctx, geojson(ctx, [({"plot_id": "A"}, mapping(shapely.LineString(box().exterior.coords)))]))


@case("utm-coordinates-in-a-geojson", 0, "state the right --crs", statuses("invalid"))
def _(ctx):
    return screen(
        ctx, geojson(ctx, [({"plot_id": "A"}, mapping(shapely.box(350123.5, 9089123.5, 350223.5, 9089223.5)))])
    )


@case("latitude-beyond-90-swapped", 0, "look swapped", statuses("invalid"))
def _(ctx):
    return screen(
        ctx, geojson(ctx, [({"plot_id": "A"}, mapping(shapely.transform(box(), lambda c: c[:, ::-1] * [1, -1.3])))])
    )


@case("bowtie-repaired-and-screened", 0, "repaired with make_valid")
def _(ctx):
    x0, y0, x1, y1 = box().bounds
    bowtie = shapely.Polygon([(x0, y0), (x1, y1), (x1, y0), (x0, y1)])
    return screen(ctx, geojson(ctx, [({"plot_id": "A"}, mapping(bowtie))]))


@case("polygon-nested-like-a-multipolygon", 0, "nested like a MultiPolygon")
def _(ctx):
    coords = mapping(box())["coordinates"]
    return screen(ctx, geojson(ctx, [({"plot_id": "A"}, {"type": "Polygon", "coordinates": [coords]})]))


@case("duplicate-ids", 0, "is also used on row(s) 2")
def _(ctx):
    return screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}, {"plot_id": "A"}]))


@case("baseline-screening-not-found", 2, "screening GeoPackage not found")
def _(ctx):
    return ["baseline", "--screening", str(ctx.tmp / "nope.gpkg"), "--out", str(ctx.tmp / "b.gpkg")]


@case("regions-id-column-absent", 2, "no region id column 'UBIGEO'")
def _(ctx):
    args = screened_baseline(ctx)
    gpd.GeoDataFrame({"IDDIST": ["1"]}, geometry=[box()], crs=4326).to_file(ctx.tmp / "d.gpkg")
    return [*args, "--regions", str(ctx.tmp / "d.gpkg"), "--region-id-column", "UBIGEO"]


@case("deliveries-missing-column", 2, "missing column(s) quantity")
def _(ctx):
    args = screened_baseline(ctx)
    return [*args, "--deliveries", str(csv(ctx, "lot_id,plot_id\nL1,A\n", name="deliveries.csv"))]


@case("deliveries-not-utf-8", 2, "not UTF-8 text")
def _(ctx):
    args = screened_baseline(ctx)
    (ctx.tmp / "deliveries.csv").write_bytes("lot_id,plot_id,quantity\nL\xe9,A,1\n".encode("cp1252"))
    return [*args, "--deliveries", str(ctx.tmp / "deliveries.csv")]


# ------------------------------------------------------------------------------------------------
# Run and output safety (issue 10, items 4-9 and 11: locks, signals, a full disk, exit 4, --out
# that is an input, incremental digests...). Rows that must leave a previous output untouched keep
# its digest in ``ctx.extra`` and check it (``kept``); docs/troubleshooting.md, "Runs and outputs".
# ------------------------------------------------------------------------------------------------


def sha(path: Path) -> str:
    import hashlib

    return hashlib.sha256(path.read_bytes()).hexdigest()


def screened_first(ctx: Ctx, n: int = 3, *extra: str) -> list[str]:
    """Screen ``n`` plots to ``ctx.out`` (a previous output), keep its digest; the same job's arguments."""
    plots = plots_geojson(ctx, [{"plot_id": f"P{i}"} for i in range(n)])
    argv = screen(ctx, plots, *extra)
    assert main(["-q", *argv]) == 0
    ctx.extra["previous"] = ctx.out
    ctx.extra["digest"] = sha(ctx.out)
    return argv


def kept(ctx: Ctx, plots, err) -> None:
    """The previous output is byte-identical, and no temporary file or lock file is left beside it."""
    from pipeline.io.outputs import lock_path, temp_files

    previous = ctx.extra["previous"]
    assert sha(previous) == ctx.extra["digest"]
    assert temp_files(previous) == [] and not lock_path(previous).exists()


def sql(path: Path, statement: str) -> None:
    """Edit a GeoPackage as QGIS would save an edit (the R-tree triggers' functions are stubbed)."""
    import sqlite3

    con = sqlite3.connect(path)
    for f in ("ST_IsEmpty", "ST_MinX", "ST_MaxX", "ST_MinY", "ST_MaxY"):
        con.create_function(f, 1, lambda g: 0)
    con.execute(statement)
    con.commit()
    con.close()


# 4. --incremental trusts only what it wrote


def edited_row_recomputed(ctx, plots, err):
    assert ctx.extra["loss_after"][0] > 0  # the plot the edit called free has loss after 2020
    assert plots["loss_after_ref_ha"].tolist() == ctx.extra["loss_after"]  # the edit did not survive
    assert plots["status"].iloc[0] != "deforestation_free"


@case("incremental-row-edited-by-hand", 0, "1 stored row(s) fail the integrity check", edited_row_recomputed)
def _(ctx):
    argv = screened_first(ctx, 3)
    prev = pyogrio.read_dataframe(ctx.out, layer="plots", read_geometry=False).sort_values("source_row")
    ctx.extra["loss_after"] = prev["loss_after_ref_ha"].tolist()
    sql(ctx.out, "UPDATE plots SET loss_after_ref_ha = 0, status = 'deforestation_free' WHERE source_row = 1")
    return [*argv, "--incremental"]


@case("incremental-previous-lacks-a-column", 0, "lacks the column(s) loss_2010_ha")
def _(ctx):
    argv = screened_first(ctx, 3)
    sql(ctx.out, "ALTER TABLE plots DROP COLUMN loss_2010_ha")
    return [*argv, "--incremental"]


@case("incremental-previous-without-digests", 0, "lacks the column(s) row_digest")
def _(ctx):
    argv = screened_first(ctx, 3)
    sql(ctx.out, "ALTER TABLE plots DROP COLUMN row_digest")  # an output of an older version
    return [*argv, "--incremental"]


# 5. --out that is an input; only a cacao-screen output is replaced


def input_untouched(ctx, plots, err):
    assert sha(ctx.extra["input"]) == ctx.extra["digest"]


def out_is(ctx: Ctx, path: Path, argv: list[str], flag="--overwrite") -> list[str]:
    ctx.extra["input"], ctx.extra["digest"] = path, sha(path)
    ctx.out = None
    return [*argv, flag]


@case("out-is-the-plots-file", 2, "is also the plots file (an input)", input_untouched)
def _(ctx):
    plots = gpkg(ctx, {"plots": frame([box()])})
    return out_is(ctx, plots, [*screen(ctx, plots)[:-2], "--out", str(plots)])


@case("out-is-the-plots-file-incremental", 2, "is also the plots file (an input)", input_untouched)
def _(ctx):
    plots = gpkg(ctx, {"plots": frame([box()])})
    return out_is(ctx, plots, [*screen(ctx, plots)[:-2], "--out", str(plots)], "--incremental")


@case("out-is-a-link-to-the-plots-file", 2, "is also the plots file (an input)", input_untouched)
def _(ctx):
    plots = gpkg(ctx, {"plots": frame([box()])})
    (ctx.tmp / "link.gpkg").symlink_to(plots)
    return out_is(ctx, plots, [*screen(ctx, plots)[:-2], "--out", str(ctx.tmp / "link.gpkg")])


@case("validate-out-is-the-plots-file", 2, "is also the plots file (an input)", input_untouched)
def _(ctx):
    plots = gpkg(ctx, {"plots": frame([box()])})
    return out_is(ctx, plots, ["validate", str(plots), "--out", str(plots)])


@case("baseline-out-is-the-screening", 2, "is also the screening (an input)", input_untouched)
def _(ctx):
    args = screened_baseline(ctx)
    screening = Path(args[2])
    return out_is(ctx, screening, [*args[:-2], "--out", str(screening)])


@case("run-baseline-output-is-the-screening-output", 2, "is also the screening output", input_untouched)
def _(ctx):
    plots = plots_geojson(ctx, [{"plot_id": "A"}])
    data = job_config(ctx, plots, baseline={"output": str(ctx.tmp / "out" / "screening.gpkg")})
    ctx.extra["input"], ctx.extra["digest"] = plots, sha(plots)
    ctx.out = None
    return ["run", "--config", str(config(ctx, data))]


@case("overwrite-a-file-cacao-screen-did-not-write", 2, "is not a cacao-screen output", input_untouched)
def _(ctx):
    plots = plots_geojson(ctx, [{"plot_id": "A"}])
    argv = screen(ctx, plots)
    (ctx.tmp / "out").mkdir()
    gpkg(ctx, {"precious": frame([box()])}, name="out/screening.gpkg")
    return out_is(ctx, ctx.out, argv)


@case("incremental-on-a-file-cacao-screen-did-not-write", 2, "is not a cacao-screen output", input_untouched)
def _(ctx):
    plots = plots_geojson(ctx, [{"plot_id": "A"}])
    argv = screen(ctx, plots)
    (ctx.tmp / "out").mkdir()
    ctx.out.write_text("my notes, not a GeoPackage")
    return out_is(ctx, ctx.out, argv, "--incremental")


@case("overwrite-a-cacao-screen-output", 0, "Screened 3 plots")
def _(ctx):
    return [*screened_first(ctx, 3), "--overwrite"]


# 6. Destinations checked before any raster is read; a full disk


@case("out-folder-is-a-file", 2, "is not a folder")
def _(ctx):
    (ctx.tmp / "afile").write_text("x")
    argv = screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]))
    ctx.out = ctx.tmp / "afile" / "screening.gpkg"
    return [*argv[:-1], str(ctx.out)]


def unwritable(ctx: Ctx) -> Path:
    """A folder this process cannot write in, even as root (/sys/kernel, usually), or skip."""
    folder = ctx.tmp / "read-only"
    folder.mkdir()
    folder.chmod(0o500)
    for candidate in (folder, Path("/sys/kernel")):
        try:
            (candidate / "probe").touch()
            (candidate / "probe").unlink()
        except OSError:
            return candidate
    pytest.skip("no folder here is read-only for this user")


@case("out-folder-not-writable", 2, "folder is not writable")
def _(ctx):
    argv = screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), loss=ctx.tmp / "never-read.tif")
    ctx.out = None  # refused before the (missing) raster is even opened
    return [*argv[:-1], str(unwritable(ctx) / "screening.gpkg")]


@case("validate-out-extension", 2, "written as .gpkg or .csv")
def _(ctx):
    plots = plots_geojson(ctx, [{"plot_id": "A"}])
    return ["validate", str(plots), "--out", str(ctx.tmp / "findings.xlsx")]


@case("baseline-out-extension", 2, "name it .gpkg")
def _(ctx):
    args = screened_baseline(ctx)
    return [*args[:-2], "--out", str(ctx.tmp / "baseline.csv")]


@case("screen-out-csv-before-any-raster", 2, "name it .gpkg")
def _(ctx):
    argv = screen(ctx, plots_geojson(ctx, [{"plot_id": "A"}]), loss=ctx.tmp / "never-read.tif")
    ctx.out = None
    return [*argv[:-1], str(ctx.tmp / "screening.csv")]


def disk_full(ctx, monkeypatch):
    """SQLite's words for a full disk while the plots are streamed into the GeoPackage, as GDAL
    passes them on (some rows already written)."""
    from pipeline.io import gdal_arrow

    real = gdal_arrow.LayerWriter.write

    def write(self, batch, layer=None):
        real(self, batch.slice(0, 1), layer)
        raise gdal_arrow.WriteError(f"{self.path}: cannot write rows: sqlite3_step() failed: database or disk is full")

    monkeypatch.setattr(gdal_arrow.LayerWriter, "write", write)


@case("disk-full-during-the-write", 1, "no space left on device: ", kept, patch=disk_full)
def _(ctx):
    argv = screened_first(ctx, 3)
    ctx.out = None  # the previous output stays (checked by ``kept``)
    return [*argv, "--overwrite"]


def gdal_disk_full(ctx, monkeypatch):
    """SQLite's words for it, as GDAL passes them on, while the baseline is written."""
    from pyogrio.errors import DataSourceError

    import pipeline.io.gpkg as writer

    real = writer.pyogrio.write_dataframe

    def write(frame, path, **kw):
        if kw.get("layer") == "baseline_by_group":
            raise DataSourceError("sqlite3_exec(COMMIT) failed: database or disk is full")
        return real(frame, path, **kw)

    monkeypatch.setattr(writer.pyogrio, "write_dataframe", write)


# 7. run with a baseline: both destinations checked first, both published together


def both_kept(ctx, plots, err):
    kept(ctx, plots, err)
    assert sha(ctx.extra["baseline"]) == ctx.extra["baseline_digest"]
    from pipeline.io.outputs import temp_files

    assert temp_files(ctx.extra["baseline"]) == [] and temp_files(ctx.tmp / "out" / "baseline_csv") == []


def run_with_baseline(ctx) -> list[str]:
    plots = plots_geojson(ctx, [{"plot_id": "A"}, {"plot_id": "B"}])
    data = job_config(ctx, plots, baseline={"output": str(ctx.tmp / "out" / "baseline.gpkg")})
    argv = ["run", "--config", str(config(ctx, data))]
    assert main(["-q", *argv]) == 0
    ctx.extra.update(previous=ctx.out, digest=sha(ctx.out), baseline=ctx.tmp / "out" / "baseline.gpkg")
    ctx.extra["baseline_digest"] = sha(ctx.extra["baseline"])
    ctx.out = None
    return [*argv, "--overwrite"]


@case("run-baseline-fails-the-screening-stays", 1, "no space left on device: ", both_kept, patch=gdal_disk_full)
def _(ctx):
    return run_with_baseline(ctx)


@case("run-baseline-destination-refused-before-screening", 2, "is not a cacao-screen output")
def _(ctx):
    plots = plots_geojson(ctx, [{"plot_id": "A"}])
    (ctx.tmp / "notes.gpkg").write_text("not ours")
    data = job_config(ctx, plots, baseline={"output": str(ctx.tmp / "notes.gpkg")})
    ctx.out = ctx.tmp / "out" / "screening.gpkg"  # refused: no screening written either
    return ["run", "--config", str(config(ctx, data)), "--overwrite"]


# 8. Signals; what dead runs left


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def leftovers_removed(ctx, plots, err):
    for p in ctx.extra["dead"]:
        assert not p.exists(), p
    assert ctx.extra["live"].exists()  # a live process's temporary file is never touched
    assert ctx.extra["recent"].exists()


@case("leftovers-of-killed-runs-removed", 0, "removed 4 temporary file(s) left by interrupted runs", leftovers_removed)
def _(ctx):
    argv = screened_first(ctx, 2)
    pid = dead_pid()
    out = ctx.out
    dead = [
        out.with_name(f".screening.gpkg.{pid}.k2j4_x.tmp.gpkg"),
        out.with_name(f".screening.gpkg.{pid}.k2j4_x.tmp.gpkg-journal"),
        out.with_name(f".screening.gpkg.{pid}.q81zzp.tmp-work"),
    ]
    dead[0].write_bytes(b"x" * 1000)
    dead[1].write_bytes(b"x")
    dead[2].mkdir()
    (dead[2] / "rows.arrow").write_bytes(b"x")
    legacy = out.with_name(".screening.x7_kq2ab.tmp.gpkg")  # an older version's, two days old
    legacy.write_bytes(b"x")
    os.utime(legacy, (time.time() - 2 * 86400,) * 2)
    dead.append(legacy)
    live = out.with_name(f".screening.gpkg.{os.getpid()}.abcdef.tmp.gpkg")
    live.write_bytes(b"x")
    recent = out.with_name(".screening.y8_kq2ab.tmp.gpkg")  # maybe a live run of an older version
    recent.write_bytes(b"x")
    ctx.extra.update(dead=dead, live=live, recent=recent)
    return [*argv, "--overwrite"]


def interrupt(signum):
    def patch(ctx, monkeypatch):
        import signal

        import pipeline.job.streaming as job

        def stop(*args, **kwargs):
            if signum is None:
                raise KeyboardInterrupt  # Ctrl-C
            os.kill(os.getpid(), signum)  # SIGTERM, handled like Ctrl-C
            raise AssertionError("SIGTERM was not handled")

        monkeypatch.setattr(job, "screen_checked", stop)
        assert signal.getsignal(signal.SIGTERM) is not None

    return patch


@case("ctrl-c", 130, "Interrupted; no output was written.", kept, patch=interrupt(None))
def _(ctx):
    argv = screened_first(ctx, 2)
    ctx.out = None
    return [*argv, "--overwrite"]


@case("sigterm", 143, "Interrupted; no output was written.", kept, patch=interrupt(15))
def _(ctx):
    argv = screened_first(ctx, 2)
    ctx.out = None
    return [*argv, "--overwrite"]


# 9. One run at a time per output


def hold_lock(ctx: Ctx, release_after: float | None = None) -> None:
    import threading

    from pipeline.io.outputs import OutputLock

    lock = OutputLock(ctx.out).__enter__()
    ctx.extra["lock"] = lock
    if release_after is not None:
        threading.Timer(release_after, lock.release).start()


def lock_released(ctx, plots, err):
    ctx.extra["lock"].release()
    kept(ctx, plots, err)


@case("another-run-is-writing", 75, f"(pid {os.getpid()}, since ", lock_released)
def _(ctx):
    argv = screened_first(ctx, 2)
    hold_lock(ctx)
    ctx.out = None
    return [*argv, "--overwrite"]


@case("another-run-is-writing-message", 75, "another run is writing ", lock_released)
def _(ctx):
    argv = screened_first(ctx, 2)
    hold_lock(ctx)
    ctx.out = None
    return [*argv, "--overwrite"]


@case("wait-lock", 0, "Screened 2 plots")
def _(ctx):
    argv = screened_first(ctx, 2)
    hold_lock(ctx, release_after=0.5)
    return [*argv, "--overwrite", "--wait-lock", "30"]


# 11. Nothing assessed is an exit code, not silence


def outside(ctx: Ctx, n: int, inside: int = 0) -> Path:
    """``n`` plots, the first ``inside`` over the rasters, the others a degree away from them."""
    geoms = [box() if i < inside else shapely.affinity.translate(box(), xoff=-1) for i in range(n)]
    return plots_geojson(ctx, [{"plot_id": f"P{i}"} for i in range(n)], geoms)


def not_assessed_on_stderr(ctx, plots, err):
    assert (plots["status"] == "not_assessed").sum() == ctx.extra["expected"]
    assert "are not_assessed, more than --max-not-assessed-pct" in err


@case("nothing-assessed-exit-4", 4, "3 of 3 plots (100.0 %", not_assessed_on_stderr)
def _(ctx):
    ctx.extra["expected"] = 3
    return screen(ctx, outside(ctx, 3))


@case("nothing-assessed-counts-even-at-100", 4, "more than --max-not-assessed-pct 100", not_assessed_on_stderr)
def _(ctx):
    ctx.extra["expected"] = 3
    return screen(ctx, outside(ctx, 3), "--max-not-assessed-pct", "100", "-q")


@case("some-not-assessed-below-the-threshold", 0, "Screened 3 plots")
def _(ctx):
    return screen(ctx, outside(ctx, 3, inside=2))


@case("some-not-assessed-above-the-threshold", 4, "1 of 3 plots (33.3 %", not_assessed_on_stderr)
def _(ctx):
    ctx.extra["expected"] = 1
    return screen(ctx, outside(ctx, 3, inside=2), "--max-not-assessed-pct", "20")


@case("max-not-assessed-pct-in-the-config", 4, "more than --max-not-assessed-pct 10", not_assessed_on_stderr)
def _(ctx):
    ctx.extra["expected"] = 1
    data = job_config(ctx, outside(ctx, 3, inside=2), screening={"max_not_assessed_pct": 10})
    return ["run", "--config", str(config(ctx, data))]


# --- The test -----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def rasters(tmp_path_factory):
    d = tmp_path_factory.mktemp("rasters")
    return (
        write_raster(d / "lossyear.tif", base_loss(), x0=X0, y0=Y0, nodata=255),
        write_raster(d / "treecover2000.tif", base_cover(), x0=X0, y0=Y0),
    )


def test_there_are_at_least_60_rows_with_unique_names():
    assert len(CASES) >= 60
    assert len({c.id for c in CASES}) == len(CASES)


def written_text(out: Path) -> str:
    """The messages an output holds: its issues and status reasons."""
    layers = [str(name) for name, _ in pyogrio.list_layers(out)]
    parts = []
    if "plot_issues" in layers:
        parts += pyogrio.read_dataframe(out, layer="plot_issues")["message"].astype(str).tolist()
    plots = pyogrio.read_dataframe(out, layer="plots", read_geometry=False)
    if "status_reason" in plots:
        parts += plots["status_reason"].astype(str).tolist()
    return "\n".join(parts)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input(case: Case, rasters, tmp_path, capsys, caplog, monkeypatch):
    ctx = Ctx(tmp_path, *rasters)
    argv = case.make(ctx)
    if case.patch is not None:
        case.patch(ctx, monkeypatch)
    capsys.readouterr()  # what building the case printed
    caplog.clear()
    if case.subprocess:
        done = subprocess.run([sys.executable, "-m", "pipeline", *argv], capture_output=True, text=True)
        rc, out, err = done.returncode, done.stdout, done.stderr
    else:
        rc = main(argv)
        cap = capsys.readouterr()
        out = cap.out
        err = cap.err + "".join(f"{r.levelname}: {r.getMessage()}\n" for r in caplog.records)  # the log: stderr
    seen = err + out
    assert rc == case.exit, seen
    for never in ("Traceback", "unexpected error", "site-packages"):
        assert never not in seen, seen
    plots = None
    if ctx.out is not None and rc in (0, 3, 4):
        assert ctx.out.exists(), seen
        plots = pyogrio.read_dataframe(ctx.out, layer="plots")
        plots = plots.sort_values("source_row", ignore_index=True)  # written in location order
        assert len(plots) == ctx.rows and plots["source_row"].tolist() == list(range(1, ctx.rows + 1))
        seen += written_text(ctx.out)
    elif ctx.out is not None:
        assert not ctx.out.exists()  # a refused run writes nothing
    assert case.message in seen, seen
    if case.check is not None:
        case.check(ctx, plots, err)
