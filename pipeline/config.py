"""The YAML run configuration, validated with pydantic. Nothing else in the package knows YAML.

Relative paths in a config file are resolved against the folder holding the file, so a scheduled
job gives the same result whatever its working directory. Unknown keys are errors (a typo must
not silently fall back to a default). Every default is documented on its field and in the README.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Optional

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from .errors import ConfigError


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PlotsConfig(_Strict):
    path: Path = Field(description="Plots file: GeoPackage, GeoJSON, Shapefile (or .zip), CSV, GeoParquet")
    layer: Optional[str] = Field(None, description="Layer to read (default: 'plots' if present, else the first)")
    id_column: str = Field("plot_id", description="Column holding the plot identifiers")
    crs: Optional[str] = Field(None, description="CRS of a file that has none (a CSV, a Shapefile without .prj), "
                                                 "e.g. EPSG:4326; a file declaring another CRS is refused")
    wkt_column: Optional[str] = Field(None, description="CSV/Parquet: column of WKT geometries (default: wkt, geometry...)")
    lat_column: Optional[str] = Field(None, description="CSV/Parquet: latitude column (default: latitude, lat, y...)")
    lon_column: Optional[str] = Field(None, description="CSV/Parquet: longitude column (default: longitude, lon, lng, x...)")


class RastersConfig(_Strict):
    loss_year: Path = Field(description="Hansen-style loss-year raster (0 = no loss, k = loss in 2000+k)")
    tree_cover: Path = Field(description="Tree cover in 2000 (canopy %, 0-100) on the same grid")
    last_year: int = Field(2024, ge=2001, le=2100,
                           description="Last loss year of the product (GFC-2024-v1.12: 2024); later values count as no data")


class ScreeningConfig(_Strict):
    reference_year: int = Field(2020, ge=2000, le=2100,
                                description="Loss after the end of this year is deforestation (EUDR: 2020)")
    canopy_threshold: float = Field(10.0, ge=0, lt=100,
                                    description="Forest = tree cover in 2000 above this % (FAO/EUDR: more than 10 %)")
    review_max_ha: float = Field(0.1, ge=0, description="Loss after the reference year up to this many ha gives 'review'")
    min_data_coverage_pct: float = Field(99.0, gt=0, le=100,
                                         description="Below this share of the plot over valid data: 'not_assessed'")


class QCConfig(_Strict):
    """Geometry quality control (see pipeline.qc and the README's table of issue codes)."""

    max_area_ha: float = Field(100.0, gt=0, description="Plots larger than this are flagged large_plot")
    area_tolerance_pct: float = Field(10.0, ge=0, description="Declared vs computed area: flagged beyond this %...")
    area_tolerance_ha: float = Field(0.01, ge=0, description="...and beyond this many hectares")
    point_default_area_ha: float = Field(4.0, gt=0, le=100,
                                         description="Area of the circle screened around a point without declared area "
                                                     "(EUDR allows points up to 4 ha)")
    overlap_min_share: float = Field(0.1, gt=0, le=1,
                                     description="Overlaps of at least this share of the smaller plot are flagged")
    min_decimals: int = Field(6, ge=0, le=8, description="Fewer decimals in every coordinate: low_precision (EUDR: 6)")
    fix_swapped_coordinates: bool = Field(False, description="Swap back longitude/latitude that look swapped")
    repair_invalid: bool = Field(True, description="Repair invalid polygons with make_valid (else: not screened)")
    declared_area_column: Optional[str] = Field(None, description="Declared area column, ha (default: "
                                                                  "declared_area_ha, area_ha or Area)")


class OutputConfig(_Strict):
    path: Path = Field(Path("outputs/screening.gpkg"), description="GeoPackage to write")
    overwrite: bool = Field(False, description="Replace an existing output")


class RunConfig(_Strict):
    plots: PlotsConfig
    rasters: RastersConfig
    screening: ScreeningConfig = ScreeningConfig()
    qc: QCConfig = QCConfig()
    output: OutputConfig = OutputConfig()
    workers: Optional[int] = Field(None, ge=1, description="Processes (default: all cores for large jobs, else 1)")

    @model_validator(mode="after")
    def _years(self):
        if self.screening.reference_year >= self.rasters.last_year:
            raise ValueError(f"screening.reference_year ({self.screening.reference_year}) must be before "
                             f"rasters.last_year ({self.rasters.last_year}): nothing after it could be seen")
        return self

    def resolve_paths(self, base: Path) -> "RunConfig":
        """A copy with relative paths made absolute against ``base``."""
        def fix(p: Path) -> Path:
            p = Path(p).expanduser()
            return Path(os.path.normpath(p if p.is_absolute() else base / p))
        data = self.model_dump()
        data["plots"]["path"] = fix(self.plots.path)
        data["rasters"]["loss_year"] = fix(self.rasters.loss_year)
        data["rasters"]["tree_cover"] = fix(self.rasters.tree_cover)
        data["output"]["path"] = fix(self.output.path)
        return RunConfig.model_validate(data)


def format_validation_error(exc: ValidationError, source: str) -> str:
    lines = []
    for err in exc.errors():
        where = ".".join(str(p) for p in err["loc"]) or "(top level)"
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see configs/sample.yaml for the known keys)"
        lines.append(f"{where}: {msg}")
    return f"{source}: invalid configuration: " + "; ".join(lines)


def build_config(data: dict[str, Any], source: str = "<arguments>") -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming every bad key."""
    try:
        return RunConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML config, apply ``overrides`` (dotted keys, e.g. ``screening.reference_year``),
    validate, and resolve relative paths against the file's folder (overrides: the current folder).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from exc
    try:
        data = yaml.safe_load(text) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from exc
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    base = path.resolve().parent
    for section in ("plots", "rasters", "output"):
        for key, value in list((data.get(section) or {}).items()):
            if key in ("path", "loss_year", "tree_cover") and isinstance(value, str):
                p = Path(value).expanduser()
                data[section][key] = os.path.normpath(p if p.is_absolute() else base / p)
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return build_config(data, str(path)).resolve_paths(Path.cwd())
