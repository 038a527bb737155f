"""Benchmark: overlays — 100,000 plots against a layer of 10,000 polygons (not a test).

Generates, deterministically, the plots of ``bench.generate.make_plots`` over a 20000 px tile
(5° x 5°, cooperative clusters) and ``--polygons`` SYNTHETIC overlay polygons over the same area:
wiggly ovals of 0.5 to 5,000 ha with 64 to 1,024 vertices, a tenth of them with a hole, a twentieth
invalid (a ring crossing itself, repaired when read), and some overlapping each other. Then it
measures what the screening does per chunk: :func:`pipeline.stages.overlays.overlay_columns` on
chunks of ``--chunk`` plots against one :class:`~pipeline.engine.overlay.OverlayLayer` (index
built once), and checks a sample of plots against shapely's intersections with the same geodesic
areas.

    .venv/bin/python -m bench.overlays                       # 100,000 plots, 10,000 polygons
    .venv/bin/python -m bench.overlays --plots 1000000 --chunk 16384

Prints the time to build the index, to measure all chunks, the plots that overlap, and the
largest difference from the reference.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import shapely

from bench.generate import RasterSpec, make_plots
from pipeline.engine.geodesy import M2_PER_HA, geodesic_areas
from pipeline.engine.overlay import OverlayLayer
from pipeline.stages.overlays import overlay_columns


def overlay_polygons(n: int, bounds: tuple[float, float, float, float], seed: int = 22) -> np.ndarray:
    """``n`` wiggly ovals inside ``bounds``: a tenth with a hole, a twentieth self-crossing."""
    rng = np.random.default_rng(seed)
    x0, y0, x1, y1 = bounds
    area_ha = np.exp(rng.uniform(np.log(0.5), np.log(5000), n))
    radius = np.sqrt(area_ha * 1e4 / np.pi) / 111_000  # degrees, about
    cx, cy = rng.uniform(x0, x1, n), rng.uniform(y0, y1, n)
    out = np.empty(n, dtype=object)
    for i in range(n):
        k = int(np.clip(64 * (1 + area_ha[i] / 500), 64, 1024))
        t = np.linspace(0, 2 * np.pi, k, endpoint=False)
        r = radius[i] * (1 + 0.15 * np.sin(rng.integers(3, 9) * t + rng.uniform(0, 6)))
        ring = np.column_stack([cx[i] + r * np.cos(t), cy[i] + 0.9 * r * np.sin(t)])
        if i % 20 == 0:
            ring[[1, 2]] = ring[[2, 1]]  # a ring crossing itself: invalid, repaired as it would be when read
        hole = None
        if i % 10 == 5:
            hole = np.column_stack([cx[i] + 0.3 * radius[i] * np.cos(t[::4]), cy[i] + 0.3 * radius[i] * np.sin(t[::4])])
        out[i] = shapely.Polygon(ring, None if hole is None else [hole])
    bad = ~shapely.is_valid(out)
    out[bad] = shapely.make_valid(out[bad], method="structure")
    return out


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plots", type=int, default=100_000)
    ap.add_argument("--polygons", type=int, default=10_000)
    ap.add_argument("--chunk", type=int, default=16_384, help="plots per chunk, as the screening's --chunk-plots")
    ap.add_argument("--check", type=int, default=2000, help="plots checked against shapely's intersections")
    args = ap.parse_args(argv)
    spec = RasterSpec(size=20000)
    t = time.perf_counter()
    plots = make_plots(args.plots, spec).geometry.to_numpy()
    polygons = overlay_polygons(args.polygons, spec.bounds)
    print(f"generated {len(plots):,} plots and {len(polygons):,} polygons in {time.perf_counter() - t:.1f} s")
    t = time.perf_counter()
    layer = OverlayLayer("bench", "protected_area", "review", polygons, [f"P{i}" for i in range(len(polygons))])
    built = time.perf_counter() - t
    area = geodesic_areas(plots) / M2_PER_HA
    t = time.perf_counter()
    parts = [
        overlay_columns(plots[i : i + args.chunk], area[i : i + args.chunk], [layer])
        for i in range(0, len(plots), args.chunk)
    ]
    measured = time.perf_counter() - t
    ha = np.concatenate([p["bench_overlap_ha"].to_numpy() for p in parts])
    print(f"index built in {built:.2f} s; {len(plots):,} plots measured in {measured:.2f} s "
          f"({len(parts)} chunks of {args.chunk:,}); {int((ha > 0).sum()):,} plots overlap, "
          f"{ha.sum():,.2f} ha")  # fmt: skip
    pick = np.random.default_rng(1).choice(len(plots), size=min(args.check, len(plots)), replace=False)
    union = shapely.union_all(polygons)
    want = np.nan_to_num(geodesic_areas(shapely.intersection(plots[pick], union))) / M2_PER_HA
    print(f"largest difference from shapely's intersections on {len(pick):,} plots: "
          f"{np.abs(ha[pick] - want).max():.2e} ha")  # fmt: skip


if __name__ == "__main__":
    main()
