"""The screening's sections: the forest definition and the rules (``screening``), quality
control (``qc``)."""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import (
    Field,
)

from .base import _Section

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


class ForestAtCutoffConfig(_Section):
    """The forest rule: loss after the cut-off counts only on cells that were forest at the cut-off
    according to these forest_cover products, combined by ``rule`` (docs/forest-at-cutoff.md)."""

    products: list[str] | None = Field(
        None, description="The forest_cover products that take part (default: every forest_cover product)"
    )
    rule: Literal["any", "all", "majority"] = Field(
        "any",
        description="'any': forest where any map says so; 'all': where every map does; 'majority': where at least "
        "half of the maps with data do",
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

    forest_at_cutoff: ForestAtCutoffConfig = Field(
        default_factory=lambda: ForestAtCutoffConfig(),
        description="Which forest_cover products say where forest stood at the cut-off, and the rule that combines "
        "them (YAML only)",
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
    edge_buffer_m: float = Field(
        30.0,
        ge=0,
        description="A plot whose loss patches all lie within this many metres of its boundary gets edge_only_loss "
        "(about one Landsat pixel plus GPS error): check the boundary before the forest",
    )
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
