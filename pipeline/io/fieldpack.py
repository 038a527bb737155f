"""Files of the field check: the check package (a GeoPackage QField opens as a form) and the
append-only review log.

A package (``pack.gpkg``) holds the layers ``checks`` (the form, one feature per plot),
``patches`` (their loss patches) and ``pack_plots`` (what the screening saw of each plot), the
``run_metadata`` table (the screening answered: its SHA-256 and creation time) and the form as
QGIS styles (:mod:`.forms`). It is written atomically, like every output.

The review log (``reviews.gpkg``) has one table, ``reviews``: one row per imported form, never
changed or removed. :func:`append_reviews` adds rows in one SQLite transaction (all of an import
or none of it); the file is created atomically the first time.
"""

from __future__ import annotations

import datetime as dt
import re
import sqlite3
from pathlib import Path

import geopandas as gpd
import pandas as pd
import pyogrio
from pyogrio.errors import DataLayerError, DataSourceError

from ..errors import InputError
from ..i18n import tr
from ..vocab import REVIEW_COLUMNS
from .forms import LANGUAGES, form_qml
from .gpkg import write_layers
from .gpkg_style import connect, feature_tables, patch_style, status_style, store_style, write_styles

#: The layers of a package and the table of the review log.
CHECKS, PATCHES, PACK_PLOTS, REVIEWS = "checks", "patches", "pack_plots", "reviews"

_RENDERER = re.compile(r"<renderer-v2.*</renderer-v2>", re.S)


def _finish_pack(tmp: Path) -> None:
    """The form's styles (Spanish the default, then English) and the patches' style."""
    renderer = _RENDERER.search(status_style().qml())
    con = connect(tmp)
    try:
        with con:
            geometry = feature_tables(con)
            for i, (code, name) in enumerate(LANGUAGES.items()):
                store_style(
                    con,
                    CHECKS,
                    geometry[CHECKS],
                    name,
                    form_qml(code, renderer.group(0) if renderer else ""),
                    "",
                    f"the field form ({code})",
                    default=i == 0,
                )
            write_styles(con, {PATCHES: patch_style()})
    finally:
        con.close()


def write_pack(
    path: str | Path,
    checks: gpd.GeoDataFrame,
    patches: gpd.GeoDataFrame,
    pack_plots: pd.DataFrame,
    metadata: dict[str, str],
    *,
    overwrite: bool = False,
) -> Path:
    """Write a check package atomically (see the module docstring)."""
    layers = {CHECKS: checks, PATCHES: patches, PACK_PLOTS: pack_plots}
    return write_layers(path, layers, metadata, overwrite=overwrite, finish=_finish_pack)


def read_patches(path: str | Path) -> gpd.GeoDataFrame | None:
    """The ``loss_patches`` layer of a screening (None for a screening written before it existed)."""
    if "loss_patches" not in {str(name) for name, _ in pyogrio.list_layers(path)}:
        return None
    return pyogrio.read_dataframe(path, layer="loss_patches")


def read_pack(path: str | Path) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, str]]:
    """The ``checks`` forms (without geometry), ``pack_plots`` and the metadata of a package."""
    path = Path(path)
    if not path.is_file():
        raise InputError(tr("{path}: check package not found", path=path))
    try:
        layers = {str(name) for name, _ in pyogrio.list_layers(path)}
        missing = [name for name in (CHECKS, PACK_PLOTS, "run_metadata") if name not in layers]
        if missing:
            raise InputError(
                tr(
                    "{path}: not a check package written by cacao-screen field-pack (no layer {layers})",
                    path=path,
                    layers=", ".join(missing),
                )
            )
        checks = pyogrio.read_dataframe(path, layer=CHECKS, read_geometry=False)
        pack_plots = pyogrio.read_dataframe(path, layer=PACK_PLOTS)
        meta = pyogrio.read_dataframe(path, layer="run_metadata")
    except (DataSourceError, DataLayerError) as exc:
        raise InputError(tr("{path}: cannot read the check package ({error})", path=path, error=exc)) from exc
    return pd.DataFrame(checks), pd.DataFrame(pack_plots), dict(zip(meta["key"].astype(str), meta["value"].astype(str)))


def read_reviews(path: str | Path | None) -> pd.DataFrame:
    """The review log (every record, in the order imported); empty when there is no log yet."""
    if path is None or not Path(path).is_file():
        return pd.DataFrame({c: pd.Series([], dtype=object) for c in REVIEW_COLUMNS})
    try:
        frame = pyogrio.read_dataframe(path, layer=REVIEWS)
    except (DataSourceError, DataLayerError) as exc:
        raise InputError(
            tr("{path}: cannot read the review log ({error}); expected a reviews.gpkg", path=path, error=exc)
        ) from exc
    missing = [c for c in REVIEW_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(
            tr("{path}: not a review log of cacao-screen (no column {columns})", path=path, columns=", ".join(missing))
        )
    return pd.DataFrame(frame)[list(REVIEW_COLUMNS)]


def _create_log(path: Path) -> None:
    empty = pd.DataFrame({c: pd.Series(["x"], dtype=object) for c in REVIEW_COLUMNS}).iloc[:0]
    empty["seen_loss_after_ref_ha"] = pd.Series([], dtype="float64")
    write_layers(path, {REVIEWS: empty}, {"generator": "cacao-screen reviews import"}, overwrite=False)


def append_reviews(path: str | Path, records: pd.DataFrame, now: dt.datetime) -> tuple[int, int]:
    """Append the ``records`` whose ``record_key`` the log does not hold yet, in one transaction;
    return (added, already in the log). The log is created when absent; no row is ever changed."""
    path = Path(path)
    if path.is_symlink():
        raise InputError(tr("{path}: the review log is a symbolic link; give the file itself", path=path))
    if not path.exists():
        _create_log(path)
    stamp = now.strftime("%Y-%m-%dT%H:%M:%SZ")
    con = sqlite3.connect(path, timeout=60)
    try:
        with con:  # one transaction: all of the import or nothing
            con.execute("BEGIN IMMEDIATE")
            have = {k for (k,) in con.execute(f'SELECT record_key FROM "{REVIEWS}"')}
            new = records[~records["record_key"].isin(have)].drop_duplicates("record_key")
            columns = ", ".join(f'"{c}"' for c in REVIEW_COLUMNS)
            marks = ", ".join("?" for _ in REVIEW_COLUMNS)
            rows = [
                tuple(None if pd.isna(v) else v for v in (*(r[c] for c in REVIEW_COLUMNS[:-1]), stamp))
                for r in new.to_dict("records")
            ]
            con.executemany(f'INSERT INTO "{REVIEWS}" ({columns}) VALUES ({marks})', rows)
            con.execute(
                "UPDATE gpkg_contents SET last_change = ? WHERE table_name = ?",
                (now.strftime("%Y-%m-%dT%H:%M:%S.000Z"), REVIEWS),
            )
    except sqlite3.DatabaseError as exc:
        raise InputError(tr("{path}: cannot append to the review log ({error})", path=path, error=exc)) from exc
    finally:
        con.close()
    return len(new), len(records) - len(new)
