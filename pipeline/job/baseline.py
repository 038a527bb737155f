"""The baseline job (``cacao-screen baseline``, and the last step of a screening job whose config
has a ``baseline`` section): read a screening back, build every baseline layer from frames,
write ``baseline.gpkg``."""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import pandas as pd

from ..config import BaselineConfig, DatasetConfig, ExecutionConfig, RunConfig
from ..errors import BaselineError, RasterError, RegionsError
from ..i18n import tr
from ..io.alerts import AlertProduct
from ..io.deliveries import read_deliveries
from ..io.gpkg import (
    Finish,
    StagedBaseline,
    check_baseline_targets,
    csv_folder,
    write_baseline,
)
from ..io.outputs import check_not_input, disk_errors, guard
from ..io.rasters import Product, close_datasets, open_product
from ..io.region_cache import RegionCache
from ..io.regions import read_regions
from ..io.screenings import read_screening, read_table
from ..stages.baseline import BaselineInputs, BaselineMeasure, BaselineResult, ScreeningRead, build_baseline
from ..stages.baseline.periods import check_plots_columns, loss_years
from ..stages.baseline.regions import prepare_regions
from ..stages.baseline.supply import parse_deliveries
from ..stages.columns import DELIVERY_ATTRIBUTE, describe, grouping_text
from ..vocab import ALERTS_BY_MONTH, META_CONFIG, META_CREATED
from .common import Invocation, gpkg_finish, in_input_order, product_files, provenance_keys

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BaselineSources:
    """What the baseline is measured with besides the screening: the job's own ``products`` (a
    screening job's), or ``rasters`` (the ring product given on the command line), else the
    primary product the screening was run with; and its optional ``inputs`` when already read."""

    rasters: DatasetConfig | None = None
    products: tuple[Product | AlertProduct, ...] = ()
    inputs: BaselineInputs | None = None


@dataclass(frozen=True)
class _BaselineJob:
    screening: str | Path  # the screening, as it is named (and will be, when staged)
    source: str | Path  # where it is read from (its temporary name when staged)
    cfg: BaselineConfig
    sources: BaselineSources
    execution: ExecutionConfig
    progress: bool
    invocation: Invocation
    overwrite: bool


def run_baseline(
    screening: str | Path,
    cfg: BaselineConfig,
    *,
    overwrite: bool = False,
    sources: BaselineSources = BaselineSources(),
    execution: ExecutionConfig = ExecutionConfig(),
    progress: bool = False,
    invocation: Invocation = Invocation(),
    wait_lock: float = 0.0,
) -> BaselineResult:
    """Read ``screening``, build every baseline layer, write ``cfg.output``; return the result.

    The screening's parameters (reference year, forest definition) are read from its stored
    configuration. The rings (``cfg.ring_m``) are measured on the products of ``sources`` (see
    :class:`BaselineSources`). The baseline's outputs are locked (``wait_lock``: seconds to wait
    for another run) and written in place."""
    inputs_named = [("screening", screening), *_baseline_input_files(cfg)]
    check_not_input(cfg.output, inputs_named)
    check_baseline_targets(cfg.output, overwrite, inputs=inputs_named)  # fail before the work, not after
    job = _BaselineJob(screening, screening, cfg, sources, execution, progress, invocation, overwrite)
    with guard([cfg.output], wait_lock, also=[csv_folder(cfg.output)]), disk_errors(Path(cfg.output).parent):
        result, finish = _build(job)
        written = write_baseline(cfg.output, result.layers, result.metadata, overwrite=overwrite, finish=finish)
        result.path = cast(Path, written)  # published: its path
    return result


def stage_baseline(
    screening: str | Path,
    staged_from: Path,
    cfg: BaselineConfig,
    *,
    overwrite: bool,
    sources: BaselineSources,
    execution: ExecutionConfig,
    progress: bool,
    invocation: Invocation,
) -> tuple[BaselineResult, StagedBaseline]:
    """The baseline of a screening still under the temporary name ``staged_from`` (a screening
    job publishes both together): written under temporary names too, returned with them for the
    job to publish. The caller holds the outputs' locks."""
    job = _BaselineJob(screening, staged_from, cfg, sources, execution, progress, invocation, overwrite)
    result, finish = _build(job)
    staged = write_baseline(
        cfg.output, result.layers, result.metadata, overwrite=overwrite, finish=finish, publish=False
    )
    result.path = Path(cfg.output)
    return result, cast(StagedBaseline, staged)  # publish=False: the staged files


def load_baseline_inputs(cfg: BaselineConfig) -> BaselineInputs:
    """Read and check the baseline's optional inputs (regions, deliveries, a previous screening)."""
    regions = None
    if cfg.regions is not None:
        raw = read_regions(cfg.regions)
        regions = prepare_regions(raw.ids, raw.names, raw.geoms, source=raw.source)
        if regions.repaired_ids:
            log.warning(
                tr(
                    "{path}: {n} invalid region geometr(ies) repaired with make_valid: {ids}",
                    path=raw.source,
                    n=len(regions.repaired_ids),
                    ids=", ".join(regions.repaired_ids[:20]),
                )
            )
        if regions.dropped_ids:
            log.warning(
                tr(
                    "{path}: {n} region(s) without a usable geometry (they can hold no plot): {ids}",
                    path=raw.source,
                    n=len(regions.dropped_ids),
                    ids=", ".join(regions.dropped_ids[:20]),
                )
            )
        if len(regions) == 0:
            raise RegionsError(tr("{source}: no region has a usable geometry", source=raw.source))
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


