"""The run configuration: pydantic models, the only parameter objects of cacao-screen.

Each section of the YAML file is a frozen model, and the library takes those models themselves:
the quality control takes a :class:`QCConfig`, the engine a :class:`ForestDefinition` (which every
:class:`ScreeningConfig` is), the schedulers an :class:`ExecutionConfig`. A parameter is declared
once, as a field with its type, default and ``description``; the command-line options
(:mod:`pipeline.cli.options`) and the options table of ``docs/usage.md`` are generated from the
fields, so adding a parameter means adding the field and using it.

Relative paths in a config file are resolved against the folder holding the file, so a scheduled
job gives the same result whatever its working directory. Unknown keys are errors (a typo must
not silently fall back to a default). Nothing else in the package knows YAML.
"""

from __future__ import annotations

import datetime as dt
import errno
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal, Union

import yaml
from pydantic import (
    BaseModel,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)

from .errors import ConfigError, missing_file
from .vocab import ALERTS_KIND, CONFIDENCE_LEVELS, STATUSES


class _Section(BaseModel):
    """A config section: unknown keys are errors; values never change once validated."""

    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Plots ----------------------------------------------------------------------------------------


class PlotsConfig(_Section):
    """How to read the plots file."""

    path: Path = Field(
        description="Plots file: GeoPackage, GeoJSON, Shapefile (or a .zip of one), CSV, GeoParquet; "
        "any CRS (screened in EPSG:4326)"
    )
    layer: str | None = Field(
        None,
        description="Layer of the plots file (default: 'plots' if present, else the only layer with "
        "geometries; several and none called 'plots' is an error)",
    )
    id_column: str = Field(
        "plot_id",
        description="Column holding the plot ids; if the default plot_id is absent, "
        "ids row-1, row-2... are made (with a warning); a named column "
        "that is absent is an error",
    )
    crs: str | None = Field(
        None,
        description="CRS of a plots file that has none (a CSV, a Shapefile without "
        ".prj), e.g. EPSG:4326 for GPS longitude/latitude; a file "
        "declaring another CRS is refused",
    )
    wkt_column: str | None = Field(
        None, description="CSV/Parquet: column of WKT geometries (default: found by name: wkt, geometry...)"
    )
    lat_column: str | None = Field(
        None, description="CSV/Parquet: latitude column (default: found by name: latitude, lat, y...)"
    )
    lon_column: str | None = Field(
        None, description="CSV/Parquet: longitude column (default: found by name: longitude, lon, lng, x...)"
    )


# --- Rasters --------------------------------------------------------------------------------------

#: A raster layer: a file, a folder of tiles, a glob ("tiles/*lossyear*.tif"), a URL, or a list of these.
LayerSpec = Union[str, list[str]]  # noqa: UP007 - an alias evaluated at run time (Python 3.10)


class RastersConfig(_Section):
    """Shorthand for one Hansen product named ``hansen`` (what the ``screen`` command builds)."""

    loss_year: LayerSpec = Field(
        description="Hansen lossyear (0 = no loss, k = loss in 2000+k; the file's nodata, "
        "else 255, = no data): a file, a folder of tiles, a quoted glob such as "
        "'tiles/*lossyear*.tif', or a URL"
    )
    tree_cover: LayerSpec = Field(
        description="Hansen treecover2000 (canopy %, 0-100) on the loss-year grid: file, folder, glob or URL"
    )
    datamask: LayerSpec | None = Field(
        None, description="Optional Hansen datamask (0 = no data, 1 = land, 2 = water; water is never forest)"
    )
    last_year: int | None = Field(
        None,
        ge=2001,
        le=2100,
        description="Last loss year of the product; later values are invalid data "
        "(default: from the Hansen file names, GFC-2024-v1.12 -> 2024, "
        "else 2024)",
    )

    def as_dataset(self) -> DatasetConfig:
        return DatasetConfig(
            kind="hansen",
            loss_year=self.loss_year,
            tree_cover=self.tree_cover,
            datamask=self.datamask,
            last_year=self.last_year,
        )


class DatasetConfig(_Section):
    """One forest-loss product (see :mod:`pipeline.io.rasters` for the kinds and encodings)."""

    kind: Literal["hansen", "loss_year"] = Field(
        "hansen", description="'hansen', a generic 'loss_year' raster, or 'alerts' (see AlertDatasetConfig)"
    )
    loss_year: LayerSpec = Field(description="Loss-year layer: file, folder of tiles, glob or URLs")
    tree_cover: LayerSpec | None = Field(None, description="Tree cover at the baseline, % (required for hansen)")
    datamask: LayerSpec | None = Field(None, description="Hansen datamask (0 no data, 1 land, 2 water)")
    forest_mask: LayerSpec | None = Field(None, description="1 = forest at the baseline, 0 = not forest")
    encoding: Literal["offset", "year"] = Field(
        "offset", description="'offset': value k = year_offset + k; 'year': the value is the year"
    )
    year_offset: int = Field(2000, description="For encoding 'offset'")
    first_year: int | None = Field(None, description="First loss year (default: year_offset + 1, or 2001)")
    last_year: int | None = Field(
        None, ge=1950, le=2100, description="Last loss year (default: from Hansen file names, else 2024)"
    )
    nodata: int | None = Field(None, description="Loss-year no-data value (default: the file's; 255 for hansen)")

    @model_validator(mode="after")
    def _needs(self):
        if self.kind == "hansen" and self.tree_cover is None:
            raise ValueError("a 'hansen' dataset needs tree_cover (treecover2000)")
        return self


