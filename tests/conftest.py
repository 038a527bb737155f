"""Shared fixtures: tiny Hansen-format rasters written in tmp_path, and the real-data folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
import rasterio
from hypothesis import settings
from rasterio.transform import from_origin

# Hypothesis: the suite draws the same examples on every clone and keeps no database (``ci``, the
# default: a red suite is a bug, never bad luck); ``make fuzz`` draws new ones, many more (``fuzz``).
settings.register_profile("ci", derandomize=True, database=None, print_blob=True)
settings.register_profile("fuzz", max_examples=1000, derandomize=False, database=None, print_blob=True)
HYPOTHESIS_PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "ci")
settings.load_profile(HYPOTHESIS_PROFILE)

REAL_DATA = Path(__file__).resolve().parents[2] / "shared" / "real-data"

# The suite reads English messages: a developer's Spanish locale (LANG=es_PE.UTF-8) must not
# change them. Tests of the Spanish messages choose the language themselves (tests/test_i18n.py).
for _var in ("LC_ALL", "LC_MESSAGES", "LANG", "CACAO_SCREEN_LANG"):
    os.environ.pop(_var, None)
os.environ["LANG"] = "C.UTF-8"

PX = 0.00025


def cli_main(argv: list[str]) -> int:
    """The command line run in the test process, without touching its signal handlers (the
    console script turns SIGTERM into an interruption; tests of that call ``main`` itself)."""
    from pipeline.cli import main

    return main(argv, handle_signals=False)


def write_raster(
    path: Path,
    array: np.ndarray,
    *,
    x0: float,
    y0: float,
    px: float = PX,
    nodata: int | None = None,
    crs: str = "EPSG:4326",
) -> Path:
    """Write a single-band GeoTIFF with the upper-left corner at (x0, y0)."""
    profile = dict(
        driver="GTiff",
        width=array.shape[1],
        height=array.shape[0],
        count=1,
        dtype=array.dtype,
        crs=crs,
        transform=from_origin(x0, y0, px, px),
        nodata=nodata,
    )
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


@pytest.fixture(scope="module")
def memory_raster():
    """Factory: a single-band raster held in memory (GDAL's /vsimem, through rasterio's MemoryFile);
    returns its path, which every reader of this process opens like a file. Freed after the module."""
    from rasterio.io import MemoryFile

    files = []

    def make(array: np.ndarray, *, x0: float, y0: float, px: float = PX, nodata=None) -> str:
        array = np.asarray(array)
        mem = MemoryFile(ext=".tif")
        files.append(mem)
        with mem.open(
            driver="GTiff",
            width=array.shape[1],
            height=array.shape[0],
            count=1,
            dtype=array.dtype,
            crs="EPSG:4326",
            transform=from_origin(x0, y0, px, px),
            nodata=nodata,
        ) as dst:
            dst.write(array, 1)
        return mem.name

    yield make
    for mem in files:
        mem.close()


@pytest.fixture
def hansen_pair(tmp_path):
    """Factory: write a lossyear/treecover2000 pair from two arrays; returns (loss_path, cover_path)."""

    def make(loss: np.ndarray, cover: np.ndarray, *, x0: float = -76.5, y0: float = -8.0, nodata: int = 255):
        lp = write_raster(tmp_path / "lossyear.tif", np.asarray(loss, dtype="uint8"), x0=x0, y0=y0, nodata=nodata)
        cp = write_raster(tmp_path / "treecover2000.tif", np.asarray(cover, dtype="uint8"), x0=x0, y0=y0)
        return lp, cp

    return make


def pixel_box(col0: float, row0: float, col1: float, row1: float, *, x0: float = -76.5, y0: float = -8.0):
    """A lon/lat box given in (fractional) pixel columns/rows of a grid at (x0, y0)."""
    import shapely

    return shapely.box(x0 + col0 * PX, y0 - row1 * PX, x0 + col1 * PX, y0 - row0 * PX)


def run_folder(tmp_path_factory) -> Path:
    """A folder shared by every worker of this pytest run (pytest-xdist gives each worker its own
    base folder, in the run's folder); without xdist, the run's own base folder."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@pytest.fixture(scope="session")
def default_sample(tmp_path_factory):
    """The default-size synthetic sample (as `make run` screens it), generated once per run — not
    once per xdist worker: the first worker writes it under a lock, the others wait and use it.
    Returns (paths, seconds it took to generate)."""
    import fcntl
    import time

    from pipeline.sample import SamplePaths, generate_sample

    shared = run_folder(tmp_path_factory)
    folder, took = shared / "default-sample", shared / "default-sample.seconds"
    with open(shared / "default-sample.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file closes
        if not (folder / ".complete").exists():
            start = time.perf_counter()
            generate_sample(folder)
            took.write_text(repr(time.perf_counter() - start))
    return SamplePaths.under(folder), float(took.read_text())


@pytest.fixture(scope="session", autouse=True)
def digest_cache(tmp_path_factory):
    """The digest cache of the provenance (pipeline.io.provenance) in a temporary folder, not ~/.cache."""
    import os

    folder = tmp_path_factory.mktemp("digest-cache")
    old = os.environ.get("CACAO_SCREEN_CACHE")
    os.environ["CACAO_SCREEN_CACHE"] = str(folder)
    yield folder
    if old is None:
        os.environ.pop("CACAO_SCREEN_CACHE", None)
    else:
        os.environ["CACAO_SCREEN_CACHE"] = old


@pytest.fixture(scope="session")
def sample_run(default_sample, tmp_path_factory):
    """`make run` on the default sample, written to a temporary folder: configs/sample.yaml with its
    inputs pointed at the sample and every output into the folder. Returns a namespace: ``paths``
    (the sample), ``dir``, ``config`` (the job file), ``screening``, ``baseline`` and the
    ``report`` and ``exports`` the config asks for."""
    from types import SimpleNamespace

    import yaml

    paths, _ = default_sample
    repo = Path(__file__).resolve().parents[1]
    cfg = yaml.safe_load((repo / "configs" / "sample.yaml").read_text())
    out_dir = tmp_path_factory.mktemp("make-run")
    cfg["plots"]["path"] = str(paths.plots)
    cfg["datasets"]["hansen"]["loss_year"] = str(paths.loss_year)
    cfg["datasets"]["hansen"]["tree_cover"] = str(paths.tree_cover)
    cfg["datasets"]["gfw_integrated"]["alerts"] = str(paths.alert_tiles)
    cfg["datasets"]["gfc2020"]["forest"] = str(paths.forest2020_tiles)
    cfg["datasets"]["plantation"]["land_use"] = str(paths.plantation)
    cfg["output"]["path"] = str(out_dir / "screening.gpkg")
    cfg["baseline"]["output"] = str(out_dir / "baseline.gpkg")
    cfg["baseline"]["regions"]["path"] = str(paths.districts)
    cfg["baseline"]["deliveries"]["path"] = str(paths.deliveries)
    if cfg.get("report"):
        cfg["report"]["out"] = str(out_dir / Path(cfg["report"]["out"]).name)
    for export in cfg.get("exports") or []:
        export["out"] = str(out_dir / Path(export["out"]).name)
    for overlay in cfg.get("overlays") or []:
        overlay["file"] = str(paths.overlays)
    job = out_dir / "job.yaml"
    job.write_text(yaml.safe_dump(cfg, allow_unicode=True, sort_keys=False))  # the first dataset is primary
    assert cli_main(["-q", "run", "--config", str(job)]) == 0
    return SimpleNamespace(
        paths=paths,
        dir=out_dir,
        config=job,
        screening=out_dir / "screening.gpkg",
        baseline=out_dir / "baseline.gpkg",
        report=Path(cfg["report"]["out"]) if cfg.get("report") else None,
        exports=[Path(e["out"]) for e in cfg.get("exports") or []],
    )


@pytest.fixture
def real_data():
    if not REAL_DATA.is_dir():
        pytest.skip("../shared/real-data is absent")
    return REAL_DATA
