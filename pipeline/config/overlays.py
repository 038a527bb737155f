"""Overlays: vector layers laid over the plots (protected areas, native communities' lands,
concessions; docs/overlays.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import Field, field_validator

from ..i18n import tr
from .base import _NAME, _Section


class OverlayConfig(_Section):
    """A vector layer to overlay on the plots: protected areas, native communities' lands,
    concessions (``overlays`` of a job; ``--overlay``; docs/overlays.md)."""

    name: str = Field(description="Name of the overlay: it prefixes its columns (<name>_overlap_ha...)")
    file: Path = Field(description="Vector file (GeoPackage, Shapefile, GeoJSON... any CRS)")
    layer: str | None = Field(None, description="Layer of the file (default: its first)")
    kind: Literal["protected_area", "indigenous_land", "concession", "other"] = Field(
        "other", description="What the layer holds"
    )
    name_column: str | None = Field(None, description="Column naming each feature (default: <name> #<n>)")
    effect: Literal["review", "flag", "exclude"] = Field(
        "review",
        description="review: a deforestation-free plot overlapping it becomes review; flag: reported only; "
        "exclude: reported, and left out of the EUDR export",
    )

    @field_validator("name")
    @classmethod
    def _name(cls, v: str) -> str:
        if not _NAME.match(v):
            raise ValueError(
                tr("overlay name {name!r}: use lower-case letters, digits and '_' (it prefixes output columns)", name=v)
            )
        return v

    @classmethod
    def parse(cls, spec: Any) -> Any:
        """``name=anp,file=anp.gpkg,kind=protected_area,effect=review`` (``--overlay``) as a dict."""
        if not isinstance(spec, str):
            return spec
        out = {}
        for item in spec.split(","):
            key, sep, value = item.partition("=")
            if not sep or not key.strip():
                raise ValueError(
                    tr(
                        "overlay {spec!r}: expected key=value pairs separated by commas (name=...,file=...)",
                        spec=spec,
                    )
                )
            out[key.strip()] = value.strip()
        return out
