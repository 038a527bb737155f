"""The export job (``cacao-screen export``, and a step of a screening job whose config lists
``exports``): a screening GeoPackage to CSV, GeoParquet, FlatGeobuf, GeoJSON or the EUDR folder."""

from __future__ import annotations

from pathlib import Path

from ..config import ExportConfig
from ..io.export import check_export_target, read_layer, write_eudr, write_table
from ..io.gpkg import read_screening
from ..io.outputs import disk_errors, guard
from ..stages.export import ExportResult, chosen_statuses, eudr_columns, eudr_features, select_rows, split_files
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
        plots, _ = read_screening(screening)
        plots = in_input_order(plots)
        columns = eudr_columns(plots.columns, cfg, str(screening))
        features, manifest = eudr_features(plots, cfg, columns)
        files, manifest = split_files(features, manifest, int(cfg.max_file_mb * 1_000_000))
        path = write_eudr(cfg.out, files, manifest, overwrite=overwrite)
        return ExportResult(path, cfg.format, int(manifest["file"].ne("").sum()), list(files), manifest)
    frame = select_rows(in_input_order(read_layer(screening, cfg.layer)), chosen_statuses(cfg))
    path = write_table(frame, cfg.out, cfg.format, wkt=cfg.wkt, overwrite=overwrite)
    return ExportResult(path, cfg.format, len(frame))
