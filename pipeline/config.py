"""The YAML run configuration, validated with pydantic. Nothing else in the package knows YAML.

Relative paths in a config file are resolved against the folder holding the file, so a scheduled
job gives the same result whatever its working directory. Unknown keys are errors (a typo must
not silently fall back to a default). Every default is documented on its field and in the README.
"""

from __future__ import annotations

import os
from pathlib import Path
import re
from typing import Any, Literal, Optional, Union

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

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


#: A raster layer: a file, a folder of tiles, a glob ("tiles/*lossyear*.tif"), a URL, or a list of these.
LayerSpec = Union[str, list[str]]


class RastersConfig(_Strict):
    """Shorthand for one Hansen product named ``hansen`` (what the ``screen`` command builds)."""

    loss_year: LayerSpec = Field(description="Hansen lossyear: file, folder of tiles, glob or URLs")
    tree_cover: LayerSpec = Field(description="Hansen treecover2000 (canopy %, 0-100) on the same grid")
    datamask: Optional[LayerSpec] = Field(None, description="Optional Hansen datamask (0 no data, 1 land, 2 water)")
    last_year: Optional[int] = Field(None, ge=2001, le=2100,
                                     description="Last loss year (default: from the Hansen file names, e.g. "
                                                 "GFC-2024-v1.12 -> 2024, else 2024); later values are invalid")

    def as_dataset(self) -> "DatasetConfig":
        return DatasetConfig(kind="hansen", loss_year=self.loss_year, tree_cover=self.tree_cover,
                             datamask=self.datamask, last_year=self.last_year)


class DatasetConfig(_Strict):
    """One forest-loss product (see pipeline.rasters for the kinds and encodings)."""

    kind: Literal["hansen", "loss_year"] = Field("hansen", description="'hansen' or a generic 'loss_year' raster")
    loss_year: LayerSpec = Field(description="Loss-year layer: file, folder of tiles, glob or URLs")
    tree_cover: Optional[LayerSpec] = Field(None, description="Tree cover at the baseline, % (required for hansen)")
    datamask: Optional[LayerSpec] = Field(None, description="Hansen datamask (0 no data, 1 land, 2 water)")
    forest_mask: Optional[LayerSpec] = Field(None, description="1 = forest at the baseline, 0 = not forest")
    encoding: Literal["offset", "year"] = Field("offset", description="'offset': value k = year_offset + k; "
                                                                      "'year': the value is the year")
    year_offset: int = Field(2000, description="For encoding 'offset'")
    first_year: Optional[int] = Field(None, description="First loss year (default: year_offset + 1, or 2001)")
    last_year: Optional[int] = Field(None, ge=1950, le=2100,
                                     description="Last loss year (default: from Hansen file names, else 2024)")
    nodata: Optional[int] = Field(None, description="Loss-year no-data value (default: the file's; 255 for hansen)")

    @model_validator(mode="after")
    def _needs(self):
        if self.kind == "hansen" and self.tree_cover is None:
            raise ValueError("a 'hansen' dataset needs tree_cover (treecover2000)")
        return self


class ScreeningConfig(_Strict):
    reference_year: int = Field(2020, ge=2000, le=2100,
                                description="Loss after the end of this year is deforestation (EUDR: 2020)")
    canopy_threshold: float = Field(10.0, ge=0, le=100,
                                    description="Forest = tree cover in 2000 above this % (FAO/EUDR: more than 10 %)")
    canopy_operator: Literal[">", ">="] = Field(">", description="Compare tree cover with '>' (FAO) or '>='")
    min_forest_patch_ha: float = Field(0.0, ge=0, description="Keep only forest patches at least this large "
                                                              "(FAO: 0.5); 0 = every forest pixel counts")
    patch_connectivity: Literal[4, 8] = Field(8, description="Pixels of a patch touch by sides (4) or also corners (8)")
    review_max_ha: float = Field(0.1, ge=0, description="Loss after the reference year up to this many ha gives 'review'")
    min_data_coverage_pct: float = Field(99.0, gt=0, le=100,
                                         description="Below this share of the plot over valid data: 'not_assessed'")
    status_rule: Literal["any", "primary"] = Field("any", description="How several products' statuses combine")


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
    incremental: bool = Field(False, description="Reuse the figures of unchanged plots from the existing output "
                                                 "(and replace it)")


