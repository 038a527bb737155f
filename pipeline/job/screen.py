"""The screening job (``cacao-screen run`` and ``screen``): check the destinations, open the loss
products, read the plots, screen them in chunks (:mod:`.streaming`), write ``screening.gpkg``
atomically, and build what the config asks for from it: the baseline (published together with
the screening), the exports and the report."""

from __future__ import annotations

import logging
import shutil
import tempfile
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from .. import __version__
from ..config import (
    AlertDatasetConfig,
    ClassMapDatasetConfig,
    DatasetConfig,
    QCConfig,
    RunConfig,
    ScreeningConfig,
)
from ..engine.overlay import OverlayLayer
from ..engine.schedulers import cluster
from ..errors import ConfigError, PlotsError
from ..i18n import tr
from ..io.alerts import AlertProduct, open_alert_product
from ..io.class_maps import ClassMap, open_class_map_config
from ..io.fieldpack import read_patches, read_reviews
from ..io.gpkg import Finish, StagedBaseline, check_baseline_targets, check_target, csv_folder, read_previous
from ..io.outputs import Staged, check_not_input, deferred_signals, disk_errors, guard, make_folder, temp_prefix
from ..io.overlays import read_overlay
from ..io.plots import PlotStream, open_plots
from ..io.rasters import Product, close_datasets, open_product
from ..stages.columns import INPUT_ATTRIBUTE
from ..stages.cutoff import forest_rule_text, rule_maps
from ..stages.overlays import overlays_metadata
from ..stages.qc.checks import DECLARED_AREA_COLUMNS, declared_areas
from ..stages.reuse import verified_previous
from ..stages.reviews import latest_reviews
from ..stages.screening import add_total, forest_text
from ..vocab import INVALID, META_CONFIG, META_CREATED, META_GENERATOR, META_REFERENCE_YEAR, NOT_ASSESSED, STATUSES
from .common import Invocation, Phases, gpkg_finish, now_utc, product_files, provenance_keys
from .streaming import StreamJob, StreamTotals, screen_in_chunks

# The baseline, the exports and the report are imported where a job asks for them: a screening
# alone does not load their code (nor matplotlib), which is most of a small run's start-up.
if TYPE_CHECKING:
    from ..stages.baseline import BaselineInputs, BaselineResult
    from ..stages.export import ExportResult

log = logging.getLogger(__name__)

#: Rows read from the plots file at a time.
BATCH_ROWS = 16_384


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
    baseline: BaselineResult | None = None  # when the job asks for one
    alert_products: list[str] = field(default_factory=list)
    alerts: dict[str, list[float]] = field(default_factory=dict)  # per alert product: see alert_summary
    overlays: dict[str, list[float]] = field(default_factory=dict)  # per overlay: plots overlapping, ha, made review
    exports: list[ExportResult] = field(default_factory=list)  # one per export
    report: Path | None = None  # the report's path, when the job writes one
    rejected: int = 0  # stored rows of the previous output that failed the integrity check (incremental)
    not_assessed_reasons: dict[str, int] = field(default_factory=dict)  # status_reason -> plots, of not_assessed
    max_not_assessed_pct: float = 100.0

    def not_assessed(self) -> tuple[int, int]:
        """``not_assessed`` plots, and the plots that could have been assessed (all but ``invalid``)."""
        plots = self.summary()["plots"]
        return int(plots[NOT_ASSESSED]), int(plots["total"] - plots[INVALID])

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


@dataclass(frozen=True)
class _Job:
    """A screening job under way."""

    cfg: RunConfig
    progress: bool
    invocation: Invocation
    started: float
    phases: Phases
    overwrite: bool  # an incremental run replaces its output too


@dataclass(frozen=True)
class _Opened:
    """A job's inputs, opened and checked."""

    products: list[Product | AlertProduct | ClassMap]
    stream: PlotStream
    previous: pd.DataFrame | None
    rejected: int
    baseline_inputs: BaselineInputs | None
    previous_patches: pd.DataFrame | None = None
    reviews: pd.DataFrame | None = None
    overlays: tuple[OverlayLayer, ...] = ()  # read and repaired before the work


