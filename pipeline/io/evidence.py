"""The evidence pages of the report: one HTML page per ``review`` or ``deforestation_detected``
plot, with its map drawn as SVG at scale (the plot, its loss patches coloured by year, its
neighbours, a scale bar), the loss by year and product, the decision trace, the QC findings,
links to the place, and a KML beside it.

Pages are small (a few kilobytes: no image, no script) and share one stylesheet,
``plots/evidence.css``, so that 10,000 of them stay quick to write and to open. The page of a plot
is ``plots/<slug>.html`` in the report's folder (``<name>_files/``); its KML ``plots/<slug>.kml``.
"""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import shapely

from ..i18n import _, fmt, language, tr

#: The folder of the pages inside the report's folder, and their stylesheet.
FOLDER = "plots"
STYLESHEET = "evidence.css"

#: Colours of the patches by year (from the first years after the cut-off, yellow, to dark purple).
YEAR_COLOURS = ("#fed976", "#feb24c", "#fd8d3c", "#fc4e2a", "#e31a1c", "#bd0026", "#800026", "#49006a")
STATUS_COLOURS = {
    "deforestation_free": "#1a9850",
    "review": "#f5a623",
    "deforestation_detected": "#d73027",
    "not_assessed": "#9e9e9e",
    "invalid": "#5e3c99",
}

CSS = """body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:980px;
padding:16px 20px;color:#222;line-height:1.4}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:1px solid #ddd}
.status{display:inline-block;padding:2px 8px;border-radius:4px;color:#fff;font-weight:600}
.grid{display:flex;flex-wrap:wrap;gap:20px}.grid>div{flex:1 1 420px}
svg.map{width:100%;height:auto;background:#f4f1ea;border:1px solid #ccc}
table{border-collapse:collapse;font-size:.92em}td,th{border-bottom:1px solid #e3e3e3;padding:3px 8px;text-align:left}
td.n{text-align:right;font-variant-numeric:tabular-nums}
.applies{font-weight:600;color:#b30000}.no{color:#555}.skip{color:#aaa}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 10px;vertical-align:middle;
border:1px solid #666}
a.back{font-size:.9em}
"""

MAP_W, MAP_H = 520, 420


def _esc(v: Any) -> str:
    return html.escape("" if v is None else str(v))


def _path(geom, tx) -> str:
    """An SVG path of a (multi)polygon in metres, through ``tx`` (metres -> pixels)."""
    parts = []
    for poly in shapely.get_parts(geom):
        for ring in [poly.exterior, *poly.interiors]:
            xy = tx(np.asarray(ring.coords))
            parts.append("M" + "L".join(f"{x:.1f},{y:.1f}" for x, y in xy) + "Z")
    return "".join(parts)


def _scale(width_m: float) -> float:
    """A round length about a quarter of the map's width."""
    target = width_m / 4
    base = 10 ** np.floor(np.log10(max(target, 1e-6)))
    return float(max(m * base for m in (1, 2, 5) if m * base <= target) if target >= base else base)


