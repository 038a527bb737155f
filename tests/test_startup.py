"""Start-up: each command imports what it uses, no more (a 1-plot screening is mostly imports).

Checked in a fresh interpreter, through the command line's own entry point: ``--version`` imports
no numerical library, and ``screen`` neither matplotlib nor the code of the reports, exports and
baseline it does not run. (geopandas is not in the list: pyogrio imports it whenever it is
installed.)
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
from conftest import pixel_box

_PROBE = """
import json, sys
from pipeline.cli import main
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "modules": sorted(sys.modules)}))
"""


def _modules_after(args: list[str], cwd) -> set[str]:
    done = subprocess.run([sys.executable, "-c", _PROBE, *args], capture_output=True, text=True, cwd=cwd)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["rc"] == 0, done.stderr
    return set(result["modules"])


def _imported(modules: set[str], name: str) -> bool:
    return any(m == name or m.startswith(name + ".") for m in modules)


def test_version_imports_no_numerical_library(tmp_path):
    modules = _modules_after(["--version"], tmp_path)
    assert "pipeline.cli" in modules
    for name in ("numpy", "pandas", "pyarrow", "shapely", "pyogrio", "rasterio", "geopandas", "matplotlib"):
        assert not _imported(modules, name), name


def test_screen_imports_no_report_export_or_baseline_code(tmp_path, hansen_pair):
    import geopandas as gpd

    lossyear = np.zeros((40, 40), dtype="uint8")
    lossyear[7:9, 7:10] = 22  # loss after the reference year: the plot has a loss patch
    loss, cover = hansen_pair(lossyear, np.full((40, 40), 80, dtype="uint8"))
    plots = tmp_path / "plots.gpkg"
    gdf = gpd.GeoDataFrame({"plot_id": ["A"]}, geometry=[pixel_box(5, 5, 15, 12)], crs="EPSG:4326")
    gdf.to_file(plots, layer="plots")
    args = ["-q", "screen", "--plots", str(plots), "--loss-year", str(loss), "--tree-cover", str(cover)]
    modules = _modules_after([*args, "--out", str(tmp_path / "out.gpkg")], tmp_path)
    assert "pipeline.engine.coverage" in modules, "the probe ran a screening"
    assert (tmp_path / "out.gpkg").is_file()
    unused = (
        "matplotlib",
        "scipy",  # not even for the loss patches' connected cells
        "pipeline.io.report",
        "pipeline.stages.report",
        "pipeline.io.export",
        "pipeline.stages.export",
        "pipeline.stages.baseline",
        "pipeline.io.regions",
        "pipeline.io.deliveries",
        "pipeline.job.report",
        "pipeline.job.export",
        "pipeline.job.baseline",
    )
    assert [name for name in unused if _imported(modules, name)] == []


def test_the_console_script_ends_at_once_after_atexit_and_flushed_streams(tmp_path):
    """``console()`` skips the interpreter's tear-down, not what must happen at exit: the atexit
    functions run, what was printed reaches the pipe, the exit code is main()'s."""
    code = (
        "import atexit, sys\n"
        "atexit.register(lambda: print('atexit ran', flush=True))\n"
        "from pipeline.cli import console\n"
        "sys.argv = ['cacao-screen', *sys.argv[1:]]\n"
        "console()\n"
        "print('not reached')\n"
    )
    done = subprocess.run([sys.executable, "-c", code, "--version"], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == [done.stdout.splitlines()[0], "atexit ran"]
    assert "version" in done.stdout.splitlines()[0]
    bad = subprocess.run(
        [sys.executable, "-c", code, "screen", "--plots", str(tmp_path / "none.gpkg")], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "atexit ran" in bad.stdout and "not reached" not in bad.stdout


def test_the_console_script_collects_garbage_less_often_than_python_by_default(tmp_path):
    # a full collection scans every object alive: at 1M plots, Python's thresholds cost 34 of them
    from pipeline.cli import COLLECTOR_THRESHOLDS

    code = (
        "import atexit, gc, sys\n"
        "atexit.register(lambda: print('thresholds', *gc.get_threshold(), flush=True))\n"
        "from pipeline.cli import console\n"
        "sys.argv = ['cacao-screen', '--version']\n"
        "console()\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines()[-1].split() == ["thresholds", *map(str, COLLECTOR_THRESHOLDS)]
    assert COLLECTOR_THRESHOLDS[0] > 700 * 10  # Python's default, 700


def test_under_a_profiler_the_process_exits_as_usual_and_the_profile_is_written(tmp_path):
    out = tmp_path / "version.prof"
    done = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(out), "-m", "pipeline", "--version"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert "version" in done.stdout
    assert out.is_file() and out.stat().st_size > 0, "cProfile wrote what it gathered"
