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

The reason names the area, the confidence and the dates (codes and numbers, :mod:`pipeline.reasons`):
"0.27 ha of alerts after the cut-off 2020-12-31, more than the 0.1 ha review tolerance; alerts from
2022-03-01 to 2022-04-12".
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from .. import reasons
from ..config import ExecutionConfig, ForestDefinition, ScreeningConfig
from ..engine.alerts import AlertSource, AlertStatistics, AlertStats, alert_figures, day_date, day_number
from ..engine.geodesy import M2_PER_HA
from ..engine.zonal import measure_product
from ..reasons import part
from ..vocab import ALERT_COLUMNS, DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, ZERO_HA
from .rules import causes, decide, verdict_frame

if TYPE_CHECKING:
    from distributed import Client

#: Columns of the ``alerts_by_month`` layer of ``screening.gpkg``.
MONTH_COLUMNS = ("plot_id", "source_row", "product", "month", "confidence", "counted", "alert_ha")


def measure_alerts(
    geoms: np.ndarray,
    product: AlertSource,
    screening: ScreeningConfig,
    execution: ExecutionConfig = ExecutionConfig(),
    *,
    progress: bool = False,
    client: Client | None = None,
    keep_cells: bool = False,
) -> tuple[pd.DataFrame, AlertStats]:
    """The figures (:func:`~pipeline.engine.alerts.alert_figures`) and statistics of one alert
    product for every geometry (None: not measured); ``keep_cells``: with the alert cells after the
    cut-off day (for the alert patches, :func:`pipeline.stages.patches.alert_patches`)."""
    statistics = AlertStatistics(day_number(screening.cutoff), product.counted, keep_cells)
    # An alert product's forest is its forest mask: no canopy threshold, no minimum patch.
    stats = measure_product(
        geoms, product, ForestDefinition(), execution, progress=progress, client=client, statistics=statistics
    )
    return alert_figures(stats, product.levels, product.counted), stats


def alert_columns(product: AlertSource) -> list[str]:
    """The figure columns of an alert product in the ``plots`` layer (unprefixed), in order."""
    first, *rest = ALERT_COLUMNS
    return [first, rest[0], *(f"alert_{level}_ha" for level in product.levels), *rest[1:]]


def _dates(first: int, last: int) -> list[dict[str, object]]:
    """The reason part naming the alerts' dates (none without alerts)."""
    if first < 0:
        return []
    if last > first:
        return [part("alerts_dates", first=day_date(first).isoformat(), last=day_date(last).isoformat())]
    return [part("alerts_date", first=day_date(first).isoformat())]


def classify_alerts(
    figures: pd.DataFrame, invalid_reason: pd.Series, params: ScreeningConfig, product: AlertSource
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

    tolerance = params.review_max_ha

    def seen(i: int | np.integer) -> list[dict[str, object]]:
        """The area of each confidence level that counts (when there are several), then the dates."""
        present = [lv for lv in counts if by_level[lv][i] >= ZERO_HA]
        if len(levels) < 2 or not present:
            split = []
        elif len(present) == 1:
            split = [part("alerts_one_level", level_text=present[0])]
        else:
            split = [part("alerts_level_area", alert_ha=by_level[lv][i], level_text=lv) for lv in present]
        return [*split, *_dates(first[i], last[i])]

    reason = reasons.Batch(n)  # vectorised for the many free plots, plot by plot for the others
    for i in np.flatnonzero(is_invalid):
        reason.add_each(i, [part("geometry_invalid", problem_text=inv[i])])
    for i in np.flatnonzero(is_not_assessed):
        why = causes(missing[i], invalid[i], alerts=True)
        if not cov[i] > 0:
            reason.add_each(i, [part("alerts_no_data"), *why] if why else [part("alerts_no_data_nodata")])
        else:
            cover = part("alerts_partial_coverage", coverage_pct=cov[i], min_pct=params.min_data_coverage_pct)
            already = (
                [part("alerts_seen_partial", alert_ha=counted[i], cutoff=cut), *seen(i)]
                if counted[i] >= ZERO_HA
                else []
            )
            reason.add_each(i, [cover, *why, *already])
    for code, where in (("alerts_detected", is_detected), ("alerts_review", is_review)):
        for i in np.flatnonzero(where):
            reason.add_each(i, [part(code, alert_ha=counted[i], cutoff=cut, review_max_ha=tolerance), *seen(i)])
    free = status == FREE
    none_seen = [part("alerts_none", cutoff=cut)]
    if len(levels) > 1 and counts:
        none_seen.append(part("alerts_counted", level_text=counts[0]))
    uncounted = [lv for lv in levels if lv not in counts]
    some = to_cutoff >= ZERO_HA
    for lv in uncounted:
        some |= by_level[lv] >= ZERO_HA
    reason.add(
        np.flatnonzero(free & ~some), *[(p["code"], {k: v for k, v in p.items() if k != "code"}) for p in none_seen]
    )
    for i in np.flatnonzero(free & some):  # only plots with more to say: the loop stays short
        more = [
            part("alerts_not_counted", alert_ha=by_level[lv][i], level_text=lv, min_confidence=product.min_confidence)
            for lv in uncounted
            if by_level[lv][i] >= ZERO_HA
        ]
        if to_cutoff[i] >= ZERO_HA:
            more.append(part("alerts_history", alert_ha=to_cutoff[i]))
        reason.add_each(i, [*none_seen, *more])
    return verdict_frame(status, flag, reason, figures.index)


def alerts_by_month(plots: pd.DataFrame, product: AlertSource, stats: AlertStats) -> pd.DataFrame:
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
