"""Whole-process benchmarks of the command line: wall time and peak memory, in the same run.

    python -m bench.e2e --plots 100000 1000000     # `make bench-e2e`: vs the lean anchor and the exactextract pipeline
    python -m bench.e2e --national                  # 5M (and 1M) plots over a 3 x 3 mosaic of Hansen-named tiles
    python -m bench.e2e --tiles                     # a folder of all 504 Hansen tile names vs the one tile used
    python -m bench.e2e --large-plots               # one 2° x 2° plot, one 10° x 10° plot
    python -m bench.e2e --region-totals             # a 50,000 km² department measured whole (cold, then cached)
    python -m bench.e2e --report                    # the HTML report of 100k plots, evidence pages included: time, size

Every case runs each contender in its own process (``cacao-screen screen`` as a user runs it,
``../shared/bench/anchor_ee.py``, the lean exactextract pipeline the speed targets are measured
against (:mod:`bench.anchor`; skipped when ``../shared`` is absent), and ``python -m
bench.ee_pipeline``, exactextract asked for per-cell arrays) on cached synthetic inputs — the lean
anchor's own (its generators in ``../shared/bench``; the default when they are there) or
:mod:`bench.generate`'s — with the page cache warmed first, and measures the whole process: its
wall time (interpreter, imports, reading the plots, screening, writing the GeoPackage), its CPU
time, the load average as it started and the peak resident memory of its process tree
(:func:`bench.run.measure`). cacao-screen runs with ``-v``: its phase times go in the notes.
Figures are compared plot by plot (by ``source_row``, by id for the anchor). Prints a table and
appends it, dated, with the machine, to ``bench/RESULTS.md`` (``--no-record`` to skip). On a
shared machine, compare ratios of the same run.
"""

from __future__ import annotations

import argparse
import compileall
import os
import shlex
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from . import anchor
from .generate import (
    DATA_DIR,
    MOSAIC_VERSION,
    MosaicSpec,
    RasterSpec,
    ensure_mosaic,
    ensure_mosaic_plots,
    ensure_plots,
    ensure_rasters,
)
from .run import RESULTS, environment, measure, warm

CLI = [sys.executable, "-m", "pipeline", "-q"]


def cacao(plots, loss, cover, out, *extra, id_column: str | None = None) -> list[str]:
    """``cacao-screen screen`` as a user runs it; with ``id_column``, verbose (its phase times)."""
    cli = CLI if id_column is None else [*CLI[:-1], "-v"]
    ids = ["--id-column", id_column] if id_column not in (None, "plot_id") else []
    return [*cli, "screen", "--plots", str(plots), "--loss-year", str(loss), "--tree-cover", str(cover)] + [
        "--out",
        str(out),
        "--overwrite",
        *ids,
        *extra,
    ]


EE_STRATEGIES = ("raster-sequential", "feature-sequential")


def ee(plots, loss, cover, out, strategy: str = "raster-sequential", id_column: str = "plot_id") -> list[str]:
    args = ["--plots", str(plots), "--loss-year", str(loss), "--tree-cover", str(cover), "--out", str(out)]
    args += ["--id-column", id_column]
    return [sys.executable, "-m", "bench.ee_pipeline", *args, "--strategy", strategy]


