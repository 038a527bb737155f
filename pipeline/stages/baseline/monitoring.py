"""Monitoring: the plots whose status changed, or that have new alerts, since a previous
screening; and the alert area per month after the cut-off day, by group."""

from __future__ import annotations

from collections.abc import Sequence

import geopandas as gpd
import numpy as np
import pandas as pd

from ...vocab import ASSESSED, CONFIDENCE_LEVELS, ZERO_HA
from .groups import sort_labels

CHANGE_COLUMNS = [
    "plot_id",
    "source_row",
    "previous_source_row",
    "change",
    "previous_status",
    "status",
    "previous_loss_after_ref_ha",
    "loss_after_ref_ha",
    "first_loss_year_after_ref",
    "status_reason",
]


_LAST = "_last_alert_date"


def alert_products(columns: Sequence[str]) -> list[str]:
    """The alert products of a screening's ``plots`` layer, from its columns (``<name>_alert_ha``
    and ``<name>_last_alert_date``), in order."""
    names = [str(c)[: -len(_LAST)] for c in columns if str(c).endswith(_LAST)]
    return [n for n in names if f"{n}_alert_ha" in columns]


def _alert_figures(df: pd.DataFrame, names: Sequence[str]) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per alert product: the area of alerts that count (NaN -> 0) and the last alert date (NaT)."""
    out = {}
    for name in names:
        if f"{name}_alert_ha" in df.columns:
            ha = np.nan_to_num(pd.to_numeric(df[f"{name}_alert_ha"], errors="coerce").to_numpy(dtype="float64"))
            last = pd.to_datetime(df[f"{name}{_LAST}"].astype(object), errors="coerce").to_numpy("datetime64[D]")
        else:  # the product was not in that screening: none of its alerts were known
            ha, last = np.zeros(len(df)), np.full(len(df), np.datetime64("NaT"), dtype="datetime64[D]")
        out[name] = (ha, last)
    return out


def status_changes(current: gpd.GeoDataFrame, previous: pd.DataFrame) -> gpd.GeoDataFrame:
    """Plots whose status differs from a previous screening, plots with new alerts, plots new or gone.

    Plots are matched by ``plot_id``; when an id appears on several rows, its k-th row now is
    matched with its k-th row then. ``change`` is ``status_changed``, ``new_alerts`` (same status,
    but an alert product sees more alerts that count than then, or a later one), ``new`` (not in
    the previous screening) or ``gone`` (only there). Rows: current input order, then the gone
    plots in their previous order; the geometry is the current one (the previous one for gone
    plots). With alert products, ``new_alerts`` says which product sees what that is new
    ("gfw_integrated: +0.27 ha, last 2022-04-12") and ``new_alert_ha`` is the largest increase of
    the area of alerts that count over the products (products may see the same alert).
    """
    names = alert_products(current.columns)
    now_alerts = _alert_figures(current, names)
    then_alerts = _alert_figures(previous, names)

    def keyed(df: pd.DataFrame) -> pd.DataFrame:
        k = df[["plot_id", "source_row", "status"]].copy()
        k["plot_id"] = k["plot_id"].astype(str)
        k["_k"] = k.groupby("plot_id").cumcount()
        for c in ("loss_after_ref_ha", "first_loss_year_after_ref", "status_reason"):
            k[c] = df[c].to_numpy() if c in df.columns else np.nan
        k["_geom"] = df.geometry.to_numpy() if isinstance(df, gpd.GeoDataFrame) else None
        k["_pos"] = np.arange(len(df))
        return k

    now, then = keyed(current), keyed(previous)
    m = now.merge(then, on=["plot_id", "_k"], how="outer", suffixes=("", "_prev"), indicator=True)
    new_text, new_ha = _new_alerts(m, names, now_alerts, then_alerts)
    change = np.select(
        [
            m["_merge"] == "left_only",
            m["_merge"] == "right_only",
            m["status"].astype(str) != m["status_prev"].astype(str),
            pd.notna(new_text),
        ],
        ["new", "gone", "status_changed", "new_alerts"],
        default="",
    )
    m["_new_alerts"], m["_new_alert_ha"] = new_text, new_ha
    m["change"] = change
    m = m[m["change"] != ""].copy()
    m["_order"] = np.where(m["_merge"] == "right_only", len(now) + m["_pos_prev"].fillna(0), m["_pos"].fillna(0))
    m = m.sort_values("_order", kind="stable")
    geom = np.where(m["_merge"] == "right_only", m["_geom_prev"], m["_geom"])

    def text(col: str) -> list[str | None]:
        return [None if pd.isna(v) else str(v) for v in m[col]]

    # pd.array takes a Series with a nullable dtype; pandas-stubs 3.1 lists no such overload
    out = pd.DataFrame(
        {
            "plot_id": m["plot_id"].to_numpy(dtype=object),
            "source_row": pd.array(m["source_row"], dtype="Int64"),  # type: ignore[call-overload]
            "previous_source_row": pd.array(m["source_row_prev"], dtype="Int64"),  # type: ignore[call-overload]
            "change": m["change"].to_numpy(dtype=object),
            "previous_status": text("status_prev"),
            "status": text("status"),
            "previous_loss_after_ref_ha": pd.to_numeric(m["loss_after_ref_ha_prev"]).to_numpy(dtype="float64"),
            "loss_after_ref_ha": pd.to_numeric(m["loss_after_ref_ha"]).to_numpy(dtype="float64"),
            "first_loss_year_after_ref": pd.array(  # type: ignore[call-overload]
                pd.to_numeric(m["first_loss_year_after_ref"]), dtype="Float64"
            ).astype("Int64"),
            "status_reason": text("status_reason"),
        },
        columns=CHANGE_COLUMNS,
    )
    if names:
        out["new_alerts"] = m["_new_alerts"].to_numpy(dtype=object)
        out["new_alert_ha"] = m["_new_alert_ha"].to_numpy(dtype="float64")
    return gpd.GeoDataFrame(out, geometry=list(geom), crs="EPSG:4326")


def _new_alerts(
    m: pd.DataFrame,
    names: Sequence[str],
    now_alerts: dict[str, tuple[np.ndarray, np.ndarray]],
    then_alerts: dict[str, tuple[np.ndarray, np.ndarray]],
) -> tuple[np.ndarray, np.ndarray]:
    """Per merged row: what each alert product sees that is new (text or None) and the largest
    increase of counted alert area (ha; NaN without alert products or for gone plots)."""
    text = np.full(len(m), None, dtype=object)
    most = np.full(len(m), np.nan)
    if not names:
        return text, most
    at_now = m["_pos"].to_numpy(dtype="float64")
    at_then = m["_pos_prev"].to_numpy(dtype="float64")
    here = ~np.isnan(at_now)
    was = ~np.isnan(at_then)
    i_now = np.where(here, at_now, 0).astype("int64")
    i_then = np.where(was, at_then, 0).astype("int64")
    parts: list[list[str]] = [[] for _ in range(len(m))]
    most[here] = 0.0
    for name in names:
        ha_now, last_now = (a[i_now] for a in now_alerts[name])
        ha_then, last_then = (a[i_then] for a in then_alerts[name])
        ha_then = np.where(was, ha_then, 0.0)
        last_then = np.where(was, last_then, np.datetime64("NaT"))
        grown = ha_now - ha_then
        later = ~np.isnat(last_now) & (np.isnat(last_then) | (last_now > last_then))
        is_new = here & ((grown >= ZERO_HA) | later) & (ha_now >= ZERO_HA)
        most = np.where(is_new, np.fmax(most, np.maximum(grown, 0.0)), most)
        for i in np.flatnonzero(is_new):
            last = "" if np.isnat(last_now[i]) else f", last {str(last_now[i])}"
            parts[i].append(f"{name}: {grown[i]:+.2f} ha{last}")
    for k, p in enumerate(parts):
        if p:
            text[k] = "; ".join(p)
    return text, most


#: Leading columns of the baseline's ``alerts_by_month`` layer (then ``alert_<level>_ha``).
MONTH_GROUP_COLUMNS = ["group_by", "group", "product", "month", "n_plots", "alert_ha"]


def monthly_alerts(
    plots: pd.DataFrame, alerts: pd.DataFrame, groupings: Sequence[tuple[str, np.ndarray]]
) -> pd.DataFrame:
    """Alert area per month after the cut-off day, per group of each grouping and per product.

    ``alerts`` is the screening's ``alerts_by_month`` layer (one row per plot, month and
    confidence); ``groupings`` are (name, label per plot) pairs, the national one first. As for
    every baseline figure, only the plots the product assessed count (its ``<name>_status`` is
    free, review or detected). Columns: ``group_by``, ``group``, ``product``, ``month``
    (YYYY-MM), ``n_plots`` (plots with alerts that count that month), ``alert_ha`` (alerts that
    count: at least the product's ``min_confidence``) and ``alert_<level>_ha`` per confidence level
    (every alert). Months without alerts in a group have no row.
    """
    levels = [lv for lv in CONFIDENCE_LEVELS if lv in set(alerts["confidence"].dropna().astype(str))]
    columns = [*MONTH_GROUP_COLUMNS, *(f"alert_{lv}_ha" for lv in levels)]
    pos = pd.Index(plots["source_row"].to_numpy()).get_indexer(alerts["source_row"].to_numpy())
    keep = pos >= 0
    product = alerts["product"].astype(str).to_numpy()
    for name in pd.unique(product):
        col = f"{name}_status"
        if col in plots.columns:
            assessed = np.isin(plots[col].astype(str).to_numpy(), ASSESSED)
            keep &= (product != name) | assessed[np.maximum(pos, 0)]
    a = alerts[keep]
    pos = pos[keep]
    if not len(a):
        kinds = {c: "float64" if c.endswith("_ha") else "int64" if c == "n_plots" else object for c in columns}
        return pd.DataFrame({c: pd.Series(dtype=kind) for c, kind in kinds.items()})
    counted = a["counted"].astype(bool).to_numpy()
    ha = pd.to_numeric(a["alert_ha"]).to_numpy(dtype="float64")
    base = pd.DataFrame(
        {
            "product": a["product"].astype(str).to_numpy(),
            "month": a["month"].astype(str).to_numpy(),
            "plot": pos,
            "counted_plot": np.where(counted & (ha > 0), pos, -1),
            "alert_ha": np.where(counted, ha, 0.0),
            **{f"alert_{lv}_ha": np.where(a["confidence"].astype(str).to_numpy() == lv, ha, 0.0) for lv in levels},
        }
    )
    product_order = {p: i for i, p in enumerate(pd.unique(base["product"]))}
    tables = []
    for gname, labels in groupings:
        t = base.assign(group=np.asarray(labels, dtype=object)[pos])
        sums = t.groupby(["group", "product", "month"], sort=False)[
            ["alert_ha", *(f"alert_{lv}_ha" for lv in levels)]
        ].sum()
        plots_with = t[t["counted_plot"] >= 0].groupby(["group", "product", "month"], sort=False)["plot"].nunique()
        g = sums.join(plots_with.rename("n_plots")).reset_index()
        g["n_plots"] = g["n_plots"].fillna(0).astype("int64")
        order = {label: i for i, label in enumerate(sort_labels(pd.unique(np.asarray(labels, dtype=object))))}
        g["_g"], g["_p"] = g["group"].map(order), g["product"].map(product_order)
        g = g.sort_values(["_g", "_p", "month"], kind="stable").drop(columns=["_g", "_p"])
        tables.append(g.assign(group_by=gname))
    out = pd.concat(tables, ignore_index=True)
    return out[columns]