def run(cfg: RunConfig, *, progress: bool = False, invocation: Invocation = Invocation()) -> JobResult:
    """The whole job of a validated config: read, screen, write ``cfg.output.path`` atomically
    (and the baseline, the exports and the report the config asks for).

    Every destination is checked before the work, and locked for the whole job. The screening runs
    in bounded memory (:func:`.streaming.screen_in_chunks`); the screening and its baseline are
    written under temporary names and published together."""
    job = _Job(cfg, progress, invocation, time.time(), Phases(), cfg.output.overwrite or cfg.output.incremental)
    targets = check_job_targets(cfg, job_inputs(cfg, invocation), job.overwrite)  # fail before the work
    folders = [csv_folder(cfg.baseline.output)] if cfg.baseline is not None else []
    if cfg.report is not None:
        from ..io.report import pages_folder

        folders.append(pages_folder(cfg.report.out))
    with guard(targets, cfg.output.wait_lock, also=folders):  # no other run writes these outputs meanwhile
        with job.phases("open inputs"):
            opened = _open_inputs(cfg)
        result = _screen_and_publish(job, opened)
        result.rejected = opened.rejected
        _exports_and_report(job, result)
    result.max_not_assessed_pct = cfg.screening.max_not_assessed_pct
    result.phases = dict(job.phases.seconds)
    job.phases.report(time.time() - job.started)
    return result


def open_products(
    datasets: Mapping[str, DatasetConfig],
    alerts: Mapping[str, AlertDatasetConfig],
    class_maps: Mapping[str, ClassMapDatasetConfig],
    screening: ScreeningConfig,
) -> list[Product | AlertProduct | ClassMap]:
    """Open and check every configured product (``RunConfig.dataset_configs()``, ``alert_configs()``,
    ``class_map_configs()``): the loss products, the primary first, then the alert products, then
    the maps of the cut-off day, checked against ``screening`` (reference year, forest rule)."""
    products: list[Product | AlertProduct] = []
    for name, ds in datasets.items():
        p = open_product(name, ds)
        for note in p.notes:
            log.info("%s: %s", name, note)
        if screening.reference_year >= p.last_year:
            raise ConfigError(
                tr(
                    "{name}: the reference year {year} is not before the product's last loss year {last}: "
                    "nothing after it could be seen",
                    name=name,
                    year=screening.reference_year,
                    last=p.last_year,
                )
            )
        products.append(p)
    for name, alert_ds in alerts.items():
        a = open_alert_product(name, alert_ds)
        for note in a.notes:
            log.info("%s: %s", name, note)
        products.append(a)
    maps = [open_class_map_config(name, ds) for name, ds in class_maps.items()]
    for m in maps:
        for note in m.notes:
            log.info("%s: %s", m.name, note)
    try:
        rule_maps(maps, screening, strict=True)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    return [*products, *maps]


def forest_rule_meta(s, maps: list[ClassMap]) -> dict[str, str]:
    """The forest rule for the metadata: in words (``forest_at_cutoff``, in the language in use), and
    as its parts (``forest_at_cutoff_rule``, ``forest_at_cutoff_maps``) for a report in another."""
    names = ", ".join(m.name for m in rule_maps(maps, s))
    rule = s.forest_at_cutoff.rule
    return {
        "forest_at_cutoff": forest_rule_text(s.reference_year, rule, names),
        "forest_at_cutoff_rule": rule,
        "forest_at_cutoff_maps": names,
    }


def established_name(columns: list[str], column: str | None, path) -> str | None:
    """The plots' establishment column (``plots.established_column``), checked to exist."""
    if column is not None and column not in columns:
        raise PlotsError(
            tr(
                "{path}: no column {column!r} (plots.established_column); the columns are: {columns}",
                path=path,
                column=column,
                columns=", ".join(columns) or "none",
            )
        )
    return column


def _open_inputs(cfg: RunConfig) -> _Opened:
    """The baseline's inputs, the products, the plots (opened), the previous output (incremental)."""
    baseline_inputs = None
    if cfg.baseline is not None:
        from .baseline import load_baseline_inputs

        baseline_inputs = load_baseline_inputs(cfg.baseline)
    products = open_products(cfg.dataset_configs(), cfg.alert_configs(), cfg.class_map_configs(), cfg.screening)
    out = Path(cfg.output.path)
    check_not_input(out, [(f"{role} raster", path) for role, path in product_files(products)])
    stream = open_plots(cfg.plots, batch_size=BATCH_ROWS, keep=_qc_columns(cfg.qc))
    declared_areas(pd.DataFrame(columns=stream.columns), cfg.qc.declared_area_column)  # a named column exists
    established_name(stream.columns, cfg.plots.established_column, stream.path)
    previous, rejected, previous_patches = None, 0, None
    if cfg.output.incremental:
        loss_products = [p for p in products if isinstance(p, Product)]
        previous, rejected = verified_previous(read_previous(out), loss_products, str(out))
        previous_patches = read_patches(out) if previous is not None else None
    reviews = latest_reviews(read_reviews(cfg.reviews)) if cfg.reviews is not None else None
    overlays = tuple(read_overlay(o) for o in cfg.overlays)
    return _Opened(
        products, stream, previous, rejected, baseline_inputs, overlays=overlays,
        previous_patches=previous_patches, reviews=reviews,
    )  # fmt: skip


