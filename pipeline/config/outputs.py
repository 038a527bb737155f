"""The sections of what a job writes and where it runs: ``output``, ``execution``, ``baseline``,
``exports`` and ``report``."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

from pydantic import (
    Field,
    field_validator,
    model_validator,
)

from ..i18n import tr
from ..vocab import STATUSES
from .base import _fix, _gpkg_only, _Section


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
        tr(
            "unknown scheduler {value!r}: expected local, processes, threads or the address of a "
            "Dask scheduler such as tcp://host:8786",
            value=value,
        )
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
        25_000,
        ge=100,
        description="Plots in a chunk, screened two chunks at a time in location order (the others "
        "wait on disk beside the output): bounds memory; the results do not depend on it",
    )

    @field_validator("scheduler")
    @classmethod
    def _scheduler(cls, v: str) -> str:
        return parse_scheduler(v)


# --- Baseline -------------------------------------------------------------------------------------

# --- Baseline ---------------------------------------------------------------------------------


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
    def _period(self) -> BaselineConfig:
        if self.start_year is not None and self.end_year is not None and self.start_year > self.end_year:
            raise ValueError(
                tr(
                    "baseline.start_year ({start}) is after baseline.end_year ({end})",
                    start=self.start_year,
                    end=self.end_year,
                )
            )
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


#: The export formats, as ExportConfig.format lists them (tests/test_eudr.py checks one Writer each).
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
        "producer_name",
        description="eudr: plots column giving ProducerName (default: producer_name, productor... when present)",
    )
    producer_country_column: str | None = Field(
        "country",
        description="eudr: plots column giving ProducerCountry: an ISO 3166-1 code (PE, PER) or a country name "
        "(Peru, Perú) (default: country, pais... when present)",
    )
    producer_country: str | None = Field(
        None, description="eudr: one ProducerCountry for every plot (PE, PER or Peru), instead of a column"
    )
    production_place_column: str | None = Field(
        "place", description="eudr: plots column giving ProductionPlace (default: place, lugar... when present)"
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
    max_repair_change_pct: float = Field(
        5.0,
        ge=0,
        description="eudr: a plot whose repaired polygon differs from its declared or drawn area by more than this "
        "is held back for a person to look at",
    )
    include_flagged: bool = Field(
        False,
        description="eudr: export the plots held back (a repair that changed the area, a duplicated id), "
        "marked in the manifest's flag column",
    )

    @field_validator("statuses")
    @classmethod
    def _statuses(cls, v: list[str] | None) -> list[str] | None:
        if v is None:
            return None
        names = [s.strip() for item in v for s in str(item).split(",") if s.strip()]
        unknown = [s for s in names if s not in STATUSES]
        if unknown:
            raise ValueError(
                tr(
                    "unknown status(es) {unknown}; statuses are {statuses}",
                    unknown=", ".join(unknown),
                    statuses=", ".join(STATUSES),
                )
            )
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
