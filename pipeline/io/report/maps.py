"""The report's maps: plots coloured by status, drawn with matplotlib as a palette PNG without any
text; every word on a map (region names, the ids of the detected plots, the scale bar's length)
and its legend are HTML over and under the picture, so they stay readable on a phone and cost
nothing when the picture shrinks."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import shapely

from ...vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, STATUSES
from .charts import DPI, plt, png
from .html import COLOURS, esc, status_label
from .texts import T

#: Drawing order on maps: the statuses that need attention on top.
DRAW_ORDER = (FREE, NOT_ASSESSED, REVIEW, DETECTED, INVALID)
#: The map fills its figure (no axes, no legend inside).
MAP_BOX = (0.01, 0.01, 0.98, 0.98)
#: Colours of a map's palette PNG: the statuses, the outlines, the background, antialiasing.
PALETTE = 48


def rings(geoms: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
    """The exterior rings of every polygon part, and the row each belongs to."""
    geoms = np.asarray(geoms, dtype=object)
    ok = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not ok.any():
        return [], np.zeros(0, dtype=int)
    parts, row = shapely.get_parts(geoms[ok], return_index=True)
    row = np.flatnonzero(ok)[row]
    poly = shapely.get_type_id(parts) == 3
    parts, row = parts[poly], row[poly]
    coords, ring = shapely.get_coordinates(shapely.get_exterior_ring(parts), return_index=True)
    cuts = np.flatnonzero(np.diff(ring)) + 1
    return np.split(coords, cuts), row


class MapCanvas:
    """A figure whose map keeps the true shape of ``bounds`` (cos-latitude aspect), with labels
    placed as HTML at their figure fractions."""

    def __init__(self, bounds, width_in: float, dpi: int = DPI, pad: float = 0.06) -> None:
        minx, miny, maxx, maxy = bounds
        w, h = max(maxx - minx, 1e-4), max(maxy - miny, 1e-4)
        self.x0, self.x1 = minx - pad * w, maxx + pad * w
        self.y0, self.y1 = miny - pad * h, maxy + pad * h
        self.lat = (miny + maxy) / 2
        ratio = (self.y1 - self.y0) / ((self.x1 - self.x0) * max(math.cos(math.radians(self.lat)), 0.05))
        height = min(max(width_in * MAP_BOX[2] * ratio / MAP_BOX[3], 2.5), 1.4 * width_in)
        self.fig = plt().figure(figsize=(width_in, height), dpi=dpi)
        self.ax = self.fig.add_axes(MAP_BOX)
        self.ax.set_xlim(self.x0, self.x1)
        self.ax.set_ylim(self.y0, self.y1)
        self.ax.set_aspect(1 / max(math.cos(math.radians(self.lat)), 0.05))
        self.ax.set_axis_off()
        self.labels: list[tuple[float, float, str, str]] = []  # x %, y % from the top, text, class

    def label(self, x: float, y: float, text: str, cls: str = "") -> None:
        self.ax.apply_aspect()
        disp = self.ax.transData.transform([(x, y)])
        fx, fy = self.fig.transFigure.inverted().transform(disp)[0]
        self.labels.append((100 * fx, 100 * (1 - fy), text, cls))

    def scale_bar(self) -> None:
        """A bar of a round number of km (or m), bottom left; its length as a label."""
        km_per_deg = 111.32 * math.cos(math.radians(self.lat))
        width_km = (self.x1 - self.x0) * km_per_deg / 5
        nice = 10 ** math.floor(math.log10(width_km)) if width_km > 0 else 1
        for m in (5, 2, 1):
            if m * nice <= width_km:
                nice *= m
                break
        deg = nice / km_per_deg
        xs, ys = self.x0 + 0.04 * (self.x1 - self.x0), self.y0 + 0.05 * (self.y1 - self.y0)
        self.ax.plot([xs, xs + deg], [ys, ys], color="#222", lw=3, solid_capstyle="butt", zorder=5)
        self.label(xs, ys + 0.01 * (self.y1 - self.y0), f"{nice:g} km" if nice >= 1 else f"{nice * 1000:g} m", "sb")

    def html(self, alt: str) -> str:
        src = png(self.fig, colours=PALETTE)
        spans = "".join(
            f'<span class="{cls}" style="left:{x:.2f}%;top:{y:.2f}%">{esc(t)}</span>' for x, y, t, cls in self.labels
        )
        return f'<div class="map"><img alt="{esc(alt)}" src="{src}">{spans}</div>'


def legend(counts: dict[str, int]) -> str:
    items = "".join(
        f"<li>{status_label(s)} ({counts[s]:,})</li>" for s in (DETECTED, REVIEW, NOT_ASSESSED, INVALID, FREE)
        if counts.get(s)
    )  # fmt: skip
    return f'<ul class="legend">{items}</ul>'


def _regions_under(canvas: MapCanvas, regions, face: str, labels: bool) -> None:
    from matplotlib.collections import PolyCollection

    parts, _ = rings(regions.geometry.to_numpy())
    canvas.ax.add_collection(PolyCollection(parts, facecolors=face, edgecolors="#8c8c8c", linewidths=0.8, zorder=0))
    if not labels:
        return
    for _, r in regions.iterrows():
        g = r.geometry
        if g is None or g.is_empty:
            continue
        p = g.representative_point()
        if canvas.x0 <= p.x <= canvas.x1 and canvas.y0 <= p.y <= canvas.y1:
            canvas.label(p.x, p.y, str(r.get("region_name") or r["region_id"]), "rg")


def overview_map(data) -> str:
    """Every plot as a dot coloured by status (plots are specks at this scale), over the regions."""
    geoms = data.plots.geometry.to_numpy()
    has = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    status = data.plots["status"].astype(str).to_numpy()
    bounds = shapely.total_bounds(geoms[has]) if has.any() else np.array([0, 0, 1, 1])
    canvas = MapCanvas(bounds, 9.0)
    if data.regions is not None:
        _regions_under(canvas, data.regions, "#f4f4ef", labels=True)
    xy = np.full((len(geoms), 2), np.nan)
    if has.any():
        xy[has] = shapely.get_coordinates(shapely.point_on_surface(geoms[has]))
    counts = {}
    for s in DRAW_ORDER:
        sel = has & (status == s)
        counts[s] = int((status == s).sum())
        if sel.any():
            canvas.ax.scatter(xy[sel, 0], xy[sel, 1], s=4 if s == FREE else 12, c=COLOURS[s], marker="o",
                              linewidths=0, zorder=2)  # fmt: skip
    canvas.scale_bar()
    return canvas.html("map of the plots by status") + legend(counts)


def group_map(section, regions=None) -> str:
    """A group's plots, drawn as polygons filled by status, zoomed on them; the detected plots
    labelled with their ids (the largest losses first, where there is room)."""
    from matplotlib.collections import PolyCollection

    geoms = section.plots.geometry.to_numpy()
    status = section.plots["status"].astype(str).to_numpy()
    has = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    counts = {s: int((status == s).sum()) for s in STATUSES}
    if not has.any():
        return f'<p class="note">{esc(T["no_geometry"])}</p>' + legend(counts)
    bounds = shapely.total_bounds(geoms[has])
    canvas = MapCanvas(bounds, 7.0, dpi=90, pad=0.08)
    if regions is not None:
        _regions_under(canvas, regions, "none", labels=False)
    parts, row = rings(geoms)
    fill = [COLOURS[status[r]] if status[r] != INVALID else "none" for r in row]
    edge = [COLOURS[INVALID] if status[r] == INVALID else "#333333" for r in row]
    canvas.ax.add_collection(PolyCollection(parts, facecolors=fill, edgecolors=edge, linewidths=0.4, zorder=2))
    minx, miny, maxx, maxy = bounds
    room = 0.08 * max(maxx - minx, maxy - miny)
    loss = pd.to_numeric(section.plots["loss_after_ref_ha"], errors="coerce").fillna(0).to_numpy()
    placed: list[tuple[float, float]] = []
    for i in sorted(np.flatnonzero(has & (status == DETECTED)), key=lambda i: -loss[i]):
        p = geoms[i].representative_point()
        if len(placed) >= 15 or any(abs(p.x - x) < room and abs(p.y - y) < room / 2 for x, y in placed):
            continue
        placed.append((p.x, p.y))
        canvas.label(p.x, p.y, str(section.plots["plot_id"].iloc[i]))
    canvas.scale_bar()
    return canvas.html(T["map_alt"].format(title=section.title)) + legend(counts)
