"""The notebooks under notebooks/ run, with the project's kernel, on `make run`'s outputs."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import cli_main as main
from nbclient import NotebookClient

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def execute(name: str, outputs: Path, monkeypatch, **env: str) -> list[str]:
    """Run a notebook from notebooks/ on the outputs in ``outputs``; return its printed text.
    A failing cell (an assert of the notebook) fails the test."""
    nb = nbformat.read(NOTEBOOKS / name, as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import sys; print('KERNEL', sys.executable)"))
    monkeypatch.setenv("CACAO_SCREEN_OUTPUTS", str(outputs))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    NotebookClient(nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
    text = [
        o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "stream"
    ]
    kernel = text[-1].split("KERNEL", 1)[1].strip()
    assert Path(kernel).resolve().parent == Path(sys.executable).resolve().parent  # the project's environment
    return text


@pytest.mark.slow
def test_explore_a_screening(sample_run, monkeypatch):
    text = "".join(execute("explore_a_screening.ipynb", sample_run.dir, monkeypatch))
    assert "2003 plots screened" in text and "lots come entirely from deforestation-free plots" in text
    assert "cacao-screen -q run --config" in text


@pytest.mark.parametrize("rasters", ["files", "tiles"])
def test_the_check_by_hand_notebook_reproduces_the_figures(sample_run, tmp_path, monkeypatch, rasters):
    out = tmp_path / "outputs"
    out.mkdir()
    if rasters == "files":
        shutil.copy(sample_run.screening, out / "screening.gpkg")
    else:  # as `make run` screens: a folder of tiles
        tiles = str(sample_run.paths.root / "tiles")
        args = ["-q", "screen", "--plots", str(sample_run.paths.plots), "--loss-year", tiles, "--tree-cover", tiles]
        assert main([*args, "--out", str(out / "screening.gpkg")]) == 0
    text = "".join(execute("check_a_plot_by_hand.ipynb", out, monkeypatch))
    assert "All figures match." in text and "loss_20" in text
