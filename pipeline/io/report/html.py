"""HTML building blocks of the report: numbers formatted, tables, status labels, the page shell,
and the shared assets (CSS, and the small script that sorts and filters tables: no library, and
the tables are complete and readable without it)."""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from ...i18n import _ as translate
from ...i18n import fmt, language
from ...vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW
from .texts import STATUS_LABELS, T

#: Status colours, as the GeoPackages' QGIS styles (pipeline.io.qgis_style).
COLOURS = {FREE: "#1a9850", REVIEW: "#f5a623", DETECTED: "#d73027", NOT_ASSESSED: "#9e9e9e", INVALID: "#5e3c99"}
#: A short class per status, for rows and labels.
STATUS_CLASS = {DETECTED: "sd", REVIEW: "sr", NOT_ASSESSED: "sn", INVALID: "si", FREE: "sf"}

CSS = """
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,"DejaVu Sans",sans-serif;margin:0;color:#222;
background:#fafafa;font-size:16px;line-height:1.4}
main{max-width:1100px;margin:0 auto;padding:1.5rem 2rem 3rem;background:#fff}
h1{margin:.2rem 0 .3rem;font-size:1.8rem}h2{margin-top:2.2rem;border-bottom:2px solid #1a9850;padding-bottom:.2rem}
h3{margin-top:1.6rem}.sub{color:#555;margin:0 0 1rem}
.cards{display:flex;flex-wrap:wrap;gap:.8rem;margin:1rem 0}
.card{flex:1 1 150px;border:1px solid #ddd;border-radius:6px;padding:.7rem .9rem;background:#fcfcfc}
.card .v{font-size:1.6rem;font-weight:600}.card .l{color:#555;font-size:.85rem}
.panel{border:2px solid #1f4e79;border-radius:8px;padding:.4rem 1.1rem 1rem;margin:1rem 0;background:#f7fafd}
.panel h2{margin-top:.6rem;border-color:#1f4e79}.panel li{margin:.35rem 0}.panel ul{padding-left:1.2rem}
.act{font-weight:600}
.tw{overflow-x:auto;max-width:100%;margin:.6rem 0}
.scroll{max-height:34rem;overflow:auto;border:1px solid #eee}
table{border-collapse:collapse;font-size:.86rem}
th,td{border-bottom:1px solid #e3e3e3;padding:.25rem .55rem;text-align:left;vertical-align:top}
th{background:#f1f3f1;position:sticky;top:0}td.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
td.w{color:#8a4b00}td.na{color:#666;font-style:italic}
.st{white-space:nowrap}.st::before{content:"";display:inline-block;width:.8rem;height:.8rem;border-radius:2px;
margin-right:.35rem;vertical-align:-1px;background:var(--c)}
.sd{--c:#d73027}.sr{--c:#f5a623}.sn{--c:#9e9e9e}.si{--c:#fff;}.si .st::before,.si.st::before{border:2px dashed #5e3c99}
.sf{--c:#1a9850}
.counts{display:flex;flex-wrap:wrap;gap:.4rem .9rem;margin:.5rem 0;padding:0;list-style:none}
.tools{display:flex;flex-wrap:wrap;gap:.4rem;align-items:center;margin:.4rem 0}
.tools input{font-size:1rem;padding:.25rem .4rem;min-width:12rem;max-width:100%}
.tools button{font-size:.9rem;padding:.2rem .6rem;border:1px solid #bbb;border-radius:4px;background:#fff}
.tools button[aria-pressed=true]{background:#1f4e79;color:#fff}
th[data-sort]{cursor:pointer}th[aria-sort=ascending]::after{content:" ▲"}th[aria-sort=descending]::after{content:" ▼"}
img{max-width:100%;height:auto}
.map{position:relative;display:inline-block;max-width:100%;line-height:0}
.map span{position:absolute;transform:translate(-50%,-100%);font-size:11px;line-height:1.1;color:#222;
background:rgba(255,255,255,.75);padding:0 2px;white-space:nowrap}
.map span.rg{color:#555;background:none;transform:translate(-50%,-50%)}
.map span.sb{transform:translate(0,-100%);background:none}
.legend{display:flex;flex-wrap:wrap;gap:.3rem 1rem;margin:.3rem 0;padding:0;list-style:none;font-size:.9rem}
dl{display:grid;grid-template-columns:max-content minmax(0,1fr);gap:.2rem 1rem}
dt{font-weight:600}dd{margin:0;overflow-wrap:anywhere}td{overflow-wrap:break-word}td:first-child{white-space:nowrap}
pre{background:#f6f6f6;padding:.6rem;overflow:auto;font-size:.78rem;white-space:pre-wrap;overflow-wrap:anywhere}
.note{color:#555;font-size:.88rem}.warn{color:#8a4b00;font-weight:600}a{color:#0b6e3a}code{overflow-wrap:anywhere}
@media (max-width:640px){main{padding:1rem .8rem 2rem}.panel{padding:.3rem .6rem .6rem}
.panel ul{padding-left:1rem}h1{font-size:1.4rem}dl{display:block}dd{margin:0 0 .4rem}
table{font-size:.8rem}th,td{padding:.2rem .35rem}.card{flex-basis:100%}}
@media print{.scroll{max-height:none;overflow:visible}main{padding:0}.tools{display:none}}
"""

