"""Deforestation alerts: each pixel's date and confidence, and per-plot alert areas after a cut-off day.

Pure functions on arrays, as :mod:`.pixels` and :mod:`.stats` are for loss products; nothing here
reads files.

* :class:`AlertSpec` says how an alert product stores a pixel's date and confidence (built by
  :func:`pipeline.io.alerts.open_alert_product` from the configured
  :class:`~pipeline.config.AlertEncoding`): a leading confidence digit or a separate confidence
  layer, and days since an epoch or a YYYYMMDD date; 0 is no alert.
* :func:`decode_alerts` turns the values of a window (or of the cells under plots) into pixel
  classes: missing (no tile), invalid (a value the encoding does not define), valid, and for each
  alert pixel its day and confidence class.
* :class:`AlertStatistics` is what :func:`.zonal.measure_product` runs on each batch of plots,
  instead of the loss statistics: the same exact coverage fractions times ellipsoidal pixel areas
  (:mod:`.geodesy`) give :class:`AlertStats` — alert area per confidence class after the cut-off
  day, area up to it, the first and last day of the alerts that count, and the area per month;
  when asked (``keep_cells``), the alert cells after the cut-off day themselves (:class:`AlertCells`,
  the same weights), from which :mod:`pipeline.stages.patches` draws the alert patches.
* :func:`alert_figures` turns those into the hectare and date columns of the ``plots`` layer.

Days are numbered from 1970-01-01 (numpy's ``datetime64[D]``). An alert counts when its day is
*after* the cut-off day: an alert on the cut-off day itself is history.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import Field, dataclass, field
from typing import Any, ClassVar, Protocol

import numpy as np
import pandas as pd

from ..config import ForestDefinition
from ..vocab import ZERO_HA
from .coverage import Coverage, Grid
from .geodesy import M2_PER_HA, pixel_row_areas
from .grids import GriddedReader
from .pixels import NO_TILE, LayerWindow, gather
from .stats import cells_in_windows

#: ``datetime64[D]`` of day 0.
_DAY0 = np.datetime64("1970-01-01", "D")


def day_number(day: dt.date) -> int:
    """Days from 1970-01-01 to ``day``."""
    return int((np.datetime64(day, "D") - _DAY0).astype("int64"))


def day_date(number: int) -> dt.date:
    """The date of day ``number`` (days from 1970-01-01)."""
    date: dt.date = (_DAY0 + np.timedelta64(int(number), "D")).astype(object)  # a numpy day as a date
    return date


@dataclass(frozen=True)
class AlertSpec:
    """How an alert product's values are read: what its files say, not a user parameter."""

    date: str = "days"  # "days": the date part counts days since `epoch`; "yyyymmdd": it is YYYYMMDD
    epoch: int = 16435  # day number of the epoch (16435 = 2014-12-31)
    confidence: str = "leading_digit"  # "leading_digit", "band" (layer 'confidence') or "none"
    divisor: int = 10_000  # leading digit: code = value // divisor, date part = value % divisor
    codes: tuple[int, ...] = (2, 3, 4)  # confidence codes...
    classes: tuple[int, ...] = (0, 1, 2)  # ...and the class of each: its position in `levels`
    levels: tuple[str, ...] = ("low", "high", "highest")  # the product's levels, lowest first
    nodata: int | None = None


class AlertSource(Protocol):
    """What the engine and the stages need of an alert product (:class:`pipeline.io.alerts.AlertProduct`
    is one): its layers and grid, its :class:`AlertSpec`, its confidence levels (lowest first),
    whether each class counts toward the status, the lowest confidence that counts, and its
    fingerprint (what a reused figure depends on). It is a dataclass: the forest at the cut-off
    gives it another ``forest_mask`` (:func:`dataclasses.replace`)."""

    __dataclass_fields__: ClassVar[dict[str, Field[Any]]]

    @property
    def name(self) -> str: ...

    @property
    def grid(self) -> Grid: ...

    @property
    def spec(self) -> AlertSpec: ...

    @property
    def layers(self) -> Mapping[str, GriddedReader]: ...

    @property
    def levels(self) -> tuple[str, ...]: ...

    @property
    def counted(self) -> tuple[bool, ...]: ...

    @property
    def min_confidence(self) -> str: ...

    def fingerprint(self) -> tuple[object, ...]: ...


