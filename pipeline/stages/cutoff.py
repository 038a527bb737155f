"""Forest at the cut-off: the figures of forest maps, where loss after the cut-off fell, the
per-source indicators, and the verdicts that follow (frames in, frames out).

* :func:`class_columns` — per forest map (``kind: forest_cover``), measured on its own grid:
  ``<name>_forest_cutoff_ha`` and ``<name>_forest_cutoff_pct`` (of the plot's area where the map
  has data); per land-use map (``kind: land_use``), ``<name>_agricultural_ha`` and ``_pct``.
* :func:`context_columns` — per loss product measured with the maps (on the finest grid):
  its loss after the cut-off on cells that were forest at the cut-off under the forest rule, on
  agricultural use, outside forest, or where the maps have no data; and ``loss_context``.
* :func:`indicators` — ``ind_forest_<year>_<map>`` and ``ind_loss_after_<product>``: yes, no or
  unknown per source, as Whisp shows them side by side.
* :func:`cutoff_verdicts` — the verdicts of docs/forest-at-cutoff.md, applied to one loss
  product's verdict (before the products' verdicts are combined).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Protocol, TypedDict

import numpy as np
import pandas as pd

from .. import reasons
from ..config import ExecutionConfig, ScreeningConfig
from ..engine.alerts import AlertSource
from ..engine.cutoff import (
    CONTEXTS,
    ClassMapSource,
    ClassStatistics,
    ClassStats,
    CutoffStatistics,
    CutoffStats,
    ForestCoverSpec,
    LandUseSpec,
    RuleMask,
    Stacked,
    Together,
)
from ..engine.geodesy import M2_PER_HA
from ..engine.grids import finest
from ..engine.zonal import LossSource, ProductSource, measure_product
from ..i18n import ntr, tr
from ..vocab import DETECTED, FREE, REVIEW, ZERO_HA
from .frames import column_at
from .rules import decide

if TYPE_CHECKING:
    from distributed import Client
    from typing_extensions import Unpack

    from .qc import QCResult


class Measurement(Protocol):
    """How the plots are measured (:class:`.screening.Measuring` is one): the figures depend on none of it."""

    @property
    def execution(self) -> ExecutionConfig: ...

    @property
    def progress(self) -> bool: ...

    @property
    def client(self) -> Client | None: ...


class MeasureOptions(TypedDict, total=False):
    """How the maps are measured (they change no figure): a progress bar, a Dask client."""

    progress: bool
    client: Client | None


#: The ``loss_context`` column's values, in the order of :data:`pipeline.engine.cutoff.CONTEXTS`,
#: and the figure column of each.
CONTEXT_COLUMNS = {
    "in_cutoff_forest": "loss_after_cutoff_forest_ha",
    "in_agricultural_use": "loss_after_agricultural_ha",
    "outside_forest": "loss_after_outside_forest_ha",
    "unknown": "loss_after_unknown_ha",
}
#: Which context a plot with loss in several is reported under: the one that decides its verdict.
CONTEXT_PRECEDENCE = ("in_cutoff_forest", "unknown", "in_agricultural_use", "outside_forest")
YES, NO, UNKNOWN = "yes", "no", "unknown"


def class_columns(name: str, stats: ClassStats, screenable: np.ndarray, *, land_use: bool = False) -> pd.DataFrame:
    """A class map's columns: its area of the class (ha) and its share (%) of the plot's area
    where the map has data; NaN where the map has no data under the plot, or the plot is not
    screened."""
    has = (stats.valid > 0) & np.asarray(screenable, dtype=bool)
    ha = np.where(has, stats.cls / M2_PER_HA, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pct = np.where(has, np.minimum(np.round(100.0 * stats.cls / stats.valid, 9), 100.0), np.nan)
    what = "agricultural" if land_use else "forest_cutoff"
    return pd.DataFrame({f"{name}_{what}_ha": ha, f"{name}_{what}_pct": pct})


def context_columns(stats: CutoffStats, screenable: np.ndarray) -> pd.DataFrame:
    """Where a loss product's loss after the cut-off fell (ha per context), the forest at the
    cut-off under the rule (``forest_cutoff_ha``) and ``loss_context`` (the deciding context, see
    :data:`CONTEXT_PRECEDENCE`; empty without loss after the cut-off)."""
    ok = np.asarray(screenable, dtype=bool)
    ha = stats.context / M2_PER_HA
    cols: dict[str, object] = {CONTEXT_COLUMNS[c]: np.where(ok, ha[:, j], np.nan) for j, c in enumerate(CONTEXTS)}
    cols["forest_cutoff_ha"] = np.where(ok, stats.cutoff_forest / M2_PER_HA, np.nan)
    context = np.full(len(ok), None, dtype=object)
    for c in reversed(CONTEXT_PRECEDENCE):
        context[ok & (ha[:, CONTEXTS.index(c)] >= ZERO_HA)] = c
    cols["loss_context"] = context
    return pd.DataFrame(cols)


def _yes_no(values: np.ndarray) -> np.ndarray:
    """yes (>= ZERO_HA), no, or unknown (NaN) per value."""
    v = np.asarray(values, dtype="float64")
    return np.where(np.isnan(v), UNKNOWN, np.where(v >= ZERO_HA, YES, NO)).astype(object)


def indicators(
    forest_maps: dict[str, pd.DataFrame], losses: dict[str, pd.DataFrame], reference_year: int
) -> pd.DataFrame:
    """Per source, yes / no / unknown: ``ind_forest_<year>_<map>`` (the map shows forest under the
    plot at the cut-off) and ``ind_loss_after_<product>`` (the product shows loss after it)."""
    cols = {}
    for name, fig in forest_maps.items():
        cols[f"ind_forest_{reference_year}_{name}"] = _yes_no(fig[f"{name}_forest_cutoff_ha"].to_numpy())
    for name, fig in losses.items():
        cols[f"ind_loss_after_{name}"] = _yes_no(fig["loss_after_ref_ha"].to_numpy(dtype="float64", na_value=np.nan))
    return pd.DataFrame(cols)


def established_before(values: Sequence[object] | None, cutoff: dt.date, n: int) -> tuple[np.ndarray, np.ndarray]:
    """Per plot, whether the registry says it was established on or before the cut-off day, and
    the year it gives (NaN: empty or not a year nor a date). ``values``: years (2014), dates
    (2014-05-01, a datetime) or empty; None: no such column."""
    if values is None:
        return np.zeros(n, dtype=bool), np.full(n, np.nan)
    s = pd.Series(list(values), dtype=object)
    text = s.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v).strip())
    as_year = pd.to_numeric(text.str.replace(r"\.0+$", "", regex=True), errors="coerce")
    is_year = as_year.between(1800, 2200) & (as_year == as_year.round())
    dates = pd.to_datetime(text.where(~is_year & (text != "")), errors="coerce", format="mixed", dayfirst=False)
    year = np.where(is_year, as_year, dates.dt.year).astype("float64")
    day = np.where(is_year, np.nan, dates.dt.year * 10000 + dates.dt.month * 100 + dates.dt.day)
    cut = cutoff.year * 10000 + cutoff.month * 100 + cutoff.day
    before = np.where(is_year, year <= cutoff.year, day <= cut)
    return np.nan_to_num(before, nan=0).astype(bool) & ~np.isnan(year), year


def cutoff_verdicts(
    verdict: pd.DataFrame,
    figures: pd.DataFrame,
    context: pd.DataFrame | None,
    established: tuple[np.ndarray, np.ndarray],
    params: ScreeningConfig,
    sources: Sequence[str] = (),
) -> pd.DataFrame:
    """One loss product's verdict (of :func:`pipeline.stages.rules.classify`) with its loss after
    the cut-off weighed against forest at the cut-off and the registry's establishment year:

    * loss only on cells the forest rule (and any land-use map) says were not forest at the
      cut-off -> ``deforestation_free``, naming the sources;
    * loss on cut-off forest (or where the maps have no data) in a plot the registry says was
      under cocoa before the cut-off -> ``review``: the map and the declaration disagree;
    * no forest map (``context`` None) and a plot established before the cut-off ->
      ``review`` instead of ``deforestation_detected``;
    * otherwise the verdict stands (loss on cut-off forest counts as before).

    A declaration alone never makes a plot free: it takes a map that agrees.
    """
    out = verdict.copy()
    status = verdict["status"].to_numpy()
    before, year = established
    when = figures["first_loss_year_after_ref"].astype("Float64").to_numpy(dtype="float64", na_value=np.nan)
    after = np.nan_to_num(figures["loss_after_ref_ha"].to_numpy(dtype="float64", na_value=np.nan))
    lossy = (status == DETECTED) | (status == REVIEW)
    if context is None:
        ctx = {c: np.zeros(len(status)) for c in CONTEXT_COLUMNS}
        counted = after
        codes = np.where((status == DETECTED) & before, "no_map_established", "")
    else:
        ctx = {
            c: np.nan_to_num(context[col].to_numpy(dtype="float64", na_value=np.nan))
            for c, col in CONTEXT_COLUMNS.items()
        }
        counted = ctx["in_cutoff_forest"] + ctx["unknown"]  # no data on forest at the cut-off: counted (fail safe)
        now, _ = decide(np.full(len(status), "", dtype=object), np.full(len(status), 100.0), counted, params)
        unknown = ctx["unknown"] >= ZERO_HA
        codes = np.select(
            [
                lossy & (now == FREE) & before,
                lossy & (now == FREE),
                lossy & before,
                lossy & (now == DETECTED) & unknown,
                lossy & (now == DETECTED),
                lossy & unknown,
                lossy,
            ],
            ["free_established", "free", "disagree", "detected_unknown", "detected", "review_unknown", "review"],
            "",
        )
    new_status = {"free_established": FREE, "free": FREE, "detected": DETECTED, "detected_unknown": DETECTED}
    shared = {"cutoff": params.cutoff.year, "sources": ", ".join(sources), "review_max_ha": params.review_max_ha}
    rows = np.flatnonzero(codes != "")
    batch = reasons.Batch(len(rows))
    for code in np.unique(codes[rows]).tolist():
        at = np.flatnonzero(codes[rows] == code)
        i = rows[at]
        s = new_status.get(code, REVIEW)
        fields = {
            **shared,
            "loss_ha": after[i] if s == FREE or code == "no_map_established" else counted[i],
            "year": np.where(np.isnan(when[i]), params.reference_year + 1, when[i]).astype("int64"),
            "since": np.nan_to_num(year[i]).astype("int64"),
            "unknown_ha": ctx["unknown"][i],
        }
        needed = reasons.placeholders(reasons.REASONS["cutoff_" + code])
        batch.add(at, ("cutoff_" + code, {k: v for k, v in fields.items() if k in needed}))
        out.iloc[i, column_at(out, "status")] = s
        out.iloc[i, column_at(out, "deforestation_free")] = True if s == FREE else (False if s == DETECTED else pd.NA)
    for col, values in batch.columns().items():
        out.iloc[rows, column_at(out, col)] = values
    return out


# --- Measuring: the maps on their own grids, each loss product with the maps ------------------


@dataclass
class CutoffPart:
    """What the maps of the cut-off day add to a set of plots: per map its columns, per loss
    product where its loss after the cut-off fell (None without forest maps), the forest maps
    the rule combines, and the registry's establishment (before the cut-off, year)."""

    maps: dict[str, pd.DataFrame]
    contexts: dict[str, pd.DataFrame | None]
    sources: list[str]
    established: tuple[np.ndarray, np.ndarray]
    registry: bool = False  # whether the plots have an establishment column


