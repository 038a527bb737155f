"""Running a configured job: the only module that chains the stages with reading and writing.

* :func:`run` — a screening job (``cacao-screen run`` and ``screen``): check the destinations,
  open the loss products, read the plots, screen them, write ``screening.gpkg`` atomically, and
  build ``baseline.gpkg`` from it when the config has a ``baseline`` section. A registry of any
  size is screened in bounded memory, in chunks (see :func:`run`);
* :func:`run_baseline` — the baseline from an existing screening (``cacao-screen baseline``);
* :func:`run_validate` — quality control alone (``cacao-screen validate``);
* :func:`run_fetch_tiles` — download the raster tiles under the plots (``cacao-screen fetch-tiles``).

Everything is checked before the work starts (destinations, inputs), so a bad input fails in a
second, not after an hour of screening.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from . import __version__
from .config import (
    BaselineConfig,
    DatasetConfig,
    ExecutionConfig,
    ExportConfig,
    PlotsConfig,
    QCConfig,
    ReportConfig,
    RunConfig,
)
from .engine.partitions import KeyGrid
from .engine.schedulers import cluster
from .errors import BaselineError, ConfigError, RasterError, RegionsError
from .i18n import language
from .io.alerts import AlertProduct, open_alert_product
from .io.deliveries import read_deliveries
from .io.export import check_export_target, read_layer, write_eudr, write_table
from .io.gpkg import (
    Finish,
    ScreeningWriter,
    arrow_table,
    check_baseline_targets,
    check_target,
    csv_folder,
    layer_geometry_type,
    output_wkb,
    read_previous,
    read_screening,
    read_table,
    write_baseline,
    write_validation,
)
from .io.gpkg_style import enrich
from .io.outputs import (
    PUBLISHED,
    Staged,
    check_not_input,
    deferred_signals,
    disk_errors,
    guard,
    make_folder,
    temp_prefix,
)
from .io.plots import PlotStream, open_plots, read_plots
from .io.provenance import input_records, product_version
from .io.raster_content import check_content
from .io.rasters import Product, close_datasets, open_product, require_tiles
from .io.region_cache import RegionCache
from .io.regions import read_regions
from .io.report import check_report_target, pages_folder, read_baseline, read_manifest, render, write_report
from .io.spill import KEY, Chunk, Position, Spill
from .stages.baseline import BaselineInputs, build_baseline
from .stages.baseline.build import forest_text
from .stages.baseline.periods import check_plots_columns, loss_years
from .stages.baseline.regions import prepare_regions
from .stages.baseline.supply import parse_deliveries
from .stages.columns import DELIVERY_ATTRIBUTE, INPUT_ATTRIBUTE, describe, describe_layers, grouping_text
from .stages.export import ExportResult, chosen_statuses, eudr_columns, eudr_features, select_rows, split_files
from .stages.qc.checks import (
    DECLARED_AREA_COLUMNS,
    RowChecks,
    check_rows,
    declared_areas,
    duplicate_id_issues,
    finish,
)
from .stages.qc.cross import CrossIssues, PendingIssues, cross_plot_checks
from .stages.report import build_report
from .stages.screening import (
    add_total,
    input_names,
    key_prefix,
    screen_checked,
    status_summary,
    verified_previous,
)
from .stages.titles import layer_descriptions, title_layers
from .stages.validation import ValidationResult, validate_plots
from .vocab import (
    ALERTS_BY_MONTH,
    DETECTED,
    INVALID,
    ISSUE_COLUMNS,
    META_CONFIG,
    META_CREATED,
    META_GENERATOR,
    META_REFERENCE_YEAR,
    NOT_ASSESSED,
    REVIEW,
    STATUSES,
)

log = logging.getLogger(__name__)


def _now() -> str:
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


# --- Provenance ----------------------------------------------------------------------------------


def product_files(products: list[Product], used: set[str] | None = None) -> list[tuple[str, str]]:
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
    invocation: Invocation, started: float, files: list[tuple[str, str | Path]], products: list[Product]
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


# --- Screening -----------------------------------------------------------------------------------


def open_products(cfg: RunConfig) -> list[Product | AlertProduct]:
    """Open and check every configured product: the loss products, the primary first, then the
    alert products."""
    products: list[Product | AlertProduct] = []
    for name, ds in cfg.dataset_configs().items():
        p = open_product(name, ds)
        for note in p.notes:
            log.info("%s: %s", name, note)
        if cfg.screening.reference_year >= p.last_year:
            raise ConfigError(
                f"{name}: the reference year {cfg.screening.reference_year} is not before the "
                f"product's last loss year {p.last_year}: nothing after it could be seen"
            )
        products.append(p)
    for name, alert_ds in cfg.alert_configs().items():
        a = open_alert_product(name, alert_ds)
        for note in a.notes:
            log.info("%s: %s", name, note)
        products.append(a)
    return products


@dataclass
class JobResult:
    """What a screening job did: where it wrote, how many plots, by status, what quality control
    found (by severity and code), how long each phase took, and the baseline when one was built."""

    path: Path
    plots_in: int = 0
    plots_out: int = 0
    reused: int = 0
    statuses: pd.DataFrame | None = None  # plots, area_ha, loss_after_ref_ha per status
    issue_counts: pd.Series = field(default_factory=lambda: pd.Series(dtype="int64"))
    metadata: dict[str, str] = field(default_factory=dict)
    phases: dict[str, float] = field(default_factory=dict)
    baseline: Any = None  # a pipeline.stages.baseline.BaselineResult when the job asks for one
    alert_products: list[str] = field(default_factory=list)
    alerts: dict[str, list[float]] = field(default_factory=dict)  # per alert product: see alert_summary
    exports: list[Any] = field(default_factory=list)  # pipeline.stages.export.ExportResult, one per export
    report: Any = None  # the report's path, when the job writes one
    rejected: int = 0  # stored rows of the previous output that failed the integrity check (incremental)
    not_assessed_reasons: dict = field(default_factory=dict)  # status_reason -> plots, of not_assessed plots
    max_not_assessed_pct: float = 100.0

    def not_assessed(self) -> tuple[int, int]:
        """``not_assessed`` plots, and the plots that could have been assessed (all but ``invalid``)."""
        s = self.summary()
        return int(s.loc[NOT_ASSESSED, "plots"]), int(s.loc["total", "plots"] - s.loc[INVALID, "plots"])

    def too_many_not_assessed(self) -> bool:
        """More ``not_assessed`` plots than ``max_not_assessed_pct`` of the plots that could have been
        assessed; all of them (100 %) always counts."""
        n, of = self.not_assessed()
        return of > 0 and (100 * n / of > self.max_not_assessed_pct or n == of)

    def summary(self) -> pd.DataFrame:
        """Plots and hectares per status (every status listed, in a fixed order), and the total."""
        empty = pd.DataFrame({"plots": 0, "area_ha": 0.0, "loss_after_ref_ha": 0.0}, index=list(STATUSES))
        return add_total(self.statuses if self.statuses is not None else empty)

    def alert_summary(self, name: str) -> tuple[int, float, int, int, int]:
        """For an alert product: plots with alerts, their area (ha), and plots it finds
        deforestation_detected, review and not_assessed."""
        n, ha, detected, review, unassessed = self.alerts.get(name, [0, 0.0, 0, 0, 0])
        return int(n), float(ha), int(detected), int(review), int(unassessed)


class Phases:
    """Seconds spent in each phase of a job, reported with ``-v``."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = defaultdict(float)

    @contextmanager
    def __call__(self, name: str):
        started = time.perf_counter()
        try:
            yield
        finally:
            self.seconds[name] += time.perf_counter() - started

    def report(self, total: float) -> None:
        parts = ", ".join(f"{name} {s:.1f} s" for name, s in self.seconds.items())
        log.info("phases: %s; total %.1f s", parts, total)


