"""Monitoring: the plots whose status changed since a previous screening."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd

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


def status_changes(current: gpd.GeoDataFrame, previous: pd.DataFrame) -> gpd.GeoDataFrame:
    """Plots whose status differs from a previous screening, plus plots new or gone.

    Plots are matched by ``plot_id``; when an id appears on several rows, its k-th row now is
    matched with its k-th row then. ``change`` is ``status_changed``, ``new`` (not in the previous
    screening) or ``gone`` (only there). Rows: current input order, then the gone plots in their
    previous order; the geometry is the current one (the previous one for gone plots).
    """

    def keyed(df):
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
    change = np.select(
        [
            m["_merge"] == "left_only",
            m["_merge"] == "right_only",
            m["status"].astype(str) != m["status_prev"].astype(str),
        ],
        ["new", "gone", "status_changed"],
        default="",
    )
    m["change"] = change
    m = m[m["change"] != ""].copy()
    m["_order"] = np.where(m["_merge"] == "right_only", len(now) + m["_pos_prev"].fillna(0), m["_pos"].fillna(0))
    m = m.sort_values("_order", kind="stable")
    geom = np.where(m["_merge"] == "right_only", m["_geom_prev"], m["_geom"])

    def text(col):
        return [None if pd.isna(v) else str(v) for v in m[col]]

    out = pd.DataFrame(
        {
            "plot_id": m["plot_id"].to_numpy(dtype=object),
            "source_row": pd.array(m["source_row"], dtype="Int64"),
            "previous_source_row": pd.array(m["source_row_prev"], dtype="Int64"),
            "change": m["change"].to_numpy(dtype=object),
            "previous_status": text("status_prev"),
            "status": text("status"),
            "previous_loss_after_ref_ha": pd.to_numeric(m["loss_after_ref_ha_prev"]).to_numpy(dtype="float64"),
            "loss_after_ref_ha": pd.to_numeric(m["loss_after_ref_ha"]).to_numpy(dtype="float64"),
            "first_loss_year_after_ref": pd.array(
                pd.to_numeric(m["first_loss_year_after_ref"]), dtype="Float64"
            ).astype("Int64"),
            "status_reason": text("status_reason"),
        },
        columns=CHANGE_COLUMNS,
    )
    return gpd.GeoDataFrame(out, geometry=list(geom), crs="EPSG:4326")
