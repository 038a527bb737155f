"""Snapshot the outputs of a fixed set of runs, and compare two snapshots figure by figure.

Used to prove that a restructuring changes no figure, bit for bit:

    python tools/compare_outputs.py snapshot /tmp/before      # on the old code
    python tools/compare_outputs.py snapshot /tmp/after       # on the new code
    python tools/compare_outputs.py compare /tmp/before /tmp/after

The runs go through the command line (``python -m pipeline``), so the same script drives any
version. They cover the synthetic sample (``make run``'s job without its alert products, the
same with a second forest definition, and — when the sample config has alert products — the job
as it is, ``sample_alerts``) and, when ``../shared/real-data`` is present, the real Hansen clips
and plots. ``compare`` reads every GeoPackage and CSV of both snapshots and compares every
layer, column and geometry exactly (NaN equals NaN; ``--tolerance`` to allow rounding), rows
matched by ``source_row`` where a layer has one (a screening writes its rows in location order);
it ignores what is meant to differ between runs: times, the absolute paths of the inputs and
outputs, and ``screen_key`` (a hash that includes the code's version). It exits 1 and lists the
differences when there are any.

It compares values, not their storage: a date stored as text or as a GeoPackage DATE, a flag as
0/1 or a boolean, an empty geometry or a NULL one are the same. What only the newer snapshot
has — a column, a layer, a metadata key, a file — is listed as an addition, not a difference:
a change may add outputs, never alter or lose one. QGIS's ``layer_styles`` table is not compared.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
REAL = REPO.parent / "shared" / "real-data"
SAMPLE = REPO / "data" / "sample"

#: Metadata keys and columns that differ from run to run by design.
IGNORED_KEYS = {
    "created_utc",
    "elapsed_s",
    "screening",
    "screening_created_utc",
    "plots_path",
    "previous",
    "previous_created_utc",
    "config",
    "command",
    "started_utc",
    "finished_utc",
    "inputs",
}
IGNORED_COLUMNS = {"screen_key", "row_digest"}
#: Tables that hold no figure.
IGNORED_LAYERS = {"layer_styles"}


def _cli(*args: str) -> None:
    cmd = [sys.executable, "-m", "pipeline", "-q", *args]
    done = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if done.returncode not in (0, 3, 4):
        raise SystemExit(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stderr}")


def _sample_config(out: Path, name: str, screening: dict, alerts: bool = False, cutoff: bool = False) -> Path:
    """``make run``'s job with its paths made absolute; without its alert products unless ``alerts``,
    without its maps of the cut-off day and establishment column unless ``cutoff`` (so that the runs
    of older versions, which had none, stay comparable)."""
    import yaml

    cfg = yaml.safe_load((REPO / "configs" / "sample.yaml").read_text())
    base = REPO / "configs"
    cfg["plots"]["path"] = str((base / cfg["plots"]["path"]).resolve())
    for overlay in cfg.get("overlays") or []:
        overlay["file"] = str((base / overlay["file"]).resolve())
    products = [cfg["rasters"]] if "rasters" in cfg else list(cfg["datasets"].values())
    for product in products:
        for key in (
            "loss_year",
            "tree_cover",
            "datamask",
            "forest_mask",
            "alerts",
            "confidence_layer",
            "forest",
            "land_use",
        ):
            if product.get(key):
                product[key] = str((base / product[key]).resolve())
    if "datasets" in cfg and not alerts:
        cfg["datasets"] = {k: v for k, v in cfg["datasets"].items() if v.get("kind") != "alerts"}
    if "datasets" in cfg and not cutoff:
        cfg["datasets"] = {
            k: v for k, v in cfg["datasets"].items() if v.get("kind") not in ("forest_cover", "land_use")
        }
        cfg["plots"].pop("established_column", None)
        cfg["screening"].pop("forest_at_cutoff", None)
    cfg["screening"].update(screening)
    cfg["output"] = {"path": str(out / f"{name}.gpkg"), "overwrite": True}
    b = cfg["baseline"]
    b["output"] = str(out / f"{name}_baseline.gpkg")
    for section in ("regions", "deliveries"):
        b[section]["path"] = str((base / b[section]["path"]).resolve())
    if cfg.get("report"):
        cfg["report"]["out"] = str(out / f"{name}_{Path(cfg['report']['out']).name}")
    for export in cfg.get("exports") or []:
        export["out"] = str(out / f"{name}_{Path(export['out']).name}")
    path = out / f"{name}.yaml"
    path.write_text(yaml.safe_dump(cfg, sort_keys=False))
    return path


def _sample_has_maps() -> bool:
    import yaml

    cfg = yaml.safe_load((REPO / "configs" / "sample.yaml").read_text())
    return any(v.get("kind") in ("forest_cover", "land_use") for v in (cfg.get("datasets") or {}).values())


def _sample_has_alerts() -> bool:
    import yaml

    cfg = yaml.safe_load((REPO / "configs" / "sample.yaml").read_text())
    return any(v.get("kind") == "alerts" for v in (cfg.get("datasets") or {}).values())


def snapshot(out: Path) -> None:
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    if not (SAMPLE / ".complete").exists():
        raise SystemExit(f"{SAMPLE}: no sample; run `make sample` first")
    _cli("run", "--config", str(_sample_config(out, "sample", {})))
    if _sample_has_alerts():
        _cli("run", "--config", str(_sample_config(out, "sample_alerts", {}, alerts=True)))
    if _sample_has_maps():
        _cli("run", "--config", str(_sample_config(out, "sample_cutoff", {}, cutoff=True)))
    _cli(
        "run",
        "--config",
        str(
            _sample_config(
                out,
                "sample_patches",
                {"canopy_threshold": 30, "canopy_operator": ">=", "min_forest_patch_ha": 0.5, "patch_connectivity": 4},
            )
        ),
    )
    if not REAL.is_dir():
        print(f"{REAL} absent: real-data runs skipped")
        return
    dr = REAL / "hansen-clip-dominican-republic"
    for version, last in (("2020-v1.8", "2020"), ("2023-v1.11", "2023")):
        _cli(
            "screen",
            "--plots",
            str(dr / "gfw_sample.gpkg"),
            "--loss-year",
            str(dr / f"Hansen_GFC-{version}_lossyear_20N_080W.tif"),
            "--tree-cover",
            str(dr / f"Hansen_GFC-{version}_treecover2000_20N_080W.tif"),
            "--last-year",
            last,
            "--reference-year",
            "2018",
            "--out",
            str(out / f"dr_{version}.gpkg"),
        )
    vl = REAL / "hansen-clip-vietnam-laos"
    _cli(
        "screen",
        "--plots",
        str(vl / "aoi_polys.gpkg"),
        "--id-column",
        "id",
        "--loss-year",
        str(vl / "pkgTest_lossyear.tif"),
        "--tree-cover",
        str(vl / "pkgTest_treecover2000.tif"),
        "--last-year",
        "2018",
        "--reference-year",
        "2015",
        "--out",
        str(out / "vietnam_laos.gpkg"),
    )
    for name in ("nicaragua_coffee_efico_noPII", "geojson_example", "public_feature_collection_gha"):
        _cli(
            "screen",
            "--plots",
            str(REAL / "plots" / f"{name}.geojson"),
            "--loss-year",
            str(dr / "Hansen_GFC-2023-v1.11_lossyear_20N_080W.tif"),
            "--tree-cover",
            str(dr / "Hansen_GFC-2023-v1.11_treecover2000_20N_080W.tif"),
            "--out",
            str(out / f"{name}.gpkg"),
        )
        _cli("validate", str(REAL / "plots" / f"{name}.geojson"), "--out", str(out / f"{name}_validate.csv"))


def _frames(path: Path) -> dict[str, object]:
    import pyogrio

    if path.suffix == ".csv":
        import pandas as pd

        return {"csv": pd.read_csv(path)}
    out = {}
    for name, _ in pyogrio.list_layers(path):
        out[str(name)] = pyogrio.read_dataframe(path, layer=str(name))
    return out


def _text(value) -> str:
    """A cell as text, whatever its storage: a date read as text, a date or a midnight timestamp
    all read 2025-03-01."""
    import datetime

    if isinstance(value, datetime.datetime) and value.time() == datetime.time(0):
        return value.date().isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return str(value)


def _compare_frames(a, b, where: str, added: list[str], tolerance: float = 0.0) -> list[str]:
    import numpy as np
    import pandas as pd

    problems = []
    if "source_row" in a.columns and "source_row" in b.columns:
        # rows are compared by input row: a screening may write its rows in another order (by
        # location); rows of one input row keep their own order
        a = a.iloc[np.argsort(a["source_row"].to_numpy(), kind="stable")].reset_index(drop=True)
        b = b.iloc[np.argsort(b["source_row"].to_numpy(), kind="stable")].reset_index(drop=True)
    if {"key", "value"} <= set(a.columns) and len(a.columns) <= 3:  # run_metadata
        da = {k: "" if pd.isna(v) else str(v) for k, v in zip(a["key"], a["value"]) if k not in IGNORED_KEYS}
        db = {k: "" if pd.isna(v) else str(v) for k, v in zip(b["key"], b["value"]) if k not in IGNORED_KEYS}
        for k in sorted(set(da) | set(db)):
            if k not in da:
                added.append(f"{where}: metadata {k} = {db[k][:80]!r}")
            elif da.get(k) != db.get(k):
                problems.append(f"{where}: metadata {k}: {da.get(k)!r} != {db.get(k)!r}")
        return problems
    ca = [c for c in a.columns if c not in IGNORED_COLUMNS]
    cb = [c for c in b.columns if c not in IGNORED_COLUMNS]
    if set(ca) - set(cb):
        problems.append(f"{where}: columns only before: {sorted(set(ca) - set(cb))}")
    if set(cb) - set(ca):
        added.append(f"{where}: columns {sorted(set(cb) - set(ca))}")
    if [c for c in ca if c in cb] != [c for c in cb if c in ca]:
        problems.append(f"{where}: the columns are in another order")
    if len(a) != len(b):
        return problems + [f"{where}: {len(a)} rows != {len(b)} rows"]
    for c in [c for c in ca if c in cb]:
        x, y = a[c], b[c]
        if c == "geometry" or getattr(x, "dtype", None) == "geometry":

            def blank(g):  # missing or empty: how an empty geometry is stored changed, not what it is
                return g is None or g.is_empty

            same = np.array([(blank(g) and blank(h)) or (not blank(g) and g.wkb == h.wkb) for g, h in zip(x, y)])
        elif pd.api.types.is_numeric_dtype(x) and pd.api.types.is_numeric_dtype(y):
            xv = x.to_numpy(dtype="float64", na_value=np.nan)
            yv = y.to_numpy(dtype="float64", na_value=np.nan)
            same = (np.abs(xv - yv) <= tolerance) | (np.isnan(xv) & np.isnan(yv))
        else:
            xs, ys = x.astype(object).where(x.notna(), None), y.astype(object).where(y.notna(), None)
            same = np.array([_text(p) == _text(q) for p, q in zip(xs, ys)])
        if not same.all():
            i = int(np.flatnonzero(~same)[0])
            problems.append(
                f"{where}: column {c}: {int((~same).sum())} rows differ (first: row {i}, "
                f"{x.iloc[i]!r} != {y.iloc[i]!r})"
            )
    return problems


def compare(a: Path, b: Path, tolerance: float = 0.0) -> int:
    files = sorted(p.relative_to(a) for p in a.rglob("*") if p.suffix in (".gpkg", ".csv"))
    other = sorted(p.relative_to(b) for p in b.rglob("*") if p.suffix in (".gpkg", ".csv"))
    added = [f"file {f}" for f in other if f not in files]
    problems = []
    for f in files:
        if not (b / f).exists():
            problems.append(f"only in {a}: {f}")
            continue
        fa, fb = _frames(a / f), _frames(b / f)
        for layer in sorted((set(fa) | set(fb)) - IGNORED_LAYERS):
            if layer not in fb:
                problems.append(f"{f}: layer {layer} only before")
            elif layer not in fa:
                added.append(f"{f}: layer {layer}")
            else:
                problems += _compare_frames(fa[layer], fb[layer], f"{f}:{layer}", added, tolerance)
    for p in added:
        print(f"added: {p}")
    for p in problems:
        print(p)
    print(json.dumps({"files": len(files), "differences": len(problems), "additions": len(added)}))
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("snapshot", help="run the cases and keep their outputs in a folder")
    s.add_argument("out", type=Path)
    c = sub.add_parser("compare", help="compare two snapshot folders")
    c.add_argument("before", type=Path)
    c.add_argument("after", type=Path)
    c.add_argument(
        "--tolerance", type=float, default=0.0, help="numbers this close count as equal (default 0: bit for bit)"
    )
    args = parser.parse_args(argv)
    if args.command == "snapshot":
        snapshot(args.out)
        return 0
    return compare(args.before, args.after, args.tolerance)


if __name__ == "__main__":
    sys.exit(main())