def rule_maps(maps: Sequence[ClassMapSource], params: ScreeningConfig, *, strict: bool = False) -> list[ClassMapSource]:
    """The forest maps the forest rule combines: those named in ``forest_at_cutoff.products``, or
    every forest map. Raises :class:`ValueError` naming a product that is not a forest map (when
    ``maps`` holds any, or ``strict``: a screening without maps, as the rings', has no rule)."""
    forest = {m.name: m for m in maps if isinstance(m.spec, ForestCoverSpec)}
    names = params.forest_at_cutoff.products
    if names is None or not (maps or strict):
        return list(forest.values())
    unknown = [n for n in names if n not in forest]
    if unknown:
        raise ValueError(
            ntr(
                "screening.forest_at_cutoff.products names {names}, which is not a forest_cover product "
                "(forest_cover products: {known})",
                "screening.forest_at_cutoff.products names {names}, which are not a forest_cover product "
                "(forest_cover products: {known})",
                len(unknown),
                names=", ".join(unknown),
                known=", ".join(forest) or "none",
            )
        )
    return [forest[n] for n in names]


def measure_cutoff(
    geoms: np.ndarray,
    screenable: np.ndarray,
    products: Sequence[ProductSource],
    maps: Sequence[ClassMapSource],
    params: ScreeningConfig,
    established: Sequence[object] | None,
    execution: ExecutionConfig,
    **measure_kw: Unpack[MeasureOptions],
) -> CutoffPart:
    """Measure every loss product beside the forest maps of the rule and the land-use maps, on the
    finest of their grids; a map on that grid is measured in the same pass (one read of its
    windows, one coverage), every other map on its own grid (``measure_kw``: progress, client)."""
    forest = rule_maps(maps, params)
    land = [m for m in maps if isinstance(m.spec, LandUseSpec)]
    measured: dict[str, ClassStats] = {}
    contexts: dict[str, pd.DataFrame | None] = {p.name: None for p in products}
    if forest:
        specs = {f"cutoff:{m.name}": (m, replace(m.spec, key=f"cutoff:{m.name}")) for m in (*forest, *land)}
        for p in products:
            stacked = Stacked(
                p.name, p.spec, {**p.layers, **{key: m.layers[m.spec.key] for key, (m, _) in specs.items()}}
            )
            joint = [(m, s) for m, s in specs.values() if m.name not in measured and m.grid == stacked.grid]
            statistics = CutoffStatistics(
                loss_keys=tuple(p.layers),
                forest=tuple(s for m, s in specs.values() if isinstance(s, ForestCoverSpec)),
                rule=params.forest_at_cutoff.rule,
                reference_year=params.reference_year,
                land_use=tuple(s for m, s in specs.values() if isinstance(s, LandUseSpec)),
            )
            together = Together((statistics, *(ClassStatistics(s) for _, s in joint)))
            result = measure_product(geoms, stacked, params, execution, statistics=together, **measure_kw)
            contexts[p.name] = context_columns(result.parts[0], screenable)
            measured.update({m.name: stats for (m, _), stats in zip(joint, result.parts[1:])})
    for m in maps:
        if m.name not in measured:  # a map reads its windows as a loss product does; ClassStatistics reads its spec
            measured[m.name] = measure_product(
                geoms,
                m,
                params,
                execution,
                statistics=ClassStatistics(m.spec),
                **measure_kw,
            )
    columns = {
        m.name: class_columns(m.name, measured[m.name], screenable, land_use=isinstance(m.spec, LandUseSpec))
        for m in maps
    }
    return CutoffPart(
        columns,
        contexts,
        [m.name for m in forest],
        established_before(established, params.cutoff, len(geoms)),
        established is not None,
    )