# --- Deforestation alerts -------------------------------------------------------------------------

#: A confidence level of an alert, from the lowest (see :data:`pipeline.vocab.CONFIDENCE_LEVELS`).
ConfidenceLevel = Literal["low", "high", "highest"]


def _levels(**codes: int) -> dict[int, ConfidenceLevel]:
    """``_levels(low=2, high=3)`` -> ``{2: "low", 3: "high"}``."""
    names: dict[str, ConfidenceLevel] = {"low": "low", "high": "high", "highest": "highest"}
    return {code: names[level] for level, code in codes.items()}


class AlertEncoding(_Section):
    """How an alert raster stores each pixel's date and confidence (docs/data.md#alert-encodings).

    A pixel holds 0 when it has no alert. Otherwise its date is ``date``: days since ``epoch`` (1 =
    the day after it) or the date written as YYYYMMDD; its confidence is ``confidence``: the
    leading digit of the value (value = code x 10^date_digits + date), a code in a separate
    confidence layer, or none. ``levels`` names the codes. The presets (:data:`ALERT_PRESETS`)
    are the encodings of documented products.
    """

    preset: str | None = Field(None, description="The preset this encoding is (set when a preset name is given)")
    date: Literal["days", "yyyymmdd"] = Field(
        "days", description="'days': the date part counts days since epoch; 'yyyymmdd': it is the date as YYYYMMDD"
    )
    epoch: dt.date = Field(
        dt.date(2014, 12, 31), description="For date 'days': the day counted as 0 (1 is the day after)"
    )
    confidence: Literal["leading_digit", "band", "none"] = Field(
        "leading_digit",
        description="'leading_digit': value = code x 10^date_digits + date part (GFW: 30055 = code 3, day 55); "
        "'band': codes in a separate confidence layer; 'none': no confidence (every alert counts)",
    )
    date_digits: int = Field(4, ge=1, le=8, description="For confidence 'leading_digit': digits of the date part")
    levels: dict[int, ConfidenceLevel] = Field(
        default_factory=lambda: _levels(low=2, high=3, highest=4),
        description="Confidence code -> level (low, high, highest); codes not listed are invalid values",
    )

    @model_validator(mode="before")
    @classmethod
    def _no_levels(cls, data: Any) -> Any:
        if isinstance(data, dict) and data.get("confidence") == "none" and "levels" not in data:
            data = {**data, "levels": {}}
        return data

    @model_validator(mode="after")
    def _consistent(self):
        if self.confidence == "none":
            if self.levels:
                raise ValueError("levels are given, but the encoding's confidence is 'none'")
        elif not self.levels:
            raise ValueError(f"confidence {self.confidence!r} needs levels (code -> low, high or highest)")
        if any(code < 0 for code in self.levels):
            raise ValueError("confidence codes are not negative")
        if self.confidence == "leading_digit" and self.date == "yyyymmdd" and self.date_digits < 8:
            raise ValueError("a YYYYMMDD date after a leading confidence digit needs date_digits: 8")
        return self

    @property
    def level_names(self) -> tuple[str, ...]:
        """The levels this encoding has, from the lowest (empty without confidence)."""
        present = set(self.levels.values())
        return tuple(level for level in CONFIDENCE_LEVELS if level in present)

    def describe(self) -> str:
        """The encoding in words (for the metadata and messages)."""
        when = f"days since {self.epoch.isoformat()}" if self.date == "days" else "the date as YYYYMMDD"
        codes = ", ".join(f"{code} {level}" for code, level in sorted(self.levels.items()))
        if self.confidence == "leading_digit":
            text = f"leading digit = confidence ({codes}), then {self.date_digits} digits: {when}"
        elif self.confidence == "band":
            text = f"value = {when}; confidence layer ({codes})"
        else:
            text = f"value = {when}; no confidence"
        return (f"{self.preset}: " if self.preset else "") + text + "; 0 = no alert"


