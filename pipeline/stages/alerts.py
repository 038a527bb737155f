"""Alert products in a screening: measure, classify, and the alert area per month (frames, no files).

An alert product (``kind: alerts``, see :mod:`pipeline.engine.alerts`) is measured with the same
engine as the loss products — exact coverage fractions times ellipsoidal pixel areas — and takes
part in the plot's status like any product (``status_rule``). Its own verdict, in order:

1. ``invalid`` — the geometry cannot be screened (as for every product);
2. ``not_assessed`` — less than ``min_data_coverage_pct`` of the plot lies over valid alert data
   (outside the product's tiles, a missing tile, values the encoding does not define);
3. ``deforestation_detected`` — more than ``review_max_ha`` of alerts that count: dated after the
   cut-off day (``screening.cutoff_date``, by default 31 December of the reference year) and of at
   least the product's ``min_confidence``;
4. ``review`` — some such alerts, no more than ``review_max_ha``;
5. ``deforestation_free`` — none (alerts on or before the cut-off day are history).

The reason names the area, the confidence and the dates: "0.27 ha of high-confidence alerts from
2022-03-01 to 2022-04-12 (cut-off 2020-12-31), more than the 0.1 ha review tolerance".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..config import ExecutionConfig, ForestDefinition, ScreeningConfig
from ..engine.alerts import AlertStatistics, AlertStats, alert_figures, day_date, day_number
from ..engine.geodesy import M2_PER_HA
from ..engine.zonal import measure_product
from ..vocab import ALERT_COLUMNS, DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, ZERO_HA
from .rules import decide

#: Columns of the ``alerts_by_month`` layer of ``screening.gpkg``.
MONTH_COLUMNS = ("plot_id", "source_row", "product", "month", "confidence", "counted", "alert_ha")


def measure_alerts(
    geoms: np.ndarray,
    product: Any,
    screening: ScreeningConfig,
    execution: ExecutionConfig = ExecutionConfig(),
    *,
    progress: bool = False,
    client: Any = None,
) -> tuple[pd.DataFrame, AlertStats]:
    """The figures (:func:`~pipeline.engine.alerts.alert_figures`) and statistics of one alert
    product for every geometry (None: not measured)."""
    statistics = AlertStatistics(day_number(screening.cutoff), product.counted)
    # An alert product's forest is its forest mask: no canopy threshold, no minimum patch.
    stats = measure_product(
        geoms, product, ForestDefinition(), execution, progress=progress, client=client, statistics=statistics
    )
    return alert_figures(stats, product.levels, product.counted), stats


def alert_columns(product: Any) -> list[str]:
    """The figure columns of an alert product in the ``plots`` layer (unprefixed), in order."""
    first, *rest = ALERT_COLUMNS
    return [first, rest[0], *(f"alert_{level}_ha" for level in product.levels), *rest[1:]]


def _ha(x: float) -> str:
    return f"{x:.4f} ha" if x < 0.01 else f"{x:.2f} ha"


def _confidence(levels: Sequence[str], joiner: str = "and") -> str:
    """``high-confidence ``, ``high- and highest-confidence ``; empty without levels."""
    if not levels:
        return ""
    if len(levels) == 1:
        return f"{levels[0]}-confidence "
    return ", ".join(f"{lv}-" for lv in levels[:-1]) + f" {joiner} {levels[-1]}-confidence "


def _when(first: int, last: int) -> str:
    if first < 0:
        return ""
    text = f" from {day_date(first).isoformat()}"
    return text + (f" to {day_date(last).isoformat()}" if last > first else "")


def classify_alerts(
    figures: pd.DataFrame, invalid_reason: pd.Series, params: ScreeningConfig, product: Any
) -> pd.DataFrame:
    """Status, ``deforestation_free`` and ``status_reason`` of each plot for one alert product.

    ``figures`` has the columns of :func:`~pipeline.engine.alerts.alert_figures`; see the module
    docstring for the rules."""
    n = len(figures)
    cut = params.cutoff.isoformat()
    inv = invalid_reason.fillna("").astype(str).to_numpy()
    cov = figures["data_coverage_pct"].to_numpy(dtype="float64", na_value=np.nan)
    counted = np.nan_to_num(figures["alert_ha"].to_numpy(dtype="float64", na_value=np.nan))
    to_cutoff = np.nan_to_num(figures["alert_to_cutoff_ha"].to_numpy(dtype="float64", na_value=np.nan))
    first, last = figures["_first_day"].to_numpy(), figures["_last_day"].to_numpy()
    missing, invalid = figures["_missing_pct"].to_numpy(), figures["_invalid_pct"].to_numpy()
    levels = list(product.levels)
    counts = [lv for lv, c in zip(levels, product.counted) if c]
    by_level = {
        lv: np.nan_to_num(figures[f"alert_{lv}_ha"].to_numpy(dtype="float64", na_value=np.nan)) for lv in levels
    }

    status, flag = decide(inv, cov, counted, params)  # the loss rules, on the counted alerts
    is_invalid, is_not_assessed = status == INVALID, status == NOT_ASSESSED
    is_detected, is_review = status == DETECTED, status == REVIEW

    def seen(i: int) -> str:
        """'0.27 ha of high-confidence alerts from 2022-03-01 to 2022-04-12' for plot ``i``."""
        present = [lv for lv in counts if by_level[lv][i] >= ZERO_HA]
        split = " (" + ", ".join(f"{_ha(by_level[lv][i])} {lv}" for lv in present) + ")" if len(present) > 1 else ""
        return f"{_ha(counted[i])} of {_confidence(present)}alerts{split}{_when(first[i], last[i])}"

    reason = np.empty(n, dtype=object)
    for i in np.flatnonzero(is_invalid):
        reason[i] = f"geometry cannot be screened: {inv[i]}"
    for i in np.flatnonzero(is_not_assessed):
        causes = []
        if missing[i] >= 0.05:
            causes.append(f"{missing[i]:.1f} % lies where no alert tile is (outside the product, a missing tile)")
        if invalid[i] >= 0.05:
            causes.append(f"{invalid[i]:.1f} % has values the alert encoding does not define (is it the right one?)")
        why = (": " + "; ".join(causes)) if causes else ""
        if not cov[i] > 0:
            reason[i] = "no valid alert data under the plot" + (why or " (no-data pixels)")
        else:
            already = f"; {seen(i)} (cut-off {cut}) already seen on the covered part" if counted[i] >= ZERO_HA else ""
            reason[i] = (
                f"only {cov[i]:.1f} % of the plot has valid alert data "
                f"(minimum {params.min_data_coverage_pct:g} %){why}{already}"
            )
    for i in np.flatnonzero(is_detected):
        reason[i] = f"{seen(i)} (cut-off {cut}), more than the {params.review_max_ha:g} ha review tolerance"
    for i in np.flatnonzero(is_review):
        reason[i] = (
            f"{seen(i)} (cut-off {cut}): no more than the {params.review_max_ha:g} ha review tolerance; check imagery"
        )
    free = status == FREE
    reason[free] = none_seen = f"no {_confidence(counts, 'or')}alerts after the cut-off {cut}"
    uncounted = [lv for lv in levels if lv not in counts]
    some = to_cutoff >= ZERO_HA
    for lv in uncounted:
        some |= by_level[lv] >= ZERO_HA
    for i in np.flatnonzero(free & some):  # only plots with more to say: the loop stays short
        text = none_seen
        low = [lv for lv in uncounted if by_level[lv][i] >= ZERO_HA]
        if low:
            text += (
                f"; {_ha(sum(by_level[lv][i] for lv in low))} of {_confidence(low)}alerts not counted "
                f"(min_confidence {product.min_confidence})"
            )
        if to_cutoff[i] >= ZERO_HA:
            text += f"; {_ha(to_cutoff[i])} of alerts up to the cut-off (history)"
        reason[i] = text
    return pd.DataFrame(
        {"status": status.astype(object), "deforestation_free": flag, "status_reason": reason}, index=figures.index
    )


def alerts_by_month(plots: pd.DataFrame, product: Any, stats: AlertStats) -> pd.DataFrame:
    """Long format (plot_id, source_row, product, month 'YYYY-MM', confidence, counted, alert_ha):
    one row per plot, month and confidence level with alerts after the cut-off day."""
    t = stats.month_table()
    levels = list(product.levels)
    counted = np.asarray(product.counted, dtype=bool)
    months = np.asarray(t["month"].to_numpy(), dtype="int64").astype("datetime64[M]").astype(str)
    cls = t["cls"].to_numpy()
    return pd.DataFrame(
        {
            "plot_id": pd.Series(plots["plot_id"].to_numpy()[t["plot"].to_numpy()], dtype=object),
            "source_row": plots["source_row"].to_numpy()[t["plot"].to_numpy()],
            "product": product.name,
            "month": months.astype(object),
            "confidence": pd.Series([levels[c] if levels else None for c in cls], dtype=object),
            "counted": counted[cls] if len(cls) else np.zeros(0, dtype=bool),
            "alert_ha": t["m2"].to_numpy() / M2_PER_HA,
        },
        columns=list(MONTH_COLUMNS),
    )


def months_layer(parts: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """The ``alerts_by_month`` layer from each product's rows: by input row, then product."""
    if not parts:
        return pd.DataFrame({c: [] for c in MONTH_COLUMNS})
    out = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    return out.sort_values(["source_row"], kind="stable", ignore_index=True)