#: Rows read from the plots file at a time.
BATCH_ROWS = 16_384


def run(cfg: RunConfig, *, progress: bool = False, invocation: Invocation = Invocation()) -> JobResult:
    """The whole job of a validated config: read, screen, write ``cfg.output.path`` atomically
    (and the baseline, when the config has a ``baseline`` section).

    Memory is bounded by a chunk of plots, not by the registry. The plots file is read once, in
    batches: each batch gets the quality-control checks of single rows and goes to a spill file
    beside the output, sorted by location (the raster block under each plot). Then come the
    checks across rows that reach beyond a chunk — duplicated ids, plots larger than a raster
    block — and the chunks of ``execution.chunk_plots`` plots, in location order: each is read
    back, checked against its neighbours for duplicated and overlapping geometries, screened
    and written to the GeoPackage while the next is screened. The figures, statuses and findings
    are those of screening the whole file at once; the rows come out in location order (see
    docs/outputs.md).
    """
    started = time.time()
    phases = Phases()
    overwrite = cfg.output.overwrite or cfg.output.incremental  # an incremental run replaces its output
    out = Path(cfg.output.path)
    inputs = job_inputs(cfg, invocation)
    targets = check_job_targets(cfg, inputs, overwrite)  # fail before the work, not after
    folders = [csv_folder(cfg.baseline.output)] if cfg.baseline is not None else []
    folders += [pages_folder(cfg.report.out)] if cfg.report is not None else []
    with guard(targets, cfg.output.wait_lock, also=folders):  # no other run writes these outputs meanwhile
        baseline_inputs = None
        with phases("open inputs"):
            if cfg.baseline is not None:
                baseline_inputs = load_baseline_inputs(cfg.baseline)
            products = open_products(cfg)
            check_not_input(out, [(f"{role} raster", path) for role, path in product_files(products)])
            stream = open_plots(cfg.plots, batch_size=BATCH_ROWS, keep=_qc_columns(cfg))
            declared_areas(pd.DataFrame(columns=stream.columns), cfg.qc.declared_area_column)  # a named column exists
            previous = None
            if cfg.output.incremental:
                loss_products = [p for p in products if isinstance(p, Product)]
                previous, rejected = verified_previous(read_previous(out), loss_products, str(out))
        make_folder(out.parent)
        staging: Path | None = None
        baseline_staged = None
        try:
            with deferred_signals():  # a signal right after the folder is made still finds it removed
                staging = Path(tempfile.mkdtemp(prefix=temp_prefix(out), suffix=".tmp-work", dir=out.parent))
            with Staged(out, overwrite) as screening_file, disk_errors(out.parent):
                with cluster(cfg.execution.scheduler) as client:
                    result = _screen_in_chunks(
                        cfg,
                        products,
                        stream,
                        previous,
                        staging,
                        phases,
                        client,
                        progress,
                        overwrite,
                        started,
                        invocation,
                        screening_file,
                    )
                close_datasets()
                shutil.rmtree(staging, ignore_errors=True)
                staging = None
                if cfg.baseline is not None:
                    with phases("baseline"), disk_errors(Path(cfg.baseline.output).parent):
                        result.baseline, baseline_staged = run_baseline(
                            out,
                            cfg.baseline,
                            overwrite=overwrite,
                            products=products,
                            execution=cfg.execution,
                            progress=progress,
                            inputs=baseline_inputs,
                            invocation=invocation,
                            staged_from=screening_file.tmp,
                        )
                with deferred_signals():  # both published together, once both are complete
                    screening_file.publish()
                    if baseline_staged is not None:
                        baseline_staged.publish()
        finally:
            close_datasets()
            if staging is not None:
                shutil.rmtree(staging, ignore_errors=True)
            if baseline_staged is not None:
                baseline_staged.discard()
        result.rejected = rejected if cfg.output.incremental else 0
        if cfg.exports:
            with phases("exports"):
                result.exports = []
                for export in cfg.exports:
                    with disk_errors(Path(export.out).parent):
                        result.exports.append(run_export(out, export, overwrite=overwrite, locked=True))
        if cfg.report is not None:
            with phases("report"), disk_errors(Path(cfg.report.out).parent):
                baseline = cfg.baseline.output if cfg.baseline is not None else None
                eudr = next((e.out for e in cfg.exports if e.format == "eudr"), None)
                report_cfg = cfg.report if eudr is None else cfg.report.model_copy(update={"eudr": eudr})
                result.report = run_report(
                    out, report_cfg, baseline=baseline, overwrite=overwrite, progress=progress, locked=True
                )
    result.max_not_assessed_pct = cfg.screening.max_not_assessed_pct
    result.phases = dict(phases.seconds)
    phases.report(time.time() - started)
    return result


def published() -> list[Path]:
    """The outputs this process has renamed into place so far (what an interrupted run did write)."""
    return list(PUBLISHED)


def job_inputs(cfg: RunConfig, invocation: Invocation = Invocation()) -> list[tuple[str, str | Path | None]]:
    """(role, path) of every input file of a job that is named in its config (the tiles of a
    folder or a glob are checked once the products are open)."""
    inputs: list[tuple[str, str | Path | None]] = [
        ("plots file", cfg.plots.path),
        ("config file", invocation.config_path),
    ]
    for name, ds in {**cfg.dataset_configs(), **cfg.alert_configs()}.items():
        for role in ("loss_year", "tree_cover", "datamask", "forest_mask", "alerts", "confidence_layer"):
            spec = getattr(ds, role, None)
            for one in spec if isinstance(spec, (list, tuple)) else [spec]:
                if one is not None and Path(str(one)).is_file():
                    inputs.append((f"{name} {role.replace('_', ' ')} raster", str(one)))
    if cfg.baseline is not None:
        b = cfg.baseline
        inputs += [
            ("regions file", b.regions.path if b.regions is not None else None),
            ("deliveries file", b.deliveries.path if b.deliveries is not None else None),
            ("previous screening", b.previous),
        ]
    return inputs


