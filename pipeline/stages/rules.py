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
   :data:`~pipeline.vocab.ZERO_HA`, 0.01 m², are floating-point noise and count as none).

``deforestation_free`` is True for rule 5, False for rule 3 and NULL otherwise: a plot is never
called free without data that covers it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..config import ScreeningConfig
from ..vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, STATUS_PRECEDENCE, ZERO_HA


def _fmt_ha(x: float) -> str:
    return f"{x:.4f} ha" if x < 0.01 else f"{x:.2f} ha"


class _FirstYear:
    """The first year of loss after the reference year as words, plot by plot (``", first in
    2022"``; empty when unknown), made on demand: most plots are free and never need it."""

    def __init__(self, first: np.ndarray) -> None:
        self.first = first

    def __getitem__(self, i: int) -> str:
        y = self.first[i]
        return "" if np.isnan(y) else f", first in {int(y)}"


def _causes(missing_pct: float, invalid_pct: float) -> str:
    """Why part of a plot has no valid data, in words (empty when only nodata pixels)."""
    parts = []
    if missing_pct >= 0.05:
        parts.append(f"{missing_pct:.1f} % lies where no raster tile is (outside the rasters or a missing tile)")
    if invalid_pct >= 0.05:
        parts.append(
            f"{invalid_pct:.1f} % has values the product does not define (e.g. a loss year after "
            "its last year: is last_year right?)"
        )
    return (": " + "; ".join(parts)) if parts else ""


def decide(invalid_reason: np.ndarray, coverage_pct: np.ndarray, after_ha: np.ndarray, params: ScreeningConfig):
    """The rules of the module docstring, in order (the first that applies decides), on arrays:
    each plot's status and its ``deforestation_free`` flag (True, False or NULL).

    ``invalid_reason`` is empty where the geometry is fine; ``after_ha`` is what counts against
    the plot (forest lost after the reference year, or alerts after the cut-off day)."""
    is_invalid = invalid_reason != ""
    is_not_assessed = ~is_invalid & ~(coverage_pct >= params.min_data_coverage_pct)
    is_detected = ~is_invalid & ~is_not_assessed & (after_ha > params.review_max_ha)
    is_review = ~is_invalid & ~is_not_assessed & ~is_detected & (after_ha >= ZERO_HA)
    status = np.select(
        [is_invalid, is_not_assessed, is_detected, is_review], [INVALID, NOT_ASSESSED, DETECTED, REVIEW], FREE
    )
    flag = pd.array(np.where(status == FREE, True, np.where(status == DETECTED, False, None)), dtype="boolean")
    return status, flag


