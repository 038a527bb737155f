"""Figures of groups of plots: cooperatives, any attribute columns, regions, the nation.

How plots count in a group (the same rule everywhere):

* **counts** (``n_plots``, ``n_<status>``) include every plot, whatever its status;
* **areas of plots** (``area_ha``) sum over plots with a usable geometry (all but ``invalid``,
  whose area is unknown);
* **forest and loss figures** (``forest_2000_ha``, ``loss_YYYY_ha``, the baseline ...) sum over the
  *assessed* plots only — ``deforestation_free``, ``review`` and ``deforestation_detected``, whose
  data covers the plot. A ``not_assessed`` plot's figures describe only part of it, so they are
  left out rather than mixed in (they stay in the screening's ``plots`` layer);
* **shares** (``deforestation_free_plots_pct``, ``deforestation_free_area_pct``) are over *all*
  plots (resp. all plot area), so that plots without a verdict never inflate the free share.

Every plot falls in exactly one group of each grouping (``unassigned`` when it lies in no region,
``(missing)`` when the grouping column is empty), so the additive columns of a grouping add up to
the national figures.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import cast

import numpy as np
import pandas as pd

from ...errors import BaselineError
from ...i18n import tr
from ...vocab import ASSESSED, MISSING_VALUE, NATIONAL, STATUSES, UNASSIGNED, ZERO_HA
from .periods import PLOT_FIGURES, BaselinePeriod


def plot_contributions(plots: pd.DataFrame, years: Sequence[int]) -> pd.DataFrame:
    """What each plot adds to its group's additive columns (see the module docstring)."""
    status = plots["status"].astype(str).to_numpy()
    assessed = np.isin(status, ASSESSED)
    has_geometry = status != "invalid"
    area = np.where(has_geometry, pd.to_numeric(plots["area_ha"]).fillna(0.0).to_numpy(dtype="float64"), 0.0)
    cols: dict[str, np.ndarray] = {"n_plots": np.ones(len(plots), dtype="int64")}
    for s in STATUSES:
        cols[f"n_{s}"] = (status == s).astype("int64")
    cols["n_assessed"] = assessed.astype("int64")
    # plots whose status a field check settled (a screening with --reviews), counted apart
    basis = plots["status_basis"].astype(str).to_numpy() if "status_basis" in plots.columns else np.full(len(plots), "")
    cols["n_field_checked"] = (basis == "field_check").astype("int64")
    cols["n_free_field_checked"] = ((basis == "field_check") & (status == "deforestation_free")).astype("int64")
    cols["area_ha"] = area
    cols["area_assessed_ha"] = np.where(assessed, area, 0.0)
    cols["deforestation_free_area_ha"] = np.where(status == "deforestation_free", area, 0.0)
    for c in (*PLOT_FIGURES, *(f"loss_{y}_ha" for y in years)):
        v = pd.to_numeric(plots[c]).to_numpy(dtype="float64", na_value=np.nan)
        cols[c] = np.where(assessed, np.nan_to_num(v, nan=0.0), 0.0)
    return pd.DataFrame(cols, index=plots.index)


#: Columns of a group row that add up over the groups of a grouping.
def additive_columns(years: Sequence[int]) -> list[str]:
    return [
        "n_plots",
        *(f"n_{s}" for s in STATUSES),
        "n_assessed",
        "n_field_checked",
        "n_free_field_checked",
        "area_ha",
        "area_assessed_ha",
        "deforestation_free_area_ha",
        *PLOT_FIGURES,
        "baseline_mean_annual_loss_ha",
        *(f"loss_{y}_ha" for y in years),
    ]