def cutoff_blocks(
    cut: CutoffPart, products: Sequence[str], figures: dict[str, pd.DataFrame], params: ScreeningConfig, index: pd.Index
) -> list[pd.DataFrame]:
    """The ``plots`` columns of the forest at the cut-off: the primary product's contexts
    (unprefixed; every loss product's prefixed when there are several), ``established_year``,
    each map's figures, and the per-source indicators (with maps)."""
    blocks = []
    primary = cut.contexts[products[0]]
    if primary is not None:
        blocks.append(primary.set_axis(index))
        if len(products) > 1:
            blocks.extend(c.set_axis(index).add_prefix(f"{p}_") for p in products if (c := cut.contexts[p]) is not None)
    _, year = cut.established
    if cut.registry:
        blocks.append(
            pd.DataFrame(
                {"established_year": pd.array(np.where(np.isnan(year), np.array(None), year), dtype="Int64")},
                index=index,
            )
        )
    if cut.maps:
        blocks.extend(m.set_axis(index) for m in cut.maps.values())
        forest = {name: m for name, m in cut.maps.items() if f"{name}_forest_cutoff_ha" in m}
        blocks.append(indicators(forest, {p: figures[p] for p in products}, params.cutoff.year).set_axis(index))
    return blocks


def alerts_under_rule(
    alert_products: Sequence[AlertSource], maps: Sequence[ClassMapSource], params: ScreeningConfig
) -> list[AlertSource]:
    """Each alert product with its forest mask replaced by the forest rule's (ANDed with its own
    mask): its alerts after the cut-off count only where loss would. Unchanged without forest maps."""
    forest = rule_maps(maps, params)
    if not forest:
        return list(alert_products)
    land = [m for m in maps if isinstance(m.spec, LandUseSpec)]
    out = []
    for a in alert_products:
        grids = [layer.grid for layer in a.layers.values()] + [m.grid for m in (*forest, *land)]
        mask = RuleMask(
            tuple((m.layers[m.spec.key], m.spec) for m in forest if isinstance(m.spec, ForestCoverSpec)),
            params.forest_at_cutoff.rule,
            finest(grids),
            tuple((m.layers[m.spec.key], m.spec) for m in land if isinstance(m.spec, LandUseSpec)),
            base=a.layers.get("forest_mask"),
        )
        out.append(replace(a, forest_mask=mask))
    return out