#: Encodings of documented alert products, as Global Forest Watch's Data API distributes them
#: (``pixel_meaning=date_conf``, uint16, 0 = no alert): the leading digit is the confidence,
#: the other four digits the days since 2014-12-31. Sources in docs/data.md#alert-encodings.
ALERT_PRESETS: dict[str, AlertEncoding] = {
    "gfw_integrated": AlertEncoding(preset="gfw_integrated", levels=_levels(low=2, high=3, highest=4)),
    "gfw_glad_l": AlertEncoding(preset="gfw_glad_l", levels=_levels(low=2, high=3)),
    "gfw_glad_s2": AlertEncoding(preset="gfw_glad_s2", levels=_levels(low=2, high=3)),
    "gfw_radd": AlertEncoding(preset="gfw_radd", levels=_levels(low=2, high=3)),
}


def _encoding(value: Any) -> Any:
    """A preset name becomes its encoding; a mapping naming a preset starts from that preset (and
    is no longer that preset if it changes any of its keys)."""
    if isinstance(value, str):
        if value not in ALERT_PRESETS:
            raise ValueError(f"unknown alert encoding {value!r}: presets are {', '.join(ALERT_PRESETS)}")
        return ALERT_PRESETS[value]
    if isinstance(value, dict) and isinstance(value.get("preset"), str):
        preset = _encoding(value["preset"])
        merged = {**preset.model_dump(), **value}
        if AlertEncoding.model_validate({**merged, "preset": preset.preset}) != preset:
            merged["preset"] = None
        return merged
    return value


class AlertDatasetConfig(_Section):
    """A deforestation-alert product (``kind: alerts``): a date and a confidence per pixel.

    Alerts dated after the cut-off day (``screening.cutoff_date``) with at least ``min_confidence``
    count like forest loss after the reference year; alerts on or before it are history.
    """

    kind: Literal["alerts"] = Field(description="'alerts'")
    alerts: LayerSpec = Field(description="Alert layer: file, folder of tiles, glob or URLs")
    encoding: AlertEncoding = Field(
        default_factory=lambda: ALERT_PRESETS["gfw_integrated"],
        description="A preset (gfw_integrated, gfw_glad_l, gfw_glad_s2, gfw_radd) or the form: date, epoch, "
        "confidence, date_digits, levels",
    )
    confidence_layer: LayerSpec | None = Field(
        None, description="For an encoding with confidence 'band': the confidence layer, on the alert layer's grid"
    )
    forest_mask: LayerSpec | None = Field(
        None, description="1 = forest at the baseline: alerts count only there (without one, every alert pixel counts)"
    )
    min_confidence: ConfidenceLevel = Field(
        "high", description="Count alerts of this confidence or higher (encodings without confidence: every alert)"
    )
    nodata: int | None = Field(
        None,
        description="No-data value of the alert layer (default: none: 0 is no alert even where a file "
        "declares 0 its nodata, as GFW's tiles do)",
    )

    @field_validator("encoding", mode="before")
    @classmethod
    def _preset(cls, v):
        return _encoding(v)

    @model_validator(mode="after")
    def _needs(self):
        enc = self.encoding
        if enc.confidence == "band" and self.confidence_layer is None:
            raise ValueError("an encoding with confidence 'band' needs confidence_layer")
        if enc.confidence != "band" and self.confidence_layer is not None:
            raise ValueError(f"confidence_layer is given, but the encoding's confidence is {enc.confidence!r}")
        names = enc.level_names
        if names and CONFIDENCE_LEVELS.index(self.min_confidence) > CONFIDENCE_LEVELS.index(names[-1]):
            raise ValueError(
                f"min_confidence {self.min_confidence!r}, but the encoding's levels are {', '.join(names)}: "
                "no alert could ever count"
            )
        if self.nodata is not None and self.nodata == 0:
            raise ValueError("nodata 0 would read every pixel without an alert as no data; 0 means no alert")
        return self

    @property
    def counted_levels(self) -> tuple[str, ...]:
        """The confidence levels that count (empty: every alert counts, the encoding has none)."""
        low = CONFIDENCE_LEVELS.index(self.min_confidence)
        return tuple(n for n in self.encoding.level_names if CONFIDENCE_LEVELS.index(n) >= low)


class AlertsConfig(_Section):
    """Shorthand for one GFW integrated-alerts product named ``gfw_integrated`` (``screen --alerts``)."""

    path: LayerSpec = Field(
        description="GFW integrated deforestation alerts (leading digit 2 low, 3 high, 4 highest confidence, "
        "then days since 2014-12-31; 0 = no alert): a file, folder of tiles, glob or URL"
    )
    min_confidence: ConfidenceLevel = Field("high", description="Count alerts of this confidence or higher")
    forest_mask: LayerSpec | None = Field(
        None, description="1 = forest at the baseline, on the alerts' grid: alerts count only there"
    )

    def as_dataset(self) -> AlertDatasetConfig:
        return AlertDatasetConfig(
            kind=ALERTS_KIND,
            alerts=self.path,
            encoding=ALERT_PRESETS["gfw_integrated"],
            forest_mask=self.forest_mask,
            min_confidence=self.min_confidence,
        )


