"""The report's charts, drawn with matplotlib, inlined as PNG: each drawn twice, for a wide
screen and for a phone (``<picture>``), so that its text is never under 10 CSS pixels; the text
is :data:`FONT_PT` at :data:`DPI` in either (``data-text-px`` on the image says how many image
pixels that is)."""

from __future__ import annotations

import base64
import io

import numpy as np
import pandas as pd

from ...vocab import DETECTED
from .html import COLOURS, esc
from .texts import CHART

#: Resolution of every drawing, and the smallest text in it (points).
DPI = 100
FONT_PT = 9
#: Figure widths (inches): a desktop page, and a phone (about 400 image pixels for 360 CSS pixels).
WIDE, NARROW = 9.0, 4.0
#: Below this screen width the narrow drawing is shown.
NARROW_MEDIA = "(max-width: 700px)"


def plt():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as pyplot

    return pyplot


def png(fig, colours: int | None = None) -> str:
    """The figure as an inline image source (PNG, base64); ``colours``: reduced to a palette of
    that many colours (a map of flat fills: several times smaller)."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=fig.dpi, metadata={"Software": None})  # one draw: the layout is fixed
    plt().close(fig)
    data = buf.getvalue()
    if colours:
        from PIL import Image

        out = io.BytesIO()
        Image.open(io.BytesIO(data)).convert("RGB").quantize(colors=colours, dither=Image.Dither.NONE).save(
            out, format="PNG", optimize=True
        )
        data = out.getvalue()
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def text_px() -> float:
    """The smallest text of a chart, in image pixels."""
    return FONT_PT * DPI / 72


def picture(alt: str, draw) -> str:
    """``draw(width)`` for a wide screen and for a phone, as one ``<picture>``."""
    narrow, wide = draw(NARROW), draw(WIDE)
    return (
        f'<picture><source media="{NARROW_MEDIA}" srcset="{narrow}">'
        f'<img alt="{esc(alt)}" src="{wide}" data-text-px="{text_px():.1f}"></picture>'
    )


def _year_ticks(ax, years: np.ndarray, width: float) -> None:
    every = 1 if len(years) < 13 and width >= WIDE else (2 if width >= WIDE else 4)
    ax.set_xticks(years)
    ax.set_xticklabels([str(y) if (y - years.min()) % every == 0 else "" for y in years], fontsize=FONT_PT)


def _style(ax) -> None:
    ax.tick_params(labelsize=FONT_PT)
    ax.spines[["top", "right"]].set_visible(False)


def loss_chart(data, width: float = WIDE) -> str:
    """Loss per year inside the plots, the baseline mean over its period, the cut-off marked."""
    fig = plt().figure(figsize=(width, 3.6 if width >= WIDE else 3.4), dpi=DPI)
    ax = fig.add_axes((0.09, 0.12, 0.88, 0.83) if width >= WIDE else (0.16, 0.12, 0.8, 0.78))
    years = data.yearly["year"].to_numpy()
    loss = data.yearly["loss_ha"].to_numpy(dtype=float)
    ref, p = data.reference_year, data.period
    ax.bar(years, loss, color=[COLOURS[DETECTED] if y > ref else "#7f8c8d" for y in years], width=0.75)
    mean = float(data.national["baseline_mean_annual_loss_ha"])
    ax.hlines(mean, p.start - 0.4, p.end + 0.4, colors="#1f4e79", linestyles="-", lw=2)
    ax.hlines(mean, p.end + 0.4, years.max() + 0.5, colors="#1f4e79", linestyles=":", lw=1.5)
    label = CHART["baseline_mean"].format(period=p, mean=f"{mean:,.1f}")
    if width >= WIDE:
        ax.text(p.start - 0.4, mean, " " + label, va="bottom", fontsize=FONT_PT, color="#1f4e79")
    else:
        fig.text(0.16, 0.99, label, va="top", fontsize=FONT_PT, color="#1f4e79")
    ax.axvline(ref + 0.5, color="#222", ls="--", lw=1)
    ax.text(ref + 0.55, ax.get_ylim()[1] * 0.97, CHART["after"].format(year=ref), va="top", fontsize=FONT_PT)
    ax.set_ylabel(CHART["loss_axis"], fontsize=FONT_PT)
    _year_ticks(ax, years, width)
    _style(ax)
    return png(fig)


#: Regions drawn one by one in the region chart (the others are summed as "other regions").
REGION_CHART_MAX = 8


def region_chart(data, width: float = WIDE) -> str:
    """Region totals per year (bars stacked by region, the largest by baseline loss) above cocoa's
    share of them (the regions together, and each region drawn), the reference year marked."""
    wide = width >= WIDE
    fig = plt().figure(figsize=(width, 6.2 if wide else 7.4), dpi=DPI)
    box = (0.09, 0.62) if wide else (0.17, 0.8)
    top = fig.add_axes((box[0], 0.55, box[1], 0.42) if wide else (box[0], 0.62, box[1], 0.35))
    low = fig.add_axes((box[0], 0.07, box[1], 0.40) if wide else (box[0], 0.30, box[1], 0.27), sharex=top)
    years = np.asarray(data.years)
    loss = data.region_loss.fillna(0.0)
    shown = loss[list(years[np.isin(years, data.period.years)])].sum(axis=1).sort_values(ascending=False).index
    shown = list(shown[:REGION_CHART_MAX])
    cmap = plt().get_cmap("tab10")
    bottom = np.zeros(len(years))
    for k, label in enumerate(shown):
        values = loss.loc[label, list(years)].to_numpy(dtype=float)
        top.bar(years, values, bottom=bottom, width=0.75, color=cmap(k % 10), label=str(label)[:34])
        bottom += values
    rest = loss.drop(index=shown)
    if len(rest):
        values = rest[list(years)].sum(axis=0).to_numpy(dtype=float)
        top.bar(
            years, values, bottom=bottom, width=0.75, color="#bbbbbb", label=CHART["other_regions"].format(n=len(rest))
        )
    top.set_ylabel(CHART["region_axis"], fontsize=FONT_PT)
    yearly = data.region_yearly
    low.plot(years, yearly["cocoa_share_pct"], color="#222", lw=2.2, marker="o", ms=3, label=CHART["in_cocoa"])
    if "near_cocoa_share_pct" in yearly.columns:
        low.plot(years, yearly["near_cocoa_share_pct"], color="#222", lw=1.5, ls=":", label=CHART["near_cocoa"])
    for k, label in enumerate(shown):
        low.plot(years, data.region_shares.loc[label, list(years)], color=cmap(k % 10), lw=1, alpha=0.8)
    low.set_ylabel(CHART["share_axis"], fontsize=FONT_PT)
    low.set_ylim(bottom=0)
    ref, p = data.reference_year, data.period
    for ax in (top, low):
        ax.axvspan(p.start - 0.5, p.end + 0.5, color="#1f4e79", alpha=0.06)
        ax.axvline(ref + 0.5, color="#222", ls="--", lw=1)
        _style(ax)
    top.text(ref + 0.55, top.get_ylim()[1] * 0.97, CHART["reference_year"].format(year=ref), va="top", fontsize=FONT_PT)
    top.text(p.start - 0.4, top.get_ylim()[1] * 0.97, CHART["baseline"].format(period=p), va="top", fontsize=FONT_PT,
             color="#1f4e79")  # fmt: skip
    _year_ticks(low, years, width)
    if wide:
        top.legend(fontsize=FONT_PT, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
        low.legend(fontsize=FONT_PT, frameon=False, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        handles = top.get_legend_handles_labels()[0] + low.get_legend_handles_labels()[0]
        fig.legend(
            handles=handles, fontsize=FONT_PT, frameon=False, loc="lower left", bbox_to_anchor=(0.02, 0.0), ncol=1
        )
    return png(fig)


def alert_chart(months: pd.DataFrame, width: float = WIDE) -> str:
    """The area of alerts that count per month after the cut-off, all plots, one bar series per product."""
    fig = plt().figure(figsize=(width, 3.0), dpi=DPI)
    ax = fig.add_axes((0.09, 0.16, 0.88, 0.78) if width >= WIDE else (0.17, 0.16, 0.8, 0.78))
    order = sorted(months["month"].astype(str).unique())
    x = {m: i for i, m in enumerate(order)}
    products = list(pd.unique(months["product"].astype(str))) if "product" in months.columns else [""]
    bar = 0.8 / max(len(products), 1)
    for k, product in enumerate(products):
        mine = months[months["product"].astype(str) == product] if product else months
        xs = [x[str(m)] + (k - (len(products) - 1) / 2) * bar for m in mine["month"]]
        ax.bar(xs, mine["alert_ha"].to_numpy(dtype=float), width=bar, label=product or None, color=COLOURS[DETECTED])
    step = max(1, -(-len(order) // (9 if width >= WIDE else 4)))  # labels that never touch
    ax.set_xticks(range(0, len(order), step))
    ax.set_xticklabels(order[::step], fontsize=FONT_PT, rotation=0)
    ax.set_ylabel(CHART["alerts_axis"], fontsize=FONT_PT)
    _style(ax)
    if len(products) > 1:
        ax.legend(fontsize=FONT_PT)
    return png(fig)
