"""The sections of the report's index page, top to bottom, each a small function of the
:class:`Context`; :data:`SECTIONS` is their order (a new section is one function added there)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from ...i18n import _ as translate
from ...vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, STATUS_MEANINGS
from .charts import alert_chart, loss_chart, picture, region_chart
from .cutoff import cutoff_section
from .html import COLOURS, esc, fmt_ha, fmt_int, fmt_pct, status_label, table
from .maps import overview_map
from .panel import panel
from .texts import HEADERS, OVERLAY_EFFECTS, T


@dataclass
class Context:
    """What every section needs: the figures, and where the lists and group pages are."""

    data: Any  # pipeline.stages.report.ReportData (io does not import stages)
    separate: bool  # group pages and plot lists in files of their own
    folder: str  # their folder, relative to the index
    hrefs: dict[str, str] = field(default_factory=dict)  # group key or list name -> link


def headline(ctx: Context) -> str:
    data, ref = ctx.data, ctx.data.reference_year
    total = data.by_status.loc["total"]
    s = data.by_status
    free_plots = float(data.national["deforestation_free_plots_pct"])
    free_area = float(data.national["deforestation_free_area_pct"])
    no_verdict = s.loc[NOT_ASSESSED, "plots"] + s.loc[INVALID, "plots"]
    cards = [
        (fmt_int(total["plots"]), "", T["card_plots"].format(area=fmt_ha(total["area_ha"]))),
        (f"{fmt_pct(free_plots)} %", COLOURS[FREE], T["card_free"].format(area_pct=fmt_pct(free_area))),
        (f"{fmt_ha(total['loss_after_ref_ha'])} ha", COLOURS[DETECTED], T["card_loss"].format(year=ref)),
        (fmt_int(no_verdict), "", T["card_no_verdict"]),
    ]
    html = "".join(
        f'<div class="card"><div class="v"{f" style=color:{c}" if c else ""}>{v}</div>'
        f'<div class="l">{esc(label)}</div></div>'
        for v, c, label in cards
    )
    facts = "".join(f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in data.facts.items())
    return f'<div class="cards" id="headline">{html}</div><dl>{facts}</dl>'


def by_status(ctx: Context) -> str:
    data = ctx.data
    st = data.by_status.reset_index(names="status")
    st["label"] = [status_label(x) if x != "total" else "<b>total</b>" for x in st["status"]]
    st["meaning"] = [translate(STATUS_MEANINGS[x]) if x in STATUS_MEANINGS else "" for x in st["status"]]
    cols = [("label", HEADERS["status"], "html"), ("plots", HEADERS["plots"], "int"),
            ("area_ha", HEADERS["area_ha"], "ha"),
            ("loss_after_ref_ha", HEADERS["loss_after_ref_ha"].format(year=data.reference_year), "ha"),
            ("meaning", HEADERS["meaning"], "text")]  # fmt: skip
    note = ""
    if "field_checked" in st.columns:  # a screening with reviews: what rests on a field check
        cols.insert(2, ("field_checked", HEADERS["field_checked"], "int"))
        free = data.by_status.loc[FREE]
        note = '<p class="note" id="field-checked">' + esc(T["field_checked_note"].format(
            n=fmt_int(free["field_checked"]), free=fmt_int(free["plots"]),
            all=fmt_int(data.by_status.loc["total", "field_checked"]))) + "</p>"  # fmt: skip
    return f"<h2>{esc(T['by_status'])}</h2>" + table(st, cols, table_id="by-status", scroll=False) + note


def cutoff(ctx: Context) -> str:
    """The forest at the cut-off: the plots each case decided, the indicators per source (when measured)."""
    return "".join(cutoff_section(ctx.data, table))


def loss(ctx: Context) -> str:
    data = ctx.data
    cols = [("year", HEADERS["year"], "text"), ("loss_ha", HEADERS["loss_ha"], "ha")]
    return (
        f"<h2>{esc(T['loss_title'])}</h2>"
        + picture("forest loss per year", lambda w: loss_chart(data, w))
        + f'<p class="note">{esc(T["loss_note"].format(period=data.period))}</p>'
        + f"<details><summary>{esc(T['the_figures'])}</summary>"
        + table(data.yearly, cols, table_id="loss-per-year")
        + "</details>"
    )


def overview(ctx: Context) -> str:
    return f'<h2>{esc(T["map_title"])}</h2>{overview_map(ctx.data)}<p class="note">{esc(T["map_note"])}</p>'


def honest(frame: pd.DataFrame, data) -> pd.DataFrame:
    """The change columns of a group table, in words where the baseline is too small to compare."""
    out = frame.copy()
    small = pd.to_numeric(out["baseline_mean_annual_loss_ha"], errors="coerce").fillna(0) < data.min_baseline_ha
    for c in [c for c in out.columns if str(c).startswith("change_") and str(c).endswith("_vs_baseline_pct")]:
        out[c] = out[c].astype(object)
        out.loc[small, c] = T["baseline_too_small"]
    return out


def group_columns(data, key_header: str) -> list[tuple[str, str, str]]:
    ref = data.reference_year
    cols = [
        ("link", key_header, "html"),
        ("name", HEADERS["name"], "text"),
        ("n_plots", HEADERS["n_plots"], "int"),
        ("deforestation_free_plots_pct", HEADERS["deforestation_free_plots_pct"], "pct"),
        ("area_ha", HEADERS["area_ha"], "ha"),
        ("deforestation_free_area_pct", HEADERS["deforestation_free_area_pct"], "pct"),
        ("loss_after_ref_ha", HEADERS["loss_after_ref_ha"].format(year=ref), "ha"),
        ("baseline_mean_annual_loss_ha", HEADERS["baseline_mean_annual_loss_ha"].format(period=data.period), "ha"),
    ]
    cols += [(f"change_{y}_vs_baseline_pct", HEADERS["change"].format(year=y), "change") for y in data.years if y > ref]
    return cols


def regions(ctx: Context) -> str:
    data = ctx.data
    if data.regions is None:
        return ""
    r = pd.DataFrame(data.regions.drop(columns=data.regions.geometry.name))
    r["link"] = [esc(x) for x in r["region_id"]]
    r = honest(r.rename(columns={"region_name": "name"}), data)
    out = f"<h2>{esc(T['by_region'])}</h2>" + table(
        r, group_columns(data, HEADERS["region"]), "by-region", sortable=True
    )
    if data.regions_without_plots:
        out += f'<p class="note">{esc(T["regions_without_plots"].format(n=f"{data.regions_without_plots:,}"))}</p>'
    return out + f'<p class="note">{esc(T["baseline_too_small_note"].format(min=f"{data.min_baseline_ha:g}"))}</p>'


def region_totals(ctx: Context) -> str:
    """Each region's whole forest loss and cocoa's share of it, per year; shares over regions
    with too little data coverage marked."""
    data = ctx.data
    if data.region_totals is None:
        return ""
    t = data.region_totals.copy()
    last = data.years[-1]
    cols = [("region", HEADERS["region"], "text")]
    for c, key in (
        ("region_data_coverage_pct", "region_data_coverage_pct"),
        ("region_baseline_mean_annual_loss_ha", "region_baseline_mean_annual_loss_ha"),
        ("cocoa_baseline_mean_annual_loss_ha", "cocoa_baseline_mean_annual_loss_ha"),
        ("cocoa_share_of_baseline_loss_pct", "cocoa_share_of_baseline_loss_pct"),
        ("cocoa_share_of_baseline_loss_sum_of_plots_pct", "cocoa_share_of_baseline_loss_sum_of_plots_pct"),
        ("near_cocoa_share_of_baseline_loss_pct", "near_cocoa_share_of_baseline_loss_pct"),
        (f"cocoa_share_of_loss_{last}_pct", "cocoa_share_last"),
    ):
        if c in t.columns:
            kind = "pct" if c.endswith("_pct") else "ha"
            cols.append((c, HEADERS[key].format(period=data.period, year=last), kind))
    warning = ""
    if "region_data_coverage_pct" in t.columns:
        low = pd.to_numeric(t["region_data_coverage_pct"], errors="coerce").fillna(0) < data.min_coverage_pct
        for c in [c for c, _, _ in cols if "share" in c]:
            t[c] = t[c].astype(object)
            t.loc[low, c] = [T["low_coverage_cell"].format(value=fmt_pct(v)) for v in t.loc[low, c]]
        if low.any():
            names = ", ".join(str(x) for x in t.loc[low, "region"])
            text = T["coverage_warning"].format(names=names, min=f"{data.min_coverage_pct:g}")
            warning = f'<p class="warn" id="coverage-warning">⚠ {esc(text)}</p>'
    ycols = [("year", HEADERS["year"], "text"), ("region_loss_ha", HEADERS["region_loss_ha"], "ha"),
             ("cocoa_share_pct", HEADERS["cocoa_share_pct"], "pct")]  # fmt: skip
    if "near_cocoa_share_pct" in data.region_yearly.columns:
        ycols.append(("near_cocoa_share_pct", HEADERS["near_cocoa_share_pct"], "pct"))
    return (
        f"<h2>{esc(T['region_totals'])}</h2>{warning}"
        + picture("forest loss per year in the regions and cocoa's share of it", lambda w: region_chart(data, w))
        + f'<p class="note">{esc(T["region_totals_note"].format(period=data.period, year=data.reference_year))}</p>'
        + table(t, cols, table_id="region-totals")
        + f"<details><summary>{esc(T['figures_per_year'])}</summary>"
        + table(data.region_yearly, ycols, table_id="region-totals-per-year")
        + "</details>"
    )


def groups(ctx: Context) -> str:
    data = ctx.data
    if data.groups is None:
        if data.no_groups:
            return f'<p class="warn" id="no-groups">{esc(T["no_groups"].format(column=data.cooperative_column))}</p>'
        return ""
    g = honest(data.groups, data)
    g["link"] = [f'<a href="{esc(ctx.hrefs[str(k)])}">{esc(k)}</a>' for k in g["group"]]
    where = T["groups_pages"] if ctx.separate else T["groups_inline"]
    return (
        f"<h2>{esc(T['by_group'].format(label=data.group_label))}</h2>"
        f'<p class="note">{esc(where.format(n=f"{len(g):,}"))}</p>'
        + table(g, group_columns(data, data.group_label), table_id="by-group", sortable=True)
    )


def supply(ctx: Context) -> str:
    data, out = ctx.data, []
    for name in ("lots", "buyers"):
        frame = getattr(data, name)
        if frame is None:
            continue
        key = "lot_id" if name == "lots" else "buyer"
        cols = [(key, HEADERS[key], "text")]
        if name == "lots" and "buyer" in frame.columns:
            cols.append(("buyer", HEADERS["buyer"], "text"))
        if name == "buyers":
            cols.append(("n_lots", HEADERS["n_lots"], "int"))
        cols += [("n_plots", HEADERS["n_plots"], "int"), ("quantity", HEADERS["quantity"], "ha"),
                 ("deforestation_free_quantity_pct", HEADERS["deforestation_free_quantity_pct"], "pct")]  # fmt: skip
        flags = pd.DataFrame(frame)
        flags["free"] = [HEADERS["yes"] if v else HEADERS["no"] for v in flags["deforestation_free"].fillna(False)]
        cols.append(("free", HEADERS["all_free"], "text"))
        if "unknown_plot_ids" in flags.columns:
            cols.append(("unknown_plot_ids", HEADERS["unknown_plot_ids"], "text"))
        out += [f"<h2>{esc(T[name])}</h2>", table(flags, cols, table_id=name, limit=data.max_table_rows, sortable=True)]
    return "".join(out)


def overlays(ctx: Context) -> str:
    """The layers under the plots (protected areas, native lands, concessions): per layer, the
    plots that overlap it and what that did (nothing when the screening had no overlays)."""
    frame = getattr(ctx.data, "overlays", None)
    if frame is None or not len(frame):
        return ""
    shown = frame.assign(what=[OVERLAY_EFFECTS.get(e, e) for e in frame["effect"]])
    cols = [("overlay", HEADERS["overlay"], "text"), ("kind", HEADERS["kind"], "text"),
            ("what", HEADERS["effect"], "text"), ("plots", HEADERS["plots_overlapping"], "int"),
            ("overlap_ha", HEADERS["overlap_ha"], "ha"), ("review", HEADERS["now_review"], "int"),
            ("deforestation_free", HEADERS["still_free"], "int")]  # fmt: skip
    return f'<h2>{esc(T["overlays"])}</h2><p class="note">{esc(T["overlays_note"])}</p>' + table(
        shown, cols, table_id="overlays", scroll=False
    )


def alerts(ctx: Context) -> str:
    data, out = ctx.data, []
    if data.alerts:
        out.append(f"<h2>{esc(T['alerts'])}</h2>")
    if data.alert_months is not None and len(data.alert_months):
        out.append(picture(translate("alert area per month"), lambda w: alert_chart(data.alert_months, w)))
    for title, frame in data.alerts.items():
        cols = [(c, c, "ha" if pd.api.types.is_float_dtype(frame[c]) else "text") for c in frame.columns]
        ident = "alerts-per-month" if frame is data.alert_months else "alerts-by-status"
        out += [f"<h3>{esc(title)}</h3>", table(frame, cols, table_id=ident, limit=data.max_table_rows)]
    return "".join(out)


def provenance(ctx: Context) -> str:
    out = [f"<h2>{esc(T['provenance'])}</h2>"]
    for name, doc in ctx.data.provenance:
        out.append(f"<h3>{esc(name)}</h3><dl>")
        out += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in doc.items() if k not in ("inputs", "config") and v]
        out.append("</dl>")
        inputs = pd.DataFrame(doc.get("inputs") or [])
        if len(inputs):
            for c in ("role", "path", "size", "mtime_utc", "sha256"):
                if c not in inputs.columns:
                    inputs[c] = None
            cols = [("role", HEADERS["input"], "text")] + [
                (c, HEADERS[c], "int" if c == "size" else "text") for c in ("path", "size", "mtime_utc", "sha256")
            ]
            out.append(table(inputs, cols, limit=50))
        if doc.get("config"):
            text = esc(json.dumps(doc["config"], indent=2, ensure_ascii=False))
            out.append(f"<details><summary>{esc(T['full_config'])}</summary><pre>{text}</pre></details>")
    return "".join(out)


#: The index page, top to bottom (the plot lists and group sections follow when inline).
SECTIONS = (
    headline,
    panel,
    by_status,
    cutoff,
    loss,
    overview,
    regions,
    region_totals,
    groups,
    supply,
    overlays,
    alerts,
)
