"""Faults during a real run (issue 10, items 6-9): a ``cacao-screen screen`` process killed with
SIGKILL and SIGTERM at several moments, including while it writes; two runs on one output (the
lock); a full disk during the write (ENOSPC injected in-process); ``--scheduler local`` workers
outliving their parent.

After each kill: the previous output is byte-identical, no temporary file is left once the next run
has started, and the next run succeeds with the same figures."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pyogrio
import pytest
import shapely
from conftest import PX, write_raster

from pipeline.cli import main
from pipeline.io.outputs import lock_path, temp_files

X0, Y0 = -76.5, -8.0
SIDE = 800  # raster pixels
GRID = 70  # plots per side: 4,900 plots


@pytest.fixture(scope="module")
def job(tmp_path_factory):
    """A job that takes a second or two on one core (4,900 plots of 24 vertices, in chunks of 400),
    its rasters, and a first output written by a complete run."""
    d = tmp_path_factory.mktemp("faults")
    rng = np.random.default_rng(3)
    loss = np.where(rng.random((SIDE, SIDE)) < 0.1, rng.integers(1, 24, (SIDE, SIDE)), 0).astype("uint8")
    cover = rng.integers(0, 101, (SIDE, SIDE)).astype("uint8")
    write_raster(d / "lossyear.tif", loss, x0=X0, y0=Y0)
    write_raster(d / "treecover2000.tif", cover, x0=X0, y0=Y0)
    step = SIDE * PX / GRID
    cx, cy = np.meshgrid(X0 + step * (np.arange(GRID) + 0.5), Y0 - step * (np.arange(GRID) + 0.5))
    geoms = shapely.buffer(shapely.points(cx.ravel(), cy.ravel()), step * 0.4, quad_segs=6)
    import geopandas as gpd

    plots = gpd.GeoDataFrame({"plot_id": [f"P{i}" for i in range(len(geoms))]}, geometry=geoms, crs=4326)
    pyogrio.write_dataframe(plots, d / "plots.gpkg", layer="plots")
    out = d / "out" / "screening.gpkg"
    assert main(["-q", *args(d, out)]) == 0
    return d, out


def args(d: Path, out: Path, *extra: str) -> list[str]:
    return [
        "screen",
        "--plots",
        str(d / "plots.gpkg"),
        "--loss-year",
        str(d / "lossyear.tif"),
        "--tree-cover",
        str(d / "treecover2000.tif"),
        "--out",
        str(out),
        "--overwrite",
        "--chunk-plots",
        "400",
        "--workers",
        "1",
        *extra,
    ]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def figures(path: Path):
    plots = pyogrio.read_dataframe(path, layer="plots", read_geometry=False)
    return plots.sort_values("source_row", ignore_index=True).drop(columns=["screen_key", "row_digest"])


def start(d: Path, out: Path, *extra: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "pipeline", "-v", *args(d, out, *extra)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )


class Moment:
    """Whether a run has reached ``name``: ``read`` (the plots are being read and spilled: the work
    folder exists), ``write`` (the temporary GeoPackage exists: chunks are being written) or
    ``finishing`` (the staged layer, ``loss_patches``, has been appended: styles, descriptions,
    provenance, then the rename)."""

    def __init__(self, name: str, out: Path) -> None:
        self.name, self.out, self.staged_seen = name, out, False

    def reached(self) -> bool:
        temps = temp_files(self.out)
        work = [p for p in temps if p.name.endswith(".tmp-work")]
        gpkg = [p for p in temps if p.name.endswith(".tmp") and (p / self.out.name).exists()]  # a private folder
        if self.name == "read":
            return bool(work)
        if self.name == "write":
            return bool(gpkg)
        if work:
            staged = any(p.name != "rows.arrow" for p in work[0].glob("*.arrow"))  # loss_patches
            if self.staged_seen and not staged and gpkg:
                return True
            self.staged_seen |= staged
        return False


def wait_for(proc: subprocess.Popen, moment: str, out: Path, timeout: float = 60) -> None:
    deadline, m = time.monotonic() + timeout, Moment(moment, out)
    while time.monotonic() < deadline:
        assert proc.poll() is None, f"the run ended before {moment}: {proc.stderr.read()}"
        if m.reached():
            return
        time.sleep(0.002)
    raise AssertionError(f"never reached {moment}")


KILLS = [
    (signal.SIGKILL, "read"),
    (signal.SIGKILL, "write"),
    (signal.SIGKILL, "finishing"),
    (signal.SIGTERM, "read"),
    (signal.SIGTERM, "write"),
]


@pytest.mark.slow
def test_killed_runs_leave_the_previous_output_and_no_litter(job):
    """Five runs, each on its own copy of the output, killed at once when each reaches its moment
    (run side by side to keep the test short); then the next run on each."""
    import shutil

    d, first = job
    want = figures(first)
    outs = []
    for i in range(len(KILLS)):
        (d / f"kill{i}").mkdir(exist_ok=True)
        outs.append(Path(shutil.copy(first, d / f"kill{i}" / "screening.gpkg")))
    before = [digest(o) for o in outs]
    procs = [start(d, o) for o in outs]
    moments = [Moment(moment, o) for (_, moment), o in zip(KILLS, outs)]
    pending = set(range(len(KILLS)))
    deadline = time.monotonic() + 120
    while pending and time.monotonic() < deadline:
        for i in list(pending):
            assert procs[i].poll() is None, f"run {i} ended before {KILLS[i][1]}: {procs[i].stderr.read()}"
            if moments[i].reached():
                procs[i].send_signal(KILLS[i][0])
                pending.discard(i)
        time.sleep(0.002)
    assert not pending, f"never reached: {[KILLS[i] for i in pending]}"
    for (sig, moment), proc, out, digest_before in zip(KILLS, procs, outs, before):
        rc = proc.wait(30)
        err = proc.stderr.read()
        assert digest(out) == digest_before, (sig, moment)  # byte for byte
        if sig == signal.SIGTERM:
            assert rc == 143, err
            assert "Interrupted; no output was written." in err and "Traceback" not in err
            assert temp_files(out) == [] and not lock_path(out).exists()  # it cleaned up after itself
        else:
            assert rc == -signal.SIGKILL
            assert temp_files(out) or moment == "read"  # litter, for the next run to remove
    # the next run on each removes what a killed one left, and gives the same figures
    nexts = [subprocess.Popen([sys.executable, "-m", "pipeline", "-q", *args(d, o)]) for o in outs]
    for proc, out in zip(nexts, outs):
        assert proc.wait(60) == 0
        assert temp_files(out) == [] and not lock_path(out).exists()
        assert figures(out).equals(want)


@pytest.mark.slow
def test_a_second_run_on_the_same_output_exits_75_then_waits_with_wait_lock(job, capsys):
    d, out = job
    before, want = digest(out), figures(out)
    proc = start(d, out)
    wait_for(proc, "read", out)
    assert main(["-q", *args(d, out)]) == 75
    err = capsys.readouterr().err
    assert f"another run is writing {out} (pid {proc.pid}, since " in err
    assert main(["-q", *args(d, out, "--wait-lock", "60")]) == 0  # waits for the first, then runs
    assert proc.wait(5) == 0
    assert digest(out) != before and figures(out).equals(want)
    assert temp_files(out) == [] and not lock_path(out).exists()


def test_a_full_disk_during_the_write_keeps_the_previous_output(job, monkeypatch, capsys, tmp_path):
    """ENOSPC from the GeoPackage writer midway (what GDAL meets when the disk fills up)."""
    import pipeline.io.gpkg as gpkg

    d, _ = job
    out = tmp_path / "screening.gpkg"
    small = tmp_path / "plots.gpkg"
    pyogrio.write_dataframe(pyogrio.read_dataframe(d / "plots.gpkg", max_features=50), small, layer="plots")
    base = ["screen", "--plots", str(small), "--loss-year", str(d / "lossyear.tif")]
    base += ["--tree-cover", str(d / "treecover2000.tif"), "--out", str(out), "--overwrite"]
    assert main(["-q", *base]) == 0
    before = digest(out)
    real = gpkg.gdal_arrow.LayerWriter.write

    def full(self, batch, layer=None):
        real(self, batch.slice(0, 1), layer)  # some rows written, then the disk is full
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(gpkg.gdal_arrow.LayerWriter, "write", full)
    capsys.readouterr()
    assert main(["-q", *base]) == 1
    err = capsys.readouterr().err
    assert f"no space left on device: {tmp_path}" in err and "unexpected" not in err
    assert digest(out) == before
    assert temp_files(out) == [] and not lock_path(out).exists()


@pytest.mark.skipif(sys.platform != "linux", reason="/proc is Linux's")
def test_killing_the_parent_leaves_no_local_worker(tmp_path):
    """``--scheduler local`` workers exit when their parent is killed (SIGKILL: nothing runs in it)."""
    code = (
        "import os, sys, time\n"
        "from pipeline.engine.schedulers import map_partitions\n"
        "def nap(i):\n"
        "    print(os.getpid(), flush=True); time.sleep(60)\n"
        "if __name__ == '__main__':\n"
        "    map_partitions(nap, [1, 2], scheduler='local', workers=2)\n"
    )
    script = tmp_path / "pool.py"
    script.write_text(code)
    proc = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    workers = [int(proc.stdout.readline()) for _ in range(2)]
    proc.kill()
    proc.wait()

    def running(pid: int) -> bool:  # a zombie (dead, not yet reaped by init) is not running
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(running(w) for w in workers):
        time.sleep(0.05)
    alive = [w for w in workers if running(w)]
    for w in alive:
        os.kill(w, signal.SIGKILL)
    assert alive == []
