"""The figures of the HTML report, from a screening's ``plots`` and (optionally) the baseline's
layers: frames in, a :class:`ReportData` out. :mod:`pipeline.io.report` draws and writes it.

Every number the report shows is taken from the GeoPackages or computed here the way the
baseline computes it (:func:`pipeline.stages.baseline.groups.group_figures`), so the report and
the files agree (the test suite checks it).

Columns a newer stage adds are read defensively: alert figures (any plots column or baseline layer
whose name says ``alert``) are shown when present, and nothing breaks when they are not.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import geopandas as gpd
import numpy as np
import pandas as pd

from ..config import ReportConfig, RunConfig
from ..errors import ConfigError
from ..i18n import N_, tr
from ..i18n import _ as translate
from ..vocab import MISSING_VALUE, NATIONAL, STATUSES, UNASSIGNED
from .baseline.groups import attribute_labels, group_figures, sort_labels
from .baseline.periods import BaselinePeriod, baseline_period, loss_years
from .cutoff import cutoff_cases, forest_rule_text, indicator_table
from .overlays import overlay_summary
from .report_actions import Actions, build_actions, by_severity
from .screening import status_summary

#: The report's default title (``report.title``), as a message: shown in the language in use.
DEFAULT_TITLE = N_("Deforestation screening")

_ALERT = re.compile(r"alert", re.IGNORECASE)


@dataclass
class GroupSection:
    """One cooperative's (or region's) page: its plots on a zoomed map and in a table."""

    key: str  # the group's value
    title: str  # with its name when known
    slug: str  # a file-name-safe id
    plots: gpd.GeoDataFrame  # plot_id, status, status_reason, loss_after_ref_ha (+ alert columns), geometry
    figures: pd.Series  # the group's row of the group table


@dataclass
class ReportData:
    title: str
    reference_year: int
    period: BaselinePeriod
    years: list[int]
    facts: dict[str, str]  # headline facts: screening date, products, versions...
    by_status: pd.DataFrame  # index status (+ total): plots, area_ha, loss_after_ref_ha[, field_checked]
    national: pd.Series  # the national figures (baseline_by_group's `all` row)
    yearly: pd.DataFrame  # year, loss_ha
    plots: gpd.GeoDataFrame  # every plot: status, geometry (for the overview map)
    regions: gpd.GeoDataFrame | None = None  # baseline_by_region (geometry: the regions)
    group_column: str | None = None
    group_label: str = "cooperative"
    groups: pd.DataFrame | None = None  # one row per group: group, name, figures
    sections: list[GroupSection] = field(default_factory=list)
    lots: pd.DataFrame | None = None
    buyers: pd.DataFrame | None = None
    # Region totals (baseline_by_region's region_* and cocoa_* columns), when the baseline has them:
    region_yearly: pd.DataFrame | None = (
        None  # year, region_loss_ha (national), cocoa_share_pct[, near_cocoa_share_pct]
    )
    region_loss: pd.DataFrame | None = None  # index region label, a column per year: region_loss_YYYY_ha
    region_shares: pd.DataFrame | None = None  # index region label, a column per year: cocoa_share_of_loss_YYYY_pct
    region_totals: pd.DataFrame | None = None  # the national row, then each region: baseline figures and shares
    alerts: dict[str, pd.DataFrame] = field(default_factory=dict)  # title -> table
    alert_months: pd.DataFrame | None = None  # product, month, alert_ha: all plots (for a chart)
    cutoff: pd.DataFrame | None = None  # the plots each case of the forest at the cut-off decided
    indicators: pd.DataFrame | None = None  # per indicator column: plots saying yes, no, unknown
    forest_rule: str = ""  # the forest rule of the cut-off day in words ("": no map of that day)
    provenance: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # (which file, document)
    notes: list[str] = field(default_factory=list)
    evidence: dict[str, str] = field(default_factory=dict)  # plot id -> its evidence page (stages.evidence)
    overlays: pd.DataFrame | None = None  # stages.overlays.overlay_summary: plots and ha under each overlay
    actions: Actions | None = None  # the "what to do now" panel
    no_groups: bool = False  # no group pages: no cooperative column in the plots, no regions
    cooperative_column: str | None = None  # the column looked for
    regions_without_plots: int = 0  # regions of the regions file that hold no plot (not listed)
    min_baseline_ha: float = 1.0  # a change against a smaller baseline is not shown as a percentage
    min_coverage_pct: float = 90.0  # shares over regions with less data coverage carry a warning
    max_table_rows: int = 500  # rows shown of a long table (lots, buyers, alerts)


def status_table(plots: pd.DataFrame) -> pd.DataFrame:
    """Plots, hectares and loss after the reference year per status, every status in order, and
    the total: the table ``screen`` prints; in a screening with reviews, also ``field_checked``:
    the plots of each status that rest on a field check (``status_basis`` ``field_check``)."""
    out = status_summary(plots.assign(status=plots["status"].astype(str)))
    if "status_basis" in plots.columns:
        checked = plots["status_basis"].astype(str).to_numpy() == "field_check"
        per = pd.Series(checked).groupby(plots["status"].astype(str).to_numpy()).sum()
        out["field_checked"] = per.reindex(out.index).fillna(0).astype(int)
        out.loc["total", "field_checked"] = int(checked.sum())
    return out


def _slug(text: str, taken: set[str]) -> str:
    base = re.sub(r"[^A-Za-z0-9_-]+", "-", text).strip("-").lower() or "group"
    slug, k = base[:60], 1
    while slug in taken:
        k += 1
        slug = f"{base[:56]}-{k}"
    taken.add(slug)
    return slug


def _json(text: str | None) -> Any:
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def provenance(meta: dict[str, str]) -> dict[str, Any]:
    """What the report shows of a file's ``run_metadata``: who wrote it, when, how, from what."""
    keys = ("generator", "created_utc", "command", "started_utc", "finished_utc", "product_versions", "products",
            "reference_year", "forest_definition", "baseline_period", "screening", "inputs_relative_to")  # fmt: skip
    doc: dict[str, Any] = {k: meta[k] for k in keys if meta.get(k)}
    doc["inputs"] = _json(meta.get("inputs")) or []
    doc["config"] = _json(meta.get("config"))
    return doc


