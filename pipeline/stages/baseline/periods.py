"""The baseline period and the loss years of a screening's ``plots`` layer."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ...errors import BaselineError
from ...i18n import _, tr
from ...vocab import STATUSES

_LOSS_COLUMN = re.compile(r"loss_(\d{4})_ha")
#: The per-plot figures the baseline sums (besides ``loss_YYYY_ha``).
PLOT_FIGURES = ("forest_2000_ha", "forest_ref_ha", "loss_before_ref_ha", "loss_after_ref_ha")


def loss_years(columns: Sequence[str] | pd.Index) -> list[int]:
    """The years of the ``loss_YYYY_ha`` columns, sorted."""
    return sorted(int(m.group(1)) for c in columns if (m := _LOSS_COLUMN.fullmatch(str(c))))


@dataclass(frozen=True)
class BaselinePeriod:
    """The baseline years ``start``..``end`` (inclusive)."""

    start: int
    end: int

    @property
    def years(self) -> list[int]:
        return list(range(self.start, self.end + 1))

    def __str__(self) -> str:
        return f"{self.start}-{self.end}"


def baseline_period(
    reference_year: int, years: Sequence[int], start: int | None = None, end: int | None = None, length: int = 10
) -> BaselinePeriod:
    """The baseline period: by default the ``length`` years ending with the reference year.

    Raises :class:`BaselineError` when it does not end by the reference year or reaches outside
    the years the loss product covers.
    """
    end = reference_year if end is None else int(end)
    start = end - (length - 1) if start is None else int(start)
    if start > end:
        raise BaselineError(tr("baseline period {start}-{end}: the first year is after the last", start=start, end=end))
    if end > reference_year:
        raise BaselineError(
            tr(
                "baseline period {start}-{end} ends after the reference year {year}: the baseline is the loss up to "
                "the reference year",
                start=start,
                end=end,
                year=reference_year,
            )
        )
    if not years or start < min(years) or end > max(years):
        span = f"{min(years)}-{max(years)}" if years else _("none")
        raise BaselineError(
            tr(
                "baseline period {start}-{end} is not within the loss product's years ({span})",
                start=start,
                end=end,
                span=span,
            )
        )
    return BaselinePeriod(start, end)


def check_plots_columns(plots: pd.DataFrame, source: str = "plots") -> list[int]:
    """Raise :class:`BaselineError` unless ``plots`` has the columns the baseline needs; return the loss years."""
    need = ["plot_id", "source_row", "status", "area_ha", *PLOT_FIGURES]
    missing = [c for c in need if c not in plots.columns]
    years = loss_years(plots.columns)
    if not years:
        missing.append("loss_YYYY_ha")
    if missing:
        raise BaselineError(
            tr(
                "{source}: not a screening plots layer: missing column(s) {columns}",
                source=source,
                columns=", ".join(missing),
            )
        )
    unknown = sorted(set(plots["status"].dropna().astype(str)) - set(STATUSES))
    if unknown or plots["status"].isna().any():
        raise BaselineError(
            tr(
                "{source}: unknown status value(s) {values}; expected one of {statuses}",
                source=source,
                values=", ".join(unknown) or "NULL",
                statuses=", ".join(STATUSES),
            )
        )
    return years