def _baseline_input_files(cfg: BaselineConfig) -> list[tuple[str, Any]]:
    return [
        ("regions file", cfg.regions.path if cfg.regions is not None else None),
        ("deliveries file", cfg.deliveries.path if cfg.deliveries is not None else None),
        ("previous screening", cfg.previous),
    ]


def _build(job: _BaselineJob) -> tuple[BaselineResult, Finish]:
    """The baseline's layers and metadata, and the last step of writing them."""
    started = time.time()
    cfg = job.cfg
    check_baseline_targets(cfg.output, job.overwrite)
    inputs = job.sources.inputs if job.sources.inputs is not None else load_baseline_inputs(cfg)
    plots, meta = read_screening(job.source)
    check_plots_columns(plots, str(job.screening))
    plots = in_input_order(plots)  # the baseline does not depend on the screening's row order
    screened = stored_config(meta, str(job.screening))
    cfg, products, left_out = _ring_products(job, screened, plots)
    try:
        region_cache = RegionCache() if cfg.regions is not None and cfg.region_totals else None
        measure = BaselineMeasure(products, job.execution, job.progress, region_cache)
        read = ScreeningRead(str(job.screening), meta.get(META_CREATED, ""), read_table(job.source, ALERTS_BY_MONTH))
        result = build_baseline(plots, screened.screening, cfg, inputs, measure=measure, read=read)
    finally:
        close_datasets()
    if left_out:
        result.metadata["region_totals"] = left_out
    rings = list(products)[:1] if _needs_product(cfg) else []
    result.metadata.update(provenance_keys(job.invocation, started, [*_files(job), *product_files(rings)], rings))
    if job.source != job.screening:  # staged: the screening's record names it as it will be called
        result.metadata["inputs"] = _renamed_screening(result.metadata["inputs"], Path(job.screening).name)
    return result, gpkg_finish(result.layers, result.metadata, given=_given(result), file="baseline")


def _needs_product(cfg: BaselineConfig) -> bool:
    return cfg.ring_m is not None or (cfg.regions is not None and cfg.region_totals)


def _ring_products(
    job: _BaselineJob, screened: RunConfig, plots: pd.DataFrame
) -> tuple[BaselineConfig, tuple[Product, ...], str]:
    """The loss products the rings and region totals are measured on (the primary first), and the
    baseline's config: without the region totals (and why, the third value) when they were not
    asked for and cannot be had."""
    cfg = job.cfg
    products = tuple(p for p in job.sources.products if isinstance(p, Product))  # the screening's alerts aside
    if not _needs_product(cfg) or products:
        return cfg, products, ""
    try:
        return cfg, (_ring_product(screened, job.sources.rasters, loss_years(plots.columns), job.screening),), ""
    except BaselineError as exc:
        if cfg.ring_m is not None or "region_totals" in cfg.model_fields_set:
            raise  # asked for: refused
        # region totals by default (with regions): the baseline without them, said loudly
        log.warning(tr("{error}; the region totals are left out", error=exc))
        return cfg.model_copy(update={"region_totals": False}), (), tr("left out: {error}", error=exc)


def _files(job: _BaselineJob) -> list[tuple[str, str | Path]]:
    """(role, path) of the baseline's inputs, for its provenance."""
    files: list[tuple[str, str | Path]] = [("screening", job.source)]
    for role, section in (("regions", job.cfg.regions), ("deliveries", job.cfg.deliveries)):
        if section is not None:
            files.append((role, section.path))
    if job.cfg.previous is not None:
        files.append(("previous screening", job.cfg.previous))
    return files


def _renamed_screening(inputs: str, name: str) -> str:
    """The inputs' records (JSON) with the screening's path under its final ``name``."""
    records = json.loads(inputs)
    for r in records:
        if r.get("role") == "screening":
            r["path"] = str(Path(r["path"]).with_name(name))
    return json.dumps(records, ensure_ascii=False)


def _given(result: BaselineResult) -> dict[str, dict[str, str]]:
    """Descriptions of the columns the stages do not describe: the groupings, the deliveries' own."""
    given: dict[str, dict[str, str]] = {"baseline_plots": {}, "restoration_rings": {}}
    for name in [g for g in result.metadata.get("groupings", "").split("; ") if g and g != "(none)"]:
        given["baseline_plots"][name] = given["baseline_plots"][f"group_{name}"] = grouping_text(name)
    if "deliveries" in result.layers:
        own = [c for c in result.layers["deliveries"].columns if describe("deliveries", c, file="baseline") is None]
        given["deliveries"] = dict.fromkeys(own, DELIVERY_ATTRIBUTE)
    return given


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
            tr(
                "{screening}: the rasters it was screened with are not at hand ({error}); give "
                "--loss-year and --tree-cover for --ring-m and the region totals (or --no-region-totals)",
                screening=screening,
                error=exc,
            )
        ) from exc


def stored_config(meta: dict[str, str], source: str) -> RunConfig:
    """The configuration a screening was run with, parsed by the model that validated it."""
    text = meta.get(META_CONFIG)
    if not text:
        raise BaselineError(
            tr(
                "{source}: the screening stores no configuration (written by an older cacao-screen); "
                "screen the plots again with this version",
                source=source,
            )
        )
    try:
        return RunConfig.model_validate(json.loads(text))
    except ValueError as exc:
        raise BaselineError(
            tr("{source}: the screening's stored configuration cannot be read ({error})", source=source, error=exc)
        ) from exc