def check_job_targets(cfg: RunConfig, inputs: list, overwrite: bool) -> list[Path]:
    """Check every destination of a job before any work (see :func:`pipeline.io.outputs.check_destination`);
    return the paths to lock."""
    out = Path(cfg.output.path)
    check_target(out, overwrite, inputs=inputs)
    targets = [out]
    if cfg.baseline is not None:
        check_not_input(cfg.baseline.output, [("screening output", out)])
        check_baseline_targets(cfg.baseline.output, overwrite, inputs=inputs)
        targets.append(Path(cfg.baseline.output))
    for export in cfg.exports:
        check_export_target(export.out, export.format, overwrite, inputs=[*inputs, ("screening output", out)])
        targets.append(Path(export.out))
    if cfg.report is not None:
        check_report_target(cfg.report.out, overwrite, inputs=[*inputs, ("screening output", out)])
        targets.append(Path(cfg.report.out))
    return targets


def _qc_columns(cfg: RunConfig) -> tuple[str, ...]:
    """The attribute columns quality control reads (the declared area)."""
    named = (cfg.qc.declared_area_column,) if cfg.qc.declared_area_column else ()
    return (*DECLARED_AREA_COLUMNS, *named)


@dataclass
class _Scan:
    """What the first pass keeps besides the spill: a few bytes per plot, and the large plots."""

    hashes: list = field(default_factory=list)  # a hash of every plot's id, batch by batch
    big: list = field(default_factory=list)  # (source rows, ids, geometries, areas) of plots wider than a block
    types: set = field(default_factory=set)  # geometry types of the input
    tiles: set = field(default_factory=set)  # (product, role, path) of the lazily indexed tiles under the plots
    sample: list = field(default_factory=list)  # a few geometries of each batch

    def add(self, found) -> None:
        hashes, big, types, tiles, sample = found
        self.hashes.append(hashes)
        if big is not None:
            self.big.append(big)
        self.types |= types
        self.tiles |= tiles
        self.sample.append(sample)


def _ordered(items: Iterable, fn, *, workers: int, ahead: int) -> Iterator:
    """``fn(item)`` for each item, on ``workers`` threads with at most ``ahead`` items in flight
    (memory holds those), yielded in the items' order. The items are drawn in this thread."""
    with ThreadPoolExecutor(workers, thread_name_prefix="cacao-screen-pass") as pool:
        pending: deque = deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= ahead:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def _screen_in_chunks(
    cfg: RunConfig,
    every: list[Product | AlertProduct],
    stream: PlotStream,
    previous,
    staging: Path,
    phases: Phases,
    client,
    progress: bool,
    overwrite: bool,
    started: float,
    invocation: Invocation,
    staged: Staged | None = None,
) -> JobResult:
    from tqdm.auto import tqdm

    products = [p for p in every if isinstance(p, Product)]  # the loss products, the primary first
    keygrid = KeyGrid(products[0].grid)
    spill = Spill(staging)
    scan = _Scan()
    # --- pass 1: read, check every row, spill in location order --------------------------------
    # Batches are read in this thread and checked on two others, a few ahead (GDAL, GEOS and numpy
    # release the GIL): the spill gets them in file order.
    bar = tqdm(desc="reading and checking plots", unit="plot", disable=not progress, leave=False)
    with phases("read and check plots"):
        work = partial(_scan_batch, cfg=cfg, every=every, keygrid=keygrid)
        for table, found in _ordered(stream.batches(), work, workers=2, ahead=3):
            spill.append(table)
            scan.add(found)
            bar.update(table.num_rows)
        spill.close()
    bar.close()
    n = spill.rows
    log.info("%s: %d plots read and checked", stream.path, n)
    if scan.tiles:
        log.info("%d tile(s) of lazily indexed tile sets lie under the plots: opened and checked", len(scan.tiles))
    with phases("raster content"):  # what the rasters hold, sampled under plots spread over the file
        sample = np.concatenate(scan.sample) if scan.sample else np.zeros(0, dtype=object)
        for product in products:
            check_content(product, sample)
    # --- checks across rows that reach beyond a chunk ------------------------------------------
    pending = PendingIssues()
    with phases("duplicate ids and large plots"):
        _duplicate_ids(spill, scan, pending)
        big = _large_plots(spill, scan, pending, cfg.qc.overlap_min_share)
    # --- pass 2: chunk by chunk, screen and write ----------------------------------------------
    # While a chunk is measured (on the engine's threads), the next one is read back and checked
    # on one thread and the previous one is made into rows and written on another.
    chunks = spill.plan(cfg.execution.chunk_plots)
    log.info(
        "screening %d plots in %d chunk(s) of at most %d (scheduler %s)",
        n,
        len(chunks),
        cfg.execution.chunk_plots,
        cfg.execution.scheduler,
    )
    prefix = key_prefix(products, cfg.screening)
    result = JobResult(Path(cfg.output.path), plots_in=n)
    totals = _Totals()
    bar = tqdm(total=n, desc="screening", unit="plot", disable=not progress, leave=False)
    writer = ScreeningWriter(
        cfg.output.path,
        overwrite=overwrite,
        geometry_type=layer_geometry_type(scan.types),
        staging=staging,
        rows=n,
        staged=staged,
    )
    layer_columns: dict[str, list[str]] = {}

    def write(table, part) -> None:
        renamed = input_names(stream.columns, part.columns.columns)
        rows = _plots_table(table, stream.columns, renamed, part.columns)
        extra = {ALERTS_BY_MONTH: part.alerts_by_month} if part.alerts_by_month is not None else None
        writer.add(rows, part.loss_by_year, part.issues, extra)
        if not layer_columns:
            layer_columns["plots"] = [c for c in rows.column_names if c != "geometry"]
            layer_columns["loss_by_year"] = list(part.loss_by_year.columns)
            layer_columns["plot_issues"] = list(part.issues.columns)
            for name, frame in (extra or {}).items():
                layer_columns[name] = list(frame.columns)
        totals.add(part)
        bar.update(table.num_rows)

    checks = partial(
        _chunk_checks, spill=spill, keygrid=keygrid, pending=pending, big=big, min_share=cfg.qc.overlap_min_share
    )
    with writer, ThreadPoolExecutor(1, thread_name_prefix="cacao-screen-write") as post:
        written = None
        with phases("screen"):
            for table, checked, frame, wkb in _ordered(chunks, checks, workers=1, ahead=2):
                part = screen_checked(
                    frame,
                    checked,
                    every,
                    cfg.screening,
                    execution=cfg.execution,
                    client=client,
                    progress=False,
                    large_progress=progress,
                    previous=previous,
                    prefix=prefix,
                    wkb=wkb,
                )
                if written is not None:
                    written.result()  # one chunk being written at a time, in order
                written = post.submit(write, table, part)
            if written is not None:
                written.result()
        bar.close()
        if writer.rows != n:  # the invariant the whole design protects
            raise RuntimeError(f"internal error: {n} plots in, {writer.rows} out")
        result.plots_out = writer.rows
        result.reused = totals.reused
        result.statuses = totals.statuses
        result.issue_counts = pd.Series(totals.issues, dtype="int64").sort_index()
        result.alert_products = [p.name for p in every if not isinstance(p, Product)]
        result.alerts = totals.alerts
        result.not_assessed_reasons = dict(totals.reasons)
        with phases("write"):
            result.metadata = screening_metadata(cfg, every, stream, result, started)
            files = [("plots", cfg.plots.path), *product_files(every, used=scan.tiles)]
            result.metadata.update(provenance_keys(invocation, started, files, every))
            attrs = layer_columns.get("plots", [])[2 : 2 + len(stream.columns)]  # the input's, as written
            enrich_step = gpkg_finish(
                {name: pd.DataFrame(columns=cols) for name, cols in layer_columns.items()},
                result.metadata,
                tuple(p.name for p in every) if len(every) > 1 else (),
                {"plots": dict.fromkeys(attrs, INPUT_ATTRIBUTE)},
                empty_geometries=False,  # written as NULL (io.gpkg.output_wkb)
            )
            writer.finish(result.metadata, enrich_step)
    log.info(
        "writing the GeoPackage: %(work).1f s of work (on its own thread, and the last tables at the end); "
        "the writer waited %(wait).1f s for the screening's rows",
        {"work": writer.write_s, "wait": writer.wait_s},
    )
    return result


