"""The report's maps: plots coloured by status, drawn with Pillow as a palette PNG without any
text (fast, and a few kilobytes for a cooperative); every word on a map (region names, the ids
of the detected plots, the scale bar's length) and its legend are HTML over and under the
picture, so they stay readable on a phone and cost nothing when the picture shrinks."""

from __future__ import annotations

import base64
import io
import math

import numpy as np
import pandas as pd
import shapely

from ...vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, STATUSES
from .html import COLOURS, esc, status_label
from .texts import T

#: Drawing order on maps: the statuses that need attention on top.
DRAW_ORDER = (FREE, NOT_ASSESSED, REVIEW, DETECTED, INVALID)


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


#: The palette of a map: every colour it uses (a palette PNG: small, and no antialiasing to blur).
PALETTE = {
    "background": "#ffffff",
    "region": "#f4f4ef",
    "region_edge": "#8c8c8c",
    "edge": "#333333",
    "ink": "#222222",
    **{s: COLOURS[s] for s in STATUSES},
}
_INDEX = {k: i for i, k in enumerate(PALETTE)}


def _rgb(colour: str) -> tuple[int, int, int]:
    c = colour.lstrip("#")
    return int(c[0:2], 16), int(c[2:4], 16), int(c[4:6], 16)


class MapCanvas:
    """A palette image whose map keeps the true shape of ``bounds`` (cos-latitude aspect), drawn
    with Pillow, with labels placed as HTML at their fractions of the picture."""

    def __init__(self, bounds, width_px: int, pad: float = 0.06) -> None:
        from PIL import Image, ImageDraw

        minx, miny, maxx, maxy = bounds
        w, h = max(maxx - minx, 1e-4), max(maxy - miny, 1e-4)
        self.x0, self.x1 = minx - pad * w, maxx + pad * w
        self.y0, self.y1 = miny - pad * h, maxy + pad * h
        self.lat = (miny + maxy) / 2
        ratio = (self.y1 - self.y0) / ((self.x1 - self.x0) * max(math.cos(math.radians(self.lat)), 0.05))
        self.width = width_px
        self.height = int(min(max(width_px * ratio, 0.35 * width_px), 1.4 * width_px))
        # where the picture's shape was bounded, the frame widens so that a degree keeps its true shape
        want = (self.height / self.width) / ratio
        if want > 1:  # taller than the map: more latitudes
            mid, half = (self.y0 + self.y1) / 2, (self.y1 - self.y0) / 2 * want
            self.y0, self.y1 = mid - half, mid + half
        elif want < 1:  # wider than the map: more longitudes
            mid, half = (self.x0 + self.x1) / 2, (self.x1 - self.x0) / 2 / want
            self.x0, self.x1 = mid - half, mid + half
        self.image = Image.new("P", (self.width, self.height), _INDEX["background"])
        self.image.putpalette([v for c in PALETTE.values() for v in _rgb(c)])
        self.draw = ImageDraw.Draw(self.image)
        self.labels: list[tuple[float, float, str, str]] = []  # x %, y % from the top, text, class

    def xy(self, coords: np.ndarray) -> list[tuple[float, float]]:
        x = (coords[:, 0] - self.x0) / (self.x1 - self.x0) * self.width
        y = (self.y1 - coords[:, 1]) / (self.y1 - self.y0) * self.height
        return list(zip(x.tolist(), y.tolist()))

    def polygons(self, parts: list[np.ndarray], fill: list[str | None], edge: list[str], width: int = 1) -> None:
        for ring, f, e in zip(parts, fill, edge):
            pts = self.xy(ring)
            if len(pts) >= 3:
                self.draw.polygon(pts, fill=_INDEX[f] if f else None, outline=_INDEX[e], width=width)

    def dots(self, coords: np.ndarray, colour: str, radius: float) -> None:
        for x, y in self.xy(coords):
            self.draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=_INDEX[colour])

    def label(self, x: float, y: float, text: str, cls: str = "") -> None:
        ((px, py),) = self.xy(np.array([[x, y]]))
        self.labels.append((100 * px / self.width, 100 * py / self.height, text, cls))

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
        (a, b), (c, _) = self.xy(np.array([[xs, ys], [xs + deg, ys]]))
        self.draw.rectangle((a, b - 2, c, b + 1), fill=_INDEX["ink"])
        self.label(xs, ys + 0.015 * (self.y1 - self.y0), f"{nice:g} km" if nice >= 1 else f"{nice * 1000:g} m", "sb")

    def html(self, alt: str) -> str:
        buf = io.BytesIO()
        self.image.save(buf, format="PNG", compress_level=9)
        src = "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")
        spans = "".join(
            f'<span class="{cls}" style="left:{x:.2f}%;top:{y:.2f}%">{esc(t)}</span>' for x, y, t, cls in self.labels
        )
        return (
            f'<div class="map"><img alt="{esc(alt)}" src="{src}" width="{self.width}" height="{self.height}">'
            f"{spans}</div>"
        )


def legend(counts: dict[str, int]) -> str:
    items = "".join(
        f"<li>{status_label(s)} ({counts[s]:,})</li>" for s in (DETECTED, REVIEW, NOT_ASSESSED, INVALID, FREE)
        if counts.get(s)
    )  # fmt: skip
    return f'<ul class="legend">{items}</ul>'


def _regions_under(canvas: MapCanvas, regions, filled: bool, labels: bool) -> None:
    parts, _ = rings(regions.geometry.to_numpy())
    canvas.polygons(parts, ["region" if filled else None] * len(parts), ["region_edge"] * len(parts))
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
    canvas = MapCanvas(bounds, 900)
    if data.regions is not None:
        _regions_under(canvas, data.regions, True, labels=True)
    xy = np.full((len(geoms), 2), np.nan)
    if has.any():
        xy[has] = shapely.get_coordinates(shapely.point_on_surface(geoms[has]))
    counts = {}
    for s in DRAW_ORDER:
        sel = has & (status == s)
        counts[s] = int((status == s).sum())
        if sel.any():
            canvas.dots(xy[sel], s, 1.2 if s == FREE else 2.2)
    canvas.scale_bar()
    return canvas.html("map of the plots by status") + legend(counts)


def group_map(section, regions=None) -> str:
    """A group's plots, drawn as polygons filled by status, zoomed on them; the detected plots
    labelled with their ids (the largest losses first, where there is room)."""
    geoms = section.plots.geometry.to_numpy()
    status = section.plots["status"].astype(str).to_numpy()
    has = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not has.any():
        return f'<p class="note">{esc(T["no_geometry"])}</p>'
    bounds = shapely.total_bounds(geoms[has])
    canvas = MapCanvas(bounds, 640, pad=0.08)
    if regions is not None:
        _regions_under(canvas, regions, False, labels=False)
    parts, row = rings(geoms)
    order = np.argsort([DRAW_ORDER.index(status[r]) if status[r] in DRAW_ORDER else 0 for r in row], kind="stable")
    parts, row = [parts[i] for i in order], row[order]
    fill = [status[r] if status[r] != INVALID else None for r in row]
    edge = [INVALID if status[r] == INVALID else "edge" for r in row]
    canvas.polygons(parts, fill, edge)
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
    return canvas.html(T["map_alt"].format(title=section.title))  # the counts below it are its legend
