"""The HTML report: charts and maps drawn with matplotlib, inlined as PNG, in self-contained pages
(CSS inline, no network needed to open them), written atomically.

:func:`render` turns a :class:`pipeline.stages.report.ReportData` into the index page and, for a
large screening, one page per cooperative (or region) in ``<name>_files/`` beside it;
:func:`write_report` puts them in place: the folder is staged and swapped in whole, the index
renamed last, so a crash never leaves half a report.
"""

from __future__ import annotations

import base64
import html
import io
import json
import math
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import shapely

from ..errors import OutputError
from ..vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, STATUS_MEANINGS, STATUSES
from .atomic import replace_dir
from .outputs import check_folder, check_not_input, deferred_signals, temp_prefix

#: Status colours, as the GeoPackages' QGIS styles (pipeline.io.gpkg_style).
COLOURS = {FREE: "#1a9850", REVIEW: "#f5a623", DETECTED: "#d73027", NOT_ASSESSED: "#9e9e9e", INVALID: "#5e3c99"}
#: Drawing order on maps: the statuses that need attention on top.
DRAW_ORDER = (FREE, NOT_ASSESSED, REVIEW, DETECTED, INVALID)

CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#222;
background:#fafafa}
main{max-width:1100px;margin:0 auto;padding:1.5rem 2rem 3rem;background:#fff}
h1{margin:.2rem 0 .3rem;font-size:1.8rem}h2{margin-top:2.2rem;border-bottom:2px solid #1a9850;padding-bottom:.2rem}
h3{margin-top:1.6rem}.sub{color:#555;margin:0 0 1rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{flex:1 1 150px;border:1px solid #ddd;border-radius:6px;padding:.7rem .9rem;background:#fcfcfc}
.card .v{font-size:1.6rem;font-weight:600}.card .l{color:#555;font-size:.85rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.86rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f1f3f1;position:sticky;top:0}td:first-child{white-space:nowrap}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.st{white-space:nowrap}.sw{display:inline-block;width:.8rem;height:.8rem;border-radius:2px;margin-right:.35rem;vertical-align:-1px}
.scroll{max-height:34rem;overflow:auto;border:1px solid #eee}
img{max-width:100%;height:auto}dl{display:grid;grid-template-columns:max-content auto;gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0}pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:.78rem}
.note{color:#666;font-size:.85rem}a{color:#0b6e3a}
@media print{.scroll{max-height:none;overflow:visible}main{padding:0}}
"""


# --- Formatting ----------------------------------------------------------------------------------


def _esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def _isnan(v) -> bool:
    try:
        return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def fmt_int(v) -> str:
    return "–" if _isnan(v) else f"{int(v):,}"


def fmt_ha(v) -> str:
    return "–" if _isnan(v) else f"{float(v):,.2f}"


def fmt_pct(v) -> str:
    return "–" if _isnan(v) else f"{float(v):.1f}"


def fmt_change(v) -> str:
    return "–" if _isnan(v) else f"{float(v):+.1f}"


def _cell(v, kind: str) -> str:
    if kind == "text":
        return f"<td>{_esc('' if _isnan(v) else v)}</td>"
    if kind == "html":
        return f"<td>{v}</td>"
    f = {"int": fmt_int, "ha": fmt_ha, "pct": fmt_pct, "change": fmt_change}[kind]
    return f'<td class="n">{f(v)}</td>'


def table(
    frame: pd.DataFrame, columns: list[tuple[str, str, str]], table_id: str = "", limit: int | None = None
) -> str:
    """An HTML table of ``columns`` (column, header, kind: text|html|int|ha|pct|change)."""
    shown = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{_esc(h)}</th>" for _, h, _ in columns)
    rows = []
    for rec in shown[[c for c, _, _ in columns]].itertuples(index=False):
        rows.append("<tr>" + "".join(_cell(v, k) for v, (_, _, k) in zip(rec, columns)) + "</tr>")
    more = ""
    if limit is not None and len(frame) > limit:
        more = f'<p class="note">The first {limit:,} of {len(frame):,} rows; the GeoPackage has them all.</p>'
    ident = f' id="{table_id}"' if table_id else ""
    body = "".join(rows)
    return f'<div class="scroll"><table{ident}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>{more}'


def swatch(status: str) -> str:
    colour = COLOURS.get(status, "#ccc")
    return f'<span class="st"><span class="sw" style="background:{colour}"></span>{_esc(status)}</span>'


# --- Drawing -------------------------------------------------------------------------------------


def _plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def png(fig) -> str:
    """The figure as an inline <img> source (PNG, base64)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, metadata={"Software": None})  # one draw: the layout is fixed
    _plt().close(fig)
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _rings(geoms: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
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


def _frame_axes(ax, bounds, pad: float = 0.06) -> None:
    minx, miny, maxx, maxy = bounds
    w, h = max(maxx - minx, 1e-4), max(maxy - miny, 1e-4)
    ax.set_xlim(minx - pad * w, maxx + pad * w)
    ax.set_ylim(miny - pad * h, maxy + pad * h)
    lat = (miny + maxy) / 2
    ax.set_aspect(1 / max(math.cos(math.radians(lat)), 0.05))
    ax.tick_params(labelsize=7)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(5))
    ax.yaxis.set_major_locator(MaxNLocator(5))
    ax.grid(color="#eeeeee", lw=0.5)
    _scale_bar(ax, lat)


def _scale_bar(ax, lat: float) -> None:
    """A scale bar of a round number of km (or m), bottom left."""
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    km_per_deg = 111.32 * math.cos(math.radians(lat))
    width_km = (x1 - x0) * km_per_deg / 5
    nice = 10 ** math.floor(math.log10(width_km)) if width_km > 0 else 1
    for m in (5, 2, 1):
        if m * nice <= width_km:
            nice *= m
            break
    deg = nice / km_per_deg
    xs, ys = x0 + 0.04 * (x1 - x0), y0 + 0.05 * (y1 - y0)
    ax.plot([xs, xs + deg], [ys, ys], color="#222", lw=2.5, solid_capstyle="butt")
    label = f"{nice:g} km" if nice >= 1 else f"{nice * 1000:g} m"
    ax.text(xs + deg / 2, ys + 0.012 * (y1 - y0), label, ha="center", va="bottom", fontsize=7)


def _legend(ax, counts: dict[str, int]) -> None:
    from matplotlib.patches import Patch

    handles = [
        Patch(
            facecolor=COLOURS[s] if s != INVALID else "none", edgecolor=COLOURS[s], label=f"{s} ({counts.get(s, 0):,})"
        )
        for s in STATUSES
        if counts.get(s, 0)
    ]
    ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False)


#: Where the map sits in its figure (left, bottom, width, height): the legend goes right of it.
MAP_BOX = (0.08, 0.06, 0.64, 0.9)


def _map_figure(plt, bounds, width: float, dpi: int):
    """A figure ``width`` inches wide whose map keeps the true shape of ``bounds``, laid out once
    (no tight bounding box: that draws every figure twice)."""
    minx, miny, maxx, maxy = bounds
    w, h = max(maxx - minx, 1e-4), max(maxy - miny, 1e-4)
    ratio = h / (w * max(math.cos(math.radians((miny + maxy) / 2)), 0.05))
    height = min(max(width * MAP_BOX[2] * ratio / MAP_BOX[3], 3.0), 1.6 * width)
    fig = plt.figure(figsize=(width, height), dpi=dpi)
    return fig, fig.add_axes(MAP_BOX)


def loss_chart(data) -> str:
    plt = _plt()
    fig = plt.figure(figsize=(9, 3.6), dpi=100)
    ax = fig.add_axes((0.08, 0.1, 0.9, 0.85))
    years = data.yearly["year"].to_numpy()
    loss = data.yearly["loss_ha"].to_numpy(dtype=float)
    ref = data.reference_year
    colours = [COLOURS[DETECTED] if y > ref else "#7f8c8d" for y in years]
    ax.bar(years, loss, color=colours, width=0.75)
    mean = float(data.national["baseline_mean_annual_loss_ha"])
    p = data.period
    ax.hlines(mean, p.start - 0.4, p.end + 0.4, colors="#1f4e79", linestyles="-", lw=2)
    ax.hlines(mean, p.end + 0.4, years.max() + 0.5, colors="#1f4e79", linestyles=":", lw=1.5)
    ax.text(p.start - 0.4, mean, f" baseline mean {p}: {mean:,.1f} ha/yr", va="bottom", fontsize=8, color="#1f4e79")
    ax.axvline(ref + 0.5, color="#222", ls="--", lw=1)
    ax.text(ref + 0.55, ax.get_ylim()[1] * 0.97, f"after 31 Dec {ref}", va="top", fontsize=8)
    ax.set_ylabel("forest lost inside the plots (ha)", fontsize=8)
    ax.set_xticks(years)
    ax.set_xticklabels([str(y) if (y - years.min()) % 2 == 0 or len(years) < 13 else "" for y in years], fontsize=7)
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    return png(fig)


#: Regions drawn one by one in the region chart (the others are summed as "other regions").
REGION_CHART_MAX = 8


def region_chart(data) -> str:
    """Region totals per year (bars stacked by region, the largest by baseline loss) above cocoa's
    share of them (the regions together, and each region drawn), the reference year marked."""
    plt = _plt()
    fig = plt.figure(figsize=(9, 6.2), dpi=100)
    top = fig.add_axes((0.08, 0.55, 0.62, 0.42))
    low = fig.add_axes((0.08, 0.07, 0.62, 0.40), sharex=top)
    years = np.asarray(data.years)
    loss = data.region_loss.fillna(0.0)
    shown = loss[list(years[np.isin(years, data.period.years)])].sum(axis=1).sort_values(ascending=False).index
    shown = list(shown[:REGION_CHART_MAX])
    cmap = plt.get_cmap("tab10")
    bottom = np.zeros(len(years))
    for k, label in enumerate(shown):
        values = loss.loc[label, list(years)].to_numpy(dtype=float)
        top.bar(years, values, bottom=bottom, width=0.75, color=cmap(k % 10), label=str(label)[:34])
        bottom += values
    rest = loss.drop(index=shown)
    if len(rest):
        values = rest[list(years)].sum(axis=0).to_numpy(dtype=float)
        top.bar(years, values, bottom=bottom, width=0.75, color="#bbbbbb", label=f"{len(rest)} other regions")
    top.set_ylabel("forest lost in the regions (ha)", fontsize=8)
    yearly = data.region_yearly
    low.plot(
        years, yearly["cocoa_share_pct"], color="#222", lw=2.2, marker="o", ms=3, label="in cocoa plots, all regions"
    )
    if "near_cocoa_share_pct" in yearly.columns:
        low.plot(years, yearly["near_cocoa_share_pct"], color="#222", lw=1.5, ls=":", label="near cocoa, all regions")
    for k, label in enumerate(shown):
        low.plot(years, data.region_shares.loc[label, list(years)], color=cmap(k % 10), lw=1, alpha=0.8)
    low.set_ylabel("cocoa's share of the loss (%)", fontsize=8)
    low.set_ylim(bottom=0)
    ref, p = data.reference_year, data.period
    for ax in (top, low):
        ax.axvspan(p.start - 0.5, p.end + 0.5, color="#1f4e79", alpha=0.06)
        ax.axvline(ref + 0.5, color="#222", ls="--", lw=1)
        ax.tick_params(labelsize=7)
        ax.spines[["top", "right"]].set_visible(False)
    top.text(ref + 0.55, top.get_ylim()[1] * 0.97, f"reference year {ref}", va="top", fontsize=8)
    top.text(p.start - 0.4, top.get_ylim()[1] * 0.97, f"baseline {p}", va="top", fontsize=8, color="#1f4e79")
    low.set_xticks(years)
    low.set_xticklabels([str(y) if (y - years.min()) % 2 == 0 or len(years) < 13 else "" for y in years], fontsize=7)
    top.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    low.legend(fontsize=7, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    return png(fig)


def alert_chart(months: pd.DataFrame) -> str:
    """The area of alerts that count per month after the cut-off, all plots, one bar series per product."""
    plt = _plt()
    fig = plt.figure(figsize=(9, 3.0), dpi=100)
    ax = fig.add_axes((0.08, 0.16, 0.9, 0.78))
    order = sorted(months["month"].astype(str).unique())
    x = {m: i for i, m in enumerate(order)}
    products = list(pd.unique(months["product"].astype(str))) if "product" in months.columns else [""]
    width = 0.8 / max(len(products), 1)
    for k, product in enumerate(products):
        mine = months[months["product"].astype(str) == product] if product else months
        xs = [x[str(m)] + (k - (len(products) - 1) / 2) * width for m in mine["month"]]
        ax.bar(xs, mine["alert_ha"].to_numpy(dtype=float), width=width, label=product or None, color=COLOURS[DETECTED])
    step = max(1, len(order) // 12)
    ax.set_xticks(range(0, len(order), step))
    ax.set_xticklabels(order[::step], fontsize=7, rotation=0)
    ax.set_ylabel("alerts that count (ha)", fontsize=8)
    ax.tick_params(axis="y", labelsize=7)
    ax.spines[["top", "right"]].set_visible(False)
    if len(products) > 1:
        ax.legend(fontsize=8)
    return png(fig)


def overview_map(data) -> str:
    """Every plot as a dot coloured by status (plots are specks at this scale), over the regions."""
    plt = _plt()
    from matplotlib.collections import PolyCollection

    geoms = data.plots.geometry.to_numpy()
    has = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    status = data.plots["status"].astype(str).to_numpy()
    bounds = shapely.total_bounds(geoms[has]) if has.any() else np.array([0, 0, 1, 1])
    fig, ax = _map_figure(plt, bounds, 11, 100)
    if data.regions is not None:
        rings, _ = _rings(data.regions.geometry.to_numpy())
        ax.add_collection(PolyCollection(rings, facecolors="#f4f4ef", edgecolors="#8c8c8c", linewidths=0.8, zorder=0))
        for _, r in data.regions.iterrows():
            g = r.geometry
            if g is None or g.is_empty:
                continue
            p = g.representative_point()
            if bounds[0] <= p.x <= bounds[2] and bounds[1] <= p.y <= bounds[3]:
                ax.text(p.x, p.y, str(r.get("region_name") or r["region_id"]), fontsize=7, color="#555", ha="center",
                        alpha=0.9, zorder=1)  # fmt: skip
    xy = np.full((len(geoms), 2), np.nan)
    if has.any():
        xy[has] = shapely.get_coordinates(shapely.point_on_surface(geoms[has]))
    counts = {}
    for s in DRAW_ORDER:
        sel = has & (status == s)
        counts[s] = int((status == s).sum())
        if sel.any():
            size = 3 if s == FREE else 9
            ax.scatter(xy[sel, 0], xy[sel, 1], s=size, c=COLOURS[s], marker="o", linewidths=0, zorder=2)
    _frame_axes(ax, bounds)
    _legend(ax, counts)
    return png(fig)


def group_map(section, regions=None) -> str:
    """A group's plots, drawn as polygons filled by status, zoomed on them; the detected plots
    labelled with their ids (the largest losses first, where there is room)."""
    plt = _plt()
    from matplotlib.collections import PolyCollection

    geoms = section.plots.geometry.to_numpy()
    status = section.plots["status"].astype(str).to_numpy()
    has = np.array([g is not None and not g.is_empty for g in geoms], dtype=bool)
    if not has.any():
        fig, ax = plt.subplots(figsize=(6, 1), dpi=90)
        ax.text(0.5, 0.5, "no plot of this group has a geometry", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return png(fig)
    bounds = shapely.total_bounds(geoms[has])
    fig, ax = _map_figure(plt, bounds, 8.5, 90)
    if regions is not None:
        rings, _ = _rings(regions.geometry.to_numpy())
        ax.add_collection(PolyCollection(rings, facecolors="none", edgecolors="#9a9a9a", linewidths=0.8, zorder=0))
    rings, row = _rings(geoms)
    fill = [COLOURS[status[r]] if status[r] != INVALID else "none" for r in row]
    edge = [COLOURS[INVALID] if status[r] == INVALID else "#333333" for r in row]
    ax.add_collection(PolyCollection(rings, facecolors=fill, edgecolors=edge, linewidths=0.4, zorder=2))
    # The ids of the detected plots, largest loss first, where they do not crowd each other.
    minx, miny, maxx, maxy = bounds
    room = 0.06 * max(maxx - minx, maxy - miny)
    loss = pd.to_numeric(section.plots["loss_after_ref_ha"], errors="coerce").fillna(0).to_numpy()
    placed: list[tuple[float, float]] = []
    for i in sorted(np.flatnonzero(has & (status == DETECTED)), key=lambda i: -loss[i]):
        p = geoms[i].representative_point()
        if len(placed) >= 25 or any(abs(p.x - x) < room and abs(p.y - y) < room / 2 for x, y in placed):
            continue
        placed.append((p.x, p.y))
        ax.annotate(str(section.plots["plot_id"].iloc[i]), (p.x, p.y), fontsize=6, ha="center", va="bottom",
                    xytext=(0, 3), textcoords="offset points", zorder=3)  # fmt: skip
    counts = {s: int((status == s).sum()) for s in STATUSES}
    _frame_axes(ax, bounds, pad=0.08)
    _legend(ax, counts)
    return png(fig)


# --- Pages ---------------------------------------------------------------------------------------


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{_esc(title)}</title><style>{CSS}</style></head><body><main>{body}</main></body></html>\n"
    )


def _group_columns(data) -> list[tuple[str, str, str]]:
    ref = data.reference_year
    cols = [
        ("link", data.group_label, "html"),
        ("name", "name", "text"),
        ("n_plots", "plots", "int"),
        ("deforestation_free_plots_pct", "free plots %", "pct"),
        ("area_ha", "area (ha)", "ha"),
        ("deforestation_free_area_pct", "free area %", "pct"),
        ("loss_after_ref_ha", f"loss after {ref} (ha)", "ha"),
        ("baseline_mean_annual_loss_ha", f"baseline mean {data.period} (ha/yr)", "ha"),
    ]
    for y in data.years:
        if y > ref:
            cols.append((f"change_{y}_vs_baseline_pct", f"{y} vs baseline %", "change"))
    return cols


def _section_body(data, section, regions, evidence_folder: str = "") -> str:
    """A group's summary, map and plot table; a plot with an evidence page links to it (pages in
    ``evidence_folder``, relative to the page the section is on)."""
    ref = data.reference_year
    f = section.figures
    pages = getattr(data, "evidence", {}) or {}
    cols = [("plot_html" if pages else "plot_id", "plot", "html" if pages else "text"),
            ("status_html", "status", "html"), ("status_reason", "reason", "text"),
            ("loss_after_ref_ha", f"loss after {ref} (ha)", "ha")]  # fmt: skip
    extra = [c for c in section.plots.columns if c not in ("plot_id", "status", "status_reason", "loss_after_ref_ha")
             and c != section.plots.geometry.name]  # fmt: skip
    for c in extra:
        kind = "ha" if pd.api.types.is_float_dtype(section.plots[c]) else "text"
        cols.append((c, c, kind))
    plots = pd.DataFrame(section.plots.drop(columns=section.plots.geometry.name))
    plots["status_html"] = [swatch(s) for s in plots["status"].astype(str)]
    if pages:
        plots["plot_html"] = [
            f'<a href="{_esc(evidence_folder)}{_esc(pages[p])}.html">{_esc(p)}</a>' if p in pages else _esc(p)
            for p in plots["plot_id"].astype(str)
        ]
    summary = (
        f"{fmt_int(f['n_plots'])} plots, {fmt_pct(f['deforestation_free_plots_pct'])} % deforestation-free "
        f"({fmt_pct(f['deforestation_free_area_pct'])} % of their area); {fmt_ha(f['loss_after_ref_ha'])} ha of "
        f"forest lost after {ref}."
    )
    return (
        f'<p>{summary}</p><img alt="map of the plots of {_esc(section.title)}" src="{group_map(section, regions)}">'
        + table(plots, cols, table_id=f"plots-{section.slug}")
    )


def render(data, *, separate_pages: bool, pages_folder: str, progress: bool = False) -> tuple[str, dict[str, str]]:
    """(index page, {file name: page}) of the report."""
    from tqdm.auto import tqdm

    ref = data.reference_year
    s = data.by_status
    total = s.loc["total"]
    free_plots, free_area = (
        float(data.national["deforestation_free_plots_pct"]),
        float(data.national["deforestation_free_area_pct"]),
    )
    parts = [
        f"<h1>{_esc(data.title)}</h1>",
        f'<p class="sub">{fmt_int(total["plots"])} plots screened for forest loss after {ref}</p>',
        '<div class="cards" id="headline">',
        f'<div class="card"><div class="v">{fmt_int(total["plots"])}</div><div class="l">plots, '
        f"{fmt_ha(total['area_ha'])} ha</div></div>",
        f'<div class="card"><div class="v" style="color:{COLOURS[FREE]}">{fmt_pct(free_plots)} %</div>'
        f'<div class="l">of plots deforestation-free ({fmt_pct(free_area)} % of their area)</div></div>',
        f'<div class="card"><div class="v" style="color:{COLOURS[DETECTED]}">{fmt_ha(total["loss_after_ref_ha"])} ha'
        f'</div><div class="l">forest lost inside the plots after {ref}</div></div>',
        f'<div class="card"><div class="v">{fmt_int(s.loc[NOT_ASSESSED, "plots"] + s.loc[INVALID, "plots"])}</div>'
        '<div class="l">plots without a verdict (not assessed or invalid)</div></div>',
        "</div>",
        "<dl>" + "".join(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>" for k, v in data.facts.items()) + "</dl>",
        "<h2>Plots by status</h2>",
    ]
    st = s.reset_index(names="status")
    st["status_html"] = [swatch(x) if x != "total" else "<b>total</b>" for x in st["status"]]
    st["meaning"] = [STATUS_MEANINGS.get(x, "") for x in st["status"]]
    parts.append(
        table(
            st,
            [
                ("status_html", "status", "html"),
                ("plots", "plots", "int"),
                ("area_ha", "area (ha)", "ha"),
                ("loss_after_ref_ha", f"loss after {ref} (ha)", "ha"),
                ("meaning", "meaning", "text"),
            ],  # fmt: skip
            table_id="by-status",
        )
    )
    parts += [
        "<h2>Forest loss per year inside the plots</h2>",
        f'<img alt="forest loss per year" src="{loss_chart(data)}">',
        f'<p class="note">Forest lost inside the assessed plots (deforestation_free, review, '
        f"deforestation_detected) each year; the line is the mean of the baseline period {data.period}, the dashed "
        f"line the reference year's end.</p>",
        "<details><summary>The figures</summary>",
        table(data.yearly, [("year", "year", "text"), ("loss_ha", "loss (ha)", "ha")], table_id="loss-per-year"),
        "</details>",
        "<h2>Map</h2>",
        f'<img alt="map of the plots by status" src="{overview_map(data)}">',
    ]
    if data.regions is not None:
        r = pd.DataFrame(data.regions.drop(columns=data.regions.geometry.name))
        r["link"] = [_esc(x) for x in r["region_id"]]
        r = r.rename(columns={"region_name": "name"})
        cols = _group_columns(data)
        cols[0] = ("link", "region", "html")
        parts += ["<h2>By region</h2>", table(r, cols, table_id="by-region")]
    if data.region_totals is not None:
        parts += _region_totals_section(data)
    pages: dict[str, str] = {}
    if data.groups is not None:
        g = data.groups.copy()
        href = {
            sec.key: (f"{pages_folder}/{sec.slug}.html" if separate_pages else f"#{sec.slug}") for sec in data.sections
        }
        g["link"] = [f'<a href="{_esc(href[str(k)])}">{_esc(k)}</a>' for k in g["group"]]
        where = "each has its own page" if separate_pages else "each has its map and plots below"
        parts += [f"<h2>By {_esc(data.group_label)}</h2>", f'<p class="note">{len(g):,} groups; {where}.</p>',
                  table(g, _group_columns(data), table_id="by-group")]  # fmt: skip
    for name, title in (("lots", "Lots"), ("buyers", "Buyers")):
        frame = getattr(data, name)
        if frame is None:
            continue
        key = "lot_id" if name == "lots" else "buyer"
        cols = [(key, key, "text")]
        if name == "lots" and "buyer" in frame.columns:
            cols.append(("buyer", "buyer", "text"))
        if name == "buyers":
            cols.append(("n_lots", "lots", "int"))
        cols += [("n_plots", "plots", "int"), ("quantity", "quantity", "ha"),
                 ("deforestation_free_quantity_pct", "from free plots %", "pct")]  # fmt: skip
        flags = pd.DataFrame(frame)
        flags["free"] = ["yes" if v else "no" for v in flags["deforestation_free"].fillna(False)]
        cols += [("free", "all free", "text")]
        for c in ("unknown_plot_ids",):
            if c in flags.columns:
                cols.append((c, "unknown plot ids", "text"))
        parts += [f"<h2>{title}</h2>", table(flags, cols, table_id=name, limit=500)]
    parts += overlay_section(data)
    if data.alerts:
        parts.append("<h2>Alerts after the cut-off day</h2>")
    if data.alert_months is not None and len(data.alert_months):
        parts.append(f'<img alt="alert area per month" src="{alert_chart(data.alert_months)}">')
    for title, frame in data.alerts.items():
        cols = [(c, c, "ha" if pd.api.types.is_float_dtype(frame[c]) else "text") for c in frame.columns]
        ident = "alerts-per-month" if frame is data.alert_months else "alerts-by-status"
        parts += [f"<h3>{_esc(title)}</h3>", table(frame, cols, table_id=ident, limit=500)]
    if data.sections and not separate_pages:
        parts.append(f"<h2>The plots of each {_esc(data.group_label)}</h2>")
    regions = data.regions
    bar = tqdm(data.sections, desc="report pages", unit="group", disable=not progress, leave=False)
    for sec in bar:
        body = _section_body(data, sec, regions, "plots/" if separate_pages else f"{pages_folder}/plots/")
        if separate_pages:
            back = f'<p><a href="../{_esc(Path(pages_folder).name.removesuffix("_files"))}.html">← the report</a></p>'
            pages[f"{sec.slug}.html"] = _page(f"{sec.title} — {data.title}", f"{back}<h1>{_esc(sec.title)}</h1>{body}")
        else:
            parts.append(f'<h3 id="{sec.slug}">{_esc(sec.title)}</h3>{body}')
    parts.append(_provenance(data))
    return _page(data.title, "".join(parts)), pages


def _region_totals_section(data) -> list[str]:
    """Each region's whole forest loss and cocoa's share of it, per year, the reference year marked."""
    ref, p = data.reference_year, data.period
    t = data.region_totals
    cols = [("region", "region", "text")]
    for c, header, kind in (
        ("region_data_coverage_pct", "data coverage %", "pct"),
        ("region_baseline_mean_annual_loss_ha", f"region loss, mean {p} (ha/yr)", "ha"),
        ("cocoa_baseline_mean_annual_loss_ha", "in cocoa plots (ha/yr)", "ha"),
        ("cocoa_share_of_baseline_loss_pct", "cocoa share %", "pct"),
        ("cocoa_share_of_baseline_loss_sum_of_plots_pct", "share by the sum of plot figures %", "pct"),
        ("near_cocoa_share_of_baseline_loss_pct", "near cocoa share %", "pct"),
        (f"cocoa_share_of_loss_{data.years[-1]}_pct", f"cocoa share {data.years[-1]} %", "pct"),
    ):
        if c in t.columns:
            cols.append((c, header, kind))
    yearly = data.region_yearly.copy()
    ycols = [("year", "year", "text"), ("region_loss_ha", "loss in the regions (ha)", "ha"),
             ("cocoa_share_pct", "in cocoa plots %", "pct")]  # fmt: skip
    if "near_cocoa_share_pct" in yearly.columns:
        ycols.append(("near_cocoa_share_pct", "near cocoa %", "pct"))
    return [
        "<h2>Deforestation associated with cocoa</h2>",
        f'<img alt="forest loss per year in the regions and cocoa\'s share of it" src="{region_chart(data)}">',
        f"<p class=\"note\">Above, each region's whole forest loss per year (the screening's product and forest "
        f"definition); below, the share of it inside the union of the assessed cocoa plots (each hectare once), "
        f"for all regions and for each region drawn. Shaded: the baseline period {p}; dashed: the end of the "
        f"reference year {ref}. A year without loss has no share.</p>",
        table(t, cols, table_id="region-totals"),
        "<details><summary>The figures per year</summary>",
        table(yearly, ycols, table_id="region-totals-per-year"),
        "</details>",
    ]


def _provenance(data) -> str:
    out = ["<h2>Provenance</h2>"]
    for name, doc in data.provenance:
        out.append(f"<h3>{_esc(name)}</h3><dl>")
        for k, v in doc.items():
            if k in ("inputs", "config") or not v:
                continue
            out.append(f"<dt>{_esc(k)}</dt><dd>{_esc(v)}</dd>")
        out.append("</dl>")
        inputs = pd.DataFrame(doc.get("inputs") or [])
        if len(inputs):
            for c in ("role", "path", "size", "mtime_utc", "sha256"):
                if c not in inputs.columns:
                    inputs[c] = None
            out.append(
                table(
                    inputs,
                    [
                        ("role", "input", "text"),
                        ("path", "path", "text"),
                        ("size", "bytes", "int"),
                        ("mtime_utc", "modified (UTC)", "text"),
                        ("sha256", "SHA-256", "text"),
                    ],  # fmt: skip
                    limit=50,
                )
            )
        if doc.get("config"):
            out.append(
                "<details><summary>The full configuration</summary><pre>"
                + _esc(json.dumps(doc["config"], indent=2, ensure_ascii=False))
                + "</pre></details>"
            )
    return "".join(out)


# --- Reading -------------------------------------------------------------------------------------

#: Baseline layers the report does not use, and those it reads without their geometries.
_SKIPPED = {"run_metadata", "layer_styles", "deliveries", "restoration_rings", "status_changes"}
_NO_GEOMETRY = {"baseline_plots"}


def read_baseline(path: str | Path) -> tuple[dict[str, pd.DataFrame], dict[str, str]]:
    """The layers of a baseline GeoPackage the report shows, and its ``run_metadata``."""
    import pyogrio
    from pyogrio.errors import DataLayerError, DataSourceError

    path = Path(path)
    if not path.is_file():
        raise OutputError(f"{path}: baseline GeoPackage not found")
    try:
        names = [str(n) for n, _ in pyogrio.list_layers(path)]
        layers = {
            n: pyogrio.read_dataframe(path, layer=n, use_arrow=True, read_geometry=n not in _NO_GEOMETRY)
            for n in names
            if n not in _SKIPPED
        }
        meta = {}
        if "run_metadata" in names:
            m = pyogrio.read_dataframe(path, layer="run_metadata")
            meta = dict(zip(m["key"].astype(str), m["value"].astype(str)))
    except (DataSourceError, DataLayerError) as exc:
        raise OutputError(f"{path}: cannot read the baseline GeoPackage ({exc})") from exc
    if "baseline_by_group" not in layers:
        raise OutputError(f"{path}: no baseline_by_group layer; expected a baseline.gpkg written by cacao-screen")
    return layers, meta


# --- Writing -------------------------------------------------------------------------------------


def pages_folder(path: str | Path) -> Path:
    """``<name>_files/`` beside the report, for the groups' pages of a large report."""
    path = Path(path)
    return path.with_name(f"{path.stem}_files")


def check_report_target(path: str | Path, overwrite: bool, inputs=()) -> Path:
    """Fail before any work: not an .html name, an existing report without ``overwrite``, one of
    ``inputs``, a folder not writable."""
    path = Path(path)
    check_not_input(path, inputs)
    if path.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"{path}: the report is an HTML file; name it .html")
    for p in (path, pages_folder(path)):
        if p.exists() and not overwrite:
            raise OutputError(f"{p}: output already exists; pass --overwrite to replace it")
    if path.is_dir():
        raise OutputError(f"{path}: is a folder, expected an .html file name")
    check_folder(path.parent, "report")
    return path


def write_report(path: str | Path, index: str, pages: dict[str, str], *, overwrite: bool = False) -> Path:
    """Write the pages' folder (staged, swapped in whole; removed when there are no pages), then
    the index (temporary file, renamed)."""
    path = check_report_target(path, overwrite)
    folder = pages_folder(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{path.parent}: cannot create the output folder ({exc.strerror})") from exc
    staged = None
    tmp = ""
    try:
        with deferred_signals():  # removed below even if a signal comes as it is made
            fd, tmp = tempfile.mkstemp(prefix=temp_prefix(path), suffix=".tmp.html", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(index)
        os.chmod(tmp, 0o644)
        if pages:
            with deferred_signals():
                staged = Path(tempfile.mkdtemp(prefix=temp_prefix(folder), suffix=".tmp", dir=path.parent))
            for name, text in pages.items():
                (staged / name).parent.mkdir(parents=True, exist_ok=True)  # plots/ of the evidence pages
                (staged / name).write_text(text, encoding="utf-8")
            os.chmod(staged, 0o755)
            replace_dir(staged, folder)
            staged = None
        elif folder.exists():
            shutil.rmtree(folder)  # an older, larger report's pages
        os.replace(tmp, path)
    finally:
        if tmp and os.path.exists(tmp):
            os.unlink(tmp)
        if staged is not None:
            shutil.rmtree(staged, ignore_errors=True)
    return path


#: What each overlay effect did, in words (the section on overlays).
OVERLAY_EFFECTS = {
    "review": "a free plot overlapping it became review",
    "flag": "reported only",
    "exclude": "left out of the EUDR export",
}


def overlay_section(data) -> list[str]:
    """The section on overlays: per layer, the plots that overlap it and what that did (nothing
    when the screening had no overlays)."""
    frame = getattr(data, "overlays", None)
    if frame is None or not len(frame):
        return []
    shown = frame.assign(what=[OVERLAY_EFFECTS.get(e, e) for e in frame["effect"]])
    cols = [("overlay", "overlay", "text"), ("kind", "kind", "text"), ("what", "effect", "text"),
            ("plots", "plots overlapping", "int"), ("overlap_ha", "overlap (ha)", "ha"),
            ("review", "now review", "int"), ("deforestation_free", "still free", "int")]  # fmt: skip
    note = (
        '<p class="note">Protected areas, native communities\' lands and concessions under the plots: a '
        "legality question (EUDR Art. 3(b)), whatever the forest loss says. Each plot's overlap is in the "
        "columns &lt;overlay&gt;_overlap_ha, _overlap_pct and _names of screening.gpkg.</p>"
    )
    return ["<h2>What lies under the plots</h2>", note, table(shown, cols, table_id="overlays")]