@dataclass
class _Totals:
    """The summary of the chunks screened so far."""

    statuses: pd.DataFrame | None = None
    issues: dict = field(default_factory=lambda: defaultdict(int))
    reused: int = 0
    alerts: dict = field(default_factory=dict)
    reasons: dict = field(default_factory=lambda: defaultdict(int))  # of not_assessed plots

    def add(self, part) -> None:
        s = status_summary(part.columns, total=False)
        self.statuses = s if self.statuses is None else self.statuses + s
        for key, k in part.issues.groupby(["severity", "code"]).size().items():
            self.issues[key] += int(k)
        self.reused += part.reused
        status = part.columns["status"]
        for reason, k in part.columns.loc[status == NOT_ASSESSED, "status_reason"].value_counts().items():
            self.reasons[str(reason)] += int(k)
        for name in part.alert_products:
            ha = part.columns[f"{name}_alert_ha"].fillna(0.0)
            status = part.columns[f"{name}_status"]
            counts = [(ha > 0).sum(), ha.sum(), *((status == s).sum() for s in (DETECTED, REVIEW, NOT_ASSESSED))]
            old = self.alerts.get(name, [0, 0.0, 0, 0, 0])
            self.alerts[name] = [a + float(b) for a, b in zip(old, counts)]


def _scan_batch(batch, *, cfg: RunConfig, every: list, keygrid: KeyGrid):
    """Pass 1 for one batch: the single-row checks and the location keys; returns its rows for
    the spill, and what the scan keeps of it."""
    import pyarrow as pa
    import shapely

    products = [p for p in every if isinstance(p, Product)]
    frame = batch.frame
    rows = check_rows(frame, cfg.qc, coverage_bounds=products[0].bounds)
    n = len(frame)
    live = ~rows.err
    raw = frame.geometry.to_numpy()
    bounds = np.full((n, 4), np.nan)
    has_raw = ~shapely.is_missing(raw) & ~shapely.is_empty(raw)
    bounds[has_raw] = shapely.bounds(raw[has_raw])
    bounds[live] = shapely.bounds(rows.geometry[live])
    keys = keygrid.keys(bounds)
    big = live & ~keygrid.small(bounds)
    tiles = set()  # the tiles under these plots, opened and checked now
    for p in every:
        tiles.update(require_tiles(p, bounds[live]))
    ids = frame["plot_id"].to_numpy(dtype=object)
    source_rows = frame["source_row"].to_numpy()
    wkb, types = output_wkb(raw, batch.wkb)
    # the WKB of what is screened: the file's own where the geometry is screened as drawn
    screened = rows.geometry
    if batch.wkb is not None:
        changed = np.fromiter((a is not b for a, b in zip(screened, raw)), dtype=bool, count=n)
        screened_wkb = np.where(live, batch.wkb, None)
        at = np.flatnonzero(changed & live)
        screened_wkb[at] = shapely.to_wkb(screened[at])
    else:
        screened_wkb = shapely.to_wkb(screened)
    order = np.argsort(rows.pos, kind="stable")  # each row's findings, in the order they were made
    counts = np.bincount(rows.pos, minlength=n)
    offsets = np.zeros(n + 1, dtype="int32")
    np.cumsum(counts, out=offsets[1:])
    found = pa.StructArray.from_arrays(
        [pa.array(a[order], pa.string()) for a in (rows.code, rows.severity, rows.message)],
        ["code", "severity", "message"],
    )
    columns = {
        "plot_id": pa.array(ids, pa.string()),
        "source_row": pa.array(source_rows, pa.int64()),
    }
    for name in batch.attributes.column_names:
        columns[name] = batch.attributes.column(name)
    columns.update(
        {
            "_geom": pa.array(wkb, pa.binary()),
            "_screened": pa.array(screened_wkb, pa.binary()),
            "_area_ha": pa.array(rows.area_ha, pa.float64()),
            "_issues": pa.ListArray.from_arrays(pa.array(offsets), found),
            "_big": pa.array(big),
            KEY: pa.array(keys, pa.int64()),
        }
    )
    big_rows = (source_rows[big], ids[big], rows.geometry[big], rows.area_ha[big]) if big.any() else None
    sample = raw[np.unique(np.linspace(0, n - 1, min(n, _SAMPLE_PER_BATCH)).astype("int64"))] if n else raw
    return pa.table(columns), (pd.util.hash_array(ids), big_rows, types, tiles, sample)


