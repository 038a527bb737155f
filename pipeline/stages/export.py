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


def feature_json(properties: dict, geometry: str) -> str:
    """One GeoJSON Feature, compact, around a geometry already written as GeoJSON."""
    props = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
    return f'{{"type":"Feature","properties":{props},"geometry":{geometry}}}'


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
    ``status_basis``, ``outcome``, ``reason``; ``file`` and ``feature`` are filled by :func:`split_files`). The
    geometry work runs on all plots at once; only the rare plots to repair go one by one."""
    statuses = set(chosen_statuses(cfg))
    n = len(plots)
    geoms = np.asarray(plots.geometry.to_numpy(), dtype=object)
    status = plots["status"].astype(str).to_numpy()
    outcome = np.full(n, LEFT_OUT, dtype=object)
    reason = np.full(n, "", dtype=object)
    todo = np.isin(status, list(statuses))
    reason[~todo] = [f"status {s} (exported: {', '.join(sorted(statuses))})" for s in status[~todo]]
    empty = shapely.is_missing(geoms) | shapely.is_empty(geoms)
    reason[todo & empty] = "no geometry"
    todo &= ~empty

    def col(name: str | None) -> np.ndarray:
        return plots[name].to_numpy(dtype=object) if name is not None else np.full(n, None, dtype=object)

    names, places = col(columns.producer_name), col(columns.production_place)
    if columns.country is not None:
        countries = np.full(n, columns.country, dtype=object)
    else:
        countries = np.array(
            [c.upper() if (c := _text(v)) else None for v in col(columns.producer_country)], dtype=object
        )
    bad = todo & np.array([c is not None and c not in ISO_COUNTRIES for c in countries], dtype=bool)
    reason[bad] = [f"country {c!r} is not an ISO 3166-1 alpha-2 code" for c in countries[bad]]
    todo &= ~bad

    kind = shapely.get_type_id(geoms)
    area = pd.to_numeric(plots["area_ha"], errors="coerce").to_numpy(dtype="float64", na_value=np.nan)
    point = todo & (kind == 0)
    reason[point & ~np.isfinite(area)] = "a point without an area"
    large = point & np.isfinite(area) & (area > cfg.point_max_ha)
    reason[large] = [
        f"a point for a plot of {a:.2f} ha: over {cfg.point_max_ha:g} ha the EUDR asks for the plot's polygon"
        for a in area[large]
    ]
    point &= np.isfinite(area) & ~large
    polygon = todo & np.isin(kind, (3, 6))
    other = todo & ~point & ~polygon & (kind != 0)
    reason[other] = [f"a {g.geom_type}, not a polygon or a point" for g in geoms[other]]

    grid = 10.0**-cfg.decimals
    out = np.full(n, None, dtype=object)
    out[point] = shapely.set_precision(geoms[point], grid, mode="pointwise")
    rounded = shapely.set_precision(geoms[polygon], grid, mode="pointwise")
    fine = shapely.is_valid(rounded) & ~shapely.is_empty(rounded) & (shapely.area(rounded) > 0)
    at = np.flatnonzero(polygon)
    out[at[fine]] = rounded[fine]
    for i in at[~fine]:  # invalid after rounding, or invalid in the file: repaired one by one
        fixed, note = _round_polygonal(geoms[i], cfg.decimals)
        if fixed is None:
            reason[i] = str(note)
        else:
            out[i], reason[i], outcome[i] = fixed, str(note), REPAIRED
    done = np.array([g is not None for g in out], dtype=bool)
    polys = done & polygon
    out[polys] = shapely.orient_polygons(out[polys])
    single = polys & (shapely.get_type_id(out) == 6) & (shapely.get_num_geometries(out) == 1)
    out[single] = shapely.get_geometry(out[single], 0)  # a one-part MultiPolygon is a Polygon
    outcome[done & (outcome == LEFT_OUT)] = EXPORTED
    texts = shapely.to_geojson(out[done])
    features = []
    for k, i in enumerate(np.flatnonzero(done)):
        props: dict = {}
        for key, value in (("ProducerName", _text(names[i])), ("ProducerCountry", countries[i]),
                           ("ProductionPlace", _text(places[i]))):  # fmt: skip
            if value is not None:
                props[key] = value
        if point[i]:
            props["Area"] = round(float(area[i]), 4)
        features.append(feature_json(props, texts[k]))
    index = np.full(n, -1, dtype="int64")
    index[done] = np.arange(int(done.sum()))
    manifest = pd.DataFrame(
        {
            "source_row": plots["source_row"].to_numpy(dtype="int64"),
            "plot_id": plots["plot_id"].astype(str).to_numpy(),
            "status": status,
            # which plots go in on a field check (a screening with reviews) rather than the satellite
            "status_basis": plots["status_basis"].fillna("satellite").astype(str).to_numpy()
            if "status_basis" in plots.columns
            else np.full(n, "satellite", dtype=object),
            "outcome": outcome,
            "reason": reason,
            "feature_index": index,
        }
    )
    return features, manifest


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
    idx = m["feature_index"].to_numpy()
    file_of = np.full(len(features), "", dtype=object)
    position = np.zeros(len(features), dtype="int64")
    for i, (name, k) in where.items():
        file_of[i], position[i] = name, k
    sent = idx >= 0
    m["file"] = ""
    m.loc[sent, "file"] = file_of[idx[sent]]
    m["feature"] = pd.array([pd.NA] * len(m), dtype="Int64")
    m.loc[sent, "feature"] = position[idx[sent]]
    dropped = sent & np.isin(idx, sorted(too_big))
    m.loc[dropped, "outcome"] = LEFT_OUT
    m.loc[dropped, "reason"] = f"its GeoJSON alone is over {max_bytes / 1e6:g} MB"
    m.loc[dropped, "feature"] = pd.NA
    return files, m[MANIFEST_COLUMNS]