def alert_verdicts(
    verdict: pd.DataFrame,
    figures: pd.DataFrame,
    established: tuple[np.ndarray, np.ndarray],
    params: ScreeningConfig,
    sources: Sequence[str] = (),
) -> pd.DataFrame:
    """An alert product's verdict weighed against the registry: alerts that count (on forest at
    the cut-off, when there are forest maps: see :func:`alerts_under_rule`) on a plot the registry
    says was under cocoa before the cut-off give ``review``, as loss does (:func:`cutoff_verdicts`)."""
    out = verdict.copy()
    before, year = established
    status = verdict["status"].to_numpy()
    area = np.nan_to_num(figures["alert_ha"].to_numpy(dtype="float64", na_value=np.nan))
    code = "cutoff_alerts_disagree" if sources else "cutoff_alerts_no_map_established"
    rows = np.flatnonzero(((status == DETECTED) | (status == REVIEW)) & before)
    batch = reasons.Batch(len(rows))
    extra = {"sources": ", ".join(sources)} if sources else {}
    batch.add(
        np.arange(len(rows)),
        (
            code,
            {
                "alert_ha": area[rows],
                "cutoff": params.cutoff.isoformat(),
                "since": np.nan_to_num(year[rows]).astype("int64"),
                **extra,
            },
        ),
    )
    out.iloc[rows, column_at(out, "status")] = REVIEW
    out.iloc[rows, column_at(out, "deforestation_free")] = pd.NA
    for col, values in batch.columns().items():
        out.iloc[rows, column_at(out, col)] = values
    return out


