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

from typing import cast

import numpy as np
import pandas as pd

from .. import reasons
from ..config import ScreeningConfig
from ..reasons import REASON_COLUMNS, part
from ..vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW, STATUS_PRECEDENCE, ZERO_HA


def causes(missing_pct: float, invalid_pct: float, alerts: bool = False) -> list[dict[str, object]]:
    """Why part of a plot has no valid data (empty when only nodata pixels): reason parts."""
    prefix = "alerts_" if alerts else ""
    parts = []
    if missing_pct >= 0.05:
        parts.append(part(prefix + "outside_tiles", pct=missing_pct))
    if invalid_pct >= 0.05:
        parts.append(part(prefix + "undefined_values", pct=invalid_pct))
    return parts


def decide(
    invalid_reason: np.ndarray, coverage_pct: np.ndarray, after_ha: np.ndarray, params: ScreeningConfig
) -> tuple[np.ndarray, pd.api.extensions.ExtensionArray]:
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
    flag = pd.array(
        np.where(status == FREE, True, np.where(status == DETECTED, False, np.array(None))), dtype="boolean"
    )
    return status, flag


def classify(figures: pd.DataFrame, invalid_reason: pd.Series, params: ScreeningConfig) -> pd.DataFrame:
    """Status, ``deforestation_free`` flag and ``status_reason`` for each plot.

    ``figures`` has the columns of :func:`pipeline.engine.stats.derive_figures`; ``invalid_reason``
    is a string per plot (empty or NA when the geometry is fine). Returns a frame with columns
    ``status``, ``deforestation_free`` (nullable boolean), ``status_reason`` (in the language in
    use), ``status_reason_code`` and ``status_reason_params`` (:mod:`pipeline.reasons`), same index.
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

    # The reasons, as codes and numbers (pipeline.reasons), one status at a time: vectorised for
    # the many plots that share a form, plot by plot for the few (not assessed) whose causes vary.
    reason = reasons.Batch(n)
    tolerance = params.review_max_ha
    has_first = ~np.isnan(first)
    first_year = np.where(has_first, first, 0).astype("int64")
    for i in np.flatnonzero(is_invalid):
        reason.add_each(i, [part("geometry_invalid", problem_text=inv[i])])
    for i in np.flatnonzero(is_not_assessed):
        why = causes(missing[i], invalid[i])
        if not cov[i] > 0:
            reason.add_each(i, [part("no_data"), *why] if why else [part("no_data_nodata")])
            continue
        seen = []
        if after[i] >= ZERO_HA:
            seen.append(part("loss_seen_partial", loss_ha=after[i], reference_year=ref))
            if has_first[i]:
                seen.append(part("first_loss_year", year=first_year[i]))
        cover = part("partial_coverage", coverage_pct=cov[i], min_pct=params.min_data_coverage_pct)
        reason.add_each(i, [cover, *why, *seen])
    for code, where in (("loss_detected", is_detected), ("loss_review", is_review)):
        for dated in (True, False):
            at = np.flatnonzero(where & (has_first == dated))
            loss = (code, dict(loss_ha=after[at], reference_year=ref, review_max_ha=tolerance))
            reason.add(at, loss, *([("first_loss_year", dict(year=first_year[at]))] if dated else []))
    free = status == FREE
    no_forest_layer = free & np.isnan(forest)
    no_forest = free & ~no_forest_layer & ~(forest >= ZERO_HA)
    reason.add(np.flatnonzero(no_forest_layer), ("no_loss", dict(reference_year=ref)))
    reason.add(np.flatnonzero(no_forest), ("no_loss_no_forest", dict(reference_year=ref)))
    some = np.flatnonzero(free & ~no_forest_layer & ~no_forest)
    reason.add(some, ("no_loss_forest", dict(reference_year=ref, forest_ha=forest[some])))
    return verdict_frame(status, flag, reason, figures.index)


def verdict_frame(
    status: np.ndarray, flag: pd.api.extensions.ExtensionArray, reason: reasons.Batch, index: pd.Index
) -> pd.DataFrame:
    """The verdict columns: ``status``, ``deforestation_free``, then the reason's text, code and
    parameters (:meth:`pipeline.reasons.Batch.columns`)."""
    return pd.DataFrame(
        {"status": np.asarray(status).astype(object), "deforestation_free": flag, **reason.columns()},
        index=index,
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
    status_matrix = np.column_stack([verdicts[k]["status"].to_numpy() for k in names]).astype(object)
    status = np.full(len(first), FREE, dtype=object)
    for s in reversed(STATUS_PRECEDENCE):  # the least favourable present wins
        status[(status_matrix == s).any(axis=1)] = s
    flag = pd.array(
        np.where(status == FREE, True, np.where(status == DETECTED, False, np.array(None))), dtype="boolean"
    )
    out = {c: np.full(len(first), "", dtype=object) for c in REASON_COLUMNS}
    groups = pd.DataFrame(status_matrix).groupby(list(range(len(names))), sort=False).indices
    for key, pos in groups.items():  # the plots whose products have the same statuses, at once
        row = cast("tuple[str, ...]", key)  # grouped by two columns or more: each key is a tuple
        own = status[pos[0]]
        if own == INVALID:  # the geometry: the first product says it, as every product does
            chosen = {column: verdicts[names[0]][column].to_numpy()[pos] for column in REASON_COLUMNS}
        else:
            deciding = [k for k, s in zip(names, row) if s == own]
            listed = None if own == FREE else ", ".join(f"{k}: {s}" for k, s in zip(names, row))
            chosen = reasons.combined([verdicts[k].iloc[pos] for k in deciding], deciding, listed)
        for column, value in chosen.items():
            out[column][pos] = value
    return pd.DataFrame(
        {"status": status, "deforestation_free": flag, **out},
        index=first.index,
    )