def _dataset_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "alerts" if kind == ALERTS_KIND else "loss"


#: One entry of ``datasets``: a forest-loss product, or an alert product (``kind: alerts``).
AnyDataset = Annotated[
    Union[Annotated[DatasetConfig, Tag("loss")], Annotated[AlertDatasetConfig, Tag("alerts")]],  # noqa: UP007
    Discriminator(_dataset_tag),
]


# --- Screening ------------------------------------------------------------------------------------


class ForestDefinition(_Section):
    """Which pixels were forest at the baseline: what the engine needs to classify pixels.

    With tree cover: cover above (or at least) the canopy threshold; with a forest mask: mask = 1;
    with a Hansen datamask, water is never forest. A minimum patch area keeps only forest patches
    that large. Every :class:`ScreeningConfig` is a forest definition, so the plots, the rings
    around them and the regions are all measured with the one the screening used.
    """

    canopy_threshold: float = Field(
        10.0, ge=0, le=100, description="Forest = tree cover in 2000 above this percentage (FAO/EUDR: more than 10 %)"
    )
    canopy_operator: Literal[">", ">="] = Field(">", description="Compare tree cover with '>' (FAO) or '>='")
    min_forest_patch_ha: float = Field(
        0.0, ge=0, description="Keep only forest patches at least this large (FAO: 0.5); 0 = every forest pixel counts"
    )
    patch_connectivity: Literal[4, 8] = Field(
        8, description="Pixels of a forest patch touch by their sides (4) or also their corners (8)"
    )


class ScreeningConfig(ForestDefinition):
    """The forest definition, plus the rules that turn figures into a status."""

    reference_year: int = Field(
        2020, ge=2000, le=2100, description="Loss after the end of this year counts as deforestation (EUDR: 2020)"
    )
    review_max_ha: float = Field(
        0.1,
        ge=0,
        description="Loss after the reference year up to this many hectares "
        "gives 'review' rather than 'deforestation_detected' (about "
        "one Hansen pixel)",
    )
    min_data_coverage_pct: float = Field(
        99.0, gt=0, le=100, description="Plots with less of their area over valid pixels are 'not_assessed'"
    )
    max_not_assessed_pct: float = Field(
        50.0,
        ge=0,
        le=100,
        description="Exit with code 4 (outputs written, a summary on stderr) when more than this share of the "
        "plots that are not invalid is 'not_assessed' (all of them always counts): rasters that miss the plots",
    )
    status_rule: Literal["any", "primary"] = Field(
        "any",
        description="With several products: 'any' (detected if any product detects loss...) or 'primary' "
        "(the first product decides)",
    )
    cutoff_date: dt.date | None = Field(
        None,
        description="Alerts on or before this day are history; alerts after it count "
        "(default: 31 December of the reference year)",
    )

    @property
    def cutoff(self) -> dt.date:
        """The cut-off day of the alerts: ``cutoff_date``, or 31 December of the reference year."""
        return self.cutoff_date if self.cutoff_date is not None else dt.date(self.reference_year, 12, 31)


class QCConfig(_Section):
    """Geometry quality control (see :mod:`pipeline.stages.qc` and docs/qc.md)."""

    max_area_ha: float = Field(100.0, gt=0, description="Plots larger than this are flagged large_plot")
    max_extent_deg: float = Field(
        1.0,
        gt=0,
        le=360,
        description="Plots whose bounding box spans more degrees of longitude or latitude than this are not "
        "screened (too_large_to_screen): a farm is far smaller; raise it to screen a region (measured window by "
        "window, in bounded memory)",
    )
    area_tolerance_pct: float = Field(
        10.0, ge=0, description="Declared vs computed area: flagged area_mismatch beyond this percentage..."
    )
    area_tolerance_ha: float = Field(0.01, ge=0, description="...and beyond this many hectares")
    point_default_area_ha: float = Field(
        4.0,
        gt=0,
        le=100,
        description="Area of the circle screened around a point without a "
        "declared area (EUDR allows points up to 4 ha)",
    )
    overlap_min_share: float = Field(
        0.1, gt=0, le=1, description="Overlaps of at least this share of the smaller plot are flagged"
    )
    min_decimals: int = Field(6, ge=0, le=8, description="Fewer decimals in every coordinate: low_precision (EUDR: 6)")
    fix_swapped_coordinates: bool = Field(
        False,
        description="Swap back longitude and latitude where they look "
        "swapped (flagged suspect_swapped_coordinates "
        "otherwise)",
    )
    repair_invalid: bool = Field(
        True,
        description="Repair invalid polygons with make_valid and screen the repair "
        "(otherwise: invalid_geometry, not screened)",
    )
    declared_area_column: str | None = Field(
        None, description="Column of the declared area in ha (default: declared_area_ha, area_ha or Area)"
    )