#: Plots of each batch kept to sample what the rasters hold (io.raster_content picks among them).
_SAMPLE_PER_BATCH = 16


def _duplicate_ids(spill: Spill, scan: _Scan, pending: PendingIssues) -> None:
    """``duplicate_id`` findings: ids hashed in pass 1; the rows of hashes met twice read back."""
    if not scan.hashes:
        return
    hashes = np.concatenate(scan.hashes)
    scan.hashes = []
    values, counts = np.unique(hashes, return_counts=True)
    dup = values[counts > 1]
    del hashes, values, counts
    if not len(dup):
        return
    ids, rows = [], []
    for t in spill.scan(["plot_id", "source_row"]):
        i = t.column("plot_id").to_numpy(zero_copy_only=False).astype(object)
        m = np.isin(pd.util.hash_array(i), dup)
        ids.append(i[m])
        rows.append(t.column("source_row").to_numpy()[m])
    ids_a, rows_a = np.concatenate(ids), np.concatenate(rows)
    order = np.argsort(rows_a, kind="stable")  # by row, as the whole file lists them
    ids_a, rows_a = ids_a[order], rows_a[order]
    pos, msg = duplicate_id_issues(ids_a, rows_a)
    pending.add(rows_a, CrossIssues(pos, np.full(len(pos), "duplicate_id", dtype=object), msg))


_CROSS_COLUMNS = ["plot_id", "source_row", "_screened", "_area_ha", "_big"]


@dataclass
class _Plots:
    """Plots for the cross-plot checks: screened geometries, areas, ids, source rows."""

    geoms: np.ndarray
    area: np.ndarray
    ids: np.ndarray
    rows: np.ndarray

    @classmethod
    def of(cls, table, keep=None) -> _Plots:
        import shapely

        g = shapely.from_wkb(table.column("_screened").to_numpy(zero_copy_only=False))
        sel = ~shapely.is_missing(g) if keep is None else keep(table, g)
        return cls(
            g[sel],
            table.column("_area_ha").to_numpy()[sel],
            table.column("plot_id").to_numpy(zero_copy_only=False).astype(object)[sel],
            table.column("source_row").to_numpy()[sel],
        )

    @classmethod
    def concat(cls, parts: list[_Plots]) -> _Plots:
        """The plots of ``parts``, by source row (the order the whole file lists them in)."""
        g, a, i, r = (np.concatenate([getattr(p, f) for p in parts]) for f in ("geoms", "area", "ids", "rows"))
        order = np.argsort(r, kind="stable")
        return cls(g[order], a[order], i[order], r[order])

    def findings(self, min_share: float) -> CrossIssues:
        """The duplicated and overlapping geometries among these plots (positions into them)."""
        return CrossIssues.gather(cross_plot_checks(self.geoms, self.area, self.ids, self.rows, min_share))


def _small(table, g) -> np.ndarray:
    import shapely

    return ~shapely.is_missing(g) & ~table.column("_big").to_numpy(zero_copy_only=False)


def _large_plots(spill: Spill, scan: _Scan, pending: PendingIssues, min_share: float) -> _Plots | None:
    """Plots larger than a raster block can meet plots of any chunk: every chunk checks its plots
    with them (they are returned), and their own findings come from the plots they can meet — the
    plots whose box meets theirs, gathered in a pass over the spill — checked with them here."""
    import shapely

    if not scan.big:
        return None
    rows, ids, geoms, areas = (np.concatenate([b[k] for b in scan.big]) for k in range(4))
    big = _Plots(geoms, areas, ids, rows)
    scan.big = []
    log.info("%d plot(s) larger than a raster block: checked against every plot they meet", len(big.rows))
    tree = shapely.STRtree(shapely.box(*shapely.bounds(big.geoms).T))
    near = []
    for t in spill.scan(_CROSS_COLUMNS):
        part = _Plots.of(t, _small)
        hit = np.unique(tree.query(shapely.box(*shapely.bounds(part.geoms).T))[0]) if len(part.rows) else []
        if len(hit):
            near.append(_Plots(part.geoms[hit], part.area[hit], part.ids[hit], part.rows[hit]))
    every = _Plots.concat([big, *near])
    found = every.findings(min_share)
    mine = np.isin(every.rows[found.pos], big.rows)
    pending.add(every.rows, found.take(mine))
    return big


def _chunk_checks(
    chunk: Chunk, *, spill: Spill, keygrid: KeyGrid, pending: PendingIssues, big: _Plots | None, min_share: float
):
    """A chunk read back, and its quality control finished: the findings of single rows (from the
    spill), duplicated ids and the large plots' own findings (pending), and the duplicated or
    overlapping geometries of its plots. Those are found among its plots, the plots around it (a
    row of raster blocks before and after: every plot that can meet one of its plots, and every
    plot repeating those) and the large plots, in the order of the file: each of its plots gets
    what the whole file gives it. Returns the chunk's table, its ``QCResult``, its key frame and
    the WKB of what it screens."""
    import shapely

    table = spill.read(chunk.start, chunk.stop)
    n = table.num_rows
    ids = table.column("plot_id").to_numpy(zero_copy_only=False).astype(object)
    source_rows = table.column("source_row").to_numpy()
    frame = pd.DataFrame({"plot_id": ids, "source_row": source_rows})
    screened_wkb = table.column("_screened").to_numpy(zero_copy_only=False)
    geoms = shapely.from_wkb(screened_wkb)
    err = shapely.is_missing(geoms)
    area = table.column("_area_ha").to_numpy()
    found = table.column("_issues").combine_chunks()
    lengths = found.value_lengths().to_numpy(zero_copy_only=False)
    flat = found.flatten()
    rows = RowChecks(
        np.repeat(np.arange(n), np.nan_to_num(lengths).astype("int64")),
        flat.field("code").to_numpy(zero_copy_only=False).astype(object),
        flat.field("severity").to_numpy(zero_copy_only=False).astype(object),
        flat.field("message").to_numpy(zero_copy_only=False).astype(object),
        err,
        geoms,
        area,
    )
    small = ~err & ~table.column("_big").to_numpy(zero_copy_only=False)
    own = _Plots(geoms[small], area[small], ids[small], source_rows[small])
    reach = keygrid.width + 1  # two small plots that meet lie in neighbouring blocks
    before = spill.read(Position(chunk.start.key - reach, 0), chunk.start, _CROSS_COLUMNS)
    after = spill.read(chunk.stop, Position(chunk.last_key + reach + 1, 0), _CROSS_COLUMNS)
    parts = [own, _Plots.of(before, _small), _Plots.of(after, _small)] + ([big] if big is not None else [])
    around = _Plots.concat(parts)
    cross = around.findings(min_share)
    cross = cross.take(np.isin(around.rows[cross.pos], own.rows))  # the findings on this chunk's plots
    order = np.argsort(source_rows, kind="stable")
    cross.pos = order[np.searchsorted(source_rows, around.rows[cross.pos], sorter=order)]
    extra = CrossIssues.concat([pending.take(source_rows), cross])
    return table, finish(frame, rows, extra), frame, screened_wkb