def forest_rule_text(year: int | str, rule: str, names: str) -> str:
    """The forest rule in words, in the language in use (the metadata's ``forest_at_cutoff``, the
    report's note): ``names`` the maps of the cut-off day the rule reads, comma-separated."""
    return tr(
        "loss after {year} counts on cells that were forest at the cut-off by the rule '{rule}' of: {names}",
        year=year,
        rule=rule,
        names=names or tr("none"),
    )


def cutoff_cases(plots: pd.DataFrame, ref: int) -> pd.DataFrame | None:
    """The plots each case of the forest at the cut-off decided (docs/forest-at-cutoff.md): case (a
    code; the report words it: ``io.report.texts.CUTOFF_CASES``), plots, area_ha, loss_after_ref_ha;
    None for a screening without maps of the cut-off day or an establishment column."""
    if "loss_context" not in plots.columns and "established_year" not in plots.columns:
        return None
    status = plots["status"].astype(str)
    context = plots["loss_context"].astype(object) if "loss_context" in plots.columns else None
    year = pd.to_numeric(plots["established_year"], errors="coerce") if "established_year" in plots else None
    before = (year <= ref).fillna(False).to_numpy(dtype=bool) if year is not None else np.zeros(len(plots), bool)
    loss = pd.to_numeric(plots["loss_after_ref_ha"], errors="coerce").fillna(0).to_numpy() >= ZERO_HA
    cases: list[tuple[str, np.ndarray]] = []
    if context is not None:
        not_forest = context.isin(["outside_forest", "in_agricultural_use"]).to_numpy()
        on_forest = context.isin(["in_cutoff_forest", "unknown"]).to_numpy()
        free = (status == FREE).to_numpy() & loss & not_forest
        cases += [
            ("free_not_forest_cocoa_before", free & before),
            ("free_not_forest", free & ~before),
            ("review_forest_cocoa_before", (status == REVIEW).to_numpy() & on_forest & before),
            ("detected_on_forest", (status == DETECTED).to_numpy() & on_forest),
        ]
    else:
        cases.append(("review_no_map_cocoa_before", (status == REVIEW).to_numpy() & loss & before))
    area = pd.to_numeric(plots["area_ha"], errors="coerce").fillna(0).to_numpy()
    after = pd.to_numeric(plots["loss_after_ref_ha"], errors="coerce").fillna(0).to_numpy()
    return pd.DataFrame(
        {
            "case": [c for c, _ in cases],
            "plots": [int(m.sum()) for _, m in cases],
            "area_ha": [float(area[m].sum()) for _, m in cases],
            "loss_after_ref_ha": [float(after[m].sum()) for _, m in cases],
        }
    )