def _gpkg_only(path: Path, what: str) -> Path:
    """Refuse an output name whose extension says another format (it would get a GeoPackage)."""
    if Path(path).suffix.lower() != ".gpkg":
        raise ValueError(
            f"{path}: the {what} is written as a GeoPackage; name it .gpkg (for CSV, GeoParquet, "
            "FlatGeobuf, GeoJSON or the EUDR GeoJSON, run `cacao-screen export` on the GeoPackage)"
        )
    return path


class OutputConfig(_Section):
    path: Path = Field(Path("outputs/screening.gpkg"), description="GeoPackage to write (atomically)")
    overwrite: bool = Field(False, description="Replace the output if it exists (otherwise refused, exit 2)")
    incremental: bool = Field(
        False,
        description="Reuse the figures of plots unchanged since the existing output "
        "(same geometry, parameters and raster files) and replace it; "
        "only new or changed plots are computed",
    )
    wait_lock: float = Field(
        0.0,
        ge=0,
        description="When another run is writing the same output, wait up to this many seconds for it "
        "(otherwise exit 75 at once)",
    )
    language: Literal["en", "es"] | None = Field(
        None,
        description="Language of the messages, the report and the GeoPackage's descriptions and styles: en or es "
        "(default: es when LC_ALL, LC_MESSAGES or LANG is es_*, else en)",
    )

    @field_validator("path")
    @classmethod
    def _extension(cls, v: Path) -> Path:
        return _gpkg_only(v, "screening")


# --- Execution ------------------------------------------------------------------------------------

LOCAL = "local"
THREADS = "threads"
_SCHEDULER_NAMES = {"local": LOCAL, "processes": LOCAL, "threads": THREADS}
_ADDRESS = re.compile(r"(?:[a-z][a-z0-9+.-]*://\S+|[\w.-]+:\d{1,5})", re.IGNORECASE)


def parse_scheduler(value: str) -> str:
    """The canonical form of a scheduler name: ``local``, ``threads`` or a Dask scheduler address.

    Raises :class:`ValueError` for anything else.
    """
    v = str(value).strip()
    if v.lower() in _SCHEDULER_NAMES:
        return _SCHEDULER_NAMES[v.lower()]
    if _ADDRESS.fullmatch(v):
        return v
    raise ValueError(
        f"unknown scheduler {value!r}: expected local, processes, threads or the address of a "
        "Dask scheduler such as tcp://host:8786"
    )


class ExecutionConfig(_Section):
    """Where and on how many cores the work runs; the figures never depend on it."""

    scheduler: str = Field(
        THREADS,
        description="Where partitions run: threads of this process, local processes, "
        "or a Dask cluster given by its scheduler's address "
        "(tcp://host:8786; needs cacao-screen[dask])",
    )
    workers: int | None = Field(
        None,
        ge=1,
        description="Processes (or threads) to use (default: all cores for "
        "threads, and for 20,000 plots or more; else 1)",
    )
    chunk_plots: int = Field(
        50_000,
        ge=100,
        description="Plots screened at a time, in location order (the others wait on disk beside the "
        "output): bounds memory; the results do not depend on it",
    )

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        return parse_scheduler(v)


# --- Baseline -------------------------------------------------------------------------------------

_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
#: The name of the alert product that ``alerts`` (``screen --alerts``) adds.
GFW_ALERTS_NAME = "gfw_integrated"


class RegionsConfig(_Section):
    path: Path = Field(
        description="Administrative boundaries (GeoPackage, GeoJSON, Shapefile; any CRS); each plot "
        "goes to the region holding most of its area"
    )
    layer: str | None = Field(None, description="Layer of the boundaries file (default: the first)")
    id_column: str = Field(description="Column holding the region code, e.g. IDDIST (Peru's ubigeo)")
    name_column: str | None = Field(None, description="Column holding the region's name, e.g. NOMBDIST")


class DeliveriesConfig(_Section):
    path: Path = Field(description="Deliveries CSV: lot_id, plot_id, quantity[, buyer][, date]")
    quantity_column: str = Field("quantity", description="Column of the deliveries CSV holding the quantity")


