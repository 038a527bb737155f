"""Exports of a screening (frames in, frames and text out; :mod:`pipeline.io.export` writes them).

* :func:`select_rows` — the rows of the chosen statuses, for every format;
* :func:`eudr_features` — the EU Deforestation Regulation's GeoJSON: one Feature per exported plot,
  with ``ProducerName``, ``ProducerCountry`` (ISO 3166-1 alpha-2), ``ProductionPlace`` and, for a
  point, its ``Area`` in hectares; coordinates in WGS84 with 6 decimals, checked again after
  rounding (an invalid plot is repaired at that precision and reported, never exported broken);
  points only for plots up to 4 ha; every plot in a manifest saying where it went or why not;
* :func:`split_files` — features into FeatureCollections of at most 25 MB each (the EU information
  system's limit per statement).
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from ..config import ExportConfig
from ..errors import ConfigError
from ..vocab import FREE, STATUSES
from .qc.geometry import polygonal_parts

#: Officially assigned ISO 3166-1 alpha-2 country codes.
ISO_COUNTRIES = frozenset(
    """AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ BR BS BT BV
    BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET
    FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM
    IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD
    ME MF MG MH MK ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST
    SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI VN VU WF WS
    YE YT ZA ZM ZW""".split()
)

#: What became of a plot in an EUDR export (column ``outcome`` of the manifest).
EXPORTED, REPAIRED, LEFT_OUT = "exported", "repaired", "left_out"
MANIFEST_COLUMNS = ["source_row", "plot_id", "status", "outcome", "file", "feature", "reason"]


def chosen_statuses(cfg: ExportConfig) -> list[str]:
    """The statuses exported: the configured ones, else only deforestation_free for eudr and every
    status for the other formats."""
    if cfg.statuses:
        return list(cfg.statuses)
    return [FREE] if cfg.format == "eudr" else list(STATUSES)


def select_rows(frame: pd.DataFrame, statuses: Iterable[str]) -> pd.DataFrame:
    """The rows whose ``status`` is one of ``statuses`` (every row of a layer without a status)."""
    if "status" not in frame.columns:
        return frame
    return frame[frame["status"].astype(str).isin(list(statuses))]


@dataclass(frozen=True)
class EudrColumns:
    """Which plots columns give the statement's properties (None: not given)."""

    producer_name: str | None
    producer_country: str | None
    production_place: str | None
    country: str | None  # one country for every plot, instead of a column


def eudr_columns(columns: Iterable[str], cfg: ExportConfig, source: str = "screening") -> EudrColumns:
    """The columns to read, from the config: a column named explicitly must exist (ConfigError
    naming those there are); a default one is used when present."""
    have = list(columns)
    fields = ExportConfig.model_fields
    picked = {}
    for key in ("producer_name_column", "producer_country_column", "production_place_column"):
        name = getattr(cfg, key)
        if name is not None and name not in have:
            if name != fields[key].default:
                raise ConfigError(
                    f"{source}: no column {name!r} for {key.replace('_column', '')} (the plots have: {', '.join(have)})"
                )
            name = None
        picked[key] = name
    country = None
    if cfg.producer_country is not None:
        country = cfg.producer_country.strip().upper()
        if country not in ISO_COUNTRIES:
            raise ConfigError(f"producer_country {cfg.producer_country!r} is not an ISO 3166-1 alpha-2 code (e.g. PE)")
        picked["producer_country_column"] = None
    return EudrColumns(
        picked["producer_name_column"], picked["producer_country_column"], picked["production_place_column"], country
    )


def _text(value) -> str | None:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return None
    text = str(value).strip()
    return text or None


