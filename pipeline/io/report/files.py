"""Reading what the report shows besides the screening (the baseline's layers, an EUDR export's
manifest), and writing the report: the pages' folder staged and swapped in whole, the index
renamed last, so a crash never leaves half a report."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pandas as pd

from ...errors import OutputError
from ...i18n import N_, tr
from ..atomic import check_folder_target, remove_own_dir, replace_dir
from ..outputs import check_folder, check_not_input, deferred_signals, make_folder, temp_prefix


def read_manifest(folder: str | Path) -> pd.DataFrame:
    """The ``manifest.csv`` of an EUDR export folder."""
    path = Path(folder) / "manifest.csv"
    if not path.is_file():
        raise OutputError(
            tr("{folder}: no manifest.csv; expected an EUDR export folder written by cacao-screen", folder=folder)
        )
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as exc:
        raise OutputError(tr("{path}: cannot read the EUDR manifest ({error})", path=path, error=exc)) from exc


#: Baseline layers the report does not use, and those it reads without their geometries.
_SKIPPED = {"run_metadata", "layer_styles", "deliveries", "restoration_rings", "status_changes"}
_NO_GEOMETRY = {"baseline_plots"}


def read_baseline(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The layers of a baseline GeoPackage the report shows, and its ``run_metadata``."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    path = Path(path)
    if not path.is_file():
        raise OutputError(tr("{path}: baseline GeoPackage not found", path=path))
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
        layers = {
            n: pyogrio.read_dataframe(path, layer=n, use_arrow=True, read_geometry=n not in _NO_GEOMETRY)
            for n in names
            if n not in _SKIPPED
        }
        meta = {}
        if "run_metadata" in names:
            m = pyogrio.read_dataframe(path, layer="run_metadata")
            meta = dict(zip(m["key"].astype(str), m["value"].astype(str)))
    except (DataSourceError, DataLayerError) as exc:
        raise OutputError(tr("{path}: cannot read the baseline GeoPackage ({error})", path=path, error=exc)) from exc
    if "baseline_by_group" not in layers:
        raise OutputError(
            tr("{path}: no baseline_by_group layer; expected a baseline.gpkg written by cacao-screen", path=path)
        )
    return layers, meta


# --- Writing -------------------------------------------------------------------------------------


#: The files of a report's pages folder written before folders carried a marker (see :mod:`..atomic`).
PAGES_LEGACY = re.compile(r"^[\w.-]+\.(html|css|js)$")


def pages_folder(path: str | Path) -> Path:
    """``<name>_files/`` beside the report, for the groups' pages of a large report."""
    path = Path(path)
    return path.with_name(f"{path.stem}_files")


def check_report_target(path: str | Path, overwrite: bool, inputs=()) -> Path:
    """Fail before any work: not an .html name, an existing report without ``overwrite``, one of
    ``inputs``, a folder not writable."""
    path = Path(path)
    check_not_input(path, inputs)
    if path.suffix.lower() not in (".html", ".htm"):
        raise OutputError(tr("{path}: the report is an HTML file; name it .html", path=path))
    if path.exists() and not overwrite:
        raise OutputError(tr("{path}: output already exists; pass --overwrite to replace it", path=path))
    if path.is_dir():
        raise OutputError(tr("{path}: is a folder, expected an .html file name", path=path))
    check_folder_target(
        pages_folder(path), overwrite, what=N_("report's pages folder"), inputs=inputs, legacy=PAGES_LEGACY
    )
    check_folder(path.parent, N_("report"))
    return path


def write_report(path: str | Path, index: str, pages: dict[str, str], *, overwrite: bool = False) -> Path:
    """Write the pages' folder (staged, swapped in whole; removed when there are no pages), then
    the index (temporary file, renamed)."""
    path = check_report_target(path, overwrite)
    folder = pages_folder(path)
    make_folder(path.parent)  # disk full: DiskFullError
    staged = None
    tmp = ""
    try:
        with deferred_signals():  # removed below even if a signal comes as it is made
            fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp.html", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(index)
        os.chmod(tmp, 0o644)
        if pages:
            with deferred_signals():
                staged = Path(tempfile.mkdtemp(prefix=temp_prefix(folder), suffix=".tmp", dir=path.parent))
            for name, text in pages.items():
                (staged / name).parent.mkdir(parents=True, exist_ok=True)  # plots/ of the evidence pages
                (staged / name).write_text(text, encoding="utf-8")
            os.chmod(staged, 0o755)
            replace_dir(staged, folder, what=N_("report's pages folder"), legacy=PAGES_LEGACY)
            staged = None
        else:
            remove_own_dir(folder, "report's pages folder", PAGES_LEGACY)  # an older, larger report's pages
        os.replace(tmp, path)
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    return path