def classify(figures: pd.DataFrame, invalid_reason: pd.Series, params: ScreeningConfig) -> pd.DataFrame:
    """Status, ``deforestation_free`` flag and ``status_reason`` for each plot.

    ``figures`` has the columns of :func:`pipeline.engine.stats.derive_figures`; ``invalid_reason``
    is a string per plot (empty or NA when the geometry is fine). Returns a frame with columns
    ``status``, ``deforestation_free`` (nullable boolean) and ``status_reason``, same index.
    """
    ref = params.reference_year
    n = len(figures)
    inv = invalid_reason.fillna("").astype(str).to_numpy()
    cov = figures["data_coverage_pct"].to_numpy(dtype="float64", na_value=np.nan)
    after = np.nan_to_num(figures["loss_after_ref_ha"].to_numpy(dtype="float64", na_value=np.nan))
    forest = figures["forest_2000_ha"].to_numpy(dtype="float64", na_value=np.nan)
    first = figures["first_loss_year_after_ref"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    missing = figures["_missing_pct"].to_numpy(dtype="float64") if "_missing_pct" in figures else np.zeros(n)
    invalid = figures["_invalid_pct"].to_numpy(dtype="float64") if "_invalid_pct" in figures else np.zeros(n)

    status, flag = decide(inv, cov, after, params)
    is_invalid, is_not_assessed = status == INVALID, status == NOT_ASSESSED
    is_detected, is_review = status == DETECTED, status == REVIEW

    # The reasons, in words, one status at a time.
    reason = np.empty(n, dtype=object)
    when = _FirstYear(first)  # ", first in 2022", worded only for the plots whose reason names it
    for i in np.flatnonzero(is_invalid):
        reason[i] = f"geometry cannot be screened: {inv[i]}"
    for i in np.flatnonzero(is_not_assessed):
        causes = _causes(missing[i], invalid[i])
        if not cov[i] > 0:
            reason[i] = "no valid raster data under the plot" + (causes or " (no-data pixels)")
        else:
            seen = (
                f"; {_fmt_ha(after[i])} of forest loss after {ref}{when[i]} already seen on the covered part"
                if after[i] >= ZERO_HA
                else ""
            )
            reason[i] = (
                f"only {cov[i]:.1f} % of the plot has valid raster data "
                f"(minimum {params.min_data_coverage_pct:g} %){causes}{seen}"
            )
    for i in np.flatnonzero(is_detected):
        reason[i] = (
            f"{_fmt_ha(after[i])} of forest lost after {ref}{when[i]}, more than the "
            f"{params.review_max_ha:g} ha review tolerance"
        )
    for i in np.flatnonzero(is_review):
        reason[i] = (
            f"{_fmt_ha(after[i])} of forest lost after {ref}{when[i]}: no more than "
            f"{params.review_max_ha:g} ha, within the loss product's geolocation uncertainty; check imagery"
        )
    free = status == FREE
    no_forest_layer = free & np.isnan(forest)
    no_forest = free & ~no_forest_layer & ~(forest >= ZERO_HA)
    some_forest = free & ~no_forest_layer & ~no_forest
    reason[no_forest_layer] = f"no forest loss after {ref}"
    reason[no_forest] = f"no forest loss after {ref} (no forest in 2000 under the plot)"
    reason[some_forest] = [
        f"no forest loss after {ref} ({_fmt_ha(f)} of forest in 2000)" for f in forest[some_forest].tolist()
    ]
    return pd.DataFrame(
        {"status": status.astype(object), "deforestation_free": flag, "status_reason": reason}, index=figures.index
    )


#: How the statuses of several loss products combine into the plot's status.
COMBINE_RULES = {
    "any": "detected if any product detects loss; otherwise not assessed if any product cannot assess "
    "the plot; otherwise review if any product asks for review; free only if every product is free",
    "primary": "the first product's status; the others are reported beside it",
}


def combine(verdicts: dict[str, pd.DataFrame], rule: str = "any") -> pd.DataFrame:
    """The plot's status from the per-product verdicts of :func:`classify` (see :data:`COMBINE_RULES`)."""
    names = list(verdicts)
    if len(names) == 1 or rule == "primary":
        return verdicts[names[0]].copy()
    if rule != "any":
        raise ValueError(f"unknown status rule {rule!r}; expected one of {', '.join(COMBINE_RULES)}")
    first = verdicts[names[0]]
    status_matrix = np.column_stack([verdicts[k]["status"].to_numpy() for k in names])
    statuses, flags, reasons = [], [], []
    for i in range(len(first)):
        row = status_matrix[i]
        status = next(s for s in STATUS_PRECEDENCE if s in row)
        statuses.append(status)
        flags.append(True if status == FREE else (False if status == DETECTED else None))
        if status == INVALID:
            reasons.append(first["status_reason"].iat[i])
        else:
            deciding = [k for k, s in zip(names, row) if s == status]
            reasons.append(
                "; ".join(f"{k}: {verdicts[k]['status_reason'].iat[i]}" for k in deciding)
                + ("" if status == FREE else f" [{', '.join(f'{k}: {s}' for k, s in zip(names, row))}]")
            )
    return pd.DataFrame(
        {"status": statuses, "deforestation_free": pd.array(flags, dtype="boolean"), "status_reason": reasons},
        index=first.index,
    )
