"""Benchmark: the evidence pages of a report of N plots (not a test).

Builds, deterministically (seeded), the layers a screening of N plots gives — ``plots`` (squares
of 1-4 ha on a grid over San Martín, Peru; 9 % ``review`` or ``deforestation_detected``, as in the
sample), their ``loss_patches`` (1-3 a plot, made of 30 m cells), ``loss_by_year`` and
``plot_issues`` — then times what the report does for the evidence: gathering each page's
evidence (:func:`pipeline.stages.evidence.plot_evidence`), rendering the pages, KMLs and the
shared stylesheet (:func:`pipeline.io.evidence.evidence_files`), and writing them to a folder.
Prints the pages, the total size, the largest page and the seconds of each step.

    .venv/bin/python -m bench.evidence                  # 100,000 plots
    .venv/bin/python -m bench.evidence --plots 10000
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from pipeline.config import ScreeningConfig
from pipeline.io.evidence import evidence_files
from pipeline.stages.evidence import page_slugs, plot_evidence

SEED = 20201231
LON0, LAT0, CELL, PX = -77.0, -7.0, 0.003, 0.00025


def layers(n: int, seed: int = SEED) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    side = int(np.ceil(np.sqrt(n)))
    i = np.arange(n)
    x0 = LON0 + (i % side) * CELL
    y0 = LAT0 - (i // side) * CELL
    size = rng.uniform(0.0009, 0.0018, n)
    geoms = shapely.box(x0, y0 - size, x0 + size, y0)
    status = rng.choice(
        ["deforestation_free", "review", "deforestation_detected", "not_assessed"], n, p=[0.895, 0.045, 0.045, 0.015]
    )
    ids = np.array([f"PE-{k:07d}" for k in i], dtype=object)
    after = np.where(status == "deforestation_detected", rng.uniform(0.11, 2, n), 0.0)
    after = np.where(status == "review", rng.uniform(0.001, 0.1, n), after)
    plots = gpd.GeoDataFrame(
        {
            "plot_id": ids,
            "source_row": i + 1,
            "status": status,
            "status_reason": [f"{a:.2f} ha of forest lost after 2020" for a in after],
            "area_ha": size * size * 111_000**2 / 10_000,
            "data_coverage_pct": 100.0,
            "loss_after_ref_ha": after,
            "qc_status": "ok",
        },
        geometry=geoms,
        crs="EPSG:4326",
    )
    lost = np.flatnonzero(after > 0)
    k = rng.integers(1, 4, len(lost))
    owner = np.repeat(lost, k)
    cx = x0[owner] + rng.uniform(0, 1, len(owner)) * size[owner] * 0.7
    cy = y0[owner] - rng.uniform(0.2, 1, len(owner)) * size[owner] * 0.7
    w = rng.integers(1, 4, len(owner)) * PX
    year = rng.integers(2021, 2025, len(owner))
    patches = gpd.GeoDataFrame(
        {
            "plot_id": ids[owner],
            "source_row": owner + 1,
            "product": "hansen",
            "kind": "loss",
            "year": year,
            "area_ha": (w / PX) ** 2 * 0.077,
            "share_of_plot_pct": 1.0,
            "max_distance_from_edge_m": rng.uniform(0, 60, len(owner)),
            "cells": ((w / PX) ** 2).astype(int),
        },
        geometry=shapely.box(cx, cy - w, cx + w, cy),
        crs="EPSG:4326",
    )
    by_year = (
        patches.groupby(["plot_id", "source_row", "product", "year"], as_index=False)["area_ha"]
        .sum()
        .rename(columns={"area_ha": "loss_ha"})
    )
    issues = pd.DataFrame(
        {
            "plot_id": ids[lost[::7]],
            "source_row": lost[::7] + 1,
            "code": "low_precision",
            "severity": "warning",
            "message": "coordinates have at most 4 decimal(s) (~11.1 m); EUDR asks for 6",
        }
    )
    return plots, patches, pd.DataFrame(by_year), issues


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--plots", type=int, default=100_000)
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    plots, patches, by_year, issues = layers(args.plots)
    t1 = time.perf_counter()
    evidence = plot_evidence(plots, patches, by_year, issues, ScreeningConfig(), page_slugs(plots["plot_id"]))
    t2 = time.perf_counter()
    files = evidence_files(evidence, "Report", "../../report.html")
    t3 = time.perf_counter()
    folder = Path(tempfile.mkdtemp(prefix="cacao-evidence-"))
    try:
        (folder / "plots").mkdir()
        for name, text in files.items():
            (folder / name).write_text(text, encoding="utf-8")
        t4 = time.perf_counter()
        sizes = {name: (folder / name).stat().st_size for name in files}
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    pages = [s for name, s in sizes.items() if name.endswith(".html")]
    kml = [s for name, s in sizes.items() if name.endswith(".kml")]
    print(f"plots: {args.plots:,}; pages: {len(pages):,} (review and deforestation_detected plots only)")
    print(
        f"size: pages {sum(pages) / 1e6:.1f} MB (largest {max(pages) / 1e3:.1f} kB, median "
        f"{np.median(pages) / 1e3:.1f} kB), KML {sum(kml) / 1e6:.1f} MB, in all {sum(sizes.values()) / 1e6:.1f} MB"
    )
    print(f"seconds: layers {t1 - t0:.1f} (not part of a report), evidence {t2 - t1:.1f}, "
          f"render {t3 - t2:.1f}, write {t4 - t3:.1f}; the pages in all {t4 - t1:.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
