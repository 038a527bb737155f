"""What every job shares: how it was started (:class:`Invocation`), the provenance of its outputs,
the last step of writing a GeoPackage, the time spent in each phase (:class:`Phases`)."""

from __future__ import annotations

import json
import logging
import time
from collections import defaultdict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ..i18n import language
from ..io.alerts import AlertProduct
from ..io.class_maps import ClassMap
from ..io.gpkg import Finish
from ..io.gpkg_style import enrich
from ..io.outputs import PUBLISHED
from ..io.provenance import input_records, product_version
from ..io.rasters import Product
from ..stages.columns import describe_layers
from ..stages.titles import layer_descriptions, title_layers
from ..vocab import META_CONFIG

log = logging.getLogger(__name__)


def now_utc() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def _utc(ts: float) -> str:
    return datetime.fromtimestamp(ts, timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass(frozen=True)
class Invocation:
    """How a job was started, for its provenance: the command line and the config file (the
    inputs are recorded relative to its folder, or else to the working folder)."""

    command: str = ""
    config_path: Path | None = None

    @property
    def base(self) -> Path:
        return self.config_path.resolve().parent if self.config_path is not None else Path.cwd()


class Phases:
    """Seconds spent in each phase of a job, reported with ``-v``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, name: str) -> Iterator[None]:
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def report(self, total: float) -> None:
        parts = ", ".join(f"{name} {s:.1f} s" for name, s in self.seconds.items())
        log.info("phases: %s; total %.1f s", parts, total)


def published() -> list[Path]:
    """The outputs this process has renamed into place so far (what an interrupted run did write)."""
    return list(PUBLISHED)


def in_input_order(frame: pd.DataFrame) -> pd.DataFrame:
    """A layer read back from a screening (written in location order) in input order, by
    ``source_row`` (rows of one plot keep their order)."""
    if "source_row" not in frame.columns:
        return frame
    return frame.iloc[np.argsort(frame["source_row"].to_numpy(), kind="stable")].reset_index(drop=True)


# --- Provenance ----------------------------------------------------------------------------------


def product_files(
    products: Sequence[Product | AlertProduct | ClassMap], used: set[str] | None = None
) -> list[tuple[str, str]]:
    """(role, path) of every file of every product; of a lazily indexed tile set, only the tiles in
    ``used`` (the tiles under the plots: the others were never opened, and do not matter)."""
    return [
        (f"{p.name} {role}", t.path)
        for p in products
        for role, layer in p.layers.items()
        for t in layer.tiles
        if used is None or not getattr(layer, "lazy", False) or t.path in used
    ]


def provenance_keys(
    invocation: Invocation,
    started: float,
    files: list[tuple[str, str | Path]],
    products: Sequence[Product | AlertProduct | ClassMap],
) -> dict[str, str]:
    """The provenance keys of ``run_metadata``: the command line, the start and end times, every
    input with its size, mtime and SHA-256 (as JSON), and the products' versions."""
    finished = time.time()
    if invocation.config_path is not None:
        files = [("config", invocation.config_path), *files]
    records = input_records(files, invocation.base)
    return {
        "command": invocation.command,
        "language": language(),  # of the texts written: reasons, descriptions, styles
        "started_utc": _utc(started),
        "finished_utc": _utc(finished),
        "inputs_relative_to": "the config file's folder"
        if invocation.config_path is not None
        else "the working folder",
        "inputs": json.dumps(records, ensure_ascii=False),
        "product_versions": "; ".join(
            f"{p.name}: {product_version([t.path for t in next(iter(p.layers.values())).tiles])}" for p in products
        ),
    }


def provenance_document(meta: dict[str, str]) -> dict[str, Any]:
    """The provenance stored in ``gpkg_metadata``: the run's metadata, with the config and the
    inputs as JSON objects."""
    doc: dict[str, Any] = dict(meta)
    for key in (META_CONFIG, "inputs"):
        if key in doc:
            try:
                doc[key] = json.loads(doc[key])
            except ValueError:
                pass
    return doc


def gpkg_finish(
    layers: dict[str, Any],
    meta: dict[str, str],
    products: tuple[str, ...] = (),
    given: dict | None = None,
    file: str = "screening",
    empty_geometries: bool = True,
) -> Finish:
    """The last step of writing a GeoPackage (``file``: ``screening`` or ``baseline``): styles,
    column descriptions, provenance (``empty_geometries``: False when they were written as NULL)."""
    columns = {name: [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
               for name, frame in layers.items()}  # fmt: skip
    columns["run_metadata"] = ["key", "value"]
    descriptions = describe_layers(columns, products, given, file)
    return partial(
        enrich,
        descriptions=descriptions,
        titles=title_layers(columns, products),
        layer_descriptions=layer_descriptions(),
        provenance=provenance_document(meta),
        empty_geometries=empty_geometries,
    )