def indicator_table(plots: pd.DataFrame) -> pd.DataFrame | None:
    """Per indicator column (``ind_...``): how many plots say yes, no and unknown."""
    cols = [c for c in plots.columns if str(c).startswith("ind_")]
    if not cols:
        return None
    rows = []
    for c in cols:
        v = plots[c].astype(object).fillna("unknown")
        rows.append({"indicator": c, **{k: int((v == k).sum()) for k in ("yes", "no", "unknown")}})
    return pd.DataFrame(rows)


def screen_cutoff(
    plots: pd.DataFrame,
    checked: QCResult,
    products: Sequence[LossSource],
    maps: Sequence[ClassMapSource],
    screening: ScreeningConfig,
    how: Measurement,
    established: Sequence[object] | None,
    measured: tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]],
) -> tuple[CutoffPart | None, list[pd.DataFrame]]:
    """The forest at the cut-off (maps of that day, establishment years) in a screening (``checked``:
    the plots' QC result; ``how``: :class:`.screening.Measuring`): each loss product's
    verdict revised in ``measured`` (its figures and verdicts by product); the cut-off measurement
    (None without maps nor establishment years) and its column blocks."""
    if not maps and established is None:
        return None, []
    figures, verdicts = measured
    cut = measure_cutoff(
        checked.geometry,
        checked.screenable,
        products,
        maps,
        screening,
        established,
        how.execution,
        progress=how.progress,
        client=how.client,
    )
    for product in products:
        context = cut.contexts[product.name]
        if context is not None:
            context.index = plots.index
        verdicts[product.name] = cutoff_verdicts(
            verdicts[product.name], figures[product.name], context, cut.established, screening, cut.sources
        )
    return cut, cutoff_blocks(cut, [p.name for p in products], figures, screening, plots.index)
