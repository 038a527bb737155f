"""The evidence of a verdict: what a page per ``review`` or ``deforestation_detected`` plot shows.

For each such plot, :func:`plot_evidence` gathers, from the screening's layers (frames):

* the plot, its loss patches and its neighbours (plots within :data:`NEIGHBOUR_M` metres),
  in metres on a plane tangent at the plot (ready to draw at scale);
* the loss by year and product (``loss_by_year``);
* the decision trace: each status rule in order, with the numbers it looked at and whether it
  applied (:func:`decision_trace`), then the edge flag and the field check;
* the quality-control findings (``plot_issues``);
* links that open the place in Global Forest Watch, Google Earth and OpenStreetMap (links only:
  nothing is fetched), and a KML of the plot and its patches.

Pure functions on frames; :mod:`pipeline.io.evidence` writes the pages.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Hashable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeAlias
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import shapely

from ..config import ScreeningConfig
from ..engine.arrays import BaseGeometry
from ..i18n import N_, Texts
from ..vocab import DETECTED, INVALID, NOT_ASSESSED, REVIEW, ZERO_HA
from .patches import local_metres

#: Plots within this distance (m) of a plot are drawn on its map as neighbours.
NEIGHBOUR_M = 150.0
#: The statuses that get a page.
EVIDENCE_STATUSES = (REVIEW, DETECTED)

#: The decision trace's rules (one complete format string each; ``applies`` says whether it decided).
RULE_TEXTS = Texts(
    {
        INVALID: N_("a quality-control error makes the geometry unscreenable (quality control: {qc})"),
        NOT_ASSESSED: N_("valid raster data under {coverage:.1f} % of the plot (at least {minimum:g} % needed)"),
        DETECTED: N_(
            "{after:.4f} ha of forest lost after {ref} (more than {tolerance:g} ha gives deforestation_detected)"
        ),
        REVIEW: N_("{after:.4f} ha of forest lost after {ref} (any loss up to {tolerance:g} ha gives review)"),
        "deforestation_free": N_("no forest loss after {ref}"),
    }
)


@dataclass
class Rule:
    """One line of the decision trace: the rule (the status it gives), the numbers it read, and
    whether it decided (``applies``), did not apply, or was not reached (``None``)."""

    status: str
    test: str
    applies: bool | None


#: A row of a frame, as ``DataFrame.to_dict("records")`` gives it.
Record: TypeAlias = "dict[Hashable, Any]"


@dataclass
class PlotEvidence:
    plot_id: str
    slug: str
    row: Record  # the plot's row of the plots layer (no geometry)
    centre: tuple[float, float]  # lon, lat
    plot_m: BaseGeometry  # the plot in metres around its centre
    patches: list[Record]  # the plot's loss patches (rows of ``loss_patches``), with ``geometry_m``
    neighbours: list[tuple[str, str, BaseGeometry]]  # (plot id, status, geometry in metres)
    loss: list[tuple[int, str, float]]  # (year, product, ha), by year
    trace: list[Rule]
    issues: list[tuple[str, str, str]]  # code, severity, message
    links: dict[str, str] = field(default_factory=dict)
    kml: str = ""


def page_slugs(plot_ids: Iterable[object]) -> dict[str, str]:
    """A file name (without extension) for each plot id: safe on every file system, unique
    (case aside), kept readable; the row position breaks ties."""
    out: dict[str, str] = {}
    taken: set[str] = set()
    for k, pid in enumerate(map(str, plot_ids)):
        if pid in out:
            continue
        base = re.sub(r"[^A-Za-z0-9_-]+", "-", pid).strip("-")[:60] or "plot"
        slug = base if base.lower() not in taken else f"{base[:50]}-{k + 1}"
        taken.add(slug.lower())
        out[pid] = slug
    return out


def decision_trace(row: Mapping[Hashable, Any], cfg: ScreeningConfig) -> list[Rule]:
    """The status rules of :mod:`.rules` in order, on the plot's figures: the first that
    applies decides; the ones after it are not reached."""
    ref, tolerance = cfg.reference_year, cfg.review_max_ha
    coverage = float(row.get("data_coverage_pct") or 0.0)
    after = float(np.nan_to_num(pd.to_numeric(pd.Series([row.get("loss_after_ref_ha")]), errors="coerce").iloc[0]))
    qc = str(row.get("qc_status") or "ok")
    tests = [
        (INVALID, RULE_TEXTS[INVALID].format(qc=qc), row.get("satellite_status", row["status"]) == INVALID),
        (
            NOT_ASSESSED,
            RULE_TEXTS[NOT_ASSESSED].format(coverage=coverage, minimum=cfg.min_data_coverage_pct),
            coverage < cfg.min_data_coverage_pct,
        ),
        (DETECTED, RULE_TEXTS[DETECTED].format(after=after, ref=ref, tolerance=tolerance), after > tolerance),
        (REVIEW, RULE_TEXTS[REVIEW].format(after=after, ref=ref, tolerance=tolerance), after >= ZERO_HA),
        ("deforestation_free", RULE_TEXTS["deforestation_free"].format(ref=ref), True),
    ]
    out, decided = [], False
    for status, test, applies in tests:
        out.append(Rule(status, test, None if decided else bool(applies)))
        decided = decided or bool(applies)
    return out


def place_links(lon: float, lat: float) -> dict[str, str]:
    """Links that open the place (nothing is fetched)."""
    gfw = base64.b64encode(json.dumps({"center": {"lat": round(lat, 6), "lng": round(lon, 6)}, "zoom": 15}).encode())
    return {
        "Global Forest Watch": f"https://www.globalforestwatch.org/map/?map={gfw.decode()}",
        "Google Earth": f"https://earth.google.com/web/@{lat:.6f},{lon:.6f},300a,1500d,35y,0h,0t,0r",
        "OpenStreetMap": f"https://www.openstreetmap.org/?mlat={lat:.6f}&mlon={lon:.6f}#map=17/{lat:.6f}/{lon:.6f}",
    }


def _kml_rings(geom: BaseGeometry) -> str:
    out = []
    for poly in shapely.get_parts(geom):
        rings = [poly.exterior, *poly.interiors]
        parts = []
        for k, ring in enumerate(rings):
            coords = " ".join(f"{x:.7f},{y:.7f}" for x, y in ring.coords)
            tag = "outerBoundaryIs" if k == 0 else "innerBoundaryIs"
            parts.append(f"<{tag}><LinearRing><coordinates>{coords}</coordinates></LinearRing></{tag}>")
        out.append(f"<Polygon>{''.join(parts)}</Polygon>")
    return f"<MultiGeometry>{''.join(out)}</MultiGeometry>"


def plot_kml(plot_id: str, status: str, geom: BaseGeometry, patches: list[Record]) -> str:
    """A KML document of the plot and its loss patches (opens in Google Earth)."""
    marks = [
        f"<Placemark><name>{escape(plot_id)}</name><description>{escape(status)}</description>"
        f"<styleUrl>#plot</styleUrl>{_kml_rings(geom)}</Placemark>"
    ]
    for p in patches:
        if p["geometry"] is None or p["geometry"].is_empty:
            continue
        name = "{product} {year}: {area:.4f} ha".format(product=p["product"], year=p["year"], area=p["area_ha"])
        marks.append(
            f"<Placemark><name>{escape(name)}</name><styleUrl>#patch</styleUrl>{_kml_rings(p['geometry'])}</Placemark>"
        )
    styles = (
        '<Style id="plot"><LineStyle><color>ff00ffff</color><width>2</width></LineStyle>'
        "<PolyStyle><fill>0</fill></PolyStyle></Style>"
        '<Style id="patch"><LineStyle><color>ff1c1ae3</color><width>1</width></LineStyle>'
        "<PolyStyle><color>991c1ae3</color></PolyStyle></Style>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n<kml xmlns="http://www.opengis.net/kml/2.2"><Document>'
        f"<name>{escape(plot_id)}</name>{styles}{''.join(marks)}</Document></kml>\n"
    )


def _records_by_plot(frame: pd.DataFrame | None, keep: set[str], columns: list[str]) -> dict[str, list[Record]]:
    """The rows of ``frame`` whose ``plot_id`` is in ``keep``, as dicts of ``columns``, by plot."""
    out: dict[str, list[Record]] = {}
    if frame is None or not len(frame):
        return out
    rows = frame[frame["plot_id"].astype(str).isin(keep)]
    for r in rows[[c for c in columns if c in rows.columns]].to_dict("records"):
        out.setdefault(str(r["plot_id"]), []).append(r)
    return out


def _centred(geoms: np.ndarray, lon: np.ndarray, lat: np.ndarray) -> np.ndarray:
    return local_metres(np.asarray(geoms, dtype=object), lon, lat) if len(geoms) else np.zeros(0, dtype=object)


def plot_evidence(
    plots: pd.DataFrame,
    patches: pd.DataFrame | None,
    loss_by_year: pd.DataFrame | None,
    issues: pd.DataFrame | None,
    cfg: ScreeningConfig,
    slugs: dict[str, str],
) -> list[PlotEvidence]:
    """The evidence of every plot of :data:`EVIDENCE_STATUSES` (``plots``: the plots layer with
    its geometry; ``slugs``: each plot id's page name). The geometry work runs on all the plots
    at once."""
    geoms = np.asarray(plots.geometry.to_numpy(), dtype=object)
    ids = plots["plot_id"].astype(str).to_numpy()
    statuses = plots["status"].astype(str).to_numpy()
    present = ~shapely.is_missing(geoms) & ~shapely.is_empty(geoms)
    chosen = np.flatnonzero(plots["status"].isin(EVIDENCE_STATUSES).to_numpy() & present)
    if not len(chosen):
        return []
    b = shapely.bounds(geoms[chosen])
    lon, lat = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    plot_m = _centred(geoms[chosen], lon, lat)
    # neighbours: every plot within NEIGHBOUR_M of a chosen plot's bounding box
    live = np.flatnonzero(present)
    pad = NEIGHBOUR_M / 111_000 / np.maximum(np.cos(np.radians(lat)), 0.1)
    boxes = shapely.box(b[:, 0] - pad, b[:, 1] - NEIGHBOUR_M / 111_000, b[:, 2] + pad, b[:, 3] + NEIGHBOUR_M / 111_000)
    which, hit = shapely.STRtree(geoms[live]).query(boxes)
    near = live[hit]
    keep = near != chosen[which]
    which, near = which[keep], near[keep]
    order = np.lexsort((near, which))
    which, near = which[order], near[order]
    near_m = _centred(geoms[near], lon[which], lat[which])
    neighbours: dict[int, list[tuple[str, str, BaseGeometry]]] = {}
    for k, j, g in zip(which.tolist(), near.tolist(), near_m):
        neighbours.setdefault(k, []).append((ids[j], statuses[j], g))
    # patches, loss and findings of the chosen plots, as records
    wanted = set(ids[chosen])
    own = _records_by_plot(
        patches,
        wanted,
        ["plot_id", "product", "year", "area_ha", "share_of_plot_pct", "max_distance_from_edge_m", "geometry"],
    )
    position = {pid: k for k, pid in enumerate(ids[chosen])}
    flat = [r for pid in own for r in own[pid]]
    at = np.array([position[str(r["plot_id"])] for r in flat], dtype="int64")
    for r, g in zip(flat, _centred(np.array([r["geometry"] for r in flat], dtype=object), lon[at], lat[at])):
        r["geometry_m"] = g
    loss = _records_by_plot(loss_by_year, wanted, ["plot_id", "product", "year", "loss_ha"])
    found = _records_by_plot(issues, wanted, ["plot_id", "code", "severity", "message"])
    rows = plots.drop(columns=plots.geometry.name).iloc[chosen].to_dict("records")
    out = []
    for k, i in enumerate(chosen):
        pid = ids[i]
        mine = own.get(pid, [])
        out.append(
            PlotEvidence(
                plot_id=pid,
                slug=slugs[pid],
                row=rows[k],
                centre=(float(lon[k]), float(lat[k])),
                plot_m=plot_m[k],
                patches=mine,
                neighbours=neighbours.get(k, []),
                loss=sorted((int(r["year"]), str(r["product"]), float(r["loss_ha"])) for r in loss.get(pid, [])),
                trace=decision_trace(rows[k], cfg),
                issues=[(r["code"], r["severity"], r["message"]) for r in found.get(pid, [])],
                links=place_links(float(lon[k]), float(lat[k])),
                kml=plot_kml(pid, statuses[i], geoms[i], mine),
            )
        )
    return out
