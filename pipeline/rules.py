"""Status rules: how a plot's figures become a verdict, in words a reviewer can read.

In order, the first rule that applies decides:

1. ``invalid`` — the geometry cannot be screened (empty, not a polygon, self-intersecting...).
   The reason names the problem.
2. ``not_assessed`` — less than ``min_data_coverage_pct`` (default 99 %) of the plot lies over
   valid pixels of both rasters: the data cannot vouch for the whole plot (plot outside the
   rasters, over a no-data strip, over a missing tile). Loss already seen on the covered part
   is reported in the reason, but no verdict is given.
3. ``deforestation_detected`` — more than ``review_max_ha`` (default 0.1 ha, about one Hansen
   pixel) of forest was lost after the reference year.
4. ``review`` — some forest loss after the reference year, but no more than ``review_max_ha``:
   within the product's geolocation uncertainty; a person should look at imagery.
5. ``deforestation_free`` — no forest loss after the reference year (amounts below
   :data:`~pipeline.screen.ZERO_HA`, 0.01 m², are floating-point noise and count as none).

``deforestation_free`` is True for rule 5, False for rule 3 and NULL otherwise: a plot is never
called free without data that covers it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .screen import ZERO_HA

STATUSES = ("deforestation_free", "review", "deforestation_detected", "not_assessed", "invalid")


@dataclass(frozen=True)
class RuleParams:
    reference_year: int = 2020
    review_max_ha: float = 0.1
    min_data_coverage_pct: float = 99.0


def _fmt_ha(x: float) -> str:
    return f"{x:.4f} ha" if x < 0.01 else f"{x:.2f} ha"


def classify(figures: pd.DataFrame, invalid_reason: pd.Series, params: RuleParams) -> pd.DataFrame:
    """Status, ``deforestation_free`` flag and ``status_reason`` for each plot.

    ``figures`` has the columns of :func:`pipeline.screen.derive_figures`; ``invalid_reason``
    is a string per plot (empty or NA when the geometry is fine). Returns a frame with columns
    ``status``, ``deforestation_free`` (nullable boolean) and ``status_reason``, same index.
    """
    ref = params.reference_year
    statuses, flags, reasons = [], [], []
    inv = invalid_reason.fillna("").astype(str).to_numpy()
    cov = figures["data_coverage_pct"].to_numpy(dtype="float64", na_value=np.nan)
    after = figures["loss_after_ref_ha"].to_numpy(dtype="float64", na_value=np.nan)
    forest = figures["forest_2000_ha"].to_numpy(dtype="float64", na_value=np.nan)
    first = figures["first_loss_year_after_ref"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    for i in range(len(figures)):
        loss = 0.0 if np.isnan(after[i]) else after[i]
        when = "" if np.isnan(first[i]) else f", first in {int(first[i])}"
        if inv[i]:
            statuses.append("invalid"); flags.append(None)
            reasons.append(f"geometry cannot be screened: {inv[i]}")
        elif not cov[i] >= params.min_data_coverage_pct:
            statuses.append("not_assessed"); flags.append(None)
            if not cov[i] > 0:
                reasons.append("no valid raster data under the plot (outside the rasters or over no-data pixels)")
            else:
                extra = (f"; {_fmt_ha(loss)} of forest loss after {ref}{when} already seen on the covered part"
                         if loss >= ZERO_HA else "")
                reasons.append(f"only {cov[i]:.1f} % of the plot has valid raster data "
                               f"(minimum {params.min_data_coverage_pct:g} %){extra}")
        elif loss > params.review_max_ha:
            statuses.append("deforestation_detected"); flags.append(False)
            reasons.append(f"{_fmt_ha(loss)} of forest lost after {ref}{when}, more than the "
                           f"{params.review_max_ha:g} ha review tolerance")
        elif loss >= ZERO_HA:
            statuses.append("review"); flags.append(None)
            reasons.append(f"{_fmt_ha(loss)} of forest lost after {ref}{when}: no more than "
                           f"{params.review_max_ha:g} ha, within the loss product's geolocation "
                           "uncertainty; check imagery")
        else:
            statuses.append("deforestation_free"); flags.append(True)
            what = ("no forest in 2000 under the plot" if not forest[i] >= ZERO_HA
                    else f"{_fmt_ha(forest[i])} of forest in 2000")
            reasons.append(f"no forest loss after {ref} ({what})")
    return pd.DataFrame(
        {
            "status": pd.Categorical(statuses, categories=STATUSES).astype(str),
            "deforestation_free": pd.array(flags, dtype="boolean"),
            "status_reason": reasons,
        },
        index=figures.index,
    )