def map_svg(ev) -> str:
    """The plot (outlined), its patches (by year), its neighbours (by status), a scale bar."""
    x0, y0, x1, y1 = shapely.bounds(ev.plot_m)
    pad = max(x1 - x0, y1 - y0) * 0.25 + 20
    x0, y0, x1, y1 = x0 - pad, y0 - pad, x1 + pad, y1 + pad
    k = min(MAP_W / (x1 - x0), MAP_H / (y1 - y0))
    ox = (MAP_W - (x1 - x0) * k) / 2
    oy = (MAP_H - (y1 - y0) * k) / 2

    def tx(xy: np.ndarray) -> np.ndarray:
        return np.column_stack([ox + (xy[:, 0] - x0) * k, MAP_H - oy - (xy[:, 1] - y0) * k])

    shapes = []
    for pid, status, g in ev.neighbours:
        colour = STATUS_COLOURS.get(status, "#999")
        shapes.append(
            f'<path d="{_path(g, tx)}" fill="{colour}" fill-opacity=".25" stroke="{colour}" stroke-width="1">'
            f"<title>{_esc(pid)}: {_esc(status)}</title></path>"
        )
    years = sorted({p["year"] for p in ev.patches})
    for p in ev.patches:
        colour = YEAR_COLOURS[min(years.index(p["year"]), len(YEAR_COLOURS) - 1)]
        shapes.append(
            f'<path d="{_path(p["geometry_m"], tx)}" fill="{colour}" stroke="#6b0000" stroke-width=".6" '
            f'fill-rule="evenodd"><title>{_esc(p["year"])}: {p["area_ha"]:.4f} ha</title></path>'
        )
    shapes.append(f'<path d="{_path(ev.plot_m, tx)}" fill="none" stroke="#111" stroke-width="2.2"/>')
    bar = _scale(x1 - x0)
    bx, by, bw = 14, MAP_H - 16, bar * k
    shapes.append(
        f'<rect x="{bx - 4}" y="{by - 18}" width="{bw + 8}" height="26" fill="#fff" fill-opacity=".8"/>'
        f'<path d="M{bx},{by}h{bw:.1f}" stroke="#111" stroke-width="3"/>'
        f'<text x="{bx}" y="{by - 6}" font-size="12">{bar:g} m</text>'
        f'<text x="{MAP_W - 16}" y="22" font-size="14" text-anchor="middle">N</text>'
        f'<path d="M{MAP_W - 16},26l-5,12h10z" fill="#111"/>'
    )
    return f'<svg class="map" viewBox="0 0 {MAP_W} {MAP_H}" xmlns="http://www.w3.org/2000/svg">{"".join(shapes)}</svg>'


def _legend(ev) -> str:
    years = sorted({p["year"] for p in ev.patches})
    labels = [_esc(tr("loss {year}", year=y)) for y in years]
    items = "".join(
        f'<span style="background:{YEAR_COLOURS[min(i, len(YEAR_COLOURS) - 1)]}"></span>{label}'
        for i, label in enumerate(labels)
    )
    the_plot = _esc(_("the plot"))
    return f'<p class="legend"><span style="background:none;border:2px solid #111"></span>{the_plot}{items}</p>'


def _loss_table(ev) -> str:
    if not ev.loss:
        none = _esc(_("No forest loss measured in the plot."))
        return f"<p>{none}</p>"
    products = sorted({p for _, p, _ in ev.loss})
    by_year: dict[int, dict[str, float]] = {}
    for year, product, ha in ev.loss:
        by_year.setdefault(year, {})[product] = by_year.get(year, {}).get(product, 0.0) + ha
    head = "".join(f"<th>{_esc(c)} (ha)</th>" for c in products)
    rows = "".join(
        f"<tr><td>{y}</td>" + "".join(f'<td class="n">{fmt("{0:.4f}", v.get(p, 0.0))}</td>' for p in products) + "</tr>"
        for y, v in sorted(by_year.items())
    )
    year = _esc(_("year"))
    return f"<table><tr><th>{year}</th>{head}</tr>{rows}</table>"


def _trace(ev) -> str:
    rows = []
    for k, rule in enumerate(ev.trace, start=1):
        word, cls = (
            (_("decides"), "applies")
            if rule.applies
            else (_("does not apply"), "no")
            if rule.applies is False
            else (_("not reached"), "skip")
        )
        rows.append(
            f'<tr class="{cls}"><td>{k}</td><td>{_esc(rule.status)}</td><td>{_esc(rule.test)}</td>'
            f"<td>{_esc(word)}</td></tr>"
        )
    extra = []
    if ev.row.get("edge_only_loss") is True or ev.row.get("edge_only_loss") == 1:
        edge = _esc(_("All loss lies along the boundary (edge_only_loss): check the boundary first."))
        extra.append(f"<li>{edge}</li>")
    if ev.row.get("status_basis") == "field_check":
        settled = _esc(tr("Settled by a field check: {reason}", reason=ev.row.get("status_reason")))
        extra.append(f"<li>{settled}</li>")
    rule, looked = _esc(_("rule")), _esc(_("what it looked at"))
    return f"<table><tr><th>#</th><th>{rule}</th><th>{looked}</th><th></th></tr>{''.join(rows)}</table>" + (
        f"<ul>{''.join(extra)}</ul>" if extra else ""
    )


