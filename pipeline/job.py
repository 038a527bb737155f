"""Running a configured job: the only module that chains the stages with reading and writing.

* :func:`run` — a screening job (``cacao-screen run`` and ``screen``): check the destinations,
  open the loss products, read the plots, screen them, write ``screening.gpkg`` atomically, and
  build ``baseline.gpkg`` from it when the config has a ``baseline`` section;
* :func:`run_baseline` — the baseline from an existing screening (``cacao-screen baseline``);
* :func:`run_validate` — quality control alone (``cacao-screen validate``);
* :func:`run_fetch_tiles` — download the raster tiles under the plots (``cacao-screen fetch-tiles``).

Everything is checked before the work starts (destinations, inputs), so a bad input fails in a
second, not after an hour of screening.
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import partial
from pathlib import Path
from typing import Any

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
from .errors import BaselineError, ConfigError, OutputError, RasterError, RegionsError
from .io.alerts import AlertProduct, open_alert_product
from .io.deliveries import read_deliveries
from .io.export import check_export_target, read_layer, write_eudr, write_table
from .io.gpkg import (
    Finish,
    check_baseline_targets,
    check_target,
    read_previous,
    read_screening,
    read_table,
    write_baseline,
    write_screening,
    write_validation,
)
from .io.gpkg_style import enrich
from .io.plots import read_plots
from .io.provenance import input_records, product_version
from .io.raster_content import check_content
from .io.rasters import Product, close_datasets, open_product
from .io.regions import read_regions
from .io.report import check_report_target, pages_folder, read_baseline, render, write_report
from .stages.baseline import BaselineInputs, BaselineResult, build_baseline
from .stages.baseline.build import forest_text
from .stages.baseline.periods import check_plots_columns, loss_years
from .stages.baseline.regions import prepare_regions
from .stages.baseline.supply import parse_deliveries
from .stages.columns import DELIVERY_ATTRIBUTE, INPUT_ATTRIBUTE, describe, describe_layers, grouping_text
from .stages.export import ExportResult, chosen_statuses, eudr_columns, eudr_features, select_rows, split_files
from .stages.report import build_report
from .stages.screening import ScreenResult, screen_plots
from .stages.validation import ValidationResult, validate_plots
from .vocab import ALERTS_BY_MONTH, ISSUE_COLUMNS, META_CONFIG, META_CREATED, META_GENERATOR, META_REFERENCE_YEAR

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


def product_files(products: list[Product]) -> list[tuple[str, str]]:
    """(role, path) of every file of every product."""
    return [(f"{p.name} {role}", t.path) for p in products for role, layer in p.layers.items() for t in layer.tiles]


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
) -> Finish:
    """The last step of writing a GeoPackage (``file``: ``screening`` or ``baseline``): styles,
    column descriptions, provenance."""
    columns = {name: [c for c in frame.columns if c != getattr(frame, "_geometry_column_name", None)]
               for name, frame in layers.items()}  # fmt: skip
    columns["run_metadata"] = ["key", "value"]
    descriptions = describe_layers(columns, products, given, file)
    return partial(enrich, descriptions=descriptions, provenance=provenance_document(meta))


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


def run(cfg: RunConfig, *, progress: bool = False, invocation: Invocation = Invocation()) -> ScreenResult:
    """The whole job of a validated config: read, screen, write ``cfg.output.path`` atomically
    (and the baseline, when the config has a ``baseline`` section)."""
    started = time.time()
    overwrite = cfg.output.overwrite or cfg.output.incremental  # an incremental run replaces its output
    check_target(cfg.output.path, overwrite)  # fail before the work, not after
    for export in cfg.exports:
        check_export_target(export.out, export.format, overwrite)
    if cfg.report is not None:
        check_report_target(cfg.report.out, overwrite)
    baseline_inputs = None
    if cfg.baseline is not None:
        check_baseline_targets(cfg.baseline.output, overwrite)
        baseline_inputs = load_baseline_inputs(cfg.baseline)
    products = open_products(cfg)
    plots = read_plots(cfg.plots)
    for product in products:  # what the rasters hold, sampled under the plots (a mask as tree cover...)
        if isinstance(product, Product):
            check_content(product, plots.geometry.to_numpy())
    previous = read_previous(cfg.output.path) if cfg.output.incremental else None
    try:
        result = screen_plots(
            plots, products, cfg.screening, qc=cfg.qc, execution=cfg.execution, progress=progress, previous=previous
        )
    finally:
        close_datasets()
    if len(result.plots) != len(plots):  # the invariant the whole design protects
        raise RuntimeError(f"internal error: {len(plots)} plots in, {len(result.plots)} out")
    result.metadata = screening_metadata(cfg, products, plots, result, started)
    extra = {ALERTS_BY_MONTH: result.alerts_by_month} if result.alerts_by_month is not None else None
    result.metadata.update(
        provenance_keys(invocation, started, [("plots", cfg.plots.path), *product_files(products)], products)
    )
    attrs = [c for c in plots.columns if c not in ("plot_id", "source_row", plots.geometry.name)]
    layers = {"plots": result.plots, "loss_by_year": result.loss_by_year, "plot_issues": result.issues, **(extra or {})}
    finish = gpkg_finish(
        layers,
        result.metadata,
        tuple(p.name for p in products) if len(products) > 1 else (),
        {"plots": dict.fromkeys(attrs, INPUT_ATTRIBUTE)},
    )
    write_screening(
        cfg.output.path,
        result.plots,
        result.loss_by_year,
        result.issues,
        result.metadata,
        overwrite=overwrite,
        extra=extra,
        finish=finish,
    )
    if cfg.baseline is not None:
        result.baseline = run_baseline(
            cfg.output.path,
            cfg.baseline,
            overwrite=overwrite,
            products=products,
            execution=cfg.execution,
            progress=progress,
            inputs=baseline_inputs,
            invocation=invocation,
        )
    result.exports = [run_export(cfg.output.path, export, overwrite=overwrite) for export in cfg.exports]
    if cfg.report is not None:
        baseline = cfg.baseline.output if cfg.baseline is not None else None
        result.report = run_report(
            cfg.output.path, cfg.report, baseline=baseline, overwrite=overwrite, progress=progress
        )
    return result


def screening_metadata(
    cfg: RunConfig, every: list[Product | AlertProduct], plots, result: ScreenResult, started: float
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
            "plots_in": str(len(plots)),
            "plots_out": str(len(result.plots)),
            "plots_reused": str(result.reused),
            "plots_crs": str(plots.attrs.get("source_crs", "")),
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
) -> BaselineResult:
    """Read ``screening``, build every baseline layer, write ``cfg.output``; return the result.

    The screening's parameters (reference year, forest definition) are read from its stored
    configuration. The rings (``cfg.ring_m``) are measured on ``products`` (the job's own), on
    ``rasters`` when given, or else on the primary product the screening was run with.
    """
    started = time.time()
    check_baseline_targets(cfg.output, overwrite)  # fail before the work, not after
    inputs = inputs if inputs is not None else load_baseline_inputs(cfg)
    plots, meta = read_screening(screening)
    check_plots_columns(plots, str(screening))
    screened = stored_config(meta, str(screening))
    alerts = read_table(screening, ALERTS_BY_MONTH)
    if cfg.ring_m is not None and not products:
        products = [_ring_product(screened, rasters, loss_years(plots.columns), screening)]
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
        )
    finally:
        close_datasets()
    files: list[tuple[str, str | Path]] = [("screening", screening)]
    for role, section in (("regions", cfg.regions), ("deliveries", cfg.deliveries)):
        if section is not None:
            files.append((role, section.path))
    if cfg.previous is not None:
        files.append(("previous screening", cfg.previous))
    rings = list(products or ())[:1] if cfg.ring_m is not None else []
    result.metadata.update(provenance_keys(invocation, started, [*files, *product_files(rings)], rings))
    given: dict[str, dict[str, str]] = {"baseline_plots": {}, "restoration_rings": {}}
    for name in [g for g in result.metadata.get("groupings", "").split("; ") if g and g != "(none)"]:
        given["baseline_plots"][name] = given["baseline_plots"][f"group_{name}"] = grouping_text(name)
    if "deliveries" in result.layers:
        own = [c for c in result.layers["deliveries"].columns if describe("deliveries", c, file="baseline") is None]
        given["deliveries"] = dict.fromkeys(own, DELIVERY_ATTRIBUTE)
    finish = gpkg_finish(result.layers, result.metadata, given=given, file="baseline")
    result.path = write_baseline(cfg.output, result.layers, result.metadata, overwrite=overwrite, finish=finish)
    return result


def _ring_product(screened: RunConfig, rasters: DatasetConfig | None, years: list[int], screening) -> Product:
    """The product the rings are measured on: ``rasters`` when given, else the screening's primary one."""
    name, dataset = next(iter(screened.dataset_configs().items()))
    if rasters is not None:
        dataset = rasters if rasters.last_year is not None else rasters.model_copy(update={"last_year": max(years)})
        return open_product(name, dataset)
    try:
        return open_product(name, dataset)
    except RasterError as exc:
        raise BaselineError(
            f"{screening}: the rasters it was screened with are not at hand ({exc}); give "
            "--loss-year and --tree-cover for --ring-m"
        ) from exc


# --- Exports -------------------------------------------------------------------------------------


def run_export(screening: str | Path, cfg: ExportConfig, *, overwrite: bool = False) -> ExportResult:
    """Export a screening GeoPackage to ``cfg.format`` at ``cfg.out`` (atomically)."""
    check_export_target(cfg.out, cfg.format, overwrite)  # fail before the work, not after
    if cfg.format == "eudr":
        plots, _ = read_screening(screening)
        columns = eudr_columns(plots.columns, cfg, str(screening))
        features, manifest = eudr_features(plots, cfg, columns)
        files, manifest = split_files(features, manifest, int(cfg.max_file_mb * 1_000_000))
        path = write_eudr(cfg.out, files, manifest, overwrite=overwrite)
        return ExportResult(path, cfg.format, int(manifest["file"].ne("").sum()), list(files), manifest)
    frame = select_rows(read_layer(screening, cfg.layer), chosen_statuses(cfg))
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
) -> Path:
    """Write the HTML report of a screening (and its baseline) to ``cfg.out``; return its path."""
    check_report_target(cfg.out, overwrite)  # fail before the work, not after
    plots, meta = read_screening(screening)
    layers, baseline_meta = read_baseline(baseline) if baseline is not None else (None, None)
    data = build_report(plots, meta, cfg, layers, baseline_meta)
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
) -> ValidationResult:
    """Quality control alone: read the plots, check them, write the findings to ``out`` (.gpkg or .csv)."""
    if out is not None:
        if out.suffix.lower() not in (".gpkg", ".csv"):
            raise OutputError(f"{out}: the issues are written as .gpkg or .csv; choose one of these extensions")
        check_target(out, overwrite)
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
