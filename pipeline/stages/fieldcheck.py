"""The field check: a package of forms for the plots to visit, and the filled forms checked.

:func:`build_pack` picks the plots of a screening a technician should visit (by status, optionally
one group: a cooperative) and makes the ``checks`` layer (one feature per plot, with empty form
fields), the ``patches`` layer (their loss patches, for context) and ``pack_plots`` (what the
screening saw of each plot: the loss a later review answers). :func:`check_forms` sorts the filled
forms of a package into records for the review log and refusals, each with its reason.

Pure functions on frames; :mod:`pipeline.io.fieldpack` reads and writes the files.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

import geopandas as gpd
import numpy as np
import pandas as pd

from ..i18n import tr
from ..vocab import (
    DETECTED,
    FIELD_VERDICTS,
    FORM_NAMES,
    LAND_USES,
    REVIEW,
    REVIEW_COLUMNS,
    STATUSES,
    YES_NO,
)
from .reviews import counted_loss

#: The statuses a package holds by default.
DEFAULT_STATUSES = (REVIEW, DETECTED)


def loss_years(patches: pd.DataFrame) -> pd.Series:
    """Per ``plot_id``, the years of its loss patches as text (``2021,2023``; alert patches are
    seen through the alert area, :func:`.reviews.counted_loss`)."""
    if "kind" in patches:
        patches = patches[(patches["kind"].fillna("loss") == "loss").to_numpy()]
    if not len(patches):
        return pd.Series([], dtype=object)
    years = patches.groupby("plot_id")["year"].agg(lambda y: ",".join(str(int(v)) for v in sorted(set(y))))
    return years.astype(object)


def build_pack(
    plots: gpd.GeoDataFrame,
    patches: gpd.GeoDataFrame | None,
    *,
    statuses: Sequence[str] = DEFAULT_STATUSES,
    group_column: str | None = None,
    group: str | None = None,
    producer_column: str | None = None,
) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame, pd.DataFrame]:
    """The ``checks`` layer (empty form fields), the ``patches`` of its plots and ``pack_plots``
    (plot id, status and the loss seen: :func:`.reviews.counted_loss`, alerts included, and the
    patches' years), for the plots of ``statuses`` (of ``group`` in
    ``group_column`` when given), by ``source_row``."""
    unknown = [s for s in statuses if s not in STATUSES]
    if unknown:
        raise ValueError(
            tr(
                "unknown status(es) {unknown}; expected some of {statuses}",
                unknown=", ".join(unknown),
                statuses=", ".join(STATUSES),
            )
        )
    keep = plots["status"].isin(list(statuses))
    if group_column is not None:
        if group_column not in plots.columns:
            raise KeyError(group_column)
        if group is not None:
            keep &= plots[group_column].astype(str) == str(group)
    chosen = plots[keep].sort_values("source_row", kind="stable")
    patches = _empty_patches() if patches is None else patches
    patches = patches[patches["plot_id"].isin(chosen["plot_id"])]
    years = chosen["plot_id"].map(loss_years(patches)).fillna("")
    n = len(chosen)

    def column(name: str | None) -> np.ndarray:
        if name is None or name not in chosen.columns:
            return np.full(n, None, dtype=object)
        text: np.ndarray = (
            chosen[name].astype(object).where(chosen[name].notna(), None).astype(str).to_numpy(dtype=object)
        )
        return text

    data = {
        "plot_id": chosen["plot_id"].astype(str).to_numpy(dtype=object),
        "producer": column(producer_column),
        "group": column(group_column),
        "status": chosen["status"].to_numpy(dtype=object),
        "status_reason": chosen["status_reason"].to_numpy(dtype=object),
        "area_ha": np.round(chosen["area_ha"].to_numpy(dtype="float64"), 4),  # as a technician reads them
        "loss_after_ref_ha": np.round(chosen["loss_after_ref_ha"].to_numpy(dtype="float64", na_value=np.nan), 4),
        "seen_ha": counted_loss(chosen),
        "loss_years": years.to_numpy(dtype=object),
    }
    seen_ha = data.pop("seen_ha")
    for name in FORM_NAMES:
        data[name] = pd.Series([None] * n, dtype="string").to_numpy(dtype=object)
    checks = gpd.GeoDataFrame(data, geometry=chosen.geometry.to_numpy(), crs="EPSG:4326")
    pack_plots = pd.DataFrame(
        {
            "plot_id": data["plot_id"],
            "seen_status": data["status"],
            "seen_loss_after_ref_ha": seen_ha,
            "seen_loss_years": data["loss_years"],
        }
    )
    return checks, patches.reset_index(drop=True), pack_plots


def _empty_patches() -> gpd.GeoDataFrame:
    return gpd.GeoDataFrame({"plot_id": [], "year": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"))


@dataclass
class CheckedForms:
    """The filled forms of a package: ``records`` to append to the review log (columns of
    :data:`REVIEW_COLUMNS` but ``imported_utc``), and ``refused`` (``plot_id``, ``row``: the
    form's position in the package, 1-based, and ``reason``)."""

    records: pd.DataFrame
    refused: pd.DataFrame
    empty: int  # forms left blank (plots not visited)


def _text(value: object) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    return str(value).strip()


def _date(value: object) -> dt.date | None:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    text = _text(value)
    try:
        return dt.date.fromisoformat(text[:10])
    except ValueError:
        return None


def form_problems(form: Mapping[Hashable, Any], known: set[str], today: dt.date) -> list[str]:
    """Why one filled form cannot go into the log (empty when it can)."""
    problems = []
    plot_id = _text(form.get("plot_id"))
    if plot_id not in known:
        problems.append(f"unknown plot id {plot_id!r}: not a plot of this package")
    verdict = _text(form.get("field_verdict"))
    if verdict not in FIELD_VERDICTS:
        problems.append(f"unknown verdict {verdict!r}; expected one of {', '.join(FIELD_VERDICTS)}")
    land_use = _text(form.get("land_use_2020"))
    if land_use and land_use not in LAND_USES:
        problems.append(f"unknown land use in 2020 {land_use!r}; expected one of {', '.join(LAND_USES)}")
    shade = _text(form.get("shade_trees_removed"))
    if shade and shade not in YES_NO:
        problems.append(f"shade_trees_removed is {shade!r}; expected yes or no")
    if not _text(form.get("checked_by")):
        problems.append("no checker: checked_by is empty")
    text_date = _text(form.get("checked_on"))
    day = _date(form.get("checked_on"))
    if not text_date:
        problems.append("no date: checked_on is empty")
    elif day is None:
        problems.append(f"checked_on {text_date!r} is not a date (YYYY-MM-DD)")
    elif day > today:
        problems.append(f"checked_on {day.isoformat()} is in the future")
    return problems


def check_forms(
    checks: pd.DataFrame,
    pack_plots: pd.DataFrame,
    screening: dict[str, str],
    pack: str,
    today: dt.date,
) -> CheckedForms:
    """Sort the forms of a package's ``checks`` layer: a form with any field filled is a record
    or a refusal (never part of one); blank forms are plots not visited. ``screening``: the
    package's ``screening_sha256`` and ``screening_created_utc``; ``pack``: its name."""
    known = set(pack_plots["plot_id"].astype(str))
    seen = pack_plots.drop_duplicates("plot_id").set_index(pack_plots["plot_id"].drop_duplicates().astype(str))
    records, refused, empty = [], [], 0
    for i, form in enumerate(checks.to_dict("records"), start=1):
        if not any(_text(form.get(name)) for name in FORM_NAMES):
            empty += 1
            continue
        problems = form_problems(form, known, today)
        plot_id = _text(form.get("plot_id"))
        if problems:
            refused.append({"plot_id": plot_id, "row": i, "reason": "; ".join(problems)})
            continue
        s = cast(pd.Series, seen.loc[plot_id])  # its ids were made unique: one row
        record = {
            "plot_id": plot_id,
            "field_verdict": _text(form.get("field_verdict")),
            "land_use_2020": _text(form.get("land_use_2020")) or None,
            "shade_trees_removed": _text(form.get("shade_trees_removed")) or None,
            "checked_by": _text(form.get("checked_by")),
            "checked_on": _date(form.get("checked_on")).isoformat(),  # type: ignore[union-attr]
            "notes": _text(form.get("notes")) or None,
            "photos": _photo_names(form.get("photos")),
            "screening_sha256": screening.get("screening_sha256", ""),
            "screening_created_utc": screening.get("screening_created_utc", ""),
            "seen_status": s["seen_status"],
            "seen_loss_after_ref_ha": float(s["seen_loss_after_ref_ha"]),
            "seen_loss_years": _text(s["seen_loss_years"]),
            "pack": pack,
        }
        record = {"record_key": record_key(record), **record}
        records.append(record)
    frame = pd.DataFrame(records, columns=[c for c in REVIEW_COLUMNS if c != "imported_utc"])
    return CheckedForms(frame, pd.DataFrame(refused, columns=["plot_id", "row", "reason"]), empty)


def _photo_names(value: object) -> str | None:
    """The names of the photos (QField stores paths relative to the project: the names are kept)."""
    parts = [p.strip().replace("\\", "/").rsplit("/", 1)[-1] for p in _text(value).replace(",", ";").split(";")]
    names = [p for p in parts if p]
    return ";".join(names) or None


def record_key(record: Mapping[str, object]) -> str:
    """What makes a review the same review: the plot, the screening answered and every answer
    (importing the same package twice adds nothing)."""
    parts = [
        str(record.get(k) or "")
        for k in (
            "plot_id",
            "screening_sha256",
            "field_verdict",
            "land_use_2020",
            "shade_trees_removed",
            "checked_by",
            "checked_on",
            "notes",
            "photos",
        )
    ]
    return hashlib.blake2b("\x1f".join(parts).encode(), digest_size=16).hexdigest()
