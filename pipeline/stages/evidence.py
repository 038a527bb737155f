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
from dataclasses import dataclass, field
from typing import Any
from xml.sax.saxutils import escape

import numpy as np
import pandas as pd
import shapely

from ..config import ScreeningConfig
from ..vocab import DETECTED, INVALID, NOT_ASSESSED, REVIEW, ZERO_HA
from .patches import local_metres

#: Plots within this distance (m) of a plot are drawn on its map as neighbours.
NEIGHBOUR_M = 150.0
#: The statuses that get a page.
EVIDENCE_STATUSES = (REVIEW, DETECTED)

#: The decision trace's rules (one complete format string each; ``applies`` says whether it decided).
RULE_TEXTS = {
    INVALID: "a quality-control error makes the geometry unscreenable (quality control: {qc})",
    NOT_ASSESSED: "valid raster data under {coverage:.1f} % of the plot (at least {minimum:g} % needed)",
    DETECTED: "{after:.4f} ha of forest lost after {ref} (more than {tolerance:g} ha gives deforestation_detected)",
    REVIEW: "{after:.4f} ha of forest lost after {ref} (any loss up to {tolerance:g} ha gives review)",
    "deforestation_free": "no forest loss after {ref}",
}


@dataclass
class Rule:
    """One line of the decision trace: the rule (the status it gives), the numbers it read, and
    whether it decided (``applies``), did not apply, or was not reached (``None``)."""

    status: str
    test: str
    applies: bool | None


@dataclass
class PlotEvidence:
    plot_id: str
    slug: str
    row: dict[str, Any]  # the plot's row of the plots layer (no geometry)
    centre: tuple[float, float]  # lon, lat
    plot_m: Any  # the plot in metres around its centre
    patches: pd.DataFrame  # the plot's loss patches with ``geometry_m``
    neighbours: list[tuple[str, str, Any]]  # (plot id, status, geometry in metres)
    loss: pd.DataFrame  # year x product, ha
    trace: list[Rule]
    issues: list[tuple[str, str, str]]  # code, severity, message
    links: dict[str, str] = field(default_factory=dict)
    kml: str = ""


def page_slugs(plot_ids) -> dict[str, str]:
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


def decision_trace(row: dict, cfg: ScreeningConfig) -> list[Rule]:
    """The status rules of :mod:`.rules` in order, on the plot's figures: the first that
    applies decides; the ones after it are not reached."""
    ref, tolerance = cfg.reference_year, cfg.review_max_ha
    coverage = float(row.get("data_coverage_pct") or 0.0)
    after = float(np.nan_to_num(pd.to_numeric(row.get("loss_after_ref_ha"), errors="coerce")))
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


def _kml_rings(geom) -> str:
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


def plot_kml(plot_id: str, status: str, geom, patches: pd.DataFrame) -> str:
    """A KML document of the plot and its loss patches (opens in Google Earth)."""
    marks = [
        f"<Placemark><name>{escape(plot_id)}</name><description>{escape(status)}</description>"
        f"<styleUrl>#plot</styleUrl>{_kml_rings(geom)}</Placemark>"
    ]
    for p in patches.itertuples():
        if p.geometry is None or p.geometry.is_empty:
            continue
        marks.append(
            f"<Placemark><name>{escape(f'{p.product} {p.year}: {p.area_ha:.4f} ha')}</name>"
            f"<styleUrl>#patch</styleUrl>{_kml_rings(p.geometry)}</Placemark>"
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


def plot_evidence(
    plots: pd.DataFrame,
    patches: pd.DataFrame | None,
    loss_by_year: pd.DataFrame | None,
    issues: pd.DataFrame | None,
    cfg: ScreeningConfig,
    slugs: dict[str, str],
) -> list[PlotEvidence]:
    """The evidence of every plot of :data:`EVIDENCE_STATUSES` (``plots``: the plots layer with
    its geometry; ``slugs``: each plot id's page name)."""
    chosen = np.flatnonzero(plots["status"].isin(EVIDENCE_STATUSES).to_numpy())
    if not len(chosen):
        return []
    geoms = np.asarray(plots.geometry.to_numpy(), dtype=object)
    ids = plots["plot_id"].astype(str).to_numpy()
    statuses = plots["status"].astype(str).to_numpy()
    live = np.flatnonzero(~shapely.is_missing(geoms) & ~shapely.is_empty(geoms))
    tree = shapely.STRtree(geoms[live])
    by_plot = dict(patches.groupby("plot_id")) if patches is not None and len(patches) else {}
    loss = dict(loss_by_year.groupby("plot_id")) if loss_by_year is not None and len(loss_by_year) else {}
    found = dict(issues.groupby("plot_id")) if issues is not None and len(issues) else {}
    out = []
    for i in chosen:
        geom = geoms[i]
        if geom is None or geom.is_empty:
            continue
        b = shapely.bounds(geom)
        lon, lat = (b[0] + b[2]) / 2, (b[1] + b[3]) / 2
        pad = NEIGHBOUR_M / 111_000 / max(np.cos(np.radians(lat)), 0.1)
        near = live[tree.query(shapely.box(b[0] - pad, b[1] - pad, b[2] + pad, b[3] + pad))]
        near = near[near != i]
        centre = (np.array([lon]), np.array([lat]))

        def metres(gs, centre=centre):
            n = len(gs)
            return local_metres(np.asarray(gs, dtype=object), np.repeat(centre[0], n), np.repeat(centre[1], n))

        own = by_plot.get(ids[i], pd.DataFrame(columns=["product", "year", "area_ha", "geometry"]))
        own = own.assign(geometry_m=metres(own["geometry"].to_numpy()) if len(own) else [])
        table = loss.get(ids[i])
        grid = (
            table.pivot_table(index="year", columns="product", values="loss_ha", aggfunc="sum").sort_index()
            if table is not None
            else pd.DataFrame()
        )
        row = {k: v for k, v in plots.iloc[i].items() if k != plots.geometry.name}
        qc = found.get(ids[i])
        out.append(
            PlotEvidence(
                plot_id=ids[i],
                slug=slugs[ids[i]],
                row=row,
                centre=(lon, lat),
                plot_m=metres([geom])[0],
                patches=own,
                neighbours=[(ids[j], statuses[j], g) for j, g in zip(near, metres(geoms[near]))],
                loss=grid,
                trace=decision_trace(row, cfg),
                issues=[] if qc is None else list(zip(qc["code"], qc["severity"], qc["message"])),
                links=place_links(lon, lat),
                kml=plot_kml(ids[i], statuses[i], geom, own),
            )
        )
    return out
