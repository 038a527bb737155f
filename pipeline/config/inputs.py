"""The inputs' sections: the plots file (``plots``) and the products (``rasters``, ``alerts``,
``datasets``: forest-loss products, alert products with their encodings, and maps of the cut-off
day)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any, Literal, Union

from pydantic import (
    Discriminator,
    Field,
    Tag,
    field_validator,
    model_validator,
)

from ..i18n import tr
from ..vocab import ALERTS_KIND, CONFIDENCE_LEVELS
from .base import _Section

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
    established_column: str | None = Field(
        None,
        description="Column holding the year or date each cocoa plot was established (a year, a date or empty), as "
        "the cooperative registers it: a plot under cocoa before the cut-off with tree loss after it is weighed "
        "against the forest maps (docs/forest-at-cutoff.md)",
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
    def _needs(self) -> DatasetConfig:
        if self.kind == "hansen" and self.tree_cover is None:
            raise ValueError(tr("a 'hansen' dataset needs tree_cover (treecover2000)"))
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
    def _consistent(self) -> AlertEncoding:
        if self.confidence == "none":
            if self.levels:
                raise ValueError(tr("levels are given, but the encoding's confidence is 'none'"))
        elif not self.levels:
            raise ValueError(
                tr("confidence {confidence!r} needs levels (code -> low, high or highest)", confidence=self.confidence)
            )
        if any(code < 0 for code in self.levels):
            raise ValueError(tr("confidence codes are not negative"))
        if self.confidence == "leading_digit" and self.date == "yyyymmdd" and self.date_digits < 8:
            raise ValueError(tr("a YYYYMMDD date after a leading confidence digit needs date_digits: 8"))
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
            raise ValueError(
                tr(
                    "unknown alert encoding {value!r}: presets are {presets}",
                    value=value,
                    presets=", ".join(ALERT_PRESETS),
                )
            )
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
    def _preset(cls, v: Any) -> Any:
        return _encoding(v)

    @model_validator(mode="after")
    def _needs(self) -> AlertDatasetConfig:
        enc = self.encoding
        if enc.confidence == "band" and self.confidence_layer is None:
            raise ValueError(tr("an encoding with confidence 'band' needs confidence_layer"))
        if enc.confidence != "band" and self.confidence_layer is not None:
            raise ValueError(
                tr(
                    "confidence_layer is given, but the encoding's confidence is {confidence!r}",
                    confidence=enc.confidence,
                )
            )
        names = enc.level_names
        if names and CONFIDENCE_LEVELS.index(self.min_confidence) > CONFIDENCE_LEVELS.index(names[-1]):
            raise ValueError(
                tr(
                    "min_confidence {level!r}, but the encoding's levels are {levels}: no alert could ever count",
                    level=self.min_confidence,
                    levels=", ".join(names),
                )
            )
        if self.nodata is not None and self.nodata == 0:
            raise ValueError(tr("nodata 0 would read every pixel without an alert as no data; 0 means no alert"))
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


class ClassMapDatasetConfig(_Section):
    """A map of the cut-off day: where forest stood (``kind: forest_cover``: GFC2020, a Bosque / No
    bosque map) or where land was under agricultural use (``kind: land_use``: a plantation class,
    a cocoa map). Each layer keeps its own grid (docs/forest-at-cutoff.md)."""

    kind: Literal["forest_cover", "land_use"] = Field(description="'forest_cover' or 'land_use'")
    forest: LayerSpec | None = Field(
        None, description="forest_cover: the forest map (file, folder of tiles, glob or URLs)"
    )
    forest_values: list[int] = Field(
        default_factory=lambda: [1], description="forest_cover: the pixel values that mean forest (GFC2020: [1])"
    )
    land_use: LayerSpec | None = Field(
        None, description="land_use: the land-use map (file, folder of tiles, glob or URLs)"
    )
    agricultural_values: list[int] = Field(
        default_factory=list, description="land_use: the pixel values that mean agricultural use or tree crops"
    )
    date: dt.date | None = Field(None, description="The day the map describes (GFC2020: 2020-12-31)")
    nodata: int | None = Field(None, description="The no-data value (default: the file's)")

    @model_validator(mode="after")
    def _needs(self) -> ClassMapDatasetConfig:
        if self.kind == "forest_cover" and (self.forest is None or not self.forest_values):
            raise ValueError(tr("a 'forest_cover' dataset needs forest (the layer) and forest_values"))
        if self.kind == "land_use" and (self.land_use is None or not self.agricultural_values):
            raise ValueError(tr("a 'land_use' dataset needs land_use (the layer) and agricultural_values"))
        return self

    @property
    def layer(self) -> LayerSpec:
        out = self.forest if self.kind == "forest_cover" else self.land_use
        assert out is not None
        return out


def _dataset_tag(value: Any) -> str:
    kind = value.get("kind") if isinstance(value, dict) else getattr(value, "kind", None)
    return "alerts" if kind == ALERTS_KIND else ("class_map" if kind in ("forest_cover", "land_use") else "loss")


#: One entry of ``datasets``: a forest-loss product, an alert product (``kind: alerts``), or a map
#: of the cut-off day (``kind: forest_cover`` or ``land_use``).
AnyDataset = Annotated[
    Union[  # noqa: UP007
        Annotated[DatasetConfig, Tag("loss")],
        Annotated[AlertDatasetConfig, Tag("alerts")],
        Annotated[ClassMapDatasetConfig, Tag("class_map")],
    ],
    Discriminator(_dataset_tag),
]


#: The name of the alert product that ``alerts`` (``screen --alerts``) adds.
GFW_ALERTS_NAME = "gfw_integrated"