class BaselineConfig(_Section):
    """Group figures, baseline, restoration candidates, supply chain, monitoring (docs/baseline.md)."""

    output: Path = Field(
        Path("outputs/baseline.gpkg"),
        description="GeoPackage to write (atomically); CSV copies go to <name>_csv/ beside it",
    )
    start_year: int | None = Field(
        None, ge=2001, le=2100, description="First year of the baseline period (default: 9 years before its last year)"
    )
    end_year: int | None = Field(
        None, ge=2001, le=2100, description="Last year of the baseline period (default: the reference year)"
    )
    regions: RegionsConfig | None = None
    cooperative_column: str | None = Field(
        "cooperative_id", description="Plots column naming the cooperative (grouped by when present)"
    )
    group_by: list[str] = Field(
        default_factory=list, description="More plots columns to group by; 'a,b' groups by both at once"
    )
    deliveries: DeliveriesConfig | None = None
    ring_m: float | None = Field(
        None,
        gt=0,
        le=10_000,
        description="Measure forest loss up to the reference year in a ring this many metres wide around each plot",
    )
    previous: Path | None = Field(
        None, description="An earlier screening.gpkg: list the plots whose status changed since"
    )
    region_totals: bool = Field(
        True,
        description="With regions: measure each region's whole forest loss per year (the same product and forest "
        "definition as the plots, window by window, cached) and cocoa's share of it "
        "(default: on when regions are given)",
    )

    @field_validator("output")
    @classmethod
    def _extension(cls, v: Path) -> Path:
        return _gpkg_only(v, "baseline")

    @model_validator(mode="after")
    def _period(self):
        if self.start_year is not None and self.end_year is not None and self.start_year > self.end_year:
            raise ValueError(f"baseline.start_year ({self.start_year}) is after baseline.end_year ({self.end_year})")
        return self

    def resolve_paths(self, base: Path) -> BaselineConfig:
        """A copy with relative paths made absolute against ``base`` (the fields set stay the ones set)."""
        data = self.model_dump(exclude_unset=True)
        data["output"] = _fix(self.output, base)
        if self.previous is not None:
            data["previous"] = _fix(self.previous, base)
        for section in ("regions", "deliveries"):
            if getattr(self, section) is not None:
                data[section]["path"] = _fix(getattr(self, section).path, base)
        return BaselineConfig.model_validate(data)


# --- Exports and the report -----------------------------------------------------------------------

EXPORT_FORMATS = ("csv", "geoparquet", "flatgeobuf", "geojson", "eudr")


class ExportConfig(_Section):
    """An export of a screening to another format (``cacao-screen export``; docs/export.md)."""

    format: Literal["csv", "geoparquet", "flatgeobuf", "geojson", "eudr"] = Field(
        description="csv (no geometry, or WKT with --wkt), geoparquet (with a bbox column), flatgeobuf, geojson, "
        "or eudr (GeoJSON for the EU information system, in files of at most --max-file-mb)"
    )
    out: Path = Field(description="File to write; for eudr a folder (its GeoJSON files and manifest.csv)")
    layer: str = Field("plots", description="Layer of the screening to export (not for eudr, which takes plots)")
    statuses: list[str] | None = Field(
        None,
        description="Export only plots of these statuses (default: eudr deforestation_free only; "
        "other formats every plot)",
    )
    wkt: bool = Field(False, description="csv: add each plot's geometry as WKT (column geometry_wkt)")
    producer_name_column: str | None = Field(
        "producer_name", description="eudr: plots column giving ProducerName (used when present)"
    )
    producer_country_column: str | None = Field(
        "country", description="eudr: plots column giving ProducerCountry, ISO 3166-1 alpha-2 (used when present)"
    )
    producer_country: str | None = Field(
        None, description="eudr: one ProducerCountry for every plot (ISO 3166-1 alpha-2, e.g. PE), instead of a column"
    )
    production_place_column: str | None = Field(
        "place", description="eudr: plots column giving ProductionPlace (used when present)"
    )
    decimals: int = Field(6, ge=6, le=9, description="eudr: decimals of the coordinates (EUDR: at least 6)")
    point_max_ha: float = Field(
        4.0,
        gt=0,
        description="eudr: a plot given as a point is exported up to this area; a larger one needs its polygon",
    )
    max_file_mb: float = Field(
        25.0, gt=0, description="eudr: largest file, MB; more plots go to more files (EU limit: 25 MB per statement)"
    )

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        names = [s.strip() for item in v for s in str(item).split(",") if s.strip()]
        unknown = [s for s in names if s not in STATUSES]
        if unknown:
            raise ValueError(f"unknown status(es) {', '.join(unknown)}; statuses are {', '.join(STATUSES)}")
        return names or None