def decode_alerts(layers: dict[str, np.ndarray], spec: AlertSpec) -> dict[str, np.ndarray]:
    """Pixel classes from the values of an alert product (int arrays, :data:`NO_TILE` = no tile).

    ``layers`` holds ``alerts`` and optionally ``confidence`` (encodings with a confidence band)
    and ``forest_mask`` (1 = forest). Returns boolean arrays ``missing``, ``invalid``, ``valid``
    and ``alert`` (a valid alert on forest), and int64 arrays ``day`` (day number) and ``cls``
    (confidence class), -1 where there is no alert.
    """
    v = np.asarray(layers["alerts"]).astype("int64")
    missing = np.zeros(v.shape, dtype=bool)
    for arr in layers.values():
        missing |= np.asarray(arr) == NO_TILE
    nodata = (v == spec.nodata) if spec.nodata is not None else np.zeros(v.shape, dtype=bool)
    none = v == 0
    if spec.confidence == "leading_digit":
        code, part = np.divmod(v, spec.divisor)
    elif spec.confidence == "band":
        code, part = np.asarray(layers["confidence"]).astype("int64"), v
    else:
        code, part = None, v
    cls = np.full(v.shape, -1, dtype="int64")
    if code is None:
        cls[:] = 0
    else:
        for c, k in zip(spec.codes, spec.classes):
            cls[code == c] = k
    if spec.date == "days":
        day = spec.epoch + part
        dated = part >= 0
    else:
        day, dated = _yyyymmdd(part)
    ok = (v > 0) & (cls >= 0) & dated
    ok_value = none | ok
    fmask = layers.get("forest_mask")
    if fmask is not None:
        fmask = np.asarray(fmask)
        ok_value &= (fmask == 0) | (fmask == 1)
    nodata &= ~missing
    valid = ~missing & ~nodata & ok_value
    alert = valid & ok
    if fmask is not None:
        alert &= fmask == 1
    return {
        "missing": missing,
        "invalid": ~missing & ~nodata & ~ok_value,
        "valid": valid,
        "alert": alert,
        "day": np.where(alert, day, -1),
        "cls": np.where(alert, cls, -1),
    }


def _yyyymmdd(part: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Day numbers of dates written as YYYYMMDD, and which values are real dates (1900-2999)."""
    year, rest = np.divmod(part, 10_000)
    month, day = np.divmod(rest, 100)
    ok = (year >= 1900) & (year <= 2999) & (month >= 1) & (month <= 12) & (day >= 1)
    months = np.where(ok, (year - 1970) * 12 + month - 1, 0)
    first = months.astype("datetime64[M]").astype("datetime64[D]").astype("int64")
    following = (months + 1).astype("datetime64[M]").astype("datetime64[D]").astype("int64")
    number = first + day - 1
    ok &= number < following
    return np.where(ok, number, -1), ok


@dataclass
class AlertCells:
    """Alert cells after the cut-off day of a batch of plots: one entry per (plot, cell). ``plot``
    is the plot's position, ``row``/``col`` the cell on the product's grid, ``day`` the alert's
    day number, ``cls`` its confidence class, ``m2`` the cell's area inside the plot (coverage x
    ellipsoidal pixel area: the weight of the plot's alert figures)."""

    plot: np.ndarray
    row: np.ndarray
    col: np.ndarray
    day: np.ndarray
    cls: np.ndarray
    m2: np.ndarray

    FIELDS = ("plot", "row", "col", "day", "cls", "m2")

    def __len__(self) -> int:
        return len(self.plot)

    @classmethod
    def concat(cls, parts: list[AlertCells]) -> AlertCells:
        if not parts:
            i = np.empty(0, dtype="int64")
            return cls(i, i.copy(), i.copy(), i.copy(), i.copy(), np.empty(0))
        return cls(*(np.concatenate([getattr(p, f) for p in parts]) for f in cls.FIELDS))


@dataclass
class AlertStats:
    """Per-plot alert areas in m² for a batch of ``n`` plots (``k`` confidence classes).

    ``total``, ``valid``, ``missing`` and ``invalid`` as in :class:`.stats.PlotStats`; ``after``:
    alert area after the cut-off day per class; ``to_cutoff``: alert area on or before it;
    ``first_day``/``last_day``: the first and last day (after the cut-off) with at least
    :data:`~pipeline.vocab.ZERO_HA` of alerts that count (-1: none); ``months``: sparse area per
    (plot, month, class) after the cut-off, months numbered from 1970-01.
    """

    total: np.ndarray
    valid: np.ndarray
    missing: np.ndarray
    invalid: np.ndarray
    after: np.ndarray
    to_cutoff: np.ndarray
    first_day: np.ndarray
    last_day: np.ndarray
    months: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)
    #: The alert cells after the cut-off day (:class:`AlertCells`, in parts) when asked for; None otherwise.
    cells: list[AlertCells] | None = None

    DENSE = ("total", "valid", "missing", "invalid", "after", "to_cutoff", "first_day", "last_day")

    @classmethod
    def zeros(cls, n: int, k: int, *, cells: bool = False) -> AlertStats:
        none = np.full(n, -1, dtype="int64")
        return cls(
            total=np.zeros(n),
            valid=np.zeros(n),
            missing=np.zeros(n),
            invalid=np.zeros(n),
            after=np.zeros((n, k)),
            to_cutoff=np.zeros(n),
            first_day=none,
            last_day=none.copy(),
            cells=[] if cells else None,
        )

    def scatter(self, into: AlertStats, positions: np.ndarray) -> None:
        """Write these rows into ``into`` at ``positions``."""
        for f in self.DENSE:
            getattr(into, f)[positions] = getattr(self, f)
        for plot, month, cls, m2 in self.months:
            into.months.append((np.asarray(positions)[plot], month, cls, m2))
        if self.cells is not None and into.cells is not None:
            for c in self.cells:
                into.cells.append(AlertCells(np.asarray(positions)[c.plot], c.row, c.col, c.day, c.cls, c.m2))

    def alert_cells(self) -> AlertCells:
        """Every alert cell kept, in one :class:`AlertCells` (empty when none were kept)."""
        return AlertCells.concat(self.cells or [])

    def month_table(self) -> pd.DataFrame:
        """The sparse month areas as a frame: ``plot`` (position), ``month`` (from 1970-01), ``cls``, ``m2``."""
        parts = self.months or [(np.empty(0, "int64"),) * 3 + (np.empty(0),)]
        plot, month, cls, m2 = (np.concatenate(a) for a in zip(*parts))
        out = pd.DataFrame({"plot": plot, "month": month, "cls": cls, "m2": m2})
        table: pd.DataFrame = out.sort_values(["plot", "month", "cls"], kind="stable", ignore_index=True)
        return table