def _coords(geom: shapely.Geometry, decimals: int) -> dict:
    """The GeoJSON geometry of ``geom``, coordinates written with ``decimals`` decimals."""

    def pos(xy) -> list:  # Python writes a rounded float with at most these decimals
        return [round(float(xy[0]), decimals), round(float(xy[1]), decimals)]

    def ring(r) -> list:
        return [pos(c) for c in r.coords]

    def polygon(p) -> list:
        return [ring(p.exterior), *(ring(i) for i in p.interiors)]

    kind = geom.geom_type
    if kind == "Point":
        return {"type": "Point", "coordinates": pos(geom.coords[0])}
    if kind == "Polygon":
        return {"type": "Polygon", "coordinates": polygon(geom)}
    return {"type": "MultiPolygon", "coordinates": [polygon(p) for p in geom.geoms]}


def feature_json(properties: dict, geometry: dict) -> str:
    """One GeoJSON Feature, compact."""
    feature = {"type": "Feature", "properties": properties, "geometry": geometry}
    return json.dumps(feature, ensure_ascii=False, separators=(",", ":"))


def _single(geom: shapely.Geometry) -> shapely.Geometry:
    """A MultiPolygon of one part as that Polygon (GeoPackage layers promote every plot to multi)."""
    return geom.geoms[0] if geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1 else geom


def _round_polygonal(geom: shapely.Geometry, decimals: int) -> tuple[shapely.Geometry | None, str | None]:
    """``geom`` (polygonal) on the ``decimals`` grid: (geometry, None) when still valid, (repair,
    "repaired: ...") when rounding made it invalid or it was invalid, (None, reason) when nothing
    usable is left."""
    grid = 10.0**-decimals
    rounded = shapely.set_precision(geom, grid, mode="pointwise")
    if shapely.is_valid(rounded) and not rounded.is_empty and rounded.area > 0:
        return _single(shapely.orient_polygons(rounded)), None
    why = shapely.is_valid_reason(rounded) if not rounded.is_empty else "collapsed"
    fixed = shapely.set_precision(shapely.make_valid(geom), grid, mode="valid_output")
    fixed, _ = polygonal_parts(np.array([fixed], dtype=object))
    g = fixed[0]
    if g is None or g.is_empty or not shapely.is_valid(g) or g.area <= 0:
        return None, f"no valid polygon is left at {decimals} decimals ({why})"
    was = "invalid" if not shapely.is_valid(geom) else f"invalid after rounding to {decimals} decimals"
    return _single(shapely.orient_polygons(g)), f"repaired: the polygon was {was} ({why}); exported as repaired"