def _screen_and_publish(job: _Job, opened: _Opened) -> JobResult:
    """Screen into a temporary GeoPackage, build the baseline from it, publish both together; on
    any failure or interruption, nothing is left behind."""
    cfg, out = job.cfg, Path(job.cfg.output.path)
    make_folder(out.parent)
    staging: Path | None = None
    screening_file: Staged | None = None
    baseline_staged: StagedBaseline | None = None
    try:
        with deferred_signals():  # a signal right after the folders are made still finds them removed
            staging = Path(tempfile.mkdtemp(prefix=temp_prefix(out), suffix=".tmp-work", dir=out.parent))
            screening_file = Staged(out, job.overwrite)
        with screening_file, disk_errors(out.parent):
            with cluster(cfg.execution.scheduler) as client:
                stream_job = StreamJob(
                    cfg, opened.products, opened.stream, opened.previous, staging, client, job.progress,
                    job.overwrite, screening_file, opened.overlays,
                    previous_patches=opened.previous_patches, reviews=opened.reviews,
                )  # fmt: skip
                result = _screen(job, stream_job)
            close_datasets()
            shutil.rmtree(staging, ignore_errors=True)
            staging = None
            if cfg.baseline is not None:
                from .baseline import BaselineSources, stage_baseline

                with job.phases("baseline"), disk_errors(Path(cfg.baseline.output).parent):
                    sources = BaselineSources(
                        products=tuple(p for p in opened.products if not isinstance(p, ClassMap)),
                        inputs=opened.baseline_inputs,
                    )
                    result.baseline, baseline_staged = stage_baseline(
                        out, screening_file.tmp, cfg.baseline, overwrite=job.overwrite, sources=sources,
                        execution=cfg.execution, progress=job.progress, invocation=job.invocation,
                    )  # fmt: skip
            with deferred_signals():  # both published together, once both are complete
                screening_file.publish()
                if baseline_staged is not None:
                    baseline_staged.publish()
    finally:
        close_datasets()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)
        if screening_file is not None and not screening_file.published:
            screening_file.discard()
        if baseline_staged is not None:
            baseline_staged.discard()
    return result


@dataclass
class _Finishing:
    """The screening's metadata and the last step of writing it, once the chunks are screened
    (kept: the job's result carries the metadata)."""

    job: _Job
    stream_job: StreamJob
    metadata: dict[str, str] = field(default_factory=dict)

    def __call__(self, totals: StreamTotals) -> tuple[dict[str, str], Finish]:
        cfg, every, started = self.job.cfg, self.stream_job.products, self.job.started
        meta = screening_metadata(cfg, every, self.stream_job.stream, totals, started)
        files: list[tuple[str, str | Path]] = [("plots", cfg.plots.path), *product_files(every, used=totals.tiles)]
        if cfg.reviews is not None:
            files.append(("reviews", cfg.reviews))
        files += [(f"overlay {o.name}", o.source) for o in self.stream_job.overlays]
        meta.update(provenance_keys(self.job.invocation, started, files, every))
        if self.stream_job.overlays:
            meta["overlays"] = overlays_metadata(self.stream_job.overlays)
        attrs = totals.layer_columns.get("plots", [])[2 : 2 + len(self.stream_job.stream.columns)]  # as written
        step = gpkg_finish(
            {name: pd.DataFrame(columns=cols) for name, cols in totals.layer_columns.items()},
            meta,
            tuple(p.name for p in every) if len(every) > 1 else (),
            {"plots": dict.fromkeys(attrs, INPUT_ATTRIBUTE)},
            empty_geometries=False,  # written as NULL (io.gpkg.output_wkb)
        )
        self.metadata = meta
        return meta, step


def _screen(job: _Job, stream_job: StreamJob) -> JobResult:
    """The screening written (not yet published), and what it found."""
    finishing = _Finishing(job, stream_job)
    totals = screen_in_chunks(stream_job, job.phases, finishing)
    return JobResult(
        Path(job.cfg.output.path),
        plots_in=totals.plots_in,
        plots_out=totals.plots_out,
        reused=totals.reused,
        statuses=totals.statuses,
        issue_counts=pd.Series(totals.issues, dtype="int64").sort_index(),
        metadata=finishing.metadata,
        alert_products=[p.name for p in stream_job.products if isinstance(p, AlertProduct)],
        alerts=totals.alerts,
        overlays=totals.overlays,
        not_assessed_reasons=dict(totals.reasons),
    )