def build_report(
    plots: gpd.GeoDataFrame,
    meta: dict[str, str],
    cfg: ReportConfig,
    baseline: dict[str, pd.DataFrame] | None = None,
    baseline_meta: dict[str, str] | None = None,
    issues: pd.DataFrame | None = None,
    export: tuple[str, pd.DataFrame] | None = None,
) -> ReportData:
    """The report's figures from the screening's ``plots`` layer and ``run_metadata``, and the
    baseline's layers (by name) and metadata when given; the panel's from the screening's
    ``plot_issues`` and an EUDR export's (folder, manifest)."""
    baseline = baseline or {}
    years = loss_years(plots.columns)
    screened = _stored(meta)
    ref = screened.screening.reference_year if screened else int(meta.get("reference_year", 2020))
    if baseline_meta and baseline_meta.get("baseline_period"):
        start, end = (int(x) for x in baseline_meta["baseline_period"].split("-"))
        period = BaselinePeriod(start, end)
    else:
        b = screened.baseline if screened else None
        period = baseline_period(ref, years, b.start_year if b else None, b.end_year if b else None)
    national = _national(plots, baseline, period, ref, years)
    yearly = pd.DataFrame({"year": years, "loss_ha": [float(national[f"loss_{y}_ha"]) for y in years]})
    mean = float(national["baseline_mean_annual_loss_ha"])
    forest_rule = (  # in the language in use, from its parts (a screening before them: as stored)
        forest_rule_text(ref, meta["forest_at_cutoff_rule"], meta.get("forest_at_cutoff_maps", ""))
        if meta.get("forest_at_cutoff_rule")
        else meta.get("forest_at_cutoff", "")
    )
    facts = {  # the run's facts, in the language in use (the values of the metadata as stored)
        translate("Screened"): meta.get("created_utc", ""),
        translate("Reference year"): tr("{year} (loss after 31 December {year} counts)", year=ref),
        translate("Baseline period"): tr("{period} (mean {mean:,.2f} ha per year)", period=str(period), mean=mean),
        translate("Products"): meta.get("product_versions") or meta.get("products", ""),
        translate("Forest"): meta.get("forest_definition", ""),
        translate("Forest at the cut-off"): forest_rule,
        translate("Written by"): meta.get("generator", ""),
    }
    data = ReportData(
        title=translate(cfg.title),  # the default title is a message; a title of the user's own stays as it is
        reference_year=ref,
        period=period,
        years=years,
        facts={k: v for k, v in facts.items() if v},
        forest_rule=forest_rule,
        by_status=status_table(plots),
        national=national,
        yearly=yearly,
        plots=plots[["plot_id", "source_row", "status", plots.geometry.name]],
        min_baseline_ha=cfg.min_baseline_ha,
        min_coverage_pct=cfg.min_coverage_pct,
        max_table_rows=cfg.max_table_rows,
    )
    if "baseline_by_region" in baseline:
        regions = baseline["baseline_by_region"]
        held = (
            pd.to_numeric(regions["n_plots"], errors="coerce").fillna(0) > 0
            if "n_plots" in regions
            else pd.Series(True, index=regions.index)
        )
        data.regions = regions.loc[held]
        data.regions_without_plots = int(len(regions) - len(data.regions))
        _region_totals(data, data.regions, national, years)
    _groups(data, plots, baseline, cfg, screened, period, ref, years)
    data.actions = build_actions(plots, data.group_column if data.group_label != "region" else None, issues, export)
    for name in ("lots", "buyers"):
        if name in baseline:
            setattr(data, name, baseline[name])
    _alerts(data, plots, baseline)
    data.cutoff, data.indicators = cutoff_cases(plots, ref), indicator_table(plots)
    if meta.get("overlays"):
        data.overlays = overlay_summary(plots, _json(meta["overlays"]) or [])
    data.provenance.append(("screening.gpkg", provenance(meta)))
    if baseline_meta:
        data.provenance.append(("baseline.gpkg", provenance(baseline_meta)))
    return data


