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
    path: Path = Field(description="Plots file: GeoPackage, GeoJSON or Shapefile")
    layer: Optional[str] = Field(None, description="Layer to read (default: 'plots' if present, else the first)")
    id_column: str = Field("plot_id", description="Column holding the plot identifiers")


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


class OutputConfig(_Strict):
    path: Path = Field(Path("outputs/screening.gpkg"), description="GeoPackage to write")
    overwrite: bool = Field(False, description="Replace an existing output")


class RegionsConfig(_Strict):
    path: Path = Field(description="Administrative boundaries: GeoPackage, GeoJSON or Shapefile, any CRS")
    layer: Optional[str] = Field(None, description="Layer of the boundaries file (default: the first)")
    id_column: str = Field(description="Column holding the region code (e.g. the ubigeo, IDDIST)")
    name_column: Optional[str] = Field(None, description="Column holding the region's name")


class DeliveriesConfig(_Strict):
    path: Path = Field(description="Deliveries CSV: lot_id, plot_id, quantity[, buyer][, date]")
    quantity_column: str = Field("quantity", description="Column holding the delivered quantity")


class BaselineConfig(_Strict):
    """Group figures, baseline, restoration candidates, supply chain, monitoring (see pipeline.baseline)."""

    output: Path = Field(Path("outputs/baseline.gpkg"),
                         description="GeoPackage to write; CSV copies go to <name>_csv/ beside it")
    start_year: Optional[int] = Field(None, ge=2001, le=2100,
                                      description="First year of the baseline period (default: end_year - 9)")
    end_year: Optional[int] = Field(None, ge=2001, le=2100,
                                    description="Last year of the baseline period (default: the reference year)")
    regions: Optional[RegionsConfig] = None
    cooperative_column: Optional[str] = Field(
        "cooperative_id", description="Plots column naming the cooperative (used when present)")
    group_by: list[str] = Field(default_factory=list,
                                description="More plots columns to group by; 'a,b' groups by both at once")
    deliveries: Optional[DeliveriesConfig] = None
    ring_m: Optional[float] = Field(None, gt=0, le=10_000,
                                    description="Width (m) of a ring around each plot whose forest loss is measured")
    previous: Optional[Path] = Field(None, description="An earlier screening.gpkg to list status changes against")

    @model_validator(mode="after")
    def _period(self):
        if self.start_year is not None and self.end_year is not None and self.start_year > self.end_year:
            raise ValueError(f"baseline.start_year ({self.start_year}) is after baseline.end_year ({self.end_year})")
        return self

    def resolve_paths(self, base: Path) -> "BaselineConfig":
        """A copy with relative paths made absolute against ``base``."""
        data = self.model_dump()
        data["output"] = _resolve(self.output, base)
        if self.previous is not None:
            data["previous"] = _resolve(self.previous, base)
        for section in ("regions", "deliveries"):
            if getattr(self, section) is not None:
                data[section]["path"] = _resolve(getattr(self, section).path, base)
        return BaselineConfig.model_validate(data)


def _resolve(p: Path, base: Path) -> Path:
    p = Path(p).expanduser()
    return Path(os.path.normpath(p if p.is_absolute() else base / p))


class RunConfig(_Strict):
    plots: PlotsConfig
    rasters: RastersConfig
    screening: ScreeningConfig = ScreeningConfig()
    output: OutputConfig = OutputConfig()
    workers: Optional[int] = Field(None, ge=1, description="Processes (default: all cores for large jobs, else 1)")
    baseline: Optional[BaselineConfig] = Field(None, description="Also build the baseline GeoPackage after screening")

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
        if self.baseline is not None:
            data["baseline"] = self.baseline.resolve_paths(base).model_dump()
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
    if isinstance(data.get("baseline"), dict):  # the baseline section's paths, likewise
        b = data["baseline"]
        for key in ("output", "previous"):
            if isinstance(b.get(key), str):
                b[key] = str(_resolve(Path(b[key]), base))
        for section in ("regions", "deliveries"):
            if isinstance(b.get(section), dict) and isinstance(b[section].get("path"), str):
                b[section]["path"] = str(_resolve(Path(b[section]["path"]), base))
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            node = node.setdefault(key, {})
        node[leaf] = value
    return build_config(data, str(path)).resolve_paths(Path.cwd())