def _page_words(ev) -> dict[str, str]:
    """The words of an evidence page, in the language in use."""
    return {
        "plot": tr("Plot {plot_id}", plot_id=ev.plot_id),
        "open": _("Open the place in"),
        "kml": _("KML of the plot and its patches"),
        "by_year": _("Loss by year and product"),
        "patches": _("Loss patches"),
        "product": _("product"),
        "year": _("year"),
        "share": _("% of plot"),
        "deepest": _("deepest (m)"),
        "decided": _("How the status was decided"),
        "qc": _("Quality control"),
    }


def page(ev, title: str, back: str) -> str:
    """The HTML page of one plot's evidence (``back``: the link to the report)."""
    status = str(ev.row.get("status"))
    colour = STATUS_COLOURS.get(status, "#777")
    issues = "".join(f"<tr><td>{_esc(c)}</td><td>{_esc(s)}</td><td>{_esc(m)}</td></tr>" for c, s, m in ev.issues)
    links = " · ".join(f'<a href="{_esc(u)}" rel="noopener" target="_blank">{_esc(n)}</a>' for n, u in ev.links.items())
    patches = "".join(
        f'<tr><td>{_esc(p["product"])}</td><td>{_esc(p["year"])}</td><td class="n">{fmt("{0:.4f}", p["area_ha"])}</td>'
        f'<td class="n">{fmt("{0:.1f}", p["share_of_plot_pct"])}</td>'
        f'<td class="n">{fmt("{0:.1f}", p["max_distance_from_edge_m"])}</td></tr>'
        for p in ev.patches
    )
    head = "".join(f"<th>{_esc(w)}</th>" for w in (_("code"), _("severity"), _("finding")))
    none = _esc(_("No finding."))
    qc = f"<table><tr>{head}</tr>{issues}</table>" if issues else f"<p>{none}</p>"
    words = {k: _esc(v) for k, v in _page_words(ev).items()}
    return f"""<!DOCTYPE html>
<html lang="{language()}"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<title>{_esc(ev.plot_id)} · {_esc(title)}</title><link rel="stylesheet" href="{STYLESHEET}"></head><body>
<a class="back" href="{_esc(back)}">← {_esc(title)}</a>
<h1>{words["plot"]} <span class="status" style="background:{colour}">{_esc(status)}</span></h1>
<p>{_esc(ev.row.get("status_reason"))}</p>
<div class="grid"><div>{map_svg(ev)}{_legend(ev)}
<p>{words["open"]} {links} · <a href="{_esc(ev.slug)}.kml" download>{words["kml"]}</a></p></div>
<div><h2>{words["by_year"]}</h2>{_loss_table(ev)}
<h2>{words["patches"]}</h2><table><tr><th>{words["product"]}</th><th>{words["year"]}</th><th>ha</th>
<th>{words["share"]}</th><th>{words["deepest"]}</th></tr>{patches}</table>
</div></div>
<h2>{words["decided"]}</h2>{_trace(ev)}
<h2>{words["qc"]}</h2>{qc}
</body></html>
"""


def evidence_files(evidence: list, title: str, back: str) -> dict[str, str]:
    """Every page, KML and the shared stylesheet, by their name in the report's folder."""
    files = {f"{FOLDER}/{STYLESHEET}": CSS}
    for ev in evidence:
        files[f"{FOLDER}/{ev.slug}.html"] = page(ev, title, back)
        files[f"{FOLDER}/{ev.slug}.kml"] = ev.kml
    return files