def eudr_features(plots: pd.DataFrame, cfg: ExportConfig, columns: EudrColumns) -> tuple[list[str], pd.DataFrame]:
    """The Features of the plots to export, and the manifest (one row per plot, in order).

    Returns (features as JSON text, manifest with ``source_row``, ``plot_id``, ``status``,
    ``outcome``, ``reason``; ``file`` and ``feature`` are filled by :func:`split_files`)."""
    statuses = set(chosen_statuses(cfg))
    features: list[str] = []
    rows = []
    geoms = plots.geometry.to_numpy()
    n = len(plots)

    def col(name: str | None) -> np.ndarray:
        return plots[name].to_numpy(dtype=object) if name is not None else np.full(n, None, dtype=object)

    names, countries, places = col(columns.producer_name), col(columns.producer_country), col(columns.production_place)
    area = pd.to_numeric(plots["area_ha"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    status = plots["status"].astype(str).to_numpy()
    for i in range(n):
        row = {
            "source_row": int(plots["source_row"].iloc[i]),
            "plot_id": str(plots["plot_id"].iloc[i]),
            "status": status[i],
            "outcome": LEFT_OUT,
            "reason": "",
            "feature_index": -1,
        }
        rows.append(row)
        if status[i] not in statuses:
            row["reason"] = f"status {status[i]} (exported: {', '.join(sorted(statuses))})"
            continue
        g = geoms[i]
        if g is None or g.is_empty:
            row["reason"] = "no geometry"
            continue
        country = columns.country or _text(countries[i])
        if country is not None:
            country = country.upper()
            if country not in ISO_COUNTRIES:
                row["reason"] = f"country {country!r} is not an ISO 3166-1 alpha-2 code"
                continue
        props: dict = {}
        for key, value in (("ProducerName", _text(names[i])), ("ProducerCountry", country),
                           ("ProductionPlace", _text(places[i]))):  # fmt: skip
            if value is not None:
                props[key] = value
        kind = g.geom_type
        if kind == "Point":
            if not np.isfinite(area[i]):
                row["reason"] = "a point without an area"
                continue
            if area[i] > cfg.point_max_ha:
                row["reason"] = (
                    f"a point for a plot of {area[i]:.2f} ha: over {cfg.point_max_ha:g} ha the EUDR asks for the "
                    "plot's polygon"
                )
                continue
            props["Area"] = round(float(area[i]), 4)
            geometry = _coords(shapely.set_precision(g, 10.0**-cfg.decimals, mode="pointwise"), cfg.decimals)
        elif kind in ("Polygon", "MultiPolygon"):
            fixed, note = _round_polygonal(g, cfg.decimals)
            if fixed is None:
                row["reason"] = str(note)
                continue
            if note is not None:
                row["outcome"], row["reason"] = REPAIRED, note
            geometry = _coords(fixed, cfg.decimals)
        else:
            row["reason"] = f"a {kind}, not a polygon or a point"
            continue
        if row["outcome"] == LEFT_OUT:
            row["outcome"] = EXPORTED
        row["feature_index"] = len(features)
        features.append(feature_json(props, geometry))
    return features, pd.DataFrame(rows)


@dataclass
class ExportResult:
    """What an export wrote: the path, the rows written, and for eudr the files and the manifest."""

    path: object
    format: str
    rows: int
    files: list[str] | None = None
    manifest: pd.DataFrame | None = None

    def outcomes(self) -> dict[str, int]:
        """eudr: plots exported, repaired (and exported), left out."""
        if self.manifest is None:
            return {}
        counts = self.manifest["outcome"].value_counts()
        return {k: int(counts.get(k, 0)) for k in (EXPORTED, REPAIRED, LEFT_OUT)}


HEAD, TAIL = '{"type":"FeatureCollection","features":[\n', "\n]}\n"


def split_files(
    features: list[str], manifest: pd.DataFrame, max_bytes: int, stem: str = "eudr"
) -> tuple[dict[str, str], pd.DataFrame]:
    """FeatureCollections of at most ``max_bytes`` (UTF-8) each, named ``<stem>-001.geojson``...;
    the manifest gains ``file`` and ``feature`` (1-based position in the file). A feature too large
    for a file on its own is left out, with the reason."""
    files: dict[str, str] = {}
    where: dict[int, tuple[str, int]] = {}
    too_big: set[int] = set()
    current: list[str] = []
    size = len((HEAD + TAIL).encode())
    first: list[int] = []

    def flush():
        if current:
            name = f"{stem}-{len(files) + 1:03d}.geojson"
            files[name] = HEAD + ",\n".join(current) + TAIL
            for k, idx in enumerate(first):
                where[idx] = (name, k + 1)

    base = len((HEAD + TAIL).encode())
    for idx, text in enumerate(features):
        n = len(text.encode())
        if base + n > max_bytes:
            too_big.add(idx)
            continue
        extra = n + (2 if current else 0)
        if size + extra > max_bytes:
            flush()
            current, first, size = [], [], base
            extra = n
        current.append(text)
        first.append(idx)
        size += extra
    flush()
    m = manifest.copy()
    m["file"] = ""
    m["feature"] = pd.array([pd.NA] * len(m), dtype="Int64")
    for pos, idx in enumerate(m["feature_index"].to_numpy()):
        if idx < 0:
            continue
        if idx in too_big:
            m.iloc[pos, m.columns.get_loc("outcome")] = LEFT_OUT
            m.iloc[pos, m.columns.get_loc("reason")] = f"its GeoJSON alone is over {max_bytes / 1e6:g} MB"
            continue
        name, k = where[idx]
        m.iloc[pos, m.columns.get_loc("file")] = name
        m.iloc[pos, m.columns.get_loc("feature")] = k
    return files, m[MANIFEST_COLUMNS]