def _plots_table(table, attributes: list[str], renamed: dict[str, str], columns: pd.DataFrame):
    """The ``plots`` rows of a chunk as written: ids, the input's attributes, the screening's
    columns, the geometry."""
    import pyarrow as pa

    ours = arrow_table(columns)
    names = ["plot_id", "source_row", *attributes]
    arrays = [table.column(c) for c in names] + list(ours.columns) + [table.column("_geom")]
    out_names = ["plot_id", "source_row", *(renamed.get(c, c) for c in attributes), *ours.column_names, "geometry"]
    return pa.Table.from_arrays(arrays, names=out_names)


def screening_metadata(
    cfg: RunConfig, every: list[Product | AlertProduct], stream: PlotStream, result: JobResult, started: float
) -> dict[str, str]:
    """The ``run_metadata`` of a screening: what a reader needs to trust and reproduce it, and the
    effective configuration (:data:`~pipeline.vocab.META_CONFIG`) that later steps read back."""
    s = cfg.screening
    products = [p for p in every if isinstance(p, Product)]
    alerts = [p for p in every if isinstance(p, AlertProduct)]
    meta = {
        META_GENERATOR: f"cacao-screen {__version__}",
        META_CREATED: _now(),
        "plots_path": str(Path(cfg.plots.path).resolve()),
        "plots_layer": str(cfg.plots.layer or ""),
        "id_column": cfg.plots.id_column,
        "products": ", ".join(p.name for p in every),
        "primary_product": products[0].name,
        "status_rule": s.status_rule if len(every) > 1 else "single product",
    }
    for p in products:
        prefix = "" if p is products[0] else f"{p.name}_"
        meta[f"{prefix}loss_year_raster"] = p.loss.source
        meta[f"{prefix}loss_year_tiles"] = str(len(p.loss.tiles))
        for role in ("tree_cover", "datamask", "forest_mask"):
            layer = getattr(p, role)
            if layer is not None:
                meta[f"{prefix}{role}_raster"] = layer.source
        meta[f"{prefix}loss_years"] = f"{p.first_year}-{p.last_year}"
        meta[f"{prefix}product_kind"] = f"{p.kind} (encoding {p.encoding})"
    for a in alerts:
        meta[f"{a.name}_alerts_raster"] = a.alerts.source
        meta[f"{a.name}_alert_tiles"] = str(len(a.alerts.tiles))
        for role in ("confidence", "forest_mask"):
            layer = getattr(a, role)
            if layer is not None:
                meta[f"{a.name}_{role}_raster"] = layer.source
        meta[f"{a.name}_product_kind"] = f"alerts ({a.encoding.describe()})"
        meta[f"{a.name}_min_confidence"] = a.min_confidence if a.levels else "(no confidence: every alert counts)"
    if alerts:
        meta["cutoff_date"] = s.cutoff.isoformat()
    meta.update(
        {
            META_REFERENCE_YEAR: str(s.reference_year),
            "canopy_threshold_pct": f"{s.canopy_threshold:g}",
            "forest_definition": forest_text(s),
            "review_max_ha": f"{s.review_max_ha:g}",
            "min_data_coverage_pct": f"{s.min_data_coverage_pct:g}",
            "pixel_area": "WGS84 ellipsoid, per pixel row",
            "scheduler": cfg.execution.scheduler,
            "coverage": "exact fraction of each pixel inside the plot",
            "plots_in": str(result.plots_in),
            "plots_out": str(result.plots_out),
            "plots_reused": str(result.reused),
            "plots_crs": str(stream.source_crs),
            **{f"qc_{k}": str(v) for k, v in cfg.qc.model_dump().items()},
            "elapsed_s": f"{time.time() - started:.1f}",
            META_CONFIG: cfg.model_dump_json(),
        }
    )
    return meta


def stored_config(meta: dict[str, str], source: str) -> RunConfig:
    """The configuration a screening was run with, parsed by the model that validated it."""
    text = meta.get(META_CONFIG)
    if not text:
        raise BaselineError(
            f"{source}: the screening stores no configuration (written by an older cacao-screen); "
            "screen the plots again with this version"
        )
    try:
        return RunConfig.model_validate(json.loads(text))
    except ValueError as exc:
        raise BaselineError(f"{source}: the screening's stored configuration cannot be read ({exc})") from exc


# --- Baseline ------------------------------------------------------------------------------------


def load_baseline_inputs(cfg: BaselineConfig) -> BaselineInputs:
    """Read and check the baseline's optional inputs (regions, deliveries, a previous screening)."""
    regions = None
    if cfg.regions is not None:
        raw = read_regions(cfg.regions)
        regions = prepare_regions(raw.ids, raw.names, raw.geoms, source=raw.source)
        if regions.repaired_ids:
            log.warning(
                "%s: %d invalid region geometr(ies) repaired with make_valid: %s",
                raw.source,
                len(regions.repaired_ids),
                ", ".join(regions.repaired_ids[:20]),
            )
        if regions.dropped_ids:
            log.warning(
                "%s: %d region(s) without a usable geometry (they can hold no plot): %s",
                raw.source,
                len(regions.dropped_ids),
                ", ".join(regions.dropped_ids[:20]),
            )
        if len(regions) == 0:
            raise RegionsError(f"{raw.source}: no region has a usable geometry")
    deliveries = None
    if cfg.deliveries is not None:
        deliveries = parse_deliveries(
            read_deliveries(cfg.deliveries), str(cfg.deliveries.path), cfg.deliveries.quantity_column
        )
    previous = None
    if cfg.previous is not None:
        prev_plots, prev_meta = read_screening(cfg.previous, "previous screening")
        check_plots_columns(prev_plots, str(cfg.previous))
        previous = (prev_plots, prev_meta)
    return BaselineInputs(regions=regions, deliveries=deliveries, previous=previous)