#: Sorting by a click on a header, filtering by text and by status: tables marked ``sortable``.
JS = """
(function(){
function val(td){var t=td.textContent.trim(),s=t.replace(/[\\s\u00a0]/g,'');
s=document.documentElement.lang==='es'?s.replace(/\\./g,'').replace(',','.'):s.replace(/,/g,'');
var n=parseFloat(s);return (/^[-+]?[0-9,.\\s\u00a0]+$/.test(t)&&!isNaN(n))?n:t.toLowerCase();}
function sortBy(table,col,th){var body=table.tBodies[0],rows=Array.prototype.slice.call(body.rows);
var asc=th.getAttribute('aria-sort')!=='ascending';
Array.prototype.forEach.call(th.parentNode.cells,function(h){h.removeAttribute('aria-sort');});
th.setAttribute('aria-sort',asc?'ascending':'descending');
rows.sort(function(a,b){var x=val(a.cells[col]),y=val(b.cells[col]);
if(typeof x!==typeof y){x=String(x);y=String(y);}return (x<y?-1:x>y?1:0)*(asc?1:-1);});
rows.forEach(function(r){body.appendChild(r);});}
function filter(table,box,status){var q=box.value.toLowerCase();
Array.prototype.forEach.call(table.tBodies[0].rows,function(r){
var ok=(!q||r.textContent.toLowerCase().indexOf(q)>=0)&&(!status||r.className.indexOf(status)>=0);
r.hidden=!ok;});}
document.querySelectorAll('table.sortable').forEach(function(table){
var head=table.tHead.rows[0];Array.prototype.forEach.call(head.cells,function(th,i){
th.setAttribute('data-sort','');th.tabIndex=0;th.addEventListener('click',function(){sortBy(table,i,th);});
th.addEventListener('keydown',function(e){if(e.key==='Enter'){sortBy(table,i,th);}});});
var tools=document.createElement('div');tools.className='tools';var box=document.createElement('input');
box.type='search';box.placeholder=table.getAttribute('data-filter')||'';box.setAttribute('aria-label',box.placeholder);
tools.appendChild(box);var status='';var seen={};
Array.prototype.forEach.call(table.tBodies[0].rows,function(r){if(r.className){seen[r.className]=1;}});
var names=JSON.parse(table.getAttribute('data-statuses')||'{}');var buttons=[];
function button(cls,label){var b=document.createElement('button');b.type='button';b.textContent=label;
b.setAttribute('aria-pressed',cls===''?'true':'false');b.addEventListener('click',function(){status=cls;
buttons.forEach(function(x){x.setAttribute('aria-pressed',x===b?'true':'false');});filter(table,box,status);});
buttons.push(b);tools.appendChild(b);}
if(Object.keys(seen).length>1){button('',table.getAttribute('data-all')||'all');
Object.keys(names).forEach(function(c){if(seen[c]){button(c,names[c]);}});}
box.addEventListener('input',function(){filter(table,box,status);});
var wrap=table.closest('.tw')||table;wrap.parentNode.insertBefore(tools,wrap);});
})();
"""


# --- Formatting ----------------------------------------------------------------------------------


def label(status) -> str:
    """A status as people read it, in the language in use (anything else as it is)."""
    return translate(STATUS_LABELS[str(status)]) if str(status) in STATUS_LABELS else str(status)


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value))


def isnan(v) -> bool:
    try:
        return v is None or v is pd.NA or (isinstance(v, float) and math.isnan(v))
    except TypeError:
        return False


def fmt_int(v) -> str:
    return "–" if isnan(v) else fmt("{0:,}", int(v))


def fmt_ha(v) -> str:
    return "–" if isnan(v) else fmt("{0:,.2f}", float(v))


