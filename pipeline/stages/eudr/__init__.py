"""The EUDR GeoJSON export: the statement's fields (:mod:`.fields`), the geometries (:mod:`.geometry`),
the features and manifest (:mod:`.features`), the files and their strict check (:mod:`.geojson`)."""

from .features import (
    DUPLICATED_ID,
    EXPORTED,
    LEFT_OUT,
    MANIFEST_COLUMNS,
    REPAIRED,
    OverlayEffect,
    declared_area_column,
    eudr_features,
)
from .fields import EudrColumns, country_code, eudr_columns
from .geojson import geometry_json, rfc7946_problems, split_files

__all__ = [
    "DUPLICATED_ID",
    "EXPORTED",
    "LEFT_OUT",
    "MANIFEST_COLUMNS",
    "REPAIRED",
    "EudrColumns",
    "OverlayEffect",
    "country_code",
    "declared_area_column",
    "eudr_columns",
    "eudr_features",
    "geometry_json",
    "rfc7946_problems",
    "split_files",
]
