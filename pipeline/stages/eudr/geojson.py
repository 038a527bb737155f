"""GeoJSON text of an EUDR file: coordinates with exactly ``decimals`` digits, files of a bounded
size, and the strict RFC 7946 check every file passes.

* :func:`geometry_json` — a Point, Polygon or MultiPolygon as GeoJSON, each coordinate formatted
  with ``%.<decimals>f`` (``-8.421570``, never ``-8.421569999999999``; trailing zeros kept);
* :func:`split_files` — features into FeatureCollections of at most ``max_bytes`` each;
* :func:`rfc7946_problems` — what keeps a file from being strict RFC 7946 as the EU information
  system reads it: a ``crs`` member, an unclosed or short ring, an exterior ring not
  counter-clockwise, a hole, a coordinate out of range or without exactly ``decimals`` decimals.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import shapely

from .geometry import MULTIPOLYGON, POINT, POLYGON

HEAD, TAIL = '{"type":"FeatureCollection","features":[\n', "\n]}\n"


def _ring_text(xy: np.ndarray, fmt: str) -> str:
    """A ring's positions, formatted by one %-operation over the whole ring (fast: no loop in Python)."""
    return "[" + ",".join([f"[{fmt},{fmt}]"] * len(xy)) % tuple(xy.ravel().tolist()) + "]"


def _polygon_text(poly: shapely.Geometry, fmt: str) -> str:
    rings = shapely.get_rings(poly)
    return "[" + ",".join(_ring_text(shapely.get_coordinates(r) + 0.0, fmt) for r in rings) + "]"


def geometry_json(geom: shapely.Geometry, decimals: int) -> str:
    """``geom`` (Point, Polygon or MultiPolygon, already on the grid) as compact GeoJSON with
    exactly ``decimals`` digits after the point in every coordinate (``+ 0.0`` turns -0 into 0)."""
    fmt = f"%.{decimals}f"
    kind = shapely.get_type_id(geom)
    if kind == POINT:
        x, y = shapely.get_coordinates(geom)[0] + 0.0
        return f'{{"type":"Point","coordinates":[{fmt % x},{fmt % y}]}}'
    if kind == POLYGON:
        return f'{{"type":"Polygon","coordinates":{_polygon_text(geom, fmt)}}}'
    if kind == MULTIPOLYGON:
        parts = ",".join(_polygon_text(p, fmt) for p in shapely.get_parts(geom))
        return f'{{"type":"MultiPolygon","coordinates":[{parts}]}}'
    raise ValueError(f"not a Point, Polygon or MultiPolygon: {geom.geom_type}")  # pragma: no cover


def feature_json(properties: Mapping[str, object], geometry: str) -> str:
    """One GeoJSON Feature, compact, around a geometry already written as GeoJSON."""
    props = json.dumps(properties, ensure_ascii=False, separators=(",", ":"))
    return f'{{"type":"Feature","properties":{props},"geometry":{geometry}}}'


def split_files(
    features: list[str], manifest: pd.DataFrame, max_bytes: int, stem: str = "eudr"
) -> tuple[dict[str, str], pd.DataFrame]:
    """FeatureCollections of at most ``max_bytes`` (UTF-8) each, named ``<stem>-001.geojson``...;
    the manifest (with ``feature_index``, -1 for a plot not exported) gains ``file`` and ``feature``
    (1-based position in the file). A feature too large for a file on its own is left out."""
    base = len((HEAD + TAIL).encode())
    files: dict[str, str] = {}
    file_of = np.full(len(features), "", dtype=object)
    position = np.zeros(len(features), dtype="int64")
    current: list[int] = []
    size = base
    sizes = [len(text.encode()) for text in features]

    def flush() -> None:
        if current:
            name = f"{stem}-{len(files) + 1:03d}.geojson"
            files[name] = HEAD + ",\n".join(features[i] for i in current) + TAIL
            file_of[current] = name
            position[current] = np.arange(1, len(current) + 1)

    for idx, n in enumerate(sizes):
        if base + n > max_bytes:
            continue  # too big for any file
        if size + n + (2 if current else 0) > max_bytes:
            flush()
            current, size = [], base
        size += n + (2 if current else 0)
        current.append(idx)
    flush()
    m = manifest.copy()
    index = m["feature_index"].to_numpy()
    sent = index >= 0
    m["file"] = ""
    m.loc[sent, "file"] = file_of[index[sent]]
    m["feature"] = pd.array([pd.NA] * len(m), dtype="Int64")
    m.loc[sent, "feature"] = position[index[sent]]
    dropped = sent & (m["file"] == "").to_numpy()
    m.loc[dropped, "outcome"] = "left_out"
    m.loc[dropped, "reason"] = f"its GeoJSON alone is over {max_bytes / 1e6:g} MB"
    m.loc[dropped, "feature"] = pd.NA
    m = m.drop(columns="feature_index")
    at = list(m.columns).index("outcome") + 1
    order = [*m.columns[:at].drop(["file", "feature"], errors="ignore"), "file", "feature"]
    return files, m[order + [c for c in m.columns if c not in order]]


