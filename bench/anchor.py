"""The lean exactextract anchor of ``../shared/bench``: its data and its command.

``../shared/bench`` (beside the repository, absent on most clones) holds the speed reference the
project's targets are measured against (its README describes it):

* ``gen_raster.py`` — a synthetic Hansen-format pair (20000 x 20000 px over Peru by default);
* ``gen_polys.py`` — N non-overlapping farms of 0.5-10 ha in cooperatives, id column ``farm_id``;
* ``anchor_ee.py`` — exactextract used as an expert would from Python (one raster-sequential
  pass over a joint code raster, ``unique``/``frac``/``count``, a list writer), writing the plots
  with their loss per year to a GeoPackage.

:func:`ensure_data` makes the data once with those generators, cached under the benchmark data
folder (``bench/data``, or ``$CACAO_BENCH_DATA`` to share it between checkouts); :func:`command`
is the anchor's command line; :func:`max_loss_diff` compares its per-year figures with a screening.
Everything here returns ``None`` or skips when ``../shared/bench`` is absent.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .generate import DATA_DIR

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("CACAO_SHARED_BENCH", REPO.parent / "shared" / "bench"))
SCRIPT = SHARED / "anchor_ee.py"
ID_COLUMN = "farm_id"


def available() -> bool:
    """Whether the lean anchor and its generators are there (``../shared/bench``)."""
    return all((SHARED / name).is_file() for name in ("anchor_ee.py", "gen_raster.py", "gen_polys.py"))


@dataclass(frozen=True)
class AnchorData:
    loss_year: Path
    tree_cover: Path
    folder: Path

    def plots(self, n: int, log=print) -> Path:
        """The cached farms file of ``n`` plots (``gen_polys.py``; made when missing)."""
        path = self.folder / f"farms_{n}.gpkg"
        if not path.exists():
            started = time.perf_counter()
            log(f"generating {n:,} farms with {SHARED / 'gen_polys.py'} in {path}")
            tmp = self.folder / f".farms_{n}.tmp-{os.getpid()}"  # the file keeps its name: its layer's
            tmp.mkdir()
            try:
                _run([sys.executable, str(SHARED / "gen_polys.py"), "--n", str(n), "--out", path.name], tmp)
                os.replace(tmp / path.name, path)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
            log(f"  farms: {time.perf_counter() - started:.0f} s")
        return path


def ensure_data(size: int = 20000, *, root: Path = DATA_DIR, log=print) -> AnchorData | None:
    """The anchor's raster pair of ``size`` px (``gen_raster.py``), made once under ``root``;
    None when ``../shared/bench`` is absent."""
    if not available():
        return None
    folder = root / f"anchor-{size}px"
    if not (folder / "treecover2000.tif").exists():
        started = time.perf_counter()
        log(f"generating the anchor's {size} px raster pair with {SHARED / 'gen_raster.py'} in {folder}")
        tmp = root / f".anchor-{size}px.tmp-{os.getpid()}"
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir(parents=True)
        try:
            _run([sys.executable, str(SHARED / "gen_raster.py"), "--out", str(tmp), "--size", str(size)], tmp)
            os.replace(tmp, folder)
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
        log(f"  rasters: {time.perf_counter() - started:.0f} s")
    return AnchorData(folder / "lossyear.tif", folder / "treecover2000.tif", folder)


def _run(cmd: list[str], cwd: Path) -> None:
    done = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}")


def command(loss_year: Path, tree_cover: Path, plots: Path, id_column: str, out: Path) -> list[str]:
    """The lean anchor's command line (a process of its own, as its README runs it)."""
    return [sys.executable, str(SCRIPT), str(loss_year), str(tree_cover), str(plots), id_column, str(out)]


def max_loss_diff(screening: Path, anchor_out: Path, id_column: str) -> float:
    """Largest |Δ| (ha) between the anchor's loss of each year and the screening's, plot by plot.

    The anchor takes one pixel area per plot (at the row of its centroid), not one per pixel row,
    so it differs from the exact figures by up to a few millionths of a hectare on these plots."""
    import pyogrio

    years = [f"loss_{y}_ha" for y in range(2001, 2025)]
    ours = pyogrio.read_dataframe(screening, layer="plots", columns=["plot_id", *years], read_geometry=False)
    theirs = pyogrio.read_dataframe(anchor_out, columns=[id_column, *years], read_geometry=False)
    ours = ours.set_index(ours["plot_id"].astype(str))[years]
    theirs = theirs.set_index(theirs[id_column].astype(str))[years]
    common = ours.index.intersection(theirs.index)
    if len(common) != len(ours):
        return float("nan")
    diff = np.abs(ours.loc[common].to_numpy(float) - theirs.loc[common].to_numpy(float))
    return float(np.nanmax(diff, initial=0.0))
