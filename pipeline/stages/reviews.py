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

from ..reasons import REASON_COLUMNS, part
from ..reasons import columns as reason_columns
from ..vocab import DETECTED, FREE, INVALID, NOT_ASSESSED, REVIEW
from .frames import column_at

#: The status each field verdict gives.
VERDICT_STATUS = {"no_deforestation": FREE, "deforestation": DETECTED, "cannot_tell": REVIEW}

#: ``status_basis`` values.
BASIS_SATELLITE = "satellite"
BASIS_FIELD = "field_check"

#: Loss above what the review saw by more than this (ha) reopens the plot.
NEW_LOSS_TOLERANCE_HA = 1e-6

#: The reason codes (:data:`pipeline.reasons.REASONS`) of each field verdict: without notes, with notes.
FIELD_REASONS = {
    "no_deforestation": ("field_no_deforestation", "field_no_deforestation_notes"),
    "deforestation": ("field_deforestation", "field_deforestation_notes"),
    "cannot_tell": ("field_cannot_tell", "field_cannot_tell_notes"),
}

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


def _years(text: object) -> set[int]:
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
    at = column_at(out, "status") + 1
    out.insert(at, "satellite_status", out["status"].to_numpy(dtype=object))
    out.insert(at + 1, "status_basis", BASIS_SATELLITE)
    ids = plot_ids.astype(str).to_numpy()
    status = out["status"].to_numpy(dtype=object).copy()
    flag = out["deforestation_free"].astype("boolean").to_numpy(dtype=object).copy()
    basis = out["status_basis"].to_numpy(dtype=object).copy()
    years_now = now_years.to_numpy(dtype=object)
    changed, reasons = [], []
    for i in np.flatnonzero(pd.Index(ids).isin(reviews.index)):
        if status[i] in (NOT_ASSESSED, INVALID):
            continue
        r = reviews.loc[ids[i]]
        words = {"checker": str(r["checked_by"]), "date": str(r["checked_on"])}
        seen = sorted(_years(r.get("seen_loss_years")))
        new_years = sorted(_years(years_now[i]) - set(seen))
        seen_ha = float(pd.to_numeric(r.get("seen_loss_after_ref_ha"), errors="coerce") or 0.0)
        if new_years:
            status[i], flag[i] = REVIEW, None
            years = ", ".join(map(str, new_years))
            if seen:
                reason = part("field_new_years", years=years, seen=", ".join(map(str, seen)), **words)
            else:
                reason = part("field_new_years_none_seen", years=years, **words)
        elif now_ha[i] > seen_ha + NEW_LOSS_TOLERANCE_HA:
            status[i], flag[i] = REVIEW, None
            reason = part("field_more_loss", now_ha=float(now_ha[i]), seen_ha=seen_ha, **words)
        else:
            code = str(r["field_verdict"])
            status[i] = VERDICT_STATUS[code]
            flag[i] = True if status[i] == FREE else (False if status[i] == DETECTED else None)
            notes = r.get("notes")
            plain, with_notes = FIELD_REASONS[code]
            if isinstance(notes, str) and notes.strip():
                reason = part(with_notes, notes=notes.strip(), **words)
            else:
                reason = part(plain, **words)
            basis[i] = BASIS_FIELD
        changed.append(i)
        reasons.append([reason])
    if changed:
        new = reason_columns(reasons)
        for name in REASON_COLUMNS:
            values = out[name].to_numpy(dtype=object).copy()
            values[changed] = new[name]
            out[name] = values
    out["status"] = status
    out["deforestation_free"] = pd.array(flag, dtype="boolean")
    out["status_basis"] = basis
    return out