class ReportConfig(_Section):
    """The HTML report (``cacao-screen report``; docs/report.md)."""

    out: Path = Field(
        Path("outputs/report.html"),
        description="HTML file to write (self-contained); with many groups their pages go to <name>_files/ beside it",
    )
    title: str = Field("Deforestation screening", description="Title of the report")
    group_column: str | None = Field(
        None,
        description="Plots column whose groups get a zoomed map and a table each (default: the baseline's "
        "cooperative column when present, else the regions)",
    )
    inline_max_plots: int = Field(
        5000,
        ge=0,
        description="Up to this many plots the groups' pages are inside the report; beyond, separate files "
        "linked from it",
    )
    max_table_rows: int = Field(
        500, ge=10, description="Rows shown of a long table (lots, buyers...); the GeoPackage has them all"
    )
    min_baseline_ha: float = Field(
        1.0,
        ge=0,
        description="A group whose baseline mean loss is below this (ha/yr) shows 'baseline too small to compare' "
        "instead of a change in percent",
    )
    min_coverage_pct: float = Field(
        90.0,
        ge=0,
        le=100,
        description="Shares of a region's loss computed with less data coverage than this (%) carry a warning",
    )
    eudr: Path | None = Field(
        None,
        description="An EUDR export folder (its manifest.csv) whose outcome the report shows; `run` passes its own",
    )


# --- The whole job --------------------------------------------------------------------------------