def _region_totals(data: ReportData, regions: pd.DataFrame, national: pd.Series, years: list[int]) -> None:
    """The region totals and cocoa's share per year, when the baseline measured the regions (an
    older baseline has no such columns: nothing is shown)."""
    loss_cols = [f"region_loss_{y}_ha" for y in years]
    share_cols = [f"cocoa_share_of_loss_{y}_pct" for y in years]
    if not set(loss_cols + share_cols) <= set(regions.columns) or not set(loss_cols) <= set(national.index):
        return
    near = [f"near_cocoa_share_of_loss_{y}_pct" for y in years]
    has_near = set(near) <= set(national.index)

    def num(v: float | None) -> float:
        return float(v) if v is not None and not pd.isna(v) else np.nan

    yearly = {
        "year": years,
        "region_loss_ha": [num(national[c]) for c in loss_cols],
        "cocoa_share_pct": [num(national[c]) for c in share_cols],
    }
    if has_near:
        yearly["near_cocoa_share_pct"] = [num(national[c]) for c in near]
    data.region_yearly = pd.DataFrame(yearly)
    rows = pd.DataFrame(regions)
    if isinstance(regions, gpd.GeoDataFrame):
        rows = rows.drop(columns=regions.geometry.name)
    rows = rows[rows["region_id"].astype(str) != UNASSIGNED]
    names = rows["region_name"] if "region_name" in rows.columns else rows["region_id"]
    label = [f"{i} {n}" if isinstance(n, str) and n else str(i) for i, n in zip(rows["region_id"], names)]
    data.region_loss = pd.DataFrame(rows[loss_cols].to_numpy(dtype=float), index=label, columns=years)
    data.region_shares = pd.DataFrame(rows[share_cols].to_numpy(dtype=float), index=label, columns=years)
    keep = [
        c
        for c in (
            "region_data_coverage_pct",
            "region_baseline_mean_annual_loss_ha",
            "cocoa_baseline_mean_annual_loss_ha",
            "cocoa_share_of_baseline_loss_pct",
            "cocoa_share_of_baseline_loss_sum_of_plots_pct",
            "near_cocoa_share_of_baseline_loss_pct",
            f"cocoa_share_of_loss_{years[-1]}_pct",
        )
        if c in rows.columns and c in national.index
    ]
    top = pd.DataFrame([{"region": translate("all regions"), **{c: num(national[c]) for c in keep}}])
    per = pd.DataFrame({"region": label, **{c: rows[c].to_numpy(dtype=float) for c in keep}})
    data.region_totals = pd.concat([top, per], ignore_index=True)


def _stored(meta: dict[str, str]) -> RunConfig | None:
    try:
        return RunConfig.model_validate(json.loads(meta["config"]))
    except (KeyError, ValueError):
        return None


def _national(
    plots: pd.DataFrame, baseline: dict[str, pd.DataFrame], period: BaselinePeriod, ref: int, years: list[int]
) -> pd.Series:
    groups = baseline.get("baseline_by_group")
    if groups is not None and len(groups):
        row = groups[groups["group_by"] == NATIONAL]
        if len(row):
            stored: pd.Series = row.iloc[0]
            return stored
    computed: pd.Series = group_figures(plots, [NATIONAL] * len(plots), period, ref, years, [NATIONAL]).iloc[0]
    return computed