@dataclass(frozen=True)
class AlertStatistics:
    """Per-plot alert statistics of a batch: what :func:`.zonal.measure_product` runs for an alert
    product (picklable, for worker processes). ``counted`` says, per class, whether its alerts
    count toward the status (the classes at or above the minimum confidence); ``keep_cells``: keep
    the alert cells after the cut-off day (:attr:`AlertStats.cells`, for the alert patches)."""

    cutoff_day: int
    counted: tuple[bool, ...]
    keep_cells: bool = False

    def zeros(self, n: int) -> AlertStats:
        return AlertStats.zeros(n, len(self.counted), cells=self.keep_cells)

    def __call__(
        self,
        cov: Coverage,
        n: int,
        grid: Grid,
        windows: list[tuple[int, int, int, int]],
        layers: Sequence[Mapping[str, LayerWindow]],
        spec: AlertSpec,
        forest: ForestDefinition,
        window_of_plot: np.ndarray,
    ) -> AlertStats:
        """Alert statistics of ``n`` plots from the windows read (see :func:`.stats.plot_statistics`
        for ``cov``, ``windows``, ``layers`` and ``window_of_plot``; ``forest`` is not used: an
        alert product's forest is its forest mask)."""
        k = len(self.counted)
        out = self.zeros(n)
        if len(cov) == 0:
            return out
        _, w_of, local = cells_in_windows(cov, windows, window_of_plot)
        values = {key: gather([lay[key] for lay in layers], w_of, local) for key in layers[0]}
        px = decode_alerts(values, spec)
        rmin = int(cov.row.min())
        w = cov.fraction * pixel_row_areas(grid.y0, grid.dy, grid.dx, rmin, int(cov.row.max()) + 1)[cov.row - rmin]
        idx = cov.index

        def per_plot(mask: np.ndarray) -> np.ndarray:
            return np.bincount(idx[mask], weights=w[mask], minlength=n)

        out.total = np.bincount(idx, weights=w, minlength=n)
        out.valid, out.missing, out.invalid = per_plot(px["valid"]), per_plot(px["missing"]), per_plot(px["invalid"])
        day, cls = px["day"], px["cls"]
        after = px["alert"] & (day > self.cutoff_day)
        out.to_cutoff = per_plot(px["alert"] & ~after)
        out.after = np.bincount(idx[after] * k + cls[after], weights=w[after], minlength=n * k).reshape(n, k)
        counts = after & np.asarray(self.counted, dtype=bool)[np.maximum(cls, 0)]
        out.first_day, out.last_day = _first_last(idx[counts], day[counts], w[counts], n)
        if after.any():
            out.months.append(_months(idx[after], day[after], cls[after], w[after], k))
        if out.cells is not None:
            at = np.flatnonzero(after)
            out.cells.append(AlertCells(idx[at], cov.row[at], cov.col[at], day[at], cls[at], w[at]))
        return out