_NAME = re.compile(r"^[a-z][a-z0-9_]*$")


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
        data["output"] = _fix(self.output, base)
        if self.previous is not None:
            data["previous"] = _fix(self.previous, base)
        for section in ("regions", "deliveries"):
            if getattr(self, section) is not None:
                data[section]["path"] = _fix(getattr(self, section).path, base)
        return BaselineConfig.model_validate(data)


class RunConfig(_Strict):
    plots: PlotsConfig
    rasters: Optional[RastersConfig] = Field(None, description="One Hansen product (shorthand for datasets)")
    datasets: Optional[dict[str, DatasetConfig]] = Field(None, description="Named loss products; the first is primary")
    screening: ScreeningConfig = ScreeningConfig()
    qc: QCConfig = QCConfig()
    output: OutputConfig = OutputConfig()
    workers: Optional[int] = Field(None, ge=1, description="Processes (default: all cores for large jobs, else 1)")
    baseline: Optional[BaselineConfig] = Field(None, description="Also build the baseline GeoPackage after screening")
    scheduler: str = Field("threads", description="Where partitions run: threads (default), local processes, or the "
                                                "address of a Dask scheduler (tcp://host:8786)")

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        from .parallel import parse_scheduler

        return parse_scheduler(v)

    @model_validator(mode="after")
    def _check(self):
        if (self.rasters is None) == (self.datasets is None):
            raise ValueError("give either 'rasters' (one Hansen product) or 'datasets' (named products), not both")
        if self.datasets is not None:
            if not self.datasets:
                raise ValueError("'datasets' is empty")
            for name in self.datasets:
                if not _NAME.match(name):
                    raise ValueError(f"dataset name {name!r}: use lower-case letters, digits and '_' "
                                     "(it prefixes output columns)")
        for name, ds in self.dataset_configs().items():
            if ds.last_year is not None and self.screening.reference_year >= ds.last_year:
                raise ValueError(f"screening.reference_year ({self.screening.reference_year}) must be before "
                                 f"the last_year of {name} ({ds.last_year}): nothing after it could be seen")
        return self

    def dataset_configs(self) -> dict[str, DatasetConfig]:
        """Every product by name, the primary first (``rasters`` is the product ``hansen``)."""
        if self.datasets is not None:
            return dict(self.datasets)
        return {"hansen": self.rasters.as_dataset()}

    def resolve_paths(self, base: Path) -> "RunConfig":
        """A copy with relative paths (not URLs) made absolute against ``base``."""
        data = self.model_dump()
        data["plots"]["path"] = _fix(self.plots.path, base)
        data["output"]["path"] = _fix(self.output.path, base)
        sections = [data["rasters"]] if data.get("rasters") else list((data.get("datasets") or {}).values())
        for section in sections:
            for key in ("loss_year", "tree_cover", "datamask", "forest_mask"):
                if section.get(key) is not None:
                    section[key] = _fix_spec(section[key], base)
        if self.baseline is not None:
            data["baseline"] = self.baseline.resolve_paths(base).model_dump()
        return RunConfig.model_validate(data)


def _fix(p, base: Path) -> Path:
    p = Path(p).expanduser()
    return Path(os.path.normpath(p if p.is_absolute() else base / p))


def _fix_spec(spec, base: Path):
    if isinstance(spec, list):
        return [_fix_spec(s, base) for s in spec]
    if re.match(r"^(?:[a-z][a-z0-9+.-]*://|/vsi)", str(spec), re.IGNORECASE):
        return str(spec)
    return str(_fix(spec, base))


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
    if (overrides or {}).get("rasters.last_year") is not None and "datasets" in data:
        raise ConfigError(f"{path}: --last-year applies to a 'rasters' section; with 'datasets', set last_year "
                          "for each dataset in the file")
    for dotted, value in (overrides or {}).items():
        if value is None:
            continue
        node = data
        *parents, leaf = dotted.split(".")
        for key in parents:
            if not isinstance(node.get(key), dict):
                node[key] = {}
            node = node[key]
        node[leaf] = value
    return build_config(data, str(path)).resolve_paths(base)
