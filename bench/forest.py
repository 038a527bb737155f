"""The cost of a 10 m forest map beside Hansen, end to end (issue 21).

    python -m bench.forest --plots 100000            # `make bench-forest`
    python -m bench.forest --plots 10000 --raster-size 4000

One synthetic Hansen pair of :mod:`bench.generate` and, over the same square, a synthetic forest
map of 2020 on GFC2020's own 10 m grid (1/11132° pixels: 2.78 per Hansen pixel; its cells straddle
Hansen's edges), derived from the pair: forest where the tree cover at the cell's centre is above
10 % and the loss year is not 2001-2020, cached under ``bench/data``. Two ``cacao-screen run``
processes on the same plots: Hansen alone, then Hansen with the map as a ``forest_cover`` product
under the forest rule (the map measured on its own grid; Hansen's loss after the cut-off measured
beside it on the 10 m grid). Wall time, CPU time (user + system, less skewed by other work on the
machine) and peak RSS of each whole process (:func:`bench.run.measure`), the ratios, the load
average; appended to ``bench/RESULTS.md``. The target: at most 2x at 100k plots.
"""

from __future__ import annotations

import argparse
import math
import os
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .generate import DATA_DIR, PX, TILE_X0, TILE_Y0, RasterSpec, ensure_plots, ensure_rasters
from .run import RESULTS, environment, measure, warm

#: GFC2020's pixel.
GFC_PX = 1 / 11132
CLI = [sys.executable, "-m", "pipeline", "-q"]


def ensure_forest(spec: RasterSpec, loss: Path, cover: Path, *, root: Path = DATA_DIR, log=print) -> Path:
    """The cached 10 m forest map over ``spec``'s square (generated if missing), band by band."""
    import rasterio
    from rasterio.transform import from_origin
    from rasterio.windows import Window

    path = root / f"forest2020-10m-{spec.name}.tif"
    if path.exists():
        return path
    n = math.ceil(round(spec.size * PX / GFC_PX, 6))
    log(f"generating a {n} x {n} px forest map of 2020 (10 m) in {path}")
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}.tif")
    profile = dict(
        driver="GTiff", width=n, height=n, count=1, dtype="uint8", crs="EPSG:4326", nodata=255,
        transform=from_origin(TILE_X0, TILE_Y0, GFC_PX, GFC_PX), tiled=True, blockxsize=512, blockysize=512,
        compress="deflate",
    )  # fmt: skip
    cols = np.minimum(((np.arange(n) + 0.5) * GFC_PX / PX).astype("int64"), spec.size - 1)
    band = 2048
    with rasterio.open(loss) as dl, rasterio.open(cover) as dc, rasterio.open(tmp, "w", **profile) as out:
        out.update_tags(SYNTHETIC="yes", DESCRIPTION="SYNTHETIC forest map of 2020 (1 = forest), bench/forest.py")
        for r0 in range(0, n, band):
            h = min(band, n - r0)
            rows = np.minimum(((np.arange(r0, r0 + h) + 0.5) * GFC_PX / PX).astype("int64"), spec.size - 1)
            hr0, hr1 = int(rows[0]), int(rows[-1]) + 1
            win = Window(0, hr0, spec.size, hr1 - hr0)
            ly, tc = dl.read(1, window=win), dc.read(1, window=win)
            forest = (tc > 10) & ~((ly >= 1) & (ly <= 20))
            out.write(forest[np.ix_(rows - hr0, cols)].astype("uint8"), 1, window=Window(0, r0, n, h))
    os.replace(tmp, path)
    return path


def job(plots: Path, loss: Path, cover: Path, forest: Path | None, out: Path, folder: Path) -> Path:
    """A ``run`` configuration: Hansen, and the forest map under the forest rule when given."""
    import yaml

    datasets: dict = {"hansen": {"kind": "hansen", "loss_year": str(loss), "tree_cover": str(cover)}}
    screening: dict = {"reference_year": 2020}
    if forest is not None:
        datasets["gfc2020"] = {"kind": "forest_cover", "forest": str(forest), "forest_values": [1]}
        screening["forest_at_cutoff"] = {"products": ["gfc2020"], "rule": "any"}
    cfg = {
        "plots": {"path": str(plots)},
        "datasets": datasets,
        "screening": screening,
        "output": {"path": str(out), "overwrite": True},
    }
    path = folder / f"{out.stem}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def case_forest(sizes: list[int], raster_size: int, work: Path) -> tuple[list[str], list[str]]:
    spec = RasterSpec(raster_size)
    r = ensure_rasters(spec)["tiled"]
    forest = ensure_forest(spec, r.loss_year, r.tree_cover)
    rows = [
        "| plots | Hansen alone: wall s | CPU s | peak RSS MB | + 10 m forest map: wall s | CPU s | peak RSS MB "
        "| ratio (wall) | ratio (CPU) | load |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    notes = [f"Hansen {raster_size} x {raster_size} px (0.00025°); the forest map {forest.name} (1/11132°)"]
    for n in sizes:
        plots = ensure_plots(n, spec)
        warm([r.loss_year, r.tree_cover, forest, plots])
        results = []
        for label, layer in (("hansen", None), ("forest", forest)):
            out = work / f"{label}-{n}.gpkg"
            cmd = [*CLI, "run", "--config", str(job(plots, r.loss_year, r.tree_cover, layer, out, work))]
            res = measure(cmd, json_line=False)
            results.append(res)
            print(f"{label}, {n:,} plots: {res['process_s']:.1f} s, {res['rss_mb']:,.0f} MB", file=sys.stderr)
        h, f = results
        rows.append(
            f"| {n:,} | {h['process_s']:.1f} | {h['cpu_s']:.1f} | {h['rss_mb']:,.0f} | {f['process_s']:.1f} | "
            f"{f['cpu_s']:.1f} | {f['rss_mb']:,.0f} | **{f['process_s'] / h['process_s']:.2f}x** | "
            f"**{f['cpu_s'] / h['cpu_s']:.2f}x** | {h['load']:.1f} / {f['load']:.1f} |"
        )
    return rows, notes


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="A 10 m forest map beside Hansen, end to end (see the module docstring).")
    p.add_argument("--plots", type=int, nargs="+", default=[100_000])
    p.add_argument(
        "--raster-size",
        type=int,
        default=10000,
        help="Hansen pixels a side (10000: 2.5 x 2.5 degrees, room for 100k plots)",
    )
    p.add_argument("--label", default="bench-forest")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--no-record", action="store_true")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cacao-bench-forest-") as tmp:
        rows, notes = case_forest(args.plots, args.raster_size, Path(tmp))
    when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    env = [f"- {k}: {v}" for k, v in environment().items()]
    text = "\n".join([f"## {args.label} — {when}", "", *env, "", *rows, "", *(f"- {x}" for x in notes), ""])
    print(text)
    if not args.no_record:
        with open(args.results, "a", encoding="utf-8") as f:
            f.write("\n" + text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