def _first_last(plot: np.ndarray, day: np.ndarray, m2: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per plot, the first and last day holding at least ZERO_HA of alerts (-1: none)."""
    first = np.full(n, -1, dtype="int64")
    last = first.copy()
    if not len(plot):
        return first, last
    d0 = int(day.min())
    span = int(day.max()) - d0 + 1
    keys, inverse = np.unique(plot * span + (day - d0), return_inverse=True)
    area = np.bincount(inverse.ravel(), weights=m2)
    keys = keys[area >= ZERO_HA * M2_PER_HA]
    if len(keys):
        p, d = np.divmod(keys, span)
        start = np.flatnonzero(np.r_[True, p[1:] != p[:-1]])
        end = np.r_[start[1:] - 1, len(p) - 1]
        first[p[start]] = d[start] + d0
        last[p[end]] = d[end] + d0
    return first, last


def _months(
    plot: np.ndarray, day: np.ndarray, cls: np.ndarray, m2: np.ndarray, k: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Sparse alert area per (plot, month, class): four arrays."""
    month = (_DAY0 + day.astype("timedelta64[D]")).astype("datetime64[M]").astype("int64")
    m0 = int(month.min())
    span = int(month.max()) - m0 + 1
    keys, inverse = np.unique((plot * span + (month - m0)) * k + cls, return_inverse=True)
    area = np.bincount(inverse.ravel(), weights=m2)
    keep = area > 0
    keys, area = keys[keep], area[keep]
    rest, c = np.divmod(keys, k)
    p, mo = np.divmod(rest, span)
    return p, mo + m0, c, area


def alert_figures(stats: AlertStats, levels: tuple[str, ...], counted: tuple[bool, ...]) -> pd.DataFrame:
    """Hectare and date figures per plot (one row per plot, in the order of ``stats``).

    Columns: ``data_coverage_pct``; ``alert_ha`` (alerts after the cut-off that count);
    ``alert_<level>_ha`` for each confidence level of the product (every alert after the cut-off);
    ``first_alert_date`` and ``last_alert_date`` (of the alerts that count; ``datetime.date`` or
    None); ``alert_to_cutoff_ha`` (alerts on or before the cut-off day: history). Figures are
    NaN (dates None) where no part of the plot has valid data. Also, for the status rules (not
    written): ``_first_day``, ``_last_day`` and ``_missing_pct``, ``_invalid_pct``.
    """
    n = len(stats.total)
    with np.errstate(invalid="ignore", divide="ignore"):
        coverage_pct = np.where(stats.total > 0, 100.0 * stats.valid / stats.total, 0.0)
    has_data = stats.valid > 0
    after_ha = stats.after / M2_PER_HA

    def masked(a: np.ndarray) -> np.ndarray:
        return np.where(has_data, a, np.nan)

    def dates(days: np.ndarray) -> np.ndarray:
        out = np.full(n, None, dtype=object)
        at = np.flatnonzero(has_data & (days >= 0))
        out[at] = (_DAY0 + days[at].astype("timedelta64[D]")).astype(object)
        return out

    cols: dict[str, object] = {
        "data_coverage_pct": np.minimum(np.round(coverage_pct, 9), 100.0),
        "alert_ha": masked(after_ha[:, np.asarray(counted, dtype=bool)].sum(axis=1)),
    }
    for j, level in enumerate(levels):
        cols[f"alert_{level}_ha"] = masked(after_ha[:, j])
    cols["first_alert_date"] = dates(stats.first_day)
    cols["last_alert_date"] = dates(stats.last_day)
    cols["alert_to_cutoff_ha"] = masked(stats.to_cutoff / M2_PER_HA)
    cols["_first_day"] = np.where(has_data, stats.first_day, -1)
    cols["_last_day"] = np.where(has_data, stats.last_day, -1)
    with np.errstate(invalid="ignore", divide="ignore"):
        for name, part in (("_missing_pct", stats.missing), ("_invalid_pct", stats.invalid)):
            cols[name] = np.where(stats.total > 0, 100.0 * part / stats.total, 0.0)
    figures: pd.DataFrame = pd.DataFrame(cols, copy=False)
    return figures