class RunConfig(_Section):
    """A screening job: what ``cacao-screen run --config`` reads and ``screen`` builds from its flags."""

    plots: PlotsConfig
    rasters: RastersConfig | None = Field(None, description="One Hansen product (shorthand for datasets)")
    alerts: AlertsConfig | None = Field(
        None, description="One GFW integrated-alerts product named gfw_integrated (shorthand for datasets)"
    )
    datasets: dict[str, AnyDataset] | None = Field(
        None, description="Named loss products, the first primary, and alert products (kind: alerts)"
    )
    screening: ScreeningConfig = ScreeningConfig()
    qc: QCConfig = QCConfig()
    output: OutputConfig = OutputConfig()
    execution: ExecutionConfig = ExecutionConfig()
    baseline: BaselineConfig | None = Field(None, description="Also build the baseline GeoPackage after screening")
    exports: list[ExportConfig] = Field(
        default_factory=list, description="Also export the screening to these formats after screening"
    )
    report: ReportConfig | None = Field(None, description="Also write the HTML report after screening")

    @model_validator(mode="after")
    def _check(self):
        if self.rasters is None and self.datasets is None:
            raise ValueError(
                "no forest-loss raster: give the Hansen loss-year and tree-cover rasters (screen --loss-year and "
                "--tree-cover; 'rasters: {loss_year: ..., tree_cover: ...}' in a config file) or named products "
                "under 'datasets'"
            )
        if self.rasters is not None and self.datasets is not None:
            raise ValueError("give either 'rasters' (one Hansen product) or 'datasets' (named products), not both")
        if self.datasets is not None:
            if not self.datasets:
                raise ValueError("'datasets' is empty")
            for name in self.datasets:
                if not _NAME.match(name):
                    raise ValueError(
                        f"dataset name {name!r}: use lower-case letters, digits and '_' (it prefixes output columns)"
                    )
            first = next(iter(self.datasets))
            if isinstance(self.datasets[first], AlertDatasetConfig):
                raise ValueError(
                    f"the first dataset ({first}) is the primary product and must be a forest-loss product; "
                    "list alert products after it"
                )
            if self.alerts is not None and GFW_ALERTS_NAME in self.datasets:
                raise ValueError(f"'alerts' adds the product {GFW_ALERTS_NAME!r}, which 'datasets' already names")
        for name, ds in self.dataset_configs().items():
            if ds.last_year is not None and self.screening.reference_year >= ds.last_year:
                raise ValueError(
                    f"screening.reference_year ({self.screening.reference_year}) must be before "
                    f"the last_year of {name} ({ds.last_year}): nothing after it could be seen"
                )
        return self

    def dataset_configs(self) -> dict[str, DatasetConfig]:
        """Every forest-loss product by name, the primary first (``rasters`` is the product ``hansen``)."""
        if self.datasets is not None:
            return {k: v for k, v in self.datasets.items() if isinstance(v, DatasetConfig)}
        assert self.rasters is not None  # the validator makes sure one of the two is given
        return {"hansen": self.rasters.as_dataset()}

    def alert_configs(self) -> dict[str, AlertDatasetConfig]:
        """Every alert product by name, in order (``alerts`` is the product ``gfw_integrated``, last)."""
        out = {k: v for k, v in (self.datasets or {}).items() if isinstance(v, AlertDatasetConfig)}
        if self.alerts is not None:
            out[GFW_ALERTS_NAME] = self.alerts.as_dataset()
        return out

    def resolve_paths(self, base: Path) -> RunConfig:
        """A copy with relative paths (not URLs) made absolute against ``base``."""
        data = self.model_dump()
        data["plots"]["path"] = _fix(self.plots.path, base)
        data["output"]["path"] = _fix(self.output.path, base)
        sections = [data["rasters"]] if data.get("rasters") else list((data.get("datasets") or {}).values())
        if data.get("alerts"):
            sections.append(data["alerts"])
        for section in sections:
            for key in ("loss_year", "tree_cover", "datamask", "forest_mask", "alerts", "confidence_layer", "path"):
                if section.get(key) is not None:
                    section[key] = _fix_spec(section[key], base)
        if self.baseline is not None:
            data["baseline"] = self.baseline.resolve_paths(base).model_dump()
        for export in data.get("exports") or []:
            export["out"] = _fix(export["out"], base)
        if self.report is not None:
            data["report"]["out"] = _fix(self.report.out, base)
            if self.report.eudr is not None:
                data["report"]["eudr"] = _fix(self.report.eudr, base)
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
        loc = list(err["loc"])
        if len(loc) >= 3 and loc[0] == "datasets" and loc[2] in ("loss", "alerts"):
            del loc[2]  # the tag of the kind of product, not a key of the file
        where = ".".join(str(p) for p in loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        if err["type"] == "extra_forbidden":
            msg = "unknown key (check the spelling; see configs/sample.yaml for the known keys)"
        lines.append(f"{where}: {msg}")
    return f"{source}: invalid configuration: " + "; ".join(lines)


def validate_model(model: type[BaseModel], data: dict[str, Any], source: str = "<arguments>") -> Any:
    """``model.model_validate(data)``, raising :class:`ConfigError` naming every bad key."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(format_validation_error(exc, source)) from exc


def build_config(data: dict[str, Any], source: str = "<arguments>") -> RunConfig:
    """Validate a config mapping; raise :class:`ConfigError` naming every bad key."""
    return validate_model(RunConfig, _upgrade(data, source), source)


def _upgrade(data: dict[str, Any], source: str) -> dict[str, Any]:
    """Accept the older spelling of the execution settings: top-level ``workers`` and ``scheduler``."""
    moved = {k: data[k] for k in ("workers", "scheduler") if k in data}
    if not moved:
        return data
    data = {k: v for k, v in data.items() if k not in moved}
    execution = dict(data.get("execution") or {})
    for key, value in moved.items():
        if key in execution:
            raise ConfigError(
                f"{source}: '{key}' is given both at the top level and in 'execution'; keep execution.{key}"
            )
        execution[key] = value
    data["execution"] = execution
    return data


def set_dotted(data: dict[str, Any], dotted: str, value: Any) -> None:
    """``data["a"]["b"] = value`` for ``dotted`` = ``"a.b"``, creating the sections on the way."""
    node = data
    *parents, leaf = dotted.split(".")
    for key in parents:
        if not isinstance(node.get(key), dict):
            node[key] = {}
        node = node[key]
    node[leaf] = value


def _decode(raw: bytes, path: Path) -> str:
    """The config's text: UTF-8 (a BOM is fine); any other encoding is refused, naming it."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        if raw[:2] in (b"\xff\xfe", b"\xfe\xff"):
            found = "UTF-16 (Windows Notepad's 'Unicode')"
        else:
            try:
                raw.decode("cp1252")
                found = "Windows-1252 or Latin-1"
            except UnicodeDecodeError:
                found = "not UTF-8"
        raise ConfigError(
            f"{path}: the configuration is not UTF-8 text: it looks like {found} (byte 0x{raw[exc.start]:02x} at "
            f"position {exc.start}); save it as UTF-8"
        ) from None


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, refusing a key given twice in one mapping (YAML would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _value in node.value:
            key = self.construct_object(key_node, deep=True)
            line = key_node.start_mark.line + 1
            if isinstance(key, (str, int, float, bool)) and key in seen:
                raise ConfigError(
                    f"{self.name}: the key {key!r} is given twice (lines {seen[key]} and {line}); YAML would keep "
                    "the last one silently: keep one"
                )
            if isinstance(key, (str, int, float, bool)):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def load_config(path: str | Path, overrides: dict[str, Any] | None = None) -> RunConfig:
    """Read a YAML config, apply ``overrides`` (dotted keys, e.g. ``screening.reference_year``),
    validate, and resolve relative paths against the file's folder (overrides: the current folder).
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(f"{path}: {missing_file(path, 'configuration file')}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise ConfigError(f"{path}: {missing_file(path, 'configuration file')}") from None
        raise ConfigError(f"{path}: cannot read the configuration ({exc.strerror})") from exc
    text = _decode(raw, path)
    loader = _UniqueKeyLoader(text)
    loader.name = str(path)
    try:
        data = loader.get_single_data() or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML ({exc})".replace("\n", " ")) from exc
    finally:
        loader.dispose()
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping of settings at the top level")
    data = _upgrade(data, str(path))
    base = path.resolve().parent
    if (overrides or {}).get("rasters.last_year") is not None and "datasets" in data:
        raise ConfigError(
            f"{path}: --last-year applies to a 'rasters' section; with 'datasets', set last_year "
            "for each dataset in the file"
        )
    for dotted, value in (overrides or {}).items():
        if value is not None:
            set_dotted(data, dotted, value)
    return build_config(data, str(path)).resolve_paths(base)