def _exports_and_report(job: _Job, result: JobResult) -> None:
    """The exports and the report the config asks for, from the published screening."""
    cfg, out = job.cfg, Path(job.cfg.output.path)
    if cfg.exports:
        from .export import run_export

        with job.phases("exports"):
            result.exports = []
            for export in cfg.exports:
                with disk_errors(Path(export.out).parent):
                    result.exports.append(run_export(out, export, overwrite=job.overwrite, locked=True))
    if cfg.report is not None:
        from .report import run_report

        with job.phases("report"), disk_errors(Path(cfg.report.out).parent):
            baseline = cfg.baseline.output if cfg.baseline is not None else None
            eudr = next((e.out for e in cfg.exports if e.format == "eudr"), None)  # the panel shows its outcome
            report_cfg = cfg.report if eudr is None else cfg.report.model_copy(update={"eudr": eudr})
            result.report = run_report(
                out, report_cfg, baseline=baseline, overwrite=job.overwrite, progress=job.progress, locked=True
            )


def screening_metadata(
    cfg: RunConfig,
    every: Sequence[Product | AlertProduct | ClassMap],
    stream: PlotStream,
    totals: StreamTotals,
    started: float,
) -> dict[str, str]:
    """The ``run_metadata`` of a screening: what a reader needs to trust and reproduce it, and the
    effective configuration (:data:`~pipeline.vocab.META_CONFIG`) that later steps read back."""
    s = cfg.screening
    products = [p for p in every if isinstance(p, Product)]
    alerts = [p for p in every if isinstance(p, AlertProduct)]
    meta = {
        META_GENERATOR: f"cacao-screen {__version__}",
        META_CREATED: now_utc(),
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
    maps = [p for p in every if isinstance(p, ClassMap)]
    for m in maps:
        meta[f"{m.name}_map_raster"] = m.layer.source
        meta[f"{m.name}_product_kind"] = m.describe()
    if maps:
        meta.update(forest_rule_meta(s, maps))
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
            "plots_in": str(totals.plots_in),
            "plots_out": str(totals.plots_out),
            "plots_reused": str(totals.reused),
            "plots_crs": str(stream.source_crs),
            **{f"qc_{k}": str(v) for k, v in cfg.qc.model_dump().items()},
            "elapsed_s": f"{time.time() - started:.1f}",
            META_CONFIG: cfg.model_dump_json(),
        }
    )
    return meta


def job_inputs(cfg: RunConfig, invocation: Invocation = Invocation()) -> list[tuple[str, str | Path | None]]:
    """(role, path) of every input file or folder of tiles of a job that is named in its config (an
    output folder must neither be nor hold one; the tiles of a glob are checked once the products
    are open)."""
    inputs: list[tuple[str, str | Path | None]] = [
        ("plots file", cfg.plots.path),
        ("config file", invocation.config_path),
    ]
    for name, ds in {**cfg.dataset_configs(), **cfg.alert_configs()}.items():
        for role in ("loss_year", "tree_cover", "datamask", "forest_mask", "alerts", "confidence_layer"):
            spec = getattr(ds, role, None)
            for one in spec if isinstance(spec, (list, tuple)) else [spec]:
                if one is not None and Path(str(one)).exists():
                    inputs.append((f"{name} {role.replace('_', ' ')} raster", str(one)))
    inputs += [(f"overlay {o.name} file", o.file) for o in cfg.overlays]
    if cfg.baseline is not None:
        b = cfg.baseline
        inputs += [
            ("regions file", b.regions.path if b.regions is not None else None),
            ("deliveries file", b.deliveries.path if b.deliveries is not None else None),
            ("previous screening", b.previous),
        ]
    if cfg.reviews is not None:
        inputs.append(("review log", cfg.reviews))
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
    if cfg.exports:
        from ..io.export import check_export_target
    for export in cfg.exports:
        check_export_target(export.out, export.format, overwrite, inputs=[*inputs, ("screening output", out)])
        targets.append(Path(export.out))
    if cfg.report is not None:
        from ..io.report import check_report_target

        check_report_target(cfg.report.out, overwrite, inputs=[*inputs, ("screening output", out)])
        targets.append(Path(cfg.report.out))
    return targets


def _qc_columns(qc: QCConfig) -> tuple[str, ...]:
    """The attribute columns quality control reads (the declared area)."""
    named = (qc.declared_area_column,) if qc.declared_area_column else ()
    return (*DECLARED_AREA_COLUMNS, *named)