def derive_group_figures(
    sums: pd.DataFrame, period: BaselinePeriod, reference_year: int, years: Sequence[int]
) -> pd.DataFrame:
    """Add shares, the baseline mean and the changes against it to summed contributions."""
    out = sums.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        n = out["n_plots"].to_numpy(dtype="float64")
        area = out["area_ha"].to_numpy(dtype="float64")
        out["deforestation_free_plots_pct"] = np.where(n > 0, 100.0 * out["n_deforestation_free"] / n, np.nan)
        out["deforestation_free_area_pct"] = np.where(
            area > 0, 100.0 * out["deforestation_free_area_ha"].to_numpy(dtype="float64") / area, np.nan
        )
        total = cast(pd.Series, sum(out[f"loss_{y}_ha"] for y in period.years))  # years: never empty
        mean = total / len(period.years)
        out["baseline_mean_annual_loss_ha"] = mean
        m = mean.to_numpy(dtype="float64")
        for y in years:
            if y > reference_year:
                change = 100.0 * (out[f"loss_{y}_ha"].to_numpy(dtype="float64") - m) / m
                out[f"change_{y}_vs_baseline_pct"] = np.where(m >= ZERO_HA, change, np.nan)
    order = [
        "n_plots",
        *(f"n_{s}" for s in STATUSES),
        "n_assessed",
        "n_field_checked",
        "n_free_field_checked",
        "area_ha",
        "area_assessed_ha",
        "deforestation_free_area_ha",
        "deforestation_free_plots_pct",
        "deforestation_free_area_pct",
        "forest_2000_ha",
        "forest_ref_ha",
        "loss_before_ref_ha",
        "loss_after_ref_ha",
        "baseline_mean_annual_loss_ha",
        *(f"loss_{y}_ha" for y in years),
        *(f"change_{y}_vs_baseline_pct" for y in years if y > reference_year),
    ]
    return out[order + [c for c in out.columns if c not in order]]


def group_figures(
    plots: pd.DataFrame,
    labels: Sequence[str] | np.ndarray,
    period: BaselinePeriod,
    reference_year: int,
    years: Sequence[int],
    order: Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per group (index: the label), in ``order`` (default: sorted, special labels last).

    ``labels`` gives each plot's group (one per row of ``plots``). Groups named in ``order`` but
    holding no plot get a row of zeros.
    """
    group = pd.Series(np.asarray(labels, dtype=object), index=plots.index, name="group")
    contrib = plot_contributions(plots, years)
    sums = contrib.groupby(group, sort=False).sum()
    if order is None:
        order = sort_labels(group.unique())
    sums = sums.reindex(list(order), fill_value=0)
    for c in sums.columns:
        if c.startswith("n_"):
            sums[c] = sums[c].astype("int64")
    return derive_group_figures(sums, period, reference_year, years)


def sort_labels(labels: Iterable[str]) -> list[str]:
    """Group labels sorted, with ``unassigned`` and ``(missing)`` last."""
    given = list(labels)
    special = [x for x in (MISSING_VALUE, UNASSIGNED) if x in set(given)]
    return sorted(x for x in given if x not in special) + special


def national_figures(
    plots: pd.DataFrame, period: BaselinePeriod, reference_year: int, years: Sequence[int]
) -> pd.DataFrame:
    """The one-row national (all plots) figures, index ``all``."""
    return group_figures(plots, [NATIONAL] * len(plots), period, reference_year, years, order=[NATIONAL])


def parse_group_by(specs: Sequence[str]) -> list[tuple[str, ...]]:
    """``["cooperative_id", "district,producer_id"]`` -> ``[("cooperative_id",), ("district", "producer_id")]``."""
    out: list[tuple[str, ...]] = []
    for spec in specs:
        cols = tuple(c.strip() for c in str(spec).split(",") if c.strip())
        if not cols:
            raise BaselineError(tr("--group-by {spec!r}: no column named", spec=spec))
        if cols not in out:
            out.append(cols)
    return out


def label(v: object) -> str:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NA or v is pd.NaT:
        return MISSING_VALUE
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return str(int(v))
    s = str(v).strip()
    return s if s else MISSING_VALUE


def attribute_labels(plots: pd.DataFrame, columns: Sequence[str]) -> np.ndarray:
    """Each plot's group for a grouping by one or more columns (values joined with `` | ``)."""
    missing = [c for c in columns if c not in plots.columns]
    if missing:
        raise BaselineError(
            tr(
                "no column {missing} in the plots layer to group by; its columns are: {columns}",
                missing=", ".join(repr(c) for c in missing),
                columns=", ".join(map(str, plots.columns)),
            )
        )
    parts = [np.array([label(v) for v in plots[c].to_numpy(dtype=object)], dtype=object) for c in columns]
    if len(parts) == 1:
        return parts[0]
    return np.array([" | ".join(t) for t in zip(*parts)], dtype=object)
