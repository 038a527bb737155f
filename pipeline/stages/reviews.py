"""Screening with reviews: the latest field check of a plot settles its satellite verdict.

Applied after the satellite rules (:mod:`.rules`, the alerts, the edge flag), on the verdict of
each plot that has a review in the log (:mod:`pipeline.io.fieldpack`):

* ``no_deforestation`` → ``deforestation_free``, ``deforestation`` → ``deforestation_detected``,
  ``cannot_tell`` → ``review``; ``status_basis`` is ``field_check`` and the reason names the
  checker, the day and the notes;
* unless loss appeared after the review — a loss year the check did not see, or more area after
  the reference year (alerts included) than it saw —: then ``review``, with a reason that says so;
* a plot the satellite data cannot assess (``not_assessed``) or that cannot be screened
  (``invalid``) keeps its status: a field check does not replace data that covers the plot.

The satellite verdict stays in ``satellite_status``. Pure functions on frames.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from ..vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW

#: The status each field verdict gives.
VERDICT_STATUS = {"no_deforestation": FREE, "deforestation": DETECTED, "cannot_tell": REVIEW}

#: ``status_basis`` values.
BASIS_SATELLITE = "satellite"
BASIS_FIELD = "field_check"

#: Loss above what the review saw by more than this (ha) reopens the plot.
NEW_LOSS_TOLERANCE_HA = 1e-6

#: The reasons, one complete format string each (with and without the checker's notes).
FIELD_REASONS = {
    "no_deforestation": (
        "field check by {checker} on {date}: no deforestation",
        "field check by {checker} on {date}: {notes}, no deforestation",
    ),
    "deforestation": (
        "field check by {checker} on {date}: deforestation",
        "field check by {checker} on {date}: {notes}, deforestation",
    ),
    "cannot_tell": (
        "field check by {checker} on {date}: cannot tell, the satellite verdict stands for review",
        "field check by {checker} on {date}: {notes}, cannot tell, the satellite verdict stands for review",
    ),
}
NEW_YEARS_REASON = (
    "loss in {years} since the field check by {checker} on {date}, which saw loss in {seen} only: check the plot again"
)
NEW_YEARS_NONE_SEEN_REASON = (
    "loss in {years} since the field check by {checker} on {date}, which saw no loss: check the plot again"
)
MORE_LOSS_REASON = (
    "more loss since the field check by {checker} on {date}: {now_ha:.4f} ha after the reference year now, "
    "{seen_ha:.4f} ha then: check the plot again"
)

_ALERT_HA = re.compile(r"^.+_alert_ha$")


def counted_loss(frame: pd.DataFrame) -> np.ndarray:
    """What counts against each plot: its loss after the reference year plus the alerts after
    the cut-off day of every alert product (``<name>_alert_ha``), NULL as 0."""
    total = pd.to_numeric(frame["loss_after_ref_ha"], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
    for col in frame.columns:
        if _ALERT_HA.match(str(col)):
            total = total + pd.to_numeric(frame[col], errors="coerce").fillna(0.0).to_numpy(dtype="float64")
    return total


def latest_reviews(log: pd.DataFrame) -> pd.DataFrame:
    """The latest review of each plot in the log (by ``checked_on``, then import time, then the
    order of the log), indexed by ``plot_id``."""
    if log is None or not len(log):
        return pd.DataFrame(columns=["field_verdict", "checked_by", "checked_on", "notes"]).rename_axis("plot_id")
    ordered = log.assign(_order=np.arange(len(log)), plot_id=log["plot_id"].astype(str))
    ordered = ordered.sort_values(["checked_on", "imported_utc", "_order"], kind="stable")
    return ordered.drop_duplicates("plot_id", keep="last").set_index("plot_id").drop(columns="_order")


def _years(text) -> set[int]:
    if text is None or (isinstance(text, float) and np.isnan(text)):
        return set()
    return {int(y) for y in str(text).split(",") if y.strip()}


def apply_reviews(
    verdict: pd.DataFrame, plot_ids: pd.Series, now_ha: np.ndarray, now_years: pd.Series, reviews: pd.DataFrame
) -> pd.DataFrame:
    """The verdict with ``satellite_status`` and ``status_basis`` (after ``status``), settled by
    the latest review of each plot (see the module docstring). ``now_ha``: what counts against
    each plot now (:func:`counted_loss`); ``now_years``: its loss patches' years as text
    (``2021,2023``); ``reviews``: :func:`latest_reviews`."""
    out = verdict.copy()
    at = out.columns.get_loc("status") + 1
    out.insert(at, "satellite_status", out["status"].to_numpy(dtype=object))
    out.insert(at + 1, "status_basis", BASIS_SATELLITE)
    ids = plot_ids.astype(str).to_numpy()
    status = out["status"].to_numpy(dtype=object).copy()
    flag = out["deforestation_free"].astype("boolean").to_numpy(dtype=object).copy()
    reason = out["status_reason"].to_numpy(dtype=object).copy()
    basis = out["status_basis"].to_numpy(dtype=object).copy()
    years_now = now_years.to_numpy(dtype=object)
    has = np.flatnonzero(pd.Index(ids).isin(reviews.index))
    for i in has:
        if status[i] in (NOT_ASSESSED, INVALID):
            continue
        r = reviews.loc[ids[i]]
        words = {"checker": r["checked_by"], "date": r["checked_on"]}
        new_years = sorted(_years(years_now[i]) - _years(r.get("seen_loss_years")))
        seen_ha = float(pd.to_numeric(r.get("seen_loss_after_ref_ha"), errors="coerce") or 0.0)
        if new_years:
            seen = sorted(_years(r.get("seen_loss_years")))
            template = NEW_YEARS_REASON if seen else NEW_YEARS_NONE_SEEN_REASON
            status[i], flag[i] = REVIEW, None
            reason[i] = template.format(years=", ".join(map(str, new_years)), seen=", ".join(map(str, seen)), **words)
        elif now_ha[i] > seen_ha + NEW_LOSS_TOLERANCE_HA:
            status[i], flag[i] = REVIEW, None
            reason[i] = MORE_LOSS_REASON.format(now_ha=now_ha[i], seen_ha=seen_ha, **words)
        else:
            verdict_code = str(r["field_verdict"])
            status[i] = VERDICT_STATUS[verdict_code]
            flag[i] = True if status[i] == FREE else (False if status[i] == DETECTED else None)
            notes = r.get("notes")
            plain, with_notes = FIELD_REASONS[verdict_code]
            has_notes = isinstance(notes, str) and notes.strip()
            reason[i] = (with_notes if has_notes else plain).format(notes=notes, **words)
            basis[i] = BASIS_FIELD
    out["status"] = status
    out["deforestation_free"] = pd.array(flag, dtype="boolean")
    out["status_reason"] = reason
    out["status_basis"] = basis
    return out
