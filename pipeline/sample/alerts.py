"""A SYNTHETIC deforestation-alerts raster in the encoding of Global Forest Watch's integrated alerts.

Each pixel is one uint16: 0 = no alert; otherwise the leading digit is the confidence (2 low, 3
high, 4 highest) and the other four digits the number of days since 2014-12-31 (30055 = a
high-confidence alert on 2015-02-24). The grid is GFW's: 0.0001° pixels (about 11 m), 2.5 x 2.5
alert pixels per Hansen pixel, a grid of its own.

What it holds, from its own random stream (so the Hansen rasters and the plots are unchanged):

* most forest-loss patches of the Hansen raster in 2019-2024, each detected once, on a day of its
  loss year, mostly with high confidence (some highest, some low); the 2019-2020 ones are history;
* one patch dated exactly on the cut-off day, 2020-12-31 (history: an alert on the cut-off day
  does not count);
* new clearings in 2025, after the Hansen raster's last year, inside some plots that the Hansen
  raster shows without loss after 2020 (only the alerts see them) and elsewhere in the forest;
* scattered low-confidence single-pixel alerts in 2021-2025.

It imports nothing else of ``pipeline``: the encoding is written here independently of the
decoder it checks.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
from scipy import ndimage

from .grid import _Grid
from .landscape import _Landscape

#: GFW's integrated alerts are on a 10 m grid of 0.0001° pixels (grid "10/100000").
ALERT_PX = 0.0001
ALERT_EPOCH = dt.date(2014, 12, 31)
CODES = {"low": 2, "high": 3, "highest": 4}
#: The synthetic product's last update: no alert is later.
LAST_ALERT_DAY = dt.date(2025, 10, 31)
CUTOFF_DAY = dt.date(2020, 12, 31)
#: Plots that get a 2025 clearing seen only by the alerts.
N_PLOTS_WITH_NEW_CLEARING = 12


@dataclass
class _Alerts:
    values: np.ndarray  # uint16, the encoded alerts
    grid: _Grid
    cutoff_patch_rc: tuple[float, float] | None  # (lon, lat) of the patch dated on the cut-off day
    new_clearing_plots: list[str]  # plot ids holding a 2025 clearing
    counts: dict[str, int]  # alert pixels per confidence level


def _value(level: str, day: dt.date) -> int:
    return CODES[level] * 10_000 + (day - ALERT_EPOCH).days


def _alert_grid(grid: _Grid) -> _Grid:
    """The 0.0001° grid over the sample's bounds (snapped outwards to whole pixels)."""
    w = math.ceil(round((grid.lon_max - grid.lon_min) / ALERT_PX, 6))
    h = math.ceil(round((grid.lat_max - grid.lat_min) / ALERT_PX, 6))
    return _Grid.from_bounds(
        (grid.lon_min, grid.lat_max - h * ALERT_PX, grid.lon_min + w * ALERT_PX, grid.lat_max), ALERT_PX
    )