def _groups(
    data: ReportData,
    plots: gpd.GeoDataFrame,
    baseline: dict[str, pd.DataFrame],
    cfg: ReportConfig,
    screened: RunConfig | None,
    period: BaselinePeriod,
    ref: int,
    years: list[int],
) -> None:
    """The cooperatives (or regions) with their tables and sections."""
    column = cfg.group_column
    if column is None:
        coop = screened.baseline.cooperative_column if screened and screened.baseline else "cooperative_id"
        column = coop if coop and coop in plots.columns else None
    labels = None
    data.cooperative_column = column
    if column is not None:
        if column not in plots.columns:
            raise ConfigError(
                tr(
                    "report.group_column: no column {column!r} in the plots (they have: {columns})",
                    column=column,
                    columns=", ".join(map(str, plots.columns)),
                )
            )
        labels = attribute_labels(plots, [column])
        by_group = baseline.get("baseline_by_group")
        table = None
        if by_group is not None and (by_group["group_by"] == column).any():
            table = by_group[by_group["group_by"] == column].set_index("group")
        else:
            table = group_figures(plots, labels, period, ref, years)
        names = _names(plots, column, labels)
        data.group_label = "cooperative" if "coop" in column.lower() else column
    elif (
        "baseline_plots" in baseline and "region_id" in baseline["baseline_plots"].columns and data.regions is not None
    ):
        column = "region_id"
        labels = baseline["baseline_plots"]["region_id"].astype(str).to_numpy(dtype=object)
        table = data.regions.drop(columns=data.regions.geometry.name).set_index("region_id")
        names = dict(zip(table.index.astype(str), table["region_name"].fillna("").astype(str)))
        data.group_label = "region"
    else:
        data.no_groups = True
        data.cooperative_column = coop_default(screened)
        return
    data.group_column = column
    order = sort_labels(pd.unique(labels))
    table = table.reindex([g for g in order if g in table.index])
    table.insert(0, "name", [names.get(str(g), "") for g in table.index])
    data.groups = table.rename_axis("group").reset_index()
    taken: set[str] = set()
    # An alert product's area that counts and its last date, beside each plot (not every level).
    extra = [c for c in plots.columns if re.search(r"_alert_ha$|_last_alert_date$", str(c))]
    cols = ["plot_id", "status", "status_reason", "loss_after_ref_ha", *extra]
    rows_of = pd.Series(np.arange(len(plots))).groupby(np.asarray(labels, dtype=object)).indices
    kept = plots[[*cols, plots.geometry.name]]
    for _, row in data.groups.iterrows():
        g = str(row["group"])
        mine = by_severity(kept.iloc[rows_of.get(g, np.zeros(0, dtype=int))])
        title = f"{g} — {row['name']}" if row["name"] and row["name"] != g else g
        data.sections.append(GroupSection(g, title, _slug(f"{data.group_label}-{g}", taken), mine, row))


def coop_default(screened: RunConfig | None) -> str:
    """The cooperative column the baseline names, else ``cooperative_id``."""
    coop = screened.baseline.cooperative_column if screened and screened.baseline else None
    return coop or "cooperative_id"


def _names(plots: pd.DataFrame, column: str, labels: np.ndarray) -> dict[str, str]:
    """A group's name, from a ``*_name`` column beside an ``*_id`` column (cooperative_name)."""
    name_col = re.sub(r"(_id|_code)$", "", column) + "_name"
    if name_col == column or name_col not in plots.columns:
        return {}
    names = pd.Series(plots[name_col].astype(str).to_numpy(), index=labels)
    first = names.groupby(level=0).first()
    return {str(k): v for k, v in first.items() if k not in (MISSING_VALUE, UNASSIGNED)}  # labels are text


def _alerts(data: ReportData, plots: pd.DataFrame, baseline: dict[str, pd.DataFrame]) -> None:
    """Alert figures, when a product of alerts was screened: per status, and the baseline's tables."""
    numeric = [c for c in plots.columns if _ALERT.search(str(c)) and pd.api.types.is_numeric_dtype(plots[c])]
    if numeric:
        sums = plots.groupby(plots["status"].astype(str))[numeric].sum().reindex(list(STATUSES)).fillna(0)
        sums.loc["total"] = sums.sum()
        data.alerts[translate("Alerts by status (sums over the plots)")] = sums.rename_axis("status").reset_index()
    for name, layer in baseline.items():
        if not _ALERT.search(name):
            continue
        spatial = isinstance(layer, gpd.GeoDataFrame)
        table = pd.DataFrame(layer.drop(columns=layer.geometry.name) if spatial else layer)
        if {"group_by", "month", "alert_ha"} <= set(table.columns):  # the baseline's monthly areas
            national = table[table["group_by"].astype(str) == NATIONAL]
            national = national.drop(columns=["group_by", "group"], errors="ignore").reset_index(drop=True)
            data.alerts[translate("Alert area per month, all plots")] = national
            data.alert_months = national
        else:
            data.alerts[tr("{name} (baseline)", name=name)] = table
