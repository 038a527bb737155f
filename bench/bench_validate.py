"""Benchmark: ``cacao-screen validate`` on a million generated plots (not a test).

Generates, deterministically (seeded), N plots over the Peruvian Amazon (San Martín, Huánuco,
Ucayali): a thousand random 6-14-vertex polygons of 0.3-6 ha, reused by translation onto a grid
(cheap to build), coordinates rounded to 6 decimals, with a declared area within a few percent of
the true one; then mixes in the defects the checks look for, about 1 % of the rows in all:
duplicated geometries, overlapping neighbours, plots touching a neighbour, self-intersecting
bowties, points (with and without a declared area), lines, empty geometries, 4-decimal coordinates,
wrong declared areas, a latitude beyond 90 (swapped), duplicated ids, holes.

    .venv/bin/python bench/bench_validate.py                 # 1,000,000 plots, GeoParquet input
    .venv/bin/python bench/bench_validate.py --plots 200000 --format gpkg

It runs the real command line (``cacao-screen validate PLOTS --out issues.csv``) in a subprocess,
so the figure includes start-up, reading, every check, and writing; and prints the wall time, the
peak memory, and the issue counts. Pin to two cores with ``taskset -c 0,1``.
The data goes to ``bench/data/`` (ignored by git); it is generated once per size and format.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.engine.geodesy import geodesic_areas as plot_areas

HERE = Path(__file__).resolve().parent
SEED = 20201231
LON0, LAT0 = -77.5, -9.5  # south-west corner of the grid
CELL = 0.004  # grid cell (degrees, ~440 m): plots up to ~250 m across fit


def _base_shapes(rng: np.random.Generator, k: int = 1000) -> tuple[np.ndarray, np.ndarray]:
    """k random star-shaped rings around (0, 0), in degrees, as ragged (coords, offsets)."""
    coords, offsets = [], [0]
    for _ in range(k):
        m = int(rng.integers(6, 15))
        ang = (np.arange(m) + rng.uniform(-0.3, 0.3, m)) * 2 * np.pi / m  # star-shaped: never crosses itself
        area_ha = float(np.exp(rng.uniform(np.log(0.3), np.log(6.0))))
        r = np.sqrt(area_ha * 1e4 / np.pi) / 111_000 * rng.uniform(0.75, 1.25, m)
        ring = np.c_[r * np.cos(ang), r * np.sin(ang)]
        ring = np.vstack([ring, ring[:1]])
        coords.append(ring)
        offsets.append(offsets[-1] + len(ring))
    return np.vstack(coords), np.asarray(offsets)


def generate(n: int, seed: int = SEED) -> gpd.GeoDataFrame:
    """n plots with about 1 % defective rows (deterministic for a given n and seed)."""
    rng = np.random.default_rng(seed)
    base, off = _base_shapes(rng)
    k = len(off) - 1
    shape = rng.integers(0, k, n)
    side = int(np.ceil(np.sqrt(n)))
    cx = LON0 + (np.arange(n) % side + 0.5) * CELL
    cy = LAT0 + (np.arange(n) // side + 0.5) * CELL
    counts = np.diff(off)[shape]
    starts = off[:-1][shape]
    vertex = np.repeat(starts - np.r_[0, np.cumsum(counts)[:-1]], counts) + np.arange(counts.sum())
    xy = base[vertex] + np.repeat(np.c_[cx, cy], counts, axis=0)
    xy = np.round(xy, 6)
    ring_off = np.r_[0, np.cumsum(counts)]
    geoms = shapely.from_ragged_array(shapely.GeometryType.POLYGON, xy, (ring_off, np.arange(n + 1)))
    ids = np.char.add("PE-", np.char.zfill(np.arange(1, n + 1).astype(str), 7)).astype(object)

    # the declared area: the true one, off by up to 3 % as a farmer would declare it
    declared = np.round(plot_areas(geoms) / 1e4 * rng.uniform(0.97, 1.03, n), 2)

    pick = rng.permutation(n)
    used = 0

    def take(share: float) -> np.ndarray:
        nonlocal used
        m = max(1, int(n * share))
        out = pick[used : used + m]
        used += m
        return out

    idx = take(0.001)  # duplicated geometry: a copy of the next plot
    nxt = (idx + 1) % n
    geoms[idx] = geoms[nxt]
    idx = take(0.001)  # overlapping: a copy of the next plot shifted east by a third of its width
    src = geoms[(idx + 1) % n]
    b = shapely.bounds(src)
    geoms[idx] = _translate(src, (b[:, 2] - b[:, 0]) / 3)
    idx = take(0.002)  # touching: a box against the east side of the previous plot's bounding box
    b = shapely.bounds(geoms[(idx - 1) % n])
    geoms[idx] = shapely.box(b[:, 2], b[:, 1], b[:, 2] + 0.001, b[:, 3])
    idx = take(0.001)  # bowtie: self-intersecting
    b = shapely.bounds(geoms[idx])
    geoms[idx] = shapely.polygons(
        np.stack(
            [np.c_[b[:, 0], b[:, 2], b[:, 2], b[:, 0], b[:, 0]], np.c_[b[:, 1], b[:, 3], b[:, 1], b[:, 3], b[:, 1]]], -1
        )
    )
    idx = take(0.001)  # point with a declared area
    geoms[idx] = shapely.centroid(geoms[idx])
    idx = take(0.0005)  # point without a declared area
    geoms[idx] = shapely.centroid(geoms[idx])
    declared[idx] = np.nan
    idx = take(0.0005)  # line
    b = shapely.bounds(geoms[idx])
    geoms[idx] = shapely.linestrings(np.stack([b[:, [0, 2, 2]], b[:, [1, 1, 3]]], -1))
    idx = take(0.0002)  # empty / null
    geoms[idx] = None
    idx = take(0.002)  # 4-decimal coordinates
    geoms[idx] = shapely.transform(geoms[idx], lambda c: np.round(c, 4))
    idx = take(0.002)  # wrong declared area
    declared[idx] = np.round(declared[idx] * 2.5, 2)
    idx = take(0.0001)  # latitude beyond 90: swapped, in the northern hemisphere's mirror
    geoms[idx] = shapely.transform(geoms[idx], lambda c: np.c_[c[:, 1] + 20, c[:, 0] - 20])
    idx = take(0.001)  # duplicated id
    ids[idx] = ids[(idx + 7) % n]
    idx = take(0.0005)  # a hole
    inner = shapely.buffer(shapely.centroid(geoms[idx]), 0.0002, quad_segs=2)
    geoms[idx] = shapely.difference(geoms[idx], inner)
    return gpd.GeoDataFrame(
        {
            "plot_id": ids,
            "declared_area_ha": declared,
            "cooperative_id": np.char.add("COOP-", (np.arange(n) // 5000).astype(str)),
        },
        geometry=geoms,
        crs="EPSG:4326",
    )


def _translate(geoms: np.ndarray, dx: np.ndarray) -> np.ndarray:
    """Each geometry moved east by its own dx (degrees)."""
    geoms = shapely.transform(geoms, lambda c: c)  # copies: set_coordinates works in place
    xy, which = shapely.get_coordinates(geoms, return_index=True)
    xy[:, 0] += dx[which]
    return shapely.set_coordinates(geoms, xy)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plots", type=int, default=1_000_000)
    ap.add_argument("--format", choices=("parquet", "gpkg"), default="parquet")
    ap.add_argument("--out", choices=("csv", "gpkg"), default="csv")
    ap.add_argument("--phases", action="store_true", help="also time reading and checking in-process")
    args = ap.parse_args()
    data = HERE / "data"
    data.mkdir(exist_ok=True)
    path = data / f"plots_{args.plots}.{args.format}"
    if not path.exists():
        t = time.perf_counter()
        gdf = generate(args.plots)
        tmp = path.with_suffix(".tmp" + path.suffix)
        if args.format == "parquet":
            gdf.to_parquet(tmp)
        else:
            gdf.to_file(tmp, layer="plots", driver="GPKG", engine="pyogrio", use_arrow=True)
        tmp.rename(path)
        print(f"generated {path.name} in {time.perf_counter() - t:.1f} s")
    out = data / f"issues_{args.plots}.{args.out}"
    cmd = [str(Path(sys.executable).with_name("cacao-screen")), "validate", str(path), "--out", str(out), "--overwrite"]
    t = time.perf_counter()
    r = subprocess.run(cmd, capture_output=True, text=True)
    wall = time.perf_counter() - t
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(r.stdout.rstrip())
    if r.returncode not in (0, 3):
        print(r.stderr, file=sys.stderr)
        return 1
    print(
        f"validate: {args.plots:,} plots ({args.format} -> {args.out}) in {wall:.1f} s wall, "
        f"peak RSS {peak:.0f} MB, exit code {r.returncode}"
    )
    issues = pd.read_csv(out) if args.out == "csv" else gpd.read_file(out, layer="plot_issues")
    assert issues["source_row"].between(1, args.plots).all()
    if args.phases:
        _phases(path)
    return 0


def _phases(path: Path) -> None:
    """The same work in-process, timed step by step."""
    from pipeline.io.plots import read_plots
    from pipeline.stages.qc import check_plots

    t = time.perf_counter()
    plots = read_plots(path)
    t1 = time.perf_counter()
    check_plots(plots)
    t2 = time.perf_counter()
    print(f"phases: read {t1 - t:.1f} s, check_plots {t2 - t1:.1f} s")


if __name__ == "__main__":
    sys.exit(main())