def _make_alerts(rng: np.random.Generator, grid: _Grid, land: _Landscape, plots: gpd.GeoDataFrame) -> _Alerts:
    """Paint the alerts (see the module docstring)."""
    ag = _alert_grid(grid)
    # Each alert pixel's Hansen pixel (by its centre).
    hrow = np.minimum(((np.arange(ag.height) + 0.5) * ALERT_PX / grid.px).astype(np.int64), grid.height - 1)
    hcol = np.minimum(((np.arange(ag.width) + 0.5) * ALERT_PX / grid.px).astype(np.int64), grid.width - 1)

    # 1. Hansen loss patches of 2019-2024, one detection date each.
    day_of = np.zeros(grid.shape, dtype=np.int32)  # encoded value per Hansen pixel
    cutoff_rc = None
    for code in range(19, 25):
        labels, n = ndimage.label(land.loss_year == code)
        if n == 0:
            continue
        year = 2000 + code
        length = (dt.date(year, 12, 31) - dt.date(year, 1, 1)).days + 1
        days = rng.integers(0, length, size=n + 1)
        detected = rng.random(n + 1) < 0.9
        level = rng.choice(["high", "highest", "low"], size=n + 1, p=[0.7, 0.15, 0.15])
        values = np.array(
            [_value(str(lv), dt.date(year, 1, 1) + dt.timedelta(days=int(d))) for lv, d in zip(level, days)],
            dtype=np.int32,
        )
        values[~detected] = 0
        values[0] = 0
        if year == 2020:  # the largest 2020 patch is detected on the cut-off day itself: history
            sizes = np.bincount(labels.ravel(), minlength=n + 1)
            sizes[0] = 0
            big = int(np.argmax(sizes))
            values[big] = _value("high", CUTOFF_DAY)
            r, c = np.argwhere(labels == big).mean(axis=0)
            cutoff_rc = grid.to_lonlat(r, c)
        day_of = np.where(labels > 0, values[labels], day_of)
    alerts = day_of[np.ix_(hrow, hcol)].astype(np.uint16)

    # 2. Clearings of 2025, after the Hansen raster's last year: inside some plots it shows without
    # recent loss, and elsewhere in the forest.
    forest = land.tree_cover[np.ix_(hrow, hcol)] >= 30
    new_ids: list[str] = []
    normal = plots[plots["note"] == ""]
    order = rng.permutation(len(normal))
    for i in order:
        if len(new_ids) >= N_PLOTS_WITH_NEW_CLEARING:
            break
        geom = normal.geometry.iloc[i]
        pt = geom.representative_point()
        r, c = (grid.lat_max - pt.y) / grid.px, (pt.x - grid.lon_min) / grid.px
        r0, c0 = int(r), int(c)
        window = land.loss_year[max(r0 - 4, 0) : r0 + 5, max(c0 - 4, 0) : c0 + 5]
        cover = land.tree_cover[max(r0 - 4, 0) : r0 + 5, max(c0 - 4, 0) : c0 + 5]
        if ((window >= 19) & (window != 255)).any() or cover.mean() < 40:  # no alert there yet
            continue
        ar, ac = (grid.lat_max - pt.y) / ALERT_PX, (pt.x - grid.lon_min) / ALERT_PX
        _blob(rng, alerts, (ar, ac), rng.uniform(15, 90), None, str(rng.choice(["high", "highest"])))
        new_ids.append(str(normal["plot_id"].iloc[i]))
    for _ in range(max(3, ag.height * ag.width // 2_500_000)):
        ar, ac = rng.uniform(0, ag.height), rng.uniform(0, ag.width)
        _blob(rng, alerts, (ar, ac), rng.uniform(30, 400), forest, "high")

    # 3. Scattered low-confidence single pixels, 2021-2025.
    n = ag.height * ag.width // 5000
    idx = rng.integers(0, ag.height * ag.width, size=n)
    span = (LAST_ALERT_DAY - dt.date(2021, 1, 1)).days + 1
    days = rng.integers(0, span, size=n)
    flat = alerts.ravel()
    free = (flat[idx] == 0) & forest.ravel()[idx]
    flat[idx[free]] = [_value("low", dt.date(2021, 1, 1) + dt.timedelta(days=int(d))) for d in days[free]]

    counts = {lv: int(((alerts // 10_000) == code).sum()) for lv, code in CODES.items()}
    return _Alerts(alerts, ag, cutoff_rc, new_ids, counts)


def _blob(
    rng: np.random.Generator, alerts: np.ndarray, center, area_px: float, forest: np.ndarray | None, level: str
) -> None:
    """A 2025 clearing of ~``area_px`` alert pixels (on ``forest`` only, when given), detected on one day."""
    day = dt.date(2025, 1, 1) + dt.timedelta(days=int(rng.integers(0, (LAST_ALERT_DAY - dt.date(2025, 1, 1)).days)))
    value = _value(level, day)
    radius = math.sqrt(area_px / math.pi)
    reach = int(math.ceil(1.5 * radius)) + 1
    r0, c0 = int(round(center[0])), int(round(center[1]))
    h, w = alerts.shape
    rs, re = max(r0 - reach, 0), min(r0 + reach + 1, h)
    cs, ce = max(c0 - reach, 0), min(c0 + reach + 1, w)
    if rs >= re or cs >= ce:
        return
    yy, xx = np.mgrid[rs:re, cs:ce]
    d = np.hypot(yy - center[0], xx - center[1]) / radius
    mask = d < 1.0 + 0.15 * rng.standard_normal(d.shape)
    sub = alerts[rs:re, cs:ce]
    if forest is not None:
        mask &= forest[rs:re, cs:ce]
    sub[mask & (sub == 0)] = value