def run_baseline(
    screening: str | Path,
    cfg: BaselineConfig,
    *,
    overwrite: bool = False,
    rasters: DatasetConfig | None = None,
    products: list[Product | AlertProduct] | None = None,
    execution: ExecutionConfig = ExecutionConfig(),
    progress: bool = False,
    inputs: BaselineInputs | None = None,
    invocation: Invocation = Invocation(),
    staged_from: Path | None = None,
    wait_lock: float = 0.0,
) -> Any:
    """Read ``screening``, build every baseline layer, write ``cfg.output``; return the result.

    The screening's parameters (reference year, forest definition) are read from its stored
    configuration. The rings (``cfg.ring_m``) are measured on ``products`` (the job's own), on
    ``rasters`` when given, or else on the primary product the screening was run with.

    ``staged_from``: the screening is still under this temporary name (``job.run``, which publishes
    both together): the baseline is written under temporary names too, and ``(result,
    StagedBaseline)`` is returned for the job to publish. Otherwise the baseline's outputs are
    locked (``wait_lock``: seconds to wait for another run) and written in place.
    """
    if staged_from is not None:
        return _run_baseline(screening, cfg, overwrite, rasters, products, execution, progress, inputs, invocation,
                             staged_from)  # fmt: skip
    inputs_named = [("screening", screening), *_baseline_input_files(cfg)]
    check_not_input(cfg.output, inputs_named)
    check_baseline_targets(cfg.output, overwrite, inputs=inputs_named)  # fail before the work, not after
    with guard([cfg.output], wait_lock, also=[csv_folder(cfg.output)]), disk_errors(Path(cfg.output).parent):
        return _run_baseline(screening, cfg, overwrite, rasters, products, execution, progress, inputs, invocation)


def _baseline_input_files(cfg: BaselineConfig) -> list[tuple[str, Any]]:
    return [
        ("regions file", cfg.regions.path if cfg.regions is not None else None),
        ("deliveries file", cfg.deliveries.path if cfg.deliveries is not None else None),
        ("previous screening", cfg.previous),
    ]


def _run_baseline(
    screening, cfg, overwrite, rasters, products, execution, progress, inputs, invocation, staged_from=None
):
    started = time.time()
    check_baseline_targets(cfg.output, overwrite)
    inputs = inputs if inputs is not None else load_baseline_inputs(cfg)
    source = staged_from if staged_from is not None else screening
    plots, meta = read_screening(source)
    check_plots_columns(plots, str(screening))
    plots = _in_input_order(plots)  # the baseline does not depend on the screening's row order
    screened = stored_config(meta, str(screening))
    alerts = read_table(source, ALERTS_BY_MONTH)
    needs_product = cfg.ring_m is not None or (cfg.regions is not None and cfg.region_totals)
    left_out = ""
    if needs_product and not products:
        try:
            products = [_ring_product(screened, rasters, loss_years(plots.columns), screening)]
        except BaselineError as exc:
            if cfg.ring_m is not None or "region_totals" in cfg.model_fields_set:
                raise  # asked for: refused
            # region totals by default (with regions): the baseline without them, said loudly
            left_out = f"left out: {exc}"
            log.warning("%s; the region totals are left out", exc)
            cfg = cfg.model_copy(update={"region_totals": False})
            needs_product = False
    try:
        result = build_baseline(
            plots,
            screened.screening,
            cfg,
            inputs,
            products=products or (),
            execution=execution,
            progress=progress,
            source=str(screening),
            screening_created=meta.get(META_CREATED, ""),
            alerts=alerts,
            region_cache=RegionCache() if cfg.regions is not None and cfg.region_totals else None,
        )
    finally:
        close_datasets()
    if left_out:
        result.metadata["region_totals"] = left_out
    files: list[tuple[str, str | Path]] = [("screening", source)]
    for role, section in (("regions", cfg.regions), ("deliveries", cfg.deliveries)):
        if section is not None:
            files.append((role, section.path))
    if cfg.previous is not None:
        files.append(("previous screening", cfg.previous))
    rings = list(products or ())[:1] if needs_product else []
    result.metadata.update(provenance_keys(invocation, started, [*files, *product_files(rings)], rings))
    if staged_from is not None:  # the screening's record names it as it will be called
        records = json.loads(result.metadata["inputs"])
        for r in records:
            if r.get("role") == "screening":
                r["path"] = str(Path(r["path"]).with_name(Path(screening).name))
        result.metadata["inputs"] = json.dumps(records, ensure_ascii=False)
    given: dict[str, dict[str, str]] = {"baseline_plots": {}, "restoration_rings": {}}
    for name in [g for g in result.metadata.get("groupings", "").split("; ") if g and g != "(none)"]:
        given["baseline_plots"][name] = given["baseline_plots"][f"group_{name}"] = grouping_text(name)
    if "deliveries" in result.layers:
        own = [c for c in result.layers["deliveries"].columns if describe("deliveries", c, file="baseline") is None]
        given["deliveries"] = dict.fromkeys(own, DELIVERY_ATTRIBUTE)
    finish = gpkg_finish(result.layers, result.metadata, given=given, file="baseline")
    if staged_from is not None:
        staged = write_baseline(
            cfg.output, result.layers, result.metadata, overwrite=overwrite, finish=finish, publish=False
        )
        result.path = Path(cfg.output)
        return result, staged
    result.path = write_baseline(cfg.output, result.layers, result.metadata, overwrite=overwrite, finish=finish)
    return result


def _ring_product(screened: RunConfig, rasters: DatasetConfig | None, years: list[int], screening) -> Product:
    """The product the rings and the region totals are measured on: ``rasters`` when given, else
    the screening's primary one."""
    name, dataset = next(iter(screened.dataset_configs().items()))
    if rasters is not None:
        dataset = rasters if rasters.last_year is not None else rasters.model_copy(update={"last_year": max(years)})
        return open_product(name, dataset)
    try:
        return open_product(name, dataset)
    except RasterError as exc:
        raise BaselineError(
            f"{screening}: the rasters it was screened with are not at hand ({exc}); give "
            "--loss-year and --tree-cover for --ring-m and the region totals (or --no-region-totals)"
        ) from exc


def _in_input_order(frame):
    """A layer read back from a screening (written in location order) in input order, by
    ``source_row`` (rows of one plot keep their order)."""
    if "source_row" not in frame.columns:
        return frame
    return frame.iloc[np.argsort(frame["source_row"].to_numpy(), kind="stable")].reset_index(drop=True)


# --- Exports -------------------------------------------------------------------------------------


def run_export(
    screening: str | Path, cfg: ExportConfig, *, overwrite: bool = False, locked: bool = False, wait_lock: float = 0.0
) -> ExportResult:
    """Export a screening GeoPackage to ``cfg.format`` at ``cfg.out`` (atomically; ``locked``: the
    caller holds the output's lock, else it is taken here)."""
    check_export_target(cfg.out, cfg.format, overwrite, inputs=[("screening", screening)])  # before the work
    if locked:
        return _run_export(screening, cfg, overwrite)
    with guard([cfg.out], wait_lock), disk_errors(Path(cfg.out).parent):
        return _run_export(screening, cfg, overwrite)


