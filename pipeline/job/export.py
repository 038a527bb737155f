"""The export job (``cacao-screen export``, and a step of a screening job whose config lists
``exports``): a screening GeoPackage to CSV, GeoParquet, FlatGeobuf, GeoJSON or the EUDR folder."""

from __future__ import annotations

import json
from pathlib import Path

from ..config import ExportConfig
from ..errors import OutputError
from ..i18n import tr
from ..io.export import Folder, check_export_target, read_layer, write_export
from ..io.outputs import disk_errors, guard
from ..io.provenance import provenance_digest
from ..io.screenings import read_screening
from ..stages.export import (
    ExportResult,
    OverlayEffect,
    chosen_statuses,
    declared_area_column,
    eudr_columns,
    eudr_features,
    file_totals,
    rfc7946_problems,
    select_rows,
    split_files,
)
from .common import in_input_order


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
        return _run_eudr(screening, cfg, overwrite)
    frame = select_rows(in_input_order(read_layer(screening, cfg.layer)), chosen_statuses(cfg))
    path = write_export(frame, cfg.out, cfg.format, overwrite=overwrite, wkt=cfg.wkt)
    return ExportResult(path, cfg.format, len(frame))


def _run_eudr(screening: str | Path, cfg: ExportConfig, overwrite: bool) -> ExportResult:
    """The EUDR folder: features and manifest (stages.eudr), files of at most ``max_file_mb``, each
    checked against strict RFC 7946 before anything is written, and the totals per file."""
    plots, meta = read_screening(screening)
    plots = in_input_order(plots)
    columns = eudr_columns(plots.columns, cfg, str(screening))
    declared = declared_area_column(list(plots.columns), _none(meta.get("qc_declared_area_column")))
    overlays = [OverlayEffect(o["name"], o["kind"], o["effect"]) for o in json.loads(meta.get("overlays") or "[]")]
    features, manifest = eudr_features(plots, cfg, columns, declared=declared, overlays=overlays)
    files, manifest = split_files(features, manifest, int(cfg.max_file_mb * 1_000_000))
    for name, text in files.items():
        problems = rfc7946_problems(text, cfg.decimals)
        if problems:  # pragma: no cover - a bug: never publish a file the EU system would refuse
            raise OutputError(
                tr(
                    "{name}: not strict RFC 7946 ({problems}); nothing written",
                    name=name,
                    problems="; ".join(problems[:3]),
                )
            )
    totals = file_totals(manifest, files)
    folder = Folder(files, {"manifest.csv": manifest, "totals.csv": totals})
    path = write_export(folder, cfg.out, "eudr", overwrite=overwrite)
    sent = int(manifest["file"].ne("").sum())
    digest = provenance_digest(meta)
    return ExportResult(path, cfg.format, sent, list(files), manifest, totals, columns.describe(), digest)


def _none(value: str | None) -> str | None:
    return None if value in (None, "", "None") else value