def figures(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(source_row, forest_2000_ha, loss of each year) of a screening's ``plots`` layer."""
    import pyogrio

    years = [f"loss_{y}_ha" for y in range(2001, 2025)]
    t = pyogrio.read_dataframe(
        path, layer="plots", columns=["source_row", "forest_2000_ha", *years], read_geometry=False, use_arrow=True
    )
    order = np.argsort(t["source_row"].to_numpy())
    return (
        t["source_row"].to_numpy()[order],
        t["forest_2000_ha"].to_numpy(dtype=float, na_value=np.nan)[order],
        t[years].to_numpy(dtype=float, na_value=np.nan)[order],
    )


def max_diff(a: Path, b: Path) -> float:
    ra, fa, la = figures(a)
    rb, fb, lb = figures(b)
    assert (ra == rb).all()
    return float(max(np.nanmax(np.abs(fa - fb), initial=0), np.nanmax(np.abs(la - lb), initial=0)))


def run(label: str, cmd: list[str]) -> dict:
    print(f"  {label} ...", flush=True)
    r = measure(cmd, json_line=False, stderr=True)
    print(f"    {r['process_s']:.1f} s (CPU {r['cpu_s']:.1f} s, load {r['load']:.1f}), {r['rss_mb']:,.0f} MB")
    return r


# --- the cases ---------------------------------------------------------------------------------


def case_e2e(
    sizes: list[int],
    work: Path,
    *,
    ee_too: bool = True,
    raster_size: int = 40000,
    strategies: tuple[str, ...] = EE_STRATEGIES,
    data: str = "generated",
) -> tuple[list[str], list[str]]:
    """cacao-screen, the lean exactextract anchor (``../shared/bench/anchor_ee.py``, when present)
    and the exactextract pipeline, plots -> GeoPackage, on one Hansen-format pair: ``data``
    ``anchor``, the anchor's own data (``../shared/bench``'s generators), or ``generated``
    (:mod:`bench.generate`; a whole 40000 x 40000 px tile by default)."""
    if data == "anchor":
        inputs = anchor.ensure_data(raster_size)
        loss, cover, plots_for, id_column = inputs.loss_year, inputs.tree_cover, inputs.plots, anchor.ID_COLUMN
    else:
        spec = RasterSpec(raster_size)
        r = ensure_rasters(spec)["tiled"]
        loss, cover, id_column = r.loss_year, r.tree_cover, "plot_id"

        def plots_for(n):
            return ensure_plots(n, spec)

    lean = anchor.available()
    rows = [
        "| plots | contender | wall s | CPU s | peak RSS MB | load | cacao-screen's speed-up | max \\|Δ\\| ha |",
        "|---|---|---|---|---|---|---|---|",
    ]
    summary = [
        "| plots | cacao-screen | lean exactextract pipeline | ratio | exactextract pipeline | ratio | peak RSS |",
        "|---|---|---|---|---|---|---|",
    ]
    notes = [] if lean else ["the lean anchor was skipped: ../shared/bench/anchor_ee.py is not there"]
    for n in sizes:
        plots = plots_for(n)
        warm([loss, cover, plots])
        ours = work / f"cacao-{n}.gpkg"
        c = run(f"cacao-screen, {n:,} plots", cacao(plots, loss, cover, ours, id_column=id_column))
        notes += [f"{n:,} plots, cacao-screen -v: {line}" for line in phase_lines(c["stderr"])]
        against = []  # (label, result) of each reference
        if lean:
            theirs = work / f"anchor-{n}.gpkg"
            a = run(f"lean exactextract anchor, {n:,} plots", anchor.command(loss, cover, plots, id_column, theirs))
            a["diff"] = anchor.max_loss_diff(ours, theirs, id_column)
            theirs.unlink()
            against.append(("lean exactextract pipeline (../shared/bench/anchor_ee.py)", a))
        best = None
        for strategy in strategies if ee_too else ():
            # exactextract's strategies, each a process of its own; the ratio is to the faster one
            theirs = work / f"ee-{strategy}-{n}.gpkg"
            e = run(
                f"exactextract pipeline ({strategy}), {n:,} plots",
                ee(plots, loss, cover, theirs, strategy, id_column=id_column),
            )
            e["diff"] = max_diff(ours, theirs)
            theirs.unlink()
            against.append((f"exactextract pipeline ({strategy})", e))
            best = e if best is None or e["process_s"] < best["process_s"] else best
        for label, e in against:
            rows.append(
                f"| {n:,} | {label} | {e['process_s']:.1f} | {e['cpu_s']:.1f} | {e['rss_mb']:,.0f} | {e['load']:.1f} | "
                f"**{e['process_s'] / c['process_s']:.2f}** | {e['diff']:.1e} |"
            )
        cells = f"{c['process_s']:.1f} | {c['cpu_s']:.1f} | {c['rss_mb']:,.0f} | {c['load']:.1f}"
        rows.append(f"| {n:,} | cacao-screen | {cells} | | |")
        lean_cells = f"{a['process_s']:.1f} s | **{a['process_s'] / c['process_s']:.2f}x**" if lean else "skipped | "
        ee_cells = f"{best['process_s']:.1f} s | {best['process_s'] / c['process_s']:.2f}x" if best else "not run | "
        summary.append(f"| {n:,} | {c['process_s']:.1f} s | {lean_cells} | {ee_cells} | {c['rss_mb']:,.0f} MB |")
        if best is not None and best["diff"] > 1e-6:
            known = " (see the 1M note of 2026-11-28)" if raster_size == 40000 and data == "generated" else ""
            notes.append(f"{n:,} plots: largest difference from exactextract {best['diff']:.2e} ha{known}")
    return [*summary, "", *rows], notes


def phase_lines(stderr: str) -> list[str]:
    """The phase times and the writer's time that ``cacao-screen -v`` logs."""
    keep = ("phases:", "writing the GeoPackage")
    return [line.split("INFO: ", 1)[-1].strip() for line in stderr.splitlines() if any(k in line for k in keep)]


def case_national(work: Path, sizes=(1_000_000, 5_000_000)) -> tuple[list[str], list[str]]:
    """Millions of plots over a 3 x 3 mosaic of Hansen-named tiles: memory must not grow with plots."""
    mosaic = MosaicSpec()
    folder = ensure_mosaic(mosaic)
    rows = ["| plots | tiles | wall s | peak RSS MB | plots/s |", "|---|---|---|---|---|"]
    rss = {}
    for n in sizes:
        plots = ensure_plots_mosaic(n, mosaic)
        warm([plots])
        c = run(f"cacao-screen, {n:,} plots over the mosaic", cacao(plots, folder, folder, work / f"national-{n}.gpkg"))
        rss[n] = c["rss_mb"]
        rows.append(
            f"| {n:,} | {mosaic.tiles**2} | {c['process_s']:.1f} | {c['rss_mb']:,.0f} | {n / c['process_s']:,.0f} |"
        )
        (work / f"national-{n}.gpkg").unlink(missing_ok=True)
    notes = []
    if len(rss) == 2:
        small, big = sorted(rss)
        notes.append(f"peak RSS at {big:,} plots is {rss[big] / rss[small]:.2f} x that at {small:,}")
    return rows, notes


def ensure_plots_mosaic(n: int, mosaic: MosaicSpec) -> Path:
    return ensure_mosaic_plots(n, mosaic)


def case_tiles(work: Path, n: int = 100_000) -> tuple[list[str], list[str]]:
    """A folder holding all 504 Hansen tile names (the one under the plots real, the others
    placeholders that cannot be opened) against a folder holding that tile alone."""
    from pipeline.io.tiles import tile_name

    spec = RasterSpec(40000)
    r = ensure_rasters(spec)["tiled"]
    plots = ensure_plots(n, spec)
    one, every = work / "one-tile", work / "all-tiles"
    for folder in (one, every):
        folder.mkdir(exist_ok=True)
    placeholder = work / "placeholder.tif"
    placeholder.write_bytes(b"not a raster: a tile no plot lies on")
    for layer, src in (("lossyear", r.loss_year), ("treecover2000", r.tree_cover)):
        name = f"Hansen_{MOSAIC_VERSION}_{layer}_00N_080W.tif"
        for folder in (one, every):
            (folder / name).symlink_to(src)
        for top in range(80, -60, -10):
            for left in range(-180, 180, 10):
                t = tile_name(top, left)
                if t != "00N_080W":
                    (every / f"Hansen_{MOSAIC_VERSION}_{layer}_{t}.tif").symlink_to(placeholder)
    warm([r.loss_year, r.tree_cover, plots])
    rows = ["| tile folder | files | wall s | peak RSS MB |", "|---|---|---|---|"]
    times = {}
    for label, folder in (("the one tile", one), ("all 504 tile names", every)):
        c = run(f"cacao-screen, {n:,} plots, {label}", cacao(plots, folder, folder, work / "tiles.gpkg"))
        times[label] = c["process_s"]
        rows.append(f"| {label} | {len(list(folder.iterdir()))} | {c['process_s']:.1f} | {c['rss_mb']:,.0f} |")
    ratio = times["all 504 tile names"] / times["the one tile"]
    return rows, [f"504 tile names cost {ratio:.2f} x the one tile ({n:,} plots)"]


def case_large_plots(work: Path) -> tuple[list[str], list[str]]:
    """One plot of 2° x 2°, and one of 10° x 10° (a whole tile), on the synthetic tile."""
    import geopandas as gpd
    import pyogrio
    import shapely

    spec = RasterSpec(40000)
    r = ensure_rasters(spec)["tiled"]
    rows = ["| plot | pixels under it | wall s | peak RSS MB |", "|---|---|---|---|"]
    for label, box in (("2° x 2°", (-79.5, -9.5, -77.5, -7.5)), ("10° x 10°", (-80.0, -10.0, -70.0, 0.0))):
        path = work / "large.gpkg"
        g = gpd.GeoDataFrame({"plot_id": ["large"]}, geometry=[shapely.box(*box)], crs="EPSG:4326")
        pyogrio.write_dataframe(g, path, layer="plots")
        c = run(
            f"cacao-screen, one {label} plot",
            cacao(path, r.loss_year, r.tree_cover, work / "large-out.gpkg", "--max-extent-deg", "20"),
        )
        px = (box[2] - box[0]) * (box[3] - box[1]) / 0.00025**2
        rows.append(f"| {label} | {px / 1e6:,.0f} million | {c['process_s']:.1f} | {c['rss_mb']:,.0f} |")
    return rows, []


def department(area_km2: float, centre: tuple[float, float], vertices: int = 4000, seed: int = 14):
    """A deterministic irregular polygon of ``area_km2`` (geodesic, WGS84) around ``centre``: a
    wobbly outline of ``vertices`` points, like a department's border."""
    import shapely
    from pyproj import Geod, Transformer

    rng = np.random.default_rng(seed)
    t = np.linspace(0, 2 * np.pi, vertices, endpoint=False)
    wobble = 1 + 0.18 * np.sin(3 * t + 0.4) + 0.09 * np.sin(7 * t + 1.3) + 0.03 * rng.standard_normal(vertices)
    aeqd = Transformer.from_pipeline(f"+proj=aeqd +lat_0={centre[1]} +lon_0={centre[0]} +ellps=WGS84")
    geod = Geod(ellps="WGS84")

    def shape(radius_m: float):
        x, y = aeqd.transform(radius_m * wobble * np.cos(t), radius_m * wobble * np.sin(t), direction="INVERSE")
        return shapely.Polygon(np.column_stack([x, y]))

    r = np.sqrt(area_km2 * 1e6 / np.pi)
    for _ in range(3):  # scale the radius until the geodesic area is the one asked for
        got = abs(geod.geometry_area_perimeter(shape(r))[0]) / 1e6
        r *= np.sqrt(area_km2 / got)
    g = shape(r)
    return g, abs(geod.geometry_area_perimeter(g)[0]) / 1e6


def case_region_totals(work: Path, area_km2: float = 50_000, raster_size: int = 10_000, n_plots: int = 10_000):
    """One department of ``area_km2`` measured whole by `cacao-screen baseline --regions`: a cold
    run, a run from the cache, and the baseline without region totals (what they add)."""
    import geopandas as gpd
    import pyogrio

    spec = RasterSpec(raster_size)
    r = ensure_rasters(spec)["tiled"]
    west, south, east, north = spec.bounds
    geom, area = department(area_km2, ((west + east) / 2, (south + north) / 2))
    regions = work / "department.gpkg"
    gdf = gpd.GeoDataFrame({"id": ["D1"], "name": ["department"]}, geometry=[geom], crs="EPSG:4326")
    pyogrio.write_dataframe(gdf, regions, layer="regions")
    plots = ensure_plots(n_plots, spec)
    screening = work / "screening.gpkg"
    warm([r.loss_year, r.tree_cover, plots])
    run(f"cacao-screen screen, {n_plots:,} plots", cacao(plots, r.loss_year, r.tree_cover, screening))
    base = [*CLI, "baseline", "--screening", str(screening), "--out", str(work / "baseline.gpkg"), "--overwrite"]
    base += ["--regions", str(regions), "--region-id-column", "id"]
    cache = work / "cache"
    os.environ["CACAO_SCREEN_CACHE"] = str(cache)  # the benchmark's own cache, cold at first
    b = geom.bounds
    px = (b[2] - b[0]) * (b[3] - b[1]) / 0.00025**2
    rows = ["| run | wall s | peak RSS MB |", "|---|---|---|"]
    results = {}
    for label, extra in (
        ("baseline, --no-region-totals", ["--no-region-totals"]),
        ("baseline with region totals, cold cache", []),
        ("baseline with region totals, from the cache", []),
    ):
        c = run(label, [*base, *extra])
        results[label] = c
        rows.append(f"| {label} | {c['process_s']:.1f} | {c['rss_mb']:,.0f} |")
    cold = results["baseline with region totals, cold cache"]
    table = pyogrio.read_dataframe(work / "baseline.gpkg", layer="baseline_by_region", read_geometry=False)
    d1 = table[table["region_id"] == "D1"].iloc[0]
    notes = [
        f"department: {area:,.0f} km² (geodesic), {len(geom.exterior.coords) - 1:,} vertices, bounding box "
        f"{px / 1e6:,.0f} million pixels; {n_plots:,} plots screened on a {raster_size} px synthetic pair "
        f"({d1['region_data_coverage_pct']:.1f} % of the department over it)",
        f"peak RSS with region totals, cold: {cold['rss_mb']:,.0f} MB "
        f"({'within' if cold['rss_mb'] <= 1024 else 'ABOVE'} the 1 GB target); "
        f"{cold['rss_mb'] - results['baseline, --no-region-totals']['rss_mb']:+,.0f} MB over the baseline without them",
        f"region figures: forest 2000 {d1['region_forest_2000_ha']:,.0f} ha, baseline loss "
        f"{d1['region_baseline_mean_annual_loss_ha']:,.0f} ha/yr, "
        f"cocoa share {d1['cocoa_share_of_baseline_loss_pct']:.2f} %",
    ]
    return rows, notes


def _size(path: Path) -> int:
    return path.stat().st_size if path.is_file() else sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def case_report(work: Path, n: int = 100_000, raster_size: int = 10_000) -> tuple[list[str], list[str]]:
    """The report of ``n`` plots in cooperative clusters (screened, then their baseline by
    cooperative): ``cacao-screen report`` as a process, its time, memory and size on disk."""
    spec = RasterSpec(raster_size)
    r = ensure_rasters(spec)["tiled"]
    plots = ensure_plots(n, spec)
    screening, baseline = work / "screening.gpkg", work / "baseline.gpkg"
    run(f"screen {n:,} plots", cacao(plots, r.loss_year, r.tree_cover, screening))
    run("baseline", [*CLI, "baseline", "--screening", str(screening), "--cooperative-column", "cooperative",
                     "--out", str(baseline), "--overwrite"])  # fmt: skip
    out = work / "report.html"
    c = run("report", [*CLI, "report", "--screening", str(screening), "--baseline", str(baseline),
                       "--group-column", "cooperative", "--out", str(out), "--overwrite"])  # fmt: skip
    folder = out.with_name("report_files")
    pages = sorted(folder.glob("*.html")) if folder.is_dir() else []
    evidence = sorted((folder / "plots").glob("*.html")) if (folder / "plots").is_dir() else []
    kml = sum(_size(p) for p in (folder / "plots").glob("*.kml")) if evidence else 0
    total = _size(out) + (_size(folder) if folder.is_dir() else 0)
    biggest = max((_size(p) for p in pages), default=0)
    rows = [
        "| plots | report s | CPU s | load | peak RSS MB | index MB | group pages | group pages MB | largest KB | "
        "evidence pages | evidence MB | KML MB | total MB |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        f"| {n:,} | {c['process_s']:.1f} | {c['cpu_s']:.1f} | {c['load']:.1f} | {c['rss_mb']:,.0f} | "
        f"{_size(out) / 1e6:.2f} | {len(pages):,} | {sum(_size(p) for p in pages) / 1e6:.2f} | {biggest / 1e3:,.0f} | "
        f"{len(evidence):,} | {sum(_size(p) for p in evidence) / 1e6:.2f} | {kml / 1e6:.2f} | **{total / 1e6:.2f}** |",
    ]
    import pyogrio

    status = pyogrio.read_dataframe(screening, layer="plots", columns=["status"], read_geometry=False)["status"]
    need = int(status.isin(["review", "deforestation_detected"]).sum())
    return rows, [
        f"{raster_size} x {raster_size} px pair; plots by bench.generate (cooperative clusters); {need:,} of them "
        "review or deforestation_detected: one evidence page (and KML) each, in report_files/plots/",
    ]


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="Whole-process benchmarks of cacao-screen (see the module docstring).")
    p.add_argument("--plots", type=int, nargs="*", default=[], help="cacao-screen vs the exactextract pipeline")
    p.add_argument("--no-ee", action="store_true", help="cacao-screen only")
    p.add_argument(
        "--data",
        choices=("anchor", "generated"),
        default=None,
        help="inputs of --plots: the lean anchor's (../shared/bench's generators; the default when it is there) "
        "or bench/generate.py's",
    )
    p.add_argument(
        "--raster-size",
        type=int,
        default=None,
        help="side of the raster pair of --plots, px (default: 20000 for the anchor's data, 40000 for generated)",
    )
    p.add_argument(
        "--ee-strategies",
        nargs="+",
        default=list(EE_STRATEGIES),
        choices=EE_STRATEGIES,
        help="exactextract strategies run beside cacao-screen (the speed-up is over the fastest)",
    )
    p.add_argument("--national", action="store_true", help="1M and 5M plots over a 3 x 3 tile mosaic")
    p.add_argument("--tiles", action="store_true", help="504 Hansen tile names vs the one tile under the plots")
    p.add_argument("--large-plots", action="store_true", help="one 2° x 2° plot and one 10° x 10° plot")
    p.add_argument(
        "--region-totals", action="store_true", help="a 50,000 km² department measured whole (cold, then cached)"
    )
    p.add_argument("--report", action="store_true", help="the HTML report of 100k plots: time and size")
    p.add_argument("--label", default="bench-e2e", help="name of this run in RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--no-record", action="store_true")
    a = p.parse_args(argv)
    if not (a.plots or a.national or a.tiles or a.large_plots or a.region_totals or a.report):
        a.plots = [100_000, 1_000_000]
    if a.data is None:
        a.data = "anchor" if anchor.available() else "generated"
    elif a.data == "anchor" and not anchor.available():
        p.error(f"--data anchor: {anchor.SHARED} does not hold anchor_ee.py, gen_raster.py and gen_polys.py")
    if a.raster_size is None:
        a.raster_size = 20000 if a.data == "anchor" else 40000
    # the package's bytecode, as an installed package has it: where PYTHONDONTWRITEBYTECODE is set
    # (this machine), each process would otherwise compile every module of pipeline/ at start (~0.15 s)
    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "pipeline"), quiet=1)
    env = environment()
    started = time.time()
    sections = []
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="cacao-e2e-", dir=DATA_DIR) as tmp:
        work = Path(tmp)
        if a.plots:
            print("plots -> GeoPackage, cacao-screen, the lean anchor and the exactextract pipeline")
            whose = "the lean anchor's data" if a.data == "anchor" else "bench/generate.py's data"
            sections.append(
                (
                    "End to end: plots GeoPackage in, screening GeoPackage out "
                    f"({a.raster_size} x {a.raster_size} px pair, {whose})",
                    *case_e2e(
                        a.plots,
                        work,
                        ee_too=not a.no_ee,
                        raster_size=a.raster_size,
                        strategies=tuple(a.ee_strategies),
                        data=a.data,
                    ),
                )
            )
        if a.national:
            print("national case")
            sections.append(("National case: a 3 x 3 mosaic of Hansen-named tiles", *case_national(work)))
        if a.tiles:
            print("tile sets")
            sections.append(("Tile sets: all 504 Hansen tile names in one folder", *case_tiles(work)))
        if a.large_plots:
            print("large plots")
            sections.append(("Large plots, window by window", *case_large_plots(work)))
        if a.report:
            print("report")
            sections.append(("The HTML report of 100,000 plots", *case_report(work)))
        if a.region_totals:
            print("region totals")
            sections.append(("Region totals: a 50,000 km² department, window by window", *case_region_totals(work)))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    cmd = "python -m bench.e2e " + shlex.join(argv if argv is not None else sys.argv[1:])
    text = [
        f"## {when} · {a.label} (whole processes)",
        "",
        f"- machine: {env['machine']}; load average after the run " + " / ".join(f"{x:.2f}" for x in os.getloadavg()),
        f"- software: {env['software']}",
        f"- cacao-screen {env['cacao-screen']}",
        f"- `{cmd.strip()}` ({time.time() - started:.0f} s); each contender a process of its own "
        "(`cacao-screen screen`, `../shared/bench/anchor_ee.py`, `python -m bench.ee_pipeline`), page cache warm; "
        "load: the 1-minute load average as each process started",
    ]
    for title, rows, notes in sections:
        text += ["", f"### {title}", "", *rows]
        if notes:
            text += ["", *(f"- {x}" for x in notes)]
    out = "\n".join(text) + "\n"
    print("\n" + out)
    if not a.no_record:
        with open(a.results, "a", encoding="utf-8") as f:
            f.write("\n" + out)
        print(f"appended to {a.results}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
