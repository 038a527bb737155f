"""The "what to do now" panel at the top of the report, and the plot lists it links to: the plots
to leave out of the statement, to check, without a verdict; the quality-control findings; the
EUDR export's outcome."""

from __future__ import annotations

import pandas as pd

from ...i18n import _ as translate
from ...vocab import INVALID, NOT_ASSESSED, SEVERITY
from .html import esc, status_label, table
from .texts import HEADERS, T

#: The plot lists: (name, Actions attribute, title).
LISTS = (("leave-out", "leave_out", "list_leave_out"), ("check", "check", "list_check"),
         ("no-verdict", "no_verdict", "list_no_verdict"))  # fmt: skip

#: A hook for the next step of the plots to check (issue 23's field-check package may set it).


def status_counts(statuses: pd.Series) -> str:
    """The statuses of a list of plots, counted, most severe first."""
    counts = statuses.astype(str).value_counts()
    items = "".join(f"<li>{status_label(s)} <b>{counts[s]:,}</b></li>" for s in SEVERITY if counts.get(s, 0))
    return f'<ul class="counts" aria-label="plots per status">{items}</ul>'


def plot_id_cell(ids: pd.Series, evidence: dict[str, str], base: str) -> list[str]:
    """Plot ids, each a link to its evidence page when it has one (``base``: the pages' folder,
    from the page the table is on)."""
    return [
        f'<a href="{esc(base + evidence[str(i)])}.html">{esc(i)}</a>' if str(i) in evidence else esc(i)
        for i in ids.astype(str)
    ]


def plot_table(ctx, frame: pd.DataFrame, table_id: str, prefix: str = "", reasons: bool = True) -> str:
    """A list of plots: id (linked to its evidence page), group, status, loss, reason."""
    data = ctx.data
    shown = pd.DataFrame(frame)
    base = "plots/" if prefix else f"{ctx.folder}/plots/"  # the evidence pages (pipeline.io.evidence)
    shown["plot"] = plot_id_cell(shown["plot_id"], data.evidence, base)
    if not reasons:
        shown["status_reason"] = [r if s != "deforestation_free" else "" for s, r in
                                  zip(shown["status"].astype(str), shown["status_reason"])]  # fmt: skip
    cols = [("plot", HEADERS["plot_id"], "html")]
    group = data.actions.group_column if data.actions is not None else None
    if group and group in shown.columns:
        cols.append((group, data.group_label, "text"))
    cols += [("status", HEADERS["status"], "status"),
             ("loss_after_ref_ha", HEADERS["loss_after_ref_ha"].format(year=data.reference_year), "ha")]  # fmt: skip
    cols += [(c, HEADERS["alert_product"].format(product=str(c).removesuffix("_alert_ha")), "ha")
             for c in shown.columns if str(c).endswith("_alert_ha")]  # fmt: skip
    cols.append(("status_reason", HEADERS["status_reason"], "text"))
    return table(shown, cols, table_id=table_id, sortable=True, status_column="status")


def _link(ctx, name: str) -> str:
    return f' <a href="{esc(ctx.hrefs[name])}">{esc(T["the_list"])}</a>'


def _todo(ctx) -> str:
    a, ref = ctx.data.actions, ctx.data.reference_year
    items = []
    if len(a.leave_out):
        items.append(f'<span class="act">{esc(T["leave_out"].format(n=f"{len(a.leave_out):,}", year=ref))}</span>'
                     + _link(ctx, "leave-out"))  # fmt: skip
    else:
        items.append(esc(T["leave_out_none"].format(year=ref)))
    if len(a.check):
        text = T["check"].format(n=f"{len(a.check):,}", year=ref)
        items.append(f'<span class="act">{esc(text)}</span>{_link(ctx, "check")}<br>{esc(T["next_step"])}')
    else:
        items.append(esc(T["check_none"]))
    if len(a.no_verdict):
        s = a.no_verdict["status"].astype(str)
        text = T["no_verdict"].format(n=f"{len(s):,}", not_assessed=f"{(s == NOT_ASSESSED).sum():,}",
                                      invalid=f"{(s == INVALID).sum():,}")  # fmt: skip
        items.append(f'<span class="act">{esc(text)}</span>{_link(ctx, "no-verdict")}')
    return "<ul>" + "".join(f"<li>{i}</li>" for i in items) + "</ul>"


def _qc(ctx) -> str:
    qc = ctx.data.actions.qc
    out = f"<h3>{esc(T['qc_title'])}</h3>"
    if not len(qc):
        return out + f"<p>{esc(T['qc_none'])}</p>"
    # the severity and a finding's words in the language in use (a message the catalog has; the
    # findings that quote the file's own values stay as quality control wrote them)
    qc = qc.assign(
        severity=[translate(str(v)) for v in qc["severity"]], example=[translate(str(v)) for v in qc["example"]]
    )
    cols = [("code", HEADERS["code"], "text"), ("severity", HEADERS["severity"], "text"),
            ("plots", HEADERS["plots"], "int"), ("example", HEADERS["example"], "text")]  # fmt: skip
    return out + table(qc, cols, table_id="qc-findings", scroll=False) + f'<p class="note">{esc(T["qc_note"])}</p>'


def _export(ctx) -> str:
    e = ctx.data.actions.export
    out = f"<h3>{esc(T['export_title'])}</h3>"
    if e is None:
        return out + f'<p class="note">{esc(T["export_none"])}</p>'
    left = int(e.left_out["plots"].sum()) if len(e.left_out) else 0
    names = ", ".join(e.files[:5]) + (", …" if len(e.files) > 5 else "")
    text = T["export_done"].format(folder=e.folder, plots=f"{e.exported:,}", files=len(e.files), names=names,
                                   left=f"{left:,}")  # fmt: skip
    out += f'<p id="export-outcome">{esc(text)}'
    if e.repaired:
        out += " " + esc(T["export_repaired"].format(n=f"{e.repaired:,}"))
    if getattr(e, "field_checked", 0):
        out += " " + esc(T["export_field_checked"].format(n=f"{e.field_checked:,}"))
    out += "</p>"
    if len(e.left_out):
        cols = [("reason", HEADERS["reason"], "text"), ("plots", HEADERS["plots"], "int")]
        out += table(e.left_out, cols, table_id="export-left-out", scroll=False)
    return out


def panel(ctx) -> str:
    """The panel: what to leave out, what to check, what to fix, QC, the export."""
    if ctx.data.actions is None:
        return ""
    return (
        f'<section class="panel" id="actions"><h2>{esc(T["panel_title"])}</h2>'
        + _todo(ctx)
        + _qc(ctx)
        + _export(ctx)
        + "</section>"
    )


def lists(ctx, prefix: str = "") -> dict[str, str]:
    """{list name: its heading and table} of the plot lists that are not empty."""
    a = ctx.data.actions
    out = {}
    for name, attr, title in LISTS:
        frame = getattr(a, attr) if a is not None else None
        if frame is None or not len(frame):
            continue
        out[name] = (
            f'<h3 id="{name}">{esc(T[title])}</h3>'
            + status_counts(frame["status"])
            + plot_table(ctx, frame, f"list-{name}", prefix)
        )
    return out
