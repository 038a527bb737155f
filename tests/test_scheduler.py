"""Schedulers: local processes, threads and a Dask cluster give identical results; clear errors."""

import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pyogrio
import pytest
import shapely
from conftest import cli_main as main

import pipeline
from pipeline.config import ExecutionConfig, ScreeningConfig, build_config, parse_scheduler
from pipeline.engine import schedulers as parallel
from pipeline.engine.partitions import partition, pixel_bounds
from pipeline.engine.schedulers import map_partitions
from pipeline.errors import ConfigError, RasterError, SchedulerError
from pipeline.io.plots import read_plots
from pipeline.stages.screening import screen_plots


@pytest.fixture(scope="module")
def cluster():
    """Two single-threaded Dask worker processes on 127.0.0.1: the scheduler's address."""
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as lc:
        yield lc.scheduler_address


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def dask_processes(tmp_path_factory):
    """A real cluster: ``dask scheduler`` and two ``dask worker`` processes on 127.0.0.1, started
    as a user starts them (the command line of this environment), stopped at the end."""
    distributed = pytest.importorskip("distributed")
    dask = Path(sys.executable).with_name("dask")
    if not dask.exists():
        pytest.skip("the dask command is not installed")
    folder = tmp_path_factory.mktemp("dask")
    address = f"tcp://127.0.0.1:{_free_port()}"
    log = open(folder / "cluster.log", "w")  # noqa: SIM115 - closed at the end
    common = ["--no-dashboard"]
    procs = [
        subprocess.Popen(
            [str(dask), "scheduler", "--host", "127.0.0.1", "--port", address.rsplit(":", 1)[1], *common],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    ]
    try:
        for i in range(2):
            procs.append(
                subprocess.Popen(
                    [str(dask), "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-nanny"]
                    + ["--name", f"w{i}", "--local-directory", str(folder), *common],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        deadline = time.monotonic() + 60
        while True:  # wait for both workers
            try:
                with distributed.Client(address, timeout="2s", set_as_default=False) as c:
                    if len(c.scheduler_info().get("workers", {})) == 2:
                        break
            except (OSError, TimeoutError):
                pass
            if time.monotonic() > deadline or any(p.poll() is not None for p in procs):
                pytest.fail("the Dask cluster did not start: " + (folder / "cluster.log").read_text()[-2000:])
            time.sleep(0.2)
        yield address
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in reversed(procs):
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        log.close()


def open_source(loss, cover):
    """The Hansen pair: these tests are about scheduling, not opening."""
    from pipeline.io.rasters import open_product

    return open_product("hansen", kind="hansen", loss_year=str(loss), tree_cover=str(cover))


@pytest.fixture(scope="module")
def sample(default_sample):
    paths, _ = default_sample
    return paths, read_plots(paths.plots), open_source(paths.loss_year, paths.tree_cover)


@pytest.fixture(scope="module")
def local_result(sample):
    _, plots, source = sample
    return screen_plots(plots, source, ScreeningConfig(), execution=ExecutionConfig(workers=2, scheduler="local"))


def assert_same_result(a, b):
    assert a.plots.columns.tolist() == b.plots.columns.tolist()
    cols = [c for c in a.plots.columns if c != "geometry"]
    assert a.plots[cols].equals(b.plots[cols])  # every figure, bit for bit
    assert a.plots.geometry.geom_equals_exact(b.plots.geometry, 0).all()
    assert a.loss_by_year.equals(b.loss_by_year)
    assert a.issues.equals(b.issues)


def test_the_sample_spans_many_partitions_and_every_status(sample, local_result):
    _, plots, source = sample
    g = plots.geometry.to_numpy()
    g = g[~shapely.is_missing(g) & ~shapely.is_empty(g)]
    assert len(partition(pixel_bounds(shapely.bounds(g), source.grid))) >= 8
    assert local_result.plots["status"].nunique() == 5
    assert (local_result.plots["loss_total_ha"] > 0).sum() > 100


def test_threads_give_the_local_result(sample, local_result):
    _, plots, source = sample
    # more threads than cores: partitions really overlap in time (raster handles must not be shared)
    assert_same_result(
        screen_plots(plots, source, ScreeningConfig(), execution=ExecutionConfig(workers=4, scheduler="threads")),
        local_result,
    )


def test_a_dask_cluster_gives_the_local_result(sample, local_result, cluster):
    _, plots, source = sample
    assert_same_result(
        screen_plots(plots, source, ScreeningConfig(), execution=ExecutionConfig(scheduler=cluster)), local_result
    )


def test_a_dask_client_can_be_passed_by_the_library(sample, local_result, cluster):
    from distributed import Client

    _, plots, source = sample
    with Client(cluster, set_as_default=False) as client:
        assert_same_result(screen_plots(plots, source, ScreeningConfig(), client=client), local_result)
        assert client.status == "running"  # a client we were given is left open


def test_the_cli_on_a_dask_cluster_writes_what_it_writes_locally(sample, cluster, tmp_path):
    paths, _, _ = sample
    args = [
        "-q",
        "screen",
        "--plots",
        str(paths.plots),
        "--loss-year",
        str(paths.loss_year),
        "--tree-cover",
        str(paths.tree_cover),
    ]
    assert main([*args, "--out", str(tmp_path / "local.gpkg")]) == 0
    assert main([*args, "--out", str(tmp_path / "dask.gpkg"), "--scheduler", cluster]) == 0
    local = pyogrio.read_dataframe(tmp_path / "local.gpkg", layer="plots")
    dask = pyogrio.read_dataframe(tmp_path / "dask.gpkg", layer="plots")
    assert local.drop(columns="geometry").equals(dask.drop(columns="geometry"))
    meta = dict(pyogrio.read_dataframe(tmp_path / "dask.gpkg", layer="run_metadata")[["key", "value"]].values)
    assert meta["scheduler"] == cluster


def test_an_error_on_a_worker_is_raised_here_with_its_type(sample, cluster, tmp_path):
    paths, plots, _ = sample
    for p in (paths.loss_year, paths.tree_cover):  # rasters that are gone by the time workers read them
        shutil.copy(p, tmp_path / p.name)
    source = open_source(tmp_path / paths.loss_year.name, tmp_path / paths.tree_cover.name)
    (tmp_path / paths.loss_year.name).unlink()
    with pytest.raises(RasterError, match=paths.loss_year.name):
        screen_plots(plots.iloc[:50], source, ScreeningConfig(), execution=ExecutionConfig(scheduler=cluster))


def test_workers_running_another_version_are_refused(sample, cluster, monkeypatch):
    _, plots, source = sample
    monkeypatch.setattr(pipeline, "__version__", "0.0.0+elsewhere")  # here only; workers keep theirs
    with pytest.raises(SchedulerError, match="another cacao-screen version"):
        screen_plots(plots.iloc[:50], source, ScreeningConfig(), execution=ExecutionConfig(scheduler=cluster))


def test_an_unreachable_scheduler_is_a_clear_input_error(tmp_path, monkeypatch, capsys):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    monkeypatch.setattr(parallel, "CONNECT_TIMEOUT", "1s")
    with pytest.raises(SchedulerError, match=f"cannot connect to the Dask scheduler at tcp://127.0.0.1:{port}"):
        map_partitions(abs, [1, 2], scheduler=f"tcp://127.0.0.1:{port}")


def test_dask_missing_is_a_clear_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)  # import distributed -> ImportError
    with pytest.raises(SchedulerError, match=r"pip install 'cacao-screen\[dask\]'"):
        map_partitions(abs, [1, 2], scheduler="tcp://127.0.0.1:8786")


def test_local_and_threads_keep_task_order():
    tasks = list(range(-20, 20))
    for scheduler in ("local", "processes", "threads"):
        assert map_partitions(abs, tasks, scheduler=scheduler, workers=2) == [abs(t) for t in tasks]


@pytest.mark.parametrize(
    "given, canonical",
    [
        ("local", "local"),
        ("processes", "local"),
        ("Threads", "threads"),
        (" threads ", "threads"),
        ("tcp://10.0.0.5:8786", "tcp://10.0.0.5:8786"),
        ("tls://sched.example.org:8786", "tls://sched.example.org:8786"),
        ("scheduler:8786", "scheduler:8786"),
    ],
)
def test_scheduler_names(given, canonical):
    assert parse_scheduler(given) == canonical


@pytest.mark.parametrize("bad", ["", "dask", "thread", "tcp://", "8786"])
def test_unknown_schedulers_are_refused(bad):
    with pytest.raises(ValueError, match="unknown scheduler"):
        parse_scheduler(bad)


def test_config_key_and_cli_flag(tmp_path, capsys):
    base = {"plots": {"path": "p.gpkg"}, "rasters": {"loss_year": "l.tif", "tree_cover": "c.tif"}}
    assert build_config(base).execution.scheduler == "threads"  # the default: fastest measured
    assert build_config({**base, "execution": {"scheduler": "processes"}}).execution.scheduler == "local"
    assert build_config({**base, "execution": {"scheduler": "tcp://h:8786"}}).execution.scheduler == "tcp://h:8786"
    # the older spelling, a top-level key, still reads
    assert build_config({**base, "scheduler": "processes", "workers": 2}).execution == ExecutionConfig(
        scheduler="local", workers=2
    )
    with pytest.raises(ConfigError, match="both at the top level and in 'execution'"):
        build_config({**base, "workers": 2, "execution": {"workers": 3}})
    with pytest.raises(ConfigError, match="scheduler.*unknown scheduler 'dask'"):
        build_config({**base, "execution": {"scheduler": "dask"}})
    rc = main(
        [
            "screen",
            "--plots",
            str(tmp_path / "p.gpkg"),
            "--loss-year",
            "l.tif",
            "--tree-cover",
            "c.tif",
            "--scheduler",
            "dask",
        ]
    )
    assert rc == 2
    assert "unknown scheduler 'dask'" in capsys.readouterr().err


@pytest.mark.slow
def test_screen_on_a_cluster_of_dask_processes_writes_what_threads_write(sample, dask_processes, tmp_path):
    """``dask scheduler`` and two ``dask worker`` processes, as on a real cluster: the command line
    screens with --scheduler tcp://...; every figure, status and finding is the threads' one."""
    paths, _, _ = sample
    args = ["-q", "screen", "--plots", str(paths.plots), "--loss-year", str(paths.loss_year)]
    args += ["--tree-cover", str(paths.tree_cover), "--chunk-plots", "500"]  # several chunks, one client
    assert main([*args, "--out", str(tmp_path / "threads.gpkg"), "--scheduler", "threads"]) == 0
    assert main([*args, "--out", str(tmp_path / "dask.gpkg"), "--scheduler", dask_processes]) == 0
    for layer in ("plots", "loss_by_year", "plot_issues"):
        a = pyogrio.read_dataframe(tmp_path / "threads.gpkg", layer=layer, read_geometry=False)
        b = pyogrio.read_dataframe(tmp_path / "dask.gpkg", layer=layer, read_geometry=False)
        assert a.equals(b), layer
    meta = dict(pyogrio.read_dataframe(tmp_path / "dask.gpkg", layer="run_metadata")[["key", "value"]].values)
    assert meta["scheduler"] == dask_processes