def fmt_pct(v) -> str:
    return "–" if isnan(v) else fmt("{0:.1f}", float(v))


def fmt_change(v) -> str:
    return "–" if isnan(v) else fmt("{0:+.1f}", float(v))


FORMATS = {"int": fmt_int, "ha": fmt_ha, "pct": fmt_pct, "change": fmt_change}


def cell(v, kind: str) -> str:
    """A table cell: ``text``, ``html`` (already marked up), a status, or a number."""
    if kind == "text":
        return f"<td>{esc('' if isnan(v) else v)}</td>"
    if kind == "html":
        return f"<td>{v}</td>"
    if kind == "status":
        return f'<td class="st {STATUS_CLASS.get(str(v), "")}">{esc(label(v))}</td>'
    if isinstance(v, str):  # a number replaced by words ("baseline too small to compare")
        return f'<td class="na">{esc(v)}</td>'
    return f'<td class="n">{FORMATS[kind](v)}</td>'


def compact_cell(v, kind: str) -> str:
    """A cell of a long table of plots: no end tag (HTML needs none), the status coloured by its
    row's class, numbers aligned by the table's own style."""
    if kind == "text":
        return f"<td>{esc('' if isnan(v) else v)}"
    if kind == "html":
        return f"<td>{v}"
    if kind == "status":
        return f"<td class=st>{esc(label(v))}"
    return f"<td>{FORMATS[kind](v)}"


def _sortable(table_id: str) -> str:
    import json

    names = {STATUS_CLASS[s]: label(s) for s in STATUS_CLASS}
    return (
        f' class="sortable" data-filter="{esc(T["filter_label"])}" data-all="{esc(T["filter_all"])}"'
        f" data-statuses='{esc(json.dumps(names))}'"
    )


def table(
    frame: pd.DataFrame,
    columns: list[tuple[str, str, str]],
    table_id: str = "",
    limit: int | None = None,
    *,
    sortable: bool = False,
    status_column: str | None = None,
    scroll: bool = True,
) -> str:
    """An HTML table of ``columns`` (column, header, kind: text|html|status|int|ha|pct|change).
    ``sortable``: the inline script sorts it by a click on a header and filters it (by text, and
    by the status of ``status_column``, whose rows carry the status's class: such a long table of
    plots is written compactly)."""
    shown = frame if limit is None else frame.head(limit)
    head = "".join(f"<th>{esc(h)}</th>" for _, h, _ in columns)
    compact = status_column is not None
    classes = [STATUS_CLASS.get(str(s), "") for s in shown[status_column]] if compact else None
    make = compact_cell if compact else cell
    rows = []
    for i, rec in enumerate(shown[[c for c, _, _ in columns]].itertuples(index=False)):
        cells = "".join(make(v, k) for v, (_, _, k) in zip(rec, columns))
        rows.append(f"<tr class={classes[i]}>{cells}" if classes else f"<tr>{cells}</tr>")
    more = ""
    if limit is not None and len(frame) > limit:
        more = f'<p class="note">{esc(T["first_rows"].format(limit=f"{limit:,}", n=f"{len(frame):,}"))}</p>'
    attrs = f' id="{table_id}"' if table_id else ""
    attrs += _sortable(table_id) if sortable else ""
    style = ""
    if compact and table_id:
        right = [f"#{table_id} td:nth-child({i + 1})" for i, (_, _, k) in enumerate(columns) if k in FORMATS]
        style = f"<style>{','.join(right)}{{text-align:right;white-space:nowrap}}</style>" if right else ""
    box = "tw scroll" if scroll else "tw"
    body = "".join(rows)
    html = f"<table{attrs}><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
    return f'{style}<div class="{box}">{html}</div>{more}'


def status_label(status: str) -> str:
    """A status as people read it, with its colour."""
    return f'<span class="st {STATUS_CLASS.get(status, "")}">{esc(label(status))}</span>'


def page(title: str, body: str, *, assets: str = "") -> str:
    """A whole page. ``assets``: the folder holding ``report.css`` and ``report.js`` (a page
    beside them says ``"."``); empty: both inside the page."""
    if assets:
        head = f'<link rel="stylesheet" href="{esc(assets)}/report.css">'
        tail = f'<script src="{esc(assets)}/report.js"></script>'
    else:
        head, tail = f"<style>{CSS}</style>", f"<script>{JS}</script>"
    return (
        f'<!DOCTYPE html>\n<html lang="{language()}"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{esc(title)}</title>{head}</head><body><main>{body}</main>{tail}</body></html>\n"
    )
