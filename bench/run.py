"""Benchmark runner: cacao-screen against exactextract (and rasterstats) on the same inputs, same run.

    python -m bench.run --raster-size 8000 --plots 10000              # what `make bench-small` runs
    python -m bench.run --raster-size 40000 --plots 10000 100000 1000000 --layouts tiled strips

For each number of plots and each raster layout, every contender runs in its own process
(:mod:`bench.contenders`) on cached synthetic inputs (:mod:`bench.generate`), with the page cache
warmed first. Measured:

* ``plots/s`` and ``compute s`` — the screening itself (the rasters are read in this phase; reading
  the plots file and starting Python are not included);
* ``process s`` — the whole process, from start to exit (interpreter, imports, reading the plots);
* ``peak RSS`` — the largest sum of resident memory over the contender's process tree (sampled
  every 20 ms with psutil; worker processes included), and never less than the largest single
  process's ``ru_maxrss``;
* ``max |Δ| ha`` — the largest difference, over every plot and every figure (forest 2000 and the
  loss of each year), from exactextract's figures in the same run.

Prints a table and appends it, dated, with the machine and versions, to ``bench/RESULTS.md``
(``--no-record`` to skip). ``--profile`` also profiles cacao-screen in one process (cProfile) and
prints where its time goes.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shlex
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from .generate import DATA_DIR, RasterSpec, ensure_plots, ensure_rasters

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
RESULTS = HERE / "RESULTS.md"


# --- measuring a process -------------------------------------------------------------------


def measure(cmd: list[str], *, interval: float = 0.02, json_line: bool = True, stderr: bool = False) -> dict:
    """Run ``cmd``; its JSON line (when ``json_line``), wall time, CPU time (user + system, s), the
    load average as it started, and peak memory of its process tree (MB); ``stderr``: its
    standard error too (``result["stderr"]``)."""
    import psutil

    load = os.getloadavg()[0]
    started = time.perf_counter()
    out = tempfile.TemporaryFile(mode="w+")
    err = tempfile.TemporaryFile(mode="w+") if stderr else None
    proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=REPO)
    peak_tree = 0
    ps = psutil.Process(proc.pid)
    while True:
        pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            break
        try:
            rss = ps.memory_info().rss
            for child in ps.children(recursive=True):
                try:
                    rss += child.memory_info().rss
                except psutil.Error:
                    pass
            peak_tree = max(peak_tree, rss)
        except psutil.Error:
            pass
        time.sleep(interval)
    wall = time.perf_counter() - started
    proc.returncode = os.waitstatus_to_exitcode(status)
    out.seek(0)
    text = out.read()
    if proc.returncode != 0:
        if err is not None:
            err.seek(0)
            text += err.read()
        raise RuntimeError(f"{' '.join(cmd)} failed with exit code {proc.returncode}:\n{text}")
    result = json.loads(text.strip().splitlines()[-1]) if json_line else {"output": text}
    maxrss = usage.ru_maxrss * 1024  # KiB on Linux
    result.update(process_s=wall, rss_mb=max(peak_tree, maxrss) / 2**20, maxrss_mb=maxrss / 2**20)
    result.update(cpu_s=usage.ru_utime + usage.ru_stime, load=load)
    if err is not None:
        err.seek(0)
        result["stderr"] = err.read()
    return result


def warm(paths) -> None:
    """Read files once so that every contender finds them in the page cache; and cacao-screen's
    bytecode compiled, as an installed package has it (``make install`` compiles it too: without
    it, an environment with ``PYTHONDONTWRITEBYTECODE`` compiles every module at every start)."""
    import compileall

    compileall.compile_dir(str(Path(__file__).resolve().parents[1] / "pipeline"), quiet=1)
    for p in paths:
        with open(p, "rb") as f:
            while f.read(1 << 24):
                pass


# --- comparing figures ---------------------------------------------------------------------


def load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    with np.load(path) as z:
        return z["forest_2000_ha"], z["loss_ha"]


#: Figures further apart than this (hectares) are reported plot by plot.
TOLERANCE_HA = 1e-6


def max_diff(a, ref) -> tuple[float, int, np.ndarray]:
    """Largest |a - ref| over all plots and figures (NaN counts as 0), the number of NaN plots, and
    the rows (0-based) of plots differing by more than :data:`TOLERANCE_HA`."""
    (fa, la), (fr, lr) = a, ref
    n = len(fa)
    nan = int(np.isnan(fa).sum())
    per_plot = np.maximum(np.abs(np.nan_to_num(fa) - fr[:n]), np.abs(np.nan_to_num(la) - lr[:n]).max(axis=1))
    return float(per_plot.max(initial=0)), nan, np.flatnonzero(per_plot > TOLERANCE_HA)


def relative_errors(a, ref) -> dict:
    """Per-plot relative error of forest 2000 and of total loss against the reference (percent)."""
    (fa, la), (fr, lr) = a, ref
    n = len(fa)
    out = {}
    for name, x, y in (("forest", fa, fr[:n]), ("loss", la.sum(axis=1), lr[:n].sum(axis=1))):
        ok = y > 0.01  # plots with at least 100 m² of it
        rel = 100 * np.abs(x[ok] - y[ok]) / y[ok]
        out[name] = (float(np.median(rel)), float(np.percentile(rel, 95))) if ok.any() else (np.nan, np.nan)
    return out


# --- the run -------------------------------------------------------------------------------


def contender_cmd(name: str, plots: Path, rasters, out: Path, **opts) -> list[str]:
    cmd = [
        sys.executable,
        "-m",
        "bench.contenders",
        name,
        "--plots",
        str(plots),
        "--loss-year",
        str(rasters.loss_year),
        "--tree-cover",
        str(rasters.tree_cover),
        "--out",
        str(out),
    ]
    for k, v in opts.items():
        if v is not None:
            cmd += [f"--{k.replace('_', '-')}", str(v)]
    return cmd


def environment() -> dict[str, str]:
    import exactextract
    import psutil
    import rasterio

    from pipeline import __version__

    try:
        import rasterstats

        rs = rasterstats.__version__
    except ImportError:
        rs = "absent"
    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=REPO, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--", "pipeline"], cwd=REPO, capture_output=True, text=True
        ).stdout.strip()
        commit += " + uncommitted changes in pipeline/" if dirty else ""
    except (OSError, subprocess.CalledProcessError):
        commit = "unknown"
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return {
        "machine": f"{platform.system()} {platform.machine()}, {cores} cores ({cpu}), "
        f"{psutil.virtual_memory().total / 2**30:.1f} GiB RAM; load average before the run "
        + " / ".join(f"{x:.2f}" for x in os.getloadavg())
        + " (1 / 5 / 15 min; other work skews timings)",
        "software": f"Python {platform.python_version()}, GDAL {rasterio.__gdal_version__}, numpy {np.__version__}, "
        f"exactextract {getattr(exactextract, '__version__', '?')}, rasterstats {rs}",
        "cacao-screen": f"{__version__} at commit {commit}",
    }


def fmt_rate(x: float) -> str:
    return f"{x:,.0f}"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="cacao-screen vs exactextract (and rasterstats), same inputs, same run.")
    p.add_argument("--raster-size", type=int, default=40000, help="pixels per side (40000 = a whole Hansen tile)")
    p.add_argument("--plots", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    p.add_argument(
        "--layouts",
        nargs="+",
        default=["tiled"],
        choices=["tiled", "strips"],
        help="tiled = 512 x 512 DEFLATE; strips = 1-row LZW strips like the real downloads",
    )
    p.add_argument(
        "--contenders",
        nargs="+",
        default=["cacao", "exactextract", "rasterstats"],
        choices=["cacao", "exactextract", "rasterstats"],
    )
    p.add_argument(
        "--schedulers",
        nargs="+",
        default=["local", "threads"],
        help="cacao-screen schedulers to measure (local, threads, or a Dask address)",
    )
    p.add_argument("--workers", type=int, default=None, help="cacao-screen workers (default: its own default)")
    p.add_argument(
        "--ee-strategies",
        nargs="+",
        default=["raster-sequential", "feature-sequential"],
        choices=["raster-sequential", "feature-sequential"],
        help="exactextract strategies to measure",
    )
    p.add_argument(
        "--rasterstats-max-plots",
        type=int,
        default=100_000,
        help="run rasterstats only for sizes up to this many plots",
    )
    p.add_argument(
        "--rasterstats-limit",
        type=int,
        default=5_000,
        help="rasterstats is measured on the first N plots only (it is slow); its plots/s is per plot",
    )
    p.add_argument("--seed", type=int, default=RasterSpec.seed)
    p.add_argument("--label", default="bench", help="name of this run in RESULTS.md")
    p.add_argument("--results", type=Path, default=RESULTS)
    p.add_argument("--no-record", action="store_true", help="do not append to RESULTS.md")
    p.add_argument("--profile", action="store_true", help="also profile cacao-screen in one process (cProfile)")
    a = p.parse_args(argv)

    spec = RasterSpec(a.raster_size, a.seed)
    t = time.perf_counter()
    rasters = ensure_rasters(spec, strips="strips" in a.layouts)
    plot_files = {n: ensure_plots(n, spec) for n in a.plots}
    print(f"inputs ready ({time.perf_counter() - t:.0f} s): {DATA_DIR / spec.name}")

    env = environment()
    rows, notes, profiles = [], [], []
    tmp = tempfile.TemporaryDirectory(prefix="cacao-bench-")  # per-plot figures of each contender
    work = Path(tmp.name)
    for n in a.plots:
        for layout in a.layouts:
            rp = rasters[layout]
            warm([rp.loss_year, rp.tree_cover, plot_files[n]])
            runs = []  # (label, result, figures)
            if "exactextract" in a.contenders:
                for strategy in a.ee_strategies:
                    out = work / f"ee-{strategy}-{n}-{layout}.npz"
                    print(f"[{n:,} plots, {layout}] exactextract ({strategy}) ...", flush=True)
                    r = measure(contender_cmd("exactextract", plot_files[n], rp, out, strategy=strategy))
                    runs.append((f"exactextract ({strategy})", r, load(out)))
            if "cacao" in a.contenders:
                for sched in a.schedulers:
                    out = work / f"cacao-{sched.replace('/', '_').replace(':', '_')}-{n}-{layout}.npz"
                    print(f"[{n:,} plots, {layout}] cacao-screen ({sched}) ...", flush=True)
                    r = measure(contender_cmd("cacao", plot_files[n], rp, out, workers=a.workers, scheduler=sched))
                    runs.append(
                        (f"cacao-screen ({sched}, {r['workers']} worker{'s' * (r['workers'] > 1)})", r, load(out))
                    )
            if "rasterstats" in a.contenders and n <= a.rasterstats_max_plots:
                out = work / f"rs-{n}-{layout}.npz"
                limit = min(n, a.rasterstats_limit)
                print(f"[{n:,} plots, {layout}] rasterstats (first {limit:,} plots) ...", flush=True)
                r = measure(contender_cmd("rasterstats", plot_files[n], rp, out, limit=limit))
                runs.append((f"rasterstats (first {limit:,} plots)" if limit < n else "rasterstats", r, load(out)))
            ref_label, ref = next(
                ((label, fig) for label, _, fig in runs if label.startswith("exactextract")), (None, None)
            )
            best_ee = max(
                (r["n"] / r["compute_s"] for label, r, _ in runs if label.startswith("exactextract")), default=None
            )
            for label, r, fig in runs:
                diff, nan, far = max_diff(fig, ref) if ref is not None else (float("nan"), 0, [])
                rate = r["n"] / r["compute_s"]
                rows.append(
                    dict(
                        plots=n,
                        layout=layout,
                        contender=label,
                        rate=rate,
                        compute=r["compute_s"],
                        process=r["process_s"],
                        rss=r["rss_mb"],
                        diff=diff,
                        is_ref=label == ref_label,
                        ratio=rate / best_ee if best_ee else None,
                    )
                )
                if nan:
                    notes.append(f"{label} at {n:,} plots ({layout}): {nan} plots without figures (NaN)")
                if len(far) and not label.startswith("rasterstats"):
                    rows_ = ", ".join(str(i) for i in far[:10]) + (", ..." if len(far) > 10 else "")
                    notes.append(
                        f"{label} at {n:,} plots ({layout}): {len(far)} plot(s) differ from {ref_label} by "
                        f"more than {TOLERANCE_HA:g} ha (0-based rows of the plots file: {rows_})"
                    )
                if label.startswith("rasterstats") and ref is not None:
                    e = relative_errors(fig, ref)
                    notes.append(
                        f"rasterstats (pixel centres) at {n:,} plots ({layout}), per-plot error against exact "
                        f"coverage: forest 2000 median {e['forest'][0]:.1f} %, p95 {e['forest'][1]:.1f} %; "
                        f"total loss median {e['loss'][0]:.1f} %, p95 {e['loss'][1]:.1f} %"
                    )
            if a.profile:
                prof = DATA_DIR / f"profile-cacao-{n}-{spec.name}-{layout}.prof"
                print(f"[{n:,} plots, {layout}] profiling cacao-screen in one process ...", flush=True)
                measure(contender_cmd("cacao", plot_files[n], rp, work / "prof.npz", workers=1, profile=prof))
                profiles.append((n, layout, prof))

    tmp.cleanup()
    header = (
        "| plots | layout | contender | plots/s | × exactextract | compute s | process s | peak RSS MB "
        "| max \\|Δ\\| ha |"
    )
    lines = [header, "|" + "---|" * 9]
    for r in rows:
        ratio = f"{r['ratio']:.2f}" if r["ratio"] else ""
        diff = "reference" if r["is_ref"] else f"{r['diff']:.1e}"
        lines.append(
            f"| {r['plots']:,} | {r['layout']} | {r['contender']} | {fmt_rate(r['rate'])} | {ratio} | "
            f"{r['compute']:.2f} | {r['process']:.1f} | {r['rss']:,.0f} | {diff} |"
        )
    table = "\n".join(lines)
    print()
    print(table)
    for note in notes:
        print("- " + note)
    for n, layout, prof in profiles:
        import pstats

        print(f"\ncacao-screen, one process, {n:,} plots, {layout} ({prof}): top functions by own time")
        pstats.Stats(str(prof)).sort_stats("tottime").print_stats(15)
        print("... and cacao-screen's own functions by cumulative time")
        pstats.Stats(str(prof)).sort_stats("cumulative").print_stats(r"pipeline[/\\]", 20)

    if not a.no_record:
        when = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
        cmd = "python -m bench.run " + shlex.join(argv if argv is not None else sys.argv[1:])
        section = [
            f"## {when} · {a.label} · {spec.size:,} x {spec.size:,} px, {', '.join(f'{n:,}' for n in a.plots)} plots",
            "",
            f"- machine: {env['machine']}",
            f"- software: {env['software']}",
            f"- cacao-screen {env['cacao-screen']}",
            f"- inputs: synthetic Hansen-format pair ({spec.name}), page cache warm; `{cmd.strip()}`",
            "",
            table,
            "",
            *[f"- {note}" for note in notes],
        ]
        new = not a.results.exists()
        with open(a.results, "a", encoding="utf-8") as f:
            if new:
                f.write(RESULTS_HEADER)
            f.write("\n" + "\n".join(section).rstrip() + "\n")
        print(f"\nappended to {a.results}")
    return 0


RESULTS_HEADER = """\
# Benchmark results

Appended by `make bench-small` / `make bench` (`python -m bench.run`); newest last. Synthetic
Hansen-format inputs from `bench/generate.py`. Columns:

- **plots/s**, **compute s**: the screening itself, rasters read included; reading the plots file
  and starting Python are not (they are in **process s**, the whole process's wall time).
- **× exactextract**: plots/s divided by the faster exactextract strategy's, same inputs, same run.
- **peak RSS MB**: largest sum of resident memory over the contender's process tree (workers included).
- **max |Δ| ha**: largest difference from exactextract's figures (forest 2000 and the loss of each
  year, every plot), in hectares.
"""


if __name__ == "__main__":
    raise SystemExit(main())