def _run_export(screening: str | Path, cfg: ExportConfig, overwrite: bool) -> ExportResult:
    if cfg.format == "eudr":
        plots, _ = read_screening(screening)
        plots = _in_input_order(plots)
        columns = eudr_columns(plots.columns, cfg, str(screening))
        features, manifest = eudr_features(plots, cfg, columns)
        files, manifest = split_files(features, manifest, int(cfg.max_file_mb * 1_000_000))
        path = write_eudr(cfg.out, files, manifest, overwrite=overwrite)
        return ExportResult(path, cfg.format, int(manifest["file"].ne("").sum()), list(files), manifest)
    frame = select_rows(_in_input_order(read_layer(screening, cfg.layer)), chosen_statuses(cfg))
    path = write_table(frame, cfg.out, cfg.format, wkt=cfg.wkt, overwrite=overwrite)
    return ExportResult(path, cfg.format, len(frame))


# --- The report ----------------------------------------------------------------------------------


def run_report(
    screening: str | Path,
    cfg: ReportConfig,
    *,
    baseline: str | Path | None = None,
    overwrite: bool = False,
    progress: bool = False,
    locked: bool = False,
    wait_lock: float = 0.0,
) -> Path:
    """Write the HTML report of a screening (and its baseline) to ``cfg.out``; return its path."""
    named = [("screening", screening), ("baseline", baseline)]
    check_report_target(cfg.out, overwrite, inputs=named)  # fail before the work, not after
    if not locked:
        with guard([cfg.out], wait_lock, also=[pages_folder(cfg.out)]), disk_errors(Path(cfg.out).parent):
            return run_report(screening, cfg, baseline=baseline, overwrite=overwrite, progress=progress, locked=True)
    plots, meta = read_screening(screening)
    plots = _in_input_order(plots)
    layers, baseline_meta = read_baseline(baseline) if baseline is not None else (None, None)
    export = None
    if cfg.eudr is not None:  # named from the report's folder, as a link from it would be
        export = (os.path.relpath(cfg.eudr, Path(cfg.out).resolve().parent), read_manifest(cfg.eudr))
    issues = read_table(screening, "plot_issues")
    data = build_report(plots, meta, cfg, layers, baseline_meta, issues=issues, export=export)
    separate = len(plots) > cfg.inline_max_plots
    index, pages = render(data, separate_pages=separate, pages_folder=pages_folder(cfg.out).name, progress=progress)
    return write_report(cfg.out, index, pages, overwrite=overwrite)


# --- Validation and tiles ------------------------------------------------------------------------


def run_validate(
    plots_cfg: PlotsConfig,
    qc: QCConfig,
    *,
    bounds: tuple[float, float, float, float] | None = None,
    out: Path | None = None,
    overwrite: bool = False,
    invocation: Invocation = Invocation(),
    wait_lock: float = 0.0,
) -> ValidationResult:
    """Quality control alone: read the plots, check them, write the findings to ``out`` (.gpkg or .csv)."""
    if out is None:
        return _run_validate(plots_cfg, qc, bounds, out, overwrite, invocation)
    check_target(out, overwrite, inputs=[("plots file", plots_cfg.path)], suffixes=(".gpkg", ".csv"))
    with guard([out], wait_lock), disk_errors(Path(out).parent):
        return _run_validate(plots_cfg, qc, bounds, out, overwrite, invocation)


def _run_validate(plots_cfg, qc, bounds, out, overwrite, invocation) -> ValidationResult:
    started = time.time()
    plots = read_plots(plots_cfg)
    result = validate_plots(plots, qc, coverage_bounds=bounds)
    result.metadata = {
        META_GENERATOR: f"cacao-screen {__version__} validate",
        "plots_path": str(Path(plots_cfg.path).resolve()),
        "plots_crs": str(plots.attrs.get("source_crs", "")),
        "plots_in": str(len(plots)),
        "plots_out": str(len(result.plots)),
        **{f"qc_{k}": str(v) for k, v in qc.model_dump().items()},
    }
    if out is not None:
        result.metadata.update(provenance_keys(invocation, started, [("plots", plots_cfg.path)], []))
        issues = result.issues[list(ISSUE_COLUMNS)]
        attrs = [c for c in plots.columns if c not in ("plot_id", "source_row", plots.geometry.name)]
        finish = gpkg_finish(
            {"plots": result.plots, "plot_issues": issues},
            result.metadata,
            given={"plots": dict.fromkeys(attrs, INPUT_ATTRIBUTE)},
        )
        write_validation(out, result.plots, issues, result.metadata, overwrite=overwrite, finish=finish)
    return result


def run_fetch_tiles(
    plots_cfg: PlotsConfig,
    *,
    version: str,
    layers: list[str],
    dest: Path,
    base_url: str | None = None,
    retries: int = 5,
    progress: bool = False,
    dry_run: bool = False,
    product: str = "hansen",
    api_key: str | None = None,
    url_template: str | None = None,
) -> tuple[int, list[Any]]:
    """Download the tiles under the plots: (number of tiles, one result per file).

    ``product`` ``hansen`` (``layers`` of release ``version``), or a GFW alert product
    (``gfw_integrated``...: its ``date_conf`` tiles of ``version``, ``latest`` by default), or any
    product at ``url_template`` (``{tile}`` = ``10S_080W``)."""
    import shapely

    from .io.fetch import fetch_alert_tiles, fetch_hansen_tiles
    from .io.tiles import tiles_for_bounds
    from .stages.qc.geometry import locatable

    plots = read_plots(plots_cfg)
    geoms = plots.geometry.to_numpy()
    bounds = shapely.bounds(geoms[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))])
    placed = locatable(bounds)  # no tiles for coordinates off the globe or across the antimeridian
    if not placed.all():
        log.warning(
            "%s: %d plot(s) out of longitude/latitude range, not finite, or across the antimeridian: "
            "no tiles fetched for them (cacao-screen validate says which)",
            plots_cfg.path,
            int((~placed).sum()),
        )
    bounds = bounds[placed]
    if product != "hansen" or url_template is not None:
        alerts = fetch_alert_tiles(
            bounds,
            product=product,
            version=version,
            dest=dest,
            api_key=api_key,
            base_url=base_url,
            url_template=url_template,
            retries=retries,
            progress=progress,
            dry_run=dry_run,
        )
        return len(tiles_for_bounds(bounds)), alerts
    results = fetch_hansen_tiles(
        bounds,
        version=version,
        layers=layers,
        dest=dest,
        base_url=base_url,
        retries=retries,
        progress=progress,
        dry_run=dry_run,
    )
    return len(tiles_for_bounds(bounds)), results