_COORDINATES = re.compile(r'"coordinates"\s*:\s*(\[[-0-9.,\s\[\]eE+]*\])')
_NUMBER = re.compile(r"-?\d+(?:\.(\d*))?(?:[eE][-+]?\d+)?")


def _decimal_problems(text: str, decimals: int) -> list[str]:
    """Every coordinate as written must have exactly ``decimals`` digits after the point: once the
    well-written numbers are taken out of each ``coordinates`` array, only brackets and commas are left."""
    good = re.compile(rf"-?\d+\.\d{{{decimals}}}(?![\d.eE])")
    for block in _COORDINATES.findall(text):
        rest = good.sub("", block)
        if rest.strip("[], \n"):
            bad = _NUMBER.search(block[block.find(rest.strip("[], \n")[:1]) - 20 :]) if rest else None
            return [f"a coordinate has not exactly {decimals} decimals (near {bad.group(0) if bad else rest[:20]})"]
    return []


def _ring_problems(ring: list[Any], where: str, exterior: bool) -> list[str]:  # parsed JSON
    out = []
    if len(ring) < 4:
        out.append(f"{where}: a ring of {len(ring)} positions (at least 4)")
    if ring and ring[0] != ring[-1]:
        out.append(f"{where}: the ring is not closed")
    xy = np.array(ring, dtype="float64")
    if xy.ndim != 2 or xy.shape[1] != 2:
        return [*out, f"{where}: positions of other than 2 values (longitude, latitude)"]
    if not ((np.abs(xy[:, 0]) <= 180).all() and (np.abs(xy[:, 1]) <= 90).all()):
        out.append(f"{where}: a position out of range")
    signed = np.sum(xy[:-1, 0] * xy[1:, 1] - xy[1:, 0] * xy[:-1, 1])
    if exterior and len(ring) >= 4 and signed <= 0:
        out.append(f"{where}: the exterior ring is not counter-clockwise (right-hand rule)")
    return out


def _geometry_problems(geom: dict[str, Any], where: str) -> list[str]:  # parsed JSON
    kind, coords = geom.get("type"), geom.get("coordinates")
    if kind == "Point":
        ok = isinstance(coords, list) and len(coords) == 2 and abs(coords[0]) <= 180 and abs(coords[1]) <= 90
        return [] if ok else [f"{where}: a point of other than 2 values, or out of range"]
    polygons = [coords] if kind == "Polygon" else coords if kind == "MultiPolygon" else None
    if polygons is None:
        return [f"{where}: geometry type {kind} (Point, Polygon or MultiPolygon)"]
    out = []
    for k, rings in enumerate(polygons):
        if len(rings) != 1:
            out.append(f"{where}: polygon {k + 1} has {len(rings) - 1} hole(s)")
        for r, ring in enumerate(rings):
            out.extend(_ring_problems(ring, where, r == 0))
    return out


def rfc7946_problems(text: str, decimals: int) -> list[str]:
    """Every way ``text`` (a FeatureCollection) fails strict RFC 7946 as the EUDR file needs it: a
    ``crs`` member, a geometry other than Point, Polygon or MultiPolygon, a hole, a ring unclosed,
    short or not counter-clockwise, a position out of range, a coordinate not written with exactly
    ``decimals`` decimals (checked in the text as written). [] when it passes."""
    try:
        doc = json.loads(text)
    except ValueError as exc:
        return [f"not JSON ({exc})"]
    if not isinstance(doc, dict) or doc.get("type") != "FeatureCollection" or not isinstance(doc.get("features"), list):
        return ["not a FeatureCollection"]
    out = ["a crs member (RFC 7946 has none)"] if "crs" in doc else []
    for i, f in enumerate(doc["features"]):
        where = f"feature {i + 1}"
        if (
            not isinstance(f, dict)
            or f.get("type") != "Feature"
            or "crs" in f
            or not isinstance(f.get("geometry"), dict)
        ):
            out.append(f"{where}: not a Feature with a geometry, or with a crs member")
            continue
        out.extend(_geometry_problems(f["geometry"], where))
    return out + _decimal_problems(text, decimals)
