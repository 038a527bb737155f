"""The HTML report: charts and maps drawn with matplotlib, inlined as PNG, in pages that need no
network, written atomically.

:func:`render` turns a :class:`pipeline.stages.report.ReportData` into the index page (styles and
script inside it) and, for a large screening, the pages in ``<name>_files/`` beside it: one per
cooperative (or region), one per plot list of the "what to do now" panel, and the styles and
script they share (``report.css``, ``report.js``). :func:`write_report` puts them in place.

The modules: :mod:`.texts` (every sentence), :mod:`.html` (tables, the page, the assets),
:mod:`.charts` and :mod:`.maps` (the drawings), :mod:`.panel` (what to do now, the plot lists),
:mod:`.sections` (the index's sections, in order), :mod:`.groups` (a group's part),
:mod:`.files` (reading and writing).
"""

from __future__ import annotations

from pathlib import Path

from ...i18n import _
from .files import check_report_target, pages_folder, read_baseline, read_manifest, write_report
from .groups import section_body
from .html import CSS, JS, esc, page
from .panel import LISTS, lists
from .sections import SECTIONS, Context, provenance
from .texts import T

__all__ = ["check_report_target", "pages_folder", "read_baseline", "read_manifest", "render", "write_report"]


def _hrefs(ctx: Context) -> dict[str, str]:
    """Where each group's part and each plot list is: a page of its own, or an anchor below."""
    data, out = ctx.data, {}
    for sec in data.sections:
        out[sec.key] = f"{ctx.folder}/{sec.slug}.html" if ctx.separate else f"#{sec.slug}"
    for name, _attr, _title in LISTS:
        out[name] = f"{ctx.folder}/{name}.html" if ctx.separate else f"#{name}"
    return out


def render(data, *, separate_pages: bool, pages_folder: str, progress: bool = False) -> tuple[str, dict[str, str]]:
    """(index page, {file name: page or asset}) of the report."""
    from tqdm.auto import tqdm

    ctx = Context(data, separate_pages, pages_folder)
    ctx.hrefs = _hrefs(ctx)
    total = data.by_status.loc["total"]
    subtitle = T["subtitle"].format(plots=f"{int(total['plots']):,}", year=data.reference_year)
    parts = [f"<h1>{esc(data.title)}</h1>", f'<p class="sub">{esc(subtitle)}</p>']
    parts += [section(ctx) for section in SECTIONS]
    pages: dict[str, str] = {}
    index = Path(pages_folder).name.removesuffix("_files")
    back = f'<p><a href="../{esc(index)}.html">{esc(T["back"])}</a></p>'
    plot_lists = lists(ctx, prefix="../" if separate_pages else "")
    if separate_pages:
        for name, body in plot_lists.items():
            pages[f"{name}.html"] = page(f"{data.title}", back + body, assets=".")
    elif plot_lists:
        parts.append(f"<h2>{esc(T['lists_title'])}</h2>" + "".join(plot_lists.values()))
    if data.sections and not separate_pages:
        parts.append(f"<h2>{esc(T['plots_of_each'].format(label=data.group_label))}</h2>")
    bar = tqdm(data.sections, desc=_("report pages"), unit=_("group"), disable=not progress, leave=False)
    for sec in bar:
        if separate_pages:
            body = section_body(ctx, sec, prefix="../")
            pages[f"{sec.slug}.html"] = page(f"{sec.title} — {data.title}", f"{back}<h1>{esc(sec.title)}</h1>{body}",
                                             assets=".")  # fmt: skip
        else:
            parts.append(f'<h3 id="{sec.slug}">{esc(sec.title)}</h3>{section_body(ctx, sec)}')
    parts.append(provenance(ctx))
    if pages:
        pages["report.css"], pages["report.js"] = CSS, JS
    return page(data.title, "".join(parts)), pages
