"""pipeline.io.outputs: the lock (and its removal race), signals held during a publication, what
counts as a cacao-screen output, an output that is an input through a hard link, the row digests."""

from __future__ import annotations

import os
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

import pipeline.io.outputs as outputs
from pipeline.errors import LockedError, OutputError
from pipeline.io.outputs import OutputLock, check_not_input, deferred_signals, is_own_output, lock_path
from pipeline.stages.reuse import row_digests


def test_a_second_lock_is_refused_naming_the_holder_and_the_file_goes_with_the_lock(tmp_path):
    out = tmp_path / "screening.gpkg"
    with OutputLock(out):
        assert lock_path(out).read_text().split()[0] == str(os.getpid())
        with pytest.raises(LockedError, match=rf"another run is writing {out} \(pid {os.getpid()}, since 20"):
            OutputLock(out).__enter__()
    assert not lock_path(out).exists()
    with OutputLock(out):  # free again
        pass


def test_wait_lock_waits_for_the_holder(tmp_path):
    out = tmp_path / "screening.gpkg"
    first = OutputLock(out).__enter__()
    threading.Timer(0.3, first.release).start()
    started = time.monotonic()
    with OutputLock(out, wait_s=10):
        assert time.monotonic() - started >= 0.25
    with pytest.raises(LockedError):
        with OutputLock(out):
            OutputLock(out, wait_s=0.2).__enter__()


def test_a_lock_taken_on_a_removed_lock_file_is_taken_again(tmp_path, monkeypatch):
    """Run A removes the lock file as it ends; run B, which had opened it just before, gets the lock
    on the removed file while run C creates a new one: B must notice and lock C's file instead."""
    out = tmp_path / "screening.gpkg"
    real = outputs.fcntl.flock
    calls = []

    def flock(fd, op):
        if not calls:  # between B's open and B's flock: A removes the file, C creates a new one
            os.unlink(lock_path(out))
            lock_path(out).write_text("")
        calls.append(op)
        return real(fd, op)

    monkeypatch.setattr(outputs.fcntl, "flock", flock)
    lock = OutputLock(out).__enter__()
    assert len(calls) == 2  # locked the orphan, saw it, locked the file at the path
    assert os.fstat(lock.fd).st_ino == os.stat(lock_path(out)).st_ino
    lock.release()


def test_signals_during_a_publication_act_after_it():
    seen = []

    def handler(signum, frame):
        seen.append("handled")
        raise KeyboardInterrupt

    old = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            with deferred_signals():
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(0.05)
                seen.append("both renamed")
        assert seen == ["both renamed", "handled"]
    finally:
        signal.signal(signal.SIGTERM, old)


def test_a_signal_as_a_private_folder_is_made_leaves_no_folder(tmp_path, monkeypatch):
    """SIGTERM arriving while the staging folder of an output is made (a run killed at its start,
    under load): the signal is acted on once the folder is named, and the folder is removed."""
    import tempfile

    made = []
    real = tempfile.mkdtemp

    def mkdtemp_then_signal(*args, **kwargs):
        made.append(real(*args, **kwargs))
        os.kill(os.getpid(), signal.SIGTERM)
        time.sleep(0.05)
        return made[-1]

    def handler(signum, frame):
        raise KeyboardInterrupt

    monkeypatch.setattr(tempfile, "mkdtemp", mkdtemp_then_signal)
    old = signal.signal(signal.SIGTERM, handler)
    try:
        with pytest.raises(KeyboardInterrupt):
            outputs.Staged(tmp_path / "screening.gpkg", overwrite=False)
    finally:
        signal.signal(signal.SIGTERM, old)
    assert len(made) == 1 and not os.path.exists(made[0])
    assert os.listdir(tmp_path) == []


def test_what_counts_as_a_cacao_screen_output(tmp_path):
    import geopandas as gpd
    import pyogrio
    import shapely

    theirs = tmp_path / "theirs.gpkg"
    pyogrio.write_dataframe(gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.box(0, 0, 1, 1)], crs=4326), theirs)
    assert not is_own_output(theirs)
    ours = tmp_path / "ours.gpkg"
    pyogrio.write_dataframe(
        pd.DataFrame({"key": ["generator"], "value": ["cacao-screen 1.0"]}), ours, layer="run_metadata"
    )
    assert is_own_output(ours)
    (tmp_path / "notes.txt").write_text("SQLite format 3 but not really")
    assert not is_own_output(tmp_path / "notes.txt")
    (tmp_path / "issues.csv").write_text("plot_id,source_row,code,severity,message\n")
    assert is_own_output(tmp_path / "issues.csv")


def test_an_output_that_is_an_input_through_a_hard_link_is_refused(tmp_path):
    plots = tmp_path / "plots.gpkg"
    plots.write_bytes(b"x")
    os.link(plots, tmp_path / "other-name.gpkg")
    with pytest.raises(OutputError, match="is also the plots file"):
        check_not_input(tmp_path / "other-name.gpkg", [("plots file", plots)])
    check_not_input(tmp_path / "new.gpkg", [("plots file", plots), ("config file", None)])


def test_row_digests_see_every_single_change_and_ignore_how_nan_is_stored():
    rng = np.random.default_rng(0)
    keys = np.array([f"{i * 7919:024x}" for i in range(1000)], dtype=object)
    status = np.array(["deforestation_free", "review"] * 500, dtype=object)
    values = [rng.random(1000), np.where(rng.random(1000) < 0.3, np.nan, 2021.0)]
    d = row_digests(keys, status, values)
    assert len(set(d.tolist())) == 1000
    stored = [pd.Series(values[0]), pd.array(np.where(np.isnan(values[1]), None, values[1]), dtype="Int64")]
    assert (row_digests(keys, status, stored) == d).all()  # NULL read back as NA, not NaN
    for change in range(3):
        k, s, v = keys.copy(), status.copy(), [c.copy() for c in values]
        if change == 0:
            v[0][7] = np.nextafter(v[0][7], 2)  # one bit of one figure
        elif change == 1:
            s[7] = "deforestation_detected"
        else:
            k[7] = f"{1:024x}"
        assert np.flatnonzero(row_digests(k, s, v) != d).tolist() == [7]
